"""French administrative geography, shipped with the platform: communes (INSEE code, name,
département, region, coordinates, population, EPCI/EPT), départements, regions, EPCI.

No geocoding service is reachable: the data are files in ``reference/data`` derived from open
datasets (see :mod:`reference.build_geo` for their sources, licences and how to rebuild them).
Coordinates of the smallest communes (``approximate``) are the centre of their intercommunality
(EPCI), else of their département: a distance to them is good to ten kilometres or so, not to
the kilometre.

Pure and synchronous: the domain of any service may use it. Loaded once, on first use (~35,000
communes, ~30 ms).
"""
from __future__ import annotations

import csv
import gzip
import math
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
EARTH_RADIUS_KM = 6371.0088
_GRID = 0.5  # degrees per cell of the spatial index


@dataclass(frozen=True, slots=True)
class Commune:
    code: str  # INSEE code (5 characters: 75056, 2A004, 97411; Paris, Lyon, Marseille arrondissements too)
    name: str
    departement: str
    region: str
    lat: float
    lon: float
    population: int
    approximate: bool  # coordinates are its EPCI's (else its département's) centre
    epci: str | None  # SIREN of its intercommunality (EPCI), when it has one
    ept: str | None  # its établissement public territorial (Grand Paris), when it has one


@dataclass(frozen=True, slots=True)
class Departement:
    code: str
    name: str
    region: str


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Epci:
    code: str
    name: str
    kind: str  # CA, CC, CU, METRO, MET69, EPT


def normalise(name: str) -> str:
    """A place name compared without accents, case, hyphens, apostrophes or "Saint"/"St" variants."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    for sep in "-'’`.,()":
        text = text.replace(sep, " ")
    words = ["saint" if w == "st" else "sainte" if w == "ste" else w for w in text.split()]
    return " ".join(words)


def _rows(name: str) -> list[dict[str, str]]:
    with gzip.open(DATA / name, "rt", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@cache
def _communes() -> dict[str, Commune]:
    return {r["code"]: Commune(r["code"], r["name"], r["departement"], r["region"], float(r["lat"]),
                               float(r["lon"]), int(r["population"] or 0), r["approximate"] == "1",
                               r["epci"] or None, r["ept"] or None)
            for r in _rows("communes.csv.gz")}


@cache
def _by_name() -> dict[str, list[Commune]]:
    index: dict[str, list[Commune]] = {}
    for c in _communes().values():
        index.setdefault(normalise(c.name), []).append(c)
    for found in index.values():
        found.sort(key=lambda c: -c.population)
    return index


@cache
def _grid() -> dict[tuple[int, int], list[Commune]]:
    grid: dict[tuple[int, int], list[Commune]] = {}
    for c in _communes().values():
        grid.setdefault((math.floor(c.lat / _GRID), math.floor(c.lon / _GRID)), []).append(c)
    return grid


@cache
def _departements() -> dict[str, Departement]:
    return {r["code"]: Departement(r["code"], r["name"], r["region"]) for r in _rows("departements.csv.gz")}


@cache
def _regions() -> dict[str, Region]:
    return {r["code"]: Region(r["code"], r["name"]) for r in _rows("regions.csv.gz")}


@cache
def _epcis() -> dict[str, Epci]:
    return {r["code"]: Epci(r["code"], r["name"], r["kind"]) for r in _rows("epci.csv.gz")}


def commune(code: str) -> Commune | None:
    """The commune of this INSEE code, or None."""
    return _communes().get(code)


def communes() -> list[Commune]:
    return list(_communes().values())


def find(name: str, departement: str | None = None) -> Commune | None:
    """The commune of this name (accents, case, hyphens ignored), in this département if given;
    among homonyms, the most populous. None when there is none."""
    found = _by_name().get(normalise(name), [])
    if departement is not None:
        found = [c for c in found if c.departement == departement]
    return found[0] if found else None


def departement(code: str) -> Departement | None:
    return _departements().get(code)


def departements() -> list[Departement]:
    return list(_departements().values())


def region(code: str) -> Region | None:
    return _regions().get(code)


def epci(code: str) -> Epci | None:
    """An EPCI (by SIREN) or an EPT (by its code), or None."""
    return _epcis().get(code)


def communes_of(departement_code: str) -> list[Commune]:
    return [c for c in _communes().values() if c.departement == departement_code]


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def between(a: Commune, b: Commune) -> float:
    """Distance in km between two communes."""
    return distance_km(a.lat, a.lon, b.lat, b.lon)


def within(lat: float, lon: float, km: float) -> list[Commune]:
    """Every commune within ``km`` of a point, nearest first."""
    if km < 0 or not math.isfinite(km):
        return []
    dlat = km / 111.0 + _GRID
    dlon = km / (111.0 * max(0.05, math.cos(math.radians(lat)))) + _GRID
    grid = _grid()
    found = []
    for i in range(math.floor((lat - dlat) / _GRID), math.floor((lat + dlat) / _GRID) + 1):
        for j in range(math.floor((lon - dlon) / _GRID), math.floor((lon + dlon) / _GRID) + 1):
            for c in grid.get((i, j), ()):
                d = distance_km(lat, lon, c.lat, c.lon)
                if d <= km:
                    found.append((d, c.code, c))
    return [c for _, _, c in sorted(found)]
