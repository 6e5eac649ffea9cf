"""Reading a spend file's bytes: CSV (``;``, ``,`` or tab separated; UTF-8, UTF-8 with BOM,
UTF-16 with BOM or Windows-1252) or a spreadsheet (XLSX, and XLS / ODS as python-calamine reads
them too), into its header's columns and its non-blank data rows with their line numbers.

The header row is the first row naming the four columns among the first
:data:`HEADER_SEARCH` non-blank rows (title rows above it are skipped). The whole file is read here, once, before the import is accepted: an empty file, a header
without data lines, binary garbage, a header without the four columns, or more lines than the
limit is refused at once (:class:`InvalidInput` naming ``file``) — the import job then only
checks and stores lines.
"""
from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from typing import Any

from runtime.errors import InvalidInput
from services.procurement.domain.spend import Columns, is_blank, map_columns

ZIP = b"PK\x03\x04"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # XLS (BIFF8)
SEPARATORS = (";", ",", "\t")
SAMPLE = 65_536
HEADER_SEARCH = 20  # non-blank rows in which the header row is looked for
csv.field_size_limit(1_000_000)


class TooManyLines(InvalidInput):
    """More data lines than the limit (a 422 naming ``file`` and the limit)."""

    def __init__(self, limit: int) -> None:
        super().__init__("file", f"the file has more than {limit:,} data lines (the limit); split it and import "
                                 f"the parts one after the other")
        self.limit = limit


@dataclass(frozen=True)
class SpendFile:
    """A spend file read: its format, how it was decoded, its columns and data rows."""

    format: str  # "csv", "xlsx", "xls", "ods"
    encoding: str | None  # CSV only
    separator: str | None  # CSV only
    sheet: str | None  # spreadsheets only
    columns: Columns
    rows: list[tuple[int, list[Any]]]  # (line number, cells), blank rows left out
    sha256: str
    size: int


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def read_spend_file(content: bytes, *, max_lines: int) -> SpendFile:
    """Read ``content``; :class:`InvalidInput` (``file``) says why it cannot be imported."""
    if not content or not content.strip():
        raise InvalidInput("file", "the file is empty")
    digest = sha256_of(content)
    if content.startswith(ZIP) or content.startswith(OLE):
        return _spreadsheet(content, digest, max_lines)
    text, encoding = _decode(content)
    return _csv(text, encoding, digest, len(content), max_lines)


# -- CSV --------------------------------------------------------------------------------------------
def _decode(content: bytes) -> tuple[str, str]:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise InvalidInput("file", "the file starts like UTF-16 text but is not") from None
    if b"\x00" in content[:SAMPLE]:
        raise InvalidInput("file", "this is not a CSV or spreadsheet file (binary content)")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        sample = text[:SAMPLE]
        controls = sum(1 for ch in sample if ch < " " and ch not in "\t\r\n")
        if controls > len(sample) // 200:
            raise InvalidInput("file", "this is not a CSV or spreadsheet file (binary content)")
        return text, "utf-8" if encoding == "utf-8-sig" else encoding
    raise InvalidInput("file", "the file is neither UTF-8 nor Windows-1252 text, nor a spreadsheet")


def _separator(text: str) -> str:
    """The separator found most often on one line among the first non-blank lines (ties: ``;``,
    the French default)."""
    lines = [line for line in text[:SAMPLE].splitlines() if line.strip()][:HEADER_SEARCH]
    counts = {sep: max((line.count(sep) for line in lines), default=0) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] else ";"


class _Header:
    """Looks for the header row among the first non-blank rows."""

    def __init__(self) -> None:
        self.columns: Columns | None = None
        self.first_error: InvalidInput | None = None
        self.tried = 0

    def consider(self, record: list[Any]) -> None:
        try:
            self.columns = map_columns(record)
        except InvalidInput as exc:
            self.first_error = self.first_error or exc
            self.tried += 1
            if self.tried >= HEADER_SEARCH:
                raise self.first_error from None

    def found(self, where: str) -> Columns:
        if self.columns is None:
            raise self.first_error or InvalidInput("file", f"{where} is empty")
        return self.columns


def _csv(text: str, encoding: str, digest: str, size: int, max_lines: int) -> SpendFile:
    separator = _separator(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    header = _Header()
    rows: list[tuple[int, list[Any]]] = []
    previous = 0
    try:
        for record in reader:
            number, previous = previous + 1, reader.line_num
            if is_blank(record):
                continue
            if header.columns is None:
                header.consider(record)
                continue
            rows.append((number, record))
            if len(rows) > max_lines:
                raise TooManyLines(max_lines)
    except csv.Error as exc:
        raise InvalidInput("file", f"line {previous + 1}: the CSV cannot be read ({exc})") from None
    columns = header.found("the file")
    if not rows:
        raise InvalidInput("file", "the file has a header row but no data line")
    return SpendFile("csv", encoding, separator, None, columns, rows, digest, size)


# -- spreadsheets -----------------------------------------------------------------------------------
def _spreadsheet(content: bytes, digest: str, max_lines: int) -> SpendFile:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
        names = workbook.sheet_names
    except Exception:  # noqa: BLE001 — calamine raises its own errors and some of Rust's
        raise InvalidInput("file", "this is not a readable spreadsheet (XLSX, XLS or ODS) nor a CSV file") from None
    kind = "xls" if content.startswith(OLE) else ("ods" if b"opendocument.spreadsheet" in content[:200] else "xlsx")
    first_error: InvalidInput | None = None
    for index, name in enumerate(names):
        try:
            cells = workbook.get_sheet_by_index(index).to_python(skip_empty_area=False)
        except Exception:  # noqa: BLE001
            raise InvalidInput("file", f"the sheet {name!r} cannot be read") from None
        try:
            return _sheet(cells, kind, name, digest, len(content), max_lines)
        except TooManyLines:
            raise
        except InvalidInput as exc:
            first_error = first_error or exc
    raise first_error or InvalidInput("file", "the spreadsheet has no sheet")


def _sheet(cells: list[list[Any]], kind: str, name: str, digest: str, size: int, max_lines: int) -> SpendFile:
    header = _Header()
    rows: list[tuple[int, list[Any]]] = []
    for i, record in enumerate(cells):
        if is_blank(record):
            continue
        if header.columns is None:
            header.consider(record)
            continue
        rows.append((i + 1, record))
        if len(rows) > max_lines:
            raise TooManyLines(max_lines)
    columns = header.found(f"the sheet {name!r}")
    if not rows:
        raise InvalidInput("file", f"the sheet {name!r} has a header row but no data line")
    return SpendFile(kind, None, None, name, columns, rows, digest, size)
