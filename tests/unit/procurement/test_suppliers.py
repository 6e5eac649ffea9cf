"""The Supplier aggregate: profile, edit, identity from membership, archive, and hostile input."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from contracts.procurement.suppliers import (ProfileChangeSource, SupplierArchived, SupplierProfiled,
                                             SupplierProfileUpdated)
from runtime.errors import Conflict, InvalidInput
from services.procurement.domain.suppliers import Identity, Supplier

AT = datetime(2006, 3, 1, 10, tzinfo=timezone.utc)


def identity(**changes) -> Identity:
    data = {"name": "Recyclerie du Val", "siret": "73282932000074", "legal_form": "association", "esus_agreed": False,
            "departement": "93", "commune_name": "Montreuil", "as_of": AT - timedelta(days=30), **changes}
    return Identity(**data)


def profile(**changes) -> Supplier:
    fields = {"organisation_id": "org-1", "identity": identity(), "sectors": ["circular_economy"],
              "base_commune": "93048", "at": AT, **changes}
    return Supplier.profile("sup-1", **fields)


def field_of(call) -> str:
    with pytest.raises(InvalidInput) as err:
        call()
    return err.value.field


def test_a_profile_records_its_matching_profile_with_ids_and_codes_only():
    s = profile(kinds=["ei"], labels=["rge"], serves={"departements": ["94", "1"], "communes": ["75111"],
                                                      "radius_km": 30},
                services=["Collecte de mobilier"], capacity={"max_contract_cents": 1_000_000},
                references=[{"client_name": "Ville de Montreuil", "year": 2005, "amount_cents": 50_000}],
                past_contracts=[{"buyer_name": "Département 93", "year": 2004, "amount_cents": 1_200_000,
                                 "reserved_article": "l2113_13", "decp_id": "x-1"}])
    (event,) = s.pull_events()
    assert isinstance(event, SupplierProfiled)
    assert (event.base_commune, event.base_departement, event.departements, event.communes, event.radius_km) == \
        ("93048", "93", ["94", "01"], ["75111"], 30)
    assert "Recyclerie" not in event.model_dump_json() and "Montreuil" not in event.model_dump_json()
    assert s.base.commune_name == "Montreuil" and s.base.departement == "93" and s.status.value == "active"


def test_the_esus_label_follows_the_organisations_agreement_and_staff_cannot_set_it():
    assert profile(identity=identity(esus_agreed=True), labels=["rge"]).labels == ["esus", "rge"]
    assert profile(labels=["rge"]).labels == ["rge"]
    assert field_of(lambda: profile(labels=["rge", "esus"])) == "labels.1"


def test_membership_changing_the_agreement_adds_the_label_with_an_event_a_name_change_records_none():
    s = profile(labels=["rge"])
    s.pull_events()
    assert s.refresh_identity(identity(name="Recyclerie du Val de Marne", as_of=AT), at=AT) == ["name"]
    assert s.identity.name == "Recyclerie du Val de Marne" and not s.pending_events
    later = AT + timedelta(days=1)
    assert s.refresh_identity(identity(name="Recyclerie du Val de Marne", esus_agreed=True, as_of=later),
                              at=later) == ["esus_agreed", "labels"]
    (event,) = s.pull_events()
    assert isinstance(event, SupplierProfileUpdated) and event.source is ProfileChangeSource.MEMBERSHIP
    assert event.labels == ["esus", "rge"] and event.changed_fields == ["labels"]
    # an older membership event, replayed, changes nothing
    assert s.refresh_identity(identity(esus_agreed=False, as_of=AT), at=later) == []
    assert s.labels == ["esus", "rge"]


def test_an_update_names_what_changed_and_nothing_changed_records_nothing():
    s = profile()
    s.pull_events()
    later = AT + timedelta(hours=1)
    assert s.update(at=later, sectors=["circular_economy"]) == []
    assert not s.pending_events
    assert s.update(at=later, sectors=["food"], base_commune="94028", labels=["lucie"],
                    serves={"radius_km": 20}) == ["sectors", "labels", "base_commune", "serves"]
    (event,) = s.pull_events()
    assert event.changed_fields == ["sectors", "labels", "base_commune", "serves"]
    assert (event.base_commune, event.base_departement, event.radius_km) == ("94028", "94", 20)
    assert event.source is ProfileChangeSource.STAFF and s.updated_at == later


def test_archive_then_no_change():
    s = profile()
    s.archive(at=AT + timedelta(days=1))
    assert isinstance(s.pull_events()[-1], SupplierArchived)
    with pytest.raises(Conflict):
        s.archive(at=AT + timedelta(days=2))
    with pytest.raises(Conflict):
        s.update(at=AT + timedelta(days=2), sectors=["food"])


@pytest.mark.parametrize("changes, field", [
    ({"sectors": []}, "sectors"),
    ({"sectors": ["spaceflight"]}, "sectors.0"),
    ({"sectors": ["food", "food"]}, "sectors.1"),
    ({"kinds": ["ei", "siae"]}, "kinds.1"),
    ({"base_commune": "99999"}, "base_commune"),
    ({"base_commune": ""}, "base_commune"),
    ({"base_commune": None}, "base_commune"),
    ({"serves": {"communes": ["93048", "00000"]}}, "serves.communes.1"),
    ({"serves": {"communes": ["93048", "93048"]}}, "serves.communes.1"),
    ({"serves": {"departements": ["93", "20"]}}, "serves.departements.1"),
    ({"serves": {"departements": ["93", "093"]}}, "serves.departements.1"),
    ({"serves": {"radius_km": 301}}, "serves.radius_km"),
    ({"serves": {"radius_km": -1}}, "serves.radius_km"),
    ({"serves": {"radius_km": 2**70}}, "serves.radius_km"),
    ({"serves": {"radius_km": True}}, "serves.radius_km"),
    ({"serves": {"planet": "Mars"}}, "serves.planet"),
    ({"services": ["a", " "]}, "services.1"),
    ({"services": ["Collecte", "collecte"]}, "services.1"),
    ({"services": ["x" * 201]}, "services.0"),
    ({"capacity": {"max_contract_cents": -1}}, "capacity.max_contract_cents"),
    ({"capacity": {"headcount_available": 10**12}}, "capacity.headcount_available"),
    ({"references": [{"client_name": "Ville", "year": 2007}]}, "references.0.year"),  # after AT: the future
    ({"references": [{"client_name": "Ville", "year": 1899}]}, "references.0.year"),
    ({"references": [{"client_name": "", "year": 2005}]}, "references.0.client_name"),
    ({"past_contracts": [{"buyer_name": "B", "year": 2005}]}, "past_contracts.0.amount_cents"),
    ({"past_contracts": [{"buyer_name": "B", "year": 2005, "amount_cents": 1, "reserved_article": "l9"}]},
     "past_contracts.0.reserved_article"),
    ({"past_contracts": [{"buyer_name": "B", "year": 2005, "amount_cents": 1, "decp_id": "d"},
                         {"buyer_name": "C", "year": 2004, "amount_cents": 2, "decp_id": "d"}]}, "past_contracts.1"),
])
def test_hostile_and_wrong_values_are_refused_naming_the_field(changes, field):
    assert field_of(lambda: profile(**changes)) == field
    s = profile()
    assert field_of(lambda: s.update(at=AT, **changes)) == field


def test_time_must_be_aware():
    assert field_of(lambda: profile(at=datetime(2006, 3, 1))) == "at"
