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

from pathlib import Path

import typer

from runtime.cli import echo_faults, import_with_progress, run_or_refuse, service_database
from runtime.mongo import Database
from services.membership.adapters.repository import ensure_indexes
from services.membership.service_layer.handlers import MembershipService
from services.membership.service_layer.register import import_register
from services.membership.settings import DuesSettings

cli = typer.Typer(help="Bring a chamber's membership register in (CSV), with a progress bar.", add_completion=False)


@cli.callback()
def main() -> None:
    """The membership register import."""


async def run_import(db: Database, file: Path) -> dict:
    dues = DuesSettings()
    svc = MembershipService(db, dues.fee_scale(), dues.terms())
    return await import_with_progress(file, lambda content, progress: import_register(
        svc, content, progress=lambda c: progress(c["lines"], c["done"], c["rejected"])))


@cli.command("import")
def import_file(file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                            help="The register (CSV, ; or , separated, a kind and a siret column).")
                ) -> None:
    """Import a register file; prints the counts and the line report of bad rows."""
    async def main() -> dict:
        async with service_database("membership", ensure_indexes) as db:
            return await run_import(db, file)

    done = run_or_refuse(main)
    echo_faults(done["faults"])
    c = done["counts"]
    typer.echo(f"{c['lines']:,} lines: {c['organisations']:,} organisations, {c['members']:,} members, "
               f"{c['invoices']:,} invoices, {c['payments']:,} payments imported; {c['unchanged']:,} unchanged, "
               f"{c['rejected']:,} rejected")


if __name__ == "__main__":
    cli()
