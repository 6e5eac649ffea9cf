"""Printable agendas of a business convention: plain HTML with print CSS, one page per person.

Venue Wi-Fi fails, so organisers print: the pages need nothing from the network (no script, no
web font, no stylesheet or image to fetch: the response's Content-Security-Policy forbids it),
every time is in the event's time zone (Europe/Paris unless the event says otherwise), and each
person's page breaks onto a new sheet. The labels are in French, as the participants read them.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from fastapi.responses import HTMLResponse

from contracts.events.conventions import ParticipantRole

ROLE_LABELS = {
    ParticipantRole.ESS_SUPPLIER: "Structure de l'ESS",
    ParticipantRole.PUBLIC_BUYER: "Acheteur public",
    ParticipantRole.PRIVATE_BUYER: "Acheteur privé",
}
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

STYLE = """
@page { size: A4 portrait; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { margin: 0; font-family: Arial, "Helvetica Neue", Helvetica, sans-serif; font-size: 11pt; color: #000;
       background: #fff; }
.agenda { page-break-after: always; break-after: page; padding: 0; }
.agenda:last-child { page-break-after: auto; break-after: auto; }
header { border-bottom: 2px solid #000; margin-bottom: 8mm; padding-bottom: 3mm; }
h1 { font-size: 16pt; margin: 0 0 1mm; }
h2 { font-size: 14pt; margin: 4mm 0 1mm; }
.meta, .who { margin: 0; }
.who { font-size: 12pt; }
table { width: 100%; border-collapse: collapse; }
th, td { border: 1px solid #000; padding: 2.5mm 2mm; text-align: left; vertical-align: top; }
th { background: #e6e6e6; }
tr { page-break-inside: avoid; break-inside: avoid; }
td.time { white-space: nowrap; width: 22mm; font-weight: bold; }
td.table { text-align: center; width: 16mm; font-size: 14pt; font-weight: bold; }
td.check { width: 14mm; }
tr.break td { background: #f3f3f3; font-style: italic; }
.none { font-style: italic; }
footer { margin-top: 6mm; font-size: 9pt; color: #333; }
@media screen { body { background: #ddd; } .agenda { background: #fff; max-width: 186mm; margin: 6mm auto;
                padding: 10mm; box-shadow: 0 0 2mm #999; } }
@media print { th { -webkit-print-color-adjust: exact; print-color-adjust: exact; } }
"""


@dataclass(frozen=True)
class Row:
    start_at: datetime
    end_at: datetime
    table: int
    counterpart_organisation: str
    counterpart_name: str | None
    counterpart_role: ParticipantRole | None


@dataclass(frozen=True)
class Person:
    participant_id: str
    name: str | None
    organisation: str
    role: ParticipantRole
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Header:
    title: str
    place: str | None
    time_zone: str
    version: int | None  # None: a preview of the current plan
    published_at: datetime | None
    breaks: tuple[tuple[datetime, datetime], ...] = ()


def _hm(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


_DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"]


def _day(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local.year}"


def _page(person: Person, head: Header) -> str:
    zone = ZoneInfo(head.time_zone)
    role = ROLE_LABELS.get(person.role, person.role.value)
    who = escape(person.organisation) + (f" — {escape(person.name)}" if person.name else "")
    lines: list[tuple[datetime, str]] = []
    for r in person.rows:
        cp_role = ROLE_LABELS.get(r.counterpart_role, "") if r.counterpart_role else ""
        cp_name = f"<br>{escape(r.counterpart_name)}" if r.counterpart_name else ""
        lines.append((r.start_at, (
            f'<tr><td class="time">{_hm(r.start_at, zone)}–{_hm(r.end_at, zone)}</td>'
            f'<td class="table">{r.table}</td>'
            f"<td><strong>{escape(r.counterpart_organisation)}</strong>{cp_name}</td>"
            f"<td>{escape(cp_role)}</td><td class=\"check\">&#9744;</td></tr>")))
    if person.rows:
        first, last = person.rows[0].start_at, person.rows[-1].end_at
        for start, end in head.breaks:
            if first < end and start < last:
                lines.append((start, f'<tr class="break"><td class="time">{_hm(start, zone)}–{_hm(end, zone)}</td>'
                                     '<td colspan="4">Pause</td></tr>'))
    lines.sort(key=lambda x: x[0])
    body = ("<table><thead><tr><th>Heure</th><th>Table</th><th>Rendez-vous avec</th><th>Profil</th>"
            "<th>Fait</th></tr></thead><tbody>" + "".join(html for _, html in lines) + "</tbody></table>"
            if person.rows else '<p class="none">Aucun rendez-vous planifié.</p>')
    day = _day(person.rows[0].start_at, zone) if person.rows else ""
    version = (f"Version {head.version} publiée le {head.published_at.astimezone(zone):%d/%m/%Y à %H:%M}"
               if head.version is not None and head.published_at is not None else "Aperçu (non publié)")
    return (
        f'<section class="agenda" id="p-{escape(person.participant_id)}">'
        f"<header><h1>{escape(head.title)}</h1>"
        f'<p class="meta">{escape(day)}{" — " + escape(head.place) if head.place else ""}</p>'
        f'<h2>Mes rendez-vous d\'affaires</h2><p class="who">{who} <em>({escape(role)})</em></p></header>'
        f"{body}"
        f"<footer>{escape(version)} · heures de {escape(head.time_zone)} · présentez votre badge à la table "
        f"à chaque rendez-vous.</footer></section>")


def render(head: Header, people: Iterable[Person]) -> str:
    pages = "".join(_page(p, head) for p in people) or '<p class="none">Aucun participant.</p>'
    return ('<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="robots" content="noindex">'
            f"<title>{escape(head.title)} — rendez-vous d'affaires</title>"
            f"<style>{STYLE}</style></head><body>{pages}</body></html>")


def page_response(head: Header, people: Iterable[Person], filename: str) -> HTMLResponse:
    return HTMLResponse(render(head, people), headers={
        "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "no-store"})
