"""The event contracts: committed schemas, compatibility within a version, envelope, catalogue."""
from __future__ import annotations

import copy
import json
from datetime import date

import pytest
from jsonschema import Draft202012Validator

from contracts.asyncapi import asyncapi_document
from contracts.base import registered_events
from contracts.envelope import CloudEvent, EnvelopeError
from contracts.membership import MemberActivated, OrganisationRegistered
from contracts.schemas import SCHEMA_DIR, check, generate, incompatibilities
from contracts.topics import all_topics, catalogue, topic_for


def test_committed_schemas_are_up_to_date_and_compatible():
    assert check() == []


def test_every_event_type_is_versioned_reverse_dns_and_has_one_topic():
    events = registered_events()
    assert len(events) >= 17
    for event_type in events:
        assert event_type.startswith("org.cress.") and event_type.rsplit(".", 1)[1].startswith("v")
        owners = [t for t in catalogue() if event_type in t.event_types]
        assert len(owners) == 1, event_type
        assert owners[0].service == event_type.split(".")[2]


def test_catalogue_names_are_unique_and_each_topic_has_a_dead_letter_sibling():
    names = [t.name for t in all_topics()]
    assert len(names) == len(set(names))
    for topic in catalogue():
        assert topic.name + ".dlq" in names
        assert topic.event_types, f"{topic.name} carries no event"


SCHEMA = generate()["org.cress.membership.member-activated.v1"]


def test_adding_an_optional_field_is_compatible():
    new = copy.deepcopy(SCHEMA)
    new["properties"]["region"] = {"type": "string", "default": "11"}
    assert incompatibilities(SCHEMA, new) == []


@pytest.mark.parametrize("change, expected", [
    (lambda s: s["properties"].pop("sector"), "field 'sector' was removed"),
    (lambda s: s["properties"].__setitem__("year", {"type": "string"}), "field 'year' changed its schema"),
    (lambda s: (s["properties"].__setitem__("region", {"type": "string"}), s["required"].append("region")),
     "new field 'region' is required"),
    (lambda s: s["required"].append("application_id") or s["properties"].__setitem__(
        "note", {"type": "string"}) or s["required"].append("note"), "new field 'note' is required"),
])
def test_incompatible_changes_within_a_version_are_caught(change, expected):
    new = copy.deepcopy(SCHEMA)
    change(new)
    assert any(expected in p for p in incompatibilities(SCHEMA, new)), incompatibilities(SCHEMA, new)


def test_making_an_optional_field_required_is_caught():
    new = generate()["org.cress.membership.application-admitted.v1"]
    old = copy.deepcopy(new)
    old["required"].remove("board_meeting_ref")
    assert any("became required" in p for p in incompatibilities(old, new))


def test_check_reports_a_removed_event_type(tmp_path):
    previous = {p.stem: json.loads(p.read_text()) for p in SCHEMA_DIR.glob("*.json")}
    previous["org.cress.membership.member-teleported.v1"] = SCHEMA
    problems = check(previous)
    assert problems == ["org.cress.membership.member-teleported.v1: event type removed "
                        "(publish it until its consumers migrate)"]


def test_event_examples_validate_against_their_committed_schema():
    event = OrganisationRegistered(organisation_id="org-1", siret="73282932000074", name="Les Ateliers",
                                   legal_form="association", esus_agreed=False, esus_agreed_on=None,
                                   departement="93", commune="Montreuil", sector="économie circulaire",
                                   headcount=3, annual_budget_cents=1_000_000, registered_on=date(2026, 1, 2))
    schema = json.loads((SCHEMA_DIR / f"{event.event_type}.json").read_text())
    Draft202012Validator(schema).validate(event.model_dump(mode="json"))


def test_envelope_round_trips_in_kafka_binary_mode():
    event = MemberActivated(organisation_id="org-1", application_id="app-1", legal_form="scic", departement="75",
                            sector="alimentation", esus_agreed=True, since=date(2026, 3, 1), year=2026,
                            dues_cents=15_000)
    envelope = CloudEvent.from_domain(event, source="/cress/membership", correlation_id="c-1", causation_id="e-0")
    headers = dict(envelope.kafka_headers())
    assert headers["ce_specversion"] == b"1.0" and headers["ce_type"] == event.event_type.encode()
    assert headers["ce_subject"] == b"org-1" and headers["content-type"] == b"application/json"
    assert headers["ce_time"].endswith(b"Z")
    assert envelope.kafka_key() == b"org-1"
    back = CloudEvent.from_kafka(envelope.kafka_headers(), envelope.kafka_value())
    assert back.id == envelope.id and back.correlationid == "c-1" and back.causationid == "e-0"
    assert back.to_domain() == event
    assert topic_for(event.event_type).name == "membership.member"


@pytest.mark.parametrize("headers, value, message", [
    ([], b"{}", "missing CloudEvents header"),
    ([("ce_id", b"1"), ("ce_source", b"/x"), ("ce_type", b"t"), ("ce_specversion", b"0.3")], b"{}",
     "unsupported ce_specversion"),
    ([("ce_id", b"1"), ("ce_source", b"/x"), ("ce_type", b"t"), ("ce_specversion", b"1.0")], b"{oops",
     "not JSON"),
    ([("ce_id", b"1"), ("ce_source", b"/x"), ("ce_type", b"t"), ("ce_specversion", b"1.0")], b"[1]",
     "not a JSON object"),
])
def test_invalid_envelopes_are_rejected_with_a_reason(headers, value, message):
    with pytest.raises(EnvelopeError, match=message):
        CloudEvent.from_kafka(headers, value)


def test_unknown_type_and_invalid_data_are_rejected():
    base = [("ce_id", b"1"), ("ce_source", b"/x"), ("ce_specversion", b"1.0")]
    with pytest.raises(EnvelopeError, match="unknown event type"):
        CloudEvent.from_kafka(base + [("ce_type", b"org.cress.membership.nothing.v1")], b"{}").to_domain()
    with pytest.raises(EnvelopeError, match="invalid data"):
        CloudEvent.from_kafka(base + [("ce_type", MemberActivated.event_type.encode())], b"{}").to_domain()


def test_a_consumer_reads_a_newer_revision_with_extra_optional_fields():
    data = {"organisation_id": "org-1", "application_id": "app-1", "legal_form": "scic", "departement": "75",
            "sector": "alimentation", "esus_agreed": False, "since": "2026-03-01", "year": 2026,
            "dues_cents": 100, "region": "11"}
    assert MemberActivated.model_validate(data).organisation_id == "org-1"


def test_asyncapi_document_lists_every_topic_and_message():
    doc = asyncapi_document()
    assert doc["asyncapi"] == "3.0.0"
    assert {c["address"] for c in doc["channels"].values()} == {t.name for t in all_topics()}
    assert len(doc["components"]["messages"]) == len(registered_events())
    for operation in doc["operations"].values():
        assert operation["action"] == "send"
    json.dumps(doc)  # serialisable as served
