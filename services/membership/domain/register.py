"""Migrating a chamber's register: organisations, members since a date, past invoices and
payments with their historical amounts — recorded with the same events as if they had happened
on the platform, each marked ``imported`` (pure: no I/O).

The file is CSV (``;`` or ``,``; UTF-8 with or without BOM, or Windows-1252) with a header and a
``kind`` column; the organisation is named by its ``siret`` on every line::

    kind;siret;name;legal_form;departement;commune;sector;headcount;annual_budget_cents;registered_on;member_since;year;amount_cents;issued_on;fee_bracket;paid_on;method;payment_id
    organisation;73282932000074;Les Ateliers;association;93;Montreuil;recyclage;12;45000000;2015-01-10;2015-02-01;;;;;;;
    invoice;73282932000074;;;;;;;;;;2015;12000;2015-02-01;B2;;;
    payment;73282932000074;;;;;;;;;;2015;12000;;;2015-03-01;cheque;CHQ-2015-17

- ``organisation``: registered (``organisation-registered``) unless its SIRET is known; with
  ``member_since``, made a member from that date (``member-activated``, no application invented,
  no invoice issued: the register's invoices are imported as they were).
- ``invoice``: the year's dues with their historical amount and bracket label (``dues-invoiced``);
  a year already invoiced is left as it is.
- ``payment``: as :meth:`Member.record_payment` records it (``dues-payment-recorded``, and
  ``membership-renewed`` when it settles a year after the first); the ``payment_id`` (else one
  derived from the line's content) makes a second import of the same line change nothing.

Lines apply in that order — organisations, then invoices and payments by their date — so that
each fact lands after those it follows. A bad line is reported (its line
number, the field, why) and the others go on.
"""
from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from contracts.membership import MemberActivated, MemberStatus
from runtime.aggregate import Aggregate
from runtime.errors import InvalidInput

from . import _rules
from .fee_scale import DuesTerms, FeeBracket
from .member import DuesInvoice, Member, MembershipPeriod, StatusChange
from .organisation import Organisation

KINDS = ("organisation", "invoice", "payment")
IMPORTED_APPLICATION = "imported"  # the application id of a member brought in by the import


class RegisterLine(BaseModel):
    """One line of the register file, as read (values are text; the import checks them)."""

    line: int = Field(ge=2, description="Its line number in the file (the header is line 1).")
    kind: str
    siret: str
    values: dict[str, str]

    def text(self, name: str) -> str | None:
        value = (self.values.get(name) or "").strip()
        return value or None

    def day(self, name: str, *, required: bool = True) -> date | None:
        value = self.text(name)
        if value is None:
            if required:
                raise InvalidInput(name, f"{name} is required on a {self.kind} line")
            return None
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise InvalidInput(name, f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None
        if not 1900 <= day.year <= 2200:
            raise InvalidInput(name, f"{name}: {value} is outside the years 1900–2200")
        return day

    def number(self, name: str, *, required: bool = True, default: int | None = None) -> int | None:
        value = self.text(name)
        if value is None:
            if required:
                raise InvalidInput(name, f"{name} is required on a {self.kind} line")
            return default
        try:
            number = int(value.replace(" ", ""))
        except ValueError:
            raise InvalidInput(name, f"{name}: {value!r} is not a whole number") from None
        if not 0 <= number <= 2**53:
            raise InvalidInput(name, f"{name}: {number} is out of range")
        return number


def read_register(content: bytes) -> tuple[list[RegisterLine], list[dict[str, Any]]]:
    """The lines of a register file, and the faults of those that cannot be read.

    :raises InvalidInput: (field ``file``) empty, not text, no ``kind`` and ``siret`` columns.
    """
    if not content.strip():
        raise InvalidInput("file", "the file is empty")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # cp1252 decodes almost anything: it leaves 0x81, 0x8D, 0x8F, 0x90 and 0x9D undefined
        raise InvalidInput("file", "the file is not UTF-8 or Windows-1252 text")
    header = text.splitlines()[0]
    separator = ";" if header.count(";") >= header.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=separator)
    columns = [(c or "").strip().lower() for c in reader.fieldnames or []]
    if "kind" not in columns or "siret" not in columns:
        raise InvalidInput("file", f"the header must name the columns kind and siret (found: {', '.join(columns)})")
    reader.fieldnames = columns
    lines, faults = [], []
    for row in reader:
        values = {k: (v or "") for k, v in row.items() if k}
        # the line the record starts on, as the user finds it in the file: the reader counts the
        # lines it read (empty ones, which give no row, included) up to the record's last
        number = reader.line_num - sum(v.count("\n") for v in (*values.values(), *row.get(None, ())))
        kind = values.get("kind", "").strip().lower()
        if not any(v.strip() for v in values.values()):
            continue
        if kind not in KINDS:
            faults.append({"line": number, "field": "kind", "message": f"kind {kind!r} is not one of {', '.join(KINDS)}"})
            continue
        try:
            siret = _rules.text(values.get("siret", ""), "siret")
        except InvalidInput as exc:
            faults.append({"line": number, "field": "siret", "message": exc.detail})
            continue
        lines.append(RegisterLine(line=number, kind=kind, siret=siret, values=values))
    return lines, faults


def ordered(lines: list[RegisterLine]) -> list[RegisterLine]:
    """Organisations first, then invoices and payments in date order (issue date, payment date;
    on one day the invoice before the payment, then file order) — as they happened."""
    def key(line: RegisterLine):
        if line.kind == "organisation":
            return (0, "", 0, line.line)
        field = "issued_on" if line.kind == "invoice" else "paid_on"
        return (1, line.text(field) or "", KINDS.index(line.kind), line.line)
    return sorted(lines, key=key)


def organisation_profile(line: RegisterLine) -> tuple[dict[str, Any], date]:
    """The profile :meth:`Organisation.register` takes, and the registration date."""
    agreed_on = line.day("esus_agreed_on", required=False)
    profile = dict(siret=line.siret, name=line.text("name") or "", legal_form=line.text("legal_form") or "",
                   departement=line.text("departement") or "", commune=line.text("commune") or "",
                   sector=line.text("sector") or "", headcount=line.number("headcount"),
                   annual_budget_cents=line.number("annual_budget_cents"),
                   esus_agreed=agreed_on is not None, esus_agreed_on=agreed_on)
    return profile, line.day("registered_on")


def mark_imported(aggregate: Aggregate, start: int = 0) -> None:
    """Mark the events ``aggregate`` recorded from position ``start`` as imported."""
    events = aggregate._events  # noqa: SLF001 — the same package's aggregates
    for i in range(start, len(events)):
        if "imported" in type(events[i]).model_fields:
            events[i] = events[i].model_copy(update={"imported": True})


def import_member(organisation: Organisation, *, since: date) -> Member:
    """A member since ``since`` (the register says so) → ``member-activated`` (imported), no
    application, no invoice."""
    if since < organisation.registered_on:
        raise InvalidInput("member_since", f"member_since {since} is before the organisation's registration "
                                           f"{organisation.registered_on}")
    member = Member(id=organisation.id, application_id=IMPORTED_APPLICATION, since=since,
                    status_history=[StatusChange(status=MemberStatus.ACTIVE, since=since)],
                    periods=[MembershipPeriod(number=1, application_id=IMPORTED_APPLICATION, start_on=since)])
    member.record(MemberActivated(
        organisation_id=member.id, application_id=IMPORTED_APPLICATION, legal_form=organisation.legal_form,
        departement=organisation.departement, sector=organisation.sector, esus_agreed=organisation.esus_agreed,
        since=since, year=since.year, dues_cents=0, imported=True))
    return member


def import_invoice(member: Member, line: RegisterLine, terms: DuesTerms) -> DuesInvoice | None:
    """The year's dues as the register has them → ``dues-invoiced`` (imported); None when the
    year is already invoiced (a second import)."""
    year = line.number("year")
    amount = line.number("amount_cents")
    issued_on = line.day("issued_on")
    if not member.since.year <= year <= issued_on.year + 1:
        raise InvalidInput("year", f"year {year} is outside {member.since.year}–{issued_on.year + 1} (the membership "
                                   f"started {member.since})")
    if member.live_invoice(year) is not None:
        return None
    _rules.not_before(issued_on, member.since, "issued_on", "the start of the membership")
    start = len(member.pending_events)
    label = _rules.text(line.text("fee_bracket") or "imported", "fee_bracket", max_length=50)
    invoice = member._issue(year, FeeBracket(label=label, dues_cents=amount), terms, issued_on, None)  # noqa: SLF001
    mark_imported(member, start)
    return invoice


def import_payment(member: Member, line: RegisterLine) -> bool:
    """A payment as the register has it → ``dues-payment-recorded`` (imported; and
    ``membership-renewed`` when it settles a later year); False when already imported."""
    year = line.number("year")
    amount = line.number("amount_cents")
    paid_on = line.day("paid_on")
    method = line.text("method") or "transfer"
    payment_id = line.text("payment_id") or f"import-{line.siret}-{year}-{paid_on.isoformat()}-{amount}"
    start = len(member.pending_events)
    member.record_payment(year, amount_cents=amount, payment_id=payment_id, on=paid_on, method=method)
    mark_imported(member, start)
    return len(member.pending_events) > start
