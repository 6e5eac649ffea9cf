import inspect
from datetime import date

import pytest

import contracts.membership as cm
from contracts.base import DomainEvent, event_class, registered_events
from contracts.topics import topic_for

EVENT_MODELS = [obj for _, obj in inspect.getmembers(cm, inspect.isclass)
                if issubclass(obj, DomainEvent) and "event_type" in obj.__dict__]

EXPECTED = {
    "organisation": {"organisation-registered", "organisation-updated", "contact-added", "contact-removed"},
    "application": {"application-submitted", "welcome-meeting-held", "statutes-reviewed", "application-admitted",
                    "application-refused", "application-withdrawn"},
    "member": {"member-activated", "dues-invoiced", "dues-payment-recorded", "dues-reminder-sent",
               "membership-entered-grace-period", "membership-lapsed", "membership-renewed",
               "membership-withdrawn"},
    "fee_scale": {"fee-scale-adopted"},
    # governance
    "college_assignment": {"college-assigned"},
    "assembly": {"assembly-convened", "assembly-reconvened", "attendance-recorded", "proxy-given", "assembly-opened",
                 "assembly-quorum-not-reached", "ballot-cast", "resolution-adopted", "resolution-rejected",
                 "candidacy-registered", "assembly-closed"},
    "board": {"board-elected", "mandate-started", "mandate-ended"},
    "commission": {"commission-created", "commission-member-joined", "commission-member-left"},
    "erasure_request": {"personal-data-erasure-requested", "personal-data-erased", "personal-data-erasure-completed"},
}
ID_FIELDS = {"application": "application_id", "assembly": "assembly_id", "board": "board_id",
             "commission": "commission_id", "fee_scale": "year", "erasure_request": "request_id"}


def test_the_expected_event_set():
    got: dict[str, set[str]] = {}
    for model in EVENT_MODELS:
        got.setdefault(model.aggregate_type, set()).add(model.event_type.split(".")[3])
    assert got == EXPECTED


@pytest.mark.parametrize("model", EVENT_MODELS, ids=lambda m: m.__name__)
def test_every_event_belongs_to_its_aggregate_topic(model):
    assert model.event_type.startswith("org.cress.membership.") and model.event_type.endswith(".v1")
    assert event_class(model.event_type) is model and model.event_type in registered_events()
    topic = topic_for(model.event_type)
    assert topic.name == f"membership.{model.aggregate_type.replace('_', '-')}"
    assert topic.aggregate_type == model.aggregate_type
    assert model.aggregate_id_field == ID_FIELDS.get(model.aggregate_type, "organisation_id")


@pytest.mark.parametrize("model", EVENT_MODELS, ids=lambda m: m.__name__)
def test_every_field_is_documented_with_examples(model):
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} has no description"
        assert field.examples, f"{model.__name__}.{name} has no example"


@pytest.mark.parametrize("model", EVENT_MODELS, ids=lambda m: m.__name__)
def test_examples_build_a_valid_event_that_round_trips(model):
    data = {name: field.examples[0] for name, field in model.model_fields.items()}
    event = model.model_validate(data)
    assert model.model_validate(event.model_dump(mode="json")) == event
    assert event.aggregate_id == str(data[model.aggregate_id_field])


PERSONAL = ("email", "phone", "first_name", "last_name", "contact_name")


@pytest.mark.parametrize("model", EVENT_MODELS, ids=lambda m: m.__name__)
def test_no_personal_data_fields(model):
    assert not [f for f in model.model_fields if any(p in f for p in PERSONAL)]


def test_events_are_frozen_and_tolerate_unknown_fields():
    e = cm.ContactAdded(organisation_id="o", contact_id="c", role="finance", added_on=date(2024, 1, 1))
    assert cm.ContactAdded.model_validate({**e.model_dump(mode="json"), "new_optional": 1}) == e
    with pytest.raises(Exception):
        e.role = "other"  # type: ignore[misc]
