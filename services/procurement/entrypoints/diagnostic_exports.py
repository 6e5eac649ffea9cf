"""A diagnostic's report as a page with charts (HTML with inline SVG bars drawn here: no script,
no stylesheet or font from elsewhere; every value escaped) and as a spreadsheet (openpyxl: one
sheet per breakdown, amounts and shares as numbers), and an import's rejected lines as CSV."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from html import escape
from typing import Any

EUR = '#,##0.00 "€"'
PERCENT = "0.00%"


def euros(cents: int | None) -> str:
    if cents is None:
        return "—"
    whole, rest = divmod(int(cents), 100)
    return f"{whole:,}".replace(",", "\u202f") + f",{rest:02d}\u00a0€"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}".replace(".", ",") + "\u00a0%"


# -- the page ---------------------------------------------------------------------------------------
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:70rem;color:#1b1b1b;
padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:2px solid #0b6e4f;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.6rem 0}
th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;white-space:nowrap}.kpi{display:flex;gap:1rem;flex-wrap:wrap}
.kpi div{background:#f2f7f5;border-radius:.4rem;padding:.7rem 1rem;min-width:11rem}
.kpi b{display:block;font-size:1.3rem}.note{color:#555;font-size:.85rem}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}
@media print{body{margin:0}h2{break-after:avoid}}
"""
ESS_COLOUR, OTHER_COLOUR = "#0b6e4f", "#c9d6d1"


def _bars(rows: list[tuple[str, int, int]], *, label_width: int = 260, width: int = 900) -> str:
    """Horizontal bars, one per (label, ESS cents, total cents): the ESS part dark, the rest light."""
    if not rows:
        return "<p class='note'>Nothing to show.</p>"
    bar_h, gap = 22, 8
    biggest = max(total for _, _, total in rows) or 1
    area = width - label_width - 240  # room for the amount and share after the longest bar
    height = len(rows) * (bar_h + gap) + gap
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="100%" viewBox="0 0 {width} {height}" '
             f'font-size="13" font-family="system-ui,sans-serif">']
    for i, (label, ess, total) in enumerate(rows):
        y = gap + i * (bar_h + gap)
        full = max(1, round(area * total / biggest)) if total else 0
        dark = round(full * ess / total) if total else 0
        share = ess * 100 / total if total else 0.0
        shown = label if len(label) <= 38 else label[:37] + "…"
        parts.append(f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end">{escape(shown)}'
                     f'<title>{escape(label)}</title></text>')
        parts.append(f'<rect x="{label_width}" y="{y}" width="{full}" height="{bar_h}" fill="{OTHER_COLOUR}"/>')
        if dark:
            parts.append(f'<rect x="{label_width}" y="{y}" width="{dark}" height="{bar_h}" fill="{ESS_COLOUR}"/>')
        parts.append(f'<text x="{label_width + full + 6}" y="{y + 15}">{escape(euros(total))} · ESS '
                     f'{escape(percent(share))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: list[str], rows: Iterable[list[Any]], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th class='n'>{escape(h)}</th>" if i in numeric else f"<th>{escape(h)}</th>"
                   for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td class='n'>{escape(str(c))}</td>" if i in numeric
                                    else f"<td>{escape(str(c))}</td>" for i, c in enumerate(row)) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


RECOMMENDATION_LABELS = {"reserved_contract": "Reserve the whole contract", "reserved_lot": "Reserve a lot",
                         "social_clause": "Social clause", "social_award_criterion": "Social award criterion"}


def report_html(report: dict[str, Any], buyer_name: str | None) -> str:
    totals = report["totals"]
    title = f"Purchase diagnostic — {buyer_name or report['buyer_id']}"
    years = ", ".join(str(y) for y in totals["years"])
    kpis = [("Spend analysed", euros(totals["total_spend_cents"])),
            ("ESS spend", euros(totals["ess_spend_cents"])),
            ("ESS share", percent(totals["ess_share_percent"])),
            ("Suppliers", f"{totals['suppliers']} (ESS: {totals['ess_suppliers']})"),
            ("Inclusive spend (SIAE, EA, ESAT)", euros(totals["inclusive_spend_cents"])),
            ("Lines, categories", f"{totals['lines']:,} · {totals['categories']}".replace(",", "\u202f"))]
    by_year = [(str(r["year"]), r["ess_spend_cents"], r["total_spend_cents"]) for r in report["by_year"]]
    by_category = [(r["category"], r["ess_spend_cents"], r["total_spend_cents"]) for r in report["by_category"][:25]]
    html = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p class='note'>Diagnostic {escape(report['diagnostic_id'])} · buyer {escape(report['buyer_id'])}"
        f" · département {escape(str(report.get('buyer_departement') or '—'))} · years {escape(years)}"
        f" · computed {escape(str(report.get('computed_at', '')))} from {len(report['import_ids'])} import(s)</p>",
        "<div class='kpi'>" + "".join(f"<div>{escape(k)}<b>{escape(v)}</b></div>" for k, v in kpis) + "</div>",
        f"<p class='legend'><span style='background:{ESS_COLOUR}'></span>ESS spend"
        f"<span style='background:{OTHER_COLOUR}'></span>other spend</p>",
        "<h2>ESS share per year</h2>", _bars(by_year),
        _table(["Year", "Spend", "ESS spend", "ESS share", "Suppliers", "ESS suppliers"],
               ([r["year"], euros(r["total_spend_cents"]), euros(r["ess_spend_cents"]),
                 percent(r["ess_share_percent"]), r["suppliers"], r["ess_suppliers"]] for r in report["by_year"]),
               {1, 2, 3, 4, 5}),
        "<h2>ESS share per category</h2>", _bars(by_category),
        _table(["Category", "Sectors", "Spend", "ESS spend", "ESS share", "Suppliers", "ESS suppliers"],
               ([r["category"], ", ".join(r["sectors"]) or "—", euros(r["total_spend_cents"]),
                 euros(r["ess_spend_cents"]), percent(r["ess_share_percent"]), r["suppliers"], r["ess_suppliers"]]
                for r in report["by_category"]), {2, 3, 4, 5, 6}),
        "<h2>Top ESS suppliers</h2>",
        _table(["Organisation", "SIRET(s)", "Match", "Kinds", "Spend", "Share of ESS spend"],
               ([r["name"], ", ".join(r["sirets"]), r["match"], ", ".join(r["kinds"]) or "—", euros(r["spend_cents"]),
                 percent(r["share_of_ess_percent"])] for r in report["top_ess_suppliers"]), {4, 5}),
        "<h2>Categories with the most potential, and recommendations</h2>",
        _table(["Category", "Eligible suppliers", "Yearly spend", "Non-ESS spend", "Economic dependency",
                "Recommendation", "Article(s)", "Why"],
               ([r["category"], r["eligible_suppliers"], euros(r["yearly_spend_cents"]),
                 euros(r["non_ess_spend_cents"]), percent(r["economic_dependency_percent"]),
                 RECOMMENDATION_LABELS.get(r["recommendation"]["kind"], r["recommendation"]["kind"]),
                 ", ".join(r["recommendation"]["articles"]), r["recommendation"]["why"]] for r in report["potential"]),
               {1, 2, 3, 4}),
        "<h2>Notes</h2><ul>" + "".join(f"<li class='note'>{escape(n)}</li>" for n in report.get("notes", [])) + "</ul>",
        "</body></html>",
    ]
    return "".join(html)


# -- the spreadsheet ----------------------------------------------------------------------------------
def report_xlsx(report: dict[str, Any], buyer_name: str | None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    bold = Font(bold=True)

    def sheet(title: str, headers: list[str], rows: Iterable[list[Any]], formats: dict[int, str]) -> None:
        ws = wb.create_sheet(title)
        ws.append(headers)
        for cell in ws[1]:
            cell.font = bold
        for row in rows:
            ws.append([_xl(v) for v in row])
            for col, fmt in formats.items():
                ws.cell(row=ws.max_row, column=col + 1).number_format = fmt
        for i, header in enumerate(headers):
            ws.column_dimensions[ws.cell(row=1, column=i + 1).column_letter].width = max(12, min(60, len(header) + 4))
        ws.freeze_panes = "A2"

    totals = report["totals"]
    summary = wb.active
    summary.title = "Summary"
    for label, value, fmt in [
        ("Diagnostic", report["diagnostic_id"], None), ("Buyer", buyer_name or report["buyer_id"], None),
        ("Buyer id", report["buyer_id"], None), ("Département", report.get("buyer_departement") or "", None),
        ("Years", ", ".join(str(y) for y in totals["years"]), None),
        ("Spend analysed", totals["total_spend_cents"] / 100, EUR), ("ESS spend", totals["ess_spend_cents"] / 100, EUR),
        ("ESS share", totals["ess_share_percent"] / 100, PERCENT),
        ("ESS spend, same SIRET", totals["siret_matched_spend_cents"] / 100, EUR),
        ("ESS spend, same SIREN", totals["siren_matched_spend_cents"] / 100, EUR),
        ("Inclusive spend (SIAE, EA, ESAT)", totals["inclusive_spend_cents"] / 100, EUR),
        ("Lines", totals["lines"], None), ("Suppliers", totals["suppliers"], None),
        ("ESS suppliers", totals["ess_suppliers"], None), ("Categories", totals["categories"], None),
        ("Computed at", str(report.get("computed_at", "")), None)]:
        summary.append([label, _xl(value)])
        if fmt:
            summary.cell(row=summary.max_row, column=2).number_format = fmt
        summary.cell(row=summary.max_row, column=1).font = bold
    summary.column_dimensions["A"].width = 34
    summary.column_dimensions["B"].width = 30
    sheet("By year", ["Year", "Spend (€)", "ESS spend (€)", "ESS share", "Suppliers", "ESS suppliers"],
          ([r["year"], r["total_spend_cents"] / 100, r["ess_spend_cents"] / 100, r["ess_share_percent"] / 100,
            r["suppliers"], r["ess_suppliers"]] for r in report["by_year"]), {1: EUR, 2: EUR, 3: PERCENT})
    sheet("By category", ["Category", "Sectors", "Spend (€)", "ESS spend (€)", "ESS share", "Suppliers",
                          "ESS suppliers"],
          ([r["category"], ", ".join(r["sectors"]), r["total_spend_cents"] / 100, r["ess_spend_cents"] / 100,
            r["ess_share_percent"] / 100, r["suppliers"], r["ess_suppliers"]] for r in report["by_category"]),
          {2: EUR, 3: EUR, 4: PERCENT})
    sheet("Top ESS suppliers", ["Organisation", "Organisation id", "SIRET(s)", "Match", "Kinds", "Spend (€)",
                                "Share of ESS spend"],
          ([r["name"], r["organisation_id"], ", ".join(r["sirets"]), r["match"], ", ".join(r["kinds"]),
            r["spend_cents"] / 100, r["share_of_ess_percent"] / 100] for r in report["top_ess_suppliers"]),
          {5: EUR, 6: PERCENT})
    sheet("Potential", ["Category", "Sectors", "Eligible suppliers", "Average turnover (€)", "Spend (€)",
                        "Yearly spend (€)", "Non-ESS spend (€)", "Economic dependency", "Recommendation", "Article(s)",
                        "Why"],
          ([r["category"], ", ".join(r["sectors"]), r["eligible_suppliers"],
            None if r["average_turnover_cents"] is None else r["average_turnover_cents"] / 100,
            r["total_spend_cents"] / 100, r["yearly_spend_cents"] / 100, r["non_ess_spend_cents"] / 100,
            None if r["economic_dependency_percent"] is None else r["economic_dependency_percent"] / 100,
            RECOMMENDATION_LABELS.get(r["recommendation"]["kind"], r["recommendation"]["kind"]),
            ", ".join(r["recommendation"]["articles"]), r["recommendation"]["why"]] for r in report["potential"]),
          {3: EUR, 4: EUR, 5: EUR, 6: EUR, 7: PERCENT})
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _xl(value: Any) -> Any:
    """openpyxl writes a text starting with "=" as a formula: such a text is written as text."""
    if isinstance(value, str) and value.startswith("="):
        return "'" + value
    return value


def _cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is written as text (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# -- rejected lines --------------------------------------------------------------------------------------
REJECTION_COLUMNS = ["line", "column", "field", "reason", "message", "value"]


def rejections_csv_header() -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=";").writerow(REJECTION_COLUMNS)
    return "\ufeff" + out.getvalue()  # the BOM: a spreadsheet opens it as UTF-8


def rejections_csv_rows(faults: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    for fault in faults:
        writer.writerow([_cell(fault.get(c, "")) if c != "line" else fault["line"] for c in REJECTION_COLUMNS])
    return out.getvalue()
