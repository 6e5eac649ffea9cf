"""Purchase diagnostics from the command line, for operators: import a large spend file directly
into the procurement service's database (the settings of the environment: ``MONGODB_URI``,
``MONGODB_DATABASE``…), through the same service-layer code as the API's upload, with a progress
bar; no HTTP upload limit.

    python -m services.procurement.diagnostics_cli open --buyer buy-81d2e0
    python -m services.procurement.diagnostics_cli import --diagnostic diag-7b1e22 achats-2023.xlsx

The events the import records go to the service's outbox, in the same transactions as the
data; the running procurement service's relay publishes them (nothing is published while no
procurement process runs). Exit codes: 0 imported, 1 the import failed, 2 refused (unknown
diagnostic, a file that cannot be imported, the same file twice…).
"""
from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from runtime.errors import DomainError
from runtime.mongo import Database
from runtime.outbox import ensure_outbox_indexes
from runtime.service import service
from services.procurement.adapters.repository import ensure_indexes
from services.procurement.bootstrap import SETTINGS
from services.procurement.service_layer.diagnostics import DiagnosticsService

cli = typer.Typer(help="Purchase diagnostics: open one, import spend files (CSV, XLSX) with a progress bar.",
                  add_completion=False)
console = Console(stderr=True)


def _service(db: Database) -> DiagnosticsService:
    return DiagnosticsService(db, max_lines=SETTINGS.diagnostic_max_lines, chunk_lines=SETTINGS.diagnostic_chunk_lines,
                              stale_after=SETTINGS.diagnostic_stale_import_seconds)


async def _database() -> Database:
    db = await service("procurement").database().open()
    await ensure_outbox_indexes(db)
    await ensure_indexes(db)
    return db


@cli.command("open")
def open_diagnostic(buyer: str = typer.Option(..., "--buyer", help="The buyer's id (buy-…).")) -> None:
    """Open a purchase diagnostic for a buyer; prints its id."""
    async def main() -> str:
        db = await _database()
        try:
            return (await _service(db).open_diagnostic(buyer)).id
        finally:
            await db.close()
    try:
        typer.echo(asyncio.run(main()))
    except DomainError as exc:
        console.print(f"[red]refused:[/red] {exc.detail}")
        raise typer.Exit(2) from None


@cli.command("import")
def import_file(file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                            help="The spend file: CSV or XLSX."),
                diagnostic: str = typer.Option(..., "--diagnostic", help="The diagnostic's id (diag-…)."),
                max_lines: int = typer.Option(SETTINGS.diagnostic_max_lines, min=1,
                                              help="Most data lines accepted.")) -> None:
    """Import a spend file into a diagnostic, with a progress bar; prints the outcome."""
    async def main() -> dict:
        db = await _database()
        svc = _service(db)
        try:
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("lines"),
                          TimeElapsedColumn(), TimeRemainingColumn(), console=console) as bar:
                task = bar.add_task(f"reading {file.name}", total=None)
                content = await asyncio.to_thread(file.read_bytes)

                def progress(doc: dict) -> None:
                    bar.update(task, total=doc["lines_total"], completed=doc["lines_read"],
                               description=f"importing {file.name} ({doc['lines_rejected']:,} rejected)")

                doc = await svc.start_import(diagnostic, content, file_name=file.name, progress=progress,
                                             max_lines=max_lines)
                bar.update(task, total=doc["lines_total"], completed=0, description=f"importing {file.name}")
                return await svc.wait(doc["_id"])
        finally:
            await db.close()

    try:
        done = asyncio.run(main())
    except DomainError as exc:
        console.print(f"[red]refused:[/red] {exc.detail}")
        raise typer.Exit(2) from None
    base = f"/diagnostics/{diagnostic}/imports/{done['_id']}"
    if done["state"] != "completed":
        console.print(f"[red]import {done['_id']} {done['state']}:[/red] {done.get('error')}")
        raise typer.Exit(1)
    typer.echo(f"import {done['_id']} completed: {done['lines_read']:,} lines read, {done['lines_imported']:,} "
               f"imported, {done['lines_rejected']:,} rejected (GET {base}/rejections.csv); "
               f"{done['total_spend_cents'] / 100:,.2f} EUR over {', '.join(map(str, done['years']))}; "
               f"report: GET /diagnostics/{diagnostic}/report")


if __name__ == "__main__":
    cli()
