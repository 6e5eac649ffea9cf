"""What staff record in the observatory: facts (figures of activity outside the platform) and the
strategic plan's objectives with their status — pure.

A :class:`Fact` is dated by the server (``recorded_on``): a report as of ``D`` shows the version
in force on ``D`` (recorded, then each correction from its date) and leaves out a fact recorded
after ``D`` or withdrawn on or before ``D``. An :class:`Objective`'s status changes carry the date
they hold from (``on``: not in the future, not before the previous change); a report as of ``D``
shows the status in force on ``D``.
"""
from __future__ import annotations

import math
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict

from contracts.events.registrations import Team
from contracts.observatory import (FACT_VALUE_BOUND, FactCorrected, FactRecorded, FactWithdrawn, ObjectiveDefined,
                                   ObjectiveStatus, ObjectiveStatusChanged)
from runtime.aggregate import Aggregate
from runtime.errors import Conflict, InvalidInput
from runtime.rules import enum_value, optional_text, text

PARIS = ZoneInfo("Europe/Paris")
INDICATOR = re.compile(r"[a-z][a-z0-9_]{1,63}")
EARLIEST_YEAR, LATEST_YEAR = 1900, 2199


def local_day(at: datetime) -> date:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput("at", f"at must be a timezone-aware date and time (got {at!r})")
    return at.astimezone(PARIS).date()


def figure(value: object, field: str = "value") -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(field, f"{field} must be a number (got {value!r})")
    if not math.isfinite(value) or abs(value) > FACT_VALUE_BOUND:
        raise InvalidInput(field, f"{field} must be a finite number within ±{FACT_VALUE_BOUND} (got {value!r})")
    return int(value) if float(value).is_integer() else float(value)


def year_of(value: object, field: str = "year") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not EARLIEST_YEAR <= value <= LATEST_YEAR:
        raise InvalidInput(field, f"{field} must be a year from {EARLIEST_YEAR} to {LATEST_YEAR} (got {value!r})")
    return value


class FactVersion(BaseModel):
    """One entry of a fact's history: what it said from ``on``."""

    model_config = ConfigDict(frozen=True)

    action: str  # recorded, corrected, withdrawn
    on: date
    at: AwareDatetime
    value: float | int | None = None
    unit: str | None = None
    source: str | None = None
    reason: str | None = None


class Fact(Aggregate):
    """A figure of activity outside the platform, with its source, corrected or withdrawn with history."""

    team: Team
    indicator: str
    year: int
    observed_on: date | None = None
    value: float | int
    unit: str
    source: str
    recorded_on: date
    withdrawn_on: date | None = None
    history: list[FactVersion] = []

    @classmethod
    def create(cls, fact_id: str, *, team: object, indicator: object, value: object, unit: object,
               source: object, year: object = None, observed_on: object = None, at: datetime) -> Fact:
        today = local_day(at)
        team = enum_value(Team, team, "team")
        code = text(indicator, "indicator", max_length=64)
        if not INDICATOR.fullmatch(code):
            raise InvalidInput("indicator", "indicator must be a short code: lower-case letters, digits and _, "
                                            f"starting with a letter (got {indicator!r})")
        if observed_on is not None:
            if isinstance(observed_on, datetime) or not isinstance(observed_on, date):
                raise InvalidInput("observed_on", f"observed_on must be a date (got {observed_on!r})")
            year_of(observed_on.year, "observed_on")
            if observed_on > today:
                raise InvalidInput("observed_on", f"observed_on {observed_on} is in the future")
            if year is not None and year != observed_on.year:
                raise InvalidInput("year", f"year {year!r} is not the year of observed_on ({observed_on})")
            year = observed_on.year
        if year is None:
            raise InvalidInput("year", "year (or observed_on) is required: the period the figure refers to")
        year = year_of(year)
        if year > today.year:
            raise InvalidInput("year", f"year {year} is in the future: record figures once they are known")
        fact = cls(id=fact_id, team=team, indicator=code, year=year, observed_on=observed_on,
                   value=figure(value), unit=text(unit, "unit", max_length=40),
                   source=text(source, "source", max_length=500), recorded_on=today)
        fact.history = [FactVersion(action="recorded", on=today, at=at, value=fact.value, unit=fact.unit,
                                    source=fact.source)]
        fact.record(FactRecorded(fact_id=fact.id, team=team, indicator=code, year=year, observed_on=observed_on,
                                 value=fact.value, unit=fact.unit, source=fact.source, recorded_on=today))
        return fact

    def _live(self) -> None:
        if self.withdrawn_on is not None:
            raise Conflict(f"fact {self.id} was withdrawn on {self.withdrawn_on}: record a new fact instead",
                           current_state="withdrawn")

    def correct(self, *, at: datetime, reason: object, value: object = None, unit: object = None,
                source: object = None) -> None:
        self._live()
        today = local_day(at)
        why = text(reason, "reason", max_length=2000)
        new_value = self.value if value is None else figure(value)
        new_unit = self.unit if unit is None else text(unit, "unit", max_length=40)
        new_source = self.source if source is None else text(source, "source", max_length=500)
        if (new_value, new_unit, new_source) == (self.value, self.unit, self.source):
            raise InvalidInput("value", "a correction changes the value, the unit or the source")
        previous = self.value
        self.value, self.unit, self.source = new_value, new_unit, new_source
        self.history = [*self.history, FactVersion(action="corrected", on=today, at=at, value=new_value,
                                                   unit=new_unit, source=new_source, reason=why)]
        self.record(FactCorrected(fact_id=self.id, previous_value=previous, value=new_value, unit=new_unit,
                                  source=new_source, corrected_on=today))

    def withdraw(self, *, at: datetime, reason: object) -> None:
        self._live()
        today = local_day(at)
        why = text(reason, "reason", max_length=2000)
        self.withdrawn_on = today
        self.history = [*self.history, FactVersion(action="withdrawn", on=today, at=at, reason=why)]
        self.record(FactWithdrawn(fact_id=self.id, withdrawn_on=today))

    def as_of(self, day: date) -> FactVersion | None:
        """The version in force at the end of ``day``; None before it was recorded or once withdrawn."""
        in_force = [v for v in self.history if v.on <= day]
        if not in_force or in_force[-1].action == "withdrawn":
            return None
        return in_force[-1]


class StatusChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: ObjectiveStatus
    on: date
    at: AwareDatetime
    comment: str | None = None

    @property
    def label(self) -> str:
        return self.status.label


class Objective(Aggregate):
    """An objective of the strategic plan, with the history of its status."""

    code: str | None = None
    title: str
    team: Team
    target_year: int
    adopted_on: date
    status: ObjectiveStatus
    history: list[StatusChange] = []

    @classmethod
    def define(cls, objective_id: str, *, title: object, team: object, target_year: object, at: datetime,
               code: object = None, status: object = ObjectiveStatus.EN_COURS, adopted_on: object = None,
               comment: object = None) -> Objective:
        today = local_day(at)
        adopted = cls._day(adopted_on, "adopted_on", today) if adopted_on is not None else today
        first = enum_value(ObjectiveStatus, status, "status")
        objective = cls(id=objective_id, code=optional_text(code, "code", max_length=20),
                        title=text(title, "title", max_length=300), team=enum_value(Team, team, "team"),
                        target_year=year_of(target_year, "target_year"), adopted_on=adopted, status=first)
        objective.history = [StatusChange(status=first, on=adopted, at=at,
                                          comment=optional_text(comment, "comment", max_length=4000))]
        objective.record(ObjectiveDefined(objective_id=objective.id, code=objective.code, title=objective.title,
                                          team=objective.team, target_year=objective.target_year, status=first,
                                          adopted_on=adopted))
        return objective

    @staticmethod
    def _day(value: object, field: str, today: date) -> date:
        if isinstance(value, datetime) or not isinstance(value, date):
            raise InvalidInput(field, f"{field} must be a date (got {value!r})")
        if value > today:
            raise InvalidInput(field, f"{field} {value} is in the future (today is {today})")
        year_of(value.year, field)
        return value

    def change_status(self, *, status: object, at: datetime, on: object = None, comment: object = None) -> None:
        today = local_day(at)
        new = enum_value(ObjectiveStatus, status, "status")
        day = self._day(on, "on", today) if on is not None else today
        last = self.history[-1]
        if day < last.on:
            raise InvalidInput("on", f"on {day} is before the last status change ({last.on}): the history is "
                                     "kept in order")
        if new == self.status:
            raise Conflict(f"objective {self.id} is already {new.value} ({new.label}) since {last.on}",
                           current_state=new.value)
        # checked before anything changes: a refused comment leaves the objective as it was
        note = optional_text(comment, "comment", max_length=4000)
        previous = self.status
        self.status = new
        self.history = [*self.history, StatusChange(status=new, on=day, at=at, comment=note)]
        self.record(ObjectiveStatusChanged(objective_id=self.id, previous_status=previous, status=new,
                                           changed_on=day))

    def status_on(self, day: date) -> StatusChange | None:
        """The status in force at the end of ``day``; None before the objective was adopted."""
        in_force = [c for c in self.history if c.on <= day]
        return in_force[-1] if in_force else None
