"""Colleges of members and voting rights on a date: the roll of a general assembly.

Everything here is computed from dated facts (the member's status history, its invoices and
their payments with their dates, the dated college assignments), never from today's state:
the roll of 2051-05-20 asked in 2051 or in 2055 is the same list, whatever happened since.

A member has voting rights on ``on`` iff
- it is in good standing on ``on`` (:meth:`Member.in_good_standing`: active or in its grace
  period then, and no dues unpaid past their grace end on that day), and
- when the statutes say so (``dues_paid_required``), the dues of ``on``'s year, invoiced by
  ``on``, were paid in full by ``on``.

Members whose membership had not started on ``on`` are not on the roll at all; the others are
listed with their college, their weight, and — when they have no voting rights — why.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from contracts.membership import CollegeAssigned, LegalForm, MemberStatus, VotingRightsWithheld
from runtime.aggregate import Aggregate
from runtime.errors import Conflict, InvalidInput

from ..member import Member
from .statutes import College, Statutes


class CollegeChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    college: str | None  # None: the college of the legal form
    since: date


class CollegeAssignment(Aggregate):
    """Staff's explicit college of a member organisation (``id`` = organisation id), dated:
    the college in force on a date is the last assignment with ``since <= on``; without one,
    the college of the organisation's legal form."""

    changes: list[CollegeChange] = Field(default_factory=list)

    @classmethod
    def start(cls, organisation_id: str) -> CollegeAssignment:
        return cls(id=organisation_id)

    def assign(self, college: str | None, *, statutes: Statutes, on: date) -> None:
        """From ``on``, the organisation belongs to ``college`` (``None``: back to its legal
        form's college) → ``CollegeAssigned``.

        :raises InvalidInput: unknown college.
        :raises Conflict: ``on`` before the last assignment (history is only appended to).
        """
        if college is not None:
            college = statutes.college(college).code
        if self.changes and on < self.changes[-1].since:
            last = self.changes[-1]
            raise Conflict(f"the college of {self.id} was last assigned on {last.since}; an assignment cannot "
                           f"be dated before it ({on})", current_state=last.college or "legal_form")
        self.changes = [*self.changes, CollegeChange(college=college, since=on)]
        self.record(CollegeAssigned(organisation_id=self.id, college=college, since_on=on))

    def college_on(self, on: date) -> str | None:
        """The explicit college in force on ``on`` (``None``: the legal form's)."""
        current = None
        for change in self.changes:
            if change.since <= on:
                current = change.college
        return current


class RollEntry(BaseModel):
    """One member on an assembly's roll."""

    model_config = ConfigDict(frozen=True)

    organisation_id: str = Field(examples=["org-5f1c2a9b3d7e"])
    member_id: str = Field(description="The membership (period) assessed.", examples=["org-5f1c2a9b3d7e"])
    college: str = Field(examples=["associations"])
    weight: int = Field(ge=1, description="What its vote counts (its college's weight).", examples=[1])
    voting_rights: bool = Field(examples=[True])
    reason: VotingRightsWithheld | None = Field(None, description="Why it has no voting rights.",
                                                examples=["dues_unpaid"])
    detail: str | None = Field(None, description="The rule and the dates, in words.",
                               examples=["the 2051 dues were not paid in full by 2051-05-20 (statutes: "
                                         "dues_paid_required)"])


def college_of(legal_form: LegalForm, assignment: CollegeAssignment | None, statutes: Statutes, on: date) -> College:
    """A member's college on ``on``: the explicit assignment in force, else its legal form's."""
    explicit = assignment.college_on(on) if assignment is not None else None
    if explicit is not None:
        try:
            return statutes.college(explicit)
        except InvalidInput:  # a college the statutes no longer have: the legal form decides
            pass
    return statutes.college_for(legal_form)


def voting_rights(member: Member, statutes: Statutes, on: date) -> tuple[VotingRightsWithheld | None, str | None]:
    """``(None, None)`` when ``member`` has voting rights on ``on``; else the reason and the rule in words."""
    status = member.status_on(on)
    if status is MemberStatus.WITHDRAWN:
        return VotingRightsWithheld.WITHDRAWN, f"the membership was withdrawn on {on}"
    if status is MemberStatus.LAPSED:
        return VotingRightsWithheld.LAPSED, f"the membership had lapsed on {on}"
    if not member.in_good_standing(on):
        return (VotingRightsWithheld.NOT_IN_GOOD_STANDING,
                f"dues were unpaid past their grace period on {on} (not in good standing)")
    if statutes.dues_paid_required:
        invoices = [inv for inv in member.invoices if inv.year == on.year and inv.issued_on <= on]
        if not any(inv.paid_cents_on(on) >= inv.amount_cents for inv in invoices):
            return (VotingRightsWithheld.DUES_UNPAID,
                    f"the {on.year} dues were not paid in full by {on} (statutes: dues_paid_required)")
    return None, None


def _period_on(periods: list[Member], on: date) -> Member | None:
    """Of one organisation's memberships, the one that had started by ``on`` most recently."""
    started = [m for m in periods if m.since <= on]
    return max(started, key=lambda m: m.since) if started else None


def roll_on(members: Iterable[Member], legal_forms: Mapping[str, LegalForm],
            assignments: Mapping[str, CollegeAssignment], statutes: Statutes, on: date) -> list[RollEntry]:
    """The roll on ``on``: every organisation whose membership had started by then, once, with
    its college, weight and voting rights; ordered by organisation id. ``legal_forms`` gives
    each organisation's legal form (an organisation missing from it is left out)."""
    by_org: dict[str, list[Member]] = {}
    for member in members:
        by_org.setdefault(member.organisation_id, []).append(member)
    roll = []
    for org_id in sorted(by_org):
        member = _period_on(by_org[org_id], on)
        if member is None or org_id not in legal_forms:
            continue
        college = college_of(legal_forms[org_id], assignments.get(org_id), statutes, on)
        reason, detail = voting_rights(member, statutes, on)
        roll.append(RollEntry(organisation_id=org_id, member_id=member.id, college=college.code,
                              weight=college.vote_weight, voting_rights=reason is None, reason=reason,
                              detail=detail))
    return roll
