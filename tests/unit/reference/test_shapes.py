"""The shipped département boundaries (Natural Earth 1:10m admin-1): coverage, codes, where
points fall, and how coarse they are in the petite couronne."""
from __future__ import annotations

import gzip
import json
import math

from reference import geo, shapes
from reference.geo import DATA


def _rings(geometry: dict) -> list[list]:
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return [ring for polygon in polygons for ring in polygon]


def _inside(geometry: dict, lon: float, lat: float) -> bool:
    """Ray casting, independent of reference.shapes.contains (even-odd over every ring)."""
    crossings = 0
    for ring in _rings(geometry):
        for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
            if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
                crossings += 1
    return crossings % 2 == 1


def _km_to_edge(geometry: dict, lon: float, lat: float) -> float:
    """Distance from a point to the nearest edge of a geometry (equirectangular, fine at this scale)."""
    kx, ky = 111.32 * math.cos(math.radians(lat)), 110.57
    best = math.inf
    for ring in _rings(geometry):
        for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
            ax, ay, bx, by = (x1 - lon) * kx, (y1 - lat) * ky, (x2 - lon) * kx, (y2 - lat) * ky
            dx, dy = bx - ax, by - ay
            t = 0.0 if dx == dy == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / (dx * dx + dy * dy)))
            best = min(best, math.hypot(ax + t * dx, ay + t * dy))
    return best


def _km_between(a: dict, b: dict) -> float:
    """Smallest distance from a vertex of one shape to an edge of the other (0 when they share a border)."""
    return min(_km_to_edge(b, x, y) for ring in _rings(a) for x, y in ring)


def test_every_departement_has_a_shape_overseas_included():
    codes = [d.code for d in geo.departements()]
    metropolitan = [c for c in codes if len(c) == 2]
    assert len(metropolitan) == 96 and "2A" in metropolitan and "2B" in metropolitan
    for code in codes:  # the 96, the 5 overseas départements, and the collectivities 975…989
        shape = shapes.departement_shape(code)
        assert shape is not None and shape["type"] in ("Polygon", "MultiPolygon"), code
        for ring in _rings(shape):
            assert len(ring) >= 4 and ring[0] == ring[-1], code
    assert shapes.departement_shape("20") is None and shapes.departement_shape("00") is None


def test_the_prefectures_lie_in_their_departement_and_rings_follow_rfc_7946():
    # inland ones: at 1:10m a coastal town's point (Ajaccio) may fall in the sea
    for code, prefecture in {"93": "93008", "92": "92050", "94": "94028", "75": "75056", "77": "77288",
                             "78": "78646", "91": "91228", "95": "95500", "13": "13055", "2B": "2B096",
                             "974": "97411"}.items():
        c = geo.commune(prefecture)
        shape = shapes.departement_shape(code)
        assert _inside(shape, c.lon, c.lat) and shapes.contains(shape, c.lon, c.lat), (code, c.name)
        assert shapes.departement_at(c.lat, c.lon) == code
    exterior = shapes.departement_shape("93")["coordinates"][0]
    assert sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(exterior, exterior[1:])) > 0  # counter-clockwise


def test_montreuil_is_at_the_border_of_93_as_drawn_at_this_scale():
    """Natural Earth draws Paris at 1:10,000,000 (16 points): its polygon swallows the first
    ring of communes (Montreuil, Vincennes, Boulogne…). Montreuil's point is not inside 93's
    polygon but within 2 km of it — a map draws it at the right place, a point-in-polygon on
    these shapes does not say its département in the petite couronne."""
    montreuil = geo.commune("93048")
    ninety_three = shapes.departement_shape("93")
    assert _km_to_edge(ninety_three, montreuil.lon, montreuil.lat) < 2.0
    assert shapes.departement_at(montreuil.lat, montreuil.lon) in ("93", "75")


def test_most_located_communes_fall_in_their_own_departement():
    checked = wrong = 0
    for c in geo.communes():
        if len(c.departement) == 2 and not c.approximate:
            checked += 1
            wrong += shapes.departement_at(c.lat, c.lon) != c.departement
    # ~2 %: communes at a border as drawn at this scale (about 7 % when homonyms of a region shared one place)
    assert checked > 14_000 and wrong / checked < 0.03


def test_paris_and_the_petite_couronne_share_their_borders():
    shape = {code: shapes.departement_shape(code) for code in ("75", "92", "93", "94")}
    for a, b in [("75", "92"), ("75", "93"), ("75", "94"), ("92", "93"), ("93", "94")]:
        assert _km_between(shape[a], shape[b]) < 0.05, (a, b)
    assert _km_between(shape["92"], shape["94"]) < 1.0  # they meet at a point, through Paris's corner


def test_region_shapes_and_bounds():
    idf = shapes.region_shapes("11")
    assert idf["type"] == "FeatureCollection"
    assert sorted(f["properties"]["code"] for f in idf["features"]) == ["75", "77", "78", "91", "92", "93", "94", "95"]
    assert {f["properties"]["name"] for f in idf["features"]} >= {"Paris", "Seine-Saint-Denis"}
    west, south, east, north = shapes.bounds(idf)
    assert 1.3 < west < 1.6 and 47.9 < south < 48.2 and 3.4 < east < 3.7 and 49.1 < north < 49.3
    assert shapes.bounds(shapes.departement_shape("75")) < (2.3, 48.9, 2.5, 48.91)
    assert shapes.bounds({"type": "FeatureCollection", "features": []}) is None
    assert shapes.region_shapes("99")["features"] == []
    metropolitan = shapes.france_shapes()
    assert len(metropolitan["features"]) == 96
    assert len(shapes.france_shapes(overseas=True)["features"]) == len(geo.departements())
    west, south, east, north = shapes.bounds(metropolitan)
    assert -5.2 < west < -4.7 and 41.3 < south < 41.4 and 9.5 < east < 9.6 and 51.0 < north < 51.2


def test_callers_get_copies():
    shape = shapes.departement_shape("93")
    shape["coordinates"].clear()
    assert shapes.departement_shape("93")["coordinates"]
    shapes.region_shapes("11")["features"][0]["properties"]["name"] = "changed"
    assert "changed" not in {f["properties"]["name"] for f in shapes.region_shapes("11")["features"]}


def test_contains_honours_holes():
    square = {"type": "Polygon", "coordinates": [[[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]],
                                                 [[1, 1], [1, 3], [3, 3], [3, 1], [1, 1]]]}
    assert shapes.contains(square, 0.5, 0.5) and not shapes.contains(square, 2, 2)
    assert not shapes.contains(square, 5, 2)
    assert shapes.contains({"type": "MultiPolygon", "coordinates": [square["coordinates"]]}, 3.5, 2)


def test_the_file_is_small_and_loads():
    """Small enough to ship and serve (its load time is no test's business: timed tests fail on a busy
    machine; the page's speed is measured by `make bench-observatory`)."""
    path = DATA / "departements.geojson.gz"
    assert path.stat().st_size < 2_000_000
    with gzip.open(path, "rt", encoding="utf-8") as f:
        collection = json.load(f)
    shapes._features.cache_clear()
    shapes._boxes.cache_clear()
    assert shapes.departement_shape("93")
    assert {f["id"] for f in collection["features"]} == {d.code for d in geo.departements()}
