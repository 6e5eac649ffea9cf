"""The sourcing index: filters, facets (disjunctive), relevance, pages — against a plain-Python
reference and against hand counts."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.procurement.vocabulary import Sector, SupplierKind, SupplierLabel
from reference import geo
from runtime.errors import InvalidInput
from services.procurement.domain import sourcing
from services.procurement.domain.sourcing import SearchQuery, SupplierIndex, SupplierRow
from services.procurement.domain.territory import Reach

MONTREUIL, CRETEIL, PARIS_11, LAGNY, MELUN = "93048", "94028", "75111", "77243", "77288"
BETHENCOURT, PITHON = "80097", "02604"  # Béthencourt-sur-Somme (Somme) and Pithon (Aisne): the same coordinates


def row(sid: str, base: str = MONTREUIL, *, org: str | None = None, sectors=("food",), kinds=(), labels=(),
        departements=(), communes=(), radius=None, references=0, past_contracts=0) -> SupplierRow:
    c = geo.commune(base)
    return SupplierRow(id=sid, organisation_id=org or f"org-{sid}", name=f"Structure {sid}", legal_form="association",
                       sectors=tuple(sectors), kinds=tuple(kinds), labels=tuple(labels), services=(),
                       base_commune=c.code, base_commune_name=c.name, base_departement=c.departement, lat=c.lat,
                       lon=c.lon, approximate=c.approximate, serves_departements=tuple(departements),
                       serves_communes=tuple(communes), radius_km=radius, references=references,
                       past_contracts=past_contracts)


def index_of(*rows: SupplierRow, members=()) -> SupplierIndex:
    index = SupplierIndex(capacity=4)  # small: the arrays grow
    for r in rows:
        index.put(r)
    for org in members:
        index.set_standing(org, True)
    return index


def ids(result) -> list[str]:
    return [h.row.id for h in result.hits]


# -- hand counts ------------------------------------------------------------------------------------

ROWS = [
    row("s1", MONTREUIL, sectors=("food", "logistics"), kinds=("ei",), labels=("esus",)),
    row("s2", CRETEIL, sectors=("food",), kinds=("esat",), departements=("93",)),
    row("s3", PARIS_11, sectors=("logistics",), kinds=("ei",), labels=("esus", "rge")),
    row("s4", LAGNY, sectors=("food",), kinds=("aci",)),  # 20 km from Montreuil, serves 77 only
    row("s5", MELUN, sectors=("cleaning",), radius=50),  # its radius reaches 93
    row("s6", PARIS_11, sectors=("food",), communes=(MONTREUIL,), labels=("lucie",)),
]
MEMBERS = ("org-s1", "org-s4", "org-s6")


def test_facets_count_every_filter_but_their_own():
    index = index_of(*ROWS, members=MEMBERS)
    result = index.search(SearchQuery(sectors=(Sector.FOOD,), departement="93", member_only=True))
    # food ∩ serves 93 ∩ member: s1 (base 93), s6 (names Montreuil: part of 93) — s4 serves 77 only, s2 not a member
    assert sorted(ids(result)) == ["s1", "s6"] and result.total == 2
    facets = result.facets
    # sectors: serves 93 ∩ member = s1 (food, logistics), s6 (food) — s5 (cleaning) is no member
    assert facets["sectors"]["food"] == 2 and facets["sectors"]["logistics"] == 1 and facets["sectors"]["cleaning"] == 0
    # département facet: food ∩ member, whoever they serve = s1 (93), s4 (77), s6 (75, and Montreuil: 93)
    assert facets["departements"] == {"93": 2, "77": 1, "75": 1}
    # member facet: food ∩ serves 93 = s1, s2 (declares 93), s6
    assert facets["member"] == {"in_good_standing": 2, "not_in_good_standing": 1}
    # kinds and labels: the full filtered set (no kind / label filter)
    assert facets["kinds"]["ei"] == 1 and facets["kinds"]["esat"] == 0
    assert facets["labels"] == {**{lb.value: 0 for lb in SupplierLabel}, "esus": 1, "lucie": 1}


def test_values_within_a_facet_are_alternatives():
    index = index_of(*ROWS)
    assert sorted(ids(index.search(SearchQuery(kinds=(SupplierKind.EI, SupplierKind.ESAT))))) == ["s1", "s2", "s3"]
    assert sorted(ids(index.search(SearchQuery(labels=(SupplierLabel.RGE, SupplierLabel.LUCIE))))) == ["s3", "s6"]


def test_radius_around_a_commune_finds_a_supplier_20_km_away_with_25_not_15():
    index = index_of(*ROWS)
    food_near = lambda km: ids(index.search(SearchQuery(sectors=(Sector.FOOD,), commune=MONTREUIL, radius_km=km)))
    assert "s4" in food_near(25) and "s4" not in food_near(15)
    hit = next(h for h in index.search(SearchQuery(commune=MONTREUIL, radius_km=25)).hits if h.row.id == "s4")
    assert hit.reach is Reach.NEARBY and 19.5 < hit.distance_km < 20.5 and hit.details["territory"] == 0.0
    # the supplier's own radius (Melun, 50 km) covers Montreuil
    assert "s5" in ids(index.search(SearchQuery(commune=MONTREUIL)))
    # radii include their bound: Béthencourt-sur-Somme (80) and Pithon (02) share their (approximate) coordinates,
    # so a radius of 0 km, the supplier's or the search's, reaches the one from the other
    bethencourt, pithon = geo.commune(BETHENCOURT), geo.commune(PITHON)
    assert bethencourt.approximate and (bethencourt.lat, bethencourt.lon) == (pithon.lat, pithon.lon)
    zero = index_of(row("own", BETHENCOURT, radius=0), row("none", BETHENCOURT))
    assert [(h.row.id, h.reach) for h in zero.search(SearchQuery(commune=PITHON)).hits] == [("own", Reach.RADIUS)]
    assert [(h.row.id, h.reach, h.distance_km) for h in zero.search(SearchQuery(commune=PITHON, radius_km=0)).hits] \
        == [("own", Reach.RADIUS, 0.0), ("none", Reach.NEARBY, 0.0)]


def test_relevance_is_documented_and_ties_go_by_id():
    index = index_of(*ROWS, members=MEMBERS)
    result = index.search(SearchQuery(sectors=(Sector.FOOD,), commune=MONTREUIL, limit=10))
    by_id = {h.row.id: h for h in result.hits}
    s1 = by_id["s1"]  # its base commune: 20 + distance 25 + sector 30 + esus 3 + member 10
    assert s1.details == {"sector": 30.0, "distance": 25.0, "territory": 20.0, "labels": 3.0, "member": 10.0,
                          "track_record": 0.0}
    assert s1.score == 88.0 and ids(result)[0] == "s1"
    assert by_id["s2"].details["territory"] == 15.0 and by_id["s2"].reach is Reach.DEPARTEMENT
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    # beyond 100 km, no distance points (not fewer than none): Lyon, 391 km, declaring the 93
    (far,) = index_of(row("far", "69123", departements=("93",))).search(SearchQuery(commune=MONTREUIL)).hits
    assert (far.details["distance"], far.details["territory"], far.score) == (0.0, 15.0, 15.0)
    twins = index_of(row("b"), row("a"), row("c"))
    assert ids(twins.search(SearchQuery())) == ["a", "b", "c"]
    # a département place: 10 points either way, told apart in the reach — Melun's 10 km reach no commune of
    # the 93 (its declared Montreuil does), its 50 km do
    melun = index_of(row("p", MELUN, communes=(MONTREUIL,), radius=10), row("r", MELUN, radius=50))
    assert [(h.row.id, h.reach, h.details["territory"]) for h in melun.search(SearchQuery(departement="93")).hits] \
        == [("p", Reach.PART, 10.0), ("r", Reach.RADIUS, 10.0)]


def test_pages_and_total():
    index = index_of(*(row(f"s{i:02d}", sectors=("food",), references=i % 6) for i in range(30)))
    everything = ids(index.search(SearchQuery(limit=100)))
    pages = [ids(index.search(SearchQuery(limit=7, offset=o))) for o in range(0, 30, 7)]
    assert sum(pages, []) == everything and len(everything) == 30
    assert index.search(SearchQuery(limit=7, offset=28)).total == 30
    assert ids(index.search(SearchQuery(offset=40))) == []


def test_changes_standing_and_removal_show_at_once():
    index = index_of(*ROWS)
    assert index.search(SearchQuery(member_only=True)).total == 0
    index.set_standing("org-s3", True)
    assert ids(index.search(SearchQuery(member_only=True))) == ["s3"]
    index.put(dataclasses.replace(ROWS[2], sectors=("food",)))
    assert "s3" in ids(index.search(SearchQuery(sectors=(Sector.FOOD,), limit=50)))
    index.remove("s3")
    assert "s3" not in ids(index.search(SearchQuery(limit=50))) and len(index) == 5
    index.put(row("s7", org="org-s3"))  # a slot reused; the organisation's standing kept
    assert ids(index.search(SearchQuery(member_only=True))) == ["s7"]


@pytest.mark.parametrize("query, field", [
    (SearchQuery(commune="99999"), "commune"),
    (SearchQuery(departement="20"), "departement"),
    (SearchQuery(commune=MONTREUIL, departement="94"), "departement"),
    (SearchQuery(departement="93", radius_km=10), "radius_km"),
    (SearchQuery(commune=MONTREUIL, radius_km=301), "radius_km"),
])
def test_a_bad_place_names_its_field(query, field):
    with pytest.raises(InvalidInput) as err:
        index_of(*ROWS).search(query)
    assert err.value.field == field


# -- the index agrees with the plain-Python reference ----------------------------------------------------

IDF = sorted(c.code for c in geo.communes() if c.region == "11" and c.departement in ("75", "77", "93", "94"))[::7]
codes = lambda enum: st.lists(st.sampled_from([e.value for e in enum]), max_size=3, unique=True)  # noqa: E731
few = lambda enum: st.one_of(st.just([]), st.just([]), codes(enum))  # noqa: E731  (filters: often none)
SECTORS = [Sector.FOOD.value, Sector.LOGISTICS.value, Sector.CLEANING.value]  # a few: filters that find some

rows = st.builds(
    lambda i, base, sectors, kinds, labels, deps, communes, radius, refs, past: row(
        f"s{i:03d}", base, org=f"org-{i % 7}-{i}", sectors=sectors or ("food",), kinds=kinds, labels=labels,
        departements=deps, communes=communes, radius=radius, references=refs, past_contracts=past),
    st.integers(0, 999), st.sampled_from(IDF), st.lists(st.sampled_from(SECTORS), max_size=2, unique=True),
    codes(SupplierKind), codes(SupplierLabel),
    st.lists(st.sampled_from(["75", "77", "91", "93", "94", "95"]), max_size=2, unique=True),
    st.lists(st.sampled_from(IDF), max_size=2, unique=True), st.one_of(st.none(), st.integers(0, 60)),
    st.integers(0, 8), st.integers(0, 8))

queries = st.builds(
    lambda sectors, kinds, labels, place, radius, member_only, limit, offset: SearchQuery(
        sectors=tuple(Sector(s) for s in sectors), kinds=tuple(SupplierKind(k) for k in kinds),
        labels=tuple(SupplierLabel(lb) for lb in labels),
        commune=place if place and len(place) == 5 else None, departement=place if place and len(place) < 5 else None,
        radius_km=radius if place and len(place) == 5 else None, member_only=member_only, limit=limit, offset=offset),
    st.one_of(st.just([]), st.lists(st.sampled_from(SECTORS), max_size=2, unique=True)), few(SupplierKind),
    few(SupplierLabel), st.one_of(st.none(), st.sampled_from(IDF), st.sampled_from(["75", "77", "93", "94", "91"])),
    st.one_of(st.none(), st.integers(0, 40)), st.booleans(), st.integers(1, 8), st.integers(0, 6))


def reference(rows_: list[SupplierRow], query: SearchQuery, good: set[str]):
    found = [r for r in rows_ if sourcing.matches(r, query, member=r.organisation_id in good)]
    scored = sorted(((round(sourcing.score(r, query, member=r.organisation_id in good)[0], 6), r.id) for r in found),
                    key=lambda t: (-t[0], t[1]))
    return [sid for _, sid in scored][query.offset:query.offset + query.limit], len(found)


@settings(max_examples=100, deadline=None)
@given(st.lists(rows, min_size=10, max_size=40, unique_by=lambda r: r.id), queries, st.data())
def test_the_index_finds_orders_and_counts_as_the_reference(rows_, query, data):
    good = {r.organisation_id for r in rows_ if data.draw(st.booleans())}
    index = index_of(*rows_, members=good)
    result = index.search(query)
    expected_ids, expected_total = reference(rows_, query, good)
    assert (ids(result), result.total) == (expected_ids, expected_total)
    for hit in result.hits:
        total, details, reach, _ = sourcing.score(hit.row, query, member=hit.row.organisation_id in good)
        assert hit.score == round(total, 2) and hit.reach == reach
        assert {k: round(v, 2) for k, v in details.items()} == hit.details
    # each facet = the reference's count without that facet's filter
    for facet, cleared, values in (("sectors", {"sectors": ()}, [s.value for s in Sector]),
                                   ("kinds", {"kinds": ()}, [k.value for k in SupplierKind]),
                                   ("labels", {"labels": ()}, [lb.value for lb in SupplierLabel])):
        q = dataclasses.replace(query, **cleared)
        pool = [r for r in rows_ if sourcing.matches(r, q, member=r.organisation_id in good)]
        for value in values:
            assert result.facets[facet][value] == sum(value in getattr(r, facet) for r in pool), (facet, value)
    q = dataclasses.replace(query, member_only=False)
    pool = [r for r in rows_ if sourcing.matches(r, q, member=r.organisation_id in good)]
    assert result.facets["member"]["in_good_standing"] == sum(r.organisation_id in good for r in pool)
    q = dataclasses.replace(query, commune=None, departement=None, radius_km=None)
    pool = [r for r in rows_ if sourcing.matches(r, q, member=r.organisation_id in good)]
    for code, count in result.facets["departements"].items():
        served = [r for r in pool if sourcing.matches(r, SearchQuery(departement=code), member=True)]
        assert count == len(served), code


def test_documents_without_coordinates_take_their_communes_and_foreign_ones_are_refused():
    doc = {"_id": "sup-x", "organisation_id": "org-x", "sectors": ["food"], "status": "active",
           "base": {"commune": MONTREUIL, "departement": "93", "lat": None, "lon": None}, "serves": {}}
    row = SupplierRow.from_document(doc)
    assert (row.lat, row.lon) == (geo.commune(MONTREUIL).lat, geo.commune(MONTREUIL).lon)
    for broken in ({**doc, "base": {"commune": "99999", "departement": "93"}}, {"_id": "sup-y", "sectors": []}):
        with pytest.raises(ValueError, match="cannot be searched"):
            SupplierRow.from_document(broken)


def test_a_document_is_read_field_by_field():
    doc = {"_id": "sup-x", "organisation_id": "org-x", "status": "active", "version": 7,
           "identity": {"name": "Recyclerie du Val", "legal_form": "scic"},
           "sectors": ["food", "logistics"], "kinds": ["ei"], "labels": ["esus", "rge"], "services": ["Collecte"],
           "base": {"commune": MONTREUIL, "commune_name": "Montreuil", "departement": "93", "lat": 48.5, "lon": 2.5,
                    "approximate": True},
           "serves": {"departements": ["94"], "communes": [PARIS_11], "radius_km": 30},
           "references": [{}, {}], "past_contracts": [{"year": 2020}, {"year": 2021}, {"year": 2022}],
           "capacity": {"max_contract_cents": 1_000, "headcount_available": 4}}
    assert SupplierRow.from_document(doc) == SupplierRow(
        id="sup-x", organisation_id="org-x", name="Recyclerie du Val", legal_form="scic", sectors=("food", "logistics"),
        kinds=("ei",), labels=("esus", "rge"), services=("Collecte",), base_commune=MONTREUIL,
        base_commune_name="Montreuil", base_departement="93", lat=48.5, lon=2.5, approximate=True,
        serves_departements=("94",), serves_communes=(PARIS_11,), radius_km=30, references=2, past_contracts=3,
        max_contract_cents=1_000, headcount_available=4, version=7)
    # what a document may lack
    bare = SupplierRow.from_document({"_id": "sup-y", "organisation_id": "org-y",
                                      "base": {"commune": MONTREUIL, "departement": "93", "lat": 48.5, "lon": 2.5}})
    assert bare == SupplierRow(id="sup-y", organisation_id="org-y", name="", legal_form="", sectors=(), kinds=(),
                               labels=(), services=(), base_commune=MONTREUIL, base_commune_name="",
                               base_departement="93", lat=48.5, lon=2.5, approximate=False)
    # either coordinate missing: the base commune's both
    montreuil = geo.commune(MONTREUIL)
    for base in ({"lat": 48.5}, {"lon": 2.5}):
        read = SupplierRow.from_document({**doc, "base": {"commune": MONTREUIL, "departement": "93", **base}})
        assert (read.lat, read.lon) == (montreuil.lat, montreuil.lon)


def test_a_document_that_cannot_be_searched_says_which_and_why():
    with pytest.raises(ValueError, match=r"^supplier document 'sup-z' cannot be searched: "
                                         r"ValueError\(\"unknown base commune '99999' and no coordinates\"\)$"):
        SupplierRow.from_document({"_id": "sup-z", "organisation_id": "org-z",
                                   "base": {"commune": "99999", "departement": "93"}})
    with pytest.raises(ValueError, match=r"^supplier document 'sup-z' cannot be searched: KeyError\('base'\)$"):
        SupplierRow.from_document({"_id": "sup-z"})


def test_the_score_takes_sectors_asked_as_codes_or_enums():
    r = row("s1", sectors=("food", "logistics"))
    assert sourcing.score(r, SearchQuery(sectors=("food", "cleaning")), member=False)[1]["sector"] == 15.0
    assert sourcing.score(r, SearchQuery(sectors=(Sector.FOOD,)), member=False)[1]["sector"] == 30.0


def test_a_replaced_or_removed_row_leaves_nothing_behind():
    index = index_of(row("s1", MONTREUIL), row("s2", MONTREUIL))
    index.remove("s0")  # unknown: nothing to do
    assert len(index) == 2
    # s1 moves to Melun: Montreuil no longer names it
    index.put(row("s1", MELUN))
    assert ids(index.search(SearchQuery(commune=MONTREUIL))) == ["s2"]
    # s2 removed; its slot reused by a supplier of Melun, which Montreuil does not name either
    index.remove("s2")
    index.put(row("s3", MELUN, org="org-s3"))
    assert ids(index.search(SearchQuery(commune=MONTREUIL))) == []
    # the removed supplier's organisation becoming a member marks no one else
    index.set_standing("org-s2", True)
    assert index.search(SearchQuery(member_only=True)).total == 0


def test_a_commune_named_by_two_keeps_naming_the_one_left():
    index = index_of(row("s1", MONTREUIL), row("s2", MONTREUIL))
    index.remove("s1")
    (hit,) = index.search(SearchQuery(commune=MONTREUIL)).hits
    assert (hit.row.id, hit.reach, hit.details["territory"]) == ("s2", Reach.COMMUNE, 20.0)


def test_the_reference_score_by_hand():
    # Lagny (77), 20.004 km from Montreuil: found only by the search's radius there
    lagny = row("s1", LAGNY, sectors=("food", "logistics"), labels=("esus", "rge", "lucie", "b_corp"),
                references=7, past_contracts=6)
    total, details, reach, distance = sourcing.score(
        lagny, SearchQuery(sectors=(Sector.FOOD, Sector.CLEANING), commune=MONTREUIL, radius_km=25), member=True)
    assert (reach, round(distance, 3)) == (Reach.NEARBY, 20.004)
    assert {k: round(v, 3) for k, v in details.items()} == {
        "sector": 15.0, "distance": round(25 * (1 - distance / 100), 3), "territory": 0.0, "labels": 9.0,
        "member": 10.0, "track_record": 15.0}
    assert total == sum(details.values())
    # its own département: 15 points, no distance without a commune place
    total, details, reach, distance = sourcing.score(lagny, SearchQuery(departement="77"), member=False)
    assert (total, reach, distance) == (39.0, Reach.DEPARTEMENT, None)
    assert details == {"sector": 0.0, "distance": 0.0, "territory": 15.0, "labels": 9.0, "member": 0.0,
                       "track_record": 15.0}
    # a place it does not reach: no territory points (and its distance's)
    total, details, reach, distance = sourcing.score(lagny, SearchQuery(commune=MONTREUIL), member=False)
    assert (reach, details["territory"], round(details["distance"], 3)) == \
        (None, 0.0, round(25 * (1 - 20.004 / 100), 3))
    # no place: neither territory nor distance
    assert sourcing.score(row("s2", past_contracts=1, references=1), SearchQuery(), member=False) == \
        (3.0, {"sector": 0.0, "distance": 0.0, "territory": 0.0, "labels": 0.0, "member": 0.0, "track_record": 3.0},
         None, None)
    assert sourcing.static_points(row("s3", labels=("rge",), past_contracts=4, references=6)) == (3.0, 13.0)


def test_the_reference_filters_by_hand():
    r = row("s1", CRETEIL, sectors=("food",), kinds=("ei",), labels=("rge",), departements=("93",))
    assert sourcing.matches(r, SearchQuery(), member=False)
    assert sourcing.matches(r, SearchQuery(sectors=("food", "cleaning"), kinds=("ei",), labels=("rge",),
                                           departement="93", member_only=True), member=True)
    for query in (SearchQuery(sectors=("cleaning",)), SearchQuery(kinds=("esat",)), SearchQuery(labels=("esus",)),
                  SearchQuery(departement="77"), SearchQuery(commune=LAGNY)):
        assert not sourcing.matches(r, query, member=True), query
    assert not sourcing.matches(r, SearchQuery(member_only=True), member=False)
    assert sourcing.matches(r, SearchQuery(member_only=True), member=True)
    # the search's radius reaches Créteil from Lagny (20.13 km) at 21 km, not 20
    assert sourcing.matches(r, SearchQuery(commune=LAGNY, radius_km=21), member=False)
    assert not sourcing.matches(r, SearchQuery(commune=LAGNY, radius_km=20), member=False)


def test_the_index_answers_who_it_holds_and_who_is_a_member():
    index = index_of(*ROWS[:3], members=("org-s2",))
    assert "s2" in index and "s9" not in index
    assert index.row("s3") == ROWS[2] and index.row("s9") is None
    assert index.is_member("org-s2") and not index.is_member("org-s1")
    index.set_standing("org-s2", False)
    assert not index.is_member("org-s2")
    # slot 9 is bit 6 of byte 1 (packbits order: slot 0 is the high bit of byte 0)
    bits = np.zeros(2, dtype=np.uint8)
    SupplierIndex._set(bits, 9)
    assert bits.tolist() == [0, 0x40] and SupplierIndex._has(bits, 9)
    assert not SupplierIndex._has(bits, 8) and not SupplierIndex._has(bits, 1) and not SupplierIndex._has(bits, 10)
    SupplierIndex._set(bits, 7)  # the low bit of byte 0: slot 7's, not slot 0's
    assert bits.tolist() == [0x01, 0x40] and SupplierIndex._has(bits, 7) and not SupplierIndex._has(bits, 0)
    SupplierIndex._set(bits, 9, False)
    assert bits.tolist() == [0x01, 0] and not SupplierIndex._has(bits, 9)


def test_a_hit_says_whether_a_member_its_distance_to_a_tenth_and_its_points_to_a_hundredth():
    index = index_of(*ROWS, members=MEMBERS)
    hits = index.search(SearchQuery(commune=MONTREUIL, radius_km=60, limit=50)).hits
    # Créteil 8.118 km from Montreuil, Melun 38.628, Paris 11e 4.704
    assert [(h.row.id, h.member, h.distance_km) for h in hits] == [
        ("s1", True, 0.0), ("s6", True, 4.7), ("s2", False, 8.1), ("s4", True, 20.0), ("s3", False, 4.7),
        ("s5", False, 38.6)]
    assert all(type(h.member) is bool for h in hits)
    # one sector of 7 asked: 30 / 7 = 4.2857… points, shown as 4.29; one of 4: 7.5
    seven = tuple(Sector)[:7]
    assert Sector.FOOD in seven
    (s2,) = [h for h in index.search(SearchQuery(sectors=seven, commune=CRETEIL, limit=50)).hits if h.row.id == "s2"]
    assert s2.details["sector"] == 4.29 and s2.details["distance"] == 25.0
    four = (Sector.FOOD, Sector.TEXTILE, Sector.DIGITAL, Sector.GREEN_SPACES)
    (s2,) = [h for h in index.search(SearchQuery(sectors=four, limit=50)).hits if h.row.id == "s2"]
    assert s2.details["sector"] == 7.5
