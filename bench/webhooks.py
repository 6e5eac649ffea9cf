"""Partner webhooks benchmark (``make bench-webhooks``): 20,000 events to 10 local endpoints, one of
them down for a while, the webhooks process SIGKILLed mid-run and restarted.

On the embedded stack (Apache Kafka + SecantusDB, started here; or the servers named by
KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI), against a real uvicorn process of the webhooks service (its
own database):

1. N receivers (10): aiohttp servers on 127.0.0.1 in this process, each on its own port (allowed
   by ``WEBHOOKS_ALLOW_HOSTS``), answering 204 and recording every request (``webhook-id``, the
   status answered, when); each verifies the signature of every request (``--verify-every 1``, or
   one in k) with ``standardwebhooks`` against its endpoint's secret (a bad one is answered 400 and
   counted);
2. N endpoints registered through the API by partners with their own tokens (two per partner),
   each subscribed to ``org.cress.membership.*``: every event goes to every endpoint;
3. E events (20,000) ``org.cress.membership.contact-added.v1`` (ids only) produced to the
   ``membership.organisation`` topic exactly as a service's outbox relay produces them
   (:func:`runtime.outbox.envelope_of`: CloudEvents binary mode, the aggregate id as key, acks=all,
   the idempotent producer where the broker has it), ``--rate`` events/s (0: as fast as the producer
   goes). The CloudEvents ``time`` is the publication instant: latency is measured from it to the
   receiver's 2xx (same machine, same clock);
4. receiver 1 answers 503 (``--down-mode 503``) or refuses connections (``refused``: its listening
   socket is closed) from the start of the publication for ``--down-seconds`` (60 s by default: a
   minute), then comes back; the service's retry schedule is shortened for the bench
   (``--schedule``, ``WEBHOOKS_RETRY_SCHEDULE_SECONDS``; default 0, 1, 2, 4, 8, 15, 30, 60, 120 s:
   about 4 minutes in all, longer than the outage) and so is the delivery lease
   (``WEBHOOKS_LEASE_SECONDS``, 3 s: the restarted process takes over sooner);
5. once ``--kill-at`` (40 %) of the deliveries to the other receivers are done, the webhooks
   process is SIGKILLed (its whole process group) and started again on the same database.

Then, from what the receivers recorded and from the service's database:

- ``lost``: (endpoint, event) pairs without a 2xx answer when the run ends (every pair must get
  one), plus messages still pending or failed in the service's database;
- ``duplicates_after_2xx``: requests of a message a receiver had already answered with a 2xx,
  except the at-least-once case the design allows (module :mod:`services.webhooks.service_layer.delivery`):
  the 2xx was answered before the new process was started (so to the killed process; its answer
  may be handled a few milliseconds after the kill, the receivers answering meanwhile: they are
  given 0.5 s to answer what the dead process sent), its attempt never reached the database (the
  process died in between), and it was sent again after the restart — these are counted apart
  (``redelivered_after_kill``, a receiver deduplicates them by ``webhook-id``);
- deliveries/s: pairs delivered / seconds from the first publication to the last first 2xx;
- latency p50/p99 from the event's publication to its first 2xx, for the receivers that were
  never down (``p99_ms`` of the last line), for the one that was, and for all; and where it goes for
  one receiver never down: the fan-out (publication → message written), the wait in the endpoint's
  queue (→ request sent) and the request itself (→ 2xx). With the 20,000 events published unpaced (in
  seconds), the queue dominates by construction; ``--rate`` paces the publication.

Progress goes to stderr, figures to stdout with the machine's load; the last line is
``lost=<n> duplicates_after_2xx=<n> deliveries_per_s=<n> p99_ms=<n>``; the exit code is 1 when
lost > 0 or duplicates_after_2xx > 0 (or signatures failed), 0 otherwise.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp
import typer
from aiohttp import web
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient
from rich.console import Console
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

import bench
from bench.events import Meter, _children, _cpu_seconds, percentile, progress, service_pids
from contracts.envelope import CloudEvent
from contracts.membership import ContactAdded, ContactRole
from contracts.topics import topic_for
from runtime.auth import issue_token
from runtime.settings import Settings
from runtime.stack import Infrastructure, Process, free_port, start_infrastructure, start_service, wait_ready
from services.webhooks.adapters.repository import attempts_of, due_query

err = Console(stderr=True)
EVENT_TYPE = ContactAdded.event_type
TOPIC = topic_for(EVENT_TYPE).name
FILTER = "org.cress.membership.*"
DEFAULT_SCHEDULE = "[0, 1, 2, 4, 8, 15, 30, 60, 120]"


# -- the receivers -----------------------------------------------------------------------------------
@dataclass
class Receiver:
    """One partner's endpoint: an aiohttp server on its own port, recording what it answered."""

    index: int
    port: int
    verify_every: int
    wanted: dict[str, float]  # the measured events (CloudEvents id -> publication time); probes are not
    secret: str = ""
    down_until: float = 0.0  # time.monotonic(): answers 503 until then (mode 503)
    hits: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # webhook-id -> [(status, time.time())]
    requests: int = 0
    ok: int = 0  # measured events answered 2xx at least once
    verified: int = 0
    bad_signatures: int = 0
    runner: web.AppRunner | None = None
    site: web.TCPSite | None = None

    async def handle(self, request: web.Request) -> web.Response:
        try:
            body = await request.read()
        except ConnectionResetError:  # the sender died mid-request (the SIGKILL)
            return web.Response(status=400)
        webhook_id = request.headers.get("webhook-id", "")
        self.requests += 1
        status = 503 if time.monotonic() < self.down_until else 204
        if status == 204 and self.verify_every and self.requests % self.verify_every == 0:
            try:
                Webhook(self.secret).verify(body, dict(request.headers))
                self.verified += 1
            except WebhookVerificationError:
                self.bad_signatures += 1
                status = 400
        hits = self.hits.setdefault(webhook_id, [])
        if status == 204 and webhook_id in self.wanted and not any(200 <= s < 300 for s, _ in hits):
            self.ok += 1
        hits.append((status, time.time()))
        return web.Response(status=status)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await self.listen()

    async def listen(self) -> None:
        self.site = web.TCPSite(self.runner, "127.0.0.1", self.port, reuse_address=True)
        await self.site.start()

    async def close_socket(self) -> None:
        """Stop listening (connections are refused) but keep the application."""
        if self.site is not None:
            await self.site.stop()
            self.site = None

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def first_2xx(self, webhook_id: str) -> float | None:
        return next((t for s, t in self.hits.get(webhook_id, ()) if 200 <= s < 300), None)


# -- the service ------------------------------------------------------------------------------------
class Service:
    """The webhooks service process (started, SIGKILLed, started again on the same database)."""

    def __init__(self, infra: Infrastructure, log_dir: Path, env: dict[str, str]) -> None:
        self.infra, self.log_dir, self.env = infra, log_dir, env
        self.port = free_port()
        self.proc: Process | None = None

    def start(self) -> None:
        self.proc, _ = start_service("webhooks", self.infra, self.log_dir, port=self.port, extra_env=self.env)
        wait_ready(self.port, 120, self.proc)

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.popen.pid, signal.SIGKILL)
        self.proc.popen.wait(10)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()


async def call(session: aiohttp.ClientSession, method: str, path: str, token: str, body: Any = None,
               expect: int = 200, **params) -> Any:
    async with session.request(method, path, json=body, params=params or None,
                               headers={"Authorization": f"Bearer {token}"}) as r:
        text = await r.text()
        if r.status != expect:
            raise RuntimeError(f"{method} {path} answered {r.status} (expected {expect}): {text[:500]}")
        return json.loads(text) if text else None


# -- publication ------------------------------------------------------------------------------------
def make_producer(infra: Infrastructure) -> AIOKafkaProducer:
    """As :func:`runtime.kafka.make_producer` makes a service's (acks=all, idempotent where possible)."""
    return AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, client_id="cress-bench-webhooks",
                            acks="all", enable_idempotence=infra.idempotent_producer, linger_ms=2,
                            request_timeout_ms=15000)


class Publisher:
    """Produces ContactAdded events as the membership service's relay would."""

    def __init__(self, producer: AIOKafkaProducer, stamp: str, published: dict[str, float]) -> None:
        self.producer = producer
        self.stamp = stamp
        self.source = Settings(service_name="membership").source
        self.published = published  # CloudEvents id -> its time (epoch seconds), filled before it is sent

    async def send(self, i: int, kind: str = "ev") -> tuple[str, asyncio.Future, float]:
        event = ContactAdded(organisation_id=f"org-bench-{self.stamp}-{i % 1000:04d}",
                             contact_id=f"ct-{kind}-{self.stamp}-{i:06d}", role=ContactRole.MEMBERSHIP_CONTACT,
                             added_on=date.today())
        envelope = CloudEvent.from_domain(event, source=self.source, time=datetime.now(timezone.utc))
        if kind == "ev":
            self.published[envelope.id] = envelope.time.timestamp()
        future = await self.producer.send(TOPIC, value=envelope.kafka_value(), key=envelope.kafka_key(),
                                          headers=envelope.kafka_headers())
        return envelope.id, future, envelope.time.timestamp()


async def publish(publisher: Publisher, count: int, rate: float, bar, task) -> float:
    """Publish ``count`` events (``rate`` per second, 0: as fast as possible); return the seconds taken."""
    started = time.perf_counter()
    pending: list[asyncio.Future] = []
    for i in range(count):
        if rate:
            ahead = started + i / rate - time.perf_counter()
            if ahead > 0:
                await asyncio.sleep(ahead)
        _, future, _ = await publisher.send(i)
        pending.append(future)
        if len(pending) >= 500:
            await asyncio.gather(*pending)
            bar.advance(task, len(pending))
            pending.clear()
    await asyncio.gather(*pending)
    bar.advance(task, len(pending))
    return time.perf_counter() - started


# -- the run ----------------------------------------------------------------------------------------
@dataclass
class Figures:
    lost: int
    duplicates: int
    redelivered_after_kill: int
    rate: float
    p99_ms: float
    bad_signatures: int
    lines: list[str]


async def run(infra: Infrastructure, data_dir: Path, *, events: int, endpoints: int, rate: float,
              down_seconds: float, down_mode: str, kill_at: float, schedule: str, verify_every: int,
              budget: float) -> Figures:
    stamp = uuid.uuid4().hex[:6]
    database = f"bench_webhooks_{stamp}"
    env = {"MONGODB_DATABASE": database, "LOG_LEVEL": "WARNING",
           "WEBHOOKS_ALLOW_HOSTS": '["127.0.0.1/32"]', "WEBHOOKS_RETRY_SCHEDULE_SECONDS": schedule,
           "WEBHOOKS_LEASE_SECONDS": "3", "WEBHOOKS_REQUEST_TIMEOUT_SECONDS": "5"}
    lines = [f"bench settings: {endpoints} endpoints × {events} events ({FILTER}), rate "
             f"{'unpaced' if not rate else f'{rate:g}/s'}; receiver 1 {down_mode} for {down_seconds:g} s; "
             f"SIGKILL at {kill_at:.0%} of the other deliveries; retry schedule {schedule} s (shortened for "
             f"the bench), delivery lease 3 s, request timeout 5 s"]
    stamp_published: dict[str, float] = {}
    receivers = [Receiver(i, free_port(), verify_every, stamp_published) for i in range(endpoints)]
    for r in receivers:
        await r.start()
    service = Service(infra, data_dir / "logs", env)
    settings = Settings()
    producer = make_producer(infra)
    mongo = AsyncMongoClient(infra.mongodb_uri)
    try:  # (a SIGTERM while the service starts stops it too)
        err.print(f"starting the webhooks service on port {service.port}…")
        await asyncio.to_thread(service.start)
        await producer.start()
        async with aiohttp.ClientSession(f"http://127.0.0.1:{service.port}",
                                         timeout=aiohttp.ClientTimeout(total=60)) as http:
            # -- endpoints, registered by their partners --------------------------------------------
            endpoint_ids: list[str] = []
            for r in receivers:
                token = issue_token(settings, f"partner-bench-{r.index // 2 + 1}", ["partner"])
                ep = await call(http, "POST", "/endpoints", token, {
                    "url": f"http://127.0.0.1:{r.port}/hooks/{r.index + 1}", "event_types": [FILTER],
                    "description": f"bench receiver {r.index + 1}"}, expect=201)
                r.secret = (await call(http, "GET", f"/endpoints/{ep['id']}/secret", token))["key"]
                endpoint_ids.append(ep["id"])
            # -- probes: the fan-out consumer reads the topic once every receiver got one -------------
            publisher = Publisher(producer, stamp, stamp_published)
            probes: set[str] = set()
            deadline = time.monotonic() + 120
            while not all(any(r.first_2xx(p) for p in probes) for r in receivers):
                if time.monotonic() > deadline:
                    raise RuntimeError("the probes did not reach every receiver within 120 s")
                event_id, future, _ = await publisher.send(len(probes), kind="probe")
                await future
                probes.add(event_id)
                await asyncio.sleep(1.0)
            err.print(f"{len(probes)} probe event(s) reached every receiver: the fan-out reads the topic")

            # -- the run -------------------------------------------------------------------------------
            others = receivers[1:]
            expected_others = events * len(others)
            said = time.monotonic()
            killed_at: float | None = None  # time.time()
            restarted_at: float | None = None
            respawn_at: float | None = None
            kill_wall = 0.0

            def count_2xx(rs: list[Receiver]) -> int:
                return sum(r.ok for r in rs)

            meter = Meter(service_pids(infra, service.proc.popen.pid))
            with meter, progress() as bar:
                pub_task = bar.add_task("publishing", total=events)
                del_task = bar.add_task(f"deliveries ({endpoints} receivers)", total=events * endpoints)
                down = receivers[0]
                if down_mode == "503":
                    down.down_until = time.monotonic() + down_seconds
                else:
                    await down.close_socket()
                t0 = time.time()
                publishing = asyncio.create_task(publish(publisher, events, rate, bar, pub_task))
                down_back = False
                deadline = time.monotonic() + budget
                while time.monotonic() < deadline:
                    await asyncio.sleep(0.25)
                    if not down_back and time.time() - t0 >= down_seconds:
                        if down_mode == "refused":
                            await down.listen()
                        down_back = True
                    done_others = count_2xx(others)
                    bar.update(del_task, completed=count_2xx(receivers))
                    if not err.is_terminal and time.monotonic() - said >= 15:
                        said = time.monotonic()
                        err.print(f"+{time.time() - t0:.0f} s: published {len(publisher.published)}, delivered "
                                  f"{count_2xx(receivers)} of {events * endpoints}")
                    if killed_at is None and done_others >= kill_at * expected_others:
                        killed_at = time.time()
                        cpu_before = _cpu_seconds(service.proc.popen.pid, _children())
                        await asyncio.to_thread(service.kill)  # the receivers keep answering meanwhile
                        killed_at = time.time()  # every answer the dead process got is before this
                        err.print(f"SIGKILLed the webhooks service at {killed_at - t0:.1f} s "
                                  f"({done_others} deliveries to the healthy receivers done); restarting…")
                        await asyncio.sleep(0.5)  # the receivers answer what the dead process had sent
                        respawn_at = time.time()  # no other process sends before this
                        t = time.perf_counter()
                        await asyncio.to_thread(service.start)
                        restarted_at = time.time()
                        kill_wall = time.perf_counter() - t
                        meter.pids["service"] = service.proc.popen.pid  # CPU of both processes counted
                        meter.start[2]["service"] -= cpu_before
                    if publishing.done() and down_back and killed_at is not None \
                            and count_2xx(receivers) >= events * endpoints:
                        break
                publish_s = await publishing
                await asyncio.sleep(3.0)  # late duplicates, if any, arrive
                for _ in range(120):  # the service writes its last records
                    if not sum([await mongo[database]["messages"].count_documents(due_query(e))
                                for e in endpoint_ids]):
                        break
                    await asyncio.sleep(1.0)
            lines.append(f"published {events} events in {publish_s:.1f} s ({events / publish_s:.0f}/s) to {TOPIC}; "
                         f"service killed at +{(killed_at or t0) - t0:.1f} s, ready again {kill_wall:.1f} s later")
            lines.append("  " + meter.report())

            # -- figures -------------------------------------------------------------------------------
            firsts: list[tuple[int, str, float]] = []  # (receiver, event, first 2xx)
            missing: list[tuple[int, str]] = []
            for r in receivers:
                for e in publisher.published:
                    t = r.first_2xx(e)
                    if t is None:
                        missing.append((r.index, e))
                    else:
                        firsts.append((r.index, e, t))
            last = max((t for _, _, t in firsts), default=t0)
            span = max(last - t0, 1e-9)
            rate_out = len(firsts) / span
            lat_healthy = [t - publisher.published[e] for i, e, t in firsts if i != 0]
            lat_down = [t - publisher.published[e] for i, e, t in firsts if i == 0]
            lat_after = [t - publisher.published[e] for i, e, t in firsts
                         if i != 0 and restarted_at and publisher.published[e] > restarted_at]
            lines.append(f"delivered {len(firsts)} of {events * endpoints} (endpoint, event) pairs in {span:.1f} s: "
                         f"{rate_out:.0f} deliveries/s")
            lines.append(f"  latency from publication to the first 2xx, receivers never down: {_ms(lat_healthy)}")
            lines.append(f"  … of events published after the restart: {_ms(lat_after)}")
            lines.append(f"  … receiver 1 ({down_mode} for {down_seconds:g} s): {_ms(lat_down)}")
            lines.append(f"  … every receiver: {_ms(lat_healthy + lat_down)}")
            statuses = Counter(s for r in receivers for h in r.hits.values() for s, _ in h)
            lines.append("  receivers answered: " + ", ".join(f"{k}×{v}" for k, v in sorted(statuses.items()))
                         + f"; signatures verified {sum(r.verified for r in receivers)}, bad "
                           f"{sum(r.bad_signatures for r in receivers)}")

            # -- the service's own account: nothing pending or failed; duplicates explained? -------------
            db = mongo[database]
            not_done = Counter()
            cursor = await db["messages"].aggregate([{"$match": {"status": {"$ne": "delivered"}}},
                                                     {"$group": {"_id": "$status", "n": {"$sum": 1}}}])
            for doc in await cursor.to_list():
                not_done[doc["_id"]] = doc["n"]
            suspects: list[tuple[Receiver, str, list[tuple[int, float]]]] = []
            for r in receivers:
                for e, hits in r.hits.items():
                    first = r.first_2xx(e)
                    if first is not None and any(t > first for _, t in hits):
                        suspects.append((r, e, hits))
            duplicates = redelivered = 0
            suspected: dict[tuple[int, str], dict] = {}  # one query per endpoint (no index by webhook-id)
            for index in {r.index for r, _, _ in suspects}:
                ids = [e for r, e, _ in suspects if r.index == index]
                async for doc in db["messages"].find({"endpoint_id": endpoint_ids[index],
                                                      "webhook_id": {"$in": ids}}):
                    suspected[index, doc["webhook_id"]] = doc
            for r, e, hits in suspects:
                first = r.first_2xx(e)
                later = [(s, t) for s, t in hits if t > first]
                message = suspected.get((r.index, e))
                logged = [] if message is None else await attempts_of(db, message)
                recorded = sum(1 for a in logged if a["outcome"] == "delivered")
                # sent by the process killed (answered before another existed: it never read the 2xx), sent
                # again by the new one, the first 2xx not recorded, no replay
                explained = (respawn_at is not None and first < respawn_at and all(t > respawn_at for _, t in later)
                             and recorded <= 1 and message is not None and message.get("replays", 0) == 0)
                if explained:
                    redelivered += len(later)
                else:
                    duplicates += len(later)
                    if duplicates <= 5:
                        attempts = logged
                        lines.append(f"  duplicate: receiver {r.index + 1} {e}: answers "
                                     f"{[(s, round(t - t0, 3)) for s, t in hits]}; killed at "
                                     f"{(killed_at or t0) - t0:.3f}, restarted at {(restarted_at or t0) - t0:.3f}; "
                                     f"attempts logged {[(a['outcome'], round(a['at'].replace(tzinfo=timezone.utc).timestamp() - t0, 3)) for a in attempts]}")
            lines.extend(await where_latency_goes(db, endpoint_ids[1], set(publisher.published)))
            lost = len(missing) + not_done["pending"] + not_done["failed"]
            lines.append(f"lost: {lost} ({len(missing)} pairs without a 2xx; messages pending "
                         f"{not_done['pending']}, failed {not_done['failed']} in the service's database)")
            lines.append(f"duplicates after a 2xx: {duplicates}; sent again after the kill because the process died "
                         f"between the receiver's 2xx and its record (at least once, same webhook-id): {redelivered}")
            for index, e in missing[:5]:
                lines.append(f"  missing: receiver {index + 1} event {e}: {receivers[index].hits.get(e)}")
    finally:
        await producer.stop()
        await mongo.close()
        service.stop()
        for r in receivers:
            await r.stop()
    bad = sum(r.bad_signatures for r in receivers)
    return Figures(lost, duplicates, redelivered, rate_out, percentile(lat_healthy, 99) * 1000, bad, lines)


async def where_latency_goes(db, endpoint_id: str, measured: set[str]) -> list[str]:
    """For one receiver never down: publication → message written by the fan-out → its request sent (the
    wait in the endpoint's queue) → the answer (every delivered attempt's own latency)."""
    created: dict[str, tuple[datetime, datetime]] = {}  # message id -> (event time, message written)
    async for m in db["messages"].find({"endpoint_id": endpoint_id}):
        if m["webhook_id"] in measured:
            created[m["_id"]] = (m["event_at"], m["created_at"])
    sent: dict[str, datetime] = {}
    answer: list[float] = []
    async for batch in db["attempt_batches"].find():
        for a in batch["attempts"]:
            if a["outcome"] == "delivered":
                answer.append(a["latency_ms"] / 1000)
                if a["message_id"] in created and a["message_id"] not in sent:
                    sent[a["message_id"]] = a["at"]
    fan_out = [(c - e).total_seconds() for e, c in created.values()]
    queued = [(sent[m] - created[m][1]).total_seconds() for m in sent]
    return [f"  where it goes (receiver 2): publication → message written (fan-out) {_ms(fan_out)}",
            f"    … → its request sent (waiting in the endpoint's queue) {_ms(queued)}",
            f"    … the request itself, to the 2xx (every delivered attempt, all receivers) {_ms(answer)}"]


def _ms(values: list[float]) -> str:
    if not values:
        return "none"
    return (f"p50={percentile(values, 50) * 1000:.0f} ms p99={percentile(values, 99) * 1000:.0f} ms "
            f"max={max(values) * 1000:.0f} ms ({len(values)})")


def main(events: int = typer.Option(20_000, help="Events published."),
         endpoints: int = typer.Option(10, help="Endpoints (local receivers), each subscribed to every event."),
         rate: float = typer.Option(0.0, help="Events published per second (0: as fast as the producer goes)."),
         down_seconds: float = typer.Option(60.0, help="How long receiver 1 is down (a minute)."),
         down_mode: str = typer.Option("503", help="503: it answers 503; refused: it refuses connections."),
         kill_at: float = typer.Option(0.4, help="Share of the healthy receivers' deliveries done when the "
                                                 "webhooks process is SIGKILLed."),
         schedule: str = typer.Option(DEFAULT_SCHEDULE, help="WEBHOOKS_RETRY_SCHEDULE_SECONDS for the run (JSON)."),
         verify_every: int = typer.Option(1, help="Receivers verify the signature of one request in this many."),
         budget: float = typer.Option(1800.0, help="Seconds before the run gives up waiting for deliveries.")) -> None:
    """Deliveries to partners' endpoints on the embedded stack (see the module's docstring)."""
    if down_mode not in ("503", "refused") or not 0 < kill_at < 1 or endpoints < 2 or events < 1:
        raise typer.BadParameter("down-mode 503|refused, 0 < kill-at < 1, endpoints >= 2, events >= 1")
    if sum(json.loads(schedule)) <= down_seconds:
        raise typer.BadParameter(f"the retry schedule {schedule} gives up before a {down_seconds:g} s outage ends")
    data_dir = Path(tempfile.mkdtemp(prefix="cress-bench-webhooks-"))
    err.print(f"starting the embedded stack in {data_dir}…")
    infra = start_infrastructure(data_dir, progress=lambda m: err.print(m))
    try:
        print(f"broker: {infra.broker} ({infra.kafka_bootstrap_servers}); database: {infra.database}; "
              f"cpus={os.cpu_count()} loadavg={os.getloadavg()[0]:.2f} at start", flush=True)
        figures = asyncio.run(run(infra, data_dir, events=events, endpoints=endpoints, rate=rate,
                                  down_seconds=down_seconds, down_mode=down_mode, kill_at=kill_at,
                                  schedule=schedule, verify_every=verify_every, budget=budget))
    except BaseException:
        err.print(f"logs kept in {data_dir / 'logs'}")
        infra.stop()
        raise
    infra.stop()
    for line in figures.lines:
        print(line, flush=True)
    broken = figures.lost > 0 or figures.duplicates > 0 or figures.bad_signatures > 0
    if broken:
        err.print(f"the service's log is kept in {data_dir / 'logs'}")
    else:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"lost={figures.lost} duplicates_after_2xx={figures.duplicates} deliveries_per_s={figures.rate:.0f} "
          f"p99_ms={figures.p99_ms:.0f}", flush=True)
    raise typer.Exit(1 if broken else 0)


if __name__ == "__main__":
    bench.run(main)
