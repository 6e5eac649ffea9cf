"""The Grouping aggregate: suppliers forming a group to answer one buyer's need together.

A lead supplier and at least one other supplier (its members), all active when they form, join
or submit; no supplier twice, the lead not also a member. Lifecycle: ``forming`` (members join
and leave) → ``submitted`` (the grouping answered the need: frozen) ; ``forming`` or
``submitted`` → ``dissolved``. The lead never changes (the grouping's events are keyed by it).

The need is an id (a string) stored as given: the needs area owns that collection and this area
does not check it (the needs area may check a grouping against its need when it reads one).

Suppliers are passed in as :class:`SupplierRef` (id and whether it is active): the service layer
loads them. Pure: time is passed in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pydantic import Field

from contracts.procurement.suppliers import (GroupingDissolved, GroupingFormed, GroupingMemberJoined,
                                             GroupingMemberLeft, GroupingStatus, GroupingSubmitted)
from runtime.aggregate import Aggregate
from runtime.errors import Conflict, InvalidInput
from runtime.rules import optional_text

MAX_MEMBERS = 50
_NEED_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")


@dataclass(frozen=True, slots=True)
class SupplierRef:
    """A supplier as a grouping needs to know it."""

    id: str
    active: bool


def _aware(at: datetime) -> datetime:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput("at", "the time of a change must be a timezone-aware datetime")
    return at


def need_id_of(value: object, field: str = "need_id") -> str:
    if not isinstance(value, str) or not _NEED_ID.match(value.strip()):
        raise InvalidInput(field, f"{field} must be a need's id (letters, digits, '.', '_', ':', '-'; at most "
                                  f"100 characters), not {value!r}")
    return value.strip()


def _usable(supplier: SupplierRef, field: str) -> None:
    if not supplier.active:
        raise Conflict(f"supplier {supplier.id} is archived: it cannot be part of a grouping",
                       field=field, supplier_id=supplier.id, current_state="archived")


class Grouping(Aggregate):
    """A grouping (``id`` "grp-…") of suppliers answering one need."""

    need_id: str
    lead_supplier_id: str
    member_supplier_ids: list[str]
    status: GroupingStatus = GroupingStatus.FORMING
    formed_at: datetime
    submitted_at: datetime | None = None
    dissolved_at: datetime | None = None
    dissolution_reason: str | None = Field(None, description="Why it was dissolved (free text; not in events).")

    @property
    def supplier_ids(self) -> list[str]:
        """The lead, then the members."""
        return [self.lead_supplier_id, *self.member_supplier_ids]

    # -- factory ------------------------------------------------------------------------------------
    @classmethod
    def form(cls, grouping_id: str, *, need_id: str, lead: SupplierRef, members: list[SupplierRef],
             at: datetime) -> Grouping:
        """A new grouping, forming → ``GroupingFormed``.

        :raises InvalidInput: a malformed need id; no member; a member given twice or also the
            lead (``members.<i>``); more than 50 members.
        :raises Conflict: the lead or a member is archived (the problem names it).
        """
        at = _aware(at)
        need = need_id_of(need_id)
        if not members:
            raise InvalidInput("members", "a grouping needs at least one member besides its lead")
        if len(members) > MAX_MEMBERS:
            raise InvalidInput("members", f"a grouping has at most {MAX_MEMBERS} members")
        seen = {lead.id}
        for i, member in enumerate(members):
            if member.id == lead.id:
                raise InvalidInput(f"members.{i}", f"{member.id} is the lead: it cannot also be a member")
            if member.id in seen:
                raise InvalidInput(f"members.{i}", f"{member.id} is given twice")
            seen.add(member.id)
        _usable(lead, "lead_supplier_id")
        for i, member in enumerate(members):
            _usable(member, f"members.{i}")
        grouping = cls(id=grouping_id, need_id=need, lead_supplier_id=lead.id,
                       member_supplier_ids=[m.id for m in members], formed_at=at)
        grouping.record(GroupingFormed(supplier_id=lead.id, grouping_id=grouping.id, need_id=need,
                                       member_supplier_ids=list(grouping.member_supplier_ids), formed_at=at))
        return grouping

    # -- commands -----------------------------------------------------------------------------------
    def join(self, member: SupplierRef, *, at: datetime) -> None:
        """A supplier joins → ``GroupingMemberJoined``.

        :raises Conflict: not forming; the supplier is archived, the lead, or a member already.
        """
        at = _aware(at)
        self._forming("take a new member")
        if member.id == self.lead_supplier_id:
            raise Conflict(f"{member.id} leads grouping {self.id}: it cannot also be a member",
                           field="supplier_id", supplier_id=member.id)
        if member.id in self.member_supplier_ids:
            raise Conflict(f"{member.id} is a member of grouping {self.id} already", field="supplier_id",
                           supplier_id=member.id)
        if len(self.member_supplier_ids) >= MAX_MEMBERS:
            raise Conflict(f"grouping {self.id} has {MAX_MEMBERS} members, the most it can have")
        _usable(member, "supplier_id")
        self.member_supplier_ids = [*self.member_supplier_ids, member.id]
        self.record(GroupingMemberJoined(supplier_id=self.lead_supplier_id, grouping_id=self.id,
                                         member_supplier_id=member.id, joined_at=self._after(at)))

    def leave(self, supplier_id: str, *, at: datetime) -> None:
        """A member leaves → ``GroupingMemberLeft``.

        :raises Conflict: not forming; the supplier is the lead (dissolve instead), not a
            member, or the last member (a grouping keeps at least one besides its lead).
        """
        at = _aware(at)
        self._forming("let a member leave")
        if supplier_id == self.lead_supplier_id:
            raise Conflict(f"{supplier_id} leads grouping {self.id}: dissolve the grouping instead",
                           supplier_id=supplier_id)
        if supplier_id not in self.member_supplier_ids:
            raise Conflict(f"{supplier_id} is not a member of grouping {self.id}", supplier_id=supplier_id)
        if len(self.member_supplier_ids) == 1:
            raise Conflict(f"{supplier_id} is the last member of grouping {self.id} besides its lead: dissolve "
                           f"the grouping instead", supplier_id=supplier_id)
        self.member_supplier_ids = [m for m in self.member_supplier_ids if m != supplier_id]
        self.record(GroupingMemberLeft(supplier_id=self.lead_supplier_id, grouping_id=self.id,
                                       member_supplier_id=supplier_id, left_at=self._after(at)))

    def submit(self, suppliers: dict[str, SupplierRef], *, at: datetime) -> None:
        """The grouping answers its need → ``GroupingSubmitted``. ``suppliers``: the lead and the
        members as they are now (all must still be active).

        :raises Conflict: not forming; a supplier of the grouping has been archived since.
        """
        at = _aware(at)
        self._forming("submit it")
        for supplier_id in self.supplier_ids:
            ref = suppliers.get(supplier_id) or SupplierRef(supplier_id, active=False)
            _usable(ref, "supplier_id")
        self.status = GroupingStatus.SUBMITTED
        self.submitted_at = self._after(at)
        self.record(GroupingSubmitted(supplier_id=self.lead_supplier_id, grouping_id=self.id, need_id=self.need_id,
                                      member_supplier_ids=list(self.member_supplier_ids),
                                      submitted_at=self.submitted_at))

    def dissolve(self, *, at: datetime, reason: str | None = None) -> None:
        """Give the grouping up (forming or submitted) → ``GroupingDissolved``.

        :raises Conflict: dissolved already.
        """
        at = _aware(at)
        if self.status is GroupingStatus.DISSOLVED:
            raise Conflict(f"grouping {self.id} is dissolved already", current_state=self.status.value)
        previous = self.status
        self.dissolution_reason = optional_text(reason, "reason", max_length=2000)
        self.status = GroupingStatus.DISSOLVED
        self.dissolved_at = self._after(at)
        self.record(GroupingDissolved(supplier_id=self.lead_supplier_id, grouping_id=self.id, need_id=self.need_id,
                                      previous_status=previous, dissolved_at=self.dissolved_at))

    # -- helpers ------------------------------------------------------------------------------------
    def _forming(self, action: str) -> None:
        if self.status is not GroupingStatus.FORMING:
            raise Conflict(f"grouping {self.id} is {self.status.value}: only a forming grouping can {action}",
                           current_state=self.status.value, expected_state=GroupingStatus.FORMING.value)

    def _after(self, at: datetime) -> datetime:
        """``at``, never before the grouping was formed (a clock that went back)."""
        return max(at, self.formed_at)
