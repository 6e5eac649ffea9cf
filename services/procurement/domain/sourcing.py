"""Sourcing: searching the supplier profiles by sector × territory × radius × kind × label ×
member-only, with facet counts, a documented relevance order and pages — in memory.

Why in memory. On SecantusDB (the embedded database) with 20,000 suppliers, counting the
suppliers of one sector took 150 ms, fetching them (projected) 300 ms, sector + département
1.1 s, and one ``$facet`` aggregation 180 ms, each alone on the machine: a search with five
facets could not answer in 150 ms under 16 clients. So the service keeps the search fields of
every active supplier in a :class:`SupplierIndex` (numpy arrays: one row per supplier, one
boolean column per sector, kind, label and département), brought up to date before each search
(see ``services.procurement.adapters.supplier_search``); a search is a handful of vector
operations over 20,000 rows (a few milliseconds).

**Filters.** Within one facet the values asked are alternatives (``sector=food&sector=logistics``:
either); facets combine with AND. Only active profiles are found.

- ``sectors``, ``kinds``, ``labels``: the supplier has one of the values asked;
- the place: a ``commune`` (INSEE code) or a ``departement``; a supplier matches when it serves
  the place (:mod:`services.procurement.domain.territory`: base département, départements and
  communes declared, its own radius) or — with ``radius_km``, around a commune only — when its
  base lies within ``radius_km`` of that commune (``nearby``);
- ``member_only``: its organisation is a member in good standing now (membership's events).

**Facet counts** follow the usual faceted-search convention (disjunctive facets): each facet
counts the suppliers matching every filter *except its own*, so its other values show how many
a change of that filter would find. ``sectors``, ``kinds``, ``labels``: per code, suppliers
having it (a supplier with two sectors counts in both); ``departements``: per département,
suppliers *serving* it (what the territory filter with that département finds; its own filter
is the place, radius included); ``member``: in good standing or not.

**Relevance** (higher first; ties by supplier id), the sum of:

- sector (0–30): 30 × the share of the sectors asked that the supplier works in;
- distance (0–25, a commune place): 25 × (1 − d / 100 km), d from its base commune, 0 beyond;
- territory (0–20, a place): 20 when it names the place's commune (declared, or its base
  commune), 15 the place's département (declared, or its base département), 10 when its own
  radius covers the place or it declares communes of a département place, 0 when only the
  search radius finds it;
- labels (0–9): 3 per label held, at most 9;
- member (0–10): 10 when its organisation is a member in good standing now;
- track record (0–15): 2 per past public contract (at most 10) + 1 per reference (at most 5).

Pure (numpy and :mod:`reference.geo`); :func:`score` is the same score for one supplier, in
plain Python (the reference the index is tested against).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from contracts.procurement.vocabulary import Sector, SupplierKind, SupplierLabel
from reference import geo
from runtime.errors import InvalidInput
from services.procurement.domain import territory
from services.procurement.domain.territory import DISTANCE_HORIZON_KM, DISTANCE_POINTS, REACH_POINTS, Reach

SECTOR_POINTS = 30
LABEL_POINTS, LABEL_MAX = 3, 9
MEMBER_POINTS = 10
PAST_CONTRACT_POINTS, PAST_CONTRACT_MAX = 2, 10
REFERENCE_POINTS, REFERENCE_MAX = 1, 5
MAX_SEARCH_RADIUS_KM = 300

SECTORS: tuple[str, ...] = tuple(s.value for s in Sector)
KINDS: tuple[str, ...] = tuple(k.value for k in SupplierKind)
LABELS: tuple[str, ...] = tuple(lb.value for lb in SupplierLabel)
DEPARTEMENTS: tuple[str, ...] = tuple(sorted(d.code for d in geo.departements()))
_SECTOR = {v: i for i, v in enumerate(SECTORS)}
_KIND = {v: i for i, v in enumerate(KINDS)}
_LABEL = {v: i for i, v in enumerate(LABELS)}
_DEPARTEMENT = {v: i for i, v in enumerate(DEPARTEMENTS)}

#: The fields of a ``suppliers`` document a search needs (what the index is loaded from).
PROJECTION = {"organisation_id": 1, "identity.name": 1, "identity.legal_form": 1, "sectors": 1, "kinds": 1,
              "labels": 1, "services": 1, "base": 1, "serves": 1, "status": 1, "references": 1,
              "past_contracts.year": 1, "capacity": 1, "version": 1}


# -- rows ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SupplierRow:
    """What a search knows of one supplier."""

    id: str
    organisation_id: str
    name: str
    legal_form: str
    sectors: tuple[str, ...]
    kinds: tuple[str, ...]
    labels: tuple[str, ...]
    services: tuple[str, ...]
    base_commune: str
    base_commune_name: str
    base_departement: str
    lat: float
    lon: float
    approximate: bool
    serves_departements: tuple[str, ...] = ()
    serves_communes: tuple[str, ...] = ()
    radius_km: int | None = None
    references: int = 0
    past_contracts: int = 0
    max_contract_cents: int | None = None
    headcount_available: int | None = None
    version: int = 0

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> SupplierRow:
        base, serves = doc["base"], doc.get("serves") or {}
        identity, capacity = doc.get("identity") or {}, doc.get("capacity") or {}
        return cls(id=doc["_id"], organisation_id=doc["organisation_id"], name=identity.get("name", ""),
                   legal_form=identity.get("legal_form", ""), sectors=tuple(doc.get("sectors") or ()),
                   kinds=tuple(doc.get("kinds") or ()), labels=tuple(doc.get("labels") or ()),
                   services=tuple(doc.get("services") or ()), base_commune=base["commune"],
                   base_commune_name=base.get("commune_name", ""), base_departement=base["departement"],
                   lat=float(base["lat"]), lon=float(base["lon"]), approximate=bool(base.get("approximate")),
                   serves_departements=tuple(serves.get("departements") or ()),
                   serves_communes=tuple(serves.get("communes") or ()), radius_km=serves.get("radius_km"),
                   references=len(doc.get("references") or ()), past_contracts=len(doc.get("past_contracts") or ()),
                   max_contract_cents=capacity.get("max_contract_cents"),
                   headcount_available=capacity.get("headcount_available"), version=int(doc.get("version", 0)))

    @property
    def base(self) -> dict[str, Any]:
        return {"commune": self.base_commune, "departement": self.base_departement, "lat": self.lat, "lon": self.lon}

    @property
    def serves(self) -> dict[str, Any]:
        return {"departements": list(self.serves_departements), "communes": list(self.serves_communes),
                "radius_km": self.radius_km}


def static_points(row: SupplierRow) -> tuple[float, float]:
    """(labels, track record) points: they depend on the supplier alone."""
    labels = min(LABEL_MAX, LABEL_POINTS * len(row.labels))
    track = min(PAST_CONTRACT_MAX, PAST_CONTRACT_POINTS * row.past_contracts) + \
        min(REFERENCE_MAX, REFERENCE_POINTS * row.references)
    return float(labels), float(track)


# -- queries ------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Place:
    commune: geo.Commune | None
    departement: str


@dataclass(frozen=True)
class SearchQuery:
    """A sourcing search (see the module docstring)."""

    sectors: tuple[Sector, ...] = ()
    kinds: tuple[SupplierKind, ...] = ()
    labels: tuple[SupplierLabel, ...] = ()
    commune: str | None = None
    departement: str | None = None
    radius_km: int | None = None
    member_only: bool = False
    limit: int = 20
    offset: int = 0

    def place(self) -> Place | None:
        """The place searched, or None.

        :raises InvalidInput: an unknown commune or département; a département other than the
            commune's; a radius without a commune, or outside 0–300 km.
        """
        commune = None
        if self.commune is not None:
            commune = geo.commune(self.commune.strip()) if isinstance(self.commune, str) else None
            if commune is None:
                raise InvalidInput("commune", f"{self.commune!r} is not the INSEE code of a French commune")
        departement = None
        if self.departement is not None:
            code = self.departement.strip().upper() if isinstance(self.departement, str) else ""
            code = "0" + code if code.isdigit() and len(code) == 1 else code
            if code not in _DEPARTEMENT:
                raise InvalidInput("departement", f"{self.departement!r} is not a French département code")
            if commune is not None and commune.departement != code:
                raise InvalidInput("departement", f"commune {commune.code} ({commune.name}) is in département "
                                                  f"{commune.departement}, not {code}; give one or the other")
            departement = code
        if self.radius_km is not None:
            if isinstance(self.radius_km, bool) or not isinstance(self.radius_km, int) \
                    or not 0 <= self.radius_km <= MAX_SEARCH_RADIUS_KM:
                raise InvalidInput("radius_km", f"radius_km must be a whole number of km from 0 to "
                                                f"{MAX_SEARCH_RADIUS_KM}")
            if commune is None:
                raise InvalidInput("radius_km", "a radius is around a commune: give commune (an INSEE code)")
        if commune is not None:
            return Place(commune, commune.departement)
        if departement is not None:
            return Place(None, departement)
        return None


@dataclass(frozen=True, slots=True)
class Hit:
    row: SupplierRow
    score: float
    details: dict[str, float]
    member: bool
    distance_km: float | None
    reach: Reach | None


@dataclass
class SearchResult:
    hits: list[Hit]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


def score(row: SupplierRow, query: SearchQuery, *, member: bool) -> tuple[float, dict[str, float], Reach | None,
                                                                           float | None]:
    """One supplier's relevance for a query (plain Python; see the module docstring): the total,
    its parts, how it reaches the place and its distance to the place's commune."""
    place = query.place()
    asked = {s.value if isinstance(s, Sector) else str(s) for s in query.sectors}
    sector = SECTOR_POINTS * len(asked & set(row.sectors)) / len(asked) if asked else 0.0
    reach, distance, territory_points, distance_pts = None, None, 0.0, 0.0
    if place is not None:
        found = territory.match(row.base, row.serves, place.commune.code if place.commune else None,
                                place.departement, search_radius_km=query.radius_km)
        reach, distance = found.reach, found.distance_km
        territory_points = float(REACH_POINTS[reach]) if reach else 0.0
        distance_pts = territory.distance_points(distance)
    labels, track = static_points(row)
    details = {"sector": sector, "distance": distance_pts, "territory": territory_points, "labels": labels,
               "member": float(MEMBER_POINTS if member else 0), "track_record": track}
    return sum(details.values()), details, reach, distance


def matches(row: SupplierRow, query: SearchQuery, *, member: bool) -> bool:
    """Whether a supplier matches every filter of a query (plain Python; the index's reference)."""
    def asked(values: Iterable) -> set[str]:
        return {v.value if hasattr(v, "value") else str(v) for v in values}

    if query.sectors and not asked(query.sectors) & set(row.sectors):
        return False
    if query.kinds and not asked(query.kinds) & set(row.kinds):
        return False
    if query.labels and not asked(query.labels) & set(row.labels):
        return False
    if query.member_only and not member:
        return False
    place = query.place()
    if place is not None:
        found = territory.match(row.base, row.serves, place.commune.code if place.commune else None,
                                place.departement, search_radius_km=query.radius_km)
        if found.reach is None:
            return False
    return True


# -- the index ------------------------------------------------------------------------------------------

def _haversine(lat: np.ndarray, lon: np.ndarray, lat0: float, lon0: float) -> np.ndarray:
    """Distances in km from (lat0, lon0) to each point: :func:`reference.geo.distance_km`, vectorised."""
    p1, p2 = np.radians(lat), math.radians(lat0)
    dp, dl = p2 - p1, np.radians(lon0 - lon)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * math.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * geo.EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))


class SupplierIndex:
    """The search fields of the active suppliers, one row each, and who is a member in good standing.

    Not thread-safe; an asyncio service changes and searches it between two awaits.
    """

    def __init__(self, capacity: int = 1024) -> None:
        self._rows: list[SupplierRow | None] = []
        self._slot: dict[str, int] = {}
        self._free: list[int] = []
        self._by_organisation: dict[str, int] = {}
        self._good: set[str] = set()
        self._communes: dict[str, set[int]] = {}  # commune code → rows naming it (declared or base)
        self._ranked = False
        self._allocate(max(16, capacity))

    # -- storage ------------------------------------------------------------------------------------
    def _allocate(self, capacity: int) -> None:
        old = getattr(self, "_capacity", 0)

        def grown(array: np.ndarray | None, shape: tuple, dtype, fill=0) -> np.ndarray:
            new = np.full(shape, fill, dtype=dtype)
            if array is not None and old:
                new[:old] = array[:old]
            return new

        g = lambda name: getattr(self, name, None)  # noqa: E731
        self.active = grown(g("active"), (capacity,), bool)
        self.member = grown(g("member"), (capacity,), bool)
        self.sector = grown(g("sector"), (capacity, len(SECTORS)), bool)
        self.kind = grown(g("kind"), (capacity, len(KINDS)), bool)
        self.label = grown(g("label"), (capacity, len(LABELS)), bool)
        self.declared = grown(g("declared"), (capacity, len(DEPARTEMENTS)), bool)  # base or declared département
        self.serving = grown(g("serving"), (capacity, len(DEPARTEMENTS)), bool)  # serves (part of) the département
        self.lat = grown(g("lat"), (capacity,), np.float64)
        self.lon = grown(g("lon"), (capacity,), np.float64)
        self.radius = grown(g("radius"), (capacity,), np.float64, -1.0)  # -1: no radius
        self.static = grown(g("static"), (capacity,), np.float64)
        self.id_rank = grown(g("id_rank"), (capacity,), np.int64)
        self._capacity = capacity

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, supplier_id: str) -> bool:
        return supplier_id in self._slot

    def row(self, supplier_id: str) -> SupplierRow | None:
        slot = self._slot.get(supplier_id)
        return None if slot is None else self._rows[slot]

    @property
    def _n(self) -> int:
        return len(self._rows)

    def put(self, row: SupplierRow) -> None:
        """Add or replace a supplier's row."""
        slot = self._slot.get(row.id)
        if slot is None:
            if self._free:
                slot = self._free.pop()
            else:
                slot = len(self._rows)
                if slot >= self._capacity:
                    self._allocate(self._capacity * 2)
                self._rows.append(None)
            self._slot[row.id] = slot
            self._ranked = False
        else:
            self._clear(slot)
        self._rows[slot] = row
        self.active[slot] = True
        for values, column, matrix in ((row.sectors, _SECTOR, self.sector), (row.kinds, _KIND, self.kind),
                                       (row.labels, _LABEL, self.label)):
            for value in values:
                if value in column:
                    matrix[slot, column[value]] = True
        for code in (row.base_departement, *row.serves_departements):
            if code in _DEPARTEMENT:
                self.declared[slot, _DEPARTEMENT[code]] = True
        self.serving[slot] = self.declared[slot]
        for code in row.serves_communes:
            commune = geo.commune(code)
            if commune is not None and commune.departement in _DEPARTEMENT:
                self.serving[slot, _DEPARTEMENT[commune.departement]] = True
        if row.radius_km is not None:
            for code in geo.departements_within(row.lat, row.lon, float(row.radius_km)):
                if code in _DEPARTEMENT:
                    self.serving[slot, _DEPARTEMENT[code]] = True
        for code in {row.base_commune, *row.serves_communes}:
            self._communes.setdefault(code, set()).add(slot)
        self.lat[slot], self.lon[slot] = row.lat, row.lon
        self.radius[slot] = -1.0 if row.radius_km is None else float(row.radius_km)
        self.static[slot] = sum(static_points(row))
        self._by_organisation[row.organisation_id] = slot
        self.member[slot] = row.organisation_id in self._good

    def remove(self, supplier_id: str) -> None:
        """Forget a supplier (archived, or gone)."""
        slot = self._slot.pop(supplier_id, None)
        if slot is None:
            return
        self._clear(slot)
        self._rows[slot] = None
        self._free.append(slot)
        self._ranked = False

    def _clear(self, slot: int) -> None:
        row = self._rows[slot]
        if row is not None:
            for code in {row.base_commune, *row.serves_communes}:
                slots = self._communes.get(code)
                if slots is not None:
                    slots.discard(slot)
                    if not slots:
                        del self._communes[code]
            if self._by_organisation.get(row.organisation_id) == slot:
                del self._by_organisation[row.organisation_id]
        for array in (self.active, self.member, self.sector, self.kind, self.label, self.declared, self.serving):
            array[slot] = False
        self.radius[slot] = -1.0
        self.static[slot] = 0.0

    def set_standing(self, organisation_id: str, in_good_standing: bool) -> None:
        """Whether an organisation is a member in good standing now."""
        if in_good_standing:
            self._good.add(organisation_id)
        else:
            self._good.discard(organisation_id)
        slot = self._by_organisation.get(organisation_id)
        if slot is not None:
            self.member[slot] = in_good_standing

    def is_member(self, organisation_id: str) -> bool:
        return organisation_id in self._good

    def _rank(self) -> None:
        """``id_rank``: each row's place in the order of supplier ids (ties of the relevance)."""
        if self._ranked:
            return
        ids = [row.id if row is not None else "" for row in self._rows]
        order = sorted(range(len(ids)), key=ids.__getitem__)
        self.id_rank[np.asarray(order, dtype=np.int64)] = np.arange(len(order), dtype=np.int64)
        self._ranked = True

    # -- search ---------------------------------------------------------------------------------------
    def search(self, query: SearchQuery) -> SearchResult:
        """Every match of ``query`` (its page, ordered), their total and the facet counts.

        :raises InvalidInput: a bad place (see :meth:`SearchQuery.place`).
        """
        place = query.place()
        n = self._n
        active = self.active[:n]
        filters: dict[str, np.ndarray] = {}

        def any_of(matrix: np.ndarray, column: dict[str, int], values: Iterable) -> np.ndarray:
            columns = sorted({column[v.value if hasattr(v, "value") else str(v)] for v in values})
            return matrix[:n, columns].any(axis=1)

        if query.sectors:
            filters["sectors"] = any_of(self.sector, _SECTOR, query.sectors)
        if query.kinds:
            filters["kinds"] = any_of(self.kind, _KIND, query.kinds)
        if query.labels:
            filters["labels"] = any_of(self.label, _LABEL, query.labels)
        if query.member_only:
            filters["member"] = self.member[:n]
        distance = reach_points = None
        if place is not None:
            d = _DEPARTEMENT[place.departement]
            declared = self.declared[:n, d]
            if place.commune is not None:
                distance = _haversine(self.lat[:n], self.lon[:n], place.commune.lat, place.commune.lon)
                named = np.zeros(n, dtype=bool)
                named[list(self._communes.get(place.commune.code, ()))] = True
                radius = self.radius[:n]
                by_radius = (radius >= 0) & (distance <= radius)
                serves = named | declared | by_radius
                found = serves | (distance <= query.radius_km) if query.radius_km is not None else serves
                reach_points = np.where(named, REACH_POINTS[Reach.COMMUNE],
                                        np.where(declared, REACH_POINTS[Reach.DEPARTEMENT],
                                                 np.where(by_radius, REACH_POINTS[Reach.RADIUS], 0)))
            else:
                found = self.serving[:n, d]
                reach_points = np.where(declared, REACH_POINTS[Reach.DEPARTEMENT],
                                        np.where(found, REACH_POINTS[Reach.PART], 0))
            filters["departements"] = found

        def without(name: str | None) -> np.ndarray:
            mask = active.copy()
            for key, value in filters.items():
                if key != name:
                    mask &= value
            return mask

        matched = without(None)
        facets = {
            "sectors": self._counts(self.sector, without("sectors") if "sectors" in filters else matched, SECTORS),
            "kinds": self._counts(self.kind, without("kinds") if "kinds" in filters else matched, KINDS),
            "labels": self._counts(self.label, without("labels") if "labels" in filters else matched, LABELS),
            "departements": {code: count for code, count in self._counts(
                self.serving, without("departements") if "departements" in filters else matched,
                DEPARTEMENTS).items() if count},
        }
        base = without("member") if "member" in filters else matched
        members = int(np.count_nonzero(base & self.member[:n]))
        facets["member"] = {"in_good_standing": members, "not_in_good_standing": int(np.count_nonzero(base)) - members}

        candidates = np.flatnonzero(matched)
        total = int(candidates.size)
        wanted = query.offset + query.limit
        if total == 0 or query.offset >= total:
            return SearchResult([], total, facets)

        sector_points = np.zeros(total)
        if query.sectors:
            columns = sorted({_SECTOR[s.value if hasattr(s, "value") else str(s)] for s in query.sectors})
            sector_points = SECTOR_POINTS * self.sector[candidates][:, columns].sum(axis=1) / len(columns)
        distance_points = np.zeros(total)
        territory_points = np.zeros(total)
        if place is not None:
            territory_points = reach_points[candidates].astype(np.float64)
            if distance is not None:
                distance_points = DISTANCE_POINTS * np.clip(1.0 - distance[candidates] / DISTANCE_HORIZON_KM, 0.0, None)
        member_points = np.where(self.member[candidates], float(MEMBER_POINTS), 0.0)
        scores = np.round(sector_points + distance_points + territory_points + self.static[candidates] + member_points, 6)

        self._rank()
        ranks = self.id_rank[candidates]
        if total > 2 * wanted:
            threshold = np.partition(-scores, wanted - 1)[wanted - 1]
            keep = np.flatnonzero(-scores <= threshold)
        else:
            keep = np.arange(total)
        order = keep[np.lexsort((ranks[keep], -scores[keep]))][query.offset:wanted]

        hits = []
        for i in order:
            slot = int(candidates[i])
            row = self._rows[slot]
            assert row is not None
            reach = None
            if place is not None:
                reach = _reach(place, row, bool(self.declared[slot, _DEPARTEMENT[place.departement]]),
                               float(territory_points[i]), query.radius_km)
            labels, track = static_points(row)
            details = {"sector": round(float(sector_points[i]), 2), "distance": round(float(distance_points[i]), 2),
                       "territory": float(territory_points[i]), "labels": labels,
                       "member": float(member_points[i]), "track_record": track}
            hits.append(Hit(row=row, score=round(float(scores[i]), 2), details=details, member=bool(self.member[slot]),
                            distance_km=None if distance is None else round(float(distance[slot]), 1), reach=reach))
        return SearchResult(hits, total, facets)

    @staticmethod
    def _counts(matrix: np.ndarray, mask: np.ndarray, codes: tuple[str, ...]) -> dict[str, int]:
        counts = np.count_nonzero(matrix[: mask.size][mask], axis=0)
        return {code: int(count) for code, count in zip(codes, counts)}


def _reach(place: Place, row: SupplierRow, declared: bool, points: float, search_radius: int | None) -> Reach:
    """How a hit reaches the place, from its territory points (the index's vector computation)."""
    if points == REACH_POINTS[Reach.COMMUNE] and place.commune is not None:
        return Reach.COMMUNE
    if declared:
        return Reach.DEPARTEMENT
    if points == REACH_POINTS[Reach.RADIUS]:
        if place.commune is None and row.radius_km is None:
            return Reach.PART
        if place.commune is None and not territory.radius_reaches(row.base, row.radius_km, place.departement):
            return Reach.PART
        return Reach.RADIUS
    return Reach.NEARBY
