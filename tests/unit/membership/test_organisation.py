from datetime import date as D

import pytest

from contracts.membership import ContactAdded, ContactRemoved, OrganisationRegistered, OrganisationUpdated
from runtime.errors import Conflict, InvalidInput, NotFound
from services.membership.domain import ContactRole, LegalForm, Organisation

from .conftest import VALID_SIRET, make_org


def test_register_records_event_with_public_profile():
    org = make_org("org-42", legal_form="scic", departement="2a", esus_agreed=True, esus_agreed_on=D(2021, 6, 15))
    assert org.legal_form is LegalForm.SCIC and org.departement == "2A" and org.version == 0
    [event] = org.pull_events()
    assert isinstance(event, OrganisationRegistered)
    assert event.aggregate_id == "org-42" and event.siret == VALID_SIRET
    assert event.esus_agreed_on == D(2021, 6, 15) and event.registered_on == D(2024, 1, 10)


def test_legal_forms_have_french_labels():
    assert LegalForm.SCESS.label.startswith("Société commerciale de l'ESS")
    assert LegalForm.SCESS.is_commercial_company
    assert not any(f.is_commercial_company for f in LegalForm if f is not LegalForm.SCESS)
    assert all(f.label for f in LegalForm)


@pytest.mark.parametrize("code", ["01", "1", "19", "2A", "2b", "21", "75", "95", "971", "974", "976"])
def test_valid_departements(code):
    make_org(departement=code)


@pytest.mark.parametrize("code", ["00", "20", "96", "975", "977", "99", "3A", "", "750"])
def test_invalid_departements(code):
    with pytest.raises(InvalidInput) as exc:
        make_org(departement=code)
    assert exc.value.field == "departement"


@pytest.mark.parametrize("overrides,field", [
    ({"siret": "73282932000075"}, "siret"),
    ({"legal_form": "sarl"}, "legal_form"),
    ({"name": "  "}, "name"),
    ({"commune": ""}, "commune"),
    ({"sector": ""}, "sector"),
    ({"headcount": -1}, "headcount"),
    ({"annual_budget_cents": -5}, "annual_budget_cents"),
    ({"esus_agreed": True}, "esus_agreed_on"),                                   # date required iff agreed
    ({"esus_agreed": False, "esus_agreed_on": D(2020, 1, 1)}, "esus_agreed_on"),
    ({"esus_agreed": True, "esus_agreed_on": D(2024, 1, 11)}, "esus_agreed_on"),  # after `on`: future
])
def test_register_rejects_bad_input(overrides, field):
    with pytest.raises(InvalidInput) as exc:
        make_org(**overrides)
    assert exc.value.field == field


def test_update_changes_given_fields_and_records_whole_profile(org):
    changed = org.update(on=D(2024, 3, 1), headcount=12, annual_budget_cents=20_000_000, name=org.name)
    assert changed == ["headcount", "annual_budget_cents"]
    [event] = org.pull_events()
    assert isinstance(event, OrganisationUpdated)
    assert event.changed_fields == changed and event.headcount == 12 and event.siret == org.siret
    assert event.updated_on == D(2024, 3, 1)


def test_update_esus_agreement_and_withdrawal_of_it(org):
    org.update(on=D(2024, 3, 1), esus_agreed=True, esus_agreed_on=D(2024, 2, 1))
    assert org.esus_agreed and org.pull_events()[0].changed_fields == ["esus_agreed", "esus_agreed_on"]
    org.update(on=D(2024, 4, 1), esus_agreed=False, esus_agreed_on=None)
    assert org.esus_agreed_on is None


def test_update_validates_the_resulting_profile_and_keeps_state_on_error(org):
    with pytest.raises(InvalidInput) as exc:
        org.update(on=D(2024, 3, 1), headcount=3, esus_agreed=True)
    assert exc.value.field == "esus_agreed_on"
    assert org.headcount == 5 and org.pull_events() == []


def test_update_without_change_records_nothing(org):
    assert org.update(on=D(2024, 3, 1), headcount=org.headcount) == []
    assert org.pull_events() == []


def test_contacts_are_added_without_personal_data_in_events(org):
    contact = org.add_contact("ct-1", name="Camille Martin", role="membership_contact", email="camille@example.org",
                              phone="+33 1 23 45 67 89", consent_on=D(2024, 1, 10), on=D(2024, 1, 12))
    assert contact.role is ContactRole.MEMBERSHIP_CONTACT and org.contact("ct-1") == contact
    [event] = org.pull_events()
    assert isinstance(event, ContactAdded) and event.aggregate_id == org.id
    dumped = str(event.model_dump(mode="json"))
    assert "Camille" not in dumped and "example.org" not in dumped and "45 67" not in dumped


@pytest.mark.parametrize("kwargs,field", [
    ({"name": ""}, "name"),
    ({"role": "boss"}, "role"),
    ({"email": "not-an-email"}, "email"),
    ({"phone": "call me"}, "phone"),
    ({"consent_on": D(2024, 2, 1)}, "consent_on"),
])
def test_add_contact_rejects_bad_input(org, kwargs, field):
    args = dict(name="Camille Martin", role="finance", email=None, phone=None, consent_on=D(2024, 1, 10),
                on=D(2024, 1, 12))
    args.update(kwargs)
    with pytest.raises(InvalidInput) as exc:
        org.add_contact("ct-1", **args)
    assert exc.value.field == field


def test_duplicate_contact_is_a_conflict(org):
    org.add_contact("ct-1", name="A", role="finance", consent_on=D(2024, 1, 10), on=D(2024, 1, 12))
    with pytest.raises(Conflict):
        org.add_contact("ct-1", name="B", role="finance", consent_on=D(2024, 1, 10), on=D(2024, 1, 12))


def test_remove_contact_erases_it(org):
    org.add_contact("ct-1", name="A", role="finance", email="a@b.fr", consent_on=D(2024, 1, 10), on=D(2024, 1, 12))
    org.pull_events()
    org.remove_contact("ct-1", on=D(2024, 6, 1))
    assert org.contacts == [] and "a@b.fr" not in org.model_dump_json()
    [event] = org.pull_events()
    assert isinstance(event, ContactRemoved) and event.contact_id == "ct-1" and event.role is ContactRole.FINANCE
    with pytest.raises(NotFound):
        org.remove_contact("ct-1", on=D(2024, 6, 1))


def test_json_round_trip(org):
    org.add_contact("ct-1", name="A", role="director", email="a@b.fr", consent_on=D(2024, 1, 10), on=D(2024, 1, 12))
    org.update(on=D(2024, 2, 1), esus_agreed=True, esus_agreed_on=D(2023, 5, 1))
    org.pull_events()
    org.version = 3
    data = org.model_dump(mode="json")
    back = Organisation.model_validate(data)
    assert back == org and back.model_dump(mode="json") == data


def test_the_profile_is_stored_as_normalised():
    org = make_org(siret="732 829 320 00074", name="  Les Ateliers  ", legal_form="scic", commune=" Montreuil ",
                   sector=" recyclage ")
    assert (org.siret, org.name, org.legal_form, org.commune, org.sector) == \
        (VALID_SIRET, "Les Ateliers", LegalForm.SCIC, "Montreuil", "recyclage")
    [event] = org.pull_events()
    assert (event.siret, event.name, event.commune, event.sector) == (VALID_SIRET, "Les Ateliers", "Montreuil",
                                                                      "recyclage")


@pytest.mark.parametrize("field", ["commune", "sector"])
def test_a_commune_or_sector_is_at_most_100_characters(field):
    assert getattr(make_org(**{field: "c" * 100}), field) == "c" * 100
    with pytest.raises(InvalidInput) as exc:
        make_org(**{field: "c" * 101})
    assert exc.value.field == field


def test_the_esus_refusals_say_why():
    for overrides, field, why in (
            ({"esus_agreed": "yes"}, "esus_agreed", "esus_agreed must be true or false"),
            ({"esus_agreed": True}, "esus_agreed_on", "the date of the ESUS agreement is required when agreed"),
            ({"esus_agreed_on": D(2020, 1, 1)}, "esus_agreed_on", "no ESUS agreement date without the agreement"),
            ({"esus_agreed": True, "esus_agreed_on": D(2024, 1, 11)}, "esus_agreed_on",
             "the ESUS agreement date 2024-01-11 is in the future")):
        with pytest.raises(InvalidInput) as exc:
            make_org(**overrides)
        assert (exc.value.field, exc.value.detail) == (field, why)
    assert make_org(esus_agreed=True, esus_agreed_on=D(2024, 1, 10)).esus_agreed  # agreed the day it registers


def test_an_organisation_needs_an_id():
    with pytest.raises(InvalidInput) as exc:
        make_org(" ")
    assert exc.value.field == "organisation_id"


def test_the_contact_refusals_say_why(org):
    with pytest.raises(InvalidInput) as exc:
        org.add_contact(" ", name="A", role="finance", consent_on=D(2024, 1, 10), on=D(2024, 1, 12))
    assert exc.value.field == "contact_id"
    with pytest.raises(InvalidInput) as exc:
        org.add_contact("ct-1", name="A", role="finance", consent_on=D(2024, 1, 13), on=D(2024, 1, 12))
    assert exc.value.detail == "consent date 2024-01-13 is after 2024-01-12"
    org.add_contact("ct-1", name="A", role="finance", consent_on=D(2024, 1, 12), on=D(2024, 1, 12))  # same day
    with pytest.raises(Conflict) as exc:
        org.add_contact("ct-1", name="B", role="finance", consent_on=D(2024, 1, 10), on=D(2024, 1, 12))
    assert exc.value.detail == "organisation org-1 already has a contact ct-1" and exc.value.extra == {
        "contact_id": "ct-1"}
    with pytest.raises(NotFound) as exc:
        org.remove_contact("ct-9", on=D(2024, 6, 1))
    assert exc.value.detail == "organisation org-1 has no contact ct-9" and exc.value.extra == {"contact_id": "ct-9"}
