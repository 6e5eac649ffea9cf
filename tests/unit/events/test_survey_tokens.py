"""Survey tokens: a respondent's credential (no login) opens one respondent's answers to one survey."""
from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.errors import InvalidInput
from services.events.service_layer.badges import BadgeSigner
from services.events.service_layer.surveys import SurveyTokens

TOKENS = SurveyTokens("unit-test-secret-unit-test-secret-0123")
SEP = "\x1f"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_a_token_names_its_survey_and_respondent():
    token = TOKENS.token("srv-1a2b3c", "reg-7b1e0c")
    assert TOKENS.read(token) == ("srv-1a2b3c", "reg-7b1e0c")
    assert len(token) < 100 and token.isascii() and "/" not in token and "+" not in token, "fits a URL path"


# ids as the platform makes them (identifiers of at most 100 characters), and short Unicode ones
ids = st.one_of(st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=100),
                st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30).filter(
                    lambda s: "\x1f" not in s))


@given(ids, ids)
def test_any_ids_round_trip(survey_id, respondent_id):
    assert TOKENS.read(TOKENS.token(survey_id, respondent_id)) == (survey_id, respondent_id)


def test_another_survey_or_respondent_cannot_be_spliced_in():
    token = TOKENS.token("srv-a", "reg-1")
    _, mac = token.split(".")
    for survey_id, respondent_id in (("srv-b", "reg-1"), ("srv-a", "reg-2"), ("srv-a", "reg-1 ")):
        forged = _b64((survey_id + SEP + respondent_id).encode()) + "." + mac
        with pytest.raises(InvalidInput) as exc:
            TOKENS.read(forged)
        assert exc.value.field == "token"


def test_a_token_of_another_key_or_label_is_refused():
    other = SurveyTokens("another-secret-another-secret-0123456789")
    with pytest.raises(InvalidInput):
        TOKENS.read(other.token("srv-a", "reg-1"))
    # a badge signed with the same secret is not a survey token (labels differ)
    badge_mac = BadgeSigner("unit-test-secret-unit-test-secret-0123").token("srv-a", "reg-1").split(".")[1]
    with pytest.raises(InvalidInput):
        TOKENS.read(f"{_b64(b'srv-a' + bytes([0x1f]) + b'reg-1')}.{badge_mac}")


@pytest.mark.parametrize("token", [
    "", ".", "abc", "a.b.c", "a.b", "!!!.@@@", "x" * 401, None, 42, ["a.b"],
    TOKENS.token("srv-a", "reg-1")[:-1], TOKENS.token("srv-a", "reg-1") + "A",
    TOKENS.token("srv-a", "reg-1").replace(".", ""), "é.é", "\x00.\x00",
])
def test_malformed_tokens_are_refused_naming_the_field(token):
    with pytest.raises(InvalidInput) as exc:
        TOKENS.read(token, field="path.token")
    assert exc.value.field == "path.token"


@given(st.text(max_size=200))
def test_arbitrary_text_is_refused_never_crashes(text):
    try:
        survey_id, respondent_id = TOKENS.read(text)
    except InvalidInput:
        return
    assert TOKENS.token(survey_id, respondent_id) == text  # only a token we issued gets through
