"""Small input rules of the conventions domain; each raises :class:`InvalidInput` naming the field."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from runtime.errors import InvalidInput

E = TypeVar("E", bound=StrEnum)

EARLIEST_YEAR = 1900  # contracts.base will export these; literals until then
LATEST_YEAR = 2199
MAX_ID = 100  # characters of an id given by the caller
MAX_TAG = 80  # characters of a sector / offer / need tag
MAX_TAGS = 30  # tags per list


def instant(value: object, field: str) -> datetime:
    """A timezone-aware datetime in the years the platform accepts."""
    if not isinstance(value, datetime):
        raise InvalidInput(field, f"{field} must be a date and time (got {value!r})")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(field, f"{field} must carry a time zone (got the naive {value.isoformat()})")
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise InvalidInput(field, f"{field}: year {value.year} is outside {EARLIEST_YEAR}–{LATEST_YEAR}")
    return value


def optional_instant(value: object, field: str) -> datetime | None:
    return None if value is None else instant(value, field)


def not_before(at: datetime, earliest: datetime, field: str, what: str) -> datetime:
    if at < earliest:
        raise InvalidInput(field, f"{field} {at.isoformat()} is before {what} ({earliest.isoformat()})")
    return at


def whole(value: object, field: str, *, low: int, high: int) -> int:
    """A whole number in ``low … high`` (booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, f"{field} must be a whole number (got {value!r})")
    if not low <= value <= high:
        raise InvalidInput(field, f"{field} must be between {low} and {high} (got {value})")
    return value


def optional_whole(value: object, field: str, *, low: int, high: int) -> int | None:
    return None if value is None else whole(value, field, low=low, high=high)


def identifier(value: object, field: str) -> str:
    """A required id: non-blank text of at most :data:`MAX_ID` characters, no surrounding spaces kept."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, f"{field} is required")
    value = value.strip()
    if len(value) > MAX_ID:
        raise InvalidInput(field, f"{field} is longer than {MAX_ID} characters")
    return value


def optional_identifier(value: object, field: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return identifier(value, field)


def optional_text(value: object, field: str, *, max_length: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(field, f"{field} must be text")
    value = value.strip()
    if len(value) > max_length:
        raise InvalidInput(field, f"{field} is longer than {max_length} characters")
    return value or None


def tags(values: Iterable[str] | None, field: str) -> tuple[str, ...]:
    """Short tags (codes or labels: business information, never contact details), stripped, each
    kept once (case-insensitive), in the order given."""
    if values is None:
        return ()
    if isinstance(values, str):
        raise InvalidInput(field, f"{field} must be a list of tags, not one text")
    out: list[str] = []
    seen: set[str] = set()
    for i, v in enumerate(values):
        where = f"{field}.{i}"
        if not isinstance(v, str) or not v.strip():
            raise InvalidInput(where, f"{where} must be a non-empty tag")
        v = " ".join(v.split())
        if len(v) > MAX_TAG:
            raise InvalidInput(where, f"{where} is longer than {MAX_TAG} characters: a tag, not a description")
        if "@" in v:
            raise InvalidInput(where, f"{where} looks like contact details: tags are codes or short labels")
        if v.casefold() not in seen:
            seen.add(v.casefold())
            out.append(v)
    if len(out) > MAX_TAGS:
        raise InvalidInput(field, f"{field}: at most {MAX_TAGS} tags (got {len(out)})")
    return tuple(out)


def enum_value(enum: type[E], value: object, field: str) -> E:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise InvalidInput(field, f"unknown {field} {value!r}; expected one of: {allowed}") from None


def flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(field, f"{field} must be true or false (got {value!r})")
    return value
