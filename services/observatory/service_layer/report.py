"""The activity report of a year as of a date, assembled once: the JSON API, the web page, the
CSV/XLSX/PDF exports and the benchmark all call :func:`build_report`.

Figures come from the ledger (the other services' events, by business date), recorded facts and
the strategic objectives' status, each as it stood on ``as_of``.
"""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import asdict
from datetime import date
from typing import Any

from contracts.events.registrations import TEAM_LABELS, Team
from runtime.mongo import Database, from_document
from contracts.events import (ConventionParticipantJoined, ConventionParticipantLeft, EventCancelled, EventHeld,
                              MeetingHeld, MeetingNotHeld, MeetingOutcomeRecorded, ParticipantCheckedIn,
                              PlaceOfferAccepted, RegistrationApproved, RegistrationCancelled, RegistrationConfirmed,
                              SurveyAnswerSubmitted, SurveyAnswerUpdated)
from contracts.membership import ApplicationSubmitted, DuesInvoiced, DuesPaymentRecorded
from services.observatory.adapters.freshness import Refreshed
from services.observatory.adapters.ledger_memory import FRESH_FOR, MEMORY, Snapshot
from services.observatory.domain.ledger import PROCUREMENT_KEPT
from services.observatory.adapters.repository import FACTS, OBJECTIVES
from services.observatory.domain.activity import events_figures, procurement_figures
from services.observatory.domain.records import Fact, Objective
from services.observatory.domain.report import STATUS_EVENTS, Figure, Source, membership_figures, year_end
from services.observatory.entrypoints.schemas import (FigureView, ObjectiveLine, ReportView, SourceView,
                                                      TeamReport)


def figure_view(figure: Figure) -> FigureView:
    src = asdict(figure.source)
    return FigureView(indicator=figure.indicator, label=figure.label, value=figure.value, unit=figure.unit,
                      recorded=figure.source.kind == "recorded",
                      source=SourceView(**{**src, "event_types": list(src["event_types"])}))


class ReportCache:
    """The figures computed from the ledger, per (database, year, as of, the ledger's mark and
    generation): any appended row or rebuild changes the key. Concurrent misses of one key compute
    once; the oldest entries go first."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.entries: OrderedDict[Hashable, Any] = OrderedDict()
        self.pending: dict[Hashable, asyncio.Future] = {}

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> Any:
        if key in self.entries:
            self.entries.move_to_end(key)
            return self.entries[key]
        if key in self.pending:
            return await asyncio.shield(self.pending[key])
        future = asyncio.get_running_loop().create_future()
        self.pending[key] = future
        try:
            value = await compute()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        finally:
            self.pending.pop(key, None)
        future.set_result(value)
        self.entries[key] = value
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)
        return value


CACHE = ReportCache()
_REGISTRATIONS = [e.event_type for e in (RegistrationConfirmed, RegistrationApproved, PlaceOfferAccepted,
                                         RegistrationCancelled, ParticipantCheckedIn, SurveyAnswerSubmitted,
                                         SurveyAnswerUpdated)]
_CONVENTIONS = [e.event_type for e in (ConventionParticipantJoined, ConventionParticipantLeft, MeetingHeld,
                                       MeetingNotHeld, MeetingOutcomeRecorded)]


def ledger_figures(ledger: Snapshot, year: int, as_of: date) -> dict[Team, list[Figure]]:
    """The figures the ledger gives, from the rows they need (the figures' functions filter as
    before; each selection below keeps every row they would keep):

    - membership: status events up to the year's end (the history), dues of the year, applications
      of the year;
    - events: the events held in the year (and cancellations), then only the registrations, check-ins,
      answers and convention rows of those events (by ``data.event_id`` / ``subject``);
    - procurement: its rows up to ``as_of`` (buyers, conventions, interventions need their history).
    """
    end = year_end(year, as_of)
    first = date(year, 1, 1)
    membership_rows = [
        *ledger.select([e.event_type for e in STATUS_EVENTS], end),
        *ledger.select([DuesInvoiced.event_type, DuesPaymentRecorded.event_type], end,
                       lambda r: r.data.get("year") == year),
        *ledger.select([ApplicationSubmitted.event_type], end, since=first),
    ]
    held = ledger.select([EventHeld.event_type], end, since=first)
    cancelled = ledger.select([EventCancelled.event_type], end)
    ids = {r.subject for r in held}
    event_rows = [*held, *cancelled]
    if ids:
        event_rows += ledger.select(_REGISTRATIONS, as_of, lambda r: r.data.get("event_id") in ids)
        event_rows += ledger.select(_CONVENTIONS, as_of, lambda r: r.subject in ids)
    procurement_rows = ledger.select([e.event_type for e in PROCUREMENT_KEPT], as_of)

    by_team: dict[Team, list[Figure]] = {team: [] for team in Team}
    by_team[Team.MEMBERSHIP] += membership_figures(membership_rows, year, as_of)
    for team, figures in events_figures(event_rows, year, as_of).items():
        by_team[team] += figures
    by_team[Team.BUSINESS_DEVELOPMENT] += procurement_figures(procurement_rows, year, as_of)
    return by_team


Records = tuple[int, list[Fact], list[Objective]]  # a stamp, rising whenever what was read differs


async def _read_records(db: Database, previous: Records | None) -> Records:
    """The facts and objectives of ``db`` (they are few), with a new stamp when they changed."""
    facts = [from_document(Fact, doc) async for doc in db[FACTS].find({})]
    objectives = [from_document(Objective, doc) async for doc in db[OBJECTIVES].find({})]
    if previous is not None and (_versions(facts), _versions(objectives)) == (_versions(previous[1]),
                                                                              _versions(previous[2])):
        return previous
    return (previous[0] + 1 if previous else 0), facts, objectives  # a new key: new reports


def _versions(aggregates: list[Any]) -> list[tuple[str, int]]:
    return sorted((a.id, a.version) for a in aggregates)


#: The facts and objectives as this process last read them: again at most every FRESH_FOR seconds, and
#: at once after this process changed one (``RECORDS.forget(db)``).
RECORDS: Refreshed[Records] = Refreshed(_read_records, FRESH_FOR)
REPORTS = ReportCache()  # the whole report, and its JSON


async def report_json(db: Database, year: int, as_of: date) -> tuple[ReportView, bytes]:
    """The report of ``year`` as it stood on ``as_of`` and its JSON, computed once per state of the
    ledger and of the recorded facts and objectives (the API serves the bytes as they are)."""
    ledger = await MEMORY.fresh(db)
    stamp, facts, objectives = await RECORDS.fresh(db)
    key = (db.db.name, year, as_of, ledger.version, ledger.generation, stamp)

    async def compute() -> tuple[ReportView, bytes]:
        computed = await CACHE.get(key[:5], figures)
        report = assemble(year, as_of, computed, facts, objectives)
        return report, report.model_dump_json().encode()

    async def figures() -> dict[Team, list[Figure]]:
        return ledger_figures(ledger, year, as_of)

    return await REPORTS.get(key, compute)


async def build_report(db: Database, year: int, as_of: date) -> ReportView:
    """The report of ``year`` as it stood on ``as_of`` (later answers and outcomes of the year's
    events count when they are dated on or before ``as_of``)."""
    return (await report_json(db, year, as_of))[0]


def assemble(year: int, as_of: date, computed: dict[Team, list[Figure]], facts: list[Fact],
             objectives: list[Objective]) -> ReportView:
    """The report from the ledger's figures, the recorded facts and the objectives, as of ``as_of``."""
    by_team: dict[Team, list[Figure]] = {team: list(figures) for team, figures in computed.items()}
    for fact in facts:
        version = fact.as_of(as_of) if fact.year == year and fact.recorded_on <= as_of else None
        if version is None:
            continue
        by_team[fact.team].append(Figure(
            fact.indicator, fact.indicator, version.value, version.unit,
            Source("recorded", fact_id=fact.id, detail=version.source, recorded_on=fact.recorded_on)))

    lines: list[ObjectiveLine] = []
    for objective in objectives:
        if objective.adopted_on > as_of:
            continue
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
