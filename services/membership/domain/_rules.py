"""Small input rules shared by the aggregates; each raises :class:`InvalidInput` naming the field."""
from __future__ import annotations

import re

from runtime.errors import InvalidInput
from runtime.rules import enum_value, not_before, optional_text, text  # noqa: F401  (shared rules)


DEPARTEMENTS: frozenset[str] = frozenset(
    {f"{n:02d}" for n in range(1, 96) if n != 20} | {"2A", "2B"} | {"971", "972", "973", "974", "976"})
"""Codes of the French départements: 01–95 (Corsica is 2A and 2B, not 20) and the five overseas
départements 971 Guadeloupe, 972 Martinique, 973 Guyane, 974 La Réunion, 976 Mayotte (975,
Saint-Pierre-et-Miquelon, is an overseas collectivity, not a département)."""

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 .()-]{5,24}$")


def non_negative(value: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(field, f"{field} must be a whole number, 0 or more (got {value!r})")
    return value


def positive(value: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInput(field, f"{field} must be a whole number above 0 (got {value!r})")
    return value


def departement(value: str, field: str = "departement") -> str:
    """The normalised département code (``"1"`` → ``"01"``, ``"2a"`` → ``"2A"``)."""
    code = str(value).strip().upper()
    if code.isdigit() and len(code) == 1:
        code = "0" + code
    if code not in DEPARTEMENTS:
        raise InvalidInput(field, f"{value!r} is not a French département code (01–95, 2A, 2B, 971–976)")
    return code


def email(value: str | None, field: str = "email") -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not _EMAIL.match(value) or len(value) > 254:
        raise InvalidInput(field, f"{value!r} is not an e-mail address")
    return value


def phone(value: str | None, field: str = "phone") -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not _PHONE.match(value):
        raise InvalidInput(field, f"{value!r} is not a phone number")
    return value

