"""The endpoint aggregate: creation rules, headers, updates, enabling, secret rotation; and the
contracts partners receive carry no personal data."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo

import pytest
from standardwebhooks import Webhook

from contracts.base import registered_events
from contracts.webhooks import DisabledReason, EndpointCreated, EndpointDeleted, EndpointDisabled, EndpointEnabled, \
    EndpointSecretRotated, EndpointUpdated
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


# -- what the tests above left open (mutation testing, `make mutation`) ----------------------------------
CHOSEN = "whsec_" + "B" * 32


def test_creation_keeps_every_setting_and_its_event_says_them():
    e = endpoint(url="http://127.0.0.1:8080/h", description="  Our CRM  ", headers={"X-Token": "Bearer a\tb"},
                 rate_limit_per_second=5, secret=CHOSEN)
    assert (e.url, e.event_types, e.description, e.headers, e.rate_limit_per_second) == \
        ("http://127.0.0.1:8080/h", ["org.cress.*"], "Our CRM", {"X-Token": "Bearer a\tb"}, 5)
    assert (e.enabled, e.disabled_reason, e.disabled_at, e.created_at, e.updated_at) == (True, None, None, AT, AT)
    assert [(s.key, s.created_at, s.expires_at) for s in e.secrets] == [(CHOSEN, AT, None)]
    assert e.pending_events == (EndpointCreated(endpoint_id="ep-1", partner_id="partner-a", event_types=["org.cress.*"],
                                                enabled=True, rate_limit_per_second=5, created_at=AT),)


def test_an_endpoint_created_disabled_is_disabled_by_its_partner():
    e = endpoint(enabled=False)
    assert (e.enabled, e.disabled_reason, e.disabled_at) == (False, DisabledReason.BY_PARTNER, AT)
    assert e.pending_events[0].enabled is False
    with pytest.raises(InvalidInput) as err:
        endpoint(enabled="yes")
    assert (err.value.field, err.value.detail) == ("enabled", "enabled must be true or false")


class _NoOffset(tzinfo):
    def utcoffset(self, dt):
        return None


@pytest.mark.parametrize("at", ["2024-05-02T09:30:00Z", AT.replace(tzinfo=None), AT.replace(tzinfo=_NoOffset())])
def test_a_time_without_its_offset_is_refused(at):
    with pytest.raises(InvalidInput) as err:
        Endpoint.create("ep-1", partner_id="p", url="https://hooks.partner.example/x", event_types=["org.cress.*"],
                        rules=RULES, at=at)
    assert (err.value.field, err.value.detail) == ("at", f"at must be a timezone-aware date and time (got {at!r})")


def test_headers_up_to_twenty_values_up_to_1000_characters_spaces_and_tabs_allowed():
    twenty = {f"X-H{i}": "v" for i in range(20)}
    assert endpoint(headers=twenty).headers == twenty
    assert endpoint(headers={"X-Long": "a b" * 333 + "c"}).headers == {"X-Long": "a b" * 333 + "c"}
    assert endpoint(headers=None).headers == {}


@pytest.mark.parametrize("headers, field, detail", [
    ({f"X-H{i}": "v" for i in range(21)}, "headers", "headers has 21 entries; at most 20"),
    (["X-A"], "headers", "headers must be an object of header names to values"),
    ({"X-A": "1", "x-a": "2"}, "headers.x-a", "the header 'x-a' is given twice"),
    ({"X-Long": "a" * 1001}, "headers.X-Long", "the value of 'X-Long' must be text of at most 1000 characters "
                                                "without control characters"),
    ({"X-Del": "a\x7f"}, "headers.X-Del", "the value of 'X-Del' must be text of at most 1000 characters without "
                                           "control characters"),
    ({"X-Num": 3}, "headers.X-Num", "the value of 'X-Num' must be text of at most 1000 characters without "
                                     "control characters"),
    ({3: "x"}, "headers.3", "3 is not a valid header name"),
    ({"Host": "evil"}, "headers.Host", "the header 'Host' cannot be set: hop-by-hop, set by the platform, or a "
                                        "webhook-* header"),
])
def test_refused_headers_are_named_with_why(headers, field, detail):
    with pytest.raises(InvalidInput) as err:
        endpoint(headers=headers)
    assert (err.value.field, err.value.detail) == (field, detail)


def test_rate_limits_from_1_to_10000_whole_numbers_only():
    assert endpoint(rate_limit_per_second=1).rate_limit_per_second == 1
    assert endpoint(rate_limit_per_second=10_000).rate_limit_per_second == 10_000
    for bad in (True, "5", 2.5, 10_001):
        with pytest.raises(InvalidInput) as err:
            endpoint(rate_limit_per_second=bad)
        assert (err.value.field, err.value.detail) == (
            "rate_limit_per_second", f"rate_limit_per_second must be a whole number from 1 to 10000, or null "
                                     f"(got {bad!r})")


def test_a_description_of_at_most_500_characters():
    assert endpoint(description="d" * 500).description == "d" * 500
    with pytest.raises(InvalidInput) as err:
        endpoint(description="d" * 501)
    assert err.value.field == "description"


def test_update_changes_each_setting_checked_and_says_which():
    e = endpoint()
    e.pull_events()
    later = AT + timedelta(hours=1)
    changed = e.update(at=later, rules=RULES, url="http://127.0.0.1:9000/", event_types=["org.cress.events.*"],
                       description="CRM", headers={"X-A": "1"}, rate_limit_per_second=7)
    assert changed == ["url", "event_types", "description", "headers", "rate_limit_per_second"]
    assert (e.url, e.event_types, e.description, e.headers, e.rate_limit_per_second, e.updated_at) == \
        ("http://127.0.0.1:9000/", ["org.cress.events.*"], "CRM", {"X-A": "1"}, 7, later)
    assert e.pull_events() == [EndpointUpdated(endpoint_id="ep-1", partner_id="partner-a", changed=changed,
                                               event_types=["org.cress.events.*"], updated_at=later)]
    with pytest.raises(InvalidInput) as err:
        e.update(at=later, rules=RULES, description="d" * 501)
    assert err.value.field == "description"
    with pytest.raises(InvalidInput) as err:
        e.update(at=later, rules=RULES, enabled=False)
    assert (err.value.field, err.value.detail) == ("enabled", "enabled cannot be changed here")
    with pytest.raises(InvalidInput) as err:
        e.update(at=later, rules=RULES, secrets=[], enabled=False)
    assert err.value.field == "enabled"


def test_each_step_records_its_event_and_refuses_with_the_state_named():
    e = endpoint()
    e.pull_events()
    t1, t2, t3 = (AT + timedelta(hours=h) for h in (1, 2, 3))
    e.disable(reason=DisabledReason.BY_PARTNER, at=t1, failing_since=AT)
    assert (e.enabled, e.disabled_reason, e.disabled_at, e.updated_at) == (False, DisabledReason.BY_PARTNER, t1, t1)
    with pytest.raises(Conflict) as err:
        e.disable(reason=DisabledReason.BY_PARTNER, at=t1)
    assert err.value.extra == {"current_state": "disabled", "expected": "enable it first"}
    assert err.value.detail == "endpoint ep-1 is already disabled (by_partner)"
    e.enable(at=t2)
    assert (e.enabled, e.disabled_reason, e.disabled_at, e.updated_at) == (True, None, None, t2)
    with pytest.raises(Conflict) as err:
        e.enable(at=t2)
    assert (err.value.detail, err.value.extra) == ("endpoint ep-1 is already enabled", {"current_state": "enabled"})
    e.delete(at=t3)
    assert (e.enabled, e.deleted_at, e.updated_at) == (False, t3, t3)
    with pytest.raises(Conflict) as err:
        e.update(at=t3, rules=RULES, description="x")
    assert err.value.extra == {"current_state": "deleted"} and err.value.detail == "endpoint ep-1 was deleted"
    assert e.pull_events() == [
        EndpointDisabled(endpoint_id="ep-1", partner_id="partner-a", reason=DisabledReason.BY_PARTNER,
                         failing_since=None, disabled_at=t1),  # failing_since says why a failing one was disabled
        EndpointEnabled(endpoint_id="ep-1", partner_id="partner-a", enabled_at=t2),
        EndpointDeleted(endpoint_id="ep-1", partner_id="partner-a", deleted_at=t3)]


def test_a_second_rotation_within_the_grace_period_keeps_the_first_secret_s_end():
    e = endpoint()
    first = e.secrets[0].key
    second = e.rotate_secret(at=AT, grace=timedelta(hours=24))
    third = e.rotate_secret(at=AT + timedelta(hours=2), grace=timedelta(hours=24), secret=CHOSEN)
    assert third == CHOSEN and e.updated_at == AT + timedelta(hours=2)
    assert [(s.key, s.expires_at) for s in e.secrets] == \
        [(third, None), (second, AT + timedelta(hours=26)), (first, AT + timedelta(hours=24))]
    assert e.pending_events[-1] == EndpointSecretRotated(endpoint_id="ep-1", partner_id="partner-a",
                                                         rotated_at=AT + timedelta(hours=2),
                                                         previous_valid_until=AT + timedelta(hours=26))
    e.rotate_secret(at=AT + timedelta(hours=24), grace=timedelta(hours=1))  # the first ends exactly now: dropped
    assert [s.key for s in e.secrets][1:] == [third, second]
    with pytest.raises(InvalidInput) as err:
        e.rotate_secret(at=AT + timedelta(hours=24), grace=timedelta(hours=1), secret=second)
    assert (err.value.field, err.value.detail) == ("secret", "secret must differ from the secrets in force")
