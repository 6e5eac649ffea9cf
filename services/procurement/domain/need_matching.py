"""Which suppliers a need goes to: sector, territory, kind, active — as a predicate and as the
MongoDB filter that pre-selects the candidates. Pure Python (the filter is a plain dict).

Suppliers are the ``suppliers`` documents of the supplier area (shared shape): ``status``
("active" | "archived"), ``sectors``, ``kinds``, ``base {commune, departement, lat, lon}``,
``serves {departements, communes, radius_km}``.

A supplier matches a need when it is active, works in one of the need's sectors, may hold the
contract (reserved under L2113-12: an EA or ESAT; under L2113-13: an SIAE — EI, AI, ACI, ETTI,
EITI, GEIQ; under L2113-15 or not reserved: any ESS supplier, which every supplier here is), and
serves the need's place:

- its base is in the place's département, or it serves that département, or
- it serves the place's commune, or
- the place's commune lies within its radius of its base (great-circle distance between the
  commune and its base; a radius counts up to :data:`MAX_RADIUS_KM`: beyond, a supplier lists the
  départements it serves). A place given as a département alone has no point to measure from: the
  radius does not apply.

The MongoDB filter (:func:`candidate_filter`) selects a superset (the radius through a bounding
box); :func:`serves` decides exactly. Both are tested against each other.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from contracts.procurement.vocabulary import ReservedArticle, Sector, SupplierKind
from reference import geo

MAX_RADIUS_KM = 300
KM_PER_DEGREE_LAT = 111.0

DISABILITY_KINDS = frozenset({SupplierKind.EA, SupplierKind.ESAT})
"""May hold a contract reserved under L2113-12."""
SIAE_KINDS = frozenset({SupplierKind.EI, SupplierKind.AI, SupplierKind.ACI, SupplierKind.ETTI, SupplierKind.EITI,
                        SupplierKind.GEIQ})
"""Structures d'insertion par l'activité économique: may hold a contract reserved under L2113-13."""

FAMILIES: dict[str, tuple[frozenset[SupplierKind] | None, ReservedArticle]] = {
    "disability": (DISABILITY_KINDS, ReservedArticle.L2113_12),
    "insertion": (SIAE_KINDS, ReservedArticle.L2113_13),
    "ess": (None, ReservedArticle.L2113_15),
}
"""Kind families of the reserved-contract assistant: the kinds (None: any ESS supplier) and the
article that reserves a contract to them."""

Distance = Callable[[float, float, float, float], float]
"""``distance_km(lat1, lon1, lat2, lon2)``."""


def eligible_kinds(article: ReservedArticle | None) -> frozenset[SupplierKind] | None:
    """The supplier kinds a contract reserved under ``article`` may go to (None: any)."""
    if article is ReservedArticle.L2113_12:
        return DISABILITY_KINDS
    if article is ReservedArticle.L2113_13:
        return SIAE_KINDS
    return None


@dataclass(frozen=True)
class Target:
    """What a need asks of its suppliers, as matching reads it."""

    sectors: frozenset[Sector]
    departement: str
    commune: str | None = None
    lat: float | None = None
    lon: float | None = None
    kinds: frozenset[SupplierKind] | None = None

    @property
    def has_point(self) -> bool:
        return self.commune is not None and self.lat is not None and self.lon is not None


def target(*, sectors, departement: str, commune: str | None, reserved_article: ReservedArticle | None,
           point: tuple[float, float] | None, kinds: frozenset[SupplierKind] | None | bool = False) -> Target:
    """The target of a need; ``point``: the (lat, lon) of its commune when known. ``kinds``
    overrides the kinds the reserved article gives (``False``: keep them)."""
    return Target(sectors=frozenset(Sector(s) for s in sectors), departement=departement, commune=commune,
                  lat=point[0] if point else None, lon=point[1] if point else None,
                  kinds=eligible_kinds(reserved_article) if kinds is False else kinds)


def _values(doc: Mapping[str, Any], key: str) -> list:
    value = doc.get(key)
    return list(value) if isinstance(value, (list, tuple)) else []


def target_of(need, *, kinds: frozenset[SupplierKind] | None | bool = False) -> Target:
    """The target of a :class:`~.needs.Need` (its commune's coordinates from the reference geography)."""
    found = geo.commune(need.place.commune) if need.place.commune else None
    return target(sectors=need.sectors, departement=need.place.departement, commune=need.place.commune,
                  reserved_article=need.reserved_article if need.reserved else None,
                  point=(found.lat, found.lon) if found else None, kinds=kinds)


def serves(supplier: Mapping[str, Any], t: Target, distance_km: Distance = geo.distance_km) -> bool:
    """Whether ``supplier`` (a ``suppliers`` document) matches ``t`` (see the module docstring)."""
    if supplier.get("status") != "active":
        return False
    if not t.sectors.intersection(_values(supplier, "sectors")):
        return False
    if t.kinds is not None and not t.kinds.intersection(_values(supplier, "kinds")):
        return False
    return in_territory(supplier, t, distance_km)


def in_territory(supplier: Mapping[str, Any], t: Target, distance_km: Distance = geo.distance_km) -> bool:
    """Whether ``supplier`` serves the place of ``t`` (territory only)."""
    base = supplier.get("base") or {}
    area = supplier.get("serves") or {}
    if base.get("departement") == t.departement or t.departement in _values(area, "departements"):
        return True
    if t.commune is not None and t.commune in _values(area, "communes"):
        return True
    radius = area.get("radius_km")
    if not t.has_point or not isinstance(radius, (int, float)) or isinstance(radius, bool) or radius <= 0:
        return False
    lat, lon = base.get("lat"), base.get("lon")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lat, lon)):
        return False
    return distance_km(float(lat), float(lon), t.lat, t.lon) <= min(float(radius), MAX_RADIUS_KM)


def candidate_filter(t: Target) -> dict[str, Any]:
    """A MongoDB filter selecting every supplier :func:`serves` accepts (and a few more near the
    radius' bounding box); sort by ``_id`` and page after the last id seen."""
    territory: list[dict[str, Any]] = [{"base.departement": t.departement}, {"serves.departements": t.departement}]
    if t.commune is not None:
        territory.append({"serves.communes": t.commune})
    if t.has_point:
        dlat = MAX_RADIUS_KM / KM_PER_DEGREE_LAT
        cos = max(math.cos(math.radians(t.lat)), 0.05)
        dlon = min(180.0, MAX_RADIUS_KM / (KM_PER_DEGREE_LAT * cos))
        territory.append({"serves.radius_km": {"$gt": 0},
                          "base.lat": {"$gte": t.lat - dlat, "$lte": t.lat + dlat},
                          "base.lon": {"$gte": t.lon - dlon, "$lte": t.lon + dlon}})
    query: dict[str, Any] = {"status": "active", "sectors": {"$in": sorted(s.value for s in t.sectors)},
                             "$or": territory}
    if t.kinds is not None:
        query["kinds"] = {"$in": sorted(k.value for k in t.kinds)}
    return query
