"""The pure parts of webhooks delivery: filters, retry schedule, Retry-After, outcomes, addresses,
signatures (verified with standardwebhooks), rate limits."""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import random
import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from runtime.errors import InvalidInput
from services.webhooks.domain.addresses import AllowList, Target, endpoint_url, literal, refusal
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


# -- what the tests above left open (mutation testing, `make mutation`) ----------------------------------
def test_filters_are_stripped_checked_in_order_and_at_most_fifty():
    assert event_type_filters((" org.cress.events.* ", "org.cress.membership.member-activated.v1",
                               "org.cress.events.*"), KNOWN) == \
        ["org.cress.events.*", "org.cress.membership.member-activated.v1"]
    assert len(event_type_filters(["org.cress.*"] * 50, KNOWN)) == 1
    with pytest.raises(InvalidInput) as e:
        event_type_filters(["org.cress.*"] * 51, KNOWN)
    assert (e.value.field, e.value.detail) == ("event_types", "event_types lists 51 filters; at most 50")
    with pytest.raises(InvalidInput) as e:
        event_type_filters(["org.cress.events.*", "org.cress.events.?"], KNOWN, field="filters")
    assert (e.value.field, e.value.detail) == (
        "filters.1", "'org.cress.events.?' is not an event type or a pattern (lower-case letters, digits, '.', '-' "
                     "and '*' as the only wildcard)")
    with pytest.raises(InvalidInput) as e:
        event_type_filters([], KNOWN)
    assert (e.value.field, e.value.detail) == (
        "event_types", "event_types must list at least one event type or pattern (e.g. org.cress.events.*)")
    with pytest.raises(InvalidInput) as e:
        event_type_filters(["org.cress.evnts.*"], KNOWN)
    assert e.value.detail == "'org.cress.evnts.*' matches no event type the platform sends (GET /event-types)"


def test_the_schedule_s_end_and_a_retry_after_never_below_zero():
    with pytest.raises(ValueError, match="^retry_delay is for a message that had at least one attempt$"):
        retry_delay(0, SCHEDULE)
    assert retry_delay(1, SCHEDULE, retry_after=10**9) == 3600, "capped at an hour unless told otherwise"
    assert retry_delay(1, [0, 0.5], retry_after=-3) == 0.5, "a negative Retry-After counts as none"
    assert retry_delay(1, [0, 0], retry_after=0) == 0


def test_jitter_is_drawn_from_the_generator_given():
    delays = [retry_delay(3, SCHEDULE, jitter=0.2, rng=random.Random(seed)) for seed in (7, 7, 8)]
    assert delays[0] == delays[1] == SCHEDULE[3] * random.Random(7).uniform(0.8, 1.2) != delays[2]


def test_retry_after_in_seconds_is_ascii_digits_and_at_most_a_billion():
    assert parse_retry_after("99999999999", NOW) == 10**9
    assert parse_retry_after("9" * 5000, NOW) == 10**9, "more digits than int() reads are a long wait, not an error"
    assert parse_retry_after("1000000000", NOW) == 10**9 and parse_retry_after("999999999", NOW) == 999999999
    assert parse_retry_after("9999999999", NOW) == 10**9
    assert parse_retry_after("0" * 20 + "7", NOW) == 7
    # a receiver's header is not ours to trust: anything unreadable is no Retry-After, never an error
    for bad in ("²", "٣", "1 2"):
        assert parse_retry_after(bad, NOW) is None, bad


def test_an_http_date_counts_from_its_own_offset_and_a_date_without_zone_is_gmt():
    assert parse_retry_after("Thu, 02 May 2024 11:30:30 +0200", NOW) == 30
    assert parse_retry_after("Thu, 02 May 2024 09:30:30 -0000", NOW) == 30  # RFC 5322: no zone information


def test_status_codes_at_the_class_boundaries():
    assert [outcome_of(s) for s in (299, 300, 399, 400)] == \
        [Outcome.DELIVERED, Outcome.REDIRECT, Outcome.REDIRECT, Outcome.HTTP_ERROR]


@pytest.mark.parametrize("address, kind", [("::ffff:127.0.0.1", "loopback"), ("fec0::1", "site_local")])
def test_more_addresses_refused(address, kind):
    assert refusal(ipaddress.ip_address(address)) == kind


def test_the_allow_list_reads_networks_loosely_skips_blanks_and_ignores_a_final_dot():
    allow = AllowList.parse(["", " 10.1.2.3/8 ", "Receiver.Internal.", "127.0.0.1/32"])
    assert allow.hosts == frozenset({"receiver.internal"})
    assert allow.networks == (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32"))
    assert allow.allows_host("receiver.internal.") and allow.allows_host("RECEIVER.internal")
    assert allow.allows_host("10.9.9.9") and not allow.allows_host("11.0.0.1")
    assert refusal("::ffff:127.0.0.1", allow) is None, "an IPv4-mapped address is its IPv4 address"
    assert literal("[::1]") == ipaddress.ip_address("::1") and literal("partner.example") is None


def test_a_url_is_taken_apart_and_its_default_port_is_its_scheme_s():
    allow = AllowList.parse(["127.0.0.1/32"])
    assert endpoint_url("  https://Partner.Example:8443/h?x=1  ", allow) == \
        Target(url="https://Partner.Example:8443/h?x=1", scheme="https", host="partner.example", port=8443)
    assert endpoint_url("http://127.0.0.1/h", allow) == \
        Target(url="http://127.0.0.1/h", scheme="http", host="127.0.0.1", port=80)
    assert endpoint_url("https://partner.example/!", allow).port == 443


def test_urls_refused_with_the_field_named():
    allow = AllowList()
    longest = "https://partner.example/" + "a" * (2048 - len("https://partner.example/"))
    assert endpoint_url(longest, allow).url == longest
    for bad, detail in [(None, "url is required"), ("   ", "url is required"),
                        (longest + "a", "url is longer than 2048 characters"),
                        ("https://partner.example/\x7f", "url contains spaces or control characters"),
                        ("https://partner.example/\tx", "url contains spaces or control characters"),
                        ("https://u@partner.example/", "url must not carry credentials (user:password@): use custom "
                                                       "headers"),
                        ("https://10.0.0.1/", "url points at a private address (10.0.0.1): refused")]:
        with pytest.raises(InvalidInput) as e:
            endpoint_url(bad, allow, field="target")
        assert (e.value.field, e.value.detail) == ("target", detail.replace("url", "target", 1)), bad


def test_a_signature_is_the_hmac_of_id_timestamp_and_body_whatever_the_machine_s_time_zone(monkeypatch):
    key = "whsec_" + base64.b64encode(bytes(range(32))).decode()
    at = datetime(2024, 5, 2, 9, 30, 0, 750000, tzinfo=timezone(timedelta(hours=2)))
    expected = "v1," + base64.b64encode(hmac.new(bytes(range(32)), f"m-1.{int(at.timestamp())}.{{}}".encode(),
                                                 hashlib.sha256).digest()).decode()
    monkeypatch.setenv("TZ", "CET-1")  # a machine on local time (POSIX: no tz database needed)
    time.tzset()
    try:
        assert webhook_headers([key], "m-1", at, "{}") == {
            "webhook-id": "m-1", "webhook-timestamp": "1714635000", "webhook-signature": expected}
    finally:
        monkeypatch.undo()
        time.tzset()


def test_signing_needs_a_secret_and_an_aware_time():
    with pytest.raises(ValueError, match="^no secret to sign with$"):
        signature([], "m", NOW, "{}")
    with pytest.raises(ValueError, match="^at must be timezone-aware$"):
        signature([new_secret()], "m", NOW.replace(tzinfo=None), "{}")


def test_secrets_are_24_to_64_bytes_of_strict_base64():
    def of(n: int) -> str:
        return "whsec_" + base64.b64encode(bytes(n)).decode()

    assert signing_secret(of(64)) == of(64) and signing_secret(of(24)) == of(24)
    for bad, detail in [(of(65), "secret must encode 24 to 64 bytes (got 65)"),
                        (of(23), "secret must encode 24 to 64 bytes (got 23)"),
                        (of(24) + "!!", "secret must be whsec_ followed by base64"),
                        ("A" * 32, "secret must start with whsec_")]:
        with pytest.raises(InvalidInput) as e:
            signing_secret(bad)
        assert (e.value.field, e.value.detail) == ("secret", detail), bad
    assert len(base64.b64decode(new_secret(48).removeprefix("whsec_"))) == 48
    assert len(base64.b64decode(new_secret().removeprefix("whsec_"))) == 32


def test_a_bucket_below_one_per_second_still_lets_one_message_go_and_no_rate_is_refused():
    bucket = TokenBucket(0.5, now=100.0)
    assert bucket.available(100.0) == 1 and bucket.take(100.0) and not bucket.take(101.0)
    assert bucket.take(102.0)
    assert TokenBucket(1, now=0.0).take(0.0)
    with pytest.raises(ValueError, match="^rate must be positive$"):
        TokenBucket(0, now=0.0)
