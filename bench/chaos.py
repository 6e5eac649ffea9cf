"""Faults across services (``make chaos``): the whole platform on the embedded stack, as separate
processes, under a workload that crosses every service, while services are SIGKILLed, the broker and
the database restarted and poison messages sent; then everything is checked against the Kafka log.

The stack (:mod:`runtime.stack`): Apache Kafka (KRaft) or Tansu, SecantusDB, and the five services,
each ``--instances`` uvicorn processes (2 by default) on free ports, as ``make run INSTANCES=…`` starts them,
in a fresh data folder: the instances of a service share its database and its consumer groups (the
group's partitions are shared among them; the report says in how many groups more than one member got
partitions), and one of them at a time holds each lease (the outbox relay's, the webhooks' deliverer's).
The workload sends each request to the service's next instance, round-robin (:meth:`Stack.url`): a
command created on one instance has its next step sent to another, and a request re-sent after no
answer goes to the next instance.

The workload (:class:`Workload`), ``--lanes`` concurrent clients over HTTP with an admin token
(:func:`runtime.auth.issue_token`), until about ``--events`` domain events were published:

- membership: an organisation registered, its application submitted, its welcome meeting held, admitted,
  the member activated (dues invoiced with it);
- events: an event scheduled and published, ``--registrations`` people registered, a check-in list,
  each participant's badge scanned at the door;
- procurement: supplier profiles for member organisations (procurement learns them from membership's
  events), needs drafted, submitted, validated, dispatched, closed and awarded to one of them;
- the observatory: its activity report of the year read now and then (its figures are checked at the
  end through its ledger, below);
- webhooks: one partner endpoint subscribed to every event, a local receiver counting deliveries.

How the client retries (as a careful client would): a request that got no answer (connection refused or
reset, timeout) or a 5xx is sent again, same body, with a growing delay, for up to
``RETRY_BUDGET_S``. What makes a re-sent command safe is per command: organisations are unique by SIRET
and registrations by e-mail (409: the harness finds the one the lost attempt created), state transitions
answer 409 once done (the harness reads the resource: in the target state, the lost attempt was
applied), scans carry a nonce (the same scan again is the same answer). Creates without a natural key
(an event, a check-in list, a need) carry an ``Idempotency-Key`` (:mod:`runtime.idempotency`), one per
command and the same on each retry: a retry whose lost attempt was applied gets that attempt's answer
(``Idempotent-Replayed: true``) instead of creating a second resource, and a 409 (the first attempt
still in flight — e.g. its transaction left open by a SIGKILL) is retried like a 5xx. The harness counts
these re-sent creates and checks that none created a second resource (the same unique title under two
ids: ``created twice``, 0 expected).

The faults (one seeded :class:`random.Random`, ``--seed``): an instance of a service, both drawn at random,
SIGKILLed (its whole process group; one instance at a time) every ``--kill-every`` seconds on average and
started again at once; the broker
restarted once (a third of the way) and the database once (two thirds), SIGTERM (``--hard-restarts``:
SIGKILL); ``--poison`` poison messages (half bytes that are not a CloudEvent, half a CloudEvent of type
member-activated whose payload is invalid) produced to ``membership.member``, a topic that consumers
of every service read, just before the broker's restart: they are dead-lettered while it goes away.

After each kill, the recovery: seconds from the SIGKILL until the restarted instance answers ``/readyz``
200 **and** each of its service's consumer groups has committed the end offsets its topics had when the service
was started again (lag 0 against that moment; read with aiokafka's admin client), bounded by 120 s.
The slowest is ``max_recovery_s``; the broker's and the database's restarts are measured the same way
over every instance of every service and reported apart.

After a kill of a lease's holder (the outbox relay's lease of the service, and the webhooks deliverer's: the
lease document's owner names the killed process), the takeover: seconds from the SIGKILL until another process
holds the lease (a surviving instance, or the killed one restarted: which is reported) and, the relay's,
until a record of the outbox is marked sent after the SIGKILL (by the new holder: the dead one publishes
nothing), when records were there to publish. With more than one instance, each takeover is due within its
lease (``OUTBOX_LEASE_SECONDS``, 10 s; the deliverer's 3 s here); on one machine a surviving instance takes a
dead holder's lease at once (:func:`runtime.lease.abandoned`), across machines when it expires.

At the end (the workload stopped, every group at lag 0, every outbox empty, every webhook delivered):

1. dead letters: the ``.dlq`` topics are read (``dead_lettered``: the messages there before any replay,
   one per poison message and consumer group that gave up on it; a second letter for the same original and
   group, written when the group's commit after the first was lost, is reported apart); then each poisoned original is
   replayed once with :func:`runtime.deadletters.replay` — the invalid CloudEvents repaired (a valid
   payload under the same event id: what an operator does after fixing the producer), the non-CloudEvent
   bytes as they were (``replayed``: poisoned originals put back on their topic, one per original however
   many groups dead-lettered it). Checked: every repaired one is applied by every group that handles its
   type (its processed-event record), every unrepairable one is dead-lettered again by every group
   reading the topic;
2. the recount: every projection is rebuilt from the Kafka log (read from the beginning) with the
   services' unchanged handlers (:class:`runtime.rebuild.Replay`, deduplicating by event id) into
   scratch collections beside the live ones, and compared document by document (:data:`PROJECTIONS`
   says which collections, and which fields are bookkeeping of the live process, not projected facts);
   ``double_applied`` counts documents that differ or exist on one side only, plus acknowledged
   commands whose event is on the log under more than one event id;
3. the acknowledged commands: each one's event (type and aggregate) is on the log (``lost`` counts those
   missing); an event id found on the log more than once was published twice (a kill between publish
   and mark-sent) — counted, and the consumers' ``duplicate`` outcomes (``cress_messages_consumed_total``
   of every service, summed over restarts) are reported beside;
4. deliveries: every message the fan-out made is delivered, and the receiver got a 2xx-answered request
   for each webhook-id (a missing one counts as lost).

Progress goes to stderr (rich); figures to stdout; the line before the last is
``instances=<n> relay_takeovers=<n> relay_takeover_max_s=<n|never> lease_takeovers_late=<n>``, the last line
exactly ``lost=<n> double_applied=<n> max_recovery_s=<n> dead_lettered=<n> replayed=<n> kills=<n>``; the exit
code is 1 when lost or double_applied is not 0, a recovery took longer than ``--recovery-limit``, or (more
than one instance) a lease was not taken over within its duration.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import typer
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import bench
from contracts.envelope import CloudEvent, EnvelopeError
from contracts.membership import MemberActivated
from contracts.topics import catalogue, topic_for
from runtime.auth import issue_token
from runtime.deadletters import DeadLetter, read_dead_letters, replay
from runtime.mongo import OUTBOX, PROCESSED
from runtime.outbox import LEASE as OUTBOX_LEASE
from runtime.rebuild import DatabaseView, Replay, log_offsets, throwaway_consumer
from runtime.service import service
from runtime.settings import Settings
from runtime.siret import with_check_digit
from runtime.stack import (TRANSACTION_LIFETIME_SECONDS, Infrastructure, Process, free_port, instance_name,
                           restart_broker, restart_database, start_infrastructure, start_service)
from services.webhooks.adapters.repository import LEASE as DELIVERY_LEASE

err = Console(stderr=True)
SERVICES = ("membership", "events", "procurement", "observatory", "webhooks")
RETRY_BUDGET_S = 180.0
RECOVERY_BOUND_S = 120.0
POISON_TYPE = MemberActivated.event_type
POISON_TOPIC = topic_for(POISON_TYPE).name
FILTERS = ["org.cress.membership.*", "org.cress.events.*", "org.cress.procurement.*"]

# The projections compared with their recount: (service, the consumer groups that write it, its collections
# with the fields of the live documents that are not projected facts). The consumers not listed act on nothing
# this workload publishes (membership's board-seats on lapses and withdrawals, procurement's
# need-convention-meetings on convention meetings, supplier-identity on organisation updates): not recounted.
WEBHOOK_DELIVERY_STATE = ("_id", "status", "attempts", "round_attempts", "replays", "next_attempt_at", "created_at",
                          "updated_at", "delivered_at", "failed_at", "last_outcome", "last_status_code", "log")
PROJECTIONS: list[tuple[str, tuple[str, ...], tuple[tuple[str, tuple[str, ...]], ...]]] = [
    ("membership", ("yearly-statistics",), (("yearly_statistics", ()),)),
    ("events", ("member-standing",), (("member_standing", ()),)),
    ("procurement", ("membership-view",), (("organisations", ()),)),
    ("procurement", ("supplier-standing",), (("member_standing", ()),)),
    # three groups (one per source service) append to one ledger; ``lane`` and ``mark``: the partition the live
    # batch read the row from and that lane's version counter (a recount's rows share one lane)
    ("observatory", ("observatory-ledger", "observatory-ledger-events", "observatory-ledger-procurement"),
     (("ledger", ("lane", "mark")),)),
    ("observatory", ("observatory-members",), (("organisations", ()), ("member_standing", ()))),
    ("observatory", ("observatory-directory",), (("directory_suppliers", ()),)),
    # a message's id is drawn at random and its delivery state is the deliverer's: compared by what the
    # fan-out decides (which endpoint gets which event, with which body)
    ("webhooks", ("fan-out",), (("messages", WEBHOOK_DELIVERY_STATE),)),
]


def service_env(name: str) -> dict[str, str]:
    env = {"LOG_LEVEL": "WARNING", "CONSUMER_MAX_ATTEMPTS": "3", "CONSUMER_RETRY_BASE_SECONDS": "0.05",
           "OUTBOX_POLL_INTERVAL_SECONDS": "0.1"}
    if name == "webhooks":
        env.update({"WEBHOOKS_ALLOW_HOSTS": '["127.0.0.1/32"]', "WEBHOOKS_LEASE_SECONDS": "3",
                    "WEBHOOKS_RETRY_SCHEDULE_SECONDS": "[0, 1, 2, 4, 8, 15, 30, 60, 120]",
                    "WEBHOOKS_REQUEST_TIMEOUT_SECONDS": "5"})
    return env


# -- the stack --------------------------------------------------------------------------------------
@dataclass
class Running:
    """One instance of a service: its port stays the same across restarts."""

    name: str
    port: int
    index: int = 0  # which instance of the service (0-based)
    proc: Process | None = None
    starts: int = 0

    @property
    def label(self) -> str:
        return instance_name(self.name, self.index)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.popen.pid if self.proc is not None else None


class Stack:
    """The broker, the database and ``instances`` processes per service (the same database and consumer groups,
    one port each), each of which can be killed and started again."""

    def __init__(self, data_dir: Path, *, transaction_lifetime: float, prefer: str | None,
                 instances: int = 1) -> None:
        if instances < 1:
            raise ValueError("at least one instance of each service")
        self.data_dir = data_dir
        self.log_dir = data_dir / "logs"
        self.infra: Infrastructure = start_infrastructure(
            data_dir, prefer=prefer, transaction_lifetime_seconds=transaction_lifetime,
            progress=lambda m: err.print(m))
        self.instances: dict[str, list[Running]] = {
            name: [Running(name, free_port(), i) for i in range(instances)] for name in SERVICES}
        self._turns = {name: itertools.cycle(runs) for name, runs in self.instances.items()}

    @property
    def count(self) -> int:
        """Instances of each service."""
        return len(self.instances[SERVICES[0]])

    def all(self) -> list[Running]:
        return [r for runs in self.instances.values() for r in runs]

    def start(self, name: str, index: int | None = None) -> None:
        """Start instance ``index`` of service ``name`` (None: every instance of it)."""
        for running in self.instances[name] if index is None else [self.instances[name][index]]:
            running.proc, _ = start_service(name, self.infra, self.log_dir, port=running.port,
                                            extra_env=service_env(name), instance=running.index)
            running.starts += 1

    def kill(self, name: str, index: int = 0) -> None:
        """SIGKILL instance ``index`` of service ``name`` (its whole process group)."""
        proc = self.instances[name][index].proc
        try:
            os.killpg(proc.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.popen.wait(10)

    def stop(self) -> None:
        for running in self.all():
            if running.proc is not None:
                running.proc.stop()
        self.infra.stop()

    def url(self, name: str) -> str:
        """The next instance of service ``name``, round-robin: the workload's requests (and the steps of one
        command's life) are spread over the instances, and a request re-sent goes to the next one."""
        return next(self._turns[name]).url


def groups_of(name: str) -> dict[str, list[str]]:
    """The service's consumer groups (as :meth:`runtime.consumer.Consumer.bind` names them) and their topics."""
    definition = service(name)
    database = definition.settings().mongodb_database
    return {f"{database}.{c.name}": c.topics for c in definition.consumers()}


def from_the_end(group: str) -> bool:
    """A group that starts at the end of its topics (``from_beginning=False``; none since the webhooks' fan-out
    reads from the beginning): a partition it has committed nothing on has nothing it must catch up."""
    name, _, consumer = group.partition(".")
    return any(c.name == consumer and not c.from_beginning for c in service(name).consumers())


class Offsets:
    """End offsets of topics and committed offsets of groups (aiokafka's admin client and a group-less consumer)."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.admin: AIOKafkaAdminClient | None = None
        self.kafka: AIOKafkaConsumer | None = None

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self.admin is None:
            self.admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
            await self.admin.start()
            self.kafka = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                          enable_auto_commit=False, request_timeout_ms=5000)
            await self.kafka.start()
        return self.admin, self.kafka

    async def reset(self) -> None:
        admin, kafka, self.admin, self.kafka = self.admin, self.kafka, None, None
        for client in (admin, kafka):
            if client is not None:
                try:
                    await (client.close() if client is admin else client.stop())
                except Exception:  # noqa: BLE001 — a client of a restarted broker
                    pass

    async def ends(self, topics: list[str]) -> dict[TopicPartition, int]:
        _, kafka = await self._clients()
        parts = []
        for topic in topics:
            partitions = kafka.partitions_for_topic(topic)
            if not partitions:
                await kafka._client.force_metadata_update()  # noqa: SLF001
                partitions = kafka.partitions_for_topic(topic) or set()
            parts += [TopicPartition(topic, p) for p in partitions]
        return await kafka.end_offsets(parts) if parts else {}

    async def committed(self, group: str) -> dict[TopicPartition, int]:
        admin, _ = await self._clients()
        found = await admin.list_consumer_group_offsets(group)
        return {tp: meta.offset for tp, meta in found.items() if meta.offset >= 0}

    @staticmethod
    def behind(committed: dict[TopicPartition, int], ends: dict[TopicPartition, int], from_end: bool
               ) -> dict[TopicPartition, int]:
        out = {}
        for tp, end in ends.items():
            if tp not in committed and from_end:
                continue
            if committed.get(tp, 0) < end:
                out[tp] = end - committed.get(tp, 0)
        return out

    async def lag(self, group: str, topics: list[str]) -> int:
        ends = await self.ends(topics)
        return sum(self.behind(await self.committed(group), ends, from_the_end(group)).values())

    async def stable(self, group: str, members: int = 1) -> bool:
        """The group has at least ``members`` members and partitions assigned (its rebalance is over)."""
        admin, _ = await self._clients()
        [response] = await admin.describe_consumer_groups([group])
        _error, _id, state, _protocol_type, _protocol, found, *_ = response.groups[0]
        return state == "Stable" and len(found) >= members

    async def assignments(self, group: str) -> list[list[TopicPartition]]:
        """The partitions each member of ``group`` was assigned (one list per member)."""
        admin, _ = await self._clients()
        [response] = await admin.describe_consumer_groups([group])
        found = response.groups[0][5]  # (error, group, state, protocol type, protocol, members, …)
        return [ConsumerProtocolMemberAssignment.decode(member[-1]).partitions() if member[-1] else []
                for member in found]


# -- the webhook receiver ---------------------------------------------------------------------------
class Receiver:
    """A partner's endpoint: answers 204 and counts each webhook-id it answered."""

    def __init__(self) -> None:
        self.port = free_port()
        self.delivered: Counter[str] = Counter()
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        try:
            await request.read()
        except ConnectionResetError:
            return web.Response(status=400)
        self.delivered[request.headers.get("webhook-id", "")] += 1
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


# -- the client -------------------------------------------------------------------------------------
class Refused(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"{status}: {text[:300]}")
        self.status = status


@dataclass
class Ack:
    service: str
    event_type: str
    subject: str


@dataclass
class Ledger:
    acks: list[Ack] = field(default_factory=list)
    commands: int = 0  # commands acknowledged (2xx, or a re-sent one found applied)
    resent: int = 0  # requests sent again after no answer or a 5xx
    applied_by_lost_attempt: int = 0  # a re-sent command refused (409) because its lost attempt had been applied
    uncertain_creates: int = 0  # creates without a natural key whose answer was lost, sent again (with their key)
    refused: Counter = field(default_factory=Counter)
    reads: int = 0


class Client:
    def __init__(self, session: aiohttp.ClientSession, stack: Stack, token: str, ledger: Ledger) -> None:
        self.session, self.stack, self.ledger = session, stack, ledger
        self.headers = {"Authorization": f"Bearer {token}"}

    async def call(self, name: str, method: str, path: str, body: Any = None, *, find=None,
                   keyless_create: bool = False, acks: list[tuple[str, str]] | None = None,
                   ack_subject=None, read: bool = False) -> Any:
        """Send until a 2xx or a 4xx; a 4xx after an attempt without answer asks ``find()`` whether that
        attempt was applied (its result, or None). ``acks``: (event type, subject) expected on the log; a
        subject None is taken from the answer with ``ack_subject(answer)``."""
        deadline = time.monotonic() + RETRY_BUDGET_S
        uncertain = False
        delay = 0.2
        headers = self.headers  # a create without a natural key: one Idempotency-Key, the same on each retry
        if keyless_create:
            headers = {**self.headers, "Idempotency-Key": str(uuid.uuid4())}
        while True:
            try:
                async with self.session.request(method, self.stack.url(name) + path, json=body,
                                                headers=headers) as r:
                    text = await r.text()
                    status = r.status
            except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError):
                status, text = None, ""
            if status is not None and 200 <= status < 300:
                result = json.loads(text) if text else None
                break
            if status is not None and 400 <= status < 500 and not (keyless_create and status == 409):
                if uncertain and find is not None:
                    result = await find()
                    if result is not None:
                        self.ledger.applied_by_lost_attempt += 1
                        break
                self.ledger.refused[f"{name} {method} {status}"] += 1
                raise Refused(status, text)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{method} {name}{path}: no answer within {RETRY_BUDGET_S:.0f} s")
            if not read:
                self.ledger.resent += 1
                if keyless_create and not uncertain:
                    self.ledger.uncertain_creates += 1
                uncertain = True
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 2.0)
        if read:
            self.ledger.reads += 1
            return result
        self.ledger.commands += 1
        for event_type, subject in acks or ():
            self.ledger.acks.append(Ack(name, event_type, subject if subject is not None else ack_subject(result)))
        return result

    async def get(self, name: str, path: str) -> Any:
        return await self.call(name, "GET", path, read=True)

    def in_state(self, name: str, path: str, *states: str):
        """A ``find`` for :meth:`call`: the resource at ``path`` if its status is one of ``states`` (a step
        whose answer was lost was applied), else None."""
        async def find():
            doc = await self.get(name, path)
            return doc if doc["status"] in states else None
        return find


def ev(service_name: str, kind: str) -> str:
    return f"org.cress.{service_name}.{kind}.v1"


# -- the workload -----------------------------------------------------------------------------------
class Workload:
    """Rounds of commands crossing every service, ``lanes`` at a time, until ``target`` events were published."""

    def __init__(self, client: Client, rng: random.Random, *, target: int, lanes: int, registrations: int,
                 buyer: str, stamp: str) -> None:
        self.c, self.rng, self.target, self.lanes = client, rng, target, lanes
        self.registrations, self.buyer, self.stamp = registrations, buyer, stamp
        self.today = date.today()
        self.sirets = iter(range(1, 10**6))
        self.suppliers: list[str] = []
        self.rounds = 0
        self.said = time.monotonic()
        self.errors: list[str] = []

    def published(self) -> int:
        return len(self.c.ledger.acks)

    async def run(self, bar: Progress, task, faults_done=lambda: True) -> None:
        """Rounds until ``target`` events were acknowledged and every planned fault happened."""
        async def lane(i: int) -> None:
            while self.published() < self.target or not faults_done():
                self.rounds += 1
                try:
                    await self.round(self.rounds)
                except (Refused, TimeoutError) as exc:
                    self.errors.append(f"round {self.rounds}: {exc}")
                    if len(self.errors) > 20:
                        raise
                bar.update(task, completed=min(self.published(), self.target))
                if not err.is_terminal and time.monotonic() - self.said >= 15:
                    self.said = time.monotonic()
                    err.print(f"  {self.published()} of {self.target} events acknowledged, {self.rounds} rounds")

        await asyncio.gather(*(lane(i) for i in range(self.lanes)))

    async def round(self, n: int) -> None:
        org = await self.member()
        if n % 3 == 1 or not self.suppliers:
            await self.supplier(org)
        await self.event(n)
        if n % 2 == 0 and self.suppliers:
            await self.need(n)
        if n % 5 == 0:
            await self.c.get("observatory", f"/reports/{self.today.year}")

    async def member(self) -> str:
        c, on = self.c, self.today.isoformat()
        siret = with_check_digit(f"8{self.stamp}{next(self.sirets):06d}0001")

        async def find_org():
            page = await c.get("membership", f"/organisations?q={siret}")
            return page["items"][0] if page["items"] else None

        org = (await c.call("membership", "POST", "/organisations", {
            "siret": siret, "name": f"Structure ESS {siret[:9]}", "legal_form": "association", "departement": "93",
            "commune": "Montreuil", "sector": "économie circulaire", "headcount": 5,
            "annual_budget_cents": 20_000_000, "on": on}, find=find_org,
            acks=[(ev("membership", "organisation-registered"), None)], ack_subject=lambda r: r["id"]))["id"]

        async def find_application():
            page = await c.get("membership", f"/applications?organisation_id={org}")
            return page["items"][0] if page.get("items") else None

        application = (await c.call("membership", "POST", "/applications", {"organisation_id": org, "on": on},
                                    find=find_application, acks=[(ev("membership", "application-submitted"), None)],
                                    ack_subject=lambda r: r["id"]))["id"]

        def in_state(*states):
            return c.in_state("membership", f"/applications/{application}", *states)

        await c.call("membership", "POST", f"/applications/{application}/welcome-meeting", {"on": on},
                     find=in_state("welcome_meeting_held", "admitted", "statutes_reviewed"),
                     acks=[(ev("membership", "welcome-meeting-held"), application)])
        await c.call("membership", "POST", f"/applications/{application}/admission", {"on": on},
                     find=in_state("admitted"), acks=[(ev("membership", "application-admitted"), application)])

        async def find_member():
            try:
                return await c.get("membership", f"/members/{org}")
            except Refused:
                return None

        await c.call("membership", "POST", "/members", {"application_id": application, "on": on}, find=find_member,
                     acks=[(ev("membership", "member-activated"), org)])
        return org

    async def supplier(self, org: str) -> None:
        """A supplier profile: procurement knows the organisation from membership's events (422 until then)."""
        deadline = time.monotonic() + RETRY_BUDGET_S
        while True:
            async def find():
                try:
                    doc = await self.c.get("procurement", f"/organisations/{org}")
                    return {"id": doc["supplier_id"]} if doc.get("supplier_id") else None
                except (Refused, KeyError):
                    return None
            try:
                supplier = await self.c.call("procurement", "POST", "/suppliers", {
                    "organisation_id": org, "sectors": ["circular_economy"],
                    "services": ["collecte et réemploi de mobilier"], "kinds": ["aci"]}, find=find,
                    acks=[(ev("procurement", "supplier-profiled"), None)], ack_subject=lambda r: r["id"])
                self.suppliers.append(supplier["id"])
                return
            except Refused as exc:
                if exc.status != 422 or time.monotonic() > deadline:
                    raise
                self.c.ledger.refused["procurement POST 422"] -= 1  # not known yet: not a refusal
                await asyncio.sleep(0.5)

    async def event(self, n: int) -> None:
        c = self.c
        starts = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)
        event = (await c.call("events", "POST", "/events", {
            "kind": "club_des_collectivites", "team": "territories", "title": f"Chaos {self.stamp} #{n}",
            "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=3)).isoformat(),
            "place": "CRESS, 7-9 rue Darboy, 75011 Paris", "capacity": self.registrations + 5},
            keyless_create=True, acks=[(ev("events", "event-scheduled"), None)], ack_subject=lambda r: r["id"]))["id"]

        async def published():
            doc = await c.get("events", f"/events/{event}")
            return doc if doc["status"] == "published" else None

        await c.call("events", "POST", f"/events/{event}/publication", find=published,
                     acks=[(ev("events", "event-published"), event)])
        registrations = []
        for i in range(self.registrations):
            email = f"p{i}-{event}@example.org"

            async def find_registration(email=email):
                page = await c.get("events", f"/events/{event}/registrations?limit=500")
                hits = [r for r in page["items"] if r.get("email") == email]
                return {"registration": hits[0]} if hits else None

            r = await c.call("events", "POST", f"/events/{event}/registrations",
                             {"name": f"Personne {i}", "email": email}, find=find_registration,
                             acks=[(ev("events", "registration-confirmed"), None)],
                             ack_subject=lambda r: r["registration"]["id"])
            registrations.append(r["registration"]["id"])
        checkin = await c.call("events", "POST", f"/events/{event}/checkin-lists", {"name": "Entrée"},
                               keyless_create=True)
        for registration in registrations:
            token = (await c.get("events", f"/registrations/{registration}/badge"))["token"]
            await c.call("events", "POST", f"/events/{event}/scans", {
                "list_id": checkin["list_id"], "token": token, "gate": "Porte 1", "nonce": uuid.uuid4().hex},
                acks=[(ev("events", "participant-checked-in"), registration)])

    async def need(self, n: int) -> None:
        c = self.c
        need = (await c.call("procurement", "POST", "/needs", {
            "buyer_id": self.buyer, "title": f"Collecte {self.stamp} #{n}", "kind": "tender",
            "sectors": ["circular_economy"], "place": {"commune": "93048"}, "amount_band": "20k_30k",
            "deadline_at": (datetime.now(timezone.utc) + timedelta(days=30)).isoformat(), "reserved": False,
            "social_clause": False}, keyless_create=True, acks=[(ev("procurement", "need-drafted"), None)],
            ack_subject=lambda r: r["id"]))["id"]

        def in_state(*states):
            return c.in_state("procurement", f"/needs/{need}", *states)

        await c.call("procurement", "POST", f"/needs/{need}/submission",
                     find=in_state("submitted", "validated"), acks=[(ev("procurement", "need-submitted"), need)])
        await c.call("procurement", "POST", f"/needs/{need}/validation",
                     find=in_state("validated", "dispatching", "dispatched"),
                     acks=[(ev("procurement", "need-validated"), need)])
        await c.call("procurement", "POST", f"/needs/{need}/dispatch", find=in_state("dispatching", "dispatched"),
                     acks=[(ev("procurement", "need-dispatch-started"), need)])
        deadline = time.monotonic() + RETRY_BUDGET_S
        while (await c.get("procurement", f"/needs/{need}"))["status"] != "dispatched":
            if time.monotonic() > deadline:
                raise TimeoutError(f"need {need} not dispatched within {RETRY_BUDGET_S:.0f} s")
            await asyncio.sleep(0.3)
        await c.call("procurement", "POST", f"/needs/{need}/closing", find=in_state("closed", "awarded"),
                     acks=[(ev("procurement", "need-closed"), need)])
        await c.call("procurement", "POST", f"/needs/{need}/award", {
            "supplier_ids": [self.rng.choice(self.suppliers)], "amount_cents": 2_600_000},
            find=in_state("awarded"), acks=[(ev("procurement", "need-awarded"), need)])


# -- faults -----------------------------------------------------------------------------------------
@dataclass
class Recovery:
    what: str
    seconds: float
    at: float  # since the start of the workload
    down: float = 0.0  # the broker's or the database's restart: until it answered again
    ready: float = 0.0  # of ``seconds``: until /readyz answered 200 (the rest: catching up)
    slowest: str = ""  # the consumer group that caught up last, and how far behind it was when ready

    @property
    def recovered(self) -> bool:
        return self.seconds < RECOVERY_BOUND_S


@dataclass
class Takeover:
    """A lease whose holder was SIGKILLed: how long until another process held it (and, the relay's, published)."""

    service: str
    lease: str  # "relay" (the outbox relay's) or "deliveries" (the webhooks' deliverer's)
    killed: str  # the instance that held it
    at: float  # since the start of the workload
    ttl: float  # the lease's duration: the takeover is due within it
    held: float | None = None  # seconds from the SIGKILL until another process held it (None: not within the bound)
    by: str = ""  # the new holder: another instance, or the killed one restarted
    published: float | None = None  # the relay's: until a record was marked sent after the SIGKILL (None: none was)
    stuck: bool = False  # records pending and none published within the bound

    @property
    def seconds(self) -> float | None:
        """Until the lease was held again and, for a relay with records to publish, they were published."""
        if self.held is None or self.stuck:
            return None
        return max(self.held, self.published or 0.0)

    @property
    def within_ttl(self) -> bool:
        return self.seconds is not None and self.seconds <= self.ttl

    def line(self) -> str:
        """The report's line of this takeover (the relay's says whether it published)."""
        published = ("" if self.lease != "relay"
                     else f", first record published after {self.published:.2f} s" if self.published is not None
                     else ", records pending and none published" if self.stuck
                     else ", nothing was pending")
        held = f"{self.held:.2f} s by {self.by}" if self.held is not None else "— never (within the bound)"
        return f"  {self.killed} at +{self.at:.0f} s held the {self.lease} lease ({self.ttl:g} s): held again after " \
               f"{held}{published}"


def leases_of(name: str) -> list[tuple[str, str, str, float]]:
    """The leases the instances of service ``name`` hold one at a time, that a SIGKILL of the holder must hand
    over: (collection, document id, what, seconds). Membership's dues runner (a lease taken once a day) and
    procurement's dispatches (one lease per dispatch, short-lived) are not watched."""
    leases = [(OUTBOX_LEASE, "relay", "relay", Settings().outbox_lease_seconds)]
    if name == "webhooks":
        env = service_env(name)
        leases.append((DELIVERY_LEASE, "deliveries", "deliveries", float(env["WEBHOOKS_LEASE_SECONDS"])))
    return leases


def owner_pid(owner: str | None) -> int | None:
    """The process id in a lease owner (:func:`runtime.lease.owner_id`: ``host:pid:random``)."""
    parts = (owner or "").rsplit(":", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


class Faults:
    def __init__(self, stack: Stack, offsets: Offsets, rng: random.Random, *, kill_every: float,
                 hard_restarts: bool, poison: int, settings: Settings, min_kills: int = 1, mongo: Any = None) -> None:
        self.stack, self.offsets, self.rng, self.mongo = stack, offsets, rng, mongo
        self.takeovers: list[Takeover] = []
        self.kill_every, self.hard_restarts, self.poison_count = kill_every, hard_restarts, poison
        self.min_kills = min_kills
        self.settings = settings
        self.kills: list[Recovery] = []
        self.infra_restarts: list[Recovery] = []
        self.poisoned: list[dict[str, Any]] = []  # {"kind": "bytes"|"payload", "offset", "partition", "id"}
        self.t0 = time.monotonic()
        self.broker_done = self.database_done = self.poison_done = False

    def done(self) -> bool:
        """Every planned fault happened: the broker's and the database's restarts, the poison, ``min_kills``."""
        return (self.broker_done and self.database_done and (self.poison_done or not self.poison_count)
                and len(self.kills) >= self.min_kills)

    async def recover(self, instances: list[Running], since: float) -> tuple[float, float, str]:
        """Seconds from ``since`` until each instance answers /readyz 200 and its service's groups have committed
        the end offsets of the moment it was started again; and the group that caught up last (with how many
        records it was behind when the instances were ready), "" if none was behind then."""
        targets: dict[str, dict[TopicPartition, int]] = {}
        for name in dict.fromkeys(r.name for r in instances):
            for group, topics in groups_of(name).items():
                targets[group] = await self._retrying(lambda topics=topics: self.offsets.ends(topics))
        ready: set[str] = set()
        ready_s = 0.0
        backlog: dict[str, int] = {}  # per group: records behind its target when every instance was ready
        caught: dict[str, float] = {}  # per group: seconds from ``since`` until it had committed its target
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            while time.monotonic() - since < RECOVERY_BOUND_S:
                for running in instances:
                    if running.label in ready:
                        continue
                    try:
                        async with http.get(running.url + "/readyz") as r:
                            if r.status == 200:
                                ready.add(running.label)
                    except (aiohttp.ClientError, asyncio.TimeoutError):
                        pass
                if len(ready) == len(instances):
                    ready_s = ready_s or time.monotonic() - since
                    for group, target in targets.items():
                        if group in caught:
                            continue
                        committed = await self._retrying(lambda g=group: self.offsets.committed(g))
                        late = sum(self.offsets.behind(committed, target, from_the_end(group)).values())
                        backlog.setdefault(group, late)
                        if not late:
                            caught[group] = time.monotonic() - since
                    if len(caught) == len(targets):
                        last = max(caught, key=caught.__getitem__, default="")
                        slowest = f"{last} {caught[last]:.1f} s, {backlog[last]} records behind when ready" \
                            if last and backlog[last] else ""
                        return time.monotonic() - since, ready_s, slowest
                await asyncio.sleep(0.1)
        behind = []
        for group, target in targets.items():
            committed = await self._retrying(lambda g=group: self.offsets.committed(g))
            late = {f"{tp.topic}[{tp.partition}]": n
                    for tp, n in self.offsets.behind(committed, target, from_the_end(group)).items()}
            if late:
                behind.append(f"{group} {late}")
        err.print(f"  [red]not recovered within {RECOVERY_BOUND_S:.0f} s: not ready "
                  f"{sorted({r.label for r in instances} - ready)}; behind: {behind}")
        return RECOVERY_BOUND_S, ready_s, "not caught up: " + "; ".join(behind)

    # -- leases ----------------------------------------------------------------------------------------
    async def held_by(self, running: Running) -> list[tuple[str, str, str, float]]:
        """The leases of :func:`leases_of` that this instance's process holds now."""
        if self.mongo is None:
            return []
        db = self.mongo[service(running.name).settings().mongodb_database]
        held = []
        for lease in leases_of(running.name):
            try:
                doc = await db[lease[0]].find_one({"_id": lease[1]}, {"owner": 1})
            except Exception:  # noqa: BLE001 — not measured then
                continue
            if doc is not None and owner_pid(doc.get("owner")) == running.pid:
                held.append(lease)
        return held

    async def watch_takeover(self, running: Running, dead_pid: int, lease: tuple[str, str, str, float],
                             killed: float, killed_at: datetime) -> Takeover:
        """From the SIGKILL of ``lease``'s holder: until another process holds it and, the relay's, until a
        record is marked sent (by that other process: the dead one publishes nothing)."""
        collection, lease_id, what, ttl = lease
        db = self.mongo[service(running.name).settings().mongodb_database]
        takeover = Takeover(running.name, what, running.label, killed - self.t0, ttl)
        bound = killed + RECOVERY_BOUND_S
        while time.monotonic() < bound and takeover.held is None:
            try:
                doc = await db[collection].find_one({"_id": lease_id}, {"owner": 1})
            except Exception:  # noqa: BLE001 — the database busy: try again
                doc = None
            pid = owner_pid(doc.get("owner")) if doc else None
            if pid is not None and pid != dead_pid:
                takeover.held = time.monotonic() - killed
                by = next((r for r in self.stack.instances[running.name] if r.pid == pid), None)
                takeover.by = ("?" if by is None else f"{by.label} (restarted)" if by is running else by.label)
            else:
                await asyncio.sleep(0.05)
        if what == "relay" and takeover.held is not None:
            while time.monotonic() < bound:
                try:
                    if await db[OUTBOX].find_one({"status": "sent", "published_at": {"$gte": killed_at}}, {"_id": 1}):
                        takeover.published = time.monotonic() - killed
                        break
                    if not await db[OUTBOX].count_documents({"status": "pending"}, limit=1) \
                            and time.monotonic() - killed > takeover.held + 1.0:
                        break  # nothing to publish (a service whose workload is idle now, the observatory)
                except Exception:  # noqa: BLE001
                    pass
                await asyncio.sleep(0.05)
            else:
                takeover.stuck = True
        return takeover

    async def _retrying(self, call):
        for attempt in range(100):
            try:
                return await call()
            except Exception:  # noqa: BLE001 — the broker restarting
                await self.offsets.reset()
                await asyncio.sleep(0.5)
        return await call()

    async def kill_one(self) -> None:
        name = self.rng.choice(SERVICES)
        index = self.rng.randrange(self.stack.count) if self.stack.count > 1 else 0  # one instance at a time
        running = self.stack.instances[name][index]
        holding = await self.held_by(running)
        dead_pid = running.pid
        killed, killed_at = time.monotonic(), datetime.now(timezone.utc)
        await asyncio.to_thread(self.stack.kill, name, index)
        watchers = [asyncio.create_task(self.watch_takeover(running, dead_pid, lease, killed, killed_at))
                    for lease in holding]
        await asyncio.to_thread(self.stack.start, name, index)
        seconds, ready, slowest = await self.recover([running], killed)
        self.kills.append(Recovery(running.label, seconds, killed - self.t0, ready=ready, slowest=slowest))
        taken = [await w for w in watchers]
        self.takeovers += taken
        said = "".join(f"; its {t.lease} lease held again after {t.held if t.held is not None else -1:.1f} s by "
                       f"{t.by or 'nobody'}" + (f", published after {t.published:.1f} s" if t.published else "")
                       for t in taken)
        err.print(f"  SIGKILL {running.label} at +{killed - self.t0:.0f} s: ready after {ready:.1f} s, caught up after "
                  f"{seconds:.1f} s{said}" + (f"; last group: {slowest}" if slowest else ""))

    async def restart(self, what: str) -> None:
        """Restart the broker or the database; the recovery is measured from the moment it answers again
        (its own restart time is reported beside: on a loaded machine Apache Kafka takes long to start)."""
        since = time.monotonic()
        if what == "broker":
            await asyncio.to_thread(restart_broker, self.stack.infra, hard=self.hard_restarts)
            await self.offsets.reset()
        else:
            await asyncio.to_thread(restart_database, self.stack.infra, hard=self.hard_restarts)
        back = time.monotonic()
        seconds, ready, slowest = await self.recover(self.stack.all(), back)
        self.infra_restarts.append(Recovery(what, seconds, since - self.t0, back - since, ready, slowest))
        err.print(f"  restarted the {what} at +{since - self.t0:.0f} s (answering again {back - since:.1f} s "
                  f"later): every service ready and caught up {seconds:.1f} s after that"
                  + (f"; last group: {slowest}" if slowest else ""))

    async def poison(self) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap_servers, acks="all")
        await producer.start()
        try:
            for i in range(self.poison_count):
                key = f"org-poison-{uuid.uuid4().hex[:8]}"
                if i % 2 == 0:
                    meta = await producer.send_and_wait(POISON_TOPIC, value=b"\x00\xffnot a cloudevent " + key.encode(),
                                                        key=key.encode())
                    self.poisoned.append({"kind": "bytes", "partition": meta.partition, "offset": meta.offset})
                else:
                    envelope = CloudEvent(id=str(uuid.uuid4()), source="/cress/membership", type=POISON_TYPE,
                                          subject=key, time=datetime.now(timezone.utc),
                                          data={"organisation_id": key, "member_since": "not a date"})
                    meta = await producer.send_and_wait(POISON_TOPIC, value=envelope.kafka_value(),
                                                        key=envelope.kafka_key(), headers=envelope.kafka_headers())
                    self.poisoned.append({"kind": "payload", "partition": meta.partition, "offset": meta.offset,
                                          "id": envelope.id, "organisation_id": key})
        finally:
            await producer.stop()
        err.print(f"  {self.poison_count} poison messages produced to {POISON_TOPIC}")

    async def run(self, workload: Workload, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.rng.uniform(0.5, 1.5) * self.kill_every)
                return
            except asyncio.TimeoutError:
                pass
            done = workload.published() / workload.target
            # one fault per tick, in this order, but the poison goes in just before the broker's restart: the
            # consumers dead-letter it while the broker goes away and comes back (a producer that lost its
            # sequence on a .dlq partition must be renewed: runtime.kafka.renewed_producer)
            if not self.broker_done and done >= 1 / 3:
                if self.poison_count:
                    self.poison_done = True
                    await self.poison()
                self.broker_done = True
                await self.restart("broker")
            elif not self.database_done and done >= 2 / 3:
                self.database_done = True
                await self.restart("database")
            else:
                await self.kill_one()


# -- the checks -------------------------------------------------------------------------------------
async def read_log(settings: Settings) -> list:
    """Every record of every domain topic (not the dead-letter ones), from the beginning."""
    topics = [t.name for t in catalogue()]
    kafka = throwaway_consumer(settings, 5000)
    await kafka.start()
    try:
        cluster = await kafka._client.fetch_all_metadata()  # noqa: SLF001
        topics = [t for t in topics if cluster.partitions_for_topic(t)]
        first, end = await log_offsets(kafka, topics)
        todo = {tp for tp in end if end[tp] > first[tp]}
        for tp in end:
            kafka.seek(tp, first[tp])
        records = []
        while todo:
            batches = await kafka.getmany(*todo, timeout_ms=1000, max_records=5000)
            for tp, batch in batches.items():
                records += [r for r in batch if r.offset < end[tp]]
                if batch and batch[-1].offset + 1 >= end[tp]:
                    todo.discard(tp)
                    kafka.pause(tp)
        return records
    finally:
        await kafka.stop()


async def quiesce(stack: Stack, offsets: Offsets, mongo, timeout: float = 300.0) -> tuple[float, list[str]]:
    """Wait until every group is at lag 0 and every outbox and webhook message is done (twice in a row);
    return the seconds it took and, after ``timeout``, what had not settled (the checks go on: they count it)."""
    started = time.monotonic()
    calm = 0
    while time.monotonic() - started < timeout:
        busy = []
        for name in SERVICES:
            for group, topics in groups_of(name).items():
                lag = await offsets.lag(group, topics)
                if lag:
                    busy.append(f"{group} lag {lag}")
            db = mongo[service(name).settings().mongodb_database]
            pending = await db[OUTBOX].count_documents({"status": "pending"})
            if pending:
                busy.append(f"{name} outbox {pending}")
        pending = await mongo["webhooks"]["messages"].count_documents({"status": {"$ne": "delivered"}})
        if pending:
            busy.append(f"webhooks messages {pending}")
        calm = calm + 1 if not busy else 0
        if busy and int(time.monotonic() - started) % 15 == 0:
            err.print(f"  settling: {busy[:4]}")
        if calm >= 2:
            return time.monotonic() - started, []
        await asyncio.sleep(1.0)
    err.print(f"[red]the platform did not settle within {timeout:.0f} s: {busy}")
    return time.monotonic() - started, busy


def normalised(doc: dict, ignored: tuple[str, ...]) -> str:
    return json.dumps({k: v for k, v in doc.items() if k not in ignored}, sort_keys=True, default=str)


async def recount(stack: Stack, lines: list[str]) -> tuple[int, int]:
    """Rebuild every projection of :data:`PROJECTIONS` from the log (from the beginning, the services' own
    handlers) into scratch collections beside the live ones; count the documents the live projection lacks
    (lost), and those it has in excess or that differ (applied twice, or wrong)."""
    from runtime.mongo import Database

    missing = differing = 0
    for name, groups, collections in PROJECTIONS:
        definition = service(name)
        settings = definition.settings(kafka_bootstrap_servers=stack.infra.kafka_bootstrap_servers,
                                       mongodb_uri=stack.infra.mongodb_uri)
        database = await Database(settings).open()
        kafka = throwaway_consumer(settings, 5000)
        await kafka.start()
        try:
            suffix = f"__recount_{uuid.uuid4().hex[:6]}"
            replayer = Replay([c for c in definition.consumers() if c.name in groups], settings.source)
            first, end = await log_offsets(kafka, replayer.topics)
            await replayer.run(kafka, DatabaseView(database.db, {c: c + suffix for c, _ in collections}), first, end)
            for coll, ignored in collections:
                def key(d, ignored=ignored):
                    return normalised(d, ignored) if "_id" in ignored else str(d["_id"])
                live = {key(d): normalised(d, ignored) async for d in database.db[coll].find()}
                again = {key(d): normalised(d, ignored) async for d in database.db[coll + suffix].find()}
                bad = [k for k in live.keys() | again.keys() if live.get(k) != again.get(k)]
                absent = [k for k in bad if k not in live]
                missing += len(absent)
                differing += len(bad) - len(absent)
                lines.append(f"  recount {name}/{'+'.join(groups)}/{coll}: live {len(live)} documents, recounted "
                             f"{len(again)}: {len(absent)} missing from the live one, {len(bad) - len(absent)} "
                             f"differing or in excess")
                for k in bad[:3]:
                    lines.append(f"    {k[:80]}: live {str(live.get(k))[:300]} / recount {str(again.get(k))[:300]}")
                await database.db.drop_collection(coll + suffix)
        finally:
            await kafka.stop()
            await database.close()
    return missing, differing


# -- the run ----------------------------------------------------------------------------------------
@dataclass
class Figures:
    lost: int
    double_applied: int
    max_recovery_s: float
    dead_lettered: int
    replayed: int
    kills: int
    lines: list[str]
    slow: bool
    recoveries: list[Recovery] = field(default_factory=list)  # the kills', then the broker's and the database's
    dead_letters_expected: int = 0  # one per poison message and group that gives up on it
    duplicates: int = 0  # consumers' duplicate outcomes (live processes)
    published_twice: int = 0
    dead_lettered_again_off: int = 0  # dead-lettered again after the replay, less the expected number
    takeovers: list[Takeover] = field(default_factory=list)  # of a lease whose holder was SIGKILLed
    instances: int = 1  # of each service

    @property
    def relay_takeovers(self) -> list[Takeover]:
        return [t for t in self.takeovers if t.lease == "relay"]

    @property
    def relay_takeover_max_s(self) -> float | None:
        """The slowest relay takeover (held again and published), None when one never happened."""
        seconds = [t.seconds for t in self.relay_takeovers]
        return None if None in seconds else max(seconds, default=0.0)

    @property
    def takeovers_late(self) -> int:
        """Takeovers not within their lease (or never), with more than one instance (alone, a killed holder's lease
        waits for its restart: not a promise of the lease)."""
        return sum(1 for t in self.takeovers if not t.within_ttl) if self.instances > 1 else 0

    def takeover_line(self) -> str:
        """The line before the last: ``instances=<n> relay_takeovers=<n> relay_takeover_max_s=<n|never>
        lease_takeovers_late=<n>``."""
        worst = self.relay_takeover_max_s
        return (f"instances={self.instances} relay_takeovers={len(self.relay_takeovers)} "
                f"relay_takeover_max_s={'never' if worst is None else f'{worst:.2f}'} "
                f"lease_takeovers_late={self.takeovers_late}")


async def metrics_duplicates(stack: Stack) -> int:
    total = 0
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        for running in stack.all():
            async with http.get(running.url + "/metrics") as r:
                for line in (await r.text()).splitlines():
                    if line.startswith("cress_messages_consumed_total{") and 'outcome="duplicate"' in line:
                        total += int(float(line.rsplit(" ", 1)[1]))
    return total


async def run(stack: Stack, *, events: int, lanes: int, registrations: int, kill_every: float, seed: int,
              poison: int, hard_restarts: bool, recovery_limit: float, min_kills: int = 1) -> Figures:
    from pymongo import AsyncMongoClient

    rng = random.Random(seed)
    stamp = f"{seed % 100:02d}"
    loop = asyncio.get_running_loop()
    if threading.current_thread() is threading.main_thread():  # kill -USR1: where every task waits
        loop.add_signal_handler(signal.SIGUSR1, lambda: [t.print_stack(file=sys.stderr) for t in asyncio.all_tasks()])
    lines: list[str] = []
    settings = Settings(kafka_bootstrap_servers=stack.infra.kafka_bootstrap_servers,
                        mongodb_uri=stack.infra.mongodb_uri)
    token = issue_token(settings, "chaos-admin", ["admin"])
    receiver = Receiver()
    await receiver.start()
    offsets = Offsets(stack.infra.kafka_bootstrap_servers)
    mongo = AsyncMongoClient(stack.infra.mongodb_uri)
    ledger = Ledger()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            client = Client(session, stack, token, ledger)
            groups = [g for n in SERVICES for g in groups_of(n)]
            deadline = time.monotonic() + RECOVERY_BOUND_S
            # every group joined before the workload starts (a group that starts at the end of its topics skips
            # what comes before it joined)
            while not all([await offsets.stable(g, members=stack.count) for g in groups]):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"consumer groups not stable with {stack.count} members each within the bound")
                await asyncio.sleep(0.5)
            shares = {g: await offsets.assignments(g) for g in groups}
            shared = [g for g, parts in shares.items() if sum(1 for p in parts if p) > 1]
            lines.append(f"instances: {stack.count} of each service (" + "; ".join(
                f"{n} on {', '.join(str(r.port) for r in stack.instances[n])}" for n in SERVICES) + "); "
                f"consumer groups: {len(groups)}, each with {stack.count} member(s) before the workload; "
                f"partitions shared by more than one member in {len(shared)} (the others' topics have fewer "
                f"partitions than members, or one instance)")
            partner = issue_token(settings, "partner-chaos", ["partner"])
            partner_client = Client(session, stack, partner, Ledger())
            await partner_client.call("webhooks", "POST", "/endpoints", {
                "url": f"http://127.0.0.1:{receiver.port}/hooks", "event_types": FILTERS,
                "description": "chaos receiver"})
            buyer = (await client.call("procurement", "POST", "/buyers", {
                "kind": "commune", "siret": "21930048000015", "name": "Ville de Montreuil", "departement": "93",
                "commune": "93048"}))["id"]
            workload = Workload(client, rng, target=events, lanes=lanes, registrations=registrations,
                                buyer=buyer, stamp=stamp)
            faults = Faults(stack, offsets, random.Random(seed + 1), kill_every=kill_every,
                            hard_restarts=hard_restarts, poison=poison, settings=settings,
                            min_kills=min_kills, mongo=mongo)
            stop = asyncio.Event()
            started = time.monotonic()
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=err, transient=False) as bar:
                task = bar.add_task("events acknowledged", total=events)
                fault_task = asyncio.create_task(faults.run(workload, stop))
                try:
                    # a fault that failed (a broker that did not come back) ends the workload: raised below
                    await workload.run(bar, task, lambda: faults.done() or fault_task.done())
                finally:
                    stop.set()
                    await fault_task
            workload_s = time.monotonic() - started
            err.print("the workload stopped; waiting for every consumer, outbox and webhook to settle…")
            settle_s, unsettled = await quiesce(stack, offsets, mongo)
            duplicates = await metrics_duplicates(stack)

            # -- dead letters and their replay -------------------------------------------------------
            dlq_topics = [t.dead_letter.name for t in catalogue()]
            err.print("reading the dead letters…")
            letters = await read_dead_letters(settings, dlq_topics)
            # one per group and original: a group whose commit after a dead letter was lost (the broker going
            # away with the poison in flight) handles the original again and writes a second letter for it
            distinct = {(letter.header("dlq_consumer"), letter.original_topic,
                         letter.header("dlq_original_partition"), letter.header("dlq_original_offset"))
                        for letter in letters}
            dead_lettered, letters_twice = len(distinct), len(letters) - len(distinct)
            originals: dict[tuple[str, str, str], DeadLetter] = {}
            for letter in letters:
                originals.setdefault((letter.original_topic, letter.header("dlq_original_partition") or "",
                                      letter.header("dlq_original_offset") or ""), letter)
            repaired: list[DeadLetter] = []
            poisoned_at = {(str(p["partition"]), str(p["offset"])): p for p in faults.poisoned}
            for (topic, partition, offset), letter in originals.items():
                poisoned = poisoned_at.get((partition, offset))
                if poisoned is not None and poisoned["kind"] == "payload":  # same event id, a valid payload
                    value = json.dumps(fixed_member_activated(poisoned["organisation_id"])).encode()
                    letter = DeadLetter(letter.dlq_topic, letter.partition, letter.offset, letter.key, value,
                                        letter.headers)
                repaired.append(letter)
            err.print(f"replaying {len(repaired)} poisoned originals…")
            replayed = len(await replay(settings, repaired, by="make chaos"))
            unsettled += (await quiesce(stack, offsets, mongo))[1]
            after = await read_dead_letters(settings, dlq_topics)
            readers = {g for n in SERVICES for g, topics in groups_of(n).items() if POISON_TOPIC in topics}
            handlers = {(n, c.name) for n in SERVICES for c in service(n).consumers() if POISON_TYPE in c.handlers}
            unfixable = sum(1 for p in faults.poisoned if p["kind"] == "bytes")
            expected_again = unfixable * len(readers)
            again = len(after) - len(letters)
            not_applied = 0
            for p in faults.poisoned:
                if p["kind"] != "payload":
                    continue
                for name, consumer in handlers:
                    db = mongo[service(name).settings().mongodb_database]
                    if not await db[PROCESSED].find_one({"_id": f"{consumer}:{p['id']}"}):
                        not_applied += 1
            lines.append(f"poison: {len(faults.poisoned)} messages to {POISON_TOPIC} ({unfixable} not CloudEvents, "
                         f"{len(faults.poisoned) - unfixable} {POISON_TYPE} with an invalid payload), read by "
                         f"{len(readers)} groups, {len(handlers)} of which handle {POISON_TYPE}")
            lines.append(f"  dead letters: {dead_lettered} before the replay ({letters_twice} more written twice by "
                         f"a group whose commit after it was lost); replayed {replayed} originals (the "
                         f"invalid payloads repaired); dead-lettered again {again} (expected {expected_again}); "
                         f"repaired ones not applied by a group that handles them: {not_applied}")

            # -- the log, the acknowledged commands ----------------------------------------------------
            err.print("reading the log from the beginning…")
            records = await read_log(settings)
            ids_by_key: dict[tuple[str, str], set[str]] = defaultdict(set)
            copies: Counter[str] = Counter()
            for r in records:
                try:
                    envelope = CloudEvent.from_kafka(r.headers, r.value)
                except EnvelopeError:
                    continue
                ids_by_key[envelope.type, envelope.subject].add(envelope.id)
                copies[envelope.id] += 1
            created_twice = 0  # the workload's events and needs have unique titles (needs' are not on the log)
            for database, collection in (("events", "events"), ("procurement", "needs")):
                titles = Counter([d["title"] async for d in mongo[database][collection].find({}, {"title": 1})])
                created_twice += sum(n - 1 for n in titles.values())
            expected: Counter[tuple[str, str]] = Counter((a.event_type, a.subject) for a in ledger.acks)
            lost = sum(1 for key in expected if not ids_by_key.get(key))
            twice = sum(max(0, len(ids_by_key.get(key, ())) - n) for key, n in expected.items())
            published_twice = sum(n - 1 for n in copies.values() if n > 1)
            lines.append(f"workload: {ledger.commands} commands acknowledged ({len(ledger.acks)} events expected), "
                         f"{ledger.reads} reads, {workload.rounds} rounds in {workload_s:.0f} s; re-sent after no "
                         f"answer or a 5xx: {ledger.resent}; found applied by a lost attempt: "
                         f"{ledger.applied_by_lost_attempt}; creates without a natural key sent again: "
                         f"{ledger.uncertain_creates}; settled {settle_s:.1f} s after the workload")
            refused = {k: v for k, v in ledger.refused.items() if v}
            if refused or workload.errors:
                lines.append(f"  refused: {refused}; errors: {workload.errors[:3]}")
            lines.append(f"log: {len(records)} records, {len(copies)} distinct events; published twice (a kill between "
                         f"publish and mark-sent): {published_twice}; consumers' duplicate outcomes (live processes' "
                         f"cress_messages_consumed_total): {duplicates}")
            lines.append(f"acknowledged commands missing from the log: {lost}; applied twice (more event ids than "
                         f"commands): {twice}")
            lines.append(f"creates without a natural key applied twice because their answer was lost and the client "
                         f"sent them again (an event or a need with the same unique title under two ids; each sent "
                         f"with its Idempotency-Key): {created_twice} of {ledger.uncertain_creates} sent again")

            # -- deliveries --------------------------------------------------------------------------
            messages = [m async for m in mongo["webhooks"]["messages"].find({}, {"webhook_id": 1, "status": 1})]
            undelivered = sum(1 for m in messages if m["status"] != "delivered")
            unseen = sum(1 for m in messages if not receiver.delivered.get(m["webhook_id"]))
            lines.append(f"webhooks: {len(messages)} messages, {undelivered} not delivered, {unseen} never received; "
                         f"{sum(receiver.delivered.values())} requests for {len(receiver.delivered)} webhook-ids")

            # -- recount ------------------------------------------------------------------------------
            err.print("recounting every projection from the log…")
            missing, differing = await recount(stack, lines)

            # -- recoveries --------------------------------------------------------------------------
            slowest = max(faults.kills, key=lambda k: k.seconds, default=None)
            per_service = defaultdict(list)
            for k in faults.kills:
                per_service[k.what].append(k.seconds)
            lines.append(f"kills: {len(faults.kills)} SIGKILLs; recovery (ready and caught up) per service: " + ", ".join(
                f"{n} {len(v)}× max {max(v):.1f} s" for n, v in sorted(per_service.items())))
            lines.append("  each (service: ready, caught up, seconds after the SIGKILL): " + ", ".join(
                f"{k.what} {k.ready:.1f}/{k.seconds:.1f}" for k in faults.kills))
            if slowest is not None:
                lines.append(f"  slowest: {slowest.what} at +{slowest.at:.0f} s, {slowest.seconds:.1f} s")
            over = [k for k in faults.kills if k.seconds > recovery_limit]
            lines.append(f"  recoveries over {recovery_limit:g} s: {len(over)} "
                         + ", ".join(f"{k.what} {k.seconds:.1f} s" + (f" (last group: {k.slowest})" if k.slowest else "")
                                     for k in over))
            for r in faults.infra_restarts:
                lines.append(f"restart of the {r.what} at +{r.at:.0f} s ({'SIGKILL' if hard_restarts else 'SIGTERM'}): "
                             f"answering again after {r.down:.1f} s, then every service ready and caught up after "
                             f"{r.seconds:.1f} s")
            takeovers = faults.takeovers
            relays = [t for t in takeovers if t.lease == "relay"]
            lines.append(f"leases: {len(takeovers)} SIGKILLs of a lease's holder ({len(relays)} of an outbox relay's, "
                         f"lease {relays[0].ttl if relays else Settings().outbox_lease_seconds:g} s); held again by "
                         f"another instance {sum(1 for t in takeovers if t.by and '(restarted)' not in t.by)}×, by the "
                         f"killed one restarted {sum(1 for t in takeovers if '(restarted)' in t.by)}×; not within "
                         f"the lease: {sum(1 for t in takeovers if not t.within_ttl)}")
            for t in takeovers:
                lines.append(t.line())
            lost_total = lost + unseen + undelivered + not_applied + missing  # events, deliveries, letters, documents
            if unsettled:
                lines.append(f"NOT SETTLED (a consumer or relay stuck; counted as lost): {unsettled}")
                lost_total += len(unsettled)
            return Figures(lost_total, twice + differing, slowest.seconds if slowest else 0.0, dead_lettered,
                           replayed, len(faults.kills), lines, bool(over), faults.kills + faults.infra_restarts,
                           unfixable * len(readers) + (len(faults.poisoned) - unfixable) * len(handlers),
                           duplicates, published_twice, again - expected_again, takeovers, stack.count)
    finally:
        await offsets.reset()
        await mongo.close()
        await receiver.stop()


def fixed_member_activated(organisation_id: str) -> dict[str, Any]:
    """A valid member-activated payload for the repaired poison message (the operator's fix)."""
    today = date.today()
    return MemberActivated(organisation_id=organisation_id, application_id=f"app-{organisation_id}",
                           legal_form="association", departement="93", sector="économie circulaire",
                           esus_agreed=False, since=today, year=today.year, dues_cents=0).model_dump(mode="json")


def main(events: int = typer.Option(10_000, help="Domain events the workload's acknowledged commands publish."),
         lanes: int = typer.Option(6, help="Concurrent clients."),
         registrations: int = typer.Option(6, help="People registered (and checked in) per event."),
         kill_every: float = typer.Option(20.0, help="Mean seconds between two SIGKILLs of a service."),
         seed: int = typer.Option(12, help="Seed of the workload and of the faults."),
         poison: int = typer.Option(10, help="Poison messages (half not CloudEvents, half invalid payloads)."),
         hard_restarts: bool = typer.Option(False, help="SIGKILL (not SIGTERM) the broker and the database."),
         transaction_lifetime: float = typer.Option(TRANSACTION_LIFETIME_SECONDS,
                                                    help="SecantusDB's idle-transaction lifetime in seconds."),
         recovery_limit: float = typer.Option(15.0, help="Seconds a killed service has to be ready and caught up."),
         min_kills: int = typer.Option(1, help="SIGKILLs at least (the workload goes on past --events until then)."),
         broker: str = typer.Option("", help="tansu: Tansu even where Apache Kafka can run."),
         instances: int = typer.Option(2, min=1, help="Instances of each service (one port each, the same database "
                                                      "and consumer groups); a SIGKILL hits one instance."),
         keep: bool = typer.Option(False, help="Keep the data folder (logs) even when everything holds.")) -> None:
    """Faults across services on the embedded stack (see the module's docstring)."""
    data_dir = Path(tempfile.mkdtemp(prefix="cress-chaos-"))
    err.print(f"starting the embedded stack in {data_dir}…")
    stack = Stack(data_dir, transaction_lifetime=transaction_lifetime, prefer=broker or None, instances=instances)
    try:
        for name in SERVICES:
            err.print(f"starting {name} on port(s) {', '.join(str(r.port) for r in stack.instances[name])}…")
            stack.start(name)
        asyncio.run(wait_all_ready(stack))
        print(f"broker: {stack.infra.broker}; database: {stack.infra.database} (transaction lifetime "
              f"{transaction_lifetime:g} s); cpus={os.cpu_count()} loadavg={os.getloadavg()[0]:.2f}; "
              f"events={events} lanes={lanes} registrations={registrations} kill_every={kill_every:g} s "
              f"seed={seed} poison={poison} instances={instances}", flush=True)
        figures = asyncio.run(run(stack, events=events, lanes=lanes, registrations=registrations,
                                  kill_every=kill_every, seed=seed, poison=poison, hard_restarts=hard_restarts,
                                  recovery_limit=recovery_limit, min_kills=min_kills))
    except BaseException:
        err.print(f"logs kept in {data_dir / 'logs'}")
        stack.stop()
        raise
    stack.stop()
    for line in figures.lines:
        print(line, flush=True)
    broken = figures.lost > 0 or figures.double_applied > 0 or figures.slow or figures.dead_lettered_again_off \
        or figures.dead_lettered != figures.dead_letters_expected or figures.takeovers_late > 0
    if broken or keep:
        err.print(f"logs kept in {data_dir / 'logs'}")
    else:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(figures.takeover_line(), flush=True)
    print(f"lost={figures.lost} double_applied={figures.double_applied} max_recovery_s={figures.max_recovery_s:.1f} "
          f"dead_lettered={figures.dead_lettered} replayed={figures.replayed} kills={figures.kills}", flush=True)
    raise typer.Exit(1 if broken else 0)


async def wait_all_ready(stack: Stack, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        for running in stack.all():
            while True:
                proc = running.proc
                if proc.popen.poll() is not None:
                    raise RuntimeError(f"{running.label} exited (code {proc.popen.returncode}); see {proc.log_path}")
                try:
                    async with http.get(running.url + "/readyz") as r:
                        if r.status == 200:
                            break
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{running.label} not ready within {timeout:.0f} s; see {proc.log_path}")
                await asyncio.sleep(0.3)


if __name__ == "__main__":
    bench.run(main)
