"""The subscriber kit (contracts.faststream) without a broker: the decoder, the dead-letter headers,
the dispatch (retries, Reject, batch handlers, skipped types), FastStream's in-memory TestKafkaBroker,
the notifier's AsyncAPI document and the README's 20 lines."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from faststream.kafka import TestKafkaBroker

from contracts.deadletter import dead_letter_headers
from contracts.envelope import CloudEvent, EnvelopeError
from contracts.faststream import Delivery, EventApp, Reject, decode_records
from contracts.membership import DuesPaymentRecorded, MemberActivated, MembershipLapsed
from runtime import consumer as runtime_consumer

ROOT = Path(__file__).resolve().parents[2]


def activated(org: str = "org-1", **overrides) -> MemberActivated:
    return MemberActivated(**{"organisation_id": org, "application_id": "app-1", "legal_form": "scic",
                              "departement": "93", "sector": "réemploi", "esus_agreed": False,
                              "since": date(2026, 11, 20), "year": 2026, "dues_cents": 15_000, **overrides})


def lapsed(org: str = "org-1") -> MembershipLapsed:
    return MembershipLapsed(organisation_id=org, year=2026, invoice_ids=[f"{org}-2026"], written_off_cents=15_000,
                            grace_ended_on=date(2026, 5, 31), lapsed_on=date(2026, 6, 1))


def record(event=None, *, offset: int = 0, headers=None, value=None, topic: str = "membership.member"):
    if event is not None:
        envelope = CloudEvent.from_domain(event, source="/cress/membership")
        headers, value = envelope.kafka_headers(), envelope.kafka_value()
    return SimpleNamespace(topic=topic, partition=2, offset=offset, key=b"org-1", value=value,
                           headers=headers or [], timestamp=0)


# -- decoder -----------------------------------------------------------------------------------

def test_the_decoder_gives_the_typed_event_and_its_envelope():
    (d,) = decode_records([record(activated(), offset=7)], [MemberActivated])
    assert isinstance(d.event, MemberActivated) and d.event == activated()
    assert d.envelope.type == MemberActivated.event_type and d.envelope.subject == "org-1"
    assert (d.topic, d.partition, d.offset, d.error) == ("membership.member", 2, 7, None)


def test_the_decoder_skips_other_types_on_the_same_topic():
    (d,) = decode_records([record(lapsed())], [MemberActivated])
    assert (d.event, d.envelope, d.error) == (None, None, None)


@pytest.mark.parametrize("headers, value, reason", [
    ([], b'{"a": 1}', "missing CloudEvents header"),
    ([("ce_id", b"1"), ("ce_source", b"/x"), ("ce_type", MemberActivated.event_type), ("ce_specversion", b"1.0")],
     b"not json", "not JSON"),
    ([("ce_id", b"1"), ("ce_source", b"/x"), ("ce_type", MemberActivated.event_type.encode()),
      ("ce_specversion", b"1.0")], b'{"organisation_id": "o"}', "invalid data"),
])
def test_a_poison_record_is_decoded_as_an_error(headers, value, reason):
    (d,) = decode_records([record(headers=headers, value=value)], [MemberActivated])
    assert isinstance(d.error, EnvelopeError) and reason in str(d.error)
    assert d.event is None


# -- dead-letter headers -------------------------------------------------------------------------

def test_dead_letter_headers_keep_the_original_ones_and_add_the_platforms():
    at = datetime(2026, 11, 27, 17, 0, tzinfo=timezone.utc)
    original = [("ce_id", b"e-1"), ("ce_type", b"t"), ("dlq_error", b"an earlier failure"),
                ("dlq_replayed_from", b"membership.member.dlq:0:3")]
    headers = dead_letter_headers(topic="membership.member", partition=4, offset=12, headers=original,
                                  consumer="notifier", error=RuntimeError("x" * 3000), attempts=3, failed_at=at)
    assert headers[:2] == [("ce_id", b"e-1"), ("ce_type", b"t")]  # earlier dlq_* ones dropped
    meta = dict(headers[2:])
    assert meta == {"dlq_error": ("RuntimeError: " + "x" * 3000)[:2000].encode(),
                    "dlq_original_topic": b"membership.member", "dlq_original_partition": b"4",
                    "dlq_original_offset": b"12", "dlq_consumer": b"notifier", "dlq_attempts": b"3",
                    "dlq_failed_at": b"2026-11-27T17:00:00+00:00"}


def test_the_services_consumers_write_the_same_dead_letter_headers(monkeypatch):
    at = datetime(2026, 11, 27, 17, 0, tzinfo=timezone.utc)
    monkeypatch.setattr(runtime_consumer, "utcnow", lambda: at)
    rec = SimpleNamespace(topic="membership.member", partition=1, offset=9, headers=[("ce_id", b"e")])
    error = ValueError("bad")
    assert runtime_consumer.dead_letter_headers(rec, "membership.stats", error, 5) == dead_letter_headers(
        topic="membership.member", partition=1, offset=9, headers=[("ce_id", b"e")], consumer="membership.stats",
        error=error, attempts=5, failed_at=at)


# -- dispatch ------------------------------------------------------------------------------------

class Recorder(EventApp):
    """An EventApp whose dead letters are recorded instead of published."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("unit", *args, retry_delay=0, **kwargs)
        self.letters: list[tuple[Delivery, str, int]] = []

    async def _dead_letter(self, route, d, error, attempts) -> None:
        self.letters.append((d, str(error), attempts))


def route_of(app: EventApp, topic: str = "membership.member"):
    return app._routes[(app.name, topic)]


async def test_a_failing_handler_is_retried_then_dead_lettered_and_the_batch_goes_on():
    app = Recorder(max_attempts=3)
    calls: list[str] = []

    @app.subscriber(MemberActivated)
    async def handler(event: MemberActivated, envelope: CloudEvent) -> None:
        calls.append(event.organisation_id)
        if event.organisation_id == "bad" and calls.count("bad") < 4:
            raise RuntimeError("smtp down")

    deliveries = decode_records([record(activated("a")), record(activated("bad"), offset=1),
                                 record(activated("c"), offset=2)], [MemberActivated])
    await app._dispatch(route_of(app), deliveries)
    assert calls == ["a", "bad", "bad", "bad", "c"]
    assert [(d.offset, error, attempts) for d, error, attempts in app.letters] == [(1, "smtp down", 3)]


async def test_a_handler_that_succeeds_on_a_retry_is_not_dead_lettered():
    app = Recorder(max_attempts=3)
    calls: list[str] = []

    @app.subscriber(MemberActivated)
    async def handler(event, envelope) -> None:
        calls.append(envelope.id)
        if len(calls) < 3:
            raise RuntimeError("flaky")

    await app._dispatch(route_of(app), decode_records([record(activated())], [MemberActivated]))
    assert len(calls) == 3 and app.letters == []


async def test_reject_and_poison_records_go_to_the_dead_letters_at_once_other_types_are_skipped():
    app = Recorder(max_attempts=5)
    calls: list[str] = []

    @app.subscriber(MemberActivated)
    async def handler(event, envelope) -> None:
        calls.append(event.organisation_id)
        raise Reject("no address")

    deliveries = decode_records([record(activated("a")), record(lapsed(), offset=1),
                                 record(headers=[], value=b"{}", offset=2)], [MemberActivated])
    await app._dispatch(route_of(app), deliveries)
    assert calls == ["a"]
    assert [(d.offset, attempts) for d, _, attempts in app.letters] == [(0, 1), (2, 1)]


async def test_a_batch_handler_gets_runs_of_its_events_and_falls_back_to_one_at_a_time():
    app = Recorder(max_attempts=2)
    batches: list[list[str]] = []
    singles: list[str] = []

    @app.subscriber(MemberActivated, DuesPaymentRecorded, batch=True)
    async def batch(deliveries: list[Delivery]) -> None:
        batches.append([d.event.organisation_id for d in deliveries])
        if any(d.event.organisation_id == "bad" for d in deliveries):
            raise RuntimeError("bulk write failed")

    @app.subscriber(MembershipLapsed)
    async def single(event, envelope) -> None:
        singles.append(event.organisation_id)

    deliveries = decode_records([record(activated("a")), record(activated("b"), offset=1),
                                 record(lapsed("l"), offset=2), record(activated("bad"), offset=3),
                                 record(activated("d"), offset=4)],
                                [MemberActivated, DuesPaymentRecorded, MembershipLapsed])
    await app._dispatch(route_of(app), deliveries)
    # in order: a run of two, the single handler, then a failing run handled one by one (each retried)
    assert batches == [["a", "b"], ["bad", "d"], ["bad"], ["bad"], ["d"]]
    assert singles == ["l"]
    assert [(d.offset, attempts) for d, _, attempts in app.letters] == [(3, 2)]


def test_declaring_subscriptions_checks_what_it_is_given():
    app = EventApp("unit")
    with pytest.raises(ValueError):
        app.subscriber()
    with pytest.raises(TypeError):
        app.subscriber(MemberActivated)(lambda event, envelope: None)
    with pytest.raises(TypeError):
        app.subscriber(dict)

    @app.subscriber(MemberActivated)
    async def first(event, envelope) -> None: ...

    with pytest.raises(ValueError, match="already handles"):
        @app.subscriber(MemberActivated)
        async def second(event, envelope) -> None: ...

    with pytest.raises(ValueError, match="from_beginning"):
        @app.subscriber(MembershipLapsed, from_beginning=True)
        async def third(event, envelope) -> None: ...

    @app.subscriber(MemberActivated, group="other")  # another group may handle it too
    async def fourth(event, envelope) -> None: ...

    assert set(app._routes) == {("unit", "membership.member"), ("unit.other", "membership.member")}
    app.asyncapi()
    with pytest.raises(RuntimeError):
        app.subscriber(MembershipLapsed)
    with pytest.raises(ValueError):
        EventApp("two words")


# -- FastStream's in-memory broker -------------------------------------------------------------------

async def test_through_faststreams_test_broker_the_handler_receives_the_typed_event():
    app = EventApp("unit")
    received: list[tuple[MemberActivated, CloudEvent]] = []

    @app.subscriber(MemberActivated)
    async def handler(event: MemberActivated, envelope: CloudEvent) -> None:
        received.append((event, envelope))

    app._build()
    envelope = CloudEvent.from_domain(activated(), source="/cress/membership")
    other = CloudEvent.from_domain(lapsed(), source="/cress/membership")
    async with TestKafkaBroker(app.broker) as broker:
        for env in (envelope, other):
            await broker.publish(env.kafka_value(), topic="membership.member", key=env.kafka_key(),
                                 headers={k: v.decode() for k, v in env.kafka_headers()})
    assert [(e, env.id) for e, env in received] == [(activated(), envelope.id)]


# -- the notifier example -----------------------------------------------------------------------------

def test_the_notifiers_committed_asyncapi_document_is_the_one_faststream_generates(tmp_path):
    from examples.notifier.app import Config, create_app

    generated = create_app(Config(bootstrap_servers="127.0.0.1:9092", journal=tmp_path / "j.sqlite3")).asyncapi()
    committed = json.loads((ROOT / "examples/notifier/asyncapi.json").read_text())
    assert committed == json.loads(json.dumps(generated)), "run `make example-notifier-asyncapi` and commit"
    assert generated["asyncapi"] == "3.0.0"
    assert generated["channels"]["notifier:membership.member"]["address"] == "membership.member"
    assert "MemberActivated" in generated["components"]["schemas"]


def test_the_readmes_twenty_lines_are_the_minimal_example():
    minimal = (ROOT / "examples/notifier/minimal.py").read_text()
    assert len(minimal.splitlines()) <= 20
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert minimal in blocks
