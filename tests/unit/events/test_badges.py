"""Signed check-in badges."""
from __future__ import annotations

import pytest

from runtime.errors import InvalidInput
from services.events.service_layer.badges import BadgeSigner, qr_svg

SIGNER = BadgeSigner("unit-test-secret-unit-test-secret-0123")


def test_a_badge_names_its_registration_for_its_event_only():
    token = SIGNER.token("evt-1", "reg-42")
    assert token.startswith("reg-42.") and SIGNER.registration_of("evt-1", token) == "reg-42"
    with pytest.raises(InvalidInput) as caught:
        SIGNER.registration_of("evt-2", token)
    assert caught.value.field == "token"


@pytest.mark.parametrize("forged", ["reg-43." + "A" * 22, "reg-42", "", ".", "reg-42.", "x" * 5000,
                                    "reg-42.\U00010fbbõ", "réf-42.é"])
def test_forged_or_truncated_badges_are_refused(forged):
    with pytest.raises(InvalidInput):
        SIGNER.registration_of("evt-1", forged)


def test_one_badge_one_spelling():
    token = SIGNER.token("evt-1", "reg-42")
    for variant in (token + "!", token + "=", token + "==", token[:-1] + ("B" if token[-1] == "A" else "A")):
        with pytest.raises(InvalidInput):
            SIGNER.registration_of("evt-1", variant)


def test_another_secret_signs_differently():
    other = BadgeSigner("another-secret-another-secret-0123456789")
    with pytest.raises(InvalidInput):
        other.registration_of("evt-1", SIGNER.token("evt-1", "reg-42"))


def test_the_qr_code_is_an_svg():
    svg = qr_svg(SIGNER.token("evt-1", "reg-42"))
    assert svg.startswith(b"<svg") and b"</svg>" in svg
