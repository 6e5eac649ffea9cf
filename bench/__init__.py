"""The benchmarks (``make bench…``, ``make chaos``): each prints its figures, its last line the verdict."""
from __future__ import annotations

import signal
import sys
from typing import Callable


def run(main: Callable[..., object]) -> None:
    """``typer.run(main)``, a SIGTERM (a kill, a CI's timeout) ending it as Ctrl-C does: the benchmark's
    ``finally`` blocks run, so the broker, database and services it started are stopped, not left running."""
    import typer

    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    typer.run(main)
