"""SIRET numbers (every service validates them here): 14 digits, the first 9 being the SIREN of
the legal entity.

A SIRET is valid when its 14 digits pass the Luhn checksum. Exception: the establishments of
La Poste (SIREN 356 000 000) are too many for the Luhn key space; INSEE numbers them so that
the *sum of their digits* is a multiple of 5. For that SIREN a number is accepted when either
rule holds (the head office, 356 000 000 00048, passes Luhn).
"""
from __future__ import annotations

from runtime.errors import InvalidInput

LA_POSTE_SIREN = "356000000"


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum over a string of decimal digits (rightmost digit is the check digit)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def normalize_siret(value: str) -> str:
    """Drop the spaces, dots and non-breaking spaces people type in a SIRET."""
    return "".join(ch for ch in value if ch not in " .\u00a0\u202f\t-")


def is_valid_siret(value: str) -> bool:
    """Whether ``value`` (already normalised) is a valid SIRET."""
    if len(value) != 14 or not value.isascii() or not value.isdigit():
        return False
    if luhn_ok(value):
        return True
    if value.startswith(LA_POSTE_SIREN):
        return sum(int(c) for c in value) % 5 == 0
    return False


def validate_siret(value: str, field: str = "siret") -> str:
    """The normalised SIRET, or :class:`InvalidInput` naming ``field``."""
    siret = normalize_siret(value)
    if len(siret) != 14 or not siret.isascii() or not siret.isdigit():
        raise InvalidInput(field, f"a SIRET has 14 digits, got {value!r}")
    if not is_valid_siret(siret):
        raise InvalidInput(field, f"SIRET {siret} fails its checksum")
    return siret


def siren_of(siret: str) -> str:
    """The SIREN (legal entity) of a SIRET (establishment): its first 9 digits."""
    return normalize_siret(siret)[:9]


def with_check_digit(first_13: str) -> str:
    """The valid SIRET that starts with these 13 digits (the Luhn check digit appended): for test
    data, benchmarks and examples."""
    if len(first_13) != 13 or not first_13.isdigit():
        raise ValueError(f"13 digits expected, got {first_13!r}")
    for check in "0123456789":
        if luhn_ok(first_13 + check):
            return first_13 + check
    raise AssertionError("unreachable: one Luhn check digit always exists")
