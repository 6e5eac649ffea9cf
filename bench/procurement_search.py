"""Supplier search benchmark: 20,000 suppliers, 16 concurrent clients, realistic mixed searches.

On the embedded stack (Apache Kafka or Tansu + SecantusDB, started here; or the servers named by
KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI), against a real uvicorn process of the procurement
service (its own database), through ``GET /suppliers/search`` only; aiohttp generates the load.

1. Seed (straight into the service's database, as its repository writes them): S ESS
   organisations (the ``organisations`` projection), their member standing (about 55 % in good
   standing), and S supplier profiles built by the domain (``Supplier.profile``) — based in
   Île-de-France (90 %, communes weighted by population) or elsewhere, one to three sectors,
   kinds and labels in plausible shares, départements, communes and radii served — with the
   search marks the repository writes (so the running service catches up).
2. Warm-up: one search (the service loads its index: the time is printed), then C clients
   (16) send mixed searches for D seconds (20): sector × commune (with or without a radius),
   sector × département, sector alone, kind × département, label × commune × member-only,
   browsing without a filter, several sectors × département × label; mostly the first page,
   sometimes the next ones.

Figures: latency p50 / p99 / max, searches per second, the machine's load. The last line is
``search_p50_ms=<n> search_p99_ms=<n> search_rps=<n>`` (goal: p99 ≤ 150 ms).

    /work/main/.venv/bin/python -m bench.procurement_search [--suppliers 20000 --clients 16 --seconds 20]
"""
from __future__ import annotations

import asyncio
import os
import random
import shutil
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import aiohttp
import typer
from pymongo import AsyncMongoClient
from rich.console import Console

import bench
from bench.events import Meter, http_load, percentile, progress, service_pids
from reference import geo
from runtime import members
from runtime.auth import issue_token
from runtime.mongo import to_document
from runtime.settings import Settings
from runtime.siret import with_check_digit
from runtime.stack import Infrastructure, free_port, start_infrastructure, start_service, wait_ready
from services.procurement.adapters.suppliers import SEARCH_MARKS, SEARCH_STATE, SUPPLIERS, supplier_mark
from services.procurement.domain.suppliers import Identity, Supplier

err = Console(stderr=True)

KIND_SHARES = [("ess", 45), ("ei", 12), ("aci", 10), ("ai", 5), ("etti", 5), ("eiti", 2), ("geiq", 3), ("ea", 10),
               ("esat", 8)]
SECTOR_SHARES = [("circular_economy", 14), ("food", 12), ("cleaning", 10), ("green_spaces", 9), ("logistics", 8),
                 ("sustainable_construction", 8), ("personal_services", 8), ("training", 7), ("digital", 6),
                 ("textile", 5), ("office_services", 5), ("events", 4), ("printing", 2), ("mobility", 2)]
LABEL_SHARES = [("lucie", 6), ("ecocert", 5), ("rge", 6), ("qualiopi", 8), ("b_corp", 2)]
IDF_DEPARTEMENTS = ["75", "77", "78", "91", "92", "93", "94", "95"]


def weighted(rng: random.Random, pairs: list[tuple[str, int]], k: int = 1) -> list[str]:
    values, weights = zip(*pairs)
    out: list[str] = []
    while len(out) < k:
        v = rng.choices(values, weights)[0]
        if v not in out:
            out.append(v)
    return out


class Places:
    """Communes to draw from: Île-de-France weighted by population, and the rest of France."""

    def __init__(self) -> None:
        communes = geo.communes()
        self.idf = [c for c in communes if c.region == "11"]
        self.idf_weights = [max(c.population, 200) for c in self.idf]
        self.france = [c for c in communes if c.region != "11" and c.population >= 2_000]

    def base(self, rng: random.Random) -> geo.Commune:
        if rng.random() < 0.9:
            return rng.choices(self.idf, self.idf_weights)[0]
        return rng.choice(self.france)

    def searched(self, rng: random.Random) -> geo.Commune:
        return rng.choices(self.idf, self.idf_weights)[0]


@cache
def _nearby(code: str) -> list[geo.Commune]:
    c = geo.commune(code)
    return geo.within(c.lat, c.lon, 15)[:60]


def seed_documents(n: int, rng: random.Random, at: datetime) -> tuple[list[dict], list[dict], list[dict]]:
    """(organisations, member standing, suppliers) documents, as the service stores them."""
    places = Places()
    organisations, standing, suppliers = [], [], []
    for i in range(n):
        org_id = f"org-bench{i:07d}"
        base = places.base(rng)
        esus = rng.random() < 0.3
        organisation = {"_id": org_id, "siret": with_check_digit(f"8{i:012d}"), "name": f"Structure ESS n°{i}",
                        "legal_form": rng.choice(["association", "scop", "scic", "sas_ess", "cooperative"]),
                        "esus_agreed": esus, "esus_agreed_on": "2020-01-15" if esus else None,
                        "departement": base.departement, "commune": base.name, "sector": "économie sociale",
                        "headcount": rng.randint(1, 200), "annual_budget_cents": rng.randint(1, 500) * 1_000_000,
                        "as_of": at - timedelta(days=400)}
        organisations.append(organisation)
        if rng.random() < 0.65:
            good = rng.random() < 0.85
            status = rng.choice(["active", "grace_period"]) if good else rng.choice(["lapsed", "withdrawn"])
            standing.append({"_id": org_id, "status": status, "in_good_standing": good, "status_since": "2024-01-01",
                             "as_of": at - timedelta(days=100), "member_since": "2020-01-01",
                             "history": [{"status": status, "in_good_standing": good, "on": "2024-01-01",
                                          "at": at - timedelta(days=100), "event_id": f"ev-{i}"}]})
        kinds = weighted(rng, KIND_SHARES, 1 if rng.random() < 0.9 else 2)
        labels = weighted(rng, LABEL_SHARES, rng.choice([0, 0, 0, 1, 1, 2]))
        serves: dict[str, Any] = {"departements": [], "communes": [], "radius_km": None}
        roll = rng.random()
        if roll < 0.45:
            serves["departements"] = sorted(set(rng.sample(IDF_DEPARTEMENTS, rng.randint(1, 3))) - {base.departement})
        elif roll < 0.65:
            nearby = _nearby(base.code)
            serves["communes"] = sorted({c.code for c in rng.sample(nearby, min(len(nearby), rng.randint(1, 6)))})
        if rng.random() < 0.4:
            serves["radius_km"] = rng.choice([5, 10, 20, 30, 50, 100])
        references = [{"client_name": f"Client {j}", "year": rng.randint(2015, 2024),
                       "amount_cents": rng.randint(1, 200) * 100_000, "description": "Prestation"}
                      for j in range(rng.choice([0, 0, 1, 2, 3, 5]))]
        past = [{"buyer_name": f"Acheteur public {j}", "year": rng.randint(2015, 2024),
                 "amount_cents": rng.randint(1, 500) * 100_000,
                 "reserved_article": rng.choice([None, "l2113_13", "l2113_12"])}
                for j in range(rng.choice([0, 0, 0, 1, 2, 4]))]
        supplier = Supplier.profile(
            f"sup-bench{i:07d}", organisation_id=org_id, identity=Identity.of(organisation),
            sectors=weighted(rng, SECTOR_SHARES, rng.choice([1, 1, 2, 2, 3])),
            services=[f"Service proposé {j}" for j in range(rng.randint(1, 4))], kinds=kinds, labels=labels,
            base_commune=base.code, serves=serves,
            capacity={"max_contract_cents": rng.choice([None, 5_000_000, 20_000_000, 100_000_000]),
                      "headcount_available": rng.randint(1, 50)},
            references=references, past_contracts=past, at=at)
        doc = to_document(supplier)
        doc["version"] = 1  # what the repository's first save writes
        suppliers.append(doc)
    return organisations, standing, suppliers


async def seed(mongodb_uri: str, database: str, n: int, rng: random.Random) -> dict[str, float]:
    t = time.perf_counter()
    organisations, standing, suppliers = seed_documents(n, rng, datetime.now(timezone.utc))
    built = time.perf_counter() - t
    client: AsyncMongoClient = AsyncMongoClient(mongodb_uri, tz_aware=True)
    try:
        db = client[database]
        t = time.perf_counter()
        with progress() as bar:
            task = bar.add_task(f"seeding {n} suppliers", total=3 * n)
            for collection, docs in ((members.ORGANISATIONS, organisations), (members.STANDING, standing),
                                     (SUPPLIERS, suppliers)):
                for start in range(0, len(docs), 1000):
                    await db[collection].insert_many(docs[start:start + 1000], ordered=False)
                    bar.advance(task, len(docs[start:start + 1000]))
                bar.advance(task, n - len(docs))
            lane = "seed"  # one lane, version 1: what a rebuild of the seed would leave
            await db[SEARCH_MARKS].insert_many([{"_id": f"{lane}|{supplier_mark(d['_id'])}", "lane": lane,
                                                 "key": supplier_mark(d["_id"]), "seq": 1} for d in suppliers])
            await db[SEARCH_STATE].update_one({"_id": lane}, {"$inc": {"seq": 1}}, upsert=True)
        inserted = time.perf_counter() - t
    finally:
        await client.close()
    return {"seed_build_s": built, "seed_insert_s": inserted, "members_in_good_standing":
            float(sum(s["in_good_standing"] for s in standing))}


def search_mix(rng: random.Random, places: Places) -> dict[str, Any]:
    """One realistic search (see the module's docstring)."""
    sector = lambda: weighted(rng, SECTOR_SHARES)[0]  # noqa: E731
    roll = rng.random()
    params: dict[str, Any]
    if roll < 0.30:
        params = {"sector": sector(), "commune": places.searched(rng).code}
        if rng.random() < 0.5:
            params["radius_km"] = rng.choice([10, 20, 30, 50])
    elif roll < 0.50:
        params = {"sector": sector(), "departement": rng.choice(IDF_DEPARTEMENTS)}
    elif roll < 0.65:
        params = {"sector": sector()}
    elif roll < 0.75:
        params = {"kind": rng.sample(["ei", "aci", "ai", "etti", "ea", "esat"], rng.randint(1, 3)),
                  "departement": rng.choice(IDF_DEPARTEMENTS)}
    elif roll < 0.85:
        params = {"label": weighted(rng, LABEL_SHARES)[0], "commune": places.searched(rng).code,
                  "member_only": "true"}
    elif roll < 0.95:
        params = {}
    else:
        params = {"sector": weighted(rng, SECTOR_SHARES, 2), "departement": rng.choice(IDF_DEPARTEMENTS),
                  "label": weighted(rng, LABEL_SHARES)[0]}
    page = rng.random()
    params["offset"] = 0 if page < 0.8 else 20 if page < 0.95 else 40
    params["limit"] = 20
    return params


async def load(port: int, token: str, clients: int, seconds: float, rng: random.Random,
               meter: Meter) -> tuple[list[float], dict[str, int], float, float]:
    places = Places()
    connector = aiohttp.TCPConnector(limit=clients + 4)
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", connector=connector,
                                     headers={"Authorization": f"Bearer {token}"},
                                     timeout=aiohttp.ClientTimeout(total=60)) as session:
        t = time.perf_counter()
        async with session.get("/suppliers/search", params={"sector": "food"}) as r:
            body = await r.json()
            if r.status != 200:
                raise RuntimeError(f"warm-up search answered {r.status}: {body}")
        warm = time.perf_counter() - t
        err.print(f"warm-up search: {warm:.1f} s, {body['total']} food suppliers")
        plans = [[search_mix(random.Random(rng.random()), places) for _ in range(4000)] for _ in range(clients)]
        requests = [[("/suppliers/search", [(k, v) for k, vs in params.items()
                                            for v in (vs if isinstance(vs, list) else [vs])]) for params in plan]
                    for plan in plans]
        latencies, statuses, elapsed = await http_load(session, requests, seconds,
                                                       f"searches ×{clients} clients for {seconds:.0f} s", meter)
    return latencies, statuses, elapsed, warm


async def run(infra: Infrastructure, data_dir: Path, *, suppliers: int = 20_000, clients: int = 16,
              seconds: float = 20.0, seed_value: int = 2024) -> dict[str, float]:
    """Seed, start the service, load it; the figures (see the module's docstring)."""
    rng = random.Random(seed_value)
    stamp = uuid.uuid4().hex[:6]
    database = f"bench_procurement_{stamp}"
    proc, port = start_service("procurement", infra, data_dir / "logs", port=free_port(),
                               extra_env={"MONGODB_DATABASE": database, "LOG_LEVEL": "WARNING"})
    try:
        err.print(f"starting the procurement service on port {port}…")
        wait_ready(port, 120, proc)
        figures = await seed(infra.mongodb_uri, database, suppliers, rng)
        err.print(f"seeded {suppliers} suppliers: built in {figures['seed_build_s']:.1f} s, inserted in "
                  f"{figures['seed_insert_s']:.1f} s")
        token = issue_token(Settings(), "bench-procurement", ["staff:procurement"])
        meter = Meter(service_pids(infra, proc.popen.pid))
        latencies, statuses, elapsed, warm = await load(port, token, clients, seconds, rng, meter)
    finally:
        proc.stop()
    ok = statuses.get("200", 0)
    figures |= {"suppliers": float(suppliers), "clients": float(clients), "warmup_s": warm,
                "searches": float(len(latencies)), "errors": float(len(latencies) - ok),
                "search_p50_ms": percentile(latencies, 50) * 1000, "search_p99_ms": percentile(latencies, 99) * 1000,
                "search_max_ms": max(latencies, default=float("nan")) * 1000, "search_rps": len(latencies) / elapsed}
    print(f"supplier search: {suppliers} suppliers, {clients} clients, {elapsed:.1f} s: {len(latencies)} searches "
          f"({figures['search_rps']:.1f}/s), answers " + ", ".join(f"{k}×{v}" for k, v in sorted(statuses.items()))
          + f"; latency p50={figures['search_p50_ms']:.1f} ms p99={figures['search_p99_ms']:.1f} ms "
            f"max={figures['search_max_ms']:.1f} ms; first search (index load) {warm:.1f} s", flush=True)
    print("  " + meter.report(), flush=True)
    return figures


def main(suppliers: int = typer.Option(20_000, help="Supplier profiles seeded."),
         clients: int = typer.Option(16, help="Concurrent searching clients."),
         seconds: float = typer.Option(20.0, help="Seconds of load."),
         seed: int = typer.Option(2024, help="Random seed of the data and the searches.")) -> None:
    """Supplier search under concurrent clients (see the module's docstring)."""
    data_dir = Path(tempfile.mkdtemp(prefix="cress-bench-procurement-"))
    err.print(f"starting the embedded stack in {data_dir}…")
    infra = start_infrastructure(data_dir, progress=lambda m: err.print(m))
    try:
        print(f"broker: {infra.broker}; database: {infra.database}; cpus={os.cpu_count()} "
              f"loadavg={os.getloadavg()[0]:.2f} at start", flush=True)
        figures = asyncio.run(run(infra, data_dir, suppliers=suppliers, clients=clients, seconds=seconds,
                                  seed_value=seed))
    except BaseException:
        err.print(f"logs kept in {data_dir / 'logs'}")
        infra.stop()
        raise
    infra.stop()
    shutil.rmtree(data_dir, ignore_errors=True)
    print(f"search_p50_ms={figures['search_p50_ms']:.0f} search_p99_ms={figures['search_p99_ms']:.0f} "
          f"search_rps={figures['search_rps']:.0f}", flush=True)
    raise typer.Exit(1 if figures["errors"] else 0)


if __name__ == "__main__":
    bench.run(main)
