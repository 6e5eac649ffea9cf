"""The notifier: an internal app of the CRESS platform built with the subscriber kit.

- ``welcome``: when a member is activated (``MemberActivated``), e-mail a welcome note to the
  organisation's contact, once per event (at-least-once delivery: the journal remembers which
  event ids were mailed, so a re-delivery sends nothing twice);
- ``journal``: every membership event, in batches, into a small SQLite journal (its own consumer
  group, from the beginning of the log), which ``digest`` turns into the week's summary mail.

Events carry ids only (e-mail addresses are personal data and never travel in events): the
notifier keeps its own address book, a JSON file keyed by organisation id
(``address_book.json``). An activation whose organisation is not in the book is dead-lettered
(``make deadletters`` shows it; add the address, then replay it).
"""
from __future__ import annotations

import asyncio
import json
import os
import smtplib
import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

from contracts.base import registered_events
from contracts.envelope import CloudEvent
from contracts.faststream import Delivery, EventApp, Reject
from contracts.membership import MemberActivated

HERE = Path(__file__).parent
SENDER = "adhesions@cress.example"


@dataclass(frozen=True)
class Config:
    bootstrap_servers: str = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    smtp_host: str = os.environ.get("NOTIFIER_SMTP_HOST", "127.0.0.1")
    smtp_port: int = int(os.environ.get("NOTIFIER_SMTP_PORT", "8025"))
    address_book: Path = Path(os.environ.get("NOTIFIER_ADDRESS_BOOK", HERE / "address_book.json"))
    journal: Path = Path(os.environ.get("NOTIFIER_JOURNAL", ".data/notifier/journal.sqlite3"))
    digest_to: str = os.environ.get("NOTIFIER_DIGEST_TO", "equipe@cress.example")
    name: str = os.environ.get("NOTIFIER_GROUP", "notifier")


class Journal:
    """The notifier's own memory: events seen (for the digest) and welcome mails sent (dedup)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.executescript("""
            CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, type TEXT, subject TEXT, time TEXT);
            CREATE TABLE IF NOT EXISTS welcomes (event_id TEXT PRIMARY KEY, organisation_id TEXT, sent_at TEXT);
        """)

    def record(self, envelopes: list[CloudEvent]) -> None:
        with self.db:
            self.db.executemany("INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?)",
                                [(e.id, e.type, e.subject, e.time.astimezone(timezone.utc).isoformat())
                                 for e in envelopes])

    def welcomed(self, event_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM welcomes WHERE event_id = ?", (event_id,)).fetchone() is not None

    def mark_welcomed(self, event_id: str, organisation_id: str) -> None:
        with self.db:
            self.db.execute("INSERT OR IGNORE INTO welcomes VALUES (?, ?, ?)",
                            (event_id, organisation_id, datetime.now(timezone.utc).isoformat()))

    def week(self, until: datetime, days: int = 7) -> Counter[str]:
        since = (until - timedelta(days=days)).astimezone(timezone.utc).isoformat()
        rows = self.db.execute("SELECT type, count(*) FROM events WHERE time >= ? AND time < ? GROUP BY type",
                               (since, until.astimezone(timezone.utc).isoformat()))
        return Counter(dict(rows.fetchall()))


class Mailer:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    def _send(self, mail: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
            smtp.send_message(mail)

    async def send(self, to: str, subject: str, body: str) -> None:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = SENDER, to, subject
        mail.set_content(body)
        await asyncio.to_thread(self._send, mail)


def load_address_book(path: Path) -> dict[str, dict[str, str]]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def create_app(config: Config | None = None) -> EventApp:
    config = config or Config()
    app = EventApp(config.name, bootstrap_servers=config.bootstrap_servers)
    journal = Journal(config.journal)
    mailer = Mailer(config.smtp_host, config.smtp_port)
    app.journal, app.mailer, app.config = journal, mailer, config  # type: ignore[attr-defined]

    @app.subscriber(MemberActivated)
    async def welcome(event: MemberActivated, envelope: CloudEvent) -> None:
        if journal.welcomed(envelope.id):
            return  # delivered again (at least once): mailed already
        contact = load_address_book(config.address_book).get(event.organisation_id)
        if contact is None:
            raise Reject(f"no address for organisation {event.organisation_id} in {config.address_book.name}")
        await mailer.send(contact["email"], f"Bienvenue à la CRESS, {contact.get('name', '')}".strip(),
                          f"Bonjour,\n\nVotre adhésion est active depuis le {event.since:%d/%m/%Y} "
                          f"(cotisation {event.year} : {event.dues_cents / 100:.2f} €).\n\nL'équipe de la CRESS")
        journal.mark_welcomed(envelope.id, event.organisation_id)

    membership = [cls for t, cls in registered_events().items() if t.startswith("org.cress.membership.")]

    @app.subscriber(*membership, group="journal", batch=True, from_beginning=True)
    async def record(deliveries: list[Delivery]) -> None:
        journal.record([d.envelope for d in deliveries if d.envelope is not None])

    return app


async def send_digest(config: Config | None = None, *, until: datetime | None = None, days: int = 7) -> str:
    """E-mail the week's membership events, counted by type, to the team; return the body."""
    config = config or Config()
    until = until or datetime.now(timezone.utc)
    counts = Journal(config.journal).week(until, days)
    lines = [f"{n:6d}  {t.removeprefix('org.cress.membership.')}" for t, n in sorted(counts.items())]
    body = (f"Vie interne : les {days} derniers jours (jusqu'au {until:%d/%m/%Y %H:%M} UTC)\n\n"
            + ("\n".join(lines) if lines else "Aucun événement.") + f"\n\nTotal : {sum(counts.values())}\n")
    await Mailer(config.smtp_host, config.smtp_port).send(config.digest_to, f"Digest de la semaine : "
                                                           f"{sum(counts.values())} événements", body)
    return body
