"""The pure parts of webhooks delivery: filters, retry schedule, Retry-After, outcomes, addresses,
signatures (verified with standardwebhooks), rate limits."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from runtime.errors import InvalidInput
from services.webhooks.domain.addresses import AllowList, endpoint_url, refusal
from services.webhooks.domain.delivery import Outcome, TokenBucket, answer_outcome, outcome_of, parse_retry_after, \
    retry_delay
from services.webhooks.domain.filters import event_type_filters, matches
from services.webhooks.domain.signing import new_secret, signature, signing_secret, webhook_headers

KNOWN = ["org.cress.events.event-published.v1", "org.cress.events.registration-confirmed.v1",
         "org.cress.membership.member-activated.v1"]
NOW = datetime(2024, 5, 2, 9, 30, tzinfo=timezone.utc)


# -- filters ---------------------------------------------------------------------------------------
def test_wildcards_match_a_whole_service_or_a_family():
    assert matches(["org.cress.events.*"], "org.cress.events.event-published.v1")
    assert not matches(["org.cress.events.*"], "org.cress.membership.member-activated.v1")
    assert matches(["org.cress.*.member-*.v1"], "org.cress.membership.member-activated.v1")
    assert matches(["org.cress.events.event-published.v1"], "org.cress.events.event-published.v1")
    assert not matches(["org.cress.events.event-published.v1"], "org.cress.events.event-published.v2")


def test_filters_are_checked_against_the_registry_and_deduplicated():
    assert event_type_filters(["org.cress.events.*", "org.cress.events.*"], KNOWN) == ["org.cress.events.*"]
    with pytest.raises(InvalidInput) as e:
        event_type_filters(["org.cress.events.*", "org.cress.evnts.*"], KNOWN)
    assert e.value.field == "event_types.1" and "org.cress.evnts.*" in e.value.detail
    for bad in ([], "org.cress.*", ["org.cress.events.[a]*"], ["Org.Cress.*"], [3]):
        with pytest.raises(InvalidInput):
            event_type_filters(bad, KNOWN)


# -- retries ---------------------------------------------------------------------------------------
SCHEDULE = [0, 5, 300, 1800, 7200, 18000, 36000, 36000]


def test_the_schedule_without_jitter_and_its_end():
    assert [retry_delay(n, SCHEDULE) for n in range(1, 8)] == SCHEDULE[1:]
    assert retry_delay(8, SCHEDULE) is None
    with pytest.raises(ValueError):
        retry_delay(0, SCHEDULE)


@given(st.integers(1, 7), st.integers(0, 2**32))
def test_jitter_stays_within_its_bounds(attempts, seed):
    delay = retry_delay(attempts, SCHEDULE, jitter=0.2, rng=random.Random(seed))
    base = SCHEDULE[attempts]
    assert 0.8 * base <= delay <= 1.2 * base


def test_jitter_varies_the_delays():
    rng = random.Random(1)
    assert len({retry_delay(2, SCHEDULE, jitter=0.2, rng=rng) for _ in range(20)}) > 1


def test_retry_after_stretches_the_delay_up_to_its_cap_never_shortens_it():
    assert retry_delay(1, SCHEDULE, retry_after=60) == 60
    assert retry_delay(1, SCHEDULE, retry_after=1) == 5
    assert retry_delay(1, SCHEDULE, retry_after=10**9, retry_after_cap=3600) == 3600
    assert retry_delay(8, SCHEDULE, retry_after=60) is None


def test_retry_after_in_seconds_or_as_an_http_date():
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after(" 0 ", NOW) == 0
    assert parse_retry_after("Thu, 02 May 2024 09:30:30 GMT", NOW) == 30
    assert parse_retry_after("Thu, 02 May 2024 09:00:00 GMT", NOW) == 0  # in the past
    for bad in (None, "", "soon", "-5", "1.5e3", "Thu, 32 May 2024 09:31:00 GMT"):
        assert parse_retry_after(bad, NOW) is None


# -- outcomes ---------------------------------------------------------------------------------------
def test_status_codes():
    assert outcome_of(200) is Outcome.DELIVERED and outcome_of(204) is Outcome.DELIVERED
    assert outcome_of(301) is Outcome.REDIRECT and outcome_of(307) is Outcome.REDIRECT
    assert outcome_of(410) is Outcome.GONE
    assert outcome_of(429) is Outcome.THROTTLED and outcome_of(503) is Outcome.THROTTLED
    assert outcome_of(500) is Outcome.HTTP_ERROR and outcome_of(404) is Outcome.HTTP_ERROR
    assert outcome_of(199) is Outcome.HTTP_ERROR


def test_a_2xx_whose_body_was_cut_is_delivered_other_statuses_fail_as_too_large():
    assert answer_outcome(200, body_cut=True) is Outcome.DELIVERED
    assert answer_outcome(204, body_cut=False) is Outcome.DELIVERED
    assert answer_outcome(500, body_cut=True) is Outcome.TOO_LARGE
    assert answer_outcome(410, body_cut=True) is Outcome.TOO_LARGE
    assert answer_outcome(410, body_cut=False) is Outcome.GONE


# -- addresses ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("address, kind", [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"), ("192.168.1.1", "private"),
    ("172.16.0.1", "private"), ("169.254.169.254", "link_local"), ("fe80::1", "link_local"),
    ("224.0.0.1", "multicast"), ("0.0.0.0", "unspecified"), ("240.0.0.1", "reserved"),
    ("::ffff:10.0.0.1", "private"), ("100.64.0.1", "not_global"), ("fc00::1", "private"),
])
def test_addresses_refused(address, kind):
    assert refusal(address) == kind


def test_public_addresses_pass_and_the_allow_list_exempts():
    assert refusal("93.184.216.34") is None and refusal("2606:4700::1111") is None
    allow = AllowList.parse(["127.0.0.1/32", "Receiver.Internal"])
    assert refusal("127.0.0.1", allow) is None and refusal("127.0.0.2", allow) == "loopback"
    assert allow.allows_host("receiver.internal") and not allow.allows_host("other.internal")


def test_urls():
    allow = AllowList.parse(["127.0.0.1/32"])
    assert endpoint_url("https://partner.example/hooks?x=1", allow).port == 443
    assert endpoint_url("http://127.0.0.1:8080/h", allow).port == 8080
    for bad, why in [("http://partner.example/h", "https"), ("ftp://partner.example", "https"),
                     ("https://u:p@partner.example/", "credentials"), ("https://10.0.0.1/h", "private"),
                     ("https://169.254.169.254/latest", "link-local"), ("https://[::1]/", "loopback"),
                     ("https://partner.example/#x", "fragment"), ("https:///nohost", "https"),
                     ("https://partner.example:99999/", "valid URL"), ("https://a b/", "spaces"),
                     ("http://127.0.0.2/h", "https")]:
        with pytest.raises(InvalidInput) as e:
            endpoint_url(bad, allow)
        assert e.value.field == "url" and why in e.value.detail, (bad, e.value.detail)


# -- signatures --------------------------------------------------------------------------------------
def test_a_signature_verifies_with_standardwebhooks_and_fails_when_tampered():
    key = new_secret()
    at = datetime.now(timezone.utc)
    body = '{"type":"org.cress.events.event-published.v1","timestamp":"2024-05-02T09:30:00Z","data":{}}'
    headers = webhook_headers([key], "evt-1", at, body)
    assert Webhook(key).verify(body, headers) == {"type": "org.cress.events.event-published.v1",
                                                   "timestamp": "2024-05-02T09:30:00Z", "data": {}}
    with pytest.raises(WebhookVerificationError):
        Webhook(key).verify(body.replace("{}", '{"x":1}'), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


def test_after_a_rotation_both_secrets_verify():
    old, new = new_secret(), new_secret()
    at = datetime.now(timezone.utc)
    headers = webhook_headers([new, old], "evt-2", at, "{}")
    assert len(headers["webhook-signature"].split(" ")) == 2
    for key in (old, new):
        Webhook(key).verify("{}", headers)


def test_signing_reads_the_instant_not_the_wall_clock():
    key = new_secret()
    at = datetime.now(timezone.utc)
    paris = at.astimezone(timezone(timedelta(hours=2)))
    assert signature([key], "m", at, "{}") == signature([key], "m", paris, "{}")


def test_secrets_chosen_by_a_partner_are_checked():
    assert signing_secret("whsec_" + "A" * 32) == "whsec_" + "A" * 32  # 24 bytes
    for bad in ("A" * 32, "whsec_" + "A" * 28, "whsec_not base64!", "whsec_" + "A" * 100, None):
        with pytest.raises(InvalidInput):
            signing_secret(bad)
    assert new_secret().startswith("whsec_") and new_secret() != new_secret()


# -- rate limit ---------------------------------------------------------------------------------------
def test_token_bucket():
    bucket = TokenBucket(2, now=0.0)
    assert bucket.available(0.0) == 2
    assert bucket.take(0.0) and bucket.take(0.0) and not bucket.take(0.0)
    assert bucket.available(0.25) == 0 and bucket.available(0.5) == 1
    assert bucket.available(100.0) == 2  # bursts stay within the rate
