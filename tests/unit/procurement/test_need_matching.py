"""Which suppliers a need goes to: sector ∩, territory (base département, départements or communes
served, radius around the base), kind (reserved contracts), active only — and the MongoDB filter
never misses a supplier the predicate accepts."""
from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.procurement.vocabulary import ReservedArticle, SupplierKind
from reference import geo
from services.procurement.domain import need_matching as m

MONTREUIL = geo.commune("93048")
MELUN = geo.commune("77288")
CRETEIL = geo.commune("94028")


def supplier(**overrides) -> dict[str, Any]:
    doc = {"_id": "sup-1", "status": "active", "sectors": ["food"], "kinds": ["ei"],
           "base": {"commune": "75056", "departement": "75", "lat": 48.85341, "lon": 2.3488},
           "serves": {"departements": [], "communes": [], "radius_km": None}}
    doc.update(overrides)
    return doc


def montreuil(article: ReservedArticle | None = None, sectors=("food",)) -> m.Target:
    return m.target(sectors=sectors, departement="93", commune="93048", reserved_article=article,
                    point=(MONTREUIL.lat, MONTREUIL.lon))


def test_territory_base_departement_departements_communes_served():
    t = montreuil()
    assert m.serves(supplier(base={"departement": "93", "lat": 0, "lon": 0}), t)
    assert m.serves(supplier(serves={"departements": ["94", "93"]}), t)
    assert m.serves(supplier(serves={"communes": ["93048"]}), t)
    assert not m.serves(supplier(serves={"communes": ["93066"], "departements": ["94"]}), t)


def test_territory_radius_around_the_base():
    paris_to_montreuil = geo.distance_km(48.85341, 2.3488, MONTREUIL.lat, MONTREUIL.lon)
    assert 6 < paris_to_montreuil < 8
    assert m.serves(supplier(serves={"radius_km": 8}), montreuil())
    assert not m.serves(supplier(serves={"radius_km": 6}), montreuil())
    assert not m.serves(supplier(serves={"radius_km": 0}), montreuil())
    assert not m.serves(supplier(serves={"radius_km": True}), montreuil())
    far = supplier(base={"departement": "13", "lat": 43.3, "lon": 5.4}, serves={"radius_km": 10_000})
    assert not m.serves(far, montreuil())  # a radius counts up to MAX_RADIUS_KM
    whole_93 = m.target(sectors=["food"], departement="93", commune=None, reserved_article=None, point=None)
    assert m.serves(supplier(serves={"radius_km": 50}), whole_93)  # its radius reaches part of the département
    assert not m.serves(supplier(serves={"radius_km": 1}), whole_93)
    assert m.serves(supplier(serves={"communes": ["93066"]}), whole_93)  # it serves part of it
    assert not m.serves(supplier(serves={"radius_km": 50}), m.target(sectors=["food"], departement="99",
                                                                     commune=None, reserved_article=None,
                                                                     point=None)), "an unknown place: nobody"


def test_sector_and_status():
    assert not m.serves(supplier(sectors=["logistics"], serves={"departements": ["93"]}), montreuil())
    assert m.serves(supplier(sectors=["logistics", "food"], serves={"departements": ["93"]}), montreuil())
    assert not m.serves(supplier(status="archived", serves={"departements": ["93"]}), montreuil())


def test_kinds_of_reserved_contracts():
    here = {"serves": {"departements": ["93"]}}
    ea, ei, ess = supplier(kinds=["ea"], **here), supplier(kinds=["ei"], **here), supplier(kinds=["ess"], **here)
    assert [m.serves(s, montreuil(ReservedArticle.L2113_12)) for s in (ea, ei, ess)] == [True, False, False]
    assert [m.serves(s, montreuil(ReservedArticle.L2113_13)) for s in (ea, ei, ess)] == [False, True, False]
    assert [m.serves(s, montreuil(ReservedArticle.L2113_15)) for s in (ea, ei, ess)] == [True, True, True]
    assert [m.serves(s, montreuil(None)) for s in (ea, ei, ess)] == [True, True, True]
    assert m.eligible_kinds(ReservedArticle.L2113_13) == {SupplierKind.EI, SupplierKind.AI, SupplierKind.ACI,
                                                           SupplierKind.ETTI, SupplierKind.EITI, SupplierKind.GEIQ}


# -- the filter never misses what the predicate accepts ------------------------------------------------
def _get(doc: dict, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc


def _matches(doc: dict, query: dict) -> bool:
    """A MongoDB filter evaluator for the operators the candidate filter uses."""
    for key, cond in query.items():
        if key == "$or":
            if not any(_matches(doc, q) for q in cond):
                return False
            continue
        value = _get(doc, key)
        values = value if isinstance(value, list) else [value]
        if isinstance(cond, dict):
            for op, arg in cond.items():
                ok = {"$in": lambda v: v in arg, "$gt": lambda v: v is not None and not isinstance(v, bool)
                      and isinstance(v, (int, float)) and v > arg,
                      "$gte": lambda v: isinstance(v, (int, float)) and v >= arg,
                      "$lte": lambda v: isinstance(v, (int, float)) and v <= arg}[op]
                if not any(ok(v) for v in values):
                    return False
        elif cond not in values:
            return False
    return True


COMMUNES = [MONTREUIL, MELUN, CRETEIL, geo.commune("75056"), geo.commune("2A004")]
suppliers = st.builds(
    lambda status, sectors, kinds, base, deps, communes, radius: supplier(
        status=status, sectors=sectors, kinds=kinds,
        base={"commune": base.code, "departement": base.departement, "lat": base.lat, "lon": base.lon},
        serves={"departements": deps, "communes": communes, "radius_km": radius}),
    st.sampled_from(["active", "archived"]), st.lists(st.sampled_from(["food", "logistics", "textile"]), max_size=2),
    st.lists(st.sampled_from([k.value for k in SupplierKind]), max_size=2), st.sampled_from(COMMUNES),
    st.lists(st.sampled_from(["93", "94", "77", "75", "2A"]), max_size=2),
    st.lists(st.sampled_from([c.code for c in COMMUNES]), max_size=2),
    st.one_of(st.none(), st.integers(min_value=0, max_value=600)))
targets = st.builds(
    lambda place, article, sectors, with_commune: m.target(
        sectors=sectors, departement=place.departement, commune=place.code if with_commune else None,
        reserved_article=article, point=(place.lat, place.lon) if with_commune else None),
    st.sampled_from(COMMUNES), st.one_of(st.none(), st.sampled_from(list(ReservedArticle))),
    st.lists(st.sampled_from(["food", "logistics"]), min_size=1, max_size=2), st.booleans())


@settings(max_examples=400, deadline=None)
@given(suppliers, targets)
def test_the_candidate_filter_selects_every_supplier_the_predicate_accepts(doc, t):
    if m.serves(doc, t):
        assert _matches(doc, m.candidate_filter(t))


# -- a need's target, and what the filter leaves out ------------------------------------------------------
def test_a_need_s_target_is_its_sectors_place_point_and_the_kinds_its_reserved_article_allows():
    from datetime import datetime, timezone

    from contracts.procurement.vocabulary import Sector
    from services.procurement.domain.needs import Need

    def need(**overrides):
        fields = {"title": "Collecte du mobilier", "kind": "tender", "sectors": ["circular_economy", "logistics"],
                  "place": {"commune": "93048"}, "deadline_at": datetime(2008, 4, 15, tzinfo=timezone.utc),
                  "amount_band": "20k_30k", **overrides}
        return Need.draft("need-1", buyer_id="buy-1", fields=fields, at=datetime(2008, 3, 1, tzinfo=timezone.utc),
                          by="staff-1")

    reserved = need(reserved=True, reserved_article="l2113_12")
    assert m.target_of(reserved) == m.Target(sectors=frozenset({Sector.CIRCULAR_ECONOMY, Sector.LOGISTICS}),
                                             departement="93", commune="93048", lat=MONTREUIL.lat,
                                             lon=MONTREUIL.lon, kinds=m.DISABILITY_KINDS)
    assert m.target_of(reserved, kinds=None).kinds is None
    assert m.target_of(reserved, kinds=m.SIAE_KINDS).kinds == m.SIAE_KINDS
    assert m.target_of(need()).kinds is None, "not reserved: any kind"
    whole = m.target_of(need(place={"departement": "94"}))
    assert (whole.departement, whole.commune, whole.lat, whole.lon, whole.has_point) == ("94", None, None, None, False)


def test_kinds_given_to_a_target_override_those_of_its_article():
    def kinds(article, given):
        return m.target(sectors=["food"], departement="93", commune="93048", reserved_article=article,
                        point=(MONTREUIL.lat, MONTREUIL.lon), kinds=given).kinds

    assert kinds(None, frozenset({SupplierKind.EA})) == {SupplierKind.EA}
    assert kinds(ReservedArticle.L2113_12, None) is None
    assert kinds(ReservedArticle.L2113_12, False) == m.DISABILITY_KINDS
    t = montreuil()
    assert (t.lat, t.lon, t.has_point) == (MONTREUIL.lat, MONTREUIL.lon, True)


def test_a_supplier_document_without_sectors_or_kinds_serves_nobody():
    here = {"serves": {"departements": ["93"]}}
    assert not m.serves(supplier(sectors=None, **here), montreuil())
    assert not m.serves(supplier(kinds=None, **here), montreuil(ReservedArticle.L2113_13))
    assert m.serves(supplier(kinds=None, **here), montreuil())


def test_a_place_the_reference_geography_does_not_know_is_served_by_nobody():
    unknown = m.target(sectors=["food"], departement="93", commune="93999", reserved_article=None, point=None)
    assert not m.serves(supplier(base={"commune": "93048", "departement": "93", "lat": 0, "lon": 0}), unknown)


def _based_at(code: str, radius: int | None) -> dict[str, Any]:
    c = geo.commune(code)
    return supplier(base={"commune": c.code, "departement": c.departement, "lat": c.lat, "lon": c.lon},
                    serves={"departements": [], "communes": [], "radius_km": radius})


def test_the_filter_reaches_by_radius_alone_up_to_300_km_and_leaves_out_what_lies_beyond_its_box():
    t = montreuil()
    toul = _based_at("54528", 300)  # 253 km east of Montreuil, in Meurthe-et-Moselle
    assert m.serves(toul, t) and _matches(toul, m.candidate_filter(t))
    assert not _matches(_based_at("54528", 0), m.candidate_filter(t)), "no radius: not by the box"
    for far in ("67482", "63113"):  # Strasbourg (390 km east), Clermont-Ferrand (346 km south)
        doc = _based_at(far, 300)
        assert not m.serves(doc, t) and not _matches(doc, m.candidate_filter(t))
    # Sainte-Colombe (Rhône) lies 0.64 km from Vienne (Isère), across the river: a radius of 1 km reaches it
    vienne = geo.commune("38544")
    across = _based_at("69189", 1)
    t = m.target(sectors=["food"], departement="38", commune="38544", reserved_article=None,
                 point=(vienne.lat, vienne.lon))
    assert m.serves(across, t) and _matches(across, m.candidate_filter(t))
    isere = m.target(sectors=["food"], departement="38", commune=None, reserved_article=None, point=None)
    assert m.serves(across, isere) and _matches(across, m.candidate_filter(isere)), "it reaches part of Isère"


def test_the_filter_of_a_whole_departement_reaches_the_suppliers_serving_one_of_its_communes():
    whole_93 = m.target(sectors=["food"], departement="93", commune=None, reserved_article=None, point=None)
    doc = _based_at("75056", None)
    doc["serves"]["communes"] = ["93066"]
    assert m.serves(doc, whole_93) and _matches(doc, m.candidate_filter(whole_93))
    doc["serves"]["communes"] = ["94028"]
    assert not m.serves(doc, whole_93) and not _matches(doc, m.candidate_filter(whole_93))
