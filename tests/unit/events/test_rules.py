"""The events domain's small input rules (services/events/domain/_rules.py) and the conventions' own
(services/events/domain/conventions/_rules.py): what each accepts at its bounds, and the field and the
words of each refusal (what a client reads in the 422)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo

from runtime.errors import Conflict
from services.events.domain import _rules
from services.events.domain.conventions import _rules as crules
from tests.unit.refusals import refusal

UTC = timezone.utc


class _NoOffset(tzinfo):
    """A time zone that does not know its offset: aware in form, naive in fact."""

    def utcoffset(self, dt):
        return None


# -- services/events/domain/_rules.py ------------------------------------------------------------

def test_a_code_is_a_lower_case_letter_then_up_to_39_letters_digits_underscores_or_dashes():
    assert _rules.code("a", "kind") == "a"
    assert _rules.code("b" + "x_-9" * 9 + "zzz", "kind") == "b" + "x_-9" * 9 + "zzz"  # 40 characters
    words = ("is not a code (a lower-case letter, then lower-case letters, digits, '_' or '-'; "
             "at most 40 characters)")
    assert refusal(_rules.code, "b" * 41, "kind") == ("kind", f"{'b' * 41!r} {words}")
    assert refusal(_rules.code, "Abc", "kind") == ("kind", f"'Abc' {words}")
    assert refusal(_rules.code, 7, "kind") == ("kind", f"7 {words}")


def test_a_whole_number_lies_within_its_bounds_and_is_no_bool():
    assert _rules.whole(1, "n", minimum=1, maximum=3) == 1
    assert _rules.whole(3, "n", minimum=1, maximum=3) == 3
    for bad in (0, 4, True, 2.0, "2", None):
        assert refusal(_rules.whole, bad, "n", minimum=1, maximum=3) == (
            "n", f"n must be a whole number from 1 to 3 (got {bad!r})")


def test_a_flag_is_true_or_false_and_nothing_like_them():
    assert _rules.flag(True, "on") is True and _rules.flag(False, "on") is False
    assert refusal(_rules.flag, 1, "on") == ("on", "on must be true or false (got 1)")
    assert refusal(_rules.flag, "yes", "on") == ("on", "on must be true or false (got 'yes')")


def test_an_instant_carries_its_offset_and_lies_in_the_years_1900_to_2200():
    first, last = datetime(1900, 1, 1, tzinfo=UTC), datetime(2200, 12, 31, 23, 59, tzinfo=UTC)
    assert _rules.instant(first, "at") == first and _rules.instant(last, "at") == last
    assert refusal(_rules.instant, "2024-01-01T00:00:00Z", "at") == (
        "at", "at must be a date and time (got '2024-01-01T00:00:00Z')")
    naive = datetime(2024, 1, 1, 9, 30)
    assert refusal(_rules.instant, naive, "at") == (
        "at", "at must carry a time zone (naive date and time 2024-01-01T09:30:00)")
    unknown = datetime(2024, 1, 1, 9, 30, tzinfo=_NoOffset())
    assert refusal(_rules.instant, unknown, "at") == (
        "at", "at must carry a time zone (naive date and time 2024-01-01T09:30:00)")
    assert refusal(_rules.instant, first - timedelta(seconds=1), "at") == (
        "at", "at must be in the years 1900–2200 (got 1899-12-31T23:59:59+00:00)")
    assert refusal(_rules.instant, datetime(2201, 1, 1, tzinfo=UTC), "at") == (
        "at", "at must be in the years 1900–2200 (got 2201-01-01T00:00:00+00:00)")
    assert _rules.optional_instant(None, "at") is None
    assert _rules.optional_instant(first, "at") == first
    assert refusal(_rules.optional_instant, naive, "ends_at")[0] == "ends_at"


def test_a_time_zone_is_an_iana_name():
    assert _rules.time_zone("Europe/Paris") == "Europe/Paris"
    assert refusal(_rules.time_zone, "Paris") == (
        "time_zone", "'Paris' is not a known IANA time zone (e.g. 'Europe/Paris')")
    assert refusal(_rules.time_zone, 1, "tz") == ("tz", "1 is not a known IANA time zone (e.g. 'Europe/Paris')")


def test_a_web_address_is_absolute_http_or_https_with_a_host_and_no_spaces():
    assert _rules.http_url(None, "url") is None and _rules.http_url("  ", "url") is None
    long = "https://example.org/" + "a" * 1980  # 2,000 characters
    assert _rules.http_url(long, "url") == long and _rules.http_url("http://x.org", "url") == "http://x.org"
    assert refusal(_rules.http_url, long + "a", "url") == ("url", "url is longer than 2000 characters")
    assert refusal(_rules.http_url, "http://[::1", "url") == ("url", "'http://[::1' is not a URL")
    for bad in ("ftp://x.org", "https://", "x.org/page", "https://x.org/a b"):
        assert refusal(_rules.http_url, bad, "url") == ("url", f"{bad!r} is not an http or https URL")


def test_an_address_is_at_most_254_characters_with_one_at_and_a_dotted_domain():
    assert _rules.email("a@b.fr") == "a@b.fr"
    longest = "a" * 245 + "@ville.fr"  # 254 characters
    assert _rules.email(longest) == longest
    assert refusal(_rules.email, "a" + longest) == ("email", "email is longer than 254 characters")
    assert refusal(_rules.email, "a@b") == ("email", "'a@b' is not an e-mail address")
    assert refusal(_rules.email, "a b@c.fr", "contact") == ("contact", "'a b@c.fr' is not an e-mail address")


def test_a_phone_number_is_optional_at_most_30_characters_and_looks_like_one():
    assert _rules.phone(None) is None and _rules.phone(" ") is None
    assert _rules.phone("+33 1 23 45 67 89") == "+33 1 23 45 67 89"
    assert refusal(_rules.phone, "0" * 31) == ("phone", "phone is longer than 30 characters")
    assert refusal(_rules.phone, "call me") == ("phone", "'call me' is not a phone number")
    assert refusal(_rules.phone, "12", "mobile") == ("mobile", "'12' is not a phone number")


def test_a_conflict_names_the_state_and_the_step_expected():
    c = _rules.conflict("registration r-1", "approve it", "cancelled", "none")
    assert isinstance(c, Conflict)
    assert c.detail == "cannot approve it: registration r-1 is cancelled; expected step: none"
    assert c.extra == {"current_state": "cancelled", "expected_step": "none"}


# -- services/events/domain/conventions/_rules.py ------------------------------------------------

def test_a_convention_s_whole_numbers_and_optional_ones():
    assert crules.whole(0, "n", low=0, high=2) == 0 and crules.whole(2, "n", low=0, high=2) == 2
    assert refusal(crules.whole, 3, "n", low=0, high=2) == ("n", "n must be a whole number from 0 to 2 (got 3)")
    assert crules.optional_whole(None, "n", low=1, high=2) is None
    assert crules.optional_whole(2, "n", low=1, high=2) == 2
    assert refusal(crules.optional_whole, 0, "n", low=1, high=2) == (
        "n", "n must be a whole number from 1 to 2 (got 0)")


def test_an_optional_id_is_none_when_blank():
    assert crules.optional_identifier(None, "need_id") is None
    assert crules.optional_identifier("  ", "need_id") is None
    assert crules.optional_identifier("need-1", "need_id") == "need-1"
    assert refusal(crules.optional_identifier, "a\x00b", "need_id") == ("need_id", "need_id contains control characters")


def test_an_optional_text_is_stripped_within_its_length_and_none_when_blank():
    assert crules.optional_text(None, "message", max_length=3) is None
    assert crules.optional_text("   ", "message", max_length=3) is None
    assert crules.optional_text("  abc  ", "message", max_length=3) == "abc"
    assert refusal(crules.optional_text, "abcd", "message", max_length=3) == (
        "message", "message is longer than 3 characters")
    assert refusal(crules.optional_text, 12, "message", max_length=3) == ("message", "message must be text")


def test_tags_are_short_labels_kept_once_in_the_order_given():
    assert crules.tags(None, "sectors") == ()
    assert crules.tags(["  BTP ", "Économie   circulaire", "btp", "ÉCONOMIE circulaire", "Traiteur"], "sectors") == (
        "BTP", "Économie circulaire", "Traiteur")
    assert crules.tags(["x" * 80], "sectors") == ("x" * 80,)
    assert refusal(crules.tags, "BTP", "sectors") == ("sectors", "sectors must be a list of tags, not one text")
    assert refusal(crules.tags, ["BTP", " "], "sectors") == ("sectors.1", "sectors.1 must be a non-empty tag")
    assert refusal(crules.tags, ["BTP", 3], "offers") == ("offers.1", "offers.1 must be a non-empty tag")
    assert refusal(crules.tags, ["BTP", "x" * 81], "offers") == (
        "offers.1", "offers.1 is longer than 80 characters: a tag, not a description")
    assert refusal(crules.tags, ["BTP", "a@b.fr"], "needs") == (
        "needs.1", "needs.1 looks like contact details: tags are codes or short labels")


def test_at_most_30_tags_once_the_repeated_ones_are_dropped():
    thirty = [f"t{i}" for i in range(30)]
    assert crules.tags([*thirty, "T0", "t29"], "needs") == tuple(thirty)
    assert refusal(crules.tags, [*thirty, "t30"], "needs") == ("needs", "needs: at most 30 tags (got 31)")
