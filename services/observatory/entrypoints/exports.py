"""The activity report as people read it outside the page: CSV (Excel FR: ``;``, UTF-8 with BOM,
decimal comma), XLSX (a « Rapport » sheet with the pôle column, an « Objectifs » sheet) and PDF (A4,
French, printed by WeasyPrint from an HTML template with the charts as inline SVG rendered by
vl-convert from the very specs the page draws).

Money figures (unit ``centimes``) are shown in euros; every line says where it comes from.
"""
from __future__ import annotations

import csv
import html
import io
import re
from datetime import date
from typing import Any

from services.observatory.domain.charts import day_label, french_number
from services.observatory.entrypoints.schemas import FigureView, ReportView

CSV_HEADERS = ("pôle", "indicateur", "libellé", "valeur", "unité", "source", "enregistré")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX, "pdf": "application/pdf"}


def file_name(year: int, fmt: str, as_of: date) -> str:
    today_or_later = as_of >= date(year, 12, 31)
    return f"rapport-activite-{year}.{fmt}" if today_or_later else f"rapport-activite-{year}-au-{as_of}.{fmt}"


def shown(figure: FigureView) -> tuple[int | float | None, str]:
    """The value and unit people read: euros for cents."""
    if figure.unit == "centimes" and figure.value is not None:
        return round(figure.value / 100, 2), "€"
    return figure.value, figure.unit


def unit_for(value: int | float, unit: str) -> str:
    """French agreement: ``0 adhérent``, ``1 adhérent``, ``2 adhérents`` (the unit is a plural word)."""
    plural = unit.endswith("s") and not unit.endswith(("is", "ss")) and " " not in unit  # "devis" stays
    return unit[:-1] if abs(value) < 2 and plural else unit


def display(figure: FigureView) -> str:
    """``12 345,00 €``, ``72,9 %``, ``12 adhérents``, ``1 adhérent``."""
    value, unit = shown(figure)
    if value is None:
        return "—"
    if unit == "€":
        return f"{french_number(value, 0 if float(value).is_integer() else 2)}\u00a0€"
    if unit == "%":
        return f"{french_number(value, 1)}\u00a0%"
    return f"{french_number(value)}\u00a0{unit_for(value, unit)}"


def _event_type(name: str) -> str:
    return name.removeprefix("org.cress.").removesuffix(".v1")


def source_text(figure: FigureView) -> str:
    src = figure.source
    if src.kind == "recorded":
        when = f" le {src.recorded_on.strftime('%d/%m/%Y')}" if src.recorded_on else ""
        return f"Chiffre saisi{when} : {src.detail or 'source non précisée'}"
    types = ", ".join(_event_type(t) for t in src.event_types)
    return f"{french_number(src.events)} événement(s) de la plateforme lus ({types})" + \
        (f" — {src.detail}" if src.detail else "")


def rows(report: ReportView) -> list[tuple[str, str, str, int | float | None, str, str, str]]:
    return [(team.label, f.indicator, f.label, *shown(f), source_text(f), "oui" if f.recorded else "non")
            for team in report.teams for f in team.figures]


# -- CSV -------------------------------------------------------------------------------------------------
def _csv_value(value: int | float | None) -> str:
    if value is None:
        return ""
    return str(value).replace(".", ",")  # Excel FR reads a decimal comma


def report_csv(report: ReportView) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADERS)
    for team, indicator, label, value, unit, source, recorded in rows(report):
        writer.writerow((team, indicator, label, _csv_value(value), unit, source, recorded))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# -- XLSX ------------------------------------------------------------------------------------------------
def report_xlsx(report: ReportView) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    book = Workbook()
    sheet = book.active
    sheet.title = "Rapport"
    bold, fill = Font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor="1F5F8B")
    sheet.append([f"Rapport d'activité {report.year} — au {day_label(report.as_of)}"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([])
    sheet.append(list(CSV_HEADERS))
    for cell in sheet[3]:
        cell.font, cell.fill = bold, fill
    for line in rows(report):
        sheet.append(list(line))
        cell = sheet.cell(row=sheet.max_row, column=4)
        if line[4] == "€":
            cell.number_format = '#,##0.00 "€"'
        elif isinstance(line[3], float):
            cell.number_format = "0.0"
    for column, width in zip("ABCDEFG", (30, 34, 52, 14, 14, 90, 12)):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A4"
    sheet.auto_filter.ref = f"A3:G{max(sheet.max_row, 3)}"

    goals = book.create_sheet("Objectifs")
    goals.append(["code", "objectif", "pôle", "échéance", "statut", "depuis le"])
    for cell in goals[1]:
        cell.font, cell.fill = bold, fill
    labels = {team.team: team.label for team in report.teams}
    for line in report.objectives:
        goals.append([line.code or "", line.title, labels.get(line.team, line.team.label), line.target_year,
                      line.status_label or "", line.status_since])
        goals.cell(row=goals.max_row, column=6).number_format = "DD/MM/YYYY"
    for column, width in zip("ABCDEF", (10, 70, 30, 10, 30, 12)):
        goals.column_dimensions[column].width = width
    for row in goals.iter_rows(min_row=2):
        row[1].alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- PDF -------------------------------------------------------------------------------------------------
_SVG_HEAD = re.compile(r"<\?xml[^>]*\?>\s*")
PRINT_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm;
        @bottom-right { content: "page " counter(page) " / " counter(pages); font-size: 8pt; color: #666; }
        @bottom-left { content: "CRESS Île-de-France — Observatoire régional de l'ESS"; font-size: 8pt;
                       color: #666; } }
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; font-size: 9.5pt; color: #222; }
h1 { font-size: 20pt; color: #1f5f8b; margin: 0 0 2mm 0; }
h2 { font-size: 13pt; color: #1f5f8b; border-bottom: 1.5pt solid #1f5f8b; padding-bottom: 1mm; margin-top: 7mm;
     break-after: avoid; }
.as-of { color: #555; margin: 0 0 5mm 0; }
table { width: 100%; border-collapse: collapse; margin-bottom: 3mm; }
th, td { text-align: left; padding: 1.2mm 1.5mm; border-bottom: 0.5pt solid #ddd; vertical-align: top; }
th { background: #eef3f7; font-weight: 600; }
td.value { text-align: right; white-space: nowrap; font-weight: 600; }
td.source { color: #666; font-size: 7.5pt; width: 45%; }
tr { break-inside: avoid; }
.recorded { color: #8a5a00; font-size: 7.5pt; }
figure { margin: 3mm 0 5mm 0; break-inside: avoid; text-align: center; }
figure svg { max-width: 100%; height: auto; }
.maps figure { margin: 2mm 0 6mm 0; }
"""


def chart_svg(spec: dict[str, Any]) -> str:
    """One chart as inline SVG (vl-convert: Vega and Vega-Lite run in an embedded Deno, no browser)."""
    import vl_convert

    return _SVG_HEAD.sub("", vl_convert.vegalite_to_svg(spec))


def report_print_html(report: ReportView, charts: list[dict[str, Any]]) -> str:
    e = html.escape
    svgs = {c["name"]: chart_svg(c["spec"]) for c in charts}
    parts = [f"<!doctype html><html lang='fr'><head><meta charset='utf-8'><title>Rapport d'activité {report.year}"
             f"</title><style>{PRINT_CSS}</style></head><body>",
             f"<h1>Rapport d'activité {report.year}</h1>",
             f"<p class='as-of'>CRESS Île-de-France — chiffres calculés à partir des événements de la plateforme, "
             f"au {e(day_label(report.as_of))}.</p>"]
    for team in report.teams:
        parts.append(f"<h2>{e(team.label)}</h2><table><thead><tr><th>Indicateur</th><th>Valeur</th>"
                     "<th>Source</th></tr></thead><tbody>")
        for f in team.figures:
            mark = " <span class='recorded'>(chiffre saisi)</span>" if f.recorded else ""
            parts.append(f"<tr><td>{e(f.label)}{mark}</td><td class='value'>{e(display(f))}</td>"
                         f"<td class='source'>{e(source_text(f))}</td></tr>")
        parts.append("</tbody></table>")
    if report.objectives:
        parts.append("<h2>Objectifs du plan stratégique</h2><table><thead><tr><th>Code</th><th>Objectif</th>"
                     "<th>Échéance</th><th>Statut</th></tr></thead><tbody>")
        for line in report.objectives:
            since = f" (depuis le {line.status_since.strftime('%d/%m/%Y')})" if line.status_since else ""
            parts.append(f"<tr><td>{e(line.code or '')}</td><td>{e(line.title)}</td><td>{line.target_year}</td>"
                         f"<td>{e(line.status_label or '—')}{e(since)}</td></tr>")
        parts.append("</tbody></table>")
    parts.append("<h2>Graphiques</h2>")
    for name in ("members_over_time", "dues", "events_by_kind", "business_conventions"):
        if name in svgs:
            parts.append(f"<figure>{svgs[name]}</figure>")
    parts.append("<h2>Carte de la région</h2><div class='maps'>")
    for name in ("map_structures", "map_members"):
        if name in svgs:
            parts.append(f"<figure>{svgs[name]}</figure>")
    parts.append("</div></body></html>")
    return "".join(parts)


def report_pdf(report: ReportView, charts: list[dict[str, Any]]) -> bytes:
    from weasyprint import HTML

    return HTML(string=report_print_html(report, charts)).write_pdf()

