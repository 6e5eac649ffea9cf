"""Commissions and members' seminars: which member organisations take part, from when to when.

Attendance at a seminar's sessions is an event of the events service; here, only who belongs.
Membership of a commission is dated (``joined_on`` … ``left_on``, the last day), so the members
on any date follow from the record. An organisation may join again after leaving (a new period).
"""
from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from contracts.membership import CommissionCreated, CommissionKind, CommissionMemberJoined, CommissionMemberLeft
from runtime.aggregate import Aggregate
from runtime.errors import Conflict

from runtime import rules as _rules


class Participation(BaseModel):
    organisation_id: str
    joined_on: date
    left_on: date | None = None  # last day

    def on(self, day: date) -> bool:
        return self.joined_on <= day and (self.left_on is None or day <= self.left_on)


class Commission(Aggregate):
    kind: CommissionKind
    name: str
    created_on: date
    participations: list[Participation] = Field(default_factory=list)

    @classmethod
    def create(cls, commission_id: str, *, name: str, kind: CommissionKind | str, on: date) -> Commission:
        """→ ``CommissionCreated``. :raises InvalidInput: blank name, unknown kind."""
        name = _rules.text(name, "name", max_length=200)
        kind = _rules.enum_value(CommissionKind, kind, "kind")
        commission = cls(id=commission_id, kind=kind, name=name, created_on=on)
        commission.record(CommissionCreated(commission_id=commission_id, kind=kind, name=name, created_on=on))
        return commission

    def join(self, organisation_id: str, *, on: date) -> None:
        """A member organisation joins from ``on`` → ``CommissionMemberJoined``.

        :raises Conflict: it is already in (or its last period ended on or after ``on``).
        :raises InvalidInput: ``on`` before the commission was created.
        """
        organisation_id = _rules.identifier(organisation_id, "organisation_id")
        _rules.not_before(on, self.created_on, "on", "the creation of the commission")
        last = self._last(organisation_id)
        if last is not None and (last.left_on is None or last.left_on >= on):
            raise Conflict(f"{organisation_id} is already in {self.name} since {last.joined_on}"
                           + (f" (until {last.left_on})" if last.left_on else ""), current_state="member")
        self.participations = [*self.participations, Participation(organisation_id=organisation_id, joined_on=on)]
        self.record(CommissionMemberJoined(commission_id=self.id, organisation_id=organisation_id, joined_on=on))

    def leave(self, organisation_id: str, *, on: date) -> None:
        """A member organisation leaves, ``on`` being its last day → ``CommissionMemberLeft``.

        :raises Conflict: it is not in. :raises InvalidInput: ``on`` before it joined.
        """
        last = self._last(organisation_id)
        if last is None or last.left_on is not None:
            raise Conflict(f"{organisation_id} is not in {self.name}", current_state="not_member")
        _rules.not_before(on, last.joined_on, "on", f"the day {organisation_id} joined")
        last.left_on = on
        self.record(CommissionMemberLeft(commission_id=self.id, organisation_id=organisation_id, left_on=on))

    def members_on(self, day: date) -> list[Participation]:
        return sorted((p for p in self.participations if p.on(day)), key=lambda p: (p.joined_on, p.organisation_id))

    def _last(self, organisation_id: str) -> Participation | None:
        return next((p for p in reversed(self.participations) if p.organisation_id == organisation_id), None)
