"""Who holds a lease: the identity a process writes in lease documents (the outbox relay's, the
webhooks' delivery, the dues runner…), and whether a holder is known to be dead.

A lease lapses after its length when its holder stops renewing it. A holder on this very machine
whose process is gone (a ``kill -9``, a crash, then a restart) is dead for certain: a restarted
service takes its predecessor's lease over at once instead of waiting the lease out.
"""
from __future__ import annotations

import os
import socket
import uuid


def owner_id() -> str:
    """``host:pid:random``: unique per process, and telling which machine and process hold a lease."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def abandoned(owner: str | None, host: str | None = None) -> bool:
    """Whether ``owner`` (an :func:`owner_id`) is a process of this machine that no longer runs.
    Holders on other machines, or of another form, are never called dead: their leases lapse."""
    if not owner:
        return False
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != (host or socket.gethostname()) or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False  # this process: another relay of ours, alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it runs, as another user
        return False
    return False
