"""Reading a CSV file of ESS structures for the directory — pure.

The file: a header row, then one structure per line; ``;`` or ``,`` separated; UTF-8 (with or
without BOM) or Windows-1252 (the encoding detected is said). Columns are found by their header
(French or English, accents and case ignored):

=====================  =====================================================================
column                 headers accepted
=====================  =====================================================================
name (required)        nom, raison sociale, denomination, name
siret                  siret
legal_family (req.)    famille, famille juridique, forme juridique, statut, legal family
sector                 secteur, secteurs, filiere, activite, sector (several: ``|`` between)
commune (required)     commune, code commune, code insee, insee, ville, commune code, city
departement            departement, dep, code departement, departement code
website                site, site web, site internet, url, website
source                 source
=====================  =====================================================================

Columns of **personal data** (a person's name, first name, e-mail, phone, address of a person:
``contact``, ``prenom``, ``email``, ``courriel``, ``telephone``, ``tel``, ``portable``,
``mobile``, ``phone``, ``representant``, ``dirigeant``…) are never read: they are listed in
``ignored`` with the reason; so are unknown columns. Structures are legal entities: their name,
SIRET, commune and website are not personal data.

A line is checked into a :class:`StructureRow` or a list of :class:`RowFault` (line number,
field, what is wrong, the value). The commune is an INSEE code, or a name resolved with the
département column (:func:`reference.geo.find`).
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field

from contracts.observatory.directory import LegalFamily
from reference import geo
from runtime.errors import InvalidInput
from runtime.siret import validate_siret
from services.observatory.domain.directory import legal_family_of_text, normalise_website

SEPARATORS = (";", ",")
MAX_CELL = 1_000
csv.field_size_limit(100_000)

COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("nom", "raison sociale", "denomination", "nom de la structure", "name", "structure"),
    "siret": ("siret", "numero siret", "n siret"),
    "legal_family": ("famille", "famille juridique", "forme juridique", "statut", "statut juridique",
                     "legal family", "legal_family", "legal form"),
    "sector": ("secteur", "secteurs", "filiere", "filieres", "activite", "sector", "sectors"),
    "commune": ("commune", "code commune", "code insee", "insee", "ville", "commune code", "city"),
    "departement": ("departement", "dep", "dept", "code departement", "departement code"),
    "website": ("site", "site web", "site internet", "url", "website", "web"),
    "source": ("source",),
}
PERSONAL = re.compile(r"\b(contact|prenom|first ?name|last ?name|nom du contact|nom du responsable|e ?mail|"
                      r"courriel|mail|telephone|tel|portable|mobile|phone|representant|dirigeant|responsable|"
                      r"president|adresse personnelle|date de naissance|birth)\b")
INSEE = re.compile(r"(?:\d{5}|2[AB]\d{3})")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _key(header: str) -> str:
    return geo.normalise(header.replace("_", " ").replace("°", " "))


@dataclass(frozen=True)
class RowFault:
    """Why a line is not imported."""

    line: int
    field: str
    message: str
    value: str | None = None


@dataclass(frozen=True)
class StructureRow:
    """A good line: a structure to import."""

    line: int
    key: str  # siret:<siret>, or src:<source>:<name>:<commune> when the line gives no SIRET
    siret: str | None
    name: str
    legal_family: LegalFamily
    sectors: tuple[str, ...]
    commune: str  # INSEE code
    departement: str
    website: str | None
    source: str


@dataclass
class CsvFile:
    """A file read: how it was decoded, which columns are read and which ignored, its data rows."""

    encoding: str
    separator: str
    columns: dict[str, int]  # field → column index
    ignored: list[tuple[str, str]]  # (header, why)
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # (line number, cells), blank lines out
    sha256: str = ""


def decode(content: bytes) -> tuple[str, str]:
    """The text and the encoding detected: ``utf-8-sig`` (UTF-8 with BOM), ``utf-8`` or ``cp1252``."""
    if content.startswith(b"\xef\xbb\xbf"):
        try:
            return content[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            raise InvalidInput("file", "the file starts with a UTF-8 BOM but is not UTF-8") from None
    if content.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in content[:4096]:
        raise InvalidInput("file", "the file is not text in UTF-8 or Windows-1252 (UTF-16 or binary content); "
                                   "save it as CSV UTF-8")
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        raise InvalidInput("file", "the file is neither UTF-8 nor Windows-1252 text") from None


def read_csv(content: bytes, *, max_lines: int) -> CsvFile:
    """Read the file's header and rows; :class:`InvalidInput` naming ``file`` when it cannot be
    imported at all (empty, not text, no header with the required columns, no data line, too many)."""
    if not content or not content.strip():
        raise InvalidInput("file", "the file is empty")
    text, encoding = decode(content)
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), "")
    separator = max(SEPARATORS, key=first.count)
    if first.count(separator) == 0:
        raise InvalidInput("file", "no header row separated by ';' or ',' (name;siret;legal family;sector;commune…)")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    try:
        records = list(reader)
    except csv.Error as exc:
        raise InvalidInput("file", f"the file is not valid CSV: {exc}") from None
    header_at = next((i for i, r in enumerate(records) if any(c.strip() for c in r)), None)
    if header_at is None:
        raise InvalidInput("file", "the file is empty")
    header = records[header_at]
    columns: dict[str, int] = {}
    ignored: list[tuple[str, str]] = []
    for index, title in enumerate(header):
        key = _key(title)
        found = next((f for f, names in COLUMNS.items() if key in names), None)
        if found and found not in columns:
            columns[found] = index
        elif PERSONAL.search(key):
            ignored.append((title.strip(), "personal data: never imported"))
        elif key:
            ignored.append((title.strip(), "duplicate column" if found else "unknown column"))
    missing = [f for f in ("name", "legal_family", "commune") if f not in columns]
    if missing:
        raise InvalidInput("file", f"the header row lacks the column(s): {', '.join(missing)} "
                                   f"(found: {', '.join(h.strip() for h in header)})")
    out = CsvFile(encoding=encoding, separator=separator, columns=columns, ignored=ignored,
                  sha256=hashlib.sha256(content).hexdigest())
    # line numbers as a spreadsheet shows them: the csv reader's record i starts at its own line
    line_of = _record_lines(text, separator)
    for i, record in enumerate(records[header_at + 1:], start=header_at + 1):
        if not any(c.strip() for c in record):
            continue
        out.rows.append((line_of[i] if i < len(line_of) else i + 1, record))
        if len(out.rows) > max_lines:
            raise InvalidInput("file", f"the file has more than {max_lines:,} data lines (the limit): split it")
    if not out.rows:
        raise InvalidInput("file", "the file has a header row but no data line")
    return out


def _record_lines(text: str, separator: str) -> list[int]:
    """The line number (1-based) each CSV record starts on (a quoted cell may span lines)."""
    starts: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    line = 1
    for _ in reader:
        starts.append(line)
        line = reader.line_num + 1
    return starts


def _cell(cells: list[str], columns: dict[str, int], name: str) -> str:
    index = columns.get(name)
    if index is None or index >= len(cells):
        return ""
    return cells[index].strip()


def check_row(line: int, cells: list[str], columns: dict[str, int], *, default_source: str
              ) -> StructureRow | list[RowFault]:
    """A good line as a :class:`StructureRow`, or every fault it has."""
    faults: list[RowFault] = []

    def fault(name: str, message: str, value: str | None) -> None:
        faults.append(RowFault(line, name, message, value if value is None else value[:200]))

    for name in columns:
        if len(_cell(cells, columns, name)) > MAX_CELL:
            fault(name, f"longer than {MAX_CELL} characters", _cell(cells, columns, name))
    if faults:
        return faults
    name = _cell(cells, columns, "name")
    if not name:
        fault("name", "the name is missing", name)
    elif len(name) > 200:
        fault("name", "the name is longer than 200 characters", name)
    elif EMAIL.search(name):
        fault("name", "an e-mail address is not a structure's name (personal data are not imported)", name)
    raw_siret = _cell(cells, columns, "siret")
    siret: str | None = None
    if raw_siret:
        try:
            siret = validate_siret(raw_siret)
        except InvalidInput as exc:
            fault("siret", exc.detail, raw_siret)
    raw_family = _cell(cells, columns, "legal_family")
    family = legal_family_of_text(raw_family)
    if family is None:
        allowed = "association, coopérative (SCOP, SCIC, CAE), mutuelle, fondation, entreprise commerciale de l'ESS"
        fault("legal_family", f"unknown legal family {raw_family!r}; expected one of: {allowed}"
              if raw_family else "the legal family is missing", raw_family)
    sectors = tuple(dict.fromkeys(s.strip() for s in _cell(cells, columns, "sector").split("|") if s.strip()))
    if any(len(s) > 100 for s in sectors):
        fault("sector", "a sector is longer than 100 characters", _cell(cells, columns, "sector"))
    commune, departement = resolve_commune(_cell(cells, columns, "commune"), _cell(cells, columns, "departement"),
                                           lambda f, m, v: fault(f, m, v))
    raw_site = _cell(cells, columns, "website")
    website = None
    if raw_site:
        try:
            website = normalise_website(raw_site)
        except InvalidInput as exc:
            fault("website", exc.detail, raw_site)
    source = _cell(cells, columns, "source") or default_source
    if len(source) > 100:
        fault("source", "the source is longer than 100 characters", source)
    if faults:
        return faults
    assert family is not None and commune is not None and departement is not None  # no fault: all found
    key = f"siret:{siret}" if siret else f"src:{geo.normalise(source)}:{geo.normalise(name)}:{commune}"
    return StructureRow(line=line, key=key, siret=siret, name=name, legal_family=family, sectors=sectors,
                        commune=commune, departement=departement, website=website, source=source)


def resolve_commune(value: str, departement: str, fault) -> tuple[str | None, str | None]:
    """(INSEE code, département) of a commune given as an INSEE code, or as a name with its
    département; ``fault(field, message, value)`` otherwise."""
    if not value:
        fault("commune", "the commune is missing", value)
        return None, None
    code = value.upper()
    if INSEE.fullmatch(code):
        found = geo.commune(code)
        if found is None:
            fault("commune", f"no commune has the INSEE code {value}", value)
            return None, None
        if departement and departement.zfill(2) != found.departement:
            fault("departement", f"commune {found.code} ({found.name}) is in département {found.departement}, "
                                 f"not {departement}", departement)
            return None, None
        return found.code, found.departement
    if not departement:
        fault("commune", f"commune {value!r} is a name: give its département too (or its INSEE code)", value)
        return None, None
    dep = departement.upper().zfill(2)
    if geo.departement(dep) is None:
        fault("departement", f"unknown département {departement!r}", departement)
        return None, None
    found = geo.find(value, dep)
    if found is None:
        fault("commune", f"no commune named {value!r} in département {dep}", value)
        return None, None
    return found.code, found.departement
