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

from datetime import date
from pathlib import Path

import typer

from runtime.cli import echo_faults, import_with_progress, refuse, run_or_refuse, service_database
from runtime.mongo import Database
from services.observatory.adapters.repository import ensure_indexes
from services.observatory.domain.directory import DirectoryImport
from services.observatory.service_layer.directory import DirectoryService

cli = typer.Typer(help="The directory of ESS structures: import CSV files with a progress bar.", add_completion=False)


@cli.callback()
def main() -> None:
    """The directory of ESS structures."""


async def run_import(db: Database, file: Path, *, source: str, on: date | None = None,
                     max_lines: int = 1_000_000) -> DirectoryImport:
    """Import ``file`` into ``db`` with a progress bar on stderr."""
    svc = DirectoryService(db, max_lines=max_lines)
    return await import_with_progress(file, lambda content, progress: svc.import_csv(
        content, source=source, file_name=file.name, on=on,
        progress=lambda c: progress(c["good"], c["read"], c["rejected"])))


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
        raise refuse(f"--on {on!r} is not a date (YYYY-MM-DD)") from None

    async def main() -> DirectoryImport:
        async with service_database("observatory", ensure_indexes) as db:
            return await run_import(db, file, source=source, on=day, max_lines=max_lines)

    done = run_or_refuse(main)
    for column in done.ignored_columns:
        typer.echo(f"column {column['column']!r} ignored: {column['why']}")
    echo_faults(done.faults)
    if done.faults_truncated:
        typer.echo(f"… (first {len(done.faults):,} faults; GET /directory/imports/{done.id})")
    typer.echo(f"import {done.id} ({done.encoding}, '{done.separator}'): {done.lines:,} lines, {done.imported:,} "
               f"new, {done.updated:,} updated, {done.unchanged:,} unchanged, {done.rejected:,} rejected")


if __name__ == "__main__":
    cli()
