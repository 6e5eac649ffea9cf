"""The activity report of a year as of a date, assembled once: the JSON API, the web page, the
CSV/XLSX/PDF exports and the benchmark all call :func:`build_report`.

Figures come from the ledger (the other services' events, by business date), recorded facts and
the strategic objectives' status, each as it stood on ``as_of``.
"""
from __future__ import annotations

from dataclasses import asdict
from datetime import date

from contracts.events.registrations import TEAM_LABELS, Team
from runtime.mongo import Database, from_document
from services.observatory.adapters.ledger import rows_until
from services.observatory.adapters.repository import FACTS, OBJECTIVES
from services.observatory.domain.activity import events_figures, procurement_figures
from services.observatory.domain.records import Fact, Objective
from services.observatory.domain.report import Figure, Source, membership_figures, year_end
from services.observatory.entrypoints.schemas import (FigureView, ObjectiveLine, ReportView, SourceView,
                                                      TeamReport)


def figure_view(figure: Figure) -> FigureView:
    src = asdict(figure.source)
    return FigureView(indicator=figure.indicator, label=figure.label, value=figure.value, unit=figure.unit,
                      recorded=figure.source.kind == "recorded",
                      source=SourceView(**{**src, "event_types": list(src["event_types"])}))


async def build_report(db: Database, year: int, as_of: date) -> ReportView:
    """The report of ``year`` as it stood on ``as_of`` (later answers and outcomes of the year's
    events count when they are dated on or before ``as_of``)."""
    end = year_end(year, as_of)
    rows = await rows_until(db, as_of)
    by_team: dict[Team, list[Figure]] = {team: [] for team in Team}
    by_team[Team.MEMBERSHIP] += membership_figures([r for r in rows if r.on <= end], year, as_of)
    for team, figures in events_figures(rows, year, as_of).items():
        by_team[team] += figures
    by_team[Team.BUSINESS_DEVELOPMENT] += procurement_figures(rows, year, as_of)

    async for doc in db[FACTS].find({"year": year, "recorded_on": {"$lte": as_of.isoformat()}}):
        fact = from_document(Fact, doc)
        version = fact.as_of(as_of)
        if version is None:
            continue
        by_team[fact.team].append(Figure(
            fact.indicator, fact.indicator, version.value, version.unit,
            Source("recorded", fact_id=fact.id, detail=version.source, recorded_on=fact.recorded_on)))

    lines: list[ObjectiveLine] = []
    async for doc in db[OBJECTIVES].find({"adopted_on": {"$lte": as_of.isoformat()}}):
        objective = from_document(Objective, doc)
        change = objective.status_on(as_of)
        lines.append(ObjectiveLine(objective_id=objective.id, code=objective.code, title=objective.title,
                                   team=objective.team, target_year=objective.target_year,
                                   status=change.status if change else None,
                                   status_label=change.status.label if change else None,
                                   status_since=change.on if change else None))
    lines.sort(key=lambda line: (_code_key(line.code), line.title))
    teams = [TeamReport(team=team, label=TEAM_LABELS[team], figures=[figure_view(f) for f in figures])
             for team, figures in by_team.items() if figures]
    return ReportView(year=year, as_of=as_of, teams=teams, objectives=lines)


def _code_key(code: str | None) -> tuple:
    if code is None:
        return (1,)
    parts = code.split(".")
    return (0, *((0, int(p)) if p.isdigit() else (1, p) for p in parts))
