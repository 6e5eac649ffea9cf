"""Whether a supplier serves a place, and how well: the territory rules of sourcing and dispatch.

A supplier works from a **base** commune (INSEE code, with its département and coordinates) and
declares what it **serves**: whole départements, communes (INSEE codes), and a radius in km
around its base. It serves a place (a commune, or a whole département) when:

- the place is in its base département (a supplier always serves its own département), or
- the place's département is one it declares, or
- a commune place is one of the communes it declares; a département place has at least one of
  them (it serves part of it), or
- its radius covers the place: a commune place lies within ``radius_km`` of the base; a
  département place has at least one commune within it.

How well (:func:`match`, the territory part of the sourcing score), best first:
``commune`` (the place's commune is declared, or is the base commune) 20 points, ``departement``
(the place's département is declared or is the base département) 15, ``radius`` (its radius
covers the place) and ``part`` (it declares communes of a département place) 10, ``nearby``
(found only because its base lies within the *search's* radius around the place) 0.

Documents and models alike: ``base`` and ``serves`` are read as mappings (the ``suppliers``
documents: ``base {commune, departement, lat, lon}``, ``serves {departements, communes,
radius_km}``) or as objects with those attributes (the domain's models).

Pure: coordinates and départements come from :mod:`reference.geo` (shipped data, no I/O beyond
reading it once).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reference import geo


class Reach(StrEnum):
    """How a supplier serves a place, best first."""

    COMMUNE = "commune"
    DEPARTEMENT = "departement"
    RADIUS = "radius"
    PART = "part"
    NEARBY = "nearby"


MAX_RADIUS_KM = 300
"""A declared radius counts up to this (profiles refuse more); beyond, a supplier lists the
départements it serves."""

REACH_POINTS: dict[Reach, int] = {Reach.COMMUNE: 20, Reach.DEPARTEMENT: 15, Reach.RADIUS: 10, Reach.PART: 10,
                                  Reach.NEARBY: 0}
"""The territory points of the sourcing score, per reach."""

DISTANCE_POINTS = 25
DISTANCE_HORIZON_KM = 100.0
"""The distance points of the sourcing score: ``25 × (1 − d / 100 km)``, 0 beyond 100 km."""


@dataclass(frozen=True, slots=True)
class TerritoryMatch:
    """How a supplier stands to a place."""

    serves: bool  # by its declared territories (base département, départements, communes, radius)
    reach: Reach | None  # the best way it reaches the place (None: it does not)
    distance_km: float | None  # from its base to the place's commune (None for a département place)

    @property
    def points(self) -> float:
        """Territory points + distance points of the sourcing score."""
        return (REACH_POINTS[self.reach] if self.reach else 0) + distance_points(self.distance_km)


def distance_points(distance_km: float | None) -> float:
    if distance_km is None:
        return 0.0
    return DISTANCE_POINTS * max(0.0, 1.0 - distance_km / DISTANCE_HORIZON_KM)


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _codes(value: Any) -> list[str]:
    return [str(v) for v in (value or ())]


def _place(place_commune: str | None, place_departement: str | None) -> tuple[geo.Commune | None, str]:
    commune = geo.commune(place_commune) if place_commune else None
    if place_commune and commune is None:
        raise ValueError(f"unknown commune {place_commune!r}")
    departement = commune.departement if commune is not None else place_departement
    if not departement:
        raise ValueError("a place is a commune or a département")
    return commune, departement


def radius_reaches(base: Any, radius_km: float | None, departement: str) -> bool:
    """Whether a radius around the base reaches at least one commune of ``departement``."""
    if radius_km is None or radius_km < 0:
        return False
    lat, lon = _get(base, "lat"), _get(base, "lon")
    if lat is None or lon is None:
        return False
    return departement in geo.departements_within(float(lat), float(lon), float(radius_km))


def match(supplier_base: Any, supplier_serves: Any, place_commune: str | None, place_departement: str | None,
          *, search_radius_km: float | None = None) -> TerritoryMatch:
    """How a supplier (its ``base`` and ``serves``) stands to a place: a commune (INSEE code; its
    département is the commune's) or, without one, a whole département.

    ``search_radius_km`` (a commune place only): a supplier whose base lies within that distance
    of the place is a match too (``nearby``) even when it does not declare serving it.

    :raises ValueError: an unknown commune code, or neither a commune nor a département.
    """
    commune, departement = _place(place_commune, place_departement)
    base_commune, base_departement = _get(supplier_base, "commune"), _get(supplier_base, "departement")
    departements = _codes(_get(supplier_serves, "departements")) if supplier_serves is not None else []
    communes = _codes(_get(supplier_serves, "communes")) if supplier_serves is not None else []
    radius = _get(supplier_serves, "radius_km") if supplier_serves is not None else None
    if not isinstance(radius, (int, float)) or isinstance(radius, bool) or radius < 0:
        radius = None  # none, negative or not a number: no radius (0 reaches the base's own point)
    else:
        radius = min(float(radius), MAX_RADIUS_KM)
    lat, lon = _get(supplier_base, "lat"), _get(supplier_base, "lon")
    distance = None
    if commune is not None and lat is not None and lon is not None:
        distance = geo.distance_km(float(lat), float(lon), commune.lat, commune.lon)

    reach: Reach | None = None
    if commune is not None and (commune.code in communes or commune.code == base_commune):
        reach = Reach.COMMUNE
    elif departement == base_departement or departement in departements:
        reach = Reach.DEPARTEMENT
    elif commune is not None and radius is not None and distance is not None and distance <= radius:
        reach = Reach.RADIUS
    elif commune is None and radius_reaches(supplier_base, radius, departement):
        reach = Reach.RADIUS
    elif commune is None and any((geo.commune(c) or _NOWHERE).departement == departement for c in communes):
        reach = Reach.PART
    serves = reach is not None
    if reach is None and search_radius_km is not None and distance is not None and distance <= search_radius_km:
        reach = Reach.NEARBY
    return TerritoryMatch(serves=serves, reach=reach, distance_km=distance)


def serves(supplier_base: Any, supplier_serves: Any, place_commune: str | None, place_departement: str | None) -> bool:
    """Whether a supplier serves a place by its declared territories (see the module docstring):
    a commune (INSEE code) or, with ``place_commune`` None, the whole ``place_departement``.

    :raises ValueError: an unknown commune code, or neither a commune nor a département.
    """
    return match(supplier_base, supplier_serves, place_commune, place_departement).serves


def score(supplier_base: Any, supplier_serves: Any, place_commune: str | None, place_departement: str | None,
          *, search_radius_km: float | None = None) -> float:
    """The territory and distance points of the sourcing score (0–45; see the module docstring)."""
    return match(supplier_base, supplier_serves, place_commune, place_departement,
                 search_radius_km=search_radius_km).points


_NOWHERE = geo.Commune("", "", "", "", 0.0, 0.0, 0, True, None, None)
