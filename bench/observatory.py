"""Observatory benchmark (``make bench-observatory``): rebuilding the ledger from 200,000 events, and the
activity report under 16 concurrent clients — on the embedded stack.

Starts Apache Kafka (or Tansu) and SecantusDB (or uses KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI), then:

1. **Events**: N CloudEvents the ledger keeps (200,000), a realistic mix over four years
   (2021–2024): members activated, dues invoiced and paid, grace periods, lapses, renewals and
   withdrawals; events held with registrations (some cancelled), check-ins and survey answers;
   business conventions with participants, meetings and outcomes; buyers, interventions
   (some corrected or withdrawn), conventions with local authorities, diagnostics, quotes, awards.
   Each is a contract model validated from its documented examples, wrapped as the outbox relay
   wraps it (:meth:`CloudEvent.from_domain`, Kafka binary mode) and produced straight to its topic.
2. **Rebuild** of the ``ledger`` projection with :func:`runtime.rebuild.rebuild` (timed, progress bar).
3. **Raw pipeline** over the same events, hand-written: an aiokafka consumer (no group) reading the
   topics in batches, decode, the same row construction (:func:`row_of`), unordered ``insert_many``
   into another collection with the same indexes (timed). ``rebuild_ratio = raw_s / rebuild_s``
   (goal ≥ 0.8); both collections must hold N rows.
4. **Report**: the observatory service (uvicorn process, :func:`runtime.stack.start_service`) on that
   database, its consumer groups committed at the end of the log (caught up); C clients (16) ask
   ``GET /reports/{year}`` for D seconds (20), years 2021–2024 as of year end, mid-year, other dates
   and today — p50 / p99 (goal p99 ≤ 200 ms).

Each phase prints its figures and the machine's load. The last line is
``rebuild_ratio=<x> report_p99_ms=<n>``; the exit code is 1 when a check fails (row counts, HTTP
errors, a figure that differs from the one computed in-process before the load).

    /work/main/.venv/bin/python -m bench.observatory [--events 200000 --clients 16 --seconds 20]
"""
from __future__ import annotations

import asyncio
import os
import random
import shutil
import tempfile
import time
import uuid
from datetime import date, datetime, time as clock, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import typer
from aiokafka import AIOKafkaConsumer
from pydantic_core import PydanticUndefined
from pymongo.errors import BulkWriteError
from rich.console import Console

import bench
from bench.events import Meter, http_load, percentile, progress, service_pids
from contracts.envelope import CloudEvent
from contracts.events import (ConventionParticipantJoined, EventCancelled, EventHeld, MeetingHeld, MeetingNotHeld,
                              MeetingOutcomeRecorded, ParticipantCheckedIn, RegistrationCancelled,
                              RegistrationConfirmed, SurveyAnswerSubmitted, SurveyAnswerUpdated)
from contracts.membership import (ApplicationSubmitted, DuesInvoiced, DuesPaymentRecorded, MemberActivated,
                                  MembershipEnteredGracePeriod, MembershipLapsed, MembershipRenewed,
                                  MembershipWithdrawn)
from contracts.procurement import (BuyerConventionSigned, BuyerRegistered, DiagnosticReportComputed,
                                   InterventionCorrected, InterventionLogged, InterventionWithdrawn, NeedAwarded,
                                   QuoteAccepted)
from contracts.topics import topic_for
from runtime.auth import issue_token
from runtime.kafka import ensure_topics, make_producer
from runtime.mongo import Database
from runtime.rebuild import DatabaseView, log_offsets, rebuild
from runtime.service import service
from runtime.stack import Infrastructure, free_port, start_infrastructure, start_service, wait_ready
from services.observatory.adapters.ledger import LEDGER, document_of, ensure_indexes
from services.observatory.domain.ledger import KEPT, row_of
from services.observatory.projections import LEDGER as LEDGER_PROJECTION

err = Console(stderr=True)
YEARS = (2021, 2022, 2023, 2024)
RAW = "ledger_raw"
_EXAMPLES: dict[type, dict] = {}


def example(cls: type, **values: Any):
    """A valid ``cls`` event: its fields' documented examples, with ``values`` instead."""
    if cls not in _EXAMPLES:
        base = {}
        for name, f in cls.model_fields.items():
            if f.examples:
                base[name] = f.examples[0]
            elif f.default is not PydanticUndefined:
                base[name] = f.default
        _EXAMPLES[cls] = base
    return cls.model_validate({**_EXAMPLES[cls], **values})


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, clock(rng.randint(7, 18), rng.randint(0, 59)), tzinfo=timezone.utc)


def _day(year: int, rng: random.Random, first: int = 1, last: int = 365) -> date:
    return date(year, 1, 1) + timedelta(days=rng.randint(first - 1, last - 1))


def activity(n: int, seed: int = 2024) -> list[tuple[Any, datetime]]:
    """``n`` events (domain event, event time) of four years of the chamber's activity."""
    rng = random.Random(seed)
    out: list[tuple[Any, datetime]] = []
    scale = max(1, n // 50_000)  # one "year" of the mix below is about 50,000 events at scale 1
    members: list[str] = []
    buyers: list[tuple[str, str]] = []
    year_index = 0
    while len(out) < n:
        year = YEARS[year_index % len(YEARS)] if year_index < len(YEARS) else YEARS[-1]
        year_index += 1
        add = lambda event, day: out.append((event, _at(day, rng)))  # noqa: E731
        # -- membership: newcomers, dues of everyone, payments, grace, lapses, renewals, withdrawals
        for _ in range(400 * scale):
            org, since = f"org-b{uuid.UUID(int=rng.getrandbits(128)).hex[:10]}", _day(year, rng)
            add(example(ApplicationSubmitted, application_id=f"app-{org[4:]}", organisation_id=org,
                        submitted_on=since - timedelta(days=20)), since - timedelta(days=20))
            add(example(MemberActivated, organisation_id=org, application_id=f"app-{org[4:]}", since=since, year=year,
                        departement=rng.choice(["75", "77", "78", "91", "92", "93", "94", "95"])), since)
            members.append(org)
        for org in members:
            amount = rng.choice([5_000, 15_000, 30_000, 60_000])
            issued = _day(year, rng, 1, 60)
            add(example(DuesInvoiced, organisation_id=org, invoice_id=f"{org}-{year}", year=year,
                        amount_cents=amount, issued_on=issued), issued)
            roll = rng.random()
            if roll < 0.85:
                paid = issued + timedelta(days=rng.randint(1, 120))
                add(example(DuesPaymentRecorded, organisation_id=org, invoice_id=f"{org}-{year}",
                            payment_id=f"pay-{org[5:]}-{year}", year=year, amount_cents=amount, paid_on=paid,
                            balance_cents=0, fully_paid=True), paid)
            elif roll < 0.95:
                grace = issued + timedelta(days=60)
                add(example(MembershipEnteredGracePeriod, organisation_id=org, invoice_id=f"{org}-{year}", year=year,
                            entered_on=grace), grace)
                add(example(MembershipRenewed, organisation_id=org, year=year, invoice_id=f"{org}-{year}",
                            status="active", renewed_on=grace + timedelta(days=20)), grace + timedelta(days=20))
            elif roll < 0.98:
                lapsed = issued + timedelta(days=120)
                add(example(MembershipLapsed, organisation_id=org, year=year, invoice_ids=[f"{org}-{year}"],
                            written_off_cents=amount, lapsed_on=lapsed), lapsed)
            else:
                gone = _day(year, rng, 100)
                add(example(MembershipWithdrawn, organisation_id=org, withdrawn_on=gone), gone)
        # -- the events service: events held, registrations, check-ins, survey answers, conventions
        kinds = [("club_des_collectivites", "territories"), ("training", "education"), ("webinar", "observatory"),
                 ("general_assembly", "membership"), ("business_convention", "business_development")]
        for e in range(120 * scale):
            kind, team = rng.choice(kinds)
            event_id = f"evt-b{year}-{e:05d}-{rng.getrandbits(24):06x}"
            starts = _at(_day(year, rng), rng)
            registrations = [f"reg-{event_id[5:]}-{i:03d}" for i in range(rng.randint(60, 140))]
            for reg in registrations:
                registered = starts - timedelta(days=rng.randint(1, 40))
                out.append((example(RegistrationConfirmed, registration_id=reg, event_id=event_id,
                                    registered_at=registered), registered))
                if rng.random() < 0.05:
                    out.append((example(RegistrationCancelled, registration_id=reg, event_id=event_id,
                                        cancelled_at=registered + timedelta(hours=5)), registered + timedelta(hours=5)))
            if rng.random() < 0.03:
                out.append((example(EventCancelled, event_id=event_id, kind=kind, team=team, starts_at=starts,
                                    ends_at=starts + timedelta(hours=3), cancelled_at=starts - timedelta(days=2)),
                            starts - timedelta(days=2)))
                continue
            out.append((example(EventHeld, event_id=event_id, kind=kind, team=team, starts_at=starts,
                                ends_at=starts + timedelta(hours=3), held_at=starts + timedelta(hours=4)),
                        starts + timedelta(hours=4)))
            for reg in registrations:
                if rng.random() < 0.75:
                    out.append((example(ParticipantCheckedIn, registration_id=reg, event_id=event_id,
                                        checked_in_at=starts + timedelta(minutes=rng.randint(0, 40)), first_entry=True),
                                starts + timedelta(minutes=45)))
                if rng.random() < 0.25:
                    answered = starts + timedelta(days=rng.randint(1, 10))
                    answer = dict(survey_id=f"srv-{event_id[4:]}", event_id=event_id, respondent_id=reg,
                                  marks={"overall": rng.randint(8, 20)},
                                  would_come_again={"come_again": rng.random() < 0.8})
                    out.append((example(SurveyAnswerSubmitted, **answer, submitted_at=answered), answered))
                    if rng.random() < 0.1:
                        out.append((example(SurveyAnswerUpdated, **answer, revision=2,
                                            updated_at=answered + timedelta(days=1)), answered + timedelta(days=1)))
            if kind == "business_convention":
                for i, reg in enumerate(registrations[:40]):
                    out.append((example(ConventionParticipantJoined, convention_id=event_id, participant_id=reg,
                                        joined_at=starts - timedelta(days=5)), starts - timedelta(days=5)))
                for m in range(30):
                    meeting = f"m-{event_id[4:]}-{m:03d}"
                    held = rng.random() < 0.85
                    out.append((example(MeetingHeld if held else MeetingNotHeld, convention_id=event_id,
                                        meeting_id=meeting, **({"held_at": starts} if held else {"marked_at": starts})),
                                starts + timedelta(hours=2)))
                    if held and rng.random() < 0.3:
                        out.append((example(MeetingOutcomeRecorded, convention_id=event_id, meeting_id=meeting,
                                            recorded_at=starts + timedelta(days=30)), starts + timedelta(days=30)))
        # -- procurement: buyers, interventions, conventions, diagnostics, quotes, awards
        for b in range(60 * scale):
            buyer, kind = f"buy-b{year}{b:05d}", rng.choice(["commune", "departement", "epci", "ept", "other_public", "private_company"])
            registered = _day(year, rng)
            add(example(BuyerRegistered, buyer_id=buyer, kind=kind, registered_at=_at(registered, rng)), registered)
            buyers.append((buyer, kind))
        for i in range(2_000 * scale):
            buyer, kind = rng.choice(buyers)
            intervention, on = f"int-b{year}{i:06d}", _day(year, rng)
            values = dict(buyer_id=buyer, intervention_id=intervention, buyer_kind=kind, on=on,
                          kind=rng.choice(["training", "awareness_workshop", "diagnostic", "sourcing", "meeting"]))
            add(example(InterventionLogged, **values, logged_at=_at(on, rng)), on)
            roll = rng.random()
            if roll < 0.05:
                add(example(InterventionCorrected, **{**values, "on": on + timedelta(days=2)},
                            corrected_at=_at(on + timedelta(days=3), rng)), on + timedelta(days=3))
            elif roll < 0.08:
                add(example(InterventionWithdrawn, buyer_id=buyer, intervention_id=intervention,
                            withdrawn_at=_at(on + timedelta(days=3), rng)), on + timedelta(days=3))
        for i in range(20 * scale):
            buyer, kind = rng.choice(buyers)
            signed = _day(year, rng)
            add(example(BuyerConventionSigned, buyer_id=buyer, convention_id=f"bcv-b{year}{i:05d}", buyer_kind=kind,
                        signed_on=signed, starts_on=signed, ends_on=signed + timedelta(days=730),
                        signed_at=_at(signed, rng)), signed)
        for i in range(80 * scale):
            day = _day(year, rng)
            add(example(DiagnosticReportComputed, diagnostic_id=f"dia-b{year}{i:05d}", buyer_id=rng.choice(buyers)[0],
                        computed_at=_at(day, rng)), day)
            add(example(QuoteAccepted, quote_id=f"quo-b{year}{i:05d}", organisation_id=rng.choice(members),
                        accepted_on=day, accepted_at=_at(day, rng)), day)
            add(example(NeedAwarded, need_id=f"need-b{year}{i:05d}", awarded_at=_at(day, rng)), day)
    rng.shuffle(out)  # services publish concurrently; per topic the order is the log's order anyway
    return out[:n]


async def produce(infra: Infrastructure, events: list[tuple[Any, datetime]]) -> float:
    settings = service("observatory").settings(kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
                                               kafka_idempotent_producer=infra.idempotent_producer)
    await ensure_topics(settings)
    producer = make_producer(settings, linger_ms=20, max_batch_size=1024 * 1024, max_request_size=8 * 1024 * 1024)
    await producer.start()
    started = time.perf_counter()
    try:
        with progress() as bar:
            task = bar.add_task(f"producing {len(events)} CloudEvents", total=len(events))
            for start in range(0, len(events), 5_000):
                futures = []
                for event, at in events[start:start + 5_000]:
                    source = f"/cress/{event.event_type.split('.')[2]}"
                    envelope = CloudEvent.from_domain(event, source=source, time=at)
                    futures.append(await producer.send(topic_for(event.event_type).name, value=envelope.kafka_value(),
                                                       key=envelope.kafka_key(), headers=envelope.kafka_headers()))
                await asyncio.gather(*futures)
                bar.advance(task, len(futures))
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def raw_pipeline(infra: Infrastructure, database: Database, batch: int = 5_000) -> float:
    """The hand-written reference: aiokafka batches, decode, the same rows, unordered bulk inserts."""
    db = database.db
    await db.drop_collection(RAW)
    await ensure_indexes(DatabaseView(db, {LEDGER: RAW}))  # the ledger's indexes, as the rebuild creates them
    kept = {cls.event_type for cls in KEPT}
    topics = sorted({topic_for(t).name for t in kept})
    kafka = AIOKafkaConsumer(bootstrap_servers=infra.kafka_bootstrap_servers, group_id=None,
                             enable_auto_commit=False, max_poll_records=batch, fetch_max_bytes=64 * 1024 * 1024,
                             max_partition_fetch_bytes=16 * 1024 * 1024)
    await kafka.start()
    started = time.perf_counter()
    try:
        first, end = await log_offsets(kafka, topics)
        for tp, offset in first.items():
            kafka.seek(tp, offset)
        todo = {tp for tp in end if first[tp] < end[tp]}
        total = sum(end[tp] - first[tp] for tp in end)
        with progress() as bar:
            task = bar.add_task("raw pipeline", total=total)
            while todo:
                docs = []
                for tp, records in (await kafka.getmany(*todo, timeout_ms=500, max_records=batch)).items():
                    for record in records:
                        if record.offset >= end[tp]:
                            continue
                        envelope = CloudEvent.from_kafka(record.headers, record.value)
                        if envelope.type in kept:
                            row = row_of(envelope.to_domain(), event_id=envelope.id, at=envelope.time)
                            docs.append({"_id": row.id, **document_of(row)})
                        bar.advance(task)
                    if records and records[-1].offset + 1 >= end[tp]:
                        todo.discard(tp)
                if docs:
                    try:
                        await db[RAW].insert_many(docs, ordered=False)
                    except BulkWriteError as exc:  # a retried write (or a replayed event): already there
                        if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                            raise
    finally:
        await kafka.stop()
    return time.perf_counter() - started


async def catch_up_groups(infra: Infrastructure, database: str) -> None:
    """Commit the observatory's consumer groups at the end of the log: the service starts caught up
    (its ledger is the rebuilt one) instead of replaying 200,000 events during the load."""
    for consumer in service("observatory").consumers():
        kafka = AIOKafkaConsumer(bootstrap_servers=infra.kafka_bootstrap_servers, group_id=f"{database}.{consumer.name}",
                                 enable_auto_commit=False)
        await kafka.start()
        try:
            _, end = await log_offsets(kafka, consumer.topics)
            await kafka.commit(end)
        finally:
            await kafka.stop()


def report_mix(rng: random.Random) -> tuple[int, dict[str, str]]:
    year = rng.choice(YEARS)
    roll = rng.random()
    if roll < 0.4:
        return year, {}
    if roll < 0.7:
        return year, {"as_of": f"{year}-06-30"}
    if roll < 0.9:
        return year, {"as_of": f"{year}-{rng.choice(['03-31', '09-30', '12-31'])}"}
    return year, {"as_of": f"{year + 1}-03-31"}


async def load(port: int, token: str, clients: int, seconds: float, rng: random.Random,
               meter: Meter) -> tuple[list[float], dict[str, int], float, dict]:
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", connector=aiohttp.TCPConnector(limit=clients + 4),
                                     headers={"Authorization": f"Bearer {token}"},
                                     timeout=aiohttp.ClientTimeout(total=120)) as session:
        t = time.perf_counter()
        async with session.get(f"/reports/{YEARS[-1]}") as r:
            first = await r.json()
            if r.status != 200:
                raise RuntimeError(f"first report answered {r.status}: {first}")
        cold = [time.perf_counter() - t]
        plans = [[report_mix(random.Random(rng.random())) for _ in range(500)] for _ in range(clients)]
        distinct = sorted({(year, tuple(params.items())) for plan in plans for year, params in plan})
        with progress() as bar:  # the first answer of each (year, as_of) reads the ledger; later ones hit the cache
            task = bar.add_task(f"cold reports ({len(distinct)} distinct)", total=len(distinct))
            for year, params in distinct:
                t = time.perf_counter()
                async with session.get(f"/reports/{year}", params=dict(params)) as r:
                    await r.read()
                cold.append(time.perf_counter() - t)
                bar.advance(task)
        print(f"cold reports (first of each year × as_of, one at a time): {len(cold)}: p50={percentile(cold, 50):.2f} s "
              f"max={max(cold):.2f} s", flush=True)
        requests = [[(f"/reports/{year}", params) for year, params in plan] for plan in plans]
        latencies, statuses, elapsed = await http_load(session, requests, seconds,
                                                       f"reports ×{clients} clients for {seconds:.0f} s", meter)
    return latencies, statuses, elapsed, first


async def run(infra: Infrastructure, data_dir: Path, *, events: int, clients: int, seconds: float) -> dict[str, Any]:
    database_name = f"bench_observatory_{uuid.uuid4().hex[:6]}"
    settings = service("observatory").settings(kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
                                               mongodb_uri=infra.mongodb_uri, mongodb_database=database_name)
    figures: dict[str, Any] = {"ok": True}
    pids = {proc.name: proc.popen.pid for proc in infra.processes}

    t = time.perf_counter()
    stream = activity(events)
    err.print(f"{len(stream)} events built in {time.perf_counter() - t:.1f} s")
    with Meter(pids) as meter:
        produced_s = await produce(infra, stream)
    print(f"produce: {len(stream)} CloudEvents in {produced_s:.1f} s ({len(stream) / produced_s:.0f}/s)", flush=True)
    print(f"  {meter.report()}", flush=True)

    database = await Database(settings).open()
    try:
        # the raw pipeline runs before and after the rebuild (the same work on a database that grows and
        # warms up: neither side gets the better slot), its time is the mean of both
        raw_times = []

        async def raw_pass() -> int:
            with Meter(pids) as meter:
                raw_times.append(await raw_pipeline(infra, database))
            raw_rows = await database[RAW].count_documents({})
            print(f"raw pipeline: {raw_rows} rows in {raw_times[-1]:.1f} s ({raw_rows / raw_times[-1]:.0f}/s)",
                  flush=True)
            print(f"  {meter.report()}", flush=True)
            return raw_rows

        raw_rows = await raw_pass()
        with Meter(pids) as meter, progress() as bar:
            task = bar.add_task("rebuilding the ledger", total=len(stream))
            outcome = await rebuild(database, LEDGER_PROJECTION,
                                    progress=lambda done, total: bar.update(task, completed=done, total=total))
        rebuilt = await database[LEDGER].count_documents({})
        print(f"rebuild: {outcome.events} events in {outcome.seconds:.1f} s ({outcome.events / outcome.seconds:.0f}/s); "
              f"{rebuilt} rows, {outcome.skipped} skipped; the swap and the last catch-up took "
              f"{outcome.swap_seconds:.1f} s of it; dropping the replaced ledger {outcome.cleanup_seconds:.1f} s "
              f"after it", flush=True)
        print(f"  {meter.report()}", flush=True)
        raw_rows = min(raw_rows, await raw_pass())
        raw_s = sum(raw_times) / len(raw_times)
        figures["rebuild_ratio"] = raw_s / outcome.seconds
        if not (rebuilt == raw_rows == len(stream)):
            err.print(f"[red]row counts differ: rebuilt {rebuilt}, raw {raw_rows}, produced {len(stream)}")
            figures["ok"] = False
        await database.db.drop_collection(RAW)
        await catch_up_groups(infra, database_name)
    finally:
        await database.close()

    proc, port = start_service("observatory", infra, data_dir / "logs", port=free_port(),
                               extra_env={"MONGODB_DATABASE": database_name, "LOG_LEVEL": "WARNING"})
    try:
        err.print(f"starting the observatory service on port {port}…")
        await asyncio.to_thread(wait_ready, port, 120, proc)
        token = issue_token(settings, "bench-observatory", ["staff:observatory"])
        meter = Meter(service_pids(infra, proc.popen.pid))
        latencies, statuses, elapsed, first = await load(port, token, clients, seconds, random.Random(7), meter)
    finally:
        proc.stop()
    errors = sum(n for s, n in statuses.items() if s != "200")
    figures["ok"] &= errors == 0 and bool(latencies)
    figures["report_p50_ms"], figures["report_p99_ms"] = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
    members = next((f["value"] for t in first["teams"] for f in t["figures"] if f["indicator"] == "members_at_year_end"),
                   None)
    print(f"report: {len(latencies)} requests in {elapsed:.1f} s ({len(latencies) / elapsed:.0f}/s) by {clients} "
          f"clients: p50={figures['report_p50_ms']:.1f} ms p99={figures['report_p99_ms']:.1f} ms "
          f"max={max(latencies, default=0) * 1000:.1f} ms; statuses {statuses}; members at the end of {YEARS[-1]}: "
          f"{members}", flush=True)
    print(f"  {meter.report()}", flush=True)
    return figures


def main(events: int = typer.Option(200_000, help="CloudEvents on the topics."),
         clients: int = typer.Option(16, help="Concurrent clients of the report."),
         seconds: float = typer.Option(20.0, help="Seconds of report load.")) -> None:
    """Ledger rebuild against a raw pipeline, and the report under load, on the embedded stack."""
    data_dir = Path(tempfile.mkdtemp(prefix="cress-bench-observatory-"))
    err.print(f"starting the embedded stack in {data_dir}…")
    infra = start_infrastructure(data_dir, progress=lambda m: err.print(m))
    figures: dict[str, Any] = {"ok": False}
    try:
        print(f"broker: {infra.broker}; database: {infra.database}; cpus={os.cpu_count()}", flush=True)
        figures = asyncio.run(run(infra, data_dir, events=events, clients=clients, seconds=seconds))
    finally:
        infra.stop()
        if figures["ok"]:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            err.print(f"logs kept in {data_dir / 'logs'}")
    print(f"rebuild_ratio={figures.get('rebuild_ratio', float('nan')):.2f} "
          f"report_p99_ms={figures.get('report_p99_ms', float('nan')):.0f}", flush=True)
    raise typer.Exit(0 if figures["ok"] else 1)


if __name__ == "__main__":
    bench.run(main)
