"""The report's charts and maps for a year as of a date: gathers the series the pure
:mod:`services.observatory.domain.charts` draws from (the report, members at each month end, the
territories' counts, the region's boundaries)."""
from __future__ import annotations

from datetime import date
from typing import Any

from reference import shapes
from runtime.mongo import Database
from services.observatory.adapters.ledger_memory import MEMORY
from services.observatory.domain import charts
from services.observatory.domain.report import STATUS_EVENTS, members_on, year_end
from services.observatory.entrypoints.schemas import ReportView
from services.observatory.service_layer.report import build_report
from services.observatory.adapters.directory import territory_counts


async def members_by_month(db: Database, year: int, as_of: date) -> list[tuple[date, int]]:
    """Members in good standing at the previous year end and each month end of ``year`` (up to
    ``as_of``), from the ledger's status events dated up to then (as the report counts them)."""
    days = charts.month_ends(year, as_of)
    if not days:
        return []
    rows = (await MEMORY.fresh(db)).select([cls.event_type for cls in STATUS_EVENTS], days[-1])
    return [(day, len(members_on(rows, day)[0])) for day in days]


async def report_charts(db: Database, year: int, as_of: date, report: ReportView | None = None
                        ) -> tuple[ReportView, list[dict[str, Any]]]:
    """The report (built here unless given) and its charts, as Vega-Lite specs with their data."""
    report = report or await build_report(db, year, as_of)
    on = year_end(year, as_of)
    series = await members_by_month(db, year, as_of)
    departements = await territory_counts(db, on, "departement")
    communes = await territory_counts(db, on, "commune")
    return report, charts.report_charts(report.model_dump(mode="json"), series, shapes.region_shapes(charts.REGION),
                                        departements, communes)
