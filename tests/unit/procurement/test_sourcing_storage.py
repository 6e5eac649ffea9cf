"""The sourcing index's storage: arrays that grow past their first capacity keeping every row, the
static points, and a row's every field put where a search reads it.

The other index tests hold at most 40 suppliers, so the arrays (64 slots at least) never grew: here
hundreds of suppliers are put one by one, and every filter, facet and score is read back against the
plain-Python reference."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from contracts.procurement.vocabulary import Sector, SupplierKind, SupplierLabel
from reference import geo
from services.procurement.domain import sourcing
from services.procurement.domain.sourcing import SearchQuery, SupplierIndex
from services.procurement.domain.territory import Reach
from tests.unit.procurement.test_sourcing import CRETEIL, LAGNY, MELUN, MONTREUIL, PARIS_11, ids, reference, row

BASES = (MONTREUIL, CRETEIL, PARIS_11, LAGNY, MELUN)
SECTORS = [s.value for s in Sector][:5]
KINDS = [k.value for k in SupplierKind]
LABELS = [lb.value for lb in SupplierLabel]


def many(count: int) -> list:
    """``count`` suppliers whose fields cycle with different periods: every slot differs from its neighbours."""
    return [row(f"s{i:04d}", BASES[i % 5], org=f"org-{i}", sectors=(SECTORS[i % 5], SECTORS[i % 3]),
                kinds=(KINDS[i % len(KINDS)],) if i % 4 else (), labels=tuple(LABELS[:i % 4]),
                departements=("94",) if i % 6 == 1 else (), communes=(MONTREUIL,) if i % 7 == 2 else (),
                radius=(None, 10, 30)[i % 3], references=i % 7, past_contracts=i % 9)
            for i in range(count)]


QUERIES = [SearchQuery(limit=500), SearchQuery(limit=7, offset=3), SearchQuery(sectors=(Sector(SECTORS[4]),), limit=50),
           SearchQuery(kinds=(SupplierKind(KINDS[1]),), labels=(SupplierLabel(LABELS[2]),), limit=500),
           SearchQuery(commune=MONTREUIL, limit=500), SearchQuery(departement="77", member_only=True, limit=500),
           SearchQuery(commune=LAGNY, radius_km=12, sectors=(Sector(SECTORS[1]),), limit=500)]


def agrees(index: SupplierIndex, rows_: list, good: set[str]) -> None:
    for query in QUERIES:
        result = index.search(query)
        assert (ids(result), result.total) == reference(rows_, query, good), query
        for hit in result.hits:
            total, details, reach, _ = sourcing.score(hit.row, query, member=hit.row.organisation_id in good)
            assert (hit.score, hit.reach) == (round(total, 2), reach)
            assert hit.details == {k: round(v, 2) for k, v in details.items()}
        pool = [r for r in rows_ if sourcing.matches(r, dataclasses.replace(query, sectors=()),
                                                     member=r.organisation_id in good)]
        assert result.facets["sectors"] == {s.value: sum(s.value in r.sectors for r in pool) for s in Sector}


@pytest.mark.parametrize("capacity", [1, 64, 65, 100, 1024])
def test_the_arrays_grow_and_keep_every_row(capacity):
    rows_ = many(300)
    good = {r.organisation_id for r in rows_[::4]}
    index = SupplierIndex(capacity=capacity)
    for org in sorted(good):
        index.set_standing(org, True)
    for r in rows_:
        index.put(r)
    assert len(index) == 300 and all(r.id in index for r in rows_)
    assert index.active.shape == ((index._capacity // 8),) and index._capacity >= 300 and index._capacity % 8 == 0
    agrees(index, rows_, good)
    # slots freed and reused after the growth: still the same answers
    for r in rows_[100:160]:
        index.remove(r.id)
    kept = rows_[:100] + rows_[160:]
    agrees(index, kept, good)
    back = [dataclasses.replace(r, id=f"t{r.id}") for r in rows_[100:130]]
    for r in back:
        index.put(r)
    agrees(index, kept + back, good)


def test_a_new_index_is_empty_with_whole_bytes_of_slots():
    for capacity, slots in ((1, 64), (64, 64), (65, 72), (100, 104), (1024, 1024)):
        index = SupplierIndex(capacity=capacity)
        assert (index._capacity, len(index), index._rows, index._free) == (slots, 0, [], [])
        for name in ("active", "member"):
            assert getattr(index, name).tolist() == [0] * (slots // 8), name
        for name, codes in SupplierIndex._SETS.items():
            assert getattr(index, name).shape == (len(codes), slots // 8) and not getattr(index, name).any(), name
        for name in ("lat_r", "lon_r", "cos_lat", "static"):
            assert getattr(index, name).tolist() == [0.0] * slots, name
        assert index.radius.tolist() == [-1.0] * slots and index.id_rank.tolist() == [0] * slots
        assert index.search(SearchQuery(commune=MONTREUIL)).total == 0
    assert SupplierIndex()._capacity == 1024


def test_growing_keeps_the_values_and_fills_the_new_slots_as_new():
    index = SupplierIndex(capacity=8)
    rows_ = many(64)
    for r in rows_:
        index.put(r)
    before = {name: getattr(index, name).copy() for name in ("active", "member", *SupplierIndex._SETS, "lat_r",
                                                             "lon_r", "cos_lat", "static", "radius")}
    index._allocate(200)
    assert index._capacity == 200
    for name, old in before.items():
        new = getattr(index, name)
        assert np.array_equal(new[..., :old.shape[-1]], old), name
        tail = new[..., old.shape[-1]:]
        assert (tail == (-1.0 if name == "radius" else 0)).all(), name


def test_static_points_are_capped_each():
    assert sourcing.static_points(row("a")) == (0.0, 0.0)
    assert sourcing.static_points(row("b", labels=("esus", "rge"), past_contracts=1, references=1)) == (6.0, 3.0)
    assert sourcing.static_points(row("c", labels=("esus", "rge", "lucie"), past_contracts=5, references=5)) \
        == (9.0, 15.0)
    assert sourcing.static_points(row("d", labels=("esus", "rge", "lucie", "b_corp"), past_contracts=6,
                                      references=6)) == (9.0, 15.0)
    assert sourcing.static_points(row("e", past_contracts=4)) == (0.0, 8.0)
    assert sourcing.static_points(row("f", references=4)) == (0.0, 4.0)
    labels, track = sourcing.static_points(row("g", labels=("rge",)))
    assert type(labels) is float and type(track) is float


def test_a_row_is_put_where_each_search_reads_it():
    # Melun (77), radius 30 km: serves 77, the départements within 30 km of Melun, the declared 93 and
    # Créteil's 94; names Melun and Créteil
    r = row("s1", MELUN, sectors=("food", "cleaning"), kinds=("ei", "esat"), labels=("esus",), departements=("93",),
            communes=(CRETEIL,), radius=30, references=2, past_contracts=1)
    index = SupplierIndex(capacity=16)
    index.put(row("s0", PARIS_11, sectors=()))  # slot 0: s1 is in slot 1, bit 6 of byte 0
    index.put(r)
    slot = index._slot["s1"]
    assert slot == 1
    bit = lambda bits: SupplierIndex._has(bits, slot)  # noqa: E731
    assert bit(index.active) and not bit(index.member)
    col = sourcing._SECTOR
    assert [s for s in sourcing.SECTORS if bit(index.sector[col[s]])] == sorted(["food", "cleaning"],
                                                                              key=sourcing.SECTORS.index)
    assert [k for k in sourcing.KINDS if bit(index.kind[sourcing._KIND[k]])] == ["ei", "esat"]
    assert [lb for lb in sourcing.LABELS if bit(index.label[sourcing._LABEL[lb]])] == ["esus"]
    dep = sourcing._DEPARTEMENT
    assert [d for d in sourcing.DEPARTEMENTS if bit(index.declared[dep[d]])] == ["77", "93"]
    within = geo.departements_within(r.lat, r.lon, 30.0)
    assert [d for d in sourcing.DEPARTEMENTS if bit(index.serving[dep[d]])] == sorted({"77", "93", "94", *within})
    assert index._communes == {PARIS_11: {0}, MELUN: {1}, CRETEIL: {1}}
    melun = geo.commune(MELUN)
    assert (index.lat_r[slot], index.lon_r[slot]) == (np.radians(melun.lat), np.radians(melun.lon))
    assert index.cos_lat[slot] == np.cos(np.radians(melun.lat))
    assert (index.radius[slot], index.static[slot]) == (30.0, 3.0 + 4.0)
    assert index._by_organisation == {"org-s0": 0, "org-s1": 1}
    # replaced: no radius, another organisation already a member
    index.set_standing("org-new", True)
    index.put(dataclasses.replace(r, radius_km=None, organisation_id="org-new", kinds=(), serves_communes=()))
    assert index._slot["s1"] == 1 and bit(index.member) and index.radius[slot] == -1.0
    assert not any(bit(index.kind[c]) for c in range(len(sourcing.KINDS)))
    assert index._communes == {PARIS_11: {0}, MELUN: {1}} and index._by_organisation == {"org-s0": 0, "org-new": 1}
    assert [d for d in sourcing.DEPARTEMENTS if bit(index.serving[dep[d]])] == ["77", "93"]


def test_codes_the_index_does_not_know_are_ignored():
    r = row("s1", MONTREUIL, sectors=("food", "not-a-sector"), kinds=("xx",), labels=("yy",),
            departements=("99", "94"), communes=("99999",))
    index = SupplierIndex()
    index.put(r)
    assert ids(index.search(SearchQuery(sectors=(Sector.FOOD,)))) == ["s1"]
    assert ids(index.search(SearchQuery(departement="94"))) == ["s1"]
    assert index.search(SearchQuery(kinds=(SupplierKind(KINDS[0]),))).total == 0


def test_a_new_row_is_ranked_and_a_slot_reused_last_in():
    index = SupplierIndex()
    for sid in ("c", "a", "b"):
        index.put(row(sid))
    assert ids(index.search(SearchQuery())) == ["a", "b", "c"]
    index.put(row("0"))  # a new id after a search: ranked again
    assert ids(index.search(SearchQuery())) == ["0", "a", "b", "c"]
    index.remove("a")
    index.remove("c")
    index.put(row("d"))  # the slot freed last (c's, slot 0) taken first
    assert index._slot["d"] == 0 and index._free == [1]
    assert ids(index.search(SearchQuery())) == ["0", "b", "d"]
    # the distances kept are dropped when a row changes (here in place: as many rows as before)
    assert ids(index.search(SearchQuery(commune=LAGNY, radius_km=5))) == []
    index.put(row("b", LAGNY))
    assert [(h.row.id, h.reach, h.distance_km) for h in index.search(SearchQuery(commune=LAGNY, radius_km=5)).hits] \
        == [("b", Reach.COMMUNE, 0.0)]


def test_clearing_a_slot_clears_its_bit_alone():
    for slot in range(16):
        bits = np.full((2, 2), 0xFF, dtype=np.uint8)  # a set of bitsets, every slot on
        SupplierIndex._set(bits, slot, False)
        expected = [[0xFF, 0xFF] for _ in range(2)]
        for line in expected:
            line[slot >> 3] = 0xFF ^ (0x80 >> (slot & 7))
        assert bits.tolist() == expected, slot
        SupplierIndex._set(bits, slot)
        assert bits.tolist() == [[0xFF, 0xFF]] * 2, slot
    # slots 0 and 7 share byte 0: clearing one keeps the other
    bits = np.zeros(1, dtype=np.uint8)
    SupplierIndex._set(bits, 0)
    SupplierIndex._set(bits, 7)
    SupplierIndex._set(bits, 0, False)
    assert bits.tolist() == [0x01]


def test_a_long_page_of_many_ties_keeps_every_hit_it_needs():
    # more than twice the page's end matches: the index keeps only the best scores (np.partition) before
    # sorting; 260 suppliers of static points only (labels 0–9, track record 0–15, many ties) and a page of
    # 112 are a case where the threshold read at another position than the page's end loses hits
    rng = np.random.default_rng(0)
    labels, past, refs = rng.integers(0, 4, 260), rng.integers(0, 6, 260), rng.integers(0, 6, 260)
    rows_ = [row(f"s{i:03d}", labels=LABELS[:labels[i]], past_contracts=int(past[i]), references=int(refs[i]))
             for i in range(260)]
    index = SupplierIndex()
    for r in rows_:
        index.put(r)
    for limit, offset in ((112, 0), (100, 12), (1, 0), (5, 3), (129, 0)):
        query = SearchQuery(limit=limit, offset=offset)
        result = index.search(query)
        assert (ids(result), result.total) == reference(rows_, query, set()), (limit, offset)


def test_scores_within_a_millionth_tie_and_go_by_id():
    # the relevance is compared at 6 decimals (as the reference does): two suppliers 0.3 mm apart from the
    # place, 8e-8 points apart, tie — and the tie goes by id, not by the farther one's fraction of a point
    montreuil = row("x", MONTREUIL)
    lat = montreuil.lat + 0.1
    far, near = dataclasses.replace(montreuil, id="a", lat=lat), dataclasses.replace(montreuil, id="b", lat=lat - 3e-9)
    query = SearchQuery(commune=MONTREUIL, radius_km=50)
    exact = [sourcing.score(r, query, member=False)[0] for r in (far, near)]
    assert exact[0] < exact[1] and round(exact[0], 6) == round(exact[1], 6)
    index = SupplierIndex()
    for r in (near, far):
        index.put(r)
    assert ids(index.search(query)) == ["a", "b"] == reference([far, near], query, set())[0]


def test_a_short_page_of_distinct_scores_is_whole():
    # 12 suppliers at 12 distances from Montreuil (distinct scores), pages ending well before the total:
    # each page has every hit it asks for, in the reference's order
    communes = sorted(c.code for c in geo.communes() if c.departement in ("77", "91", "95") and not c.approximate)[:12]
    assert len({(geo.commune(code).lat, geo.commune(code).lon) for code in communes}) == 12
    rows_ = [row(f"s{i:02d}", code) for i, code in enumerate(communes)]
    index = SupplierIndex()
    for r in rows_:
        index.put(r)
    for limit, offset in ((2, 0), (3, 0), (3, 1), (5, 0), (4, 1)):
        query = SearchQuery(commune=MONTREUIL, radius_km=300, limit=limit, offset=offset)
        result = index.search(query)
        assert len(result.hits) == limit and result.total == 12
        assert ids(result) == reference(rows_, query, set())[0], (limit, offset)
    query = SearchQuery(commune=MONTREUIL, radius_km=300)
    assert len({round(sourcing.score(r, query, member=False)[0], 6) for r in rows_}) == 12
