"""The running parts of one service process, started and stopped in one place, without HTTP.

    async with running(service("events")) as platform:
        ...   # database, producer, outbox relay, consumers and periodic jobs are running

Start-up, in order: the MongoDB client, the outbox and idempotency indexes, the service's
indexes, the topics of the catalogue (before any consumer subscribes), the Kafka producer, the
service's command handlers, the outbox relay, the consumers (each joins its Kafka group in its own
task: start-up never waits for a rebalance or a broker away), the periodic jobs and a background
probe of the dependencies (``cress_dependency_up`` every few seconds). Shutdown in
reverse order; a worker stuck on a dead dependency is cancelled after a grace period rather
than hanging the shutdown. :func:`runtime.http.create_app` runs the same lifecycle behind its
routes; ``python -m runtime.platform <service>`` runs it alone (a process that only consumes
events: a projection, a webhook dispatcher).
"""
from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import typer
from aiokafka import AIOKafkaProducer

from runtime import logging as log_context
from runtime import metrics
from runtime.consumer import Consumer
from runtime.idempotency import ensure_idempotency_indexes
from runtime.kafka import ensure_topics, make_producer, ping
from runtime.mongo import PROCESSED, Database
from runtime.outbox import OutboxRelay, ensure_outbox_indexes
from runtime.service import Job, ServiceDefinition, service
from runtime.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Platform:
    """One service process: its settings, database, producer, relay, consumers, jobs and commands."""

    definition: ServiceDefinition
    settings: Settings
    db: Database
    producer: AIOKafkaProducer
    relay: OutboxRelay
    consumers: list[Consumer]
    commands: Any = None  # what the bootstrap's ``commands`` factory built (e.g. MembershipService)
    tasks: list[asyncio.Task] = field(default_factory=list)

    async def readiness(self) -> dict[str, str]:
        """Each dependency and worker: "ok", or why not (also exported as ``cress_dependency_up``)."""
        checks: dict[str, str] = {}
        for name, check in (("mongodb", self.db.ping()), ("kafka", ping(self.producer))):
            try:
                await check
                checks[name] = "ok"
            except Exception as exc:  # noqa: BLE001 — any failure means not ready
                checks[name] = f"unreachable: {type(exc).__name__}"
            metrics.DEPENDENCY_UP.labels(self.settings.service_name, name).set(1 if checks[name] == "ok" else 0)
        stopped = [t.get_name() for t in self.tasks if t.done()]
        checks["workers"] = "ok" if not stopped else f"stopped: {', '.join(stopped)}"
        return checks

    async def caught_up(self, timeout: float) -> bool:
        """Wait until each consumer of this process has caught up since its start
        (:meth:`runtime.consumer.Consumer.caught_up`); False if some had not after ``timeout`` seconds."""
        deadline = asyncio.get_running_loop().time() + timeout
        pending = list(self.consumers)
        while True:
            still = []
            for consumer in pending:
                try:
                    done = await consumer.caught_up()
                except Exception:  # noqa: BLE001 — a rebalance or the broker away: ask again
                    done = False
                if not done:
                    still.append(consumer)
            pending = still
            if not pending or asyncio.get_running_loop().time() >= deadline:
                return not pending
            await asyncio.sleep(CAUGHT_UP_POLL)


PROBE = "dependencies"
PROBE_EVERY = 5.0  # seconds between two background readiness probes
CAUGHT_UP_POLL = 0.25  # seconds between two looks at the consumers' progress
WARM_UP_WAIT = 30.0  # seconds a warm-up job waits at most for the consumers to catch up (Job.warm_up)


async def _probe(platform: Platform) -> None:
    """Probe the dependencies every PROBE_EVERY seconds, whoever calls ``/readyz``: ``cress_dependency_up``
    follows a database or broker that stops answering, and alerts fire, even when nobody asks."""
    while True:
        await platform.readiness()
        await asyncio.sleep(PROBE_EVERY)


async def _every(job: Job, platform: Platform) -> None:
    """Run ``job`` every ``job.every`` seconds; a failed run is logged, counted
    (``cress_job_runs_total{outcome="failed"}``, alerted on) and tried again at the next tick."""
    service = platform.settings.service_name
    if job.warm_up and not await platform.caught_up(WARM_UP_WAIT):
        log.warning("job %s: the consumers have not caught up after %.0f s; warming up anyway", job.name, WARM_UP_WAIT)
    while True:
        await asyncio.sleep(job.every)
        try:
            await job.run(platform)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 — a sweeper must outlive one bad run
            metrics.JOB_RUNS.labels(service, job.name, "failed").inc()
            log.exception("job %s failed; next run in %.0f s", job.name, job.every)
        else:
            metrics.JOB_RUNS.labels(service, job.name, "ok").inc()


@asynccontextmanager
async def running(definition: ServiceDefinition, settings: Settings | None = None, *,
                  consumers: bool = True, jobs: bool = True) -> AsyncIterator[Platform]:
    """The service's platform, running for the duration of the block (see the module docstring).

    ``consumers`` / ``jobs``: start them (tests of one command may leave them off).
    """
    settings = settings or definition.settings()
    db = definition.database(settings)
    producer = None
    try:
        await db.open()
        await db.end_predecessor_sessions()  # before any transaction: its dead predecessor's are aborted
        await ensure_outbox_indexes(db)
        await ensure_idempotency_indexes(db)
        await db[PROCESSED].create_index("consumer")
        if definition.indexes is not None:
            await definition.indexes(db)
        await ensure_topics(settings)
        producer = make_producer(settings)
        await producer.start()
        relay = OutboxRelay(db, producer, batch_size=settings.outbox_batch_size,
                            poll_interval=settings.outbox_poll_interval_seconds,
                            lease_seconds=settings.outbox_lease_seconds, coalesce=settings.outbox_coalesce_seconds)
        db.on_commit(relay.notify)
        bound = [c.bind(db, producer, max_attempts=settings.consumer_max_attempts,
                        retry_base=settings.consumer_retry_base_seconds, batch_size=settings.consumer_batch_size)
                 for c in (definition.consumers() if consumers else ())]
        platform = Platform(definition, settings, db, producer, relay, bound)
        platform.commands = definition.commands(platform)
        # each consumer joins its group in its own task: the API does not wait for Kafka's rebalance
        platform.tasks = [asyncio.create_task(relay.run(), name="outbox-relay")]
        platform.tasks += [asyncio.create_task(c.run(), name=f"consumer-{c.name}") for c in bound]
        platform.tasks += [asyncio.create_task(_every(j, platform), name=f"job-{j.name}")
                           for j in (definition.jobs if jobs else ())]
        platform.tasks.append(asyncio.create_task(_probe(platform), name=f"job-{PROBE}"))
        for task in platform.tasks:
            task.add_done_callback(_report_crash)
    except BaseException:
        if producer is not None:
            await producer.stop()
        await db.close()
        raise
    log.info("%s started", settings.service_name)
    try:
        yield platform
    finally:
        relay.stop()
        for consumer in bound:
            consumer.stop()
        for task in platform.tasks:
            if task.get_name().startswith("job-"):
                task.cancel()
        _, pending = await asyncio.wait(platform.tasks, timeout=10) if platform.tasks else (set(), set())
        for task in pending:  # stuck on a dead dependency: do not hang the shutdown
            task.cancel()
        await asyncio.gather(*platform.tasks, return_exceptions=True)
        for consumer in bound:
            await consumer.close()
        await producer.stop()
        await db.close()
        log.info("%s stopped", settings.service_name)


def _report_crash(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s stopped: %r", task.get_name(), task.exception(),
                  exc_info=task.exception())


cli = typer.Typer(help="Run a service's workers (relay, consumers, jobs) without HTTP.", add_completion=False)


@cli.command()
def run(name: str = typer.Argument(..., help="The service, e.g. membership.")) -> None:
    """Run until SIGTERM or Ctrl-C."""
    definition = service(name)
    settings = definition.settings()
    log_context.configure(settings.service_name, settings.log_level, settings.log_format)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with running(definition, settings):
            await stop.wait()

    asyncio.run(main())


if __name__ == "__main__":
    cli()
