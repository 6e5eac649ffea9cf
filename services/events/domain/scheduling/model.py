"""Inputs and outputs of the speed-meeting scheduler of business conventions.

Plain frozen dataclasses (pydantic can serialise them through ``TypeAdapter``): the events
service's API maps its payloads onto them. Identifiers are the caller's strings.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class Role(StrEnum):
    SUPPLIER = "supplier"  # ESS structure
    BUYER = "buyer"  # public or private buyer


class RequestStatus(StrEnum):
    """The answer of the requested side."""

    ACCEPTED = "accepted"
    PENDING = "pending"
    DECLINED = "declined"


@dataclass(frozen=True, slots=True)
class Slot:
    id: str
    start: datetime
    duration: timedelta
    tables: int | None = None  # overrides SchedulingProblem.tables for this slot


@dataclass(frozen=True, slots=True)
class Participant:
    id: str
    role: Role
    organisation: str = ""
    available: frozenset[str] | None = None  # slot ids; None = every slot
    max_meetings: int | None = None  # None = no limit but the number of slots
    tags: frozenset[str] = frozenset()  # sector, language… (informative, not used by rules)


@dataclass(frozen=True, slots=True)
class MeetingRequest:
    """``from_`` wants to meet ``to``; ``status`` is ``to``'s answer; higher priority = more wanted.

    A pair is eligible when one of its requests is accepted (or pending, with
    ``SchedulingOptions.include_pending``) and neither side declined: a decline in either
    direction keeps the pair apart. ``forced`` is the organiser's override: the request counts
    as accepted whatever its status, and the pair is eligible even if a side declined.
    """

    from_: str
    to: str
    priority: int = 1  # 1 … MAX_PRIORITY
    status: RequestStatus = RequestStatus.ACCEPTED
    forced: bool = False  # organiser override of a decline or a pending answer


MAX_PRIORITY = 10


@dataclass(frozen=True, slots=True)
class LockedMeeting:
    """A meeting the organiser fixed: it stays in its slot (and table, when given)."""

    a: str
    b: str
    slot: str
    table: int | None = None


@dataclass(frozen=True, slots=True)
class SchedulingProblem:
    slots: tuple[Slot, ...]
    participants: tuple[Participant, ...]
    requests: tuple[MeetingRequest, ...] = ()
    tables: int | None = None  # tables per slot, unless a slot says otherwise
    locked: tuple[LockedMeeting, ...] = ()


@dataclass(frozen=True, slots=True)
class SchedulingOptions:
    include_pending: bool = False  # organiser option: schedule pending requests too
    # wall-clock seconds of the whole call (validation, models, phases, decoding): an upper
    # bound (on a machine not starved of CPU), not a target: a call proven optimal early ends early
    time_limit: float = 2.0
    num_workers: int = 2
    seed: int = 0
    mutual_bonus: int = 2  # added to a pair's weight when both sides asked
    use_solver: bool = True  # False: the greedy heuristic only
    fairness: bool = True  # second phase: nobody without a meeting, meetings spread
    compact: bool = True  # third phase (CP-SAT): fewer idle gaps; the chain-swap compaction always runs
    primary_share: float = 0.5  # share of the time left for CP-SAT's first phase, when the relaxation did not prove it
    # Re-planning: None keeps every present participants' meeting exactly where it is; an integer
    # lets the solver move one, at that cost in weight (a move pays only if it gains more). With
    # moves, half the time goes first to the plan keeping every meeting: never worse than None.
    # Slots before ``from_slot`` never change either way.
    move_penalty: int | None = None


class Phase(StrEnum):
    """Phases of a call, in order, as reported to a progress callback (those that run)."""

    VALIDATION = "validation"  # checking the input, indexing it
    RELAXATION = "relaxation"  # which pairs meet, slots aside (LP / CP-SAT): a bound, often the optimum
    PLACEMENT = "placement"  # slots for them (greedy, alternating chains, CP-SAT for the last few)
    CP_SAT = "cp-sat"  # the full model, when the placement is not proven optimal
    FAIRNESS = "fairness"  # nobody without a meeting, meetings spread (weight kept)
    COMPACTNESS = "compactness"  # fewer idle gaps in each afternoon (weight and fairness kept)
    DONE = "done"  # decoded: the result is ready (fraction 1.0)


Progress = Callable[[str, float], None]
"""``progress(phase, fraction)``: ``phase`` a :class:`Phase` (a ``str``), ``fraction`` in [0, 1]."""


# ----------------------------------------------------------------------------- outputs


class Status(StrEnum):
    OPTIMAL = "OPTIMAL"  # CP-SAT proved the primary objective optimal
    FEASIBLE = "FEASIBLE"  # CP-SAT solution, not proven: see bound and gap
    HEURISTIC = "HEURISTIC"  # greedy fallback (solver off or found nothing in time)


class UnscheduledReason(StrEnum):
    DECLINED = "declined"
    PENDING_NOT_INCLUDED = "pending (not included)"
    PARTICIPANT_ABSENT = "participant absent"
    NO_COMMON_SLOT = "participant unavailable in every common slot"
    MAX_MEETINGS_REACHED = "maximum meetings reached"
    NO_PLACE_LEFT = "no table/slot left at optimum"
    NOT_FOUND_IN_TIME = "no table/slot left in the solution found (not proven optimal)"


@dataclass(frozen=True, slots=True)
class Meeting:
    slot: str
    table: int  # 1-based, per slot
    a: str
    b: str
    weight: int  # 0 for a locked meeting nobody requested
    locked: bool = False


@dataclass(frozen=True, slots=True)
class AgendaEntry:
    slot: str
    start: datetime
    table: int
    counterpart: str


@dataclass(frozen=True, slots=True)
class Unscheduled:
    request: int  # index in SchedulingProblem.requests
    from_: str
    to: str
    reason: UnscheduledReason
    detail: str


@dataclass(frozen=True, slots=True)
class Quality:
    meetings: int  # meetings scheduled (locked included)
    weighted: int  # primary objective: sum of the scheduled pairs' weights
    bound: int  # proven upper bound of the primary objective (= weighted when optimal)
    gap: float  # (bound - weighted) / bound, 0 when bound is 0
    status: Status
    seconds: float
    without_meeting: int  # participants with an eligible request and no meeting
    idle_gaps: int  # idle stretches between two meetings, summed over participants

    @property
    def optimality(self) -> float:
        return 1.0 if self.bound == 0 else self.weighted / self.bound


@dataclass(frozen=True, slots=True)
class Schedule:
    meetings: tuple[Meeting, ...]  # by slot start then table
    agendas: dict[str, tuple[AgendaEntry, ...]]  # participant id -> entries by time
    grid: dict[int, dict[str, Meeting | None]]  # table -> slot id -> meeting (if the table exists)
    unscheduled: tuple[Unscheduled, ...]
    quality: Quality


@dataclass(frozen=True, slots=True)
class ReplanFigures:
    """What re-planning did with the previous meetings, and what it added.

    Every previous meeting is counted once: ``history`` (before ``from_slot``: left as it was,
    absent participants' included), or, from ``from_slot`` on, ``released`` (a side absent),
    ``declined`` (a side declined since), ``displaced`` (in the way of a meeting the organiser
    locked since) or ``present_meetings`` (``kept`` + ``moved``). The new schedule holds
    ``history + present_meetings + filled`` meetings (a lock added since counts as filled).
    """

    absent: int  # participants absent (no-shows, not checked in)
    released: int  # meetings from from_slot on dropped because a participant is absent
    present_meetings: int  # meetings from from_slot on between two present participants (re-plannable)
    kept: int  # of those, unchanged (same slot and table)
    moved: int  # of those, moved to another slot or table
    filled: int  # new meetings placed in freed places
    declined: int = 0  # meetings from from_slot on dropped because a side declined since (not forced)
    history: int = 0  # meetings before from_slot, left exactly as they were (absent sides included)
    displaced: int = 0  # meetings from from_slot on dropped for a meeting locked since (its pair, slot or table)

    @property
    def kept_ratio(self) -> float:
        return 1.0 if self.present_meetings == 0 else self.kept / self.present_meetings


@dataclass(frozen=True, slots=True)
class ReplanResult:
    schedule: Schedule
    figures: ReplanFigures
    absent: frozenset[str] = field(default_factory=frozenset)
