"""The endpoint aggregate: creation rules, headers, updates, enabling, secret rotation; and the
contracts partners receive carry no personal data."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from standardwebhooks import Webhook

from contracts.base import registered_events
from contracts.webhooks import DisabledReason, EndpointCreated, EndpointDisabled, EndpointSecretRotated
from runtime.errors import Conflict, InvalidInput
from services.webhooks.domain.addresses import AllowList
from services.webhooks.domain.endpoints import Endpoint, EndpointRules
from services.webhooks.domain.signing import webhook_headers
from services.webhooks.service_layer.endpoints import deliverable_types

AT = datetime(2024, 5, 2, 9, 30, tzinfo=timezone.utc)
RULES = EndpointRules(event_types=["org.cress.events.event-published.v1", "org.cress.membership.member-activated.v1"],
                      allow=AllowList.parse(["127.0.0.1/32"]), secret_grace=timedelta(hours=24))


def endpoint(**overrides) -> Endpoint:
    fields = {"partner_id": "partner-a", "url": "https://hooks.partner.example/x", "event_types": ["org.cress.*"],
              **overrides}
    return Endpoint.create("ep-1", rules=RULES, at=AT, **fields)


def test_creation_records_its_event_without_the_secret_nor_the_url():
    e = endpoint(headers={"X-Token": "t"}, rate_limit_per_second=5)
    [event] = e.pending_events
    assert isinstance(event, EndpointCreated) and event.partner_id == "partner-a"
    dumped = event.model_dump_json()
    assert e.secrets[0].key not in dumped and "hooks.partner.example" not in dumped
    assert e.secrets[0].key.startswith("whsec_") and e.enabled


@pytest.mark.parametrize("headers, field", [
    ({"Connection": "close"}, "headers.Connection"), ({"webhook-id": "x"}, "headers.webhook-id"),
    ({"Transfer-Encoding": "chunked"}, "headers.Transfer-Encoding"), ({"Host": "evil"}, "headers.Host"),
    ({"X-Ok": "a\r\nX-Injected: 1"}, "headers.X-Ok"), ({"bad name": "x"}, "headers.bad name"),
    ({"Webhook-Signature": "v1,x"}, "headers.Webhook-Signature"),
])
def test_refused_headers(headers, field):
    with pytest.raises(InvalidInput) as e:
        endpoint(headers=headers)
    assert e.value.field == field


@pytest.mark.parametrize("overrides, field", [
    ({"url": "http://hooks.partner.example/"}, "url"), ({"url": "https://10.0.0.8/h"}, "url"),
    ({"event_types": ["org.cress.nothing.*"]}, "event_types.0"), ({"rate_limit_per_second": 0}, "rate_limit_per_second"),
    ({"rate_limit_per_second": 10**9}, "rate_limit_per_second"), ({"partner_id": ""}, "partner_id"),
    ({"secret": "whsec_short"}, "secret"),
])
def test_refused_settings(overrides, field):
    with pytest.raises(InvalidInput) as e:
        endpoint(**overrides)
    assert e.value.field == field


def test_update_records_what_changed_and_nothing_when_nothing_did():
    e = endpoint()
    e.pull_events()
    assert e.update(at=AT, rules=RULES, url="https://hooks.partner.example/x") == []
    assert e.pending_events == ()
    assert e.update(at=AT, rules=RULES, url="https://other.example/", rate_limit_per_second=3) == \
        ["url", "rate_limit_per_second"]
    assert e.pending_events[0].changed == ["url", "rate_limit_per_second"]


def test_disable_and_enable_are_steps_in_order():
    e = endpoint()
    e.disable(reason=DisabledReason.FAILING, at=AT, failing_since=AT - timedelta(days=5))
    assert isinstance(e.pending_events[-1], EndpointDisabled) and e.pending_events[-1].failing_since is not None
    with pytest.raises(Conflict):
        e.disable(reason=DisabledReason.BY_PARTNER, at=AT)
    e.enable(at=AT)
    assert e.enabled and e.disabled_reason is None
    with pytest.raises(Conflict):
        e.enable(at=AT)
    e.delete(at=AT)
    with pytest.raises(Conflict):
        e.enable(at=AT)


def test_rotation_signs_with_both_secrets_during_the_grace_period_then_only_the_new():
    e = endpoint()
    old = e.secrets[0].key
    new = e.rotate_secret(at=AT, grace=timedelta(hours=24))
    assert isinstance(e.pending_events[-1], EndpointSecretRotated)
    assert new not in e.pending_events[-1].model_dump_json() and old not in e.pending_events[-1].model_dump_json()
    assert e.signing_keys(AT + timedelta(hours=23)) == [new, old]
    assert e.signing_keys(AT + timedelta(hours=24)) == [new]
    now = datetime.now(timezone.utc)
    headers = webhook_headers(e.signing_keys(AT + timedelta(hours=1)), "evt-1", now, "{}")
    Webhook(old).verify("{}", headers)
    Webhook(new).verify("{}", headers)
    third = e.rotate_secret(at=AT + timedelta(hours=30), grace=timedelta(hours=24))  # the expired one is dropped
    assert [s.key for s in e.secrets] == [third, new]
    with pytest.raises(InvalidInput):
        e.rotate_secret(at=AT + timedelta(hours=31), grace=timedelta(hours=1), secret=third)


_PERSONAL = re.compile(r"(e_?mail|phone|first_?name|last_?name|full_?name|surname|birth|address|iban|contact_name)")


def test_events_partners_receive_carry_no_personal_data():
    """Webhook bodies are built from the event models: their fields must stay free of personal data
    (an organisation's or a buyer's name is a legal entity's, not a person's)."""
    events = registered_events()
    offending = {t: [f for f in events[t].model_fields if _PERSONAL.search(f)] for t in deliverable_types()}
    assert {t: f for t, f in offending.items() if f} == {}
    assert not any(t.startswith("org.cress.webhooks.") for t in deliverable_types())
    assert not any("personal-data" in t for t in deliverable_types())  # the GDPR bookkeeping stays in


# -- signing secrets at rest (the endpoints' stored form) -------------------------------------------

def test_an_endpoint_is_stored_with_its_secrets_sealed_and_read_back_with_them_open():
    from cryptography.fernet import Fernet

    from runtime.mongo import from_document, to_document
    from runtime.sealing import SecretBox
    from services.webhooks.adapters.repository import sealed_secrets

    form = sealed_secrets(SecretBox(Fernet.generate_key().decode()))
    e = endpoint()
    e.rotate_secret(at=AT + timedelta(hours=1), grace=timedelta(hours=24))
    keys = [s.key for s in e.secrets]
    stored = form.store(to_document(e))
    assert all(s["key"].startswith("fernet:") for s in stored["secrets"])
    assert not any(k in repr(stored) or k.removeprefix("whsec_") in repr(stored) for k in keys)
    with pytest.raises(ValueError, match="whsec_"):  # read without opening: refused, never signing with a token
        from_document(Endpoint, stored)
    back = from_document(Endpoint, form.load(stored))
    assert [s.key for s in back.secrets] == keys and back.signing_keys(AT + timedelta(hours=2)) == keys
    legacy = to_document(e)  # stored in clear before encryption came: still read
    assert [s.key for s in from_document(Endpoint, form.load(legacy)).secrets] == keys
