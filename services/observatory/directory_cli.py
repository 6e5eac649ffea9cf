"""The directory's CSV import from the command line, for operators: import a file of ESS
structures directly into the observatory's database (the environment's settings: ``MONGODB_URI``,
``MONGODB_DATABASE``…) through the same service-layer code as the API's upload, with a progress
bar and no upload limit; prints the line report of bad rows.

    python -m services.observatory.directory_cli import structures.csv --source "Carteco 2024"

The events the import records go to the observatory's outbox in the same transactions as the
data; the running observatory's relay publishes them. Exit codes: 0 imported (bad rows may have
been reported), 2 refused (a file that cannot be imported, a bad option).
"""
from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from runtime.errors import DomainError
from runtime.mongo import Database
from runtime.outbox import ensure_outbox_indexes
from runtime.service import service
from services.observatory.adapters.repository import ensure_indexes
from services.observatory.domain.directory import DirectoryImport
from services.observatory.service_layer.directory import DirectoryService

cli = typer.Typer(help="The directory of ESS structures: import CSV files with a progress bar.", add_completion=False)
console = Console(stderr=True)


@cli.callback()
def main() -> None:
    """The directory of ESS structures."""


async def _database() -> Database:
    db = await Database(service("observatory").settings()).open()
    await ensure_outbox_indexes(db)
    await ensure_indexes(db)
    return db


async def run_import(db: Database, file: Path, *, source: str, on: date | None = None,
                     max_lines: int = 1_000_000) -> DirectoryImport:
    """Import ``file`` into ``db`` with a progress bar on stderr."""
    svc = DirectoryService(db, max_lines=max_lines)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("lines"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console) as bar:
        task = bar.add_task(f"reading {file.name}", total=None)
        content = await asyncio.to_thread(file.read_bytes)

        def progress(counts: dict[str, int]) -> None:
            bar.update(task, total=counts["good"], completed=counts["read"],
                       description=f"importing {file.name} ({counts['rejected']:,} bad lines)")

        return await svc.import_csv(content, source=source, file_name=file.name, on=on, progress=progress)


@cli.command("import")
def import_file(file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                            help="The CSV file (; or , separated; UTF-8, UTF-8 with BOM or "
                                                 "Windows-1252)."),
                source: str = typer.Option(..., "--source", help="Where the file comes from (e.g. 'Carteco 2024')."),
                on: str = typer.Option(None, "--on", help="Business date the structures became known (YYYY-MM-DD; "
                                                          "default today)."),
                max_lines: int = typer.Option(1_000_000, min=1, help="Most data lines accepted.")) -> None:
    """Import a CSV file of structures; prints the counts and the line report of bad rows."""
    try:
        day = date.fromisoformat(on) if on else None
    except ValueError:
        console.print(f"[red]refused:[/red] --on {on!r} is not a date (YYYY-MM-DD)")
        raise typer.Exit(2) from None

    async def main() -> DirectoryImport:
        db = await _database()
        try:
            return await run_import(db, file, source=source, on=day, max_lines=max_lines)
        finally:
            await db.close()

    try:
        done = asyncio.run(main())
    except DomainError as exc:
        field = exc.extra.get("field")
        console.print(f"[red]refused:[/red] {field + ': ' if field else ''}{exc.detail}")
        raise typer.Exit(2) from None
    for column in done.ignored_columns:
        typer.echo(f"column {column['column']!r} ignored: {column['why']}")
    for fault in done.faults:
        typer.echo(f"line {fault['line']}: {fault['field']}: {fault['message']}")
    if done.faults_truncated:
        typer.echo(f"… (first {len(done.faults):,} faults; GET /directory/imports/{done.id})")
    typer.echo(f"import {done.id} ({done.encoding}, '{done.separator}'): {done.lines:,} lines, {done.imported:,} "
               f"new, {done.updated:,} updated, {done.unchanged:,} unchanged, {done.rejected:,} rejected")


if __name__ == "__main__":
    cli()
