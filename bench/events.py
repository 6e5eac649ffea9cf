"""Events service benchmark (``make bench-events``): a registration burst and a check-in rush, over HTTP.

On the embedded stack (Apache Kafka + SecantusDB, started here; or the servers named by
KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI), against a real uvicorn process of the events service
(its own database), through its HTTP API only; aiohttp generates the load.

1. Registration burst — an event of P places (150) is published; C concurrent clients (64)
   send N registration attempts (2,000 distinct people). Client-side attempts/s and latency
   p50/p99. Then, read back from the API:
   - oversold: confirmed + offered + pending approval beyond P (must be 0);
   - lost: attempts acknowledged 201 that are not among the registrations, plus attempts that
     got neither a place nor a waiting-list entry (5xx, transport errors, 409s other than a
     true duplicate, any other refusal) (must be 0);
   - waiting-list order = arrival order: for every pair of waitlisted registrations A, B where
     A's response was received before B's request was sent, A's sequence must be lower; nobody
     is confirmed after someone was waitlisted; the waiting list holds N − P entries with
     sequences 1..N−P without gaps.
2. Check-in rush — an event with K confirmed registrations (1,000), one check-in list, G gates
   (8): G − 1 gates scan online (POST /events/{id}/scans), one gate is offline: it records its
   S scans (200) with the time they were made and uploads them late in one batch
   (POST /events/{id}/scans/batch, ``offline`` true). 10 % of the badges are scanned a second
   time (a new nonce), mostly at another gate around the same moment (concurrently), some at
   the offline gate. Online scans/s and p99. Then: every ``participant-checked-in`` event of
   this event on Kafka (topic events.registration, read from the beginning): no registration
   with two ``first_entry`` check-ins (double_checkins), none missing; the attendance endpoint
   says K checked in.

Per phase: the figures and the machine's load (CPU used by the service, the database, the
broker, this load generator and everything else). Progress goes to stderr, figures to stdout;
the last stdout line is
``oversold=<n> lost=<n> double_checkins=<n> p99_ms=<registration p99> regs_per_s=<attempts/s>``.
The exit code is 1 when an invariant is broken (oversold, lost, double or missing check-ins,
waiting-list order), 0 otherwise. Every request and phase is bounded in time.
"""
from __future__ import annotations

import asyncio
import bisect
import json
import os
import random
import shutil
import tempfile
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import bench
from runtime.auth import issue_token
from runtime.settings import Settings
from runtime.stack import Infrastructure, free_port, start_infrastructure, start_service, wait_ready

err = Console(stderr=True)
TOPIC = "events.registration"
CHECKED_IN = "org.cress.events.participant-checked-in.v1"
HELD = ("confirmed", "offered", "pending_approval")


def progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, transient=True)


async def http_load(session: aiohttp.ClientSession, plans: list[list[tuple[str, Any]]], seconds: float,
                    label: str, meter: Any) -> tuple[list[float], dict[str, int], float]:
    """One client per plan, each sending its plan's ``(path, params)`` GETs in turn, for ``seconds``
    (a progress bar; ``meter`` measures the machine meanwhile): every latency, the count of each
    status (or error kind), and the seconds it took."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    deadline = time.monotonic() + seconds

    async def client(plan: list[tuple[str, Any]]) -> None:
        i = 0
        while time.monotonic() < deadline:
            path, params = plan[i % len(plan)]
            i += 1
            started = time.perf_counter()
            try:
                async with session.get(path, params=params) as r:
                    await r.read()
                    status = str(r.status)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                status = type(exc).__name__
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1

    with meter, progress() as bar:
        task = bar.add_task(label, total=seconds)

        async def tick() -> None:
            while time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                bar.update(task, completed=min(seconds, seconds - (deadline - time.monotonic())))

        started = time.perf_counter()
        await asyncio.gather(tick(), *(client(plan) for plan in plans))
        return latencies, statuses, time.perf_counter() - started


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def ms(values: list[float]) -> str:
    return f"p50={percentile(values, 50) * 1000:.1f} ms p99={percentile(values, 99) * 1000:.1f} ms " \
           f"max={max(values, default=float('nan')) * 1000:.1f} ms"


async def run_pool(items: list, concurrency: int, work, bar: Progress, label: str, deadline: float) -> int:
    """``work(item)`` for every item, ``concurrency`` at a time; no new item once ``deadline``
    (monotonic) has passed. Returns how many items were left unsent."""
    queue = deque(items)
    task = bar.add_task(label, total=len(items))

    async def worker() -> None:
        while queue and time.monotonic() < deadline:
            await work(queue.popleft())
            bar.advance(task)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(queue)


# -- machine load ----------------------------------------------------------------------------------
TICK = os.sysconf("SC_CLK_TCK")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def _cpu_seconds(pid: int, tree: dict[int, list[int]]) -> float:
    """CPU seconds (user + system) of ``pid`` and its living descendants."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICK
        except (OSError, IndexError, ValueError):
            pass
        todo += tree.get(p, [])
    return total


def _machine() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    return (total - idle) / TICK, total / TICK


class Meter:
    """CPU used during a phase, by the machine and by the named processes (with their children)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids

    def _sample(self) -> tuple[float, tuple[float, float], dict[str, float], float]:
        tree = _children()
        return (time.monotonic(), _machine(), {n: _cpu_seconds(p, tree) for n, p in self.pids.items()},
                time.process_time())

    def __enter__(self) -> Meter:
        self.start = self._sample()
        return self

    def __exit__(self, *exc) -> None:
        self.end = self._sample()

    def report(self) -> str:
        (t0, (busy0, total0), procs0, own0), (t1, (busy1, total1), procs1, own1) = self.start, self.end
        wall = max(t1 - t0, 1e-9)
        cpus = os.cpu_count() or 1
        busy = busy1 - busy0
        used = {n: (procs1[n] - procs0[n]) for n in self.pids}
        used["load generator"] = own1 - own0
        others = max(0.0, busy - sum(used.values()))
        parts = ", ".join(f"{n} {v / wall:.2f}" for n, v in used.items())
        load1 = os.getloadavg()[0]
        share = busy / max(total1 - total0, 1e-9) * 100
        return (f"load: {share:.0f} % of {cpus} CPUs busy, loadavg(1 min) {load1:.2f}; CPUs used: {parts}, "
                f"other processes {others / wall:.2f}")


# -- HTTP helpers ------------------------------------------------------------------------------------
class Api:
    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def call(self, method: str, path: str, body: Any = None, expect: int = 200, **params) -> Any:
        async with self.session.request(method, path, json=body, params=params or None) as r:
            text = await r.text()
            if r.status != expect:
                raise RuntimeError(f"{method} {path} answered {r.status} (expected {expect}): {text[:500]}")
            return json.loads(text) if text else None

    async def timed(self, method: str, path: str, body: Any = None, expect: int = 200, **params) -> tuple[Any, float]:
        t = time.perf_counter()
        out = await self.call(method, path, body, expect, **params)
        return out, time.perf_counter() - t

    async def published_event(self, title: str, capacity: int) -> str:
        starts = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)
        event = await self.call("POST", "/events", {
            "kind": "club_des_collectivites", "team": "territories", "title": title,
            "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=3)).isoformat(),
            "place": "CRESS, 7-9 rue Darboy, 75011 Paris", "capacity": capacity}, expect=201)
        await self.call("POST", f"/events/{event['id']}/publication")
        return event["id"]

    async def all_registrations(self, event_id: str) -> list[dict]:
        out: list[dict] = []
        while True:
            page = await self.call("GET", f"/events/{event_id}/registrations", limit=500, offset=len(out))
            out += page["items"]
            if not page["items"] or len(out) >= page["total"]:
                return out


# -- 1. registration burst -----------------------------------------------------------------------------
@dataclass
class Attempt:
    index: int
    email: str
    sent: float = 0.0
    received: float = 0.0
    status: int | None = None  # HTTP status; None: transport error or timeout
    registration_id: str | None = None
    outcome: str | None = None  # confirmed / waitlisted / …
    seq: int | None = None
    detail: str = ""


@dataclass
class BurstFigures:
    rate: float
    latencies: list[float]
    oversold: int
    lost: int
    order_violations: int
    lines: list[str] = field(default_factory=list)


def order_violations(attempts: list[Attempt], seq_of: dict[str, int]) -> tuple[int, list[str]]:
    """Pairs of waitlisted registrations (A, B), A's response received before B's request was
    sent, where A's sequence is not lower than B's. (Times are taken conservatively: ``sent``
    before the request leaves, ``received`` once the body is read.)"""
    waiting = sorted((a for a in attempts if a.registration_id in seq_of), key=lambda a: a.received)
    by_sent = sorted(waiting, key=lambda a: a.sent)
    bad, examples = 0, []
    i, before = 0, []  # ``before``: the sequences of the responses received before the current B was sent
    for b in by_sent:
        while i < len(waiting) and waiting[i].received < b.sent:
            before.append((seq_of[waiting[i].registration_id], waiting[i]))
            i += 1
        for seq_a, a in before:
            if seq_a >= seq_of[b.registration_id]:
                bad += 1
                if len(examples) < 5:
                    examples.append(f"  {a.registration_id} (#{seq_a}, answered at +{a.received:.3f}s) before "
                                    f"{b.registration_id} (#{seq_of[b.registration_id]}, sent at +{b.sent:.3f}s)")
    return bad, examples


async def registration_burst(api: Api, places: int, attempts_n: int, clients: int, stamp: str,
                             budget: float, meter: Meter) -> BurstFigures:
    event_id = await api.published_event(f"Bench — inscriptions {stamp}", places)
    attempts = [Attempt(i, f"burst-{stamp}-{i:05d}@example.org") for i in range(attempts_n)]
    origin = time.perf_counter()

    async def attempt(a: Attempt) -> None:
        a.sent = time.perf_counter() - origin
        try:
            async with api.session.post(f"/events/{event_id}/registrations",
                                        json={"name": f"Personne {a.index}", "email": a.email}) as r:
                body = await r.read()
                a.status = r.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            a.received = time.perf_counter() - origin
            a.detail = f"transport: {exc!r}"
            return
        a.received = time.perf_counter() - origin
        if a.status == 201:
            registration = json.loads(body)["registration"]
            a.registration_id, a.outcome, a.seq = registration["id"], registration["status"], registration["waitlist_seq"]
        else:
            a.detail = body[:300].decode(errors="replace")

    with meter, progress() as bar:
        started = time.perf_counter()
        unsent = await run_pool(attempts, clients, attempt, bar, f"registrations ×{clients} clients",
                                time.monotonic() + budget)
        elapsed = time.perf_counter() - started
    answered = [a for a in attempts if a.received]
    latencies = [a.received - a.sent for a in answered]
    rate = len(answered) / elapsed
    statuses = Counter(a.status if a.status is not None else "transport" for a in answered)
    lines = [f"registration burst: {places} places, {attempts_n} attempts by {clients} clients in {elapsed:.1f} s: "
             f"{rate:.1f} attempts/s; latency {ms(latencies)}",
             "  answers: " + ", ".join(f"{k}×{v}" for k, v in sorted(statuses.items(), key=str))
             + (f"; {unsent} not sent (time budget {budget:.0f} s spent)" if unsent else ""),
             "  " + meter.report()]
    for a in [a for a in answered if a.status != 201][:5]:
        lines.append(f"  refused: {a.email}: {a.status or ''} {a.detail}")

    # -- read back: the registrations, the counter, the waiting list -----------------------------
    t = time.perf_counter()
    registrations = await api.all_registrations(event_id)
    t_list = time.perf_counter() - t
    occupancy, t_occ = await api.timed("GET", f"/events/{event_id}/occupancy")
    waiting, t_wait = await api.timed("GET", f"/events/{event_id}/waiting-list")
    sample = next((a.registration_id for a in attempts if a.outcome == "waitlisted"), None)
    t_one = (await api.timed("GET", f"/registrations/{sample}"))[1] if sample else float("nan")
    lines.append(f"  reads after the burst: all registrations ({len(registrations)}, pages of 500) {t_list * 1000:.0f} ms, "
                 f"occupancy {t_occ * 1000:.0f} ms, waiting list ({len(waiting)}) {t_wait * 1000:.0f} ms, "
                 f"one registration with its position {t_one * 1000:.0f} ms")

    by_id = {r["id"]: r for r in registrations}
    by_email = Counter(r["person"]["email"] for r in registrations)
    statuses_db = Counter(r["status"] for r in registrations)
    held = sum(statuses_db[s] for s in HELD)
    oversold = max(0, held - places)
    lines.append("  registrations stored: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses_db.items()))
                 + f"; counter: held {occupancy['held']}, waiting {occupancy['waiting']}"
                 + ("" if (occupancy["held"], occupancy["waiting"]) == (held, statuses_db["waitlisted"])
                    else "  ← the counter differs from the recount"))
    lines.append(f"  oversold: {oversold} (held {held} of {places} places)")

    attempted = Counter(a.email for a in attempts)
    acked_missing = [a for a in attempts if a.status == 201 and a.registration_id not in by_id]
    changed = [a for a in attempts if a.status == 201 and a.registration_id in by_id
               and by_id[a.registration_id]["status"] != a.outcome]
    true_duplicates = [a for a in answered if a.status == 409 and attempted[a.email] > 1 and by_email[a.email] == 1]
    failed = [a for a in answered if a.status != 201 and a not in true_duplicates]
    in_doubt = [a for a in failed if by_email[a.email]]
    acked_emails = {a.email for a in attempts if a.status == 201}
    phantoms = [r for r in registrations if r["person"]["email"] not in acked_emails]
    lost = len(acked_missing) + len(failed)
    lines.append(f"  lost: {lost} ({len(acked_missing)} acknowledged 201 but not stored, {len(failed)} refused or "
                 f"unanswered: " + (", ".join(f"{k}×{v}" for k, v in Counter(
                     str(a.status or 'transport') for a in failed).items()) or "none")
                 + f"); true duplicates {len(true_duplicates)}"
                 + (f"; {len(in_doubt)} of the refused/unanswered were stored all the same" if in_doubt else "")
                 + (f"; {len(phantoms)} stored registrations were never acknowledged" if phantoms else "")
                 + (f"; {len(changed)} changed status since their answer" if changed else ""))
    doubles = [e for e, n in by_email.items() if n > 1]
    if doubles:
        lines.append(f"  {len(doubles)} people registered twice, e.g. {doubles[:3]}")

    # -- the waiting list ---------------------------------------------------------------------------
    seq_of = {r["id"]: r["waitlist_seq"] for r in registrations if r["status"] == "waitlisted"}
    expected_waiting = attempts_n - places
    seqs = sorted(w["waitlist_seq"] for w in waiting)
    gapless = seqs == list(range(1, len(seqs) + 1))
    positions_ok = [w["position"] for w in waiting] == list(range(1, len(waiting) + 1))
    bad_pairs, examples = order_violations(attempts, seq_of)
    pairs = 0
    recv = sorted(a.received for a in attempts if a.registration_id in seq_of)
    for a in attempts:
        if a.registration_id in seq_of:
            pairs += bisect.bisect_left(recv, a.sent)
    confirmed_times = [a.sent for a in attempts if a.registration_id in by_id
                       and by_id[a.registration_id]["status"] == "confirmed"]
    first_waitlisted_answer = min((a.received for a in attempts if a.registration_id in seq_of), default=None)
    jumps = sum(1 for s in confirmed_times if first_waitlisted_answer is not None and s > first_waitlisted_answer)
    lines.append(f"  waiting list: {len(waiting)} entries (expected {expected_waiting}), sequences "
                 f"{'1..' + str(len(seqs)) + ' without gaps' if gapless else 'WITH GAPS OR REPEATS'}"
                 f"{'' if positions_ok else ', positions not 1..N'}; arrival order: {bad_pairs} violations "
                 f"among {pairs} ordered pairs; confirmed after someone was waitlisted: {jumps}")
    lines += examples
    violations = (bad_pairs + jumps + (0 if gapless and positions_ok and len(waiting) == expected_waiting else 1))
    return BurstFigures(rate, latencies, oversold, lost, violations, lines)


# -- 2. check-in rush --------------------------------------------------------------------------------
@dataclass
class Scan:
    badge: int
    gate: int
    t: float  # planned moment, 0..1 of the rush
    repeat: bool
    nonce: str = ""
    scanned_at: datetime | None = None
    sent: float = 0.0
    received: float = 0.0
    status: int | None = None
    outcome: str | None = None
    detail: str = ""


def plan_scans(k: int, gates: int, repeat_share: float, offline_scans: int, rng: random.Random) -> list[Scan]:
    """K first scans and round(K × share) repeats over ``gates`` gates; the last gate is offline and
    makes ``offline_scans`` of them (its share of repeats included). A repeat is planned just after
    its first scan, mostly at another gate (so the two may be in flight together)."""
    offline = gates - 1
    repeats_n = round(k * repeat_share)
    total = k + repeats_n
    offline_repeats = min(repeats_n, round(repeats_n * offline_scans / total))
    offline_firsts = offline_scans - offline_repeats
    if not 0 <= offline_firsts <= k:
        raise typer.BadParameter(f"{offline_scans} offline scans do not fit {k} badges")
    order = list(range(k))
    rng.shuffle(order)
    firsts: dict[int, Scan] = {}
    online_gates = list(range(gates - 1)) or [offline]
    offline_set = set(rng.sample(range(k), offline_firsts))
    rr = 0
    for rank, badge in enumerate(order):
        if badge in offline_set:
            gate = offline
        else:
            gate, rr = online_gates[rr % len(online_gates)], rr + 1
        firsts[badge] = Scan(badge, gate, rank / k, False)
    repeated = rng.sample(range(k), repeats_n)
    to_offline = [b for b in repeated if firsts[b].gate != offline][:offline_repeats]
    scans = list(firsts.values())
    for badge in repeated:
        first = firsts[badge]
        if badge in to_offline:
            gate = offline
        else:
            others = [g for g in online_gates if g != first.gate]
            gate = rng.choice(others) if others and rng.random() < 0.8 else rng.choice(online_gates)
        scans.append(Scan(badge, gate, min(1.0, first.t + rng.uniform(0, 0.01)), True))
    scans.sort(key=lambda s: (s.t, s.repeat))
    per_gate = Counter()
    for s in scans:
        per_gate[s.gate] += 1
        s.nonce = f"gate{s.gate + 1}-{per_gate[s.gate]:05d}"
    return scans


@dataclass
class CheckinFigures:
    rate: float
    latencies: list[float]
    double_checkins: int
    missing: int
    lines: list[str]


async def read_checkins(settings_bootstrap: str, event_id: str, expected: int, timeout: float) -> dict[str, list[dict]]:
    """Every participant-checked-in event of ``event_id`` on the topic, from the beginning, by
    registration (distinct CloudEvents ids); waits until ``expected`` registrations have one, the
    topic's end is reached, or ``timeout``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings_bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest", max_partition_fetch_bytes=4 * 1024 * 1024)
    await consumer.start()
    found: dict[str, dict[str, dict]] = {}
    redelivered = 0
    try:
        partitions = consumer.partitions_for_topic(TOPIC)
        if not partitions:
            await consumer._client.force_metadata_update()  # noqa: SLF001
            partitions = consumer.partitions_for_topic(TOPIC) or set()
        parts = [TopicPartition(TOPIC, p) for p in sorted(partitions)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        deadline = time.monotonic() + timeout
        while True:
            batch = await consumer.getmany(timeout_ms=300, max_records=5000)
            for records in batch.values():
                for r in records:
                    headers = {k: v.decode() for k, v in r.headers}
                    if headers.get("ce_type") != CHECKED_IN:
                        continue
                    data = json.loads(r.value)
                    if data.get("event_id") != event_id:
                        continue
                    per = found.setdefault(data["registration_id"], {})
                    redelivered += headers["ce_id"] in per
                    per[headers["ce_id"]] = data
            ends = await consumer.end_offsets(parts)
            at_end = all([await consumer.position(tp) >= ends[tp] for tp in parts])
            if at_end and (len(found) >= expected or time.monotonic() > deadline):
                break
            if time.monotonic() > deadline + 30:
                break
    finally:
        await consumer.stop()
    out = {rid: list(per.values()) for rid, per in found.items()}
    out["__redelivered__"] = [{"n": redelivered}]
    return out


async def checkin_rush(api: Api, k: int, gates: int, repeat_share: float, offline_scans: int, clients: int,
                       stamp: str, rng: random.Random, bootstrap: str, budget: float,
                       meter_of) -> CheckinFigures:
    lines: list[str] = []
    event_id = await api.published_event(f"Bench — accueil {stamp}", k)
    deadline = time.monotonic() + budget
    registration_ids: list[str | None] = [None] * k
    reg_latencies: list[float] = []
    refused: Counter = Counter()

    async def register(i: int) -> None:
        t = time.perf_counter()
        try:
            async with api.session.post(f"/events/{event_id}/registrations",
                                        json={"name": f"Participant·e {i}", "email": f"gate-{stamp}-{i:05d}@example.org"}) as r:
                body = await r.read()
                if r.status == 201 and json.loads(body)["registration"]["status"] == "confirmed":
                    registration_ids[i] = json.loads(body)["registration"]["id"]
                else:
                    refused[f"{r.status} {body[:120].decode(errors='replace')}"] += 1
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            refused[f"transport {type(exc).__name__}"] += 1
        reg_latencies.append(time.perf_counter() - t)

    with meter_of() as meter, progress() as bar:
        started = time.perf_counter()
        await run_pool(list(range(k)), clients, register, bar, f"registering {k} participants ×{clients}", deadline)
        elapsed = time.perf_counter() - started
    ok = sum(r is not None for r in registration_ids)
    lines.append(f"check-in: {ok}/{k} confirmed registrations in {elapsed:.1f} s ({k / elapsed:.1f}/s, {clients} "
                 f"clients, latency {ms(reg_latencies)})" + (f"; refused: {dict(refused)}" if refused else ""))
    lines.append("  " + meter.report())
    if ok < k:
        raise RuntimeError(f"only {ok} of {k} participants confirmed: cannot run the check-in rush")

    checkin_list = await api.call("POST", f"/events/{event_id}/checkin-lists", {"name": "Entrée principale"},
                                  expect=201)
    list_id = checkin_list["list_id"]
    tokens: list[str] = [""] * k
    badge_latencies: list[float] = []

    async def badge(i: int) -> None:
        out, took = await api.timed("GET", f"/registrations/{registration_ids[i]}/badge")
        tokens[i] = out["token"]
        badge_latencies.append(took)

    with progress() as bar:
        await run_pool(list(range(k)), gates, badge, bar, f"badges ×{gates}", deadline)
    lines.append(f"  badges: {sum(bool(t) for t in tokens)} tokens, GET /registrations/{{id}}/badge {ms(badge_latencies)}")

    scans = plan_scans(k, gates, repeat_share, offline_scans, rng)
    offline = gates - 1
    online = [s for s in scans if s.gate != offline]
    held_back = [s for s in scans if s.gate == offline]
    queues = {g: deque(s for s in online if s.gate == g) for g in range(gates - 1)}
    done = 0
    progressed = asyncio.Event()
    origin = time.perf_counter()

    async def gate(g: int, bar: Progress, task) -> None:
        nonlocal done
        queue = queues[g]
        while queue and time.monotonic() < deadline:
            s = queue.popleft()
            s.sent = time.perf_counter() - origin
            try:
                async with api.session.post(f"/events/{event_id}/scans", json={
                        "list_id": list_id, "token": tokens[s.badge], "gate": f"Porte {g + 1}",
                        "nonce": s.nonce}) as r:
                    body = await r.read()
                    s.status = r.status
                if s.status == 200:
                    s.outcome = json.loads(body)["result"]["outcome"]
                else:
                    s.detail = body[:300].decode(errors="replace")
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                s.detail = f"transport: {exc!r}"
            s.received = time.perf_counter() - origin
            done += 1
            progressed.set()
            bar.advance(task)

    async def offline_gate(bar: Progress, task) -> None:
        """Scans as the rush goes (its clock: the online gates' progress), kept on the device."""
        for s in held_back:
            while done / max(1, len(online)) < s.t and done < len(online):
                progressed.clear()
                try:
                    await asyncio.wait_for(progressed.wait(), max(0.01, deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    break
            s.scanned_at = datetime.now(timezone.utc)
            bar.advance(task)

    with meter_of() as meter, progress() as bar:
        online_task = bar.add_task(f"online scans, {gates - 1} gates", total=len(online))
        offline_task = bar.add_task("offline gate: scans kept", total=len(held_back))
        started = time.perf_counter()
        await asyncio.gather(*(gate(g, bar, online_task) for g in range(gates - 1)), offline_gate(bar, offline_task))
        live = time.perf_counter() - started
    live_meter = meter.report()
    batch_body = {"scans": [{"list_id": list_id, "token": tokens[s.badge], "gate": f"Porte {offline + 1}",
                             "nonce": s.nonce, "offline": True, "scanned_at": s.scanned_at.isoformat()}
                            for s in held_back if s.scanned_at is not None]}
    with meter_of() as batch_meter:
        batch, batch_took = await api.timed("POST", f"/events/{event_id}/scans/batch", batch_body)
    for s, result in zip([s for s in held_back if s.scanned_at is not None], batch["results"]):
        s.status = 200 if "result" in result else result.get("status")
        s.outcome = result["result"]["outcome"] if "result" in result else None
        s.detail = "" if "result" in result else result.get("detail", "")
    scan_latencies = [s.received - s.sent for s in online if s.received]
    rate = len(scan_latencies) / live
    sent_scans = [s for s in scans if s.status is not None or s.detail]
    outcomes = Counter(s.outcome or f"refused {s.status or 'transport'}" for s in sent_scans)
    overlapping = 0
    first_of = {s.badge: s for s in scans if not s.repeat}
    for s in online:
        f = first_of[s.badge]
        if s.repeat and f.gate != offline and f.received and s.received and s.sent < f.received and f.sent < s.received:
            overlapping += 1
    lines.append(f"  rush: {len(scans)} scans ({k} badges, {len(scans) - k} repeats) at {gates} gates; "
                 f"{len(online)} online by {gates - 1} gates in {live:.1f} s: {rate:.1f} scans/s, latency "
                 f"{ms(scan_latencies)}; {overlapping} repeats were in flight together with their first scan")
    lines.append("  " + live_meter)
    lines.append(f"  offline gate: {len(batch_body['scans'])} scans uploaded late in one batch in "
                 f"{batch_took * 1000:.0f} ms ({len(batch_body['scans']) / batch_took:.1f} scans/s): checked in "
                 f"{batch['checked_in']}, already {batch['already']}, invalid {batch['invalid']}, refused "
                 f"{batch['refused']}; {batch_meter.report()}")
    lines.append("  outcomes: " + ", ".join(f"{k_} {v}" for k_, v in sorted(outcomes.items())))
    for s in [s for s in scans if s.outcome not in ("checked_in", "already_checked_in")][:5]:
        lines.append(f"  unexpected: badge {s.badge} gate {s.gate + 1} nonce {s.nonce}: {s.status} {s.detail}")

    attendance, t_att = await api.timed("GET", f"/events/{event_id}/attendance")
    checked_in = attendance["total"]["checked_in"]
    t = time.perf_counter()
    per_registration = await read_checkins(bootstrap, event_id, k, timeout=60)
    t_kafka = time.perf_counter() - t
    redelivered = per_registration.pop("__redelivered__")[0]["n"]
    first_entries = {rid: sum(1 for e in evs if e.get("first_entry")) for rid, evs in per_registration.items()}
    doubles = [rid for rid, n in first_entries.items() if n > 1]
    all_doubles = [rid for rid, evs in per_registration.items() if len(evs) > 1]
    expected_ids = {r for r in registration_ids if r}
    missing = [r for r in expected_ids if first_entries.get(r, 0) == 0]
    strangers = [r for r in per_registration if r not in expected_ids]
    lines.append(f"  Kafka {TOPIC}: {sum(len(v) for v in per_registration.values())} check-in events of this event "
                 f"for {len(per_registration)} registrations (read in {t_kafka:.1f} s); registrations with two "
                 f"first entries: {len(doubles)}, with two check-in events: {len(all_doubles)}; badges without a "
                 f"check-in event: {len(missing)}" + (f"; unknown registrations {len(strangers)}" if strangers else "")
                 + (f"; {redelivered} records redelivered (same CloudEvents id)" if redelivered else ""))
    lines.append(f"  attendance endpoint: checked_in {checked_in} of {attendance['total']['registered']} "
                 f"(answered in {t_att * 1000:.0f} ms)")
    for rid in doubles[:5]:
        lines.append(f"  double: {rid}: {per_registration[rid]}")
    missing_n = len(missing) + abs(k - checked_in) + (outcomes["checked_in"] != k)
    return CheckinFigures(rate, scan_latencies, len(doubles), missing_n, lines)


# -- main ------------------------------------------------------------------------------------------------
def service_pids(infra: Infrastructure, service_pid: int) -> dict[str, int]:
    pids = {"service": service_pid}
    for proc in infra.processes:
        pids["broker" if proc.name in ("kafka", "tansu") else "database"] = proc.popen.pid
    return pids


def main(attempts: int = typer.Option(2000, help="Registration attempts in the burst (distinct people)."),
         places: int = typer.Option(150, help="Places of the burst's event."),
         clients: int = typer.Option(64, help="Concurrent clients of the burst."),
         checkins: int = typer.Option(1000, help="Confirmed registrations scanned at the check-in rush."),
         gates: int = typer.Option(8, help="Gates (concurrent scanning clients), the last one offline."),
         repeat_share: float = typer.Option(0.1, help="Share of the badges scanned a second time."),
         offline_scans: int = typer.Option(200, help="Scans the offline gate makes and uploads late."),
         register_clients: int = typer.Option(32, help="Concurrent clients registering the rush's participants."),
         request_timeout: float = typer.Option(150, help="Seconds before a request is given up (counted)."),
         phase_budget: float = typer.Option(900, help="Seconds per phase before it stops sending."),
         seed: int = typer.Option(2024)) -> None:
    """The events service under a registration burst and a check-in rush (see the module's docstring)."""
    if not (0 < places <= attempts and gates >= 2 and 0 <= repeat_share <= 1 and 0 < offline_scans <= checkins):
        raise typer.BadParameter("need 0 < places <= attempts, gates >= 2, 0 <= repeat-share <= 1, "
                                 "0 < offline-scans <= checkins")
    rng = random.Random(seed)
    stamp = uuid.uuid4().hex[:6]
    data_dir = Path(tempfile.mkdtemp(prefix="cress-bench-events-"))
    err.print(f"starting the embedded stack in {data_dir}…")
    infra = start_infrastructure(data_dir, progress=lambda m: err.print(m))
    proc = None
    try:
        print(f"broker: {infra.broker} ({infra.kafka_bootstrap_servers}); database: {infra.database}; "
              f"cpus={os.cpu_count()} loadavg={os.getloadavg()[0]:.2f} at start")
        proc, port = start_service("events", infra, data_dir / "logs", port=free_port(),
                                   extra_env={"MONGODB_DATABASE": f"bench_events_{stamp}", "LOG_LEVEL": "WARNING"})
        err.print(f"starting the events service on port {port}…")
        wait_ready(port, 120, proc)
        pids = service_pids(infra, proc.popen.pid)
        token = issue_token(Settings(), "bench-events", ["admin"])

        async def run() -> tuple[BurstFigures, CheckinFigures]:
            connector = aiohttp.TCPConnector(limit=max(clients, register_clients, gates) + 4)
            async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", connector=connector,
                                             headers={"Authorization": f"Bearer {token}"},
                                             timeout=aiohttp.ClientTimeout(total=request_timeout)) as session:
                api = Api(session)
                burst = await registration_burst(api, places, attempts, clients, stamp, phase_budget, Meter(pids))
                for line in burst.lines:
                    print(line, flush=True)
                rush = await checkin_rush(api, checkins, gates, repeat_share, offline_scans, register_clients, stamp,
                                          rng, infra.kafka_bootstrap_servers, phase_budget, lambda: Meter(pids))
                for line in rush.lines:
                    print(line, flush=True)
                return burst, rush

        burst, rush = asyncio.run(run())
    except BaseException:
        err.print(f"logs kept in {data_dir / 'logs'}")
        raise
    finally:
        if proc is not None:
            proc.stop()
        infra.stop()
    if burst.order_violations:
        print(f"waiting-list order: {burst.order_violations} violations (see above)")
    if rush.missing:
        print(f"check-in: {rush.missing} badges not checked in exactly once (see above)")
    print(f"oversold={burst.oversold} lost={burst.lost} double_checkins={rush.double_checkins} "
          f"p99_ms={percentile(burst.latencies, 99) * 1000:.0f} regs_per_s={burst.rate:.1f}", flush=True)
    broken = burst.oversold or burst.lost or rush.double_checkins or burst.order_violations or rush.missing
    if broken:
        err.print(f"the service's log is kept in {data_dir / 'logs'}")
    else:
        shutil.rmtree(data_dir, ignore_errors=True)
    raise typer.Exit(1 if broken else 0)


if __name__ == "__main__":
    bench.run(main)
