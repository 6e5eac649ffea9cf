"""Small input rules shared by the events aggregates; each raises :class:`InvalidInput` naming the field.

Instants must be timezone-aware and within the years the platform accepts (contracts.base: 1900–2200).
"""
from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from contracts.base import EARLIEST_YEAR, LATEST_YEAR
from runtime.errors import Conflict, InvalidInput
from runtime.rules import (ID_MAX_LENGTH, enum_value, identifier, not_before, optional_identifier,  # noqa: F401
                           optional_text, text)  # (shared rules)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 .()-]{5,24}$")
_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")








def code(value: object, field: str) -> str:
    """A lower-case code: a letter then letters, digits, ``_`` or ``-`` (at most 40)."""
    if not isinstance(value, str) or not _CODE.match(value):
        raise InvalidInput(field, f"{value!r} is not a code (a lower-case letter, then lower-case letters, digits, "
                                  f"'_' or '-'; at most 40 characters)")
    return value


def whole(value: object, field: str, *, minimum: int, maximum: int) -> int:
    """A whole number (not a bool) within ``minimum..maximum``."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise InvalidInput(field, f"{field} must be a whole number from {minimum} to {maximum} (got {value!r})")
    return value


def flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(field, f"{field} must be true or false (got {value!r})")
    return value




def instant(value: object, field: str) -> datetime:
    """A timezone-aware datetime of the years the platform accepts."""
    if not isinstance(value, datetime):
        raise InvalidInput(field, f"{field} must be a date and time (got {value!r})")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(field, f"{field} must carry a time zone (naive date and time {value.isoformat()})")
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise InvalidInput(field, f"{field} must be in the years {EARLIEST_YEAR}–{LATEST_YEAR} "
                                  f"(got {value.isoformat()})")
    return value


def optional_instant(value: object, field: str) -> datetime | None:
    return None if value is None else instant(value, field)




@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def time_zone(value: object, field: str = "time_zone") -> str:
    """An IANA time zone name known to :mod:`zoneinfo` (``Europe/Paris``)."""
    if not isinstance(value, str) or value not in _zones():
        raise InvalidInput(field, f"{value!r} is not a known IANA time zone (e.g. 'Europe/Paris')")
    return value


def http_url(value: object, field: str) -> str | None:
    """An absolute http(s) URL with a host, or None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    value = text(value, field, max_length=2000)
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        raise InvalidInput(field, f"{value!r} is not a URL") from None
    if parts.scheme not in ("http", "https") or not host or any(c.isspace() for c in value):
        raise InvalidInput(field, f"{value!r} is not an http or https URL")
    return value


def email(value: object, field: str = "email") -> str:
    value = text(value, field, max_length=254)
    if not _EMAIL.match(value):
        raise InvalidInput(field, f"{value!r} is not an e-mail address")
    return value


def phone(value: object, field: str = "phone") -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    value = text(value, field, max_length=30)
    if not _PHONE.match(value):
        raise InvalidInput(field, f"{value!r} is not a phone number")
    return value


def conflict(what: str, action: str, state: str, expected: str) -> Conflict:
    """A Conflict naming the current state and the step expected."""
    return Conflict(f"cannot {action}: {what} is {state}; expected step: {expected}",
                    current_state=state, expected_step=expected)
