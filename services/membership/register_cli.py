"""The register import from the command line, for operators bringing a chamber's history in:
organisations, members since a date, past invoices and payments (see
:mod:`services.membership.domain.register` for the file), straight into the membership
database (the environment's settings: ``MONGODB_URI``, ``MONGODB_DATABASE``…) through the same
service-layer code as ``POST /register-imports``, with a progress bar; prints the line report of
bad rows.

    python -m services.membership.register_cli import registre.csv

The events go to the membership outbox in the same transactions as the data (marked
``imported``); the running service's relay publishes them. Running it again on the same file
changes nothing. Exit codes: 0 imported (bad rows may have been reported), 2 refused.
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
from services.membership.adapters.repository import ensure_indexes
from services.membership.service_layer.handlers import MembershipService
from services.membership.service_layer.register import import_register
from services.membership.settings import DuesSettings

cli = typer.Typer(help="Bring a chamber's membership register in (CSV), with a progress bar.", add_completion=False)
console = Console(stderr=True)


@cli.callback()
def main() -> None:
    """The membership register import."""


async def run_import(db: Database, file: Path) -> dict:
    dues = DuesSettings()
    svc = MembershipService(db, dues.fee_scale(), dues.terms())
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("lines"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console) as bar:
        task = bar.add_task(f"reading {file.name}", total=None)
        content = await asyncio.to_thread(file.read_bytes)

        def progress(counts: dict[str, int]) -> None:
            bar.update(task, total=counts["lines"], completed=counts["done"],
                       description=f"importing {file.name} ({counts['rejected']:,} bad lines)")

        return await import_register(svc, content, progress=progress)


@cli.command("import")
def import_file(file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                            help="The register (CSV, ; or , separated, a kind and a siret column).")
                ) -> None:
    """Import a register file; prints the counts and the line report of bad rows."""
    async def main() -> dict:
        db = Database(service("membership").settings())
        try:
            await ensure_outbox_indexes(db)
            await ensure_indexes(db)
            return await run_import(db, file)
        finally:
            await db.close()

    try:
        done = asyncio.run(main())
    except DomainError as exc:
        field = exc.extra.get("field")
        console.print(f"[red]refused:[/red] {field + ': ' if field else ''}{exc.detail}")
        raise typer.Exit(2) from None
    for fault in done["faults"]:
        typer.echo(f"line {fault['line']}: {fault['field']}: {fault['message']}")
    c = done["counts"]
    typer.echo(f"{c['lines']:,} lines: {c['organisations']:,} organisations, {c['members']:,} members, "
               f"{c['invoices']:,} invoices, {c['payments']:,} payments imported; {c['unchanged']:,} unchanged, "
               f"{c['rejected']:,} rejected")


if __name__ == "__main__":
    cli()
