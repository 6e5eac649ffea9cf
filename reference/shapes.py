"""Boundaries of the French départements, shipped with the platform, to draw a map with no network
(no tile server is reachable): GeoJSON geometries in WGS84 longitude/latitude, keyed by the INSEE
codes of :mod:`reference.geo`.

Source: Natural Earth 1:10m admin-1 (public domain), coordinates rounded to ~10 m; see
:mod:`reference.build_shapes`. Good for a map of a region or of France, not for deciding on which
side of a border a street lies: a département's outline has ~20 to 500 points (Paris 16). Every
département and overseas collectivity of ``reference.geo`` has one. There are no commune
boundaries: communes are points (``reference.geo.commune(code).lat/lon``).

Pure and synchronous; loaded once, on first use (~109 features, ~20 ms). Callers get copies.
"""
from __future__ import annotations

import copy
import gzip
import json
from functools import cache
from typing import Iterable

from reference import geo
from reference.geo import DATA

Bounds = tuple[float, float, float, float]  # min lon, min lat, max lon, max lat


@cache
def _features() -> dict[str, dict]:
    with gzip.open(DATA / "departements.geojson.gz", "rt", encoding="utf-8") as f:
        collection = json.load(f)
    return {feature["properties"]["code"]: feature for feature in collection["features"]}


def departement_shape(code: str) -> dict | None:
    """The GeoJSON geometry (Polygon or MultiPolygon) of this département, or None."""
    feature = _features().get(code)
    return copy.deepcopy(feature["geometry"]) if feature else None


def departement_feature(code: str) -> dict | None:
    """The GeoJSON Feature of this département (``properties``: code, name, region), or None."""
    feature = _features().get(code)
    return copy.deepcopy(feature) if feature else None


def collection(codes: Iterable[str]) -> dict:
    """A FeatureCollection of these départements (unknown codes left out), in the order given."""
    features = _features()
    return {"type": "FeatureCollection",
            "features": [copy.deepcopy(features[c]) for c in codes if c in features]}


def region_shapes(region_code: str) -> dict:
    """A FeatureCollection of the départements of this region (empty for an unknown region).
    Only départements: no commune boundaries are shipped."""
    return collection(d.code for d in geo.departements() if d.region == region_code)


def france_shapes(overseas: bool = False) -> dict:
    """Every département of metropolitan France (96); with ``overseas``, the overseas départements
    and collectivities too."""
    return collection(d.code for d in geo.departements() if overseas or len(d.code) == 2)


def _positions(geojson: dict) -> Iterable[list[float]]:
    kind = geojson.get("type")
    if kind == "FeatureCollection":
        for feature in geojson["features"]:
            yield from _positions(feature)
    elif kind == "Feature":
        if geojson.get("geometry"):
            yield from _positions(geojson["geometry"])
    elif kind == "Polygon":
        for ring in geojson["coordinates"]:
            yield from ring
    elif kind == "MultiPolygon":
        for polygon in geojson["coordinates"]:
            for ring in polygon:
                yield from ring
    elif kind == "Point":
        yield geojson["coordinates"]
    elif kind in ("MultiPoint", "LineString"):
        yield from geojson["coordinates"]
    elif kind == "MultiLineString":
        for line in geojson["coordinates"]:
            yield from line
    elif kind == "GeometryCollection":
        for geometry in geojson["geometries"]:
            yield from _positions(geometry)


def bounds(geojson: dict) -> Bounds | None:
    """The bounding box (min lon, min lat, max lon, max lat) of a GeoJSON geometry, Feature or
    FeatureCollection, as GeoJSON's ``bbox`` orders it; None when it has no position."""
    xs, ys = [], []
    for x, y, *_ in _positions(geojson):
        xs.append(x)
        ys.append(y)
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


def _in_ring(lon: float, lat: float, ring: list) -> bool:
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def contains(geometry: dict, lon: float, lat: float) -> bool:
    """Whether a point lies inside a Polygon or MultiPolygon (even-odd rule: inside an exterior
    ring and outside its holes). Note the order: longitude first, as in GeoJSON."""
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return any(_in_ring(lon, lat, polygon[0]) and not any(_in_ring(lon, lat, hole) for hole in polygon[1:])
               for polygon in polygons)


def departement_at(lat: float, lon: float) -> str | None:
    """The code of the département whose shape contains this point, or None (sea, abroad, or a
    point within the ~10 m of imprecision of a border)."""
    features = _features()
    for code, box in _boxes().items():
        if box[0] <= lon <= box[2] and box[1] <= lat <= box[3] and contains(features[code]["geometry"], lon, lat):
            return code
    return None


@cache
def _boxes() -> dict[str, Bounds]:
    return {code: bounds(feature["geometry"]) for code, feature in _features().items()}
