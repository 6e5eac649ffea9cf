"""Purchase diagnostics benchmark: import a 100,000-line spend file (lines/s).

On the embedded stack (started here, or the servers named by KAFKA_BOOTSTRAP_SERVERS /
MONGODB_URI), in a database of its own:

1. seed ESS organisations (membership's projection, ``organisations``: written directly, as the
   projection would from membership's events), supplier profiles for part of them and a buyer
   (``suppliers``, ``buyers``: written directly, in the supplier and buyer areas' document shapes —
   a benchmark's seed, not what it measures);
2. generate a realistic CSV: ``lines`` lines (100,000), ~2,000 distinct supplier SIRETs of which
   ``ess`` (300) are seeded ESS organisations (a few more share an ESS organisation's SIREN),
   20 categories, 3 years, 1 % broken lines (bad SIRET, amount, date, missing category), French
   forms (``;``, ``1 234,56``, ``15/03/2023``);
3. import it through the service layer (what the CLI does: the file read, every line checked,
   stored by chunks, the import completed and the report computed) and print lines/s;
4. import a second such file once through the API (a real uvicorn process of the procurement
   service: multipart upload, then polling the progress until completed) and print lines/s.

``async def run(infra, ...) -> dict[str, float]`` is what ``bench/procurement.py`` calls; alone:
``python -m bench.procurement_diagnostics``. The last line printed is
``import_lines_per_s=<n> api_import_lines_per_s=<n>``. Goal: ≥ 5,000 lines/s.
"""
from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import typer
from rich.console import Console

import bench
from bench.events import progress
from runtime.auth import issue_token
from runtime.mongo import Database
from runtime.outbox import ensure_outbox_indexes
from runtime.service import service
from runtime.settings import Settings
from runtime.siret import with_check_digit
from runtime.stack import Infrastructure, free_port, start_infrastructure, start_service, wait_ready
from services.procurement.adapters.repository import ensure_indexes
from services.procurement.service_layer.diagnostics import DiagnosticsService

err = Console(stderr=True)
CATEGORIES = ["Nettoyage des locaux", "Restauration scolaire", "Entretien des espaces verts", "Travaux de rénovation",
              "Collecte des déchets", "Prestations informatiques", "Impression et reprographie", "Blanchisserie",
              "Transport de personnes", "Livraisons et logistique", "Fournitures de bureau", "Formation du personnel",
              "Événementiel et réceptions", "Mise sous pli et courrier", "Entretien des bâtiments",
              "Location de véhicules", "Denrées alimentaires", "Vêtements de travail", "Conseil et études",
              "Télécommunications"]
YEARS = (2021, 2022, 2023)
BROKEN = ["12345", "douze", "-120,00", "31/02/2022", "1850-01-01", ""]


def spend_csv(rng: random.Random, lines: int, ess_sirets: list[str], other_sirets: list[str],
              broken_share: float) -> bytes:
    """A realistic spend file: ESS suppliers get about a tenth of the lines."""
    out = ["SIRET fournisseur;Montant;Catégorie;Date"]
    weights = [1 / (i + 1) for i in range(len(CATEGORIES))]  # a few categories weigh most
    categories = rng.choices(CATEGORIES, weights, k=lines)
    for i in range(lines):
        siret = rng.choice(ess_sirets) if rng.random() < 0.1 else rng.choice(other_sirets)
        euros = rng.lognormvariate(6.5, 1.4)
        amount = f"{euros:,.2f}".replace(",", " ").replace(".", ",")
        day = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.choice(YEARS)}"
        cells = [siret, amount, categories[i], day]
        if rng.random() < broken_share:
            which = rng.randrange(4)
            cells[which] = {0: "12345", 1: rng.choice(["douze", "-120,00", "1 000 000 000 000"]),
                            2: "", 3: rng.choice(["31/02/2022", "1850-01-01", "hier"])}[which]
        out.append(";".join(cells))
    return ("\r\n".join(out) + "\r\n").encode("utf-8")


async def seed(db: Database, rng: random.Random, *, suppliers: int, ess: int) -> tuple[list[str], list[str]]:
    """ESS organisations and supplier profiles; returns (ESS SIRETs, other SIRETs) for the file."""
    ess_sirets = [with_check_digit(f"7{n:08d}0001") for n in rng.sample(range(10**8), ess)]
    other_sirets = [with_check_digit(f"8{n:08d}{rng.randint(1, 99):04d}") for n in
                    rng.sample(range(10**8), suppliers - ess)]
    sectors = ["cleaning", "food", "green_spaces", "sustainable_construction", "circular_economy", "digital",
               "printing", "textile", "mobility", "logistics", "office_services", "training", "events"]
    orgs, profiles = [], []
    for i, siret in enumerate(ess_sirets):
        org = f"org-bench-{i:05d}"
        orgs.append({"_id": org, "siret": siret, "name": f"Structure ESS {i}", "legal_form": "association",
                     "esus_agreed": False, "esus_agreed_on": None, "departement": rng.choice(["93", "94", "75"]),
                     "commune": "Montreuil", "sector": "", "headcount": rng.randint(3, 200),
                     "annual_budget_cents": rng.randint(10_000_00, 5_000_000_00)})
        if i % 2 == 0:
            profiles.append({"_id": f"sup-bench-{i:05d}", "organisation_id": org,
                             "sectors": rng.sample(sectors, rng.randint(1, 3)),
                             "kinds": [rng.choice(["ei", "aci", "esat", "ea", "ess"])], "labels": [],
                             "base": {"commune": "93048", "departement": rng.choice(["93", "94", "75"]), "lat": None,
                                      "lon": None},
                             "serves": {"departements": rng.sample(["93", "94", "75", "92"], 2), "communes": [],
                                        "radius_km": None}, "status": "active", "version": 1})
    await db["organisations"].insert_many(orgs)
    await db["suppliers"].insert_many(profiles)
    # seeded directly, in the buyer area's document shape (the benchmark measures the import, not this)
    await db["buyers"].insert_one({"_id": "buy-bench", "kind": "commune", "siret": "21930048000015",
                                   "name": "Ville de Montreuil", "departement": "93", "commune": "93048",
                                   "status": "active", "version": 1})
    siblings = [with_check_digit(s[:9] + "0042") for s in ess_sirets[:20]]  # SIREN matches
    return ess_sirets + siblings, other_sirets


async def run(infra: Infrastructure, *, lines: int = 100_000, suppliers: int = 2_000, ess: int = 300,
              broken: float = 0.01, seed_value: int = 2024, api: bool = True, log_dir: Path | None = None
              ) -> dict[str, float]:
    """Import a ``lines``-line spend file through the service layer, then once through the API;
    lines per second of each (see the module's docstring)."""
    rng = random.Random(seed_value)
    database = f"bench_procurement_diag_{uuid.uuid4().hex[:6]}"
    settings = service("procurement").settings(mongodb_uri=infra.mongodb_uri, mongodb_database=database,
                                               kafka_bootstrap_servers=infra.kafka_bootstrap_servers)
    db = await Database(settings).open()
    figures: dict[str, float] = {}
    try:
        await ensure_outbox_indexes(db)
        await ensure_indexes(db)
        ess_sirets, other_sirets = await seed(db, rng, suppliers=suppliers, ess=ess)
        t = time.perf_counter()
        content = spend_csv(rng, lines, ess_sirets, other_sirets, broken)
        err.print(f"generated a {len(content) / 1e6:.1f} MB CSV of {lines:,} lines in {time.perf_counter() - t:.1f} s")
        svc = DiagnosticsService(db, max_lines=max(lines, 100_000))
        diagnostic = (await svc.open_diagnostic("buy-bench")).id
        with progress() as bar:
            task = bar.add_task("service layer: importing", total=lines)
            started = time.perf_counter()
            doc = await svc.start_import(diagnostic, content, file_name="bench.csv",
                                         progress=lambda d: bar.update(task, completed=d["lines_read"]))
            done = await svc.wait(doc["_id"])
            took = time.perf_counter() - started
        if done["state"] != "completed":
            raise RuntimeError(f"the import failed: {done.get('error')}")
        report = await svc.report(diagnostic)
        figures["import_lines_per_s"] = lines / took
        figures["import_seconds"] = took
        print(f"  service layer: {lines:,} lines in {took:.2f} s = {lines / took:,.0f} lines/s "
              f"({done['lines_imported']:,} imported, {done['lines_rejected']:,} rejected); report: "
              f"{report['totals']['suppliers']:,} suppliers of which {report['totals']['ess_suppliers']} ESS, "
              f"ESS share {report['totals']['ess_share_percent']} %, {report['totals']['categories']} categories",
              flush=True)
        if api:
            figures |= await _through_the_api(infra, database, rng, lines, ess_sirets, other_sirets, broken,
                                              log_dir or Path(tempfile.mkdtemp(prefix="cress-bench-diag-")))
    finally:
        await db.client.drop_database(database)
        await db.close()
    return figures


async def _through_the_api(infra: Infrastructure, database: str, rng: random.Random, lines: int,
                           ess_sirets: list[str], other_sirets: list[str], broken: float,
                           log_dir: Path) -> dict[str, float]:
    content = spend_csv(rng, lines, ess_sirets, other_sirets, broken)
    proc, port = start_service("procurement", infra, log_dir, port=free_port(),
                               extra_env={"MONGODB_DATABASE": database, "LOG_LEVEL": "WARNING"})
    try:
        await asyncio.to_thread(wait_ready, port, 120, proc)
        token = issue_token(Settings(), "bench-diagnostics", ["staff:procurement"])
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            r = await client.post("/diagnostics", json={"buyer_id": "buy-bench"})
            r.raise_for_status()
            diagnostic = r.json()["id"]
            with progress() as bar:
                task = bar.add_task("API upload: importing", total=lines)
                started = time.perf_counter()
                r = await client.post(f"/diagnostics/{diagnostic}/imports",
                                      files={"file": ("bench.csv", content, "text/csv")})
                if r.status_code != 202:
                    raise RuntimeError(f"upload answered {r.status_code}: {r.text[:300]}")
                accepted = time.perf_counter() - started
                location = r.headers["Location"]
                deadline = started + 600
                while True:
                    doc = (await client.get(location)).json()
                    bar.update(task, completed=doc["lines_read"])
                    if doc["state"] != "running" or time.perf_counter() > deadline:
                        break
                    await asyncio.sleep(0.2)
                took = time.perf_counter() - started
        if doc["state"] != "completed":
            raise RuntimeError(f"the API import did not complete: {doc['state']} {doc.get('error')}")
        print(f"  API upload: {len(content) / 1e6:.1f} MB accepted (202) in {accepted:.2f} s, {lines:,} lines "
              f"imported in {took:.2f} s = {lines / took:,.0f} lines/s", flush=True)
        return {"api_import_lines_per_s": lines / took, "api_accept_seconds": accepted}
    finally:
        proc.stop()


def main(lines: int = typer.Option(100_000, help="Lines of the spend file."),
         suppliers: int = typer.Option(2_000, help="Distinct supplier SIRETs."),
         ess: int = typer.Option(300, help="Of which seeded ESS organisations."),
         broken: float = typer.Option(0.01, help="Share of broken lines."),
         api: bool = typer.Option(True, help="Also import once through the API upload.")) -> None:
    """Import a spend file through the service layer and the API (see the module's docstring)."""
    data_dir = Path(tempfile.mkdtemp(prefix="cress-bench-diagnostics-"))
    err.print(f"starting the embedded stack in {data_dir}…")
    infra = start_infrastructure(data_dir, progress=lambda m: err.print(m))
    ok = False
    try:
        print(f"broker: {infra.broker}; database: {infra.database}")
        figures = asyncio.run(run(infra, lines=lines, suppliers=suppliers, ess=ess, broken=broken, api=api,
                                  log_dir=data_dir / "logs"))
        ok = True
    finally:
        infra.stop()
        if ok:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            err.print(f"logs kept in {data_dir / 'logs'}")
    print(f"import_lines_per_s={figures['import_lines_per_s']:.0f} "
          f"api_import_lines_per_s={figures.get('api_import_lines_per_s', float('nan')):.0f}", flush=True)


if __name__ == "__main__":
    bench.run(main)
