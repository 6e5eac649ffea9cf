"""Input rules every domain shares; each raises :class:`runtime.errors.InvalidInput` naming the field.

Pure Python (domains import it). A service's own rules (a SIRET, a département, a tag) stay in
its ``domain/_rules.py``, which imports these.
"""
from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import TypeVar

from runtime.errors import InvalidInput

E = TypeVar("E", bound=StrEnum)
D = TypeVar("D", bound=date)


def text(value: object, field: str, *, max_length: int = 200) -> str:
    """A required, stripped, non-blank text."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, f"{field} is required")
    value = value.strip()
    if len(value) > max_length:
        raise InvalidInput(field, f"{field} is longer than {max_length} characters")
    return value


ID_MAX_LENGTH = 100


def identifier(value: object, field: str, *, spaces: bool = True) -> str:
    """An id given by the caller: non-blank text of at most 100 characters, no control characters
    (and no spaces either with ``spaces=False``: ids the platform itself issues have none)."""
    value = text(value, field, max_length=ID_MAX_LENGTH)
    if any(ord(c) < 32 for c in value):
        raise InvalidInput(field, f"{field} contains control characters")
    if not spaces and " " in value:
        raise InvalidInput(field, f"{field} must be an id (no spaces)")
    return value


def optional_identifier(value: object, field: str, *, spaces: bool = True) -> str | None:
    return None if value is None else identifier(value, field, spaces=spaces)


def optional_text(value: object, field: str, *, max_length: int = 4000) -> str | None:
    """``None`` for nothing or blanks, else :func:`text`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return text(value, field, max_length=max_length)


def enum_value(enum: type[E], value: object, field: str) -> E:
    """The member of ``enum`` whose code is ``value``; the message lists the codes allowed."""
    try:
        return enum(value)
    except (ValueError, TypeError):
        allowed = ", ".join(m.value for m in enum)
        raise InvalidInput(field, f"unknown {field} {value!r}; expected one of: {allowed}") from None


def not_before(value: D, earliest: D, field: str, what: str) -> D:
    """``value`` (a date or an instant) must not be before ``earliest`` (the time of a previous step)."""
    if value < earliest:
        raise InvalidInput(field, f"{field} {value.isoformat()} is before {what} ({earliest.isoformat()})")
    return value
