"""Which suppliers a need goes to: sector, territory, kind, active — as a predicate and as the
MongoDB filter that pre-selects the candidates. Pure Python (the filter is a plain dict).

Suppliers are the ``suppliers`` documents of the supplier area (shared shape): ``status``
("active" | "archived"), ``sectors``, ``kinds``, ``base {commune, departement, lat, lon}``,
``serves {departements, communes, radius_km}``.

A supplier matches a need when it is active, works in one of the need's sectors, may hold the
contract (reserved under L2113-12: an EA or ESAT; under L2113-13: an SIAE — EI, AI, ACI, ETTI,
EITI, GEIQ; under L2113-15 or not reserved: any ESS supplier, which every supplier here is), and
serves the need's place by the sourcing search's own territory rule
(:mod:`services.procurement.domain.territory`: its base département, the départements and
communes it declares, its radius — up to 300 km — around its base; for a place given as a whole
département, serving part of it counts).

The MongoDB filter (:func:`candidate_filter`) selects a superset (the radius through a bounding
box, a département's communes); :func:`serves` decides exactly. Both are tested against each other.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts.procurement.vocabulary import ReservedArticle, Sector, SupplierKind
from reference import geo
from services.procurement.domain import territory
from services.procurement.domain.territory import MAX_RADIUS_KM

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


def serves(supplier: Mapping[str, Any], t: Target) -> bool:
    """Whether ``supplier`` (a ``suppliers`` document) matches ``t`` (see the module docstring)."""
    if supplier.get("status") != "active":
        return False
    if not t.sectors.intersection(_values(supplier, "sectors")):
        return False
    if t.kinds is not None and not t.kinds.intersection(_values(supplier, "kinds")):
        return False
    return in_territory(supplier, t)


def in_territory(supplier: Mapping[str, Any], t: Target) -> bool:
    """Whether ``supplier`` serves the place of ``t`` (territory only): the sourcing search's own
    rule (:func:`services.procurement.domain.territory.serves`)."""
    try:
        return territory.serves(supplier.get("base") or {}, supplier.get("serves") or {}, t.commune, t.departement)
    except ValueError:  # a place the reference geography does not know: nobody serves it
        return False


def candidate_filter(t: Target) -> dict[str, Any]:
    """A MongoDB filter selecting every supplier :func:`serves` accepts (and a few more near the
    radius' bounding box); sort by ``_id`` and page after the last id seen."""
    places: list[dict[str, Any]] = [{"base.departement": t.departement}, {"serves.departements": t.departement}]
    if t.commune is not None:
        places += [{"serves.communes": t.commune}, {"base.commune": t.commune}]
    if t.commune is None:  # a whole département: suppliers serving part of it, or reaching it by their radius
        places.append({"serves.communes": {"$in": sorted(c.code for c in geo.communes_of(t.departement))}})
        places.append({"serves.radius_km": {"$gt": 0}})
    if t.has_point:
        dlat = MAX_RADIUS_KM / KM_PER_DEGREE_LAT
        cos = max(math.cos(math.radians(t.lat)), 0.05)
        dlon = min(180.0, MAX_RADIUS_KM / (KM_PER_DEGREE_LAT * cos))
        places.append({"serves.radius_km": {"$gt": 0},
                          "base.lat": {"$gte": t.lat - dlat, "$lte": t.lat + dlat},
                          "base.lon": {"$gte": t.lon - dlon, "$lte": t.lon + dlon}})
    query: dict[str, Any] = {"status": "active", "sectors": {"$in": sorted(s.value for s in t.sectors)},
                             "$or": places}
    if t.kinds is not None:
        query["kinds"] = {"$in": sorted(k.value for k in t.kinds)}
    return query
