"""Procurement benchmark, needs area: the dispatch of one need to 2,000 matching suppliers.

On the embedded stack (Apache Kafka or Tansu + SecantusDB, started here; or the servers named by
KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI), against a real uvicorn process of the procurement service
(its own database):

1. seed M matching suppliers (2,000) and N others (500: another sector, another territory, archived)
   by bulk insert, shaped like the supplier area's ``suppliers`` documents, and one buyer;
2. through the HTTP API: draft a need, submit it, validate it, dispatch it (202: the dispatch runs
   in the background, in batches);
3. ``dispatch_s``: seconds from the dispatch request until every funnel row exists — the dispatch's
   state (``GET /needs/{id}/dispatch``) commits with each batch's rows, and ``completed`` with the
   last ones; then the rows are read back through the API and checked (exactly the matching
   suppliers, once each), and ``outbox_s``: seconds until every ``SupplierNotified`` left the outbox
   for Kafka.

Progress goes to stderr, figures to stdout; the last line is ``dispatch_s=<n>`` (goal ≤ 10 s).
:func:`run` is what ``bench/procurement.py`` calls on a service already running.
"""
from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import typer
from pymongo import AsyncMongoClient
from rich.console import Console

import bench
from bench.events import progress
from runtime.auth import issue_token
from runtime.settings import Settings
from runtime.stack import free_port, start_infrastructure, start_service, wait_ready

err = Console(stderr=True)
SECTOR = "circular_economy"


def _supplier(sid: str, i: int, *, matching: bool) -> dict[str, Any]:
    """A ``suppliers`` document (the shared shape). Matching ones serve Montreuil (93048) in one of
    three ways: based in the 93, serving the 93, or within their radius of Paris."""
    way = i % 3
    base = {"commune": "93066", "departement": "93", "lat": 48.936, "lon": 2.357}
    serves: dict[str, Any] = {"departements": [], "communes": [], "radius_km": None}
    if way == 1:
        base = {"commune": "94028", "departement": "94", "lat": 48.79266, "lon": 2.46569}
        serves["departements"] = ["94", "93"]
    elif way == 2:
        base = {"commune": "75056", "departement": "75", "lat": 48.85341, "lon": 2.3488}
        serves["radius_km"] = 20
    doc = {"_id": sid, "version": 1, "organisation_id": f"org-{sid}", "sectors": [SECTOR, "logistics"],
           "kinds": ["ei"] if i % 2 else ["ess"], "labels": [], "base": base, "serves": serves, "status": "active"}
    if not matching:
        if way == 0:
            doc["sectors"] = ["food"]
        elif way == 1:
            doc["base"] = {"commune": "77288", "departement": "77", "lat": 48.5457, "lon": 2.65356}
            doc["serves"] = {"departements": ["77"], "communes": [], "radius_km": 10}
        else:
            doc["status"] = "archived"
    return doc


async def seed(mongodb_uri: str, database: str, stamp: str, matching: int, others: int) -> str:
    """Bulk-insert the suppliers and a buyer; return the buyer's id."""
    client: AsyncMongoClient = AsyncMongoClient(mongodb_uri, tz_aware=True)
    try:
        db = client[database]
        buyer = f"buy-bench-{stamp}"
        await db["buyers"].insert_one({"_id": buyer, "version": 1, "kind": "commune", "siret": "21930048000015",
                                       "name": "Ville de Montreuil", "departement": "93", "commune": "93048",
                                       "status": "active"})
        docs = [_supplier(f"sup-{stamp}-m{i:05d}", i, matching=True) for i in range(matching)]
        docs += [_supplier(f"sup-{stamp}-o{i:05d}", i, matching=False) for i in range(others)]
        with progress() as bar:
            task = bar.add_task("seeding suppliers", total=len(docs))
            for start in range(0, len(docs), 1000):
                chunk = docs[start:start + 1000]
                await db["suppliers"].insert_many(chunk, ordered=False)
                bar.advance(task, len(chunk))
        return buyer
    finally:
        await client.close()


async def _call(api: httpx.AsyncClient, method: str, path: str, expect: int = 200, **kwargs) -> Any:
    r = await api.request(method, path, **kwargs)
    if r.status_code != expect:
        raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:500]}")
    return r.json()


async def run(base_url: str, token: str, mongodb_uri: str, database: str, *, matching: int = 2000,
              others: int = 500, timeout: float = 300.0) -> dict[str, float]:
    """Seed, then dispatch one need through the API; the figures (``dispatch_s``, ``outbox_s``,
    ``notified``). Raises when a funnel row is missing or extra."""
    stamp = uuid.uuid4().hex[:6]
    t = time.perf_counter()
    buyer = await seed(mongodb_uri, database, stamp, matching, others)
    seed_s = time.perf_counter() - t
    deadline = (datetime.now(timezone.utc) + timedelta(days=30)).isoformat()
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {token}"},
                                 timeout=60) as api:
        need = await _call(api, "POST", "/needs", 201, json={
            "buyer_id": buyer, "title": "Collecte et réemploi du mobilier (bench)", "kind": "tender",
            "sectors": [SECTOR], "place": {"commune": "93048"}, "amount_band": "50k_100k", "deadline_at": deadline,
            "reserved": False, "social_clause": True})
        nid = need["id"]
        await _call(api, "POST", f"/needs/{nid}/submission")
        await _call(api, "POST", f"/needs/{nid}/validation")
        with progress() as bar:
            task = bar.add_task("suppliers notified", total=matching)
            started = time.perf_counter()
            await _call(api, "POST", f"/needs/{nid}/dispatch", 202)
            state = {"status": "running", "notified": 0}
            # The dispatch's state is committed with each batch's rows, and "completed" with the last:
            # once it reads completed, every funnel row exists (checked below, row by row).
            while state["status"] != "completed":
                if time.perf_counter() - started > timeout:
                    raise TimeoutError(f"{state['notified']} suppliers of {matching} after {timeout:.0f} s")
                await asyncio.sleep(0.05)
                state = await _call(api, "GET", f"/needs/{nid}/dispatch")
                bar.update(task, completed=state["notified"])
            dispatch_s = time.perf_counter() - started
        total = (await _call(api, "GET", f"/needs/{nid}/suppliers", params={"limit": 1}))["total"]
        completed_s = time.perf_counter() - started
        if total != matching:
            raise RuntimeError(f"dispatch completed with {total} funnel rows, not {matching}")
        seen: list[str] = []
        for offset in range(0, matching + 500, 500):
            page = await _call(api, "GET", f"/needs/{nid}/suppliers", params={"limit": 500, "offset": offset})
            seen += [row["supplier_id"] for row in page["items"]]
    expected = {f"sup-{stamp}-m{i:05d}" for i in range(matching)}
    if len(seen) != len(set(seen)) or set(seen) != expected:
        raise RuntimeError(f"funnel rows: {len(seen)} rows, {len(set(seen))} suppliers, "
                           f"{len(set(seen) - expected)} unexpected, {len(expected - set(seen))} missing")
    client: AsyncMongoClient = AsyncMongoClient(mongodb_uri, tz_aware=True)
    try:
        outbox = client[database]["outbox"]
        query = {"aggregateid": nid, "type": "org.cress.procurement.supplier-notified.v1", "status": "pending"}
        while await outbox.count_documents(query) and time.perf_counter() - started < timeout:
            await asyncio.sleep(0.05)
        outbox_s = time.perf_counter() - started
        published = await outbox.count_documents({**query, "status": "sent"})
    finally:
        await client.close()
    return {"dispatch_s": round(dispatch_s, 2), "completed_s": round(completed_s, 2), "outbox_s": round(outbox_s, 2),
            "notified": float(state["notified"]), "batches": float(state["batches"]),
            "events_published": float(published), "seed_s": round(seed_s, 2)}


def main(matching: int = typer.Option(2000, help="Matching suppliers."),
         others: int = typer.Option(500, help="Suppliers that do not match (sector, territory, archived)."),
         batch_size: int = typer.Option(250, help="PROCUREMENT_NEED_DISPATCH_BATCH_SIZE."),
         timeout: float = typer.Option(300, help="Seconds before the bench gives up.")) -> None:
    """Dispatch one need to the matching suppliers on the embedded stack (see the module's docstring)."""
    stamp = uuid.uuid4().hex[:6]
    data_dir = Path(tempfile.mkdtemp(prefix="cress-bench-procurement-"))
    err.print(f"starting the embedded stack in {data_dir}…")
    infra = start_infrastructure(data_dir, progress=lambda m: err.print(m))
    proc = None
    database = f"bench_procurement_{stamp}"
    ok = False
    try:
        proc, port = start_service("procurement", infra, data_dir / "logs", port=free_port(), extra_env={
            "MONGODB_DATABASE": database, "LOG_LEVEL": "WARNING",
            "PROCUREMENT_NEED_DISPATCH_BATCH_SIZE": str(batch_size)})
        err.print(f"starting the procurement service on port {port}…")
        wait_ready(port, 120, proc)
        token = issue_token(Settings(), "bench-procurement", ["staff:procurement"])
        figures = asyncio.run(run(f"http://127.0.0.1:{port}", token, infra.mongodb_uri, database, matching=matching,
                                  others=others, timeout=timeout))
        print(f"broker: {infra.broker}; database: {infra.database}; {matching} matching suppliers + {others} others; "
              f"batches of {batch_size}")
        print(f"  seeded in {figures['seed_s']} s; every funnel row in {figures['dispatch_s']} s "
              f"(rows counted through the API at {figures['completed_s']} s, {int(figures['batches'])} batches); "
              f"{int(figures['events_published'])} SupplierNotified events out of the outbox at "
              f"{figures['outbox_s']} s")
        print(f"dispatch_s={figures['dispatch_s']}", flush=True)
        ok = True
    except BaseException:
        err.print(f"logs kept in {data_dir / 'logs'}")
        raise
    finally:
        if proc is not None:
            proc.stop()
        infra.stop()
        if ok:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    bench.run(main)
