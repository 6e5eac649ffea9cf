"""From a convention's state to the scheduler's inputs, and from its plan to each person's agenda.

Pure functions over the three aggregates (:class:`Convention`, :class:`ConventionParticipant`,
:class:`MeetingRequest`); the service layer loads them, calls the scheduler and records the
result (:meth:`Convention.record_schedule`).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict

from contracts.events.conventions import MeetingRequestStatus, ParticipantRole, ScheduleStatus
from runtime.errors import Conflict, InvalidInput

from . import _rules
from ..scheduling import (MAX_PRIORITY, AgendaEntry, LockedMeeting, Meeting, Participant, Quality, RequestStatus,
                          Role, Schedule, SchedulingOptions, SchedulingProblem, Slot, Status)
from ..scheduling import MeetingRequest as SchedulerRequest
from .convention import Convention, PlanQuality, PublishedMeeting
from .participant import Availability, ConventionParticipant
from .request import MeetingRequest

ROLES: dict[ParticipantRole, Role] = {
    ParticipantRole.ESS_SUPPLIER: Role.SUPPLIER,
    ParticipantRole.PUBLIC_BUYER: Role.BUYER,
    ParticipantRole.PRIVATE_BUYER: Role.BUYER,
}
FORCED_PRIORITY = MAX_PRIORITY  # a forced pair outweighs any requested one (priorities 1…5)

_STATUSES = {
    MeetingRequestStatus.ACCEPTED: RequestStatus.ACCEPTED,
    MeetingRequestStatus.PENDING: RequestStatus.PENDING,
    MeetingRequestStatus.DECLINED: RequestStatus.DECLINED,
}
_ANYTIME = Availability()
# rank of a request when one direction has several (only with concurrent sends): the strongest wins
_RANK = {"forced": 4, RequestStatus.ACCEPTED: 3, RequestStatus.PENDING: 2, RequestStatus.DECLINED: 1}


def scheduling_options(convention: Convention, **overrides) -> SchedulingOptions:
    """The scheduler's options from the convention's settings (pending requests scheduled or
    not), ``overrides`` on top (``time_limit``, ``num_workers``, ``move_penalty``…)."""
    return SchedulingOptions(**{"include_pending": convention.settings.schedule_pending, **overrides})


def to_problem(
    convention: Convention,
    participants: Iterable[ConventionParticipant],
    requests: Iterable[MeetingRequest],
    *,
    absent: Iterable[str] = (),
    at: datetime | None = None,
) -> SchedulingProblem:
    """The scheduling problem of a convention.

    - Slots and tables from the settings.
    - Participants: the active ones, with their role (ess_supplier → SUPPLIER, public and
      private buyers → BUYER), availability (their slots, within their arrival and departure;
      slot ids no longer in the settings are ignored), maximum (their own, else the
      convention's default), sectors as tags. A participant who left, or is in ``absent``, gets
      no meeting; it stays in the problem (available nowhere) only when the current plan has a
      meeting with it, so that :func:`replan` can release that meeting.
    - Requests between two such active participants: accepted → ACCEPTED, pending → PENDING
      (omitted when overdue at ``at``, if given), declined → DECLINED, expired and withdrawn →
      omitted. A forced request → ACCEPTED with the top priority, and the pair's DECLINED
      requests are omitted (the same for a locked pair: a lock overrides a decline too).
      Should one direction have several requests (concurrent sends), the strongest is kept.
    - Locked meetings whose participants are both active; a participant's availability and
      maximum give way to the organiser's locks.

    :raises InvalidInput: a participant or a request of another convention
        (``participants.3``, ``requests.12``), a participant twice.
    """
    settings = convention.settings
    slots = tuple(Slot(s.id, s.start_at, s.duration, s.tables) for s in settings.slots)
    absent = set(absent)
    in_plan = {p for m in convention.meetings for p in m.participants}
    by_id: dict[str, ConventionParticipant] = {}
    for i, p in enumerate(participants):
        if p.convention_id != convention.id:
            raise InvalidInput(f"participants.{i}", f"participant {p.id!r} belongs to convention {p.convention_id}")
        if p.id in by_id:
            raise InvalidInput(f"participants.{i}.id", f"participant {p.id!r} appears twice")
        by_id[p.id] = p
    active = {pid for pid, p in by_id.items() if p.is_active and pid not in absent}
    locked = [lp for lp in convention.locked if lp.a in active and lp.b in active]
    locked_slots: dict[str, set[str]] = {}
    for lp in locked:
        for pid in (lp.a, lp.b):
            locked_slots.setdefault(pid, set()).add(lp.slot_id)
    bounds = [(s.id, s.start_at, s.end_at) for s in settings.slots]
    every = {s.id for s in settings.slots}
    out_participants: list[Participant] = []
    for pid, p in by_id.items():
        if pid in active:
            av = p.availability
            own = (set(every) if av == _ANYTIME
                   else {sid for sid, start, end in bounds if av.admits(sid, start, end)})
            own |= locked_slots.get(pid, set())
            maximum = p.max_meetings if p.max_meetings is not None else settings.max_meetings_default
            if maximum is not None:
                maximum = max(maximum, len(locked_slots.get(pid, ())))
            available = None if len(own) == len(slots) else frozenset(own)
            out_participants.append(Participant(pid, ROLES[p.role], p.organisation_id or "", available, maximum,
                                                frozenset(p.profile.sectors)))
        elif pid in in_plan:
            out_participants.append(Participant(pid, ROLES[p.role], p.organisation_id or "", frozenset(), None))
    best: dict[tuple[str, str], tuple[tuple, SchedulerRequest]] = {}
    for i, r in enumerate(requests):
        if r.convention_id != convention.id:
            raise InvalidInput(f"requests.{i}", f"request {r.id!r} belongs to convention {r.convention_id}")
        if r.from_participant_id not in active or r.to_participant_id not in active:
            continue
        mapped = _map_request(r, at)
        if mapped is None:
            continue
        rank = (_RANK["forced" if r.forced else mapped.status], r.requested_at, r.id)
        key = (r.from_participant_id, r.to_participant_id)
        if key not in best or rank > best[key][0]:
            best[key] = (rank, mapped)
    overriding = {frozenset((lp.a, lp.b)) for lp in locked}
    overriding |= {frozenset(key) for key, (rank, _) in best.items() if rank[0] == _RANK["forced"]}
    out_requests = tuple(
        sr for key, (_, sr) in best.items()
        if not (sr.status is RequestStatus.DECLINED and frozenset(key) in overriding)
    )
    return SchedulingProblem(
        slots=slots,
        participants=tuple(out_participants),
        requests=out_requests,
        tables=settings.tables,
        locked=tuple(LockedMeeting(lp.a, lp.b, lp.slot_id, lp.table) for lp in locked),
    )


def _map_request(r: MeetingRequest, at: datetime | None) -> SchedulerRequest | None:
    if r.status is MeetingRequestStatus.WITHDRAWN:
        return None
    if r.forced:
        return SchedulerRequest(r.from_participant_id, r.to_participant_id, FORCED_PRIORITY, RequestStatus.ACCEPTED)
    status = _STATUSES.get(r.status)  # expired: omitted
    if status is None or (status is RequestStatus.PENDING and at is not None and r.is_due(at)):
        return None
    return SchedulerRequest(r.from_participant_id, r.to_participant_id, r.priority, status)


# -- re-planning on the day ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ReplanInputs:
    """What :func:`services.events.domain.scheduling.replan` needs besides the problem."""

    previous: Schedule  # the convention's current plan
    no_shows: tuple[str, ...]
    checked_in: tuple[str, ...] | None
    from_slot: str


def replan_inputs(
    convention: Convention,
    participants: Iterable[ConventionParticipant],
    *,
    at: datetime,
    check_in_closed: bool = False,
) -> ReplanInputs:
    """The inputs of a re-plan at ``at`` from the convention's state:

    - ``previous``: the current plan;
    - ``no_shows``: participants recorded as no-shows (and not arrived since), and those who left
      but still have a meeting in the plan;
    - ``checked_in``: once check-in is closed (``check_in_closed``), the participants who arrived
      (everyone else is then absent); before, None;
    - ``from_slot``: the first slot starting after ``at`` (earlier ones are history).

    Use with ``to_problem(convention, participants, requests, at=at)`` (no ``absent``) and
    ``start_schedule_run(run_id, mode="replan", from_slot=inputs.from_slot, at=at)``.

    :raises Conflict: no plan yet; no slot starts after ``at`` (nothing left to re-plan).
    """
    at = _rules.instant(at, "at")
    if convention.plan_run_id is None:
        raise Conflict(f"convention {convention.id} has no plan to re-plan", current_state="no plan",
                       expected_step="an initial run")
    first = convention.settings.first_slot_after(at)
    if first is None:
        raise Conflict(f"no slot of convention {convention.id} starts after {at.isoformat()}: nothing to re-plan",
                       current_state="over")
    in_plan = {p for m in convention.meetings for p in m.participants}
    parts = [p for p in participants if p.convention_id == convention.id]
    no_shows = sorted(p.id for p in parts
                      if (p.is_active and p.is_no_show) or (not p.is_active and p.id in in_plan))
    checked_in = (tuple(sorted(p.id for p in parts if p.is_active and p.arrived_at is not None))
                  if check_in_closed else None)
    return ReplanInputs(previous=current_schedule(convention), no_shows=tuple(no_shows), checked_in=checked_in,
                        from_slot=first.id)


def current_schedule(convention: Convention) -> Schedule:
    """The convention's current plan in the scheduler's form (unscheduled requests left out: the
    convention keeps them by participant ids, not by request index)."""
    slots = {s.id: s for s in convention.settings.slots}
    meetings = tuple(Meeting(m.slot_id, m.table, m.a, m.b, m.weight, m.locked) for m in convention.meetings)
    agendas: dict[str, list[AgendaEntry]] = {}
    grid: dict[int, dict[str, Meeting | None]] = {}
    for s in convention.settings.slots:
        for t in range(1, convention.settings.tables_in(s) + 1):
            grid.setdefault(t, {})[s.id] = None
    for m in meetings:
        start = slots[m.slot].start_at
        agendas.setdefault(m.a, []).append(AgendaEntry(m.slot, start, m.table, m.b))
        agendas.setdefault(m.b, []).append(AgendaEntry(m.slot, start, m.table, m.a))
        grid[m.table][m.slot] = m
    weighted = sum(m.weight for m in meetings)
    q = convention.quality or PlanQuality(meetings=0, weighted=0, bound=0, gap=0.0, status=ScheduleStatus.HEURISTIC,
                                          seconds=0.0, without_meeting=0, idle_gaps=0)
    quality = Quality(len(meetings), weighted, max(q.bound, weighted), q.gap, Status(q.status.value.upper()),
                      q.seconds, q.without_meeting, q.idle_gaps)
    return Schedule(meetings, {p: tuple(sorted(v, key=lambda e: e.start)) for p, v in agendas.items()}, grid, (),
                    quality)


# -- agendas --------------------------------------------------------------------------------------

class AgendaItem(BaseModel):
    """One meeting in a person's agenda: when, where, with whom (ids: the service adds names)."""

    model_config = ConfigDict(frozen=True)

    meeting_id: str
    slot_id: str
    start_at: AwareDatetime
    end_at: AwareDatetime
    table: int
    counterpart_id: str
    counterpart_organisation_id: str | None
    counterpart_role: ParticipantRole | None  # None: the counterpart is not among the participants given


def agendas(
    convention: Convention,
    participants: Mapping[str, ConventionParticipant] | Iterable[ConventionParticipant],
    *,
    published: bool = True,
) -> dict[str, tuple[AgendaItem, ...]]:
    """Every participant's agenda (participants with at least one meeting), in time order: the
    published version (default) or the current plan (``published=False``: the organiser's
    preview).

    :raises Conflict: ``published`` and nothing published yet.
    """
    return _agendas(convention, participants, published, only=None)


def agenda_of(
    convention: Convention,
    participant_id: str,
    participants: Mapping[str, ConventionParticipant] | Iterable[ConventionParticipant],
    *,
    published: bool = True,
) -> tuple[AgendaItem, ...]:
    """One participant's agenda, in time order (empty when it has no meeting). See :func:`agendas`."""
    return _agendas(convention, participants, published, only=participant_id).get(participant_id, ())


def _agendas(convention: Convention,
             participants: Mapping[str, ConventionParticipant] | Iterable[ConventionParticipant],
             published: bool, only: str | None) -> dict[str, tuple[AgendaItem, ...]]:
    by_id = participants if isinstance(participants, Mapping) else {p.id: p for p in participants}
    out: dict[str, list[AgendaItem]] = {}
    for m in _rows(convention, published):
        for me, other in ((m.a, m.b), (m.b, m.a)):
            if only is not None and me != only:
                continue
            cp = by_id.get(other)
            out.setdefault(me, []).append(AgendaItem(
                meeting_id=m.meeting_id, slot_id=m.slot_id, start_at=m.start_at, end_at=m.end_at, table=m.table,
                counterpart_id=other,
                counterpart_organisation_id=cp.organisation_id if cp else None,
                counterpart_role=cp.role if cp else None))
    return {p: tuple(sorted(items, key=lambda e: (e.start_at, e.table))) for p, items in out.items()}


def _rows(convention: Convention, published: bool) -> tuple[PublishedMeeting, ...]:
    if not published:
        return convention.plan_snapshot()
    if convention.published is None:
        raise Conflict(f"convention {convention.id} has published no agendas yet", current_state="not published",
                       expected_step="publish the agendas")
    return convention.published.meetings
