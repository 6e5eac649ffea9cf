"""Whether a supplier serves a place, and how well (services.procurement.domain.territory)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference import geo
from services.procurement.domain import territory
from services.procurement.domain.territory import Reach

MONTREUIL, CRETEIL, PARIS_11, LAGNY, MELUN, NANTERRE = "93048", "94028", "75111", "77243", "77288", "92050"


def base(code: str) -> dict:
    c = geo.commune(code)
    return {"commune": c.code, "departement": c.departement, "lat": c.lat, "lon": c.lon}


def serves(departements=(), communes=(), radius_km=None) -> dict:
    return {"departements": list(departements), "communes": list(communes), "radius_km": radius_km}


def test_a_supplier_serves_its_own_departement_and_its_base_commune_best():
    assert territory.serves(base(MONTREUIL), serves(), CRETEIL, "94") is False
    assert territory.serves(base(MONTREUIL), serves(), "93066", "93") is True
    assert territory.match(base(MONTREUIL), serves(), MONTREUIL, "93").reach is Reach.COMMUNE
    assert territory.match(base(MONTREUIL), serves(), "93066", "93").reach is Reach.DEPARTEMENT
    assert territory.serves(base(MONTREUIL), serves(), None, "93") is True
    assert territory.serves(base(MONTREUIL), serves(), None, "94") is False


def test_declared_departements_and_communes():
    s = serves(departements=["94"], communes=[PARIS_11])
    assert territory.match(base(MONTREUIL), s, CRETEIL, "94").reach is Reach.DEPARTEMENT
    assert territory.match(base(MONTREUIL), s, PARIS_11, "75").reach is Reach.COMMUNE
    assert territory.serves(base(MONTREUIL), s, "75120", "75") is False  # another arrondissement: not declared
    # a département place: a declared commune in it means serving part of it
    assert territory.match(base(MONTREUIL), s, None, "75").reach is Reach.PART
    assert territory.serves(base(MONTREUIL), s, None, "92") is False


def test_the_radius_covers_a_commune_within_it_and_reaches_a_departement_with_one_commune_within():
    d = geo.between(geo.commune(MONTREUIL), geo.commune(LAGNY))
    assert 19.5 < d < 20.5
    assert territory.match(base(LAGNY), serves(radius_km=21), MONTREUIL, "93").reach is Reach.RADIUS
    assert territory.serves(base(LAGNY), serves(radius_km=19), MONTREUIL, "93") is False
    assert territory.serves(base(LAGNY), serves(radius_km=21), None, "93") is True
    assert territory.serves(base(LAGNY), serves(radius_km=5), None, "93") is False
    assert territory.serves(base(LAGNY), serves(), None, "77") is True  # its own département


def test_the_search_radius_finds_nearby_suppliers_that_do_not_declare_the_place():
    m = territory.match(base(LAGNY), serves(), MONTREUIL, "93", search_radius_km=25)
    assert (m.serves, m.reach) == (False, Reach.NEARBY)
    assert territory.match(base(LAGNY), serves(), MONTREUIL, "93", search_radius_km=15).reach is None


def test_points_prefer_the_named_commune_then_the_departement_then_the_radius_and_nearer_first():
    here = territory.score(base(MONTREUIL), serves(), MONTREUIL, "93")
    same_departement = territory.score(base("93066"), serves(), MONTREUIL, "93")
    by_radius = territory.score(base(LAGNY), serves(radius_km=30), MONTREUIL, "93")
    nearby = territory.score(base(LAGNY), serves(), MONTREUIL, "93", search_radius_km=30)
    assert here == 20 + 25
    assert here > same_departement > by_radius > nearby > 0
    assert territory.distance_points(0) == 25 and territory.distance_points(100) == 0
    assert territory.distance_points(250) == 0 and territory.distance_points(None) == 0
    assert territory.score(base(MONTREUIL), serves(), None, "93") == 15  # no distance to a département


def test_documents_and_objects_read_alike():
    class Obj:
        def __init__(self, **kw):
            self.__dict__.update(kw)

    assert territory.serves(Obj(**base(MONTREUIL)), Obj(**serves(communes=[PARIS_11])), PARIS_11, "75")


def test_a_place_is_a_known_commune_or_a_departement():
    with pytest.raises(ValueError, match="unknown commune"):
        territory.serves(base(MONTREUIL), serves(), "99999", None)
    with pytest.raises(ValueError):
        territory.serves(base(MONTREUIL), serves(), None, None)


IDF = [c for c in geo.communes() if c.region == "11"]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(IDF), st.integers(0, 120), st.sampled_from(IDF))
def test_departements_within_agrees_with_within(centre, km, _):
    slow = {c.departement for c in geo.within(centre.lat, centre.lon, km)}
    assert geo.departements_within(centre.lat, centre.lon, float(km)) == slow


# -- the bounds: radii include their limit, 0 included; what a place and a supplier may lack ----------
# Béthencourt-sur-Somme (80) and Pithon (02) share their (approximate) coordinates: 0 km apart.
# Sainte-Colombe (69) lies 0.64 km from Vienne (38), across the Rhône.
BETHENCOURT, PITHON, SAINTE_COLOMBE, VIENNE = "80097", "02604", "69189", "38544"


def test_a_radius_of_0_km_reaches_a_place_at_the_base_s_very_point():
    assert geo.between(geo.commune(BETHENCOURT), geo.commune(PITHON)) == 0
    m = territory.match(base(BETHENCOURT), serves(radius_km=0), PITHON, "02")
    assert (m.serves, m.reach, m.distance_km) == (True, Reach.RADIUS, 0)
    assert territory.match(base(BETHENCOURT), serves(radius_km=0), None, "02").reach is Reach.RADIUS
    assert territory.match(base(BETHENCOURT), serves(radius_km=-1), PITHON, "02").reach is None
    assert territory.match(base(BETHENCOURT), serves(radius_km=-1), None, "02").reach is None


def test_a_search_radius_of_0_km_finds_a_supplier_at_the_place_s_very_point():
    m = territory.match(base(BETHENCOURT), serves(), PITHON, "02", search_radius_km=0)
    assert (m.serves, m.reach) == (False, Reach.NEARBY)


def test_a_radius_that_is_not_a_number_is_no_radius_true_is_not_1_km():
    assert territory.serves(base(SAINTE_COLOMBE), serves(radius_km=1), VIENNE, "38") is True
    for radius in (True, "1", None):
        assert territory.match(base(SAINTE_COLOMBE), serves(radius_km=radius), VIENNE, "38").reach is None
    assert territory.match(base(BETHENCOURT), serves(radius_km=False), PITHON, "02").reach is None  # not 0 km


def test_a_commune_place_needs_no_departement_it_is_the_commune_s():
    assert territory.match(base(MONTREUIL), serves(), "93066", None).reach is Reach.DEPARTEMENT
    assert territory.match(base(MONTREUIL), serves(), "93066", "").reach is Reach.DEPARTEMENT
    with pytest.raises(ValueError, match="^a place is a commune or a département$"):
        territory.serves(base(MONTREUIL), serves(), None, "")


def test_a_supplier_without_coordinates_reaches_nothing_by_radius():
    class Base:  # a model's base without coordinates: no attribute lat or lon at all
        commune, departement = LAGNY, "77"

    assert territory.match(Base(), serves(radius_km=300), MONTREUIL, "93") == territory.TerritoryMatch(False, None,
                                                                                                        None)
    assert territory.serves(Base(), serves(radius_km=300), None, "93") is False
    half = {"commune": LAGNY, "departement": "77", "lat": geo.commune(LAGNY).lat, "lon": None}
    assert territory.serves(half, serves(radius_km=300), None, "93") is False
    assert territory.radius_reaches(half, 300, "93") is False
    assert territory.radius_reaches(base(LAGNY), 300, "93") is True
