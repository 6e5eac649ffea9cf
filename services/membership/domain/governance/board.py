"""The board (conseil d'administration, CA): its seats per college and the mandates the general
assembly gives. One board per chamber (``id`` = :data:`BOARD_ID`).

A mandate runs from the assembly's date for ``statutes.board.mandate_years`` (its ``end_on``
is the day before the anniversary), unless it ends early (:meth:`Board.end_mandate`: a
resignation, the end of the membership…). Who sits on the board on any date
(:meth:`Board.sitting_on`) follows from these dates alone.

With ``renewal_by_thirds``, a college electing into an empty board gets staggered terms: its
elected, by rank, are split in three groups as even as possible (the larger first) serving the
full term, two thirds of it and one third (whole years, at least one), so that about a third of
its seats comes up at each later election.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from pydantic import BaseModel, Field

from contracts.membership import BoardElected, ElectedSeat, MandateEndReason, MandateEnded, MandateStarted
from runtime.aggregate import Aggregate
from runtime.errors import Conflict, InvalidInput, NotFound

from .. import _rules
from .assembly import Assembly, CandidateResult
from .statutes import Statutes

BOARD_ID = "board"


class Mandate(BaseModel):
    mandate_id: str
    organisation_id: str
    college: str
    assembly_id: str
    start_on: date
    end_on: date  # last day of the term
    ended_on: date | None = None  # last day, when it ended before its term
    end_reason: MandateEndReason | None = None

    @property
    def last_day(self) -> date:
        return self.ended_on or self.end_on

    def sits_on(self, on: date) -> bool:
        return self.start_on <= on <= self.last_day


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def staggered_years(n: int, mandate_years: int) -> list[int]:
    """Terms of ``n`` elected by rank under renewal by thirds: full, two thirds, one third."""
    base, extra = divmod(n, 3)
    sizes = [base + (1 if i < extra else 0) for i in range(3)]
    terms = [mandate_years, max(1, round(mandate_years * 2 / 3)), max(1, round(mandate_years / 3))]
    return [term for size, term in zip(sizes, terms) for _ in range(size)]


class Board(Aggregate):
    mandates: list[Mandate] = Field(default_factory=list)

    @classmethod
    def start(cls) -> Board:
        return cls(id=BOARD_ID)

    def sitting_on(self, on: date) -> list[Mandate]:
        """The mandates running on ``on``, by college then start."""
        return sorted((m for m in self.mandates if m.sits_on(on)), key=lambda m: (m.college, m.start_on, m.mandate_id))

    def seats_to_fill(self, statutes: Statutes, on: date) -> dict[str, int]:
        """Per college, its seats less the mandates running on ``on`` (colleges with none to fill left out)."""
        sitting = self.sitting_on(on)
        out = {}
        for college in statutes.colleges:
            vacant = college.board_seats - sum(1 for m in sitting if m.college == college.code)
            if vacant > 0:
                out[college.code] = vacant
        return out

    def elect(self, assembly: Assembly, results: list[CandidateResult], *, statutes: Statutes,
              new_id: Callable[[], str]) -> list[Mandate]:
        """Seat the elected of ``assembly`` from its session's date → ``BoardElected`` then one
        ``MandateStarted`` per seat."""
        start = assembly.meeting_on
        rules = statutes.board
        seats: list[ElectedSeat] = []
        started: list[Mandate] = []
        for college in dict.fromkeys(r.college for r in results):
            elected = [r for r in results if r.college == college and r.elected]
            sitting = sum(1 for m in self.sitting_on(start) if m.college == college)
            vacant = next((c.board_seats for c in statutes.colleges if c.code == college), 0) - sitting
            if len(elected) > vacant:
                raise Conflict(f"college {college} has {max(vacant, 0)} board seats vacant on {start}, not "
                               f"{len(elected)}: they were filled since the convocation", current_state="filled")
            first_board = sitting == 0
            years = (staggered_years(len(elected), rules.mandate_years) if rules.renewal_by_thirds and first_board
                     else [rules.mandate_years] * len(elected))
            for result, term in zip(elected, years):
                mandate = Mandate(mandate_id=new_id(), organisation_id=result.organisation_id, college=college,
                                  assembly_id=assembly.id, start_on=start,
                                  end_on=add_years(start, term) - timedelta(days=1))
                started.append(mandate)
                seats.append(ElectedSeat(mandate_id=mandate.mandate_id, organisation_id=mandate.organisation_id,
                                         college=college, votes_weight=result.votes_weight, end_on=mandate.end_on))
        vacant = {c: n - sum(1 for s in seats if s.college == c)
                  for c, n in assembly.election.seats_to_fill.items()}
        self.mandates = [*self.mandates, *started]
        self.record(BoardElected(board_id=self.id, assembly_id=assembly.id, elected_on=start, seats=seats,
                                 vacant_seats={c: n for c, n in vacant.items() if n > 0}))
        for m in started:
            self.record(MandateStarted(board_id=self.id, mandate_id=m.mandate_id, organisation_id=m.organisation_id,
                                       college=m.college, assembly_id=m.assembly_id, start_on=m.start_on,
                                       end_on=m.end_on))
        return started

    def expire_terms(self, *, on: date) -> list[Mandate]:
        """Record the end of every mandate whose term ended before ``on`` → one ``MandateEnded``
        (``term_expired``, dated its last day) each. Idempotent."""
        expired = [m for m in self.mandates if m.ended_on is None and m.end_reason is None and m.end_on < on]
        for m in expired:
            m.end_reason = MandateEndReason.TERM_EXPIRED
            self.record(MandateEnded(board_id=self.id, mandate_id=m.mandate_id, organisation_id=m.organisation_id,
                                     college=m.college, ended_on=m.end_on, reason=MandateEndReason.TERM_EXPIRED))
        return expired

    def membership_ended(self, organisation_id: str, *, last_day: date) -> list[Mandate]:
        """The organisation stopped being a member after ``last_day``: its mandates running then
        end that day (``membership_ended``) → one ``MandateEnded`` each. Mandates that had not
        started, or whose term ended before, are left as they are. Idempotent."""
        ended = []
        for m in self.mandates:
            if (m.organisation_id == organisation_id and m.end_reason is None
                    and m.start_on <= last_day <= m.end_on):
                ended.append(self.end_mandate(m.mandate_id, MandateEndReason.MEMBERSHIP_ENDED, on=last_day))
        return ended

    def end_mandate(self, mandate_id: str, reason: MandateEndReason | str, *, on: date) -> Mandate:
        """A mandate ends before its term, ``on`` being its last day → ``MandateEnded``.

        :raises NotFound: unknown mandate. :raises Conflict: already ended.
        :raises InvalidInput: ``on`` outside the mandate; unknown reason (or ``term_expired``).
        """
        reason = _rules.enum_value(MandateEndReason, reason, "reason")
        mandate = next((m for m in self.mandates if m.mandate_id == mandate_id), None)
        if mandate is None:
            raise NotFound(f"no board mandate {mandate_id!r}", mandate_id=mandate_id)
        if mandate.end_reason is not None:
            raise Conflict(f"mandate {mandate_id} already ended on {mandate.last_day} ({mandate.end_reason.value})",
                           current_state="ended")
        if reason is MandateEndReason.TERM_EXPIRED:
            raise InvalidInput("reason", "a term expires by itself on its end date; give the reason it ends early")
        _rules.not_before(on, mandate.start_on, "on", f"the start of mandate {mandate_id}")
        if on > mandate.end_on:
            raise InvalidInput("on", f"mandate {mandate_id} ends on {mandate.end_on} by its term")
        mandate.ended_on = on
        mandate.end_reason = reason
        self.record(MandateEnded(board_id=self.id, mandate_id=mandate.mandate_id,
                                 organisation_id=mandate.organisation_id, college=mandate.college, ended_on=on,
                                 reason=reason))
        return mandate
