"""The Supplier aggregate: profile, edit, identity from membership, archive, and hostile input."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from contracts.procurement.suppliers import (ProfileChangeSource, SupplierArchived, SupplierProfiled,
                                             SupplierProfileUpdated)
from runtime.errors import Conflict, InvalidInput
from services.procurement.domain.suppliers import Capacity, Identity, Serves, Supplier

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


def test_a_profile_keeps_every_field_given_and_its_times():
    s = profile(identity=identity(esus_agreed=True), kinds=["ei", "esat"], labels=["rge"], services=["Collecte"],
                serves={"departements": ["94"], "communes": ["75111"], "radius_km": 30},
                capacity={"headcount_available": 3}, references=[{"client_name": "Ville", "year": 2005}],
                past_contracts=[{"buyer_name": "B", "year": 2005, "amount_cents": 1}])
    assert (s.id, s.organisation_id, s.sectors, s.kinds, s.services) == \
        ("sup-1", "org-1", ["circular_economy"], ["ei", "esat"], ["Collecte"])
    assert (s.declared_labels, s.labels) == (["rge"], ["esus", "rge"])
    assert s.serves.model_dump() == {"departements": ["94"], "communes": ["75111"], "radius_km": 30}
    assert s.capacity.headcount_available == 3 and s.capacity.max_contract_cents is None
    assert [r.client_name for r in s.references] == ["Ville"] and [c.buyer_name for c in s.past_contracts] == ["B"]
    assert (s.profiled_at, s.updated_at, s.archived_at) == (AT, AT, None) and s.active
    (event,) = s.pull_events()
    expected = {"supplier_id": "sup-1", "organisation_id": "org-1", "sectors": ["circular_economy"],
                "kinds": ["ei", "esat"], "labels": ["esus", "rge"], "base_commune": "93048", "base_departement": "93",
                "departements": ["94"], "communes": ["75111"], "radius_km": 30, "profiled_at": AT}
    dumped = event.model_dump()
    assert {name: dumped[name] for name in expected} == expected
    # omitted: empty lists, an empty territory and capacity
    bare = profile()
    assert (bare.services, bare.kinds, bare.labels, bare.references, bare.past_contracts) == ([], [], [], [], [])
    assert bare.serves == Serves() and bare.capacity == Capacity()


def test_a_profiles_ids_are_required_texts_of_100_characters():
    longest = Supplier.profile("s" * 100, organisation_id="o" * 100, identity=identity(), sectors=["food"],
                               base_commune="93048", at=AT)
    assert (longest.id, longest.organisation_id) == ("s" * 100, "o" * 100)
    with pytest.raises(InvalidInput, match="^supplier_id is longer than 100 characters$"):
        Supplier.profile("s" * 101, organisation_id="org-1", identity=identity(), sectors=["food"],
                         base_commune="93048", at=AT)
    with pytest.raises(InvalidInput, match="^organisation_id is longer than 100 characters$"):
        profile(organisation_id="o" * 101)
    with pytest.raises(InvalidInput, match="^organisation_id is required$"):
        profile(organisation_id=" ")


def test_an_update_changes_each_field_given_keeps_the_others_and_reports_them_in_order():
    s = profile(identity=identity(esus_agreed=True), labels=["rge"], services=["A"], kinds=["ei"],
                capacity={"headcount_available": 1})
    s.pull_events()
    later = AT + timedelta(hours=1)
    changed = s.update(at=later, services=["B"], kinds=["esat"], capacity={"headcount_available": 2},
                       references=[{"client_name": "Ville", "year": 2005}],
                       past_contracts=[{"buyer_name": "B", "year": 2005, "amount_cents": 1}], labels=["lucie"],
                       serves={"communes": ["75111"]})
    assert changed == ["services", "kinds", "labels", "serves", "capacity", "references", "past_contracts"]
    assert (s.services, s.kinds, s.declared_labels, s.labels) == (["B"], ["esat"], ["lucie"], ["esus", "lucie"])
    assert s.serves.communes == ["75111"] and s.capacity.headcount_available == 2
    assert [r.client_name for r in s.references] == ["Ville"] and [c.amount_cents for c in s.past_contracts] == [1]
    assert s.sectors == ["circular_economy"] and s.base.commune == "93048"
    (event,) = s.pull_events()
    assert event.changed_fields == changed and event.updated_at == later and event.labels == ["esus", "lucie"]
    assert (event.communes, event.kinds) == (["75111"], ["esat"])
    # a change dated before the last one keeps the profile's time
    assert s.update(at=AT, services=["C"]) == ["services"]
    assert s.updated_at == later and s.pull_events()[0].updated_at == later


def test_membership_refresh_keeps_older_copies_out_and_dates_the_label_change():
    s = profile(labels=["rge"])
    s.pull_events()
    s.update(at=AT + timedelta(days=2), services=["A"])
    s.pull_events()
    # an event as old as the copy is taken (two membership events of the same instant: the later delivered)
    assert s.refresh_identity(identity(name="Recyclerie du Val SCIC"), at=AT) == ["name"] and not s.pending_events
    assert s.identity.name == "Recyclerie du Val SCIC"
    assert s.refresh_identity(identity(name="Recyclerie du Val SCIC", siret="44306184100047", legal_form="scic",
                                       departement="94",
                                       commune_name="Créteil", as_of=AT),
                              at=AT) == ["siret", "legal_form", "departement", "commune_name"]
    assert s.identity.as_of == AT and s.identity.commune_name == "Créteil"
    assert s.refresh_identity(identity(esus_agreed=True, as_of=AT), at=AT + timedelta(days=1)) == \
        ["name", "siret", "legal_form", "esus_agreed", "departement", "commune_name", "labels"]
    assert s.labels == ["esus", "rge"] and s.updated_at == AT + timedelta(days=2)
    (event,) = s.pull_events()
    assert event.updated_at == AT + timedelta(days=2) and event.changed_fields == ["labels"]
    assert s.refresh_identity(identity(esus_agreed=False, as_of=AT + timedelta(days=9)),
                              at=AT + timedelta(days=9)) == ["esus_agreed", "labels"]
    assert s.labels == ["rge"] and s.updated_at == AT + timedelta(days=9)
    # an archived profile keeps its copy up to date
    s.archive(at=AT + timedelta(days=10))
    assert s.refresh_identity(identity(name="Autre", as_of=AT + timedelta(days=11)),
                              at=AT + timedelta(days=11)) == ["name"]
    assert s.identity.name == "Autre"
    with pytest.raises(InvalidInput, match="^the time of a change must be a timezone-aware datetime$"):
        s.refresh_identity(identity(), at=datetime(2006, 3, 1))


def test_archiving_dates_it_no_earlier_than_the_last_change_and_says_why_it_refuses():
    s = profile()
    s.update(at=AT + timedelta(days=3), services=["A"])
    s.pull_events()
    s.archive(at=AT + timedelta(days=1))
    assert (s.status.value, s.active, s.archived_at) == ("archived", False, AT + timedelta(days=3))
    (event,) = s.pull_events()
    assert isinstance(event, SupplierArchived)
    assert (event.supplier_id, event.organisation_id, event.archived_at) == ("sup-1", "org-1", AT + timedelta(days=3))
    with pytest.raises(Conflict, match="^supplier sup-1 is archived: cannot archive it$") as err:
        s.archive(at=AT + timedelta(days=4))
    assert err.value.extra == {"current_state": "archived"}
    with pytest.raises(Conflict, match="^supplier sup-1 is archived: cannot change it$"):
        s.update(at=AT + timedelta(days=4), sectors=["food"])
    later = profile()
    later.archive(at=AT + timedelta(days=5))
    assert later.archived_at == AT + timedelta(days=5)
