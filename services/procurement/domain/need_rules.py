"""Input rules of the needs area (needs, funnels, questions, impact surveys); each raises
:class:`InvalidInput` naming the field. Pure Python.

Communes, départements and regions are those of the platform's reference geography
(:mod:`reference.geo`, pure data shipped with the code).
"""
from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from contracts.base import EARLIEST_YEAR, LATEST_YEAR
from reference import geo
from runtime.errors import Conflict, InvalidInput
from runtime import rules
from runtime.rules import ID_MAX_LENGTH, enum_value, optional_text, text  # noqa: F401  (shared rules)

E = TypeVar("E", bound=StrEnum)

MAX_AMOUNT_CENTS = 10**13 - 1
"""A hundred billion euros, less a cent: beyond any public contract, within what events carry."""

_COMMUNE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")




def identifier(value: object, field: str) -> str:
    """An id the platform issued (a supplier's, a meeting's): no spaces."""
    return rules.identifier(value, field, spaces=False)


def optional_identifier(value: object, field: str) -> str | None:
    return rules.optional_identifier(value, field, spaces=False)


def flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(field, f"{field} must be true or false (got {value!r})")
    return value


def whole(value: object, field: str, *, minimum: int, maximum: int) -> int:
    """A whole number (not a bool) within ``minimum..maximum``."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise InvalidInput(field, f"{field} must be a whole number from {minimum} to {maximum} (got {value!r})")
    return value


def amount(value: object, field: str) -> int:
    """An amount in euro cents: a whole number from 0 to :data:`MAX_AMOUNT_CENTS`."""
    return whole(value, field, minimum=0, maximum=MAX_AMOUNT_CENTS)


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


def commune(value: object, field: str) -> geo.Commune:
    """A commune of the reference geography, by its INSEE code (5 characters, e.g. 93048)."""
    if not isinstance(value, str) or not _COMMUNE.match(value.strip().upper()):
        raise InvalidInput(field, f"{value!r} is not a commune's INSEE code (5 characters, e.g. 93048)")
    found = geo.commune(value.strip().upper())
    if found is None:
        raise InvalidInput(field, f"{value!r} is not the INSEE code of a known commune")
    return found


def commune_code(value: object, field: str) -> str:
    return commune(value, field).code


def departement(value: object, field: str) -> str:
    """The normalised code of a known département (``"1"`` → ``"01"``, ``"2a"`` → ``"2A"``)."""
    code = value.strip().upper() if isinstance(value, str) else ""
    if code.isdigit() and len(code) == 1:
        code = "0" + code
    if len(code) > 3 or geo.departement(code) is None:
        raise InvalidInput(field, f"{value!r} is not a French département code (01–95, 2A, 2B, 971–976)")
    return code


def region(value: object, field: str) -> str:
    code = value.strip() if isinstance(value, str) else ""
    if len(code) > 3 or geo.region(code) is None:
        raise InvalidInput(field, f"{value!r} is not a region's INSEE code (e.g. 11 for Île-de-France)")
    return code


def codes(values: object, field: str, rule, *, max_items: int) -> list[str]:
    """A list of codes, each checked by ``rule`` (``field.<i>`` names a bad one), duplicates dropped."""
    if values is None:
        return []
    if not isinstance(values, (list, tuple)):
        raise InvalidInput(field, f"{field} must be a list")
    if len(values) > max_items:
        raise InvalidInput(field, f"{field}: at most {max_items} items")
    out: list[str] = []
    for i, value in enumerate(values):
        code = rule(value, f"{field}.{i}")
        if code not in out:
            out.append(code)
    return out


def enums(enum: type[E], values: object, field: str, *, minimum: int = 0) -> list[E]:
    """A list of codes of ``enum`` (``field.<i>`` names an unknown one), duplicates dropped."""
    if not isinstance(values, (list, tuple)):
        raise InvalidInput(field, f"{field} must be a list of codes")
    if len(values) > 4 * len(enum):
        raise InvalidInput(field, f"{field}: at most {len(enum)} codes")
    out: list[E] = []
    for i, value in enumerate(values):
        member = enum_value(enum, value, f"{field}.{i}")
        if member not in out:
            out.append(member)
    if len(out) < minimum:
        raise InvalidInput(field, f"{field}: give at least {minimum}")
    return out


def conflict(what: str, action: str, state: str, expected: str, **extra: Any) -> Conflict:
    """A Conflict naming the current state and the step expected."""
    return Conflict(f"cannot {action}: {what} is {state}; expected: {expected}",
                    current_state=state, expected_step=expected, **extra)
