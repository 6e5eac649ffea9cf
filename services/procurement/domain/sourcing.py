"""Sourcing: searching the supplier profiles by sector × territory × radius × kind × label ×
member-only, with facet counts, a documented relevance order and pages — in memory.

Why in memory. On SecantusDB (the embedded database) with 20,000 suppliers, counting the
suppliers of one sector took 150 ms, fetching them (projected) 300 ms, sector + département
1.1 s, and one ``$facet`` aggregation 180 ms, each alone on the machine: a search with five
facets could not answer in 150 ms under 16 clients. So the service keeps the search fields of
every active supplier in a :class:`SupplierIndex` (a bitset of the suppliers per sector, kind,
label and département, and their coordinates as vectors), brought up to date before each search
(see ``services.procurement.adapters.supplier_search``); a search over 20,000 suppliers is a few
dozen bitset operations and one vectorised distance (about a millisecond).

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
from collections import OrderedDict
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
        """From a ``suppliers`` document (missing coordinates: the base commune's).

        :raises ValueError: not a supplier document (no base commune, unknown place…).
        """
        try:
            return cls._from_document(doc)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"supplier document {doc.get('_id')!r} cannot be searched: {exc!r}") from None

    @classmethod
    def _from_document(cls, doc: Mapping[str, Any]) -> SupplierRow:
        base, serves = dict(doc["base"]), doc.get("serves") or {}
        identity, capacity = doc.get("identity") or {}, doc.get("capacity") or {}
        if base.get("lat") is None or base.get("lon") is None:
            commune = geo.commune(base["commune"])
            if commune is None:
                raise ValueError(f"unknown base commune {base['commune']!r} and no coordinates")
            base["lat"], base["lon"] = commune.lat, commune.lon
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

def _haversine(lat_r: np.ndarray, lon_r: np.ndarray, cos_lat: np.ndarray, lat0: float, lon0: float) -> np.ndarray:
    """Distances in km from (lat0, lon0) to points given in radians (with their latitudes' cosines):
    :func:`reference.geo.distance_km`, vectorised."""
    p2 = math.radians(lat0)
    h = np.sin((p2 - lat_r) / 2) ** 2 + cos_lat * math.cos(p2) * np.sin((math.radians(lon0) - lon_r) / 2) ** 2
    return 2 * geo.EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))


_DISTANCES_KEPT = 256  # distance vectors kept, per commune searched (20,000 suppliers: 160 kB each)


class SupplierIndex:
    """The search fields of the active suppliers, one row (a slot) each, and who is a member in good
    standing.

    Sets of slots are bitsets (numpy ``packbits`` order: slot 0 is the high bit of byte 0): one per
    sector, kind, label, département declared (base or declared) and département served, plus the
    active and member sets. Filters are ANDs of bitsets; a facet's counts are one AND and one
    popcount per code (``np.bitwise_count``) — no BLAS, no copy of the rows. Distances to a commune
    are one vectorised haversine (the last communes' vectors kept until a row changes).

    Not thread-safe; an asyncio service changes and searches it between two awaits.
    """

    _SETS = {"sector": SECTORS, "kind": KINDS, "label": LABELS, "declared": DEPARTEMENTS, "serving": DEPARTEMENTS}

    def __init__(self, capacity: int = 1024) -> None:
        self._rows: list[SupplierRow | None] = []
        self._slot: dict[str, int] = {}
        self._free: list[int] = []
        self._by_organisation: dict[str, int] = {}
        self._good: set[str] = set()
        self._communes: dict[str, set[int]] = {}  # commune code → rows naming it (declared or base)
        self._ranked = False
        self._distances: OrderedDict[str, np.ndarray] = OrderedDict()
        self._capacity = 0
        self._allocate(max(64, capacity))

    # -- storage ------------------------------------------------------------------------------------
    def _allocate(self, capacity: int) -> None:
        capacity = (capacity + 7) // 8 * 8
        old = self._capacity

        def grown(name: str, shape: tuple, dtype, fill=0) -> None:
            new = np.full(shape, fill, dtype=dtype)
            if old:
                previous = getattr(self, name)
                new[..., :previous.shape[-1]] = previous
            setattr(self, name, new)

        width = capacity // 8
        grown("active", (width,), np.uint8)
        grown("member", (width,), np.uint8)
        for name, codes in self._SETS.items():
            grown(name, (len(codes), width), np.uint8)
        for name in ("lat_r", "lon_r", "cos_lat", "static"):
            grown(name, (capacity,), np.float64)
        grown("radius", (capacity,), np.float64, -1.0)  # -1: no radius
        grown("id_rank", (capacity,), np.int64)
        self._capacity = capacity

    @staticmethod
    def _set(bits: np.ndarray, slot: int, on: bool = True) -> None:
        if on:
            bits[..., slot >> 3] |= np.uint8(0x80 >> (slot & 7))
        else:
            bits[..., slot >> 3] &= np.uint8(~(0x80 >> (slot & 7)) & 0xFF)

    @staticmethod
    def _has(bits: np.ndarray, slot: int) -> bool:
        return bool(bits[slot >> 3] & (0x80 >> (slot & 7)))

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
        self._distances.clear()
        self._rows[slot] = row
        self._set(self.active, slot)
        for values, column, bits in ((row.sectors, _SECTOR, self.sector), (row.kinds, _KIND, self.kind),
                                     (row.labels, _LABEL, self.label)):
            for value in values:
                if value in column:
                    self._set(bits[column[value]], slot)
        served: set[str] = set()
        for code in (row.base_departement, *row.serves_departements):
            if code in _DEPARTEMENT:
                self._set(self.declared[_DEPARTEMENT[code]], slot)
                served.add(code)
        for code in row.serves_communes:
            commune = geo.commune(code)
            if commune is not None:
                served.add(commune.departement)
        if row.radius_km is not None:
            served |= geo.departements_within(row.lat, row.lon, float(row.radius_km))
        for code in served:
            if code in _DEPARTEMENT:
                self._set(self.serving[_DEPARTEMENT[code]], slot)
        for code in {row.base_commune, *row.serves_communes}:
            self._communes.setdefault(code, set()).add(slot)
        self.lat_r[slot], self.lon_r[slot] = math.radians(row.lat), math.radians(row.lon)
        self.cos_lat[slot] = math.cos(self.lat_r[slot])
        self.radius[slot] = -1.0 if row.radius_km is None else float(row.radius_km)
        self.static[slot] = sum(static_points(row))
        self._by_organisation[row.organisation_id] = slot
        self._set(self.member, slot, row.organisation_id in self._good)

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
        for bits in (self.active, self.member, *(getattr(self, name) for name in self._SETS)):
            self._set(bits, slot, False)
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
            self._set(self.member, slot, in_good_standing)

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

    def _distance_to(self, commune: geo.Commune, n: int) -> np.ndarray:
        """Every row's distance (km) to a commune; the last communes' vectors are kept until a row changes."""
        found = self._distances.get(commune.code)
        if found is not None and found.size == n:
            self._distances.move_to_end(commune.code)
            return found
        found = _haversine(self.lat_r[:n], self.lon_r[:n], self.cos_lat[:n], commune.lat, commune.lon)
        self._distances[commune.code] = found
        if len(self._distances) > _DISTANCES_KEPT:
            self._distances.popitem(last=False)
        return found

    # -- search ---------------------------------------------------------------------------------------
    def search(self, query: SearchQuery) -> SearchResult:
        """Every match of ``query`` (its page, ordered), their total and the facet counts.

        :raises InvalidInput: a bad place (see :meth:`SearchQuery.place`).
        """
        place = query.place()
        n = self._n
        width = (n + 7) // 8
        filters: dict[str, np.ndarray] = {}

        def columns(column: dict[str, int], values: Iterable) -> list[int]:
            return sorted({column[v.value if hasattr(v, "value") else str(v)] for v in values})

        def any_of(bits: np.ndarray, cols: list[int]) -> np.ndarray:
            return bits[cols[0], :width] if len(cols) == 1 else np.bitwise_or.reduce(bits[cols, :width], axis=0)

        sector_columns = columns(_SECTOR, query.sectors)
        if sector_columns:
            filters["sectors"] = any_of(self.sector, sector_columns)
        if query.kinds:
            filters["kinds"] = any_of(self.kind, columns(_KIND, query.kinds))
        if query.labels:
            filters["labels"] = any_of(self.label, columns(_LABEL, query.labels))
        if query.member_only:
            filters["member"] = self.member[:width]
        distance = named = by_radius = None
        if place is not None:
            d = _DEPARTEMENT[place.departement]
            if place.commune is not None:
                distance = self._distance_to(place.commune, n)
                named = np.zeros(n, dtype=bool)
                named[list(self._communes.get(place.commune.code, ()))] = True
                radius = self.radius[:n]
                by_radius = (radius >= 0) & (distance <= radius)
                reached = named | by_radius
                if query.radius_km is not None:
                    reached |= distance <= query.radius_km
                filters["departements"] = np.packbits(reached) | self.declared[d, :width]
            else:
                filters["departements"] = self.serving[d, :width]

        active = self.active[:width]

        def without(name: str | None) -> np.ndarray:
            if name is not None and name not in filters:
                return matched
            mask = active.copy()
            for key, value in filters.items():
                if key != name:
                    mask &= value
            return mask

        matched = without(None)
        facets = {"sectors": self._counts(self.sector, without("sectors"), SECTORS),
                  "kinds": self._counts(self.kind, without("kinds"), KINDS),
                  "labels": self._counts(self.label, without("labels"), LABELS),
                  "departements": {code: count for code, count in self._counts(
                      self.serving, without("departements"), DEPARTEMENTS).items() if count}}
        base = without("member")
        members = int(np.bitwise_count(base & self.member[:width]).sum())
        facets["member"] = {"in_good_standing": members,
                            "not_in_good_standing": int(np.bitwise_count(base).sum()) - members}

        candidates = np.flatnonzero(np.unpackbits(matched, count=n))
        total = int(candidates.size)
        wanted = query.offset + query.limit
        if total == 0 or query.offset >= total:
            return SearchResult([], total, facets)

        def at(bits: np.ndarray) -> np.ndarray:  # a bitset's values at the candidates
            return np.unpackbits(bits[:width], count=n)[candidates].astype(bool)

        member = at(self.member)
        scores = self.static[candidates] + np.where(member, float(MEMBER_POINTS), 0.0)
        sector_points = None
        if sector_columns:
            sector_points = SECTOR_POINTS * sum(at(self.sector[c]).astype(np.float64) for c in sector_columns) \
                / len(sector_columns)
            scores += sector_points
        territory_points = distance_points = None
        if place is not None:
            declared = at(self.declared[_DEPARTEMENT[place.departement]])
            if place.commune is not None:
                territory_points = np.where(named[candidates], float(REACH_POINTS[Reach.COMMUNE]),
                                            np.where(declared, float(REACH_POINTS[Reach.DEPARTEMENT]),
                                                     np.where(by_radius[candidates], float(REACH_POINTS[Reach.RADIUS]),
                                                              0.0)))
                distance_points = DISTANCE_POINTS * np.clip(1.0 - distance[candidates] / DISTANCE_HORIZON_KM, 0.0, None)
                scores += distance_points
            else:
                territory_points = np.where(declared, float(REACH_POINTS[Reach.DEPARTEMENT]),
                                            float(REACH_POINTS[Reach.PART]))
            scores += territory_points
        scores = np.round(scores, 6)

        self._rank()
        ranks = self.id_rank[candidates]
        if total > 2 * wanted:
            threshold = np.partition(-scores, wanted - 1)[wanted - 1]
            keep = np.flatnonzero(-scores <= threshold)
        else:
            keep = np.arange(total)
        order = keep[np.lexsort((ranks[keep], -scores[keep]))][query.offset:wanted]

        hits = []
        for i in order.tolist():
            slot = int(candidates[i])
            row = self._rows[slot]
            assert row is not None
            territory_i = 0.0 if territory_points is None else float(territory_points[i])
            reach = None
            if place is not None:
                reach = _reach(place, row, bool(declared[i]), territory_i)
            labels, track = static_points(row)
            details = {"sector": 0.0 if sector_points is None else round(float(sector_points[i]), 2),
                       "distance": 0.0 if distance_points is None else round(float(distance_points[i]), 2),
                       "territory": territory_i, "labels": labels,
                       "member": float(MEMBER_POINTS if member[i] else 0), "track_record": track}
            hits.append(Hit(row=row, score=round(float(scores[i]), 2), details=details, member=bool(member[i]),
                            distance_km=None if distance is None else round(float(distance[slot]), 1), reach=reach))
        return SearchResult(hits, total, facets)

    @staticmethod
    def _counts(bits: np.ndarray, mask: np.ndarray, codes: tuple[str, ...]) -> dict[str, int]:
        counts = np.bitwise_count(bits[:, :mask.size] & mask).sum(axis=1)
        return dict(zip(codes, counts.tolist()))


def _reach(place: Place, row: SupplierRow, declared: bool, points: float) -> Reach:
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
