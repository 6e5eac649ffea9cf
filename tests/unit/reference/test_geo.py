"""The shipped geography: lookups, names, distances and the radius search."""
from __future__ import annotations

import math

from reference import geo


def test_communes_by_code_with_their_departement_region_and_intercommunality():
    montreuil = geo.commune("93048")
    assert (montreuil.name, montreuil.departement, montreuil.region) == ("Montreuil", "93", "11")
    assert not montreuil.approximate and montreuil.epci == "200054781"  # Métropole du Grand Paris
    assert abs(montreuil.lat - 48.86) < 0.05 and abs(montreuil.lon - 2.44) < 0.05
    assert geo.commune("2A004").departement == "2A"  # Ajaccio: Corsica's codes are not numbers
    assert geo.commune("97411").departement == "974" and not geo.commune("97411").approximate  # overseas too
    assert geo.commune("99999") is None
    assert len(geo.communes()) > 34_000


def test_find_ignores_accents_case_and_hyphens_and_prefers_the_departement_then_the_most_populous():
    assert geo.find("creteil").code == "94028"
    assert geo.find("SAINT-DENIS", "93").code == "93066"
    assert geo.find("St Denis", "93").code == "93066"
    assert geo.find("Montreuil").code == "93048"  # several Montreuil: the most populous
    assert geo.find("Montreuil", "28").code == "28267"
    assert geo.find("Nowhere-sur-Rien") is None


def test_a_located_place_locates_one_commune_only():
    """Homonyms of one region took the same GeoNames place, both marked located (866 pairs): Changé in
    Mayenne (near Laval) and Changé in Sarthe (near Le Mans) were both at Le Mans."""
    seen: dict[tuple[float, float], str] = {}
    for c in geo.communes():
        if not c.approximate:
            assert (c.lat, c.lon) not in seen, f"{c.code} {c.name} and {seen[(c.lat, c.lon)]} at one place"
            seen[(c.lat, c.lon)] = f"{c.code} {c.name}"
    laval, le_mans = geo.find("Laval", "53"), geo.find("Le Mans", "72")
    assert geo.between(geo.commune("53054"), laval) < 10 and geo.between(geo.commune("72058"), le_mans) < 10


def test_departements_regions_and_epci():
    assert geo.departement("93").name == "Seine-Saint-Denis" and geo.departement("93").region == "11"
    assert geo.region("11").name == "Île-de-France"
    assert geo.epci("200054781").name.startswith("Métropole du Grand Paris")
    assert len(geo.communes_of("93")) == 39  # the communes of Seine-Saint-Denis in the shipped geography


def test_distances_and_the_radius_search_nearest_first():
    paris, marseille = geo.commune("75056"), geo.commune("13055")
    assert 650 < geo.between(paris, marseille) < 680
    assert geo.distance_km(48.0, 2.0, 48.0, 2.0) == 0
    montreuil = geo.commune("93048")
    near = geo.within(montreuil.lat, montreuil.lon, 5)
    assert near[0].code == "93048" and {"93006", "94080"} <= {c.code for c in near}  # Bagnolet, Vincennes
    distances = [geo.distance_km(montreuil.lat, montreuil.lon, c.lat, c.lon) for c in near]
    assert distances == sorted(distances) and max(distances) <= 5
    assert all(geo.between(montreuil, c) > 5 for c in geo.communes_of("93") if c not in near)
    assert geo.within(montreuil.lat, montreuil.lon, -1) == [] and geo.within(0, 0, math.inf) == []
