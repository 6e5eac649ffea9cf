"""Small input rules of the conventions domain; each raises :class:`InvalidInput` naming the field.

The rules the events domain shares (instants, ids, enums, flags) come from :mod:`services.events.domain._rules`.
"""
from __future__ import annotations

from collections.abc import Iterable

from runtime.errors import InvalidInput

from .._rules import enum_value, flag, identifier, instant, not_before, optional_instant  # noqa: F401
from .._rules import whole as _whole

MAX_TAG = 80  # characters of a sector / offer / need tag
MAX_TAGS = 30  # tags per list


def whole(value: object, field: str, *, low: int, high: int) -> int:
    """A whole number in ``low … high`` (booleans refused)."""
    return _whole(value, field, minimum=low, maximum=high)


def optional_whole(value: object, field: str, *, low: int, high: int) -> int | None:
    return None if value is None else whole(value, field, low=low, high=high)


def optional_identifier(value: object, field: str) -> str | None:
    """An optional id: ``None`` or blank means none."""
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

