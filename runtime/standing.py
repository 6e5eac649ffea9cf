"""A member's standing on a date, from the history other services keep of it (pure: domains import it).

The history is what :mod:`runtime.members` projects from membership's events: entries
``{"status", "in_good_standing", "on": ISO date, "at", "event_id"}`` in business-date order. The
entry in force on a date is the last one dated on or before it; before the first, the organisation
was not a member.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any


def entry_on(history: Sequence[Mapping[str, Any]] | None, on: date | None = None) -> Mapping[str, Any] | None:
    """The entry in force on ``on`` (the latest one when ``on`` is None), or None when the organisation
    was not a member yet."""
    history = history or ()
    if on is None:
        return history[-1] if history else None
    day = on.isoformat()
    in_force = None
    for entry in history:
        if entry["on"] > day:
            break
        in_force = entry
    return in_force


def in_good_standing_on(history: Sequence[Mapping[str, Any]] | None, on: date | None = None) -> bool:
    """Whether the entry in force on ``on`` says the member was in good standing."""
    entry = entry_on(history, on)
    return bool(entry and entry["in_good_standing"])
