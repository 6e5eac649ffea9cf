"""The subscriber kit (contracts.faststream) and the notifier example on the real broker.

CloudEvents are produced as the services' relays produce them (``contracts.envelope``, binary
mode, key = aggregate id); the notifier receives typed events and mails a local SMTP server
(aiosmtpd, in a thread); a failing handler's event ends on ``<topic>.dlq`` with the platform's
headers (read back with ``runtime.deadletters``, as ``make deadletters`` does); an event whose
handler had not returned when the app stopped comes again after a restart.
"""
from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date, datetime, timedelta, timezone
from email import message_from_bytes
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiosmtpd.controller import Controller

from contracts.envelope import CloudEvent
from contracts.faststream import EventApp
from contracts.membership import DuesInvoiced, MemberActivated, OrganisationRegistered
from examples.notifier.app import Config, create_app, send_digest
from runtime.deadletters import read_dead_letters
from runtime.kafka import ensure_topics, make_producer
from runtime.stack import free_port
from tests.integration.conftest import eventually, service_settings

pytestmark = pytest.mark.integration


class Inbox:
    """An SMTP server on a free port of 127.0.0.1 that keeps what it receives."""

    def __init__(self) -> None:
        self.mails: list = []
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 — aiosmtpd's hook name
        self.mails.append(message_from_bytes(envelope.content))
        return "250 OK"

    @property
    def port(self) -> int:
        return self.controller.port

    def __enter__(self) -> Inbox:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


@pytest.fixture
async def kafka(infrastructure):
    settings = service_settings(infrastructure, "membership")
    await ensure_topics(settings)  # the platform's topics (the kit never creates one)
    producer = make_producer(settings)
    await producer.start()
    yield settings, producer
    await producer.stop()


def activated(org: str, **overrides) -> MemberActivated:
    return MemberActivated(**{"organisation_id": org, "application_id": f"app-{org}", "legal_form": "scic",
                              "departement": "93", "sector": "réemploi", "esus_agreed": False,
                              "since": date(2026, 11, 20), "year": 2026, "dues_cents": 15_000, **overrides})


async def publish(producer, event, **kw) -> CloudEvent:
    envelope = CloudEvent.from_domain(event, source="/cress/membership", **kw)
    from contracts.topics import topic_for
    await producer.send_and_wait(topic_for(event.event_type).name, envelope.kafka_value(), key=envelope.kafka_key(),
                                 headers=envelope.kafka_headers())
    return envelope


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def test_notifier_mails_a_welcome_note_once_and_the_weeks_digest(kafka, tmp_path: Path):
    settings, producer = kafka
    org, stranger = unique("org"), unique("org")
    book = tmp_path / "book.json"
    book.write_text(json.dumps({org: {"email": "contact@coop.example", "name": "Coop du Coin"}}))
    with Inbox() as inbox:
        config = Config(bootstrap_servers=settings.kafka_bootstrap_servers, smtp_port=inbox.port, address_book=book,
                        journal=tmp_path / "journal.sqlite3", digest_to="equipe@cress.example",
                        name=unique("notifier"))
        app = create_app(config)
        await app.start()
        try:
            await app.wait_assigned()
            welcome = await publish(producer, activated(org))
            # another type on the same topic: skipped by the welcome handler, journaled
            dues = await publish(producer, DuesInvoiced(organisation_id=org, invoice_id=f"{org}-2026", year=2026,
                                                 amount_cents=15_000, fee_bracket="B2", issued_on=date(2026, 11, 20),
                                                 due_on=date(2026, 12, 20), grace_ends_on=date(2027, 3, 20)))
            # an organisation the address book does not know: dead-lettered, no mail
            await publish(producer, activated(stranger))
            # (the journal group reads the log from the beginning: in a full test session it also meets
            # other tests' records, poison ones included, which it dead-letters too)
            def stranger_dead_lettered():
                return [(dlq, d, e) for dlq, d, e in app.dead_lettered if d.envelope and d.envelope.subject == stranger]
            await eventually(lambda: len(inbox.mails) >= 1 and stranger_dead_lettered(), timeout=30)
            mail = inbox.mails[0]
            assert mail["To"] == "contact@coop.example"
            assert "Coop du Coin" in mail["Subject"]
            assert "20/11/2026" in mail.get_payload(decode=True).decode()
            assert app.journal.welcomed(welcome.id)
            # the same event delivered again (a replay, a restart): no second mail
            await producer.send_and_wait("membership.member", welcome.kafka_value(), key=welcome.kafka_key(),
                                         headers=welcome.kafka_headers())
            marker = await publish(producer, activated(org, application_id="app-second"))
            await eventually(lambda: app.journal.welcomed(marker.id), timeout=30)
            assert [m["To"] for m in inbox.mails] == ["contact@coop.example"] * 2  # the first, and the marker's
            [(dlq, delivery, error)] = stranger_dead_lettered()
            assert dlq == "membership.member.dlq" and stranger in str(error)
            journaled = "SELECT type FROM events WHERE id IN (?, ?)"
            await eventually(lambda: len(app.journal.db.execute(journaled, (welcome.id, dues.id)).fetchall()) == 2,
                             timeout=60)
        finally:
            await app.stop()
        body = await send_digest(config, until=datetime.now(timezone.utc) + timedelta(seconds=1))
        assert "member-activated.v1" in body and "dues-invoiced.v1" in body
        digest = inbox.mails[-1]
        assert digest["To"] == "equipe@cress.example" and "Digest" in digest["Subject"]


async def test_a_failing_handler_ends_on_the_platforms_dead_letter_topic(kafka):
    settings, producer = kafka
    app = EventApp(unique("kit-failing"), bootstrap_servers=settings.kafka_bootstrap_servers, max_attempts=3,
                   retry_delay=0.01)
    calls: list[str] = []

    @app.subscriber(OrganisationRegistered)
    async def handler(event: OrganisationRegistered, envelope: CloudEvent) -> None:
        calls.append(envelope.id)
        raise RuntimeError(f"cannot handle {event.organisation_id}")

    await app.start()
    try:
        await app.wait_assigned()
        org = unique("org")
        envelope = await publish(producer, OrganisationRegistered(
            organisation_id=org, siret="73282932000074", name="Les Ateliers", legal_form="association",
            esus_agreed=False, esus_agreed_on=None, departement="93", commune="Montreuil", sector="réemploi",
            headcount=3, annual_budget_cents=100, registered_on=date(2026, 11, 1)))
        # a poison message: not a CloudEvent (no ce_* headers): dead-lettered at once
        await producer.send_and_wait("membership.organisation", b'{"oops": 1}', key=org.encode(), headers=[])
        await eventually(lambda: len(app.dead_lettered) == 2, timeout=30)
        assert calls == [envelope.id] * 3  # retried, then given up
    finally:
        await app.stop()
    letters = [d for d in await read_dead_letters(settings, ["membership.organisation.dlq"])
               if d.header("dlq_consumer") == app.name]
    assert len(letters) == 2
    failed, poison = sorted(letters, key=lambda d: d.header("ce_id") is None)
    assert failed.header("ce_id") == envelope.id and failed.header("ce_type") == OrganisationRegistered.event_type
    assert failed.value == envelope.kafka_value() and failed.key == org.encode()
    assert failed.header("dlq_attempts") == "3" and failed.header("dlq_original_topic") == "membership.organisation"
    assert failed.header("dlq_error") == f"RuntimeError: cannot handle {org}"
    assert {h for h, _ in failed.headers if h.startswith("dlq_")} == {
        "dlq_error", "dlq_original_topic", "dlq_original_partition", "dlq_original_offset", "dlq_consumer",
        "dlq_attempts", "dlq_failed_at"}
    assert failed.original_topic == "membership.organisation"  # where `make deadletters` replays it
    assert poison.header("dlq_attempts") == "1" and "ce_id" in poison.header("dlq_error")


async def committed(settings, group: str) -> dict:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        return {tp: meta.offset for tp, meta in (await admin.list_consumer_group_offsets(group)).items()}
    finally:
        await admin.close()


async def test_a_restart_redelivers_what_was_not_acknowledged(kafka):
    settings, producer = kafka
    group = unique("kit-restart")
    org = unique("org")  # one key: one partition, in order
    seen: list[tuple[int, str]] = []
    release = asyncio.Event()

    def make(run: int) -> EventApp:
        app = EventApp(group, bootstrap_servers=settings.kafka_bootstrap_servers, graceful_timeout=1.0)

        @app.subscriber(MemberActivated)
        async def handler(event: MemberActivated, envelope: CloudEvent) -> None:
            seen.append((run, envelope.id))
            if event.application_id == "app-blocks" and run == 1:
                await release.wait()  # never set: the app stops while this handler runs

        return app

    first = make(1)
    await first.start()
    try:
        await first.wait_assigned()
        done = await publish(producer, activated(org, application_id="app-done"))
        await eventually(lambda: (1, done.id) in seen, timeout=30)

        async def done_committed():
            return any(offset > 0 for offset in (await committed(settings, group)).values())
        await eventually(done_committed, timeout=30)
        blocked = await publish(producer, activated(org, application_id="app-blocks"))
        await eventually(lambda: (1, blocked.id) in seen, timeout=30)
    finally:
        await first.stop()  # the blocked handler is cancelled: its batch is not acknowledged

    second = make(2)
    await second.start()
    try:
        await eventually(lambda: (2, blocked.id) in seen, timeout=60)
    finally:
        await second.stop()
    assert (2, done.id) not in seen  # acknowledged before the stop: not delivered again
