"""What the operators' file-import commands share (``services.membership.register_cli``,
``services.observatory.directory_cli``): the service's database opened with its indexes, the file
read and imported under a progress bar, a refusal printed as one line with exit code 2, the line
report of bad rows.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from runtime.errors import DomainError
from runtime.mongo import Database
from runtime.outbox import ensure_outbox_indexes
from runtime.service import service

T = TypeVar("T")
Progressed = Callable[[int, int, int], None]  # (lines in all, lines done, lines rejected)

console = Console(stderr=True)


@asynccontextmanager
async def service_database(name: str, *indexes: Callable[[Database], Awaitable[None]]) -> AsyncIterator[Database]:
    """Service ``name``'s database (the environment's settings), its outbox's and ``indexes`` ensured."""
    db = await service(name).database().open()
    try:
        await ensure_outbox_indexes(db)
        for ensure in indexes:
            await ensure(db)
        yield db
    finally:
        await db.close()


async def import_with_progress(file: Path, run: Callable[[bytes, Progressed], Awaitable[T]]) -> T:
    """Read ``file``, then ``run(content, progress)`` under a progress bar on stderr."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("lines"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console) as bar:
        task = bar.add_task(f"reading {file.name}", total=None)
        content = await asyncio.to_thread(file.read_bytes)

        def progress(total: int, done: int, rejected: int) -> None:
            bar.update(task, total=total, completed=done, description=f"importing {file.name} ({rejected:,} bad lines)")

        return await run(content, progress)


def refuse(message: str) -> typer.Exit:
    """Print ``refused: message`` and give the exit (code 2) to raise."""
    console.print(f"[red]refused:[/red] {message}")
    return typer.Exit(2)


def run_or_refuse(main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main``; a refusal of the domain (a file that cannot be imported) exits with code 2,
    naming the field."""
    try:
        return asyncio.run(main())
    except DomainError as exc:
        field = exc.extra.get("field")
        raise refuse(f"{field + ': ' if field else ''}{exc.detail}") from None


def echo_faults(faults: Iterable[dict]) -> None:
    """The line report of bad rows, one per line: ``line N: field: message``."""
    for fault in faults:
        typer.echo(f"line {fault['line']}: {fault['field']}: {fault['message']}")
