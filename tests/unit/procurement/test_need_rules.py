"""The needs area's input rules, each on its own: what passes (normalised), what is refused, and the
refusal's field and words — the needs, funnels, questions and impact surveys only reach them through
their happy paths and a few refusals."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo

import pytest

from contracts.procurement.vocabulary import Sector
from runtime.errors import Conflict, InvalidInput
from services.procurement.domain import need_rules as rules
from tests.unit.refusals import refused

UTC = timezone.utc


def test_an_identifier_the_platform_issued_has_no_spaces():
    assert rules.identifier("sup-1", "supplier_id") == "sup-1"
    refused(lambda: rules.identifier("sup 1", "supplier_id"), "supplier_id", "supplier_id must be an id (no spaces)")
    assert rules.optional_identifier(None, "grouping_id") is None
    assert rules.optional_identifier("grp-1", "grouping_id") == "grp-1"
    refused(lambda: rules.optional_identifier("grp 1", "grouping_id"), "grouping_id",
            "grouping_id must be an id (no spaces)")


def test_a_flag_is_true_or_false_and_nothing_else():
    assert rules.flag(True, "reserved") is True and rules.flag(False, "reserved") is False
    for value in (1, 0, "true", None):
        refused(lambda: rules.flag(value, "reserved"), "reserved", f"reserved must be true or false (got {value!r})")


def test_a_whole_number_within_its_bounds_both_included():
    assert rules.whole(1, "cap", minimum=1, maximum=5) == 1
    assert rules.whole(5, "cap", minimum=1, maximum=5) == 5
    for value in (0, 6, True, 2.0, "3"):
        refused(lambda: rules.whole(value, "cap", minimum=1, maximum=5), "cap",
                f"cap must be a whole number from 1 to 5 (got {value!r})")


def test_an_amount_runs_from_0_to_a_hundred_billion_euros_less_a_cent():
    assert rules.MAX_AMOUNT_CENTS == 9_999_999_999_999
    assert rules.amount(0, "amount_cents") == 0
    assert rules.amount(rules.MAX_AMOUNT_CENTS, "amount_cents") == rules.MAX_AMOUNT_CENTS
    for value in (-1, rules.MAX_AMOUNT_CENTS + 1):
        refused(lambda: rules.amount(value, "amount_cents"), "amount_cents",
                f"amount_cents must be a whole number from 0 to 9999999999999 (got {value})")


class _NoOffset(tzinfo):
    """A time zone that knows no offset: such a time is as naive as one without a zone."""

    def utcoffset(self, dt):
        return None


def test_an_instant_carries_its_zone_and_lies_in_the_years_1900_to_2200():
    first = datetime(1900, 1, 1, tzinfo=UTC)
    last = datetime(2200, 12, 31, 23, 59, tzinfo=UTC)
    assert rules.instant(first, "at") is first and rules.instant(last, "at") is last
    refused(lambda: rules.instant("2024-01-01T00:00:00Z", "at"), "at",
            "at must be a date and time (got '2024-01-01T00:00:00Z')")
    refused(lambda: rules.instant(datetime(2024, 1, 1), "at"), "at",
            "at must carry a time zone (naive date and time 2024-01-01T00:00:00)")
    refused(lambda: rules.instant(datetime(2024, 1, 1, tzinfo=_NoOffset()), "at"), "at",
            "at must carry a time zone (naive date and time 2024-01-01T00:00:00)")
    for value in (first - timedelta(seconds=1), last + timedelta(minutes=1)):
        refused(lambda: rules.instant(value, "at"), "at",
                f"at must be in the years 1900–2200 (got {value.isoformat()})")


def test_a_commune_is_a_known_insee_code_read_in_capitals_without_spaces():
    assert rules.commune(" 93048 ", "place.commune").name == "Montreuil"
    assert rules.commune("2a004", "place.commune").name == "Ajaccio"
    assert rules.commune_code("2b033", "place.commune") == "2B033"
    for value in (93048, "9304", "930480", "2C004", "A3048"):
        refused(lambda: rules.commune(value, "place.commune"), "place.commune",
                f"{value!r} is not a commune's INSEE code (5 characters, e.g. 93048)")
    refused(lambda: rules.commune("99999", "place.commune"), "place.commune",
            "'99999' is not the INSEE code of a known commune")


def test_a_departement_code_is_normalised_and_known():
    assert rules.departement("1", "d") == "01"
    assert rules.departement(" 93 ", "d") == "93"
    assert rules.departement("2a", "d") == "2A"
    assert rules.departement("971", "d") == "971"
    for value in ("96", "0", "0093", "9710", 93, None, "", "a"):
        refused(lambda: rules.departement(value, "d"), "d",
                f"{value!r} is not a French département code (01–95, 2A, 2B, 971–976)")


def test_a_region_is_its_insee_code_as_given():
    assert rules.region(" 11 ", "r") == "11"
    assert rules.region("01", "r") == "01"
    assert rules.region("975", "r") == "975"  # Saint-Pierre-et-Miquelon: a code of three characters
    for value in ("1", "99", "0011", 11, None):
        refused(lambda: rules.region(value, "r"), "r", f"{value!r} is not a region's INSEE code (e.g. 11 for "
                                                       f"Île-de-France)")


def test_a_list_of_codes_names_the_bad_one_and_drops_duplicates_in_order():
    rule = rules.departement
    assert rules.codes(None, "deps", rule, max_items=2) == []
    assert rules.codes(("94", "1", "94", "01"), "deps", rule, max_items=4) == ["94", "01"]
    refused(lambda: rules.codes("93", "deps", rule, max_items=2), "deps", "deps must be a list")
    refused(lambda: rules.codes(["93", "94", "95"], "deps", rule, max_items=2), "deps", "deps: at most 2 items")
    refused(lambda: rules.codes(["93", "96"], "deps", rule, max_items=2), "deps.1",
            "'96' is not a French département code (01–95, 2A, 2B, 971–976)")


def test_a_list_of_enum_codes_allows_duplicates_up_to_four_times_the_codes_and_a_minimum():
    assert rules.enums(Sector, ("food", "logistics", "food"), "sectors") == [Sector.FOOD, Sector.LOGISTICS]
    assert rules.enums(Sector, [], "sectors") == []
    assert rules.enums(Sector, ["food"] * 56, "sectors", minimum=1) == [Sector.FOOD]
    refused(lambda: rules.enums(Sector, ["food"] * 57, "sectors"), "sectors", "sectors: at most 14 codes")
    refused(lambda: rules.enums(Sector, "food", "sectors"), "sectors", "sectors must be a list of codes")
    refused(lambda: rules.enums(Sector, [], "sectors", minimum=1), "sectors", "sectors: give at least 1")
    assert rules.enums(Sector, ["food", "textile"], "sectors", minimum=2) == [Sector.FOOD, Sector.TEXTILE]
    refused(lambda: rules.enums(Sector, ["food", "food"], "sectors", minimum=2), "sectors", "sectors: give at least 2")
    with pytest.raises(InvalidInput, match="^unknown sectors.1 'fish'; expected one of: ") as caught:
        rules.enums(Sector, ["food", "fish"], "sectors")
    assert caught.value.field == "sectors.1"


def test_a_conflict_names_the_state_and_the_step_expected():
    error = rules.conflict("need ned-1", "award", "draft", "publish", need_id="ned-1")
    assert isinstance(error, Conflict)
    assert error.detail == "cannot award: need ned-1 is draft; expected: publish"
    assert error.extra == {"current_state": "draft", "expected_step": "publish", "need_id": "ned-1"}
