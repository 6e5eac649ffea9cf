"""A sourcing search's place (``SearchQuery.place``): what it reads, what it refuses and in which words.

The search tests reached the place only through a search, its refusals read by field alone; here each rule
is read on its own, its words whole (they are what the caller shows)."""
from __future__ import annotations

import re

import pytest

from reference import geo
from services.procurement.domain.sourcing import MAX_SEARCH_RADIUS_KM, Place, SearchQuery
from tests.unit import refusals

MONTREUIL = "93048"


def refusal(query: SearchQuery) -> tuple[str, str]:
    """The field and the exact words of the query's refused place."""
    return refusals.refusal(query.place)


def test_no_place_is_none_and_a_commune_is_its_own_departement():
    assert SearchQuery().place() is None
    assert SearchQuery(radius_km=None, departement=None, commune=None).place() is None
    montreuil = geo.commune(MONTREUIL)
    assert SearchQuery(commune=MONTREUIL).place() == Place(montreuil, "93")
    # the code read without its spaces; the same département given too is no conflict
    assert SearchQuery(commune=f" {MONTREUIL} ", departement="93").place() == Place(montreuil, "93")
    assert SearchQuery(commune=MONTREUIL, departement=" 93 ", radius_km=5).place() == Place(montreuil, "93")


@pytest.mark.parametrize("given, code", [("93", "93"), (" 77 ", "77"), ("1", "01"), (" 9", "09"), ("2a", "2A"),
                                         (" 2b ", "2B"), ("01", "01")])
def test_a_departement_is_read_trimmed_upper_case_and_padded(given, code):
    assert SearchQuery(departement=given).place() == Place(None, code)


@pytest.mark.parametrize("given", ["20", "100", "001", "A", "", "  ", "2c"])
def test_an_unknown_departement_is_refused_in_words(given):
    assert refusal(SearchQuery(departement=given)) == ("departement", f"{given!r} is not a French département code")


def test_a_place_that_is_not_text_is_refused():
    assert refusal(SearchQuery(departement=93)) == ("departement", "93 is not a French département code")
    assert refusal(SearchQuery(commune=93048)) == ("commune", "93048 is not the INSEE code of a French commune")
    assert refusal(SearchQuery(commune="99999")) == ("commune", "'99999' is not the INSEE code of a French commune")
    # the commune is read first: a bad commune is named even with a bad département
    assert refusal(SearchQuery(commune="99999", departement="20"))[0] == "commune"


def test_a_departement_other_than_the_communes_is_refused_in_words():
    assert refusal(SearchQuery(commune=MONTREUIL, departement="94")) == (
        "departement", "commune 93048 (Montreuil) is in département 93, not 94; give one or the other")
    assert refusal(SearchQuery(commune=MONTREUIL, departement=" 2a")) == (
        "departement", "commune 93048 (Montreuil) is in département 93, not 2A; give one or the other")


@pytest.mark.parametrize("radius", [0, 1, 150, MAX_SEARCH_RADIUS_KM])
def test_a_radius_from_0_to_300_km_around_a_commune(radius):
    assert MAX_SEARCH_RADIUS_KM == 300
    assert SearchQuery(commune=MONTREUIL, radius_km=radius).place() == Place(geo.commune(MONTREUIL), "93")


@pytest.mark.parametrize("radius", [-1, 301, 1000, True, False, 10.0, 2.5, "10"])
def test_a_radius_that_is_not_a_whole_number_of_km_from_0_to_300_is_refused(radius):
    assert refusal(SearchQuery(commune=MONTREUIL, radius_km=radius)) == (
        "radius_km", "radius_km must be a whole number of km from 0 to 300")


def test_a_radius_without_a_commune_is_refused_in_words():
    words = ("radius_km", "a radius is around a commune: give commune (an INSEE code)")
    assert refusal(SearchQuery(radius_km=10)) == words
    assert refusal(SearchQuery(departement="93", radius_km=0)) == words
    # a bad radius is named as such first, commune or not
    assert re.match(r"^radius_km must be", refusal(SearchQuery(departement="93", radius_km=301))[1])
