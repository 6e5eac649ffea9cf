"""What the shared rate limit costs a partner request (``make bench-ratelimit``).

The partner routes' buckets live in the service's database (:mod:`runtime.ratelimit`): each
partner request makes one ``findAndModify`` round trip before its own work. This measures that
round trip against SecantusDB (started here in a temporary folder, or the server of ``MONGODB_URI``),
next to the floor of any round trip (``ping``, a ``find_one`` by ``_id``) and to the in-process
bucket it replaces:

1. ``--requests`` (2,000) takes one after the other, spread over ``--partners`` (100) buckets;
2. the same number with ``--concurrency`` (16) takers at once on ONE bucket (contention: every
   request changes the same document), counting what was granted against the burst.

Figures go to stdout with the machine's load; the last line is
``shared_p50_ms=<n> shared_p99_ms=<n> find_one_p50_ms=<n> local_p50_us=<n> contended_p50_ms=<n>``.
"""
from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import typer
from pymongo import AsyncMongoClient

import bench
from runtime.ratelimit import COLLECTION, RateLimiter, TokenBuckets
from runtime.stack import free_port, start_secantus


def quantiles(samples: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return statistics.median(samples), cuts[94], cuts[98]


def line(name: str, samples: list[float], unit: float = 1e3, suffix: str = "ms") -> str:
    p50, p95, p99 = quantiles(samples)
    return f"{name:<34} p50 {p50 * unit:7.3f} {suffix}  p95 {p95 * unit:7.3f} {suffix}  p99 {p99 * unit:7.3f} {suffix}"


async def timed(work, count: int) -> list[float]:
    out = []
    for i in range(count):
        started = time.perf_counter()
        await work(i)
        out.append(time.perf_counter() - started)
    return out


async def measure(uri: str, requests: int, partners: int, concurrency: int) -> str:
    client = AsyncMongoClient(uri, tz_aware=True)
    db = client[f"bench_ratelimit_{os.getpid()}"]
    try:
        limiter = RateLimiter(10.0, 50, service="bench", timeout=5.0)
        await limiter.share(db[COLLECTION])
        await db["plain"].insert_many([{"_id": f"p{i}"} for i in range(partners)])
        for i in range(partners):  # warm: connections open, buckets exist
            await limiter.take(f"partner-{i}")
            await db["plain"].find_one({"_id": f"p{i}"})

        ping = await timed(lambda i: client.admin.command("ping"), requests)
        find = await timed(lambda i: db["plain"].find_one({"_id": f"p{i % partners}"}), requests)
        shared = await timed(lambda i: limiter.take(f"partner-{i % partners}"), requests)
        local_buckets = TokenBuckets(10.0, 50)

        async def local_take(i: int) -> None:
            local_buckets.take(f"partner-{i % partners}")

        local = await timed(local_take, requests)

        # contention: `concurrency` takers at once on one bucket (a fresh limiter: burst 50, 10 a second)
        hot = RateLimiter(10.0, 50, service="bench", timeout=5.0)
        await hot.share(db[COLLECTION])
        contended: list[float] = []
        granted = 0
        started = time.monotonic()

        async def taker(count: int) -> None:
            nonlocal granted
            for _ in range(count):
                t = time.perf_counter()
                wait = await hot.take("hot-partner")  # (not `granted += await …`: that reads granted before the await)
                granted += wait == 0
                contended.append(time.perf_counter() - t)

        await asyncio.gather(*[taker(requests // concurrency) for _ in range(concurrency)])
        elapsed = time.monotonic() - started
    finally:
        await client.drop_database(db.name)
        await client.close()

    load = os.getloadavg()
    print(f"database: {uri}; {requests} requests, {partners} partners; load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} "
          f"on {os.cpu_count()} CPUs")
    print(line("ping (a round trip)", ping))
    print(line("find_one by _id", find))
    print(line("shared bucket (findAndModify)", shared))
    print(line("in-process bucket", local, 1e6, "µs"))
    print(line(f"shared, {concurrency} at once on 1 bucket", contended))
    print(f"contended bucket: {granted} granted of {len(contended)} in {elapsed:.1f} s "
          f"(at most 50 + 10 × {elapsed:.1f} = {50 + 10 * elapsed:.0f})")
    return (f"shared_p50_ms={quantiles(shared)[0] * 1e3:.3f} shared_p99_ms={quantiles(shared)[2] * 1e3:.3f} "
            f"find_one_p50_ms={quantiles(find)[0] * 1e3:.3f} local_p50_us={quantiles(local)[0] * 1e6:.2f} "
            f"contended_p50_ms={quantiles(contended)[0] * 1e3:.3f}")


def main(requests: int = typer.Option(2000, help="Requests per measurement."),
         partners: int = typer.Option(100, help="Buckets the sequential requests are spread over."),
         concurrency: int = typer.Option(16, help="Takers at once on one bucket.")) -> None:
    uri = os.environ.get("MONGODB_URI")
    server = None
    with tempfile.TemporaryDirectory(prefix="bench-ratelimit-") as folder:
        try:
            if not uri:
                port = free_port()
                server = start_secantus(Path(folder), port, Path(folder) / "logs")
                uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
            print(asyncio.run(measure(uri, requests, partners, concurrency)))
        finally:
            if server is not None:
                server.stop()


if __name__ == "__main__":
    bench.run(main)
