"""Procurement benchmark (``make bench-procurement``): search, dispatch, import — on one embedded stack.

Starts Apache Kafka (or Tansu) and SecantusDB once (or uses KAFKA_BOOTSTRAP_SERVERS /
MONGODB_URI), then runs the three parts, each in a database of its own, each printing its
figures and the machine's load:

1. supplier search (:mod:`bench.procurement_search`): 20,000 suppliers, 16 concurrent clients,
   mixed searches through ``GET /suppliers/search`` for 20 s — p50, p99;
2. dispatch (:mod:`bench.procurement_dispatch`): one need validated and dispatched to 2,000
   matching suppliers (and 500 that do not match) through the API — seconds until every funnel
   row exists, checked row by row;
3. import (:mod:`bench.procurement_diagnostics`): a 100,000-line spend file (1 % broken lines)
   through the service layer, as the CLI does (and once through the API upload) — lines/s.

Each part runs alone too (``python -m bench.procurement_search`` …). Goals: search p99 ≤ 150 ms,
dispatch ≤ 10 s, import ≥ 5,000 lines/s. The last line is
``search_p99_ms=<n> dispatch_s=<n> import_lines_per_s=<n>``; the exit code is 1 when a part
fails its checks (errors, missing or extra funnel rows).
"""
from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import typer
from rich.console import Console

import bench
from bench import procurement_diagnostics, procurement_dispatch, procurement_search
from runtime.auth import issue_token
from runtime.settings import Settings
from runtime.stack import Infrastructure, free_port, start_infrastructure, start_service, wait_ready

err = Console(stderr=True)


async def dispatch(infra: Infrastructure, data_dir: Path, matching: int) -> dict[str, float]:
    database = f"bench_procurement_dispatch_{uuid.uuid4().hex[:6]}"
    proc, port = start_service("procurement", infra, data_dir / "logs", port=free_port(),
                               extra_env={"MONGODB_DATABASE": database, "LOG_LEVEL": "WARNING"})
    try:
        err.print(f"starting the procurement service on port {port}…")
        await asyncio.to_thread(wait_ready, port, 120, proc)
        token = issue_token(Settings(), "bench-procurement", ["staff:procurement"])
        figures = await procurement_dispatch.run(f"http://127.0.0.1:{port}", token, infra.mongodb_uri, database,
                                                 matching=matching)
    finally:
        proc.stop()
    print(f"dispatch: {matching} matching suppliers: every funnel row in {figures['dispatch_s']} s "
          f"({int(figures['batches'])} batches); events out of the outbox at {figures['outbox_s']} s", flush=True)
    return figures


def main(suppliers: int = typer.Option(20_000, help="Supplier profiles for the search."),
         clients: int = typer.Option(16, help="Concurrent searching clients."),
         seconds: float = typer.Option(20.0, help="Seconds of search load."),
         matching: int = typer.Option(2_000, help="Matching suppliers of the dispatched need."),
         lines: int = typer.Option(100_000, help="Lines of the spend file.")) -> None:
    """Supplier search, need dispatch and spend-file import on the embedded stack."""
    data_dir = Path(tempfile.mkdtemp(prefix="cress-bench-procurement-"))
    err.print(f"starting the embedded stack in {data_dir}…")
    infra = start_infrastructure(data_dir, progress=lambda m: err.print(m))
    ok = False
    try:
        print(f"broker: {infra.broker}; database: {infra.database}; cpus={os.cpu_count()}", flush=True)
        search = asyncio.run(procurement_search.run(infra, data_dir, suppliers=suppliers, clients=clients,
                                                    seconds=seconds))
        dispatched = asyncio.run(dispatch(infra, data_dir, matching))
        imported = asyncio.run(procurement_diagnostics.run(infra, lines=lines, log_dir=data_dir / "logs"))
        ok = not search["errors"]
    finally:
        infra.stop()
        if ok:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            err.print(f"logs kept in {data_dir / 'logs'}")
    print(f"search_p99_ms={search['search_p99_ms']:.0f} dispatch_s={dispatched['dispatch_s']:.1f} "
          f"import_lines_per_s={imported['import_lines_per_s']:.0f}", flush=True)
    raise typer.Exit(0 if ok else 1)


if __name__ == "__main__":
    bench.run(main)
