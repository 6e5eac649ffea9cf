"""A buyer's spend file, line by line: which column is which, and what a good line is.

A spend file has four columns (any order, other columns ignored), recognised by their header
(accents, case, punctuation and units ignored):

- the supplier's SIRET: a header containing "siret" ("SIRET fournisseur", "N° SIRET");
- the amount in euros: "Montant", "Montant HT", "Montant (€)", "Amount";
- the category: "Catégorie", "Famille d'achat", "Famille", "Nature d'achat", "Category";
- the date: a header starting with "Date" ("Date", "Date de paiement", "Date facture").

When two columns answer the same name the first one (left to right) is used; the import shows
which column it read for each field.

A line is kept when its SIRET is valid (:mod:`runtime.siret`: 14 digits, checksum), its amount
is a number of euros from 0 to 1 billion (``"1 234,56"``, ``"1.234,56"``, ``"1234.56"``, with
or without its unit: ``"12,50 €"``, ``"12 euros"``, ``"12 EUR"``; a spreadsheet number; rounded
to the cent), its date is ``2024-03-15``, ``15/03/2024`` (or with ``-``/``.``) or a spreadsheet
date, in the years 1900–2200, and its category is given (at most 200 characters). Otherwise the
line is rejected with one :class:`Fault` per bad cell: its line number (the header is line 1, as
a spreadsheet shows it), the column's header, a reason code and a sentence. Blank lines are
skipped (they keep their number).

Pure: values in, values out.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from contracts.base import EARLIEST_YEAR, LATEST_YEAR
from runtime.errors import InvalidInput
from runtime.siret import is_valid_siret, normalize_siret

__all__ = ["Field", "Reason", "Fault", "SpendLine", "Columns", "map_columns", "parse_line", "parse_lines",
           "parse_amount", "parse_date", "parse_siret", "parse_category", "category_key", "plain",
           "MAX_AMOUNT_CENTS", "MAX_CATEGORY_LENGTH"]

MAX_AMOUNT_CENTS = 10**11  # 1 billion euros: above, a typing error (a SIRET in the amount column…)
MAX_CATEGORY_LENGTH = 200
MAX_VALUE_SHOWN = 100  # a rejected cell's value is shown cut to this length


class Field(StrEnum):
    """The four columns a spend file must have."""

    SIRET = "siret"
    AMOUNT = "amount"
    CATEGORY = "category"
    DATE = "date"


EXPECTED_HEADERS = {Field.SIRET: "SIRET fournisseur", Field.AMOUNT: "Montant", Field.CATEGORY: "Catégorie",
                    Field.DATE: "Date"}


class Reason(StrEnum):
    """Why a cell makes its line rejected."""

    SIRET_MISSING = "siret_missing"
    SIRET_MALFORMED = "siret_malformed"  # not 14 digits
    SIRET_CHECKSUM = "siret_checksum"  # 14 digits failing the checksum
    AMOUNT_MISSING = "amount_missing"
    AMOUNT_NOT_A_NUMBER = "amount_not_a_number"
    AMOUNT_NEGATIVE = "amount_negative"
    AMOUNT_ABSURD = "amount_absurd"  # over MAX_AMOUNT_CENTS
    DATE_MISSING = "date_missing"
    DATE_UNPARSABLE = "date_unparsable"
    DATE_OUT_OF_RANGE = "date_out_of_range"
    CATEGORY_MISSING = "category_missing"
    CATEGORY_TOO_LONG = "category_too_long"


@dataclass(frozen=True)
class Fault:
    """One bad cell of a rejected line."""

    line: int
    column: str  # the header of the column, as the file spells it
    field: Field
    reason: Reason
    message: str
    value: str  # the cell as read, cut to MAX_VALUE_SHOWN characters


@dataclass(frozen=True)
class SpendLine:
    """A good line."""

    line: int
    siret: str
    amount_cents: int
    category: str
    on: date


class _Bad(Exception):
    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


# -- headers ----------------------------------------------------------------------------------------
def plain(text: str) -> str:
    """Lower case, accents dropped, every run of non-alphanumerics one space (for comparisons)."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", bare).split())


def _field_of(header: str) -> Field | None:
    words = plain(header).split()
    if not words:
        return None
    if "siret" in words:
        return Field.SIRET
    if words[0] in ("montant", "amount", "somme"):
        return Field.AMOUNT
    if words[0] in ("categorie", "category", "famille", "nature", "rubrique", "segment"):
        return Field.CATEGORY
    if words[0] == "date":
        return Field.DATE
    return None


@dataclass(frozen=True)
class Columns:
    """Which column (0-based index) holds each field, and the headers as the file spells them."""

    index: dict[Field, int]
    headers: dict[Field, str]

    @property
    def width(self) -> int:
        return max(self.index.values()) + 1


def map_columns(header: list[Any]) -> Columns:
    """The columns of a header row; :class:`InvalidInput` (field ``file``) names what is missing."""
    index: dict[Field, int] = {}
    headers: dict[Field, str] = {}
    for i, cell in enumerate(header):
        text = "" if cell is None else str(cell).strip()
        field = _field_of(text)
        if field is not None and field not in index:
            index[field] = i
            headers[field] = text[:MAX_VALUE_SHOWN]
    missing = [f for f in Field if f not in index]
    if missing:
        seen = ", ".join(repr(str(c).strip()[:40]) for c in header if c is not None and str(c).strip())[:400]
        wanted = ", ".join(f"{f.value} (e.g. {EXPECTED_HEADERS[f]!r})" for f in missing)
        raise InvalidInput("file", f"the header row has no column for {wanted}; columns found: {seen or 'none'}")
    return Columns(index, headers)


# -- cells ------------------------------------------------------------------------------------------
_FAST_AMOUNT = re.compile(r"(\d{1,15})(?:[.,](\d{1,2}))?")
_SIMPLE_AMOUNT = re.compile(r"\+?(\d{1,15})(?:\.(\d{0,2}))?")
_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009\t\r\n'’")
_UNITS = re.compile(r"euros|eur|€", re.IGNORECASE)
"""The unit after an amount, in any case: "euros" before "eur" (which would leave "os" behind)."""


def parse_amount(value: Any) -> int:
    """Euros → whole cents (half up). Accepts spreadsheet numbers and French or English text."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _Bad(Reason.AMOUNT_MISSING, "the amount is missing")
    if isinstance(value, bool):
        raise _Bad(Reason.AMOUNT_NOT_A_NUMBER, f"{value!r} is not an amount")
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _Bad(Reason.AMOUNT_NOT_A_NUMBER, f"{value!r} is not an amount")
        number = Decimal(repr(value))
    else:
        text = str(value).translate(_SPACES)
        fast = _FAST_AMOUNT.fullmatch(text)
        if fast is not None:  # the common case ("1234,56", "1 234.5", "12"), in integers
            cents = int(fast.group(1)) * 100 + int((fast.group(2) or "").ljust(2, "0"))
            if cents > MAX_AMOUNT_CENTS:
                raise _Bad(Reason.AMOUNT_ABSURD, f"the amount {_shown(value)} is over {MAX_AMOUNT_CENTS // 100:,} "
                                                 f"euros")
            return cents
        text = _UNITS.sub("", text)
        if text.startswith("(") and text.endswith(")"):  # accounting notation of a negative amount
            text = "-" + text[1:-1]
        if "," in text and "." in text:  # the last one is the decimal separator
            if text.rfind(",") > text.rfind("."):
                text = text.replace(".", "").replace(",", ".")
            else:
                text = text.replace(",", "")
        elif "," in text:
            if text.count(",") > 1:
                raise _Bad(Reason.AMOUNT_NOT_A_NUMBER, f"{_shown(value)!r} is not an amount in euros")
            text = text.replace(",", ".")
        elif text.count(".") > 1:  # 1.234.567: dots as thousands separators
            text = text.replace(".", "")
        simple = _SIMPLE_AMOUNT.fullmatch(text)
        if simple is not None:  # the common case, in integers: whole euros and at most 2 decimals
            cents = int(simple.group(1)) * 100 + int((simple.group(2) or "").ljust(2, "0"))
            if cents > MAX_AMOUNT_CENTS:
                raise _Bad(Reason.AMOUNT_ABSURD, f"the amount {_shown(value)} is over {MAX_AMOUNT_CENTS // 100:,} "
                                                 f"euros")
            return cents
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):
            raise _Bad(Reason.AMOUNT_NOT_A_NUMBER, f"{_shown(value)!r} is not an amount in euros")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise _Bad(Reason.AMOUNT_NOT_A_NUMBER, f"{_shown(value)!r} is not an amount in euros") from None
    if number < 0:
        raise _Bad(Reason.AMOUNT_NEGATIVE, f"the amount {_shown(value)} is negative (credit notes are not "
                                           f"imported)")
    if number > Decimal(MAX_AMOUNT_CENTS) / 100:
        raise _Bad(Reason.AMOUNT_ABSURD, f"the amount {_shown(value)} is over {MAX_AMOUNT_CENTS // 100:,} euros")
    return int((number * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?")
_FRENCH = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?: [0-9:.]+)?")


def parse_date(value: Any) -> date:
    """``2024-03-15``, ``15/03/2024`` (``-`` or ``.`` too, a time after it ignored) or a spreadsheet
    date, in the years 1900–2200."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _Bad(Reason.DATE_MISSING, "the date is missing")
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        return _date_of_text(str(value).strip())
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise _Bad(Reason.DATE_OUT_OF_RANGE, f"{day.isoformat()} is outside the years {EARLIEST_YEAR}–{LATEST_YEAR}")
    return day


@lru_cache(maxsize=16_384)  # a file repeats its dates: each text is parsed once
def _date_of_text(text: str) -> date:
    m = _ISO.fullmatch(text)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        m = _FRENCH.fullmatch(text)
        if not m:
            raise _Bad(Reason.DATE_UNPARSABLE, f"{_shown(text)!r} is not a date (2024-03-15 or 15/03/2024)")
        d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not EARLIEST_YEAR <= y <= LATEST_YEAR:
        raise _Bad(Reason.DATE_OUT_OF_RANGE, f"{_shown(text)} is outside the years {EARLIEST_YEAR}–{LATEST_YEAR}")
    try:
        return date(y, mo, d)
    except ValueError:
        raise _Bad(Reason.DATE_UNPARSABLE, f"{_shown(text)!r} is not a date of the calendar") from None


def parse_siret(value: Any) -> str:
    """The supplier's SIRET, normalised. A spreadsheet number loses a SIRET's leading zeros: they
    are restored."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _Bad(Reason.SIRET_MISSING, "the supplier's SIRET is missing")
    if isinstance(value, bool):
        raise _Bad(Reason.SIRET_MALFORMED, f"{value!r} is not a SIRET")
    if isinstance(value, float) and value.is_integer() and 0 < value < 1e14:
        value = int(value)
    if isinstance(value, int):
        return _checked_siret(f"{value:014d}" if 0 < value < 10**14 else str(value))
    return _checked_siret(str(value))


@lru_cache(maxsize=65_536)  # a file names the same suppliers again and again: each is checked once
def _checked_siret(value: str) -> str:
    text = value if len(value) == 14 and value.isdigit() else normalize_siret(value)
    if len(text) != 14 or not text.isascii() or not text.isdigit():
        raise _Bad(Reason.SIRET_MALFORMED, f"{_shown(value)!r} is not a SIRET (14 digits)")
    if not is_valid_siret(text):
        raise _Bad(Reason.SIRET_CHECKSUM, f"SIRET {text} fails its checksum")
    return text


def parse_category(value: Any) -> str:
    return _category(value if isinstance(value, str) else ("" if value is None else str(value)))


@lru_cache(maxsize=16_384)
def _category(value: str) -> str:
    text = " ".join(value.split())
    if not text:
        raise _Bad(Reason.CATEGORY_MISSING, "the category is missing")
    if len(text) > MAX_CATEGORY_LENGTH:
        raise _Bad(Reason.CATEGORY_TOO_LONG, f"the category has {len(text)} characters (at most "
                                             f"{MAX_CATEGORY_LENGTH})")
    return text


def category_key(label: str) -> str:
    """What two spellings of one category share ("Nettoyage  des locaux", "nettoyage des locaux")."""
    return plain(label)


def _shown(value: Any) -> str:
    text = value.isoformat() if isinstance(value, (date, datetime)) else str(value)
    return text if len(text) <= MAX_VALUE_SHOWN else text[:MAX_VALUE_SHOWN - 1] + "…"


_PARSERS = ((Field.SIRET, parse_siret), (Field.AMOUNT, parse_amount), (Field.CATEGORY, parse_category),
            (Field.DATE, parse_date))


def parse_line(number: int, row: list[Any] | tuple[Any, ...], columns: Columns) -> SpendLine | list[Fault]:
    """A good line, or the faults of a bad one (every bad cell)."""
    values: dict[Field, Any] = {}
    faults: list[Fault] = []
    width = len(row)
    for field, parser in _PARSERS:
        i = columns.index[field]
        cell = row[i] if i < width else None
        try:
            values[field] = parser(cell)
        except _Bad as bad:
            faults.append(Fault(number, columns.headers[field], field, bad.reason, bad.message,
                                "" if cell is None else _shown(cell)))
    if faults:
        return faults
    return SpendLine(number, values[Field.SIRET], values[Field.AMOUNT], values[Field.CATEGORY], values[Field.DATE])


def is_blank(row: list[Any] | tuple[Any, ...]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in row)


def parse_lines(rows: list[tuple[int, list[Any]]], columns: Columns) -> tuple[list[SpendLine], list[list[Fault]]]:
    """The good lines and the faults of each bad line, of ``(line number, row)`` pairs (blank rows
    are the caller's to skip)."""
    good: list[SpendLine] = []
    bad: list[list[Fault]] = []
    for number, row in rows:
        result = parse_line(number, row, columns)
        if isinstance(result, SpendLine):
            good.append(result)
        else:
            bad.append(result)
    return good, bad
