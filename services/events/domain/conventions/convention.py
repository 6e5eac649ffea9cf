"""The Convention aggregate: settings, locked meetings, scheduling runs, the current plan (its
meetings, quality and unscheduled requests), the published agendas, and, on and after the day,
which meetings were held and what came of them.

::

    configure ─▶ [lock / unlock meetings] ─▶ start_schedule_run(initial) ─▶ record_schedule | fail_schedule_run
       ─▶ publish_agendas (version 1) ─▶ on the day: start_schedule_run(replan, from_slot) ─▶ record_schedule
       ─▶ publish_agendas (version 2…) ─▶ record_meeting_scan / mark_meeting / settle_meetings ─▶ record_outcome…

``id`` is the convention id, the id of its event in the catalogue. Participants and meeting
requests are aggregates of their own (:mod:`.participant`, :mod:`.request`); this one holds what
the organiser decides and what the scheduler computes. All events go to the convention's topic.
"""
from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.conventions import (AgendasPublished, ConventionConfigured, MeetingBadgeScanned, MeetingHeld,
                                          MeetingHeldHow, MeetingLocked, MeetingNotHeld, MeetingOutcome,
                                          MeetingOutcomeRecorded, MeetingUnlocked, ScheduleComputed, ScheduleMode,
                                          ScheduleRunFailed, ScheduleRunStarted, ScheduleStatus,
                                          UnscheduledReasonCode)
from runtime.aggregate import Aggregate
from runtime.errors import Conflict, InvalidInput, NotFound

from . import _rules
from .participant import ConventionParticipant, check_pair
from .settings import ConventionSettings, ConventionSlot
from ..scheduling import Schedule

STALE_RUN = timedelta(minutes=15)  # a run started this long ago without a result is abandoned
SCAN_EARLY = timedelta(minutes=15)  # a badge may be scanned this long before the slot starts
MAX_AMOUNT_CENTS = 10**13  # exclusive
MAX_ERROR = 500  # characters of a run's error kept


def meeting_id(convention_id: str, a: str, b: str) -> str:
    """The id of the meeting of a pair in a convention: stable (a pair meets at most once), the
    same whichever slot or table a re-plan gives it."""
    x, y = sorted((a, b))
    digest = hashlib.sha256(f"{convention_id}\x1f{x}\x1f{y}".encode()).hexdigest()
    return f"m-{digest[:16]}"


class RunStatus(StrEnum):
    STARTED = "started"
    COMPUTED = "computed"
    FAILED = "failed"


class LockedPair(BaseModel):
    """A meeting the organiser fixed in a slot (and at a table, when given)."""

    model_config = ConfigDict(frozen=True)

    a: str  # a < b
    b: str
    slot_id: str
    table: int | None = None
    locked_at: AwareDatetime


class PlanQuality(BaseModel):
    """The scheduler's figures of a plan (:class:`~services.events.domain.scheduling.Quality`)."""

    model_config = ConfigDict(frozen=True)

    meetings: int
    weighted: int
    bound: int
    gap: float
    status: ScheduleStatus
    seconds: float
    without_meeting: int
    idle_gaps: int


class ScheduleRun(BaseModel):
    run_id: str
    mode: ScheduleMode
    status: RunStatus = RunStatus.STARTED
    from_slot_id: str | None = None
    settings_revision: int
    started_at: AwareDatetime
    finished_at: AwareDatetime | None = None
    quality: PlanQuality | None = None
    unscheduled: int | None = None
    error: str | None = None


class UnscheduledRequest(BaseModel):
    """A request of the current plan left without a meeting, and why (the scheduler's detail
    text is not kept: up to ~8,000 of these live in the convention's document)."""

    model_config = ConfigDict(frozen=True)

    from_participant_id: str
    to_participant_id: str
    reason: UnscheduledReasonCode


class Outcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    outcome: MeetingOutcome
    amount_cents: int | None = None
    need_id: str | None = None
    contract_id: str | None = None
    reported_by: str | None = None  # a participant of the meeting; None: the organiser
    recorded_at: AwareDatetime


class ConventionMeeting(BaseModel):
    """A meeting of the current plan, and what happened to it."""

    meeting_id: str
    slot_id: str
    table: int
    a: str  # a < b
    b: str
    weight: int = 0
    locked: bool = False
    scans: dict[str, AwareDatetime] = Field(default_factory=dict)  # participant id -> first scan
    held: bool | None = None
    held_how: MeetingHeldHow | None = None
    held_at: AwareDatetime | None = None  # when it was found held / not held
    outcomes: list[Outcome] = Field(default_factory=list)

    @property
    def participants(self) -> tuple[str, str]:
        return (self.a, self.b)

    @property
    def has_facts(self) -> bool:
        """Something happened to it (a scan, a mark, an outcome): it is history, never re-planned."""
        return bool(self.scans) or self.held is not None or bool(self.outcomes)

    def latest_outcome(self) -> Outcome | None:
        if not self.outcomes:
            return None
        return max(enumerate(self.outcomes), key=lambda io: (io[1].recorded_at, io[0]))[1]

    def counterpart(self, participant_id: str) -> str:
        return self.b if participant_id == self.a else self.a


class PublishedMeeting(BaseModel):
    """A meeting as published (frozen with its slot's times)."""

    model_config = ConfigDict(frozen=True)

    meeting_id: str
    slot_id: str
    start_at: AwareDatetime
    end_at: AwareDatetime
    table: int
    a: str
    b: str


class PublishedAgendas(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: int
    run_id: str
    published_at: AwareDatetime
    meetings: tuple[PublishedMeeting, ...]
    changed_participant_ids: tuple[str, ...]  # agendas that differ from the previous version


class ConventionFigures(BaseModel):
    """After the event: what was scheduled, held, and what came of it."""

    model_config = ConfigDict(frozen=True)

    meetings_scheduled: int
    meetings_held: int
    meetings_not_held: int
    meetings_unmarked: int  # neither held nor not held yet
    held_by_badges: int
    held_rate: float  # held / scheduled (0 when nothing is scheduled)
    outcomes: dict[MeetingOutcome, int]  # meetings by their latest outcome
    meetings_with_outcome: int
    contracts_signed: int  # distinct contracts (per meeting and contract id)
    contract_amount_cents: int  # their amounts (the latest recorded for each)


class Convention(Aggregate):
    """A business convention's speed-meetings. ``id`` is the convention id (= event id)."""

    settings: ConventionSettings
    settings_revision: int = 1
    configured_at: AwareDatetime
    locked: list[LockedPair] = Field(default_factory=list)
    runs: list[ScheduleRun] = Field(default_factory=list)
    plan_run_id: str | None = None  # the run whose plan is current
    quality: PlanQuality | None = None
    meetings: list[ConventionMeeting] = Field(default_factory=list)  # the current plan, by slot then table
    unscheduled: list[UnscheduledRequest] = Field(default_factory=list)
    published: PublishedAgendas | None = None

    # -- settings ------------------------------------------------------------------------
    @classmethod
    def configure(cls, convention_id: str, *, settings: ConventionSettings, at: datetime) -> Convention:
        """A convention's first settings → ``ConventionConfigured`` (revision 1). ``settings``
        comes from :meth:`ConventionSettings.build` (which validates it).

        (The event existing in the catalogue with kind ``business_convention`` is the service
        layer's check.)
        """
        convention_id = _rules.identifier(convention_id, "convention_id")
        c = cls(id=convention_id, settings=_built(settings), configured_at=_rules.instant(at, "at"))
        c._record_configured()
        return c

    def reconfigure(self, *, settings: ConventionSettings, at: datetime) -> bool:
        """New settings → ``ConventionConfigured`` (revision + 1). Returns False, recording
        nothing, when they equal the current ones. A run in progress when the settings change
        cannot record its plan (it must be run again).

        :raises Conflict: a meeting of the current plan, or a locked meeting, would lose its slot
            or its table (move them first, e.g. unlock, or re-plan).
        :raises InvalidInput: ``at`` before the previous configuration.
        """
        at = _rules.not_before(_rules.instant(at, "at"), self.configured_at, "at", "the previous configuration")
        if _built(settings) == self.settings:
            return False
        for what, items in (("meeting", self.meetings), ("locked meeting", self.locked)):
            for m in items:
                slot = settings.slot(m.slot_id)
                if slot is None or (m.table is not None and m.table > settings.tables_in(slot)):
                    where = f"slot {m.slot_id!r}" if slot is None else f"table {m.table} of slot {m.slot_id!r}"
                    raise Conflict(f"{what} {m.a}–{m.b} is in {where}, which the new settings remove",
                                   current_state="scheduled", expected_step="unlock or re-plan first")
        for slot_id, n in Counter(lp.slot_id for lp in self.locked).items():
            if n > settings.tables_in(settings.slot(slot_id)):
                raise Conflict(f"slot {slot_id!r} has {n} locked meetings: the new settings give it fewer tables",
                               current_state="locked", expected_step="unlock meetings first")
        self.settings, self.configured_at = settings, at
        self.settings_revision += 1
        self._record_configured()
        return True

    # -- locked meetings -----------------------------------------------------------------
    def lock_meeting(self, a: ConventionParticipant, b: ConventionParticipant, slot_id: str, *,
                     at: datetime, table: int | None = None) -> LockedPair:
        """The organiser fixes a meeting of ``a`` and ``b`` in a slot (and a table) →
        ``MeetingLocked``. Every later scheduling run keeps it there (a re-plan keeps the
        current plan's meetings, so lock before the plan it should be part of). Like a forced
        request, a lock overrides a decline; availability and maximum of meetings give way too.

        :raises InvalidInput: the same participant twice (``b``), a participant of another
            convention, unknown slot (``slot_id``), table out of the slot's tables (``table``).
        :raises Conflict: a participant left; the pair is locked already; a participant or the
            table is already locked in that slot; the slot has no table left for locks.
        """
        at = _rules.instant(at, "at")
        check_pair(self.id, a, b, fields=("a", "b"))
        slot = self.settings.slot(slot_id)
        if slot is None:
            raise InvalidInput("slot_id", f"unknown slot {slot_id!r}")
        cap = self.settings.tables_in(slot)
        table = _rules.optional_whole(table, "table", low=1, high=cap)
        x, y = sorted((a.id, b.id))
        for lp in self.locked:
            if (lp.a, lp.b) == (x, y):
                raise Conflict(f"meeting {x}–{y} is locked already in slot {lp.slot_id!r}",
                               current_state="locked", expected_step="unlock it first")
            if lp.slot_id == slot.id:
                busy = {x, y} & {lp.a, lp.b}
                if busy:
                    raise Conflict(f"participant {min(busy)} already has a locked meeting in slot {slot.id!r}",
                                   current_state="locked")
                if table is not None and lp.table == table:
                    raise Conflict(f"table {table} of slot {slot.id!r} is locked already", current_state="locked")
        if sum(1 for lp in self.locked if lp.slot_id == slot.id) >= cap:
            raise Conflict(f"slot {slot.id!r} has {cap} tables, all locked", current_state="full")
        pair = LockedPair(a=x, b=y, slot_id=slot.id, table=table, locked_at=at)
        self.locked = [*self.locked, pair]
        self.record(MeetingLocked(convention_id=self.id, participant_ids=(x, y), slot_id=slot.id, table=table,
                                  locked_at=at))
        return pair

    def unlock_meeting(self, a: str, b: str, *, at: datetime) -> None:
        """Remove a locked meeting → ``MeetingUnlocked`` (the current plan keeps it until the
        next run).

        :raises NotFound: the pair is not locked.
        """
        at = _rules.instant(at, "at")
        x, y = sorted((a, b))
        pair = next((lp for lp in self.locked if (lp.a, lp.b) == (x, y)), None)
        if pair is None:
            raise NotFound(f"no locked meeting {x}–{y} in convention {self.id}")
        self.locked = [lp for lp in self.locked if lp is not pair]
        self.record(MeetingUnlocked(convention_id=self.id, participant_ids=(x, y), slot_id=pair.slot_id,
                                    unlocked_at=at))

    # -- scheduling runs -----------------------------------------------------------------
    def start_schedule_run(self, run_id: str, *, mode: ScheduleMode | str, at: datetime,
                           from_slot: str | None = None) -> ScheduleRun:
        """A scheduling run starts → ``ScheduleRunStarted``. One run at a time: a run started
        :data:`STALE_RUN` or more before ``at`` without a result is abandoned first (its
        ``ScheduleRunFailed`` comes before).

        ``initial`` builds the whole plan (before the day: nothing may have happened to a
        meeting yet). ``replan`` changes the current plan from ``from_slot`` on (earlier slots
        are history: :func:`~.planning.replan_inputs` gives it); None: every slot.

        :raises InvalidInput: bad ``run_id``, ``mode``, unknown ``from_slot`` (or one given for
            an initial run).
        :raises Conflict: the run id is taken; another run is in progress; re-plan without a
            plan; an initial run once meetings were held (re-plan instead).
        """
        run_id = _rules.identifier(run_id, "run_id")
        mode = _rules.enum_value(ScheduleMode, mode, "mode")
        at = _rules.instant(at, "at")
        if mode is ScheduleMode.INITIAL and from_slot is not None:
            raise InvalidInput("from_slot", "an initial run plans every slot: from_slot is for a re-plan")
        if from_slot is not None and self.settings.slot(from_slot) is None:
            raise InvalidInput("from_slot", f"unknown slot {from_slot!r}")
        if any(r.run_id == run_id for r in self.runs):
            raise Conflict(f"scheduling run {run_id} exists already in convention {self.id}", run_id=run_id)
        running = self.run_in_progress
        if running is not None:
            if at - running.started_at < STALE_RUN:
                raise Conflict(f"scheduling run {running.run_id} is in progress (started at "
                               f"{running.started_at.isoformat()})", current_state="running",
                               expected_step="wait for its result", run_id=running.run_id)
            self._fail(running, f"abandoned: no result {STALE_RUN} after its start", at)
        if mode is ScheduleMode.REPLAN and self.plan_run_id is None:
            raise Conflict(f"convention {self.id} has no plan to re-plan", current_state="no plan",
                           expected_step="an initial run")
        if mode is ScheduleMode.INITIAL and any(m.has_facts for m in self.meetings):
            raise Conflict(f"convention {self.id} is under way (meetings scanned, marked or with outcomes): "
                           "an initial run would rewrite history", current_state="under way",
                           expected_step="a re-plan")
        run = ScheduleRun(run_id=run_id, mode=mode, from_slot_id=from_slot, settings_revision=self.settings_revision,
                          started_at=at)
        self.runs = [*self.runs, run]
        self.record(ScheduleRunStarted(convention_id=self.id, run_id=run_id, mode=mode, from_slot_id=from_slot,
                                       started_at=at))
        return run

    def record_schedule(self, run_id: str, schedule: Schedule, *, at: datetime) -> ScheduleRun:
        """The run's plan becomes the current plan → ``ScheduleComputed``.

        Initial: the plan replaces the current one. Re-plan: the meetings of the slots before
        the run's ``from_slot`` stay as they are (history: a no-show's past meetings stay, to be
        found not held), the others are the plan's; a meeting with facts (a scan, a mark, an
        outcome) must not move or vanish. A meeting keeps its id (:func:`meeting_id`) and its
        facts when it keeps its slot and table.

        :raises NotFound: unknown run.
        :raises Conflict: the run is not in progress; the settings changed since it started;
            the plan would move or drop a meeting with facts.
        :raises InvalidInput: the plan does not fit the convention (``schedule.meetings.3``:
            unknown slot, table out of range, a participant or a table twice in a slot, a pair
            twice); ``at`` before the run's start.
        """
        run = self._run(run_id)
        self._expect_running(run, "record a plan")
        at = _rules.not_before(_rules.instant(at, "at"), run.started_at, "at", "the run's start")
        if run.settings_revision != self.settings_revision:
            raise Conflict(f"the settings of convention {self.id} changed during run {run.run_id}: run it again",
                           current_state="settings changed", expected_step="fail this run and start another")
        closed: set[str] = set()
        if run.from_slot_id is not None:
            first = self.settings.slot(run.from_slot_id)
            closed = {s.id for s in self.settings.slots if s.start_at < first.start_at}
        current = {m.meeting_id: m for m in self.meetings}
        kept = [m for m in self.meetings if m.slot_id in closed]
        fresh: list[ConventionMeeting] = []
        fields = ["schedule.meetings"] * len(kept)  # history: the stored plan's, not this one's
        for i, m in enumerate(schedule.meetings):
            if m.slot in closed:
                continue
            fields.append(f"schedule.meetings.{i}")  # as given: the skipped history does not shift it
            self._check_place(m.slot, m.table, f"schedule.meetings.{i}")
            mid = meeting_id(self.id, m.a, m.b)
            old = current.get(mid)
            if old is not None and (old.slot_id, old.table) == (m.slot, m.table):
                fresh.append(old)
            else:
                x, y = sorted((m.a, m.b))
                fresh.append(ConventionMeeting(meeting_id=mid, slot_id=m.slot, table=m.table, a=x, b=y,
                                               weight=m.weight, locked=m.locked))
        plan = kept + fresh
        self._check_plan(plan, fields)
        reused = {m.meeting_id for m in fresh if current.get(m.meeting_id) is m}
        for m in self.meetings:
            if m.has_facts and m.slot_id not in closed and m.meeting_id not in reused:
                raise Conflict(f"the plan of run {run.run_id} moves or drops meeting {m.meeting_id}, which "
                               "happened already (scanned, marked or with outcomes)", current_state="under way",
                               expected_step="re-plan from a later slot")
        before = {m.meeting_id: (m.slot_id, m.table) for m in self.meetings}
        after = {m.meeting_id: (m.slot_id, m.table) for m in plan}  # ids are unique: _check_plan
        slot_order = {s.id: k for k, s in enumerate(self.settings.slots)}
        plan.sort(key=lambda m: (slot_order[m.slot_id], m.table))
        q = schedule.quality
        quality = PlanQuality(meetings=q.meetings, weighted=q.weighted, bound=q.bound, gap=q.gap,
                              status=ScheduleStatus(q.status.value.lower()), seconds=q.seconds,
                              without_meeting=q.without_meeting, idle_gaps=q.idle_gaps)
        unscheduled = [UnscheduledRequest(from_participant_id=u.from_, to_participant_id=u.to,
                                          reason=_reason_code(u.reason))
                       for u in schedule.unscheduled]
        self.meetings, self.unscheduled, self.quality, self.plan_run_id = plan, unscheduled, quality, run.run_id
        run.status, run.finished_at, run.quality, run.unscheduled = RunStatus.COMPUTED, at, quality, len(unscheduled)
        self.record(ScheduleComputed(
            convention_id=self.id, run_id=run.run_id, mode=run.mode, meetings=len(plan), weighted=q.weighted,
            bound=q.bound, gap=min(1.0, max(0.0, q.gap)), status=quality.status, seconds=max(0.0, q.seconds),
            without_meeting=q.without_meeting, idle_gaps=q.idle_gaps, unscheduled=len(unscheduled),
            unscheduled_by_reason=dict(Counter(u.reason for u in unscheduled)),
            meetings_added=sum(1 for k in after if k not in before),
            meetings_removed=sum(1 for k in before if k not in after),
            meetings_moved=sum(1 for k, place in after.items() if k in before and before[k] != place),
            computed_at=at))
        return run

    def fail_schedule_run(self, run_id: str, error: str, *, at: datetime) -> ScheduleRun:
        """The run ended without a plan → ``ScheduleRunFailed``; the current plan is unchanged.
        ``error`` is kept (trimmed to 500 characters): a technical message, no personal data.

        :raises NotFound: unknown run.
        :raises Conflict: the run is not in progress.
        """
        run = self._run(run_id)
        self._expect_running(run, "fail")
        at = _rules.not_before(_rules.instant(at, "at"), run.started_at, "at", "the run's start")
        self._fail(run, error, at)
        return run

    # -- agendas -------------------------------------------------------------------------
    def publish_agendas(self, *, at: datetime) -> int:
        """Publish the current plan as the next agenda version → ``AgendasPublished``; the
        published meetings (with their slots' times) are frozen as that version. Returns the
        version. When the plan (and its slots' times) equals the published version, that
        version is returned and nothing is recorded.

        :raises Conflict: no plan yet.
        :raises InvalidInput: ``at`` before the previous publication.
        """
        at = _rules.instant(at, "at")
        if self.plan_run_id is None:
            raise Conflict(f"convention {self.id} has no plan to publish", current_state="no plan",
                           expected_step="a scheduling run")
        previous = self.published
        if previous is not None:
            _rules.not_before(at, previous.published_at, "at", f"the publication of version {previous.version}")
        snapshot = self.plan_snapshot()
        if previous is not None and previous.meetings == snapshot:
            return previous.version
        changed = _changed_participants(previous.meetings if previous else (), snapshot)
        version = 1 if previous is None else previous.version + 1
        self.published = PublishedAgendas(version=version, run_id=self.plan_run_id, published_at=at,
                                          meetings=snapshot, changed_participant_ids=changed)
        self.record(AgendasPublished(
            convention_id=self.id, version=version, run_id=self.plan_run_id, meetings=len(snapshot),
            participants=len({p for m in snapshot for p in (m.a, m.b)}), participants_changed=len(changed),
            published_at=at))
        return version

    # -- meetings held -------------------------------------------------------------------
    def record_meeting_scan(self, meeting_id: str, participant_id: str, *, at: datetime) -> bool:
        """A participant's badge was scanned at the meeting's table → ``MeetingBadgeScanned``; at
        the second side's scan the meeting is held → ``MeetingHeld`` (how: badges) too, unless
        it is held already. Returns True when this scan made the meeting held. A badge scanned
        again records nothing.

        :raises NotFound: unknown meeting (not in the current plan).
        :raises InvalidInput: the participant is not in this meeting (``participant_id``);
            ``at`` more than 15 minutes before the slot starts.
        """
        m = self.meeting(meeting_id)
        if participant_id not in m.participants:
            raise InvalidInput("participant_id", f"participant {participant_id!r} is not in meeting {m.meeting_id}")
        slot = self._slot_of(m)
        at = _rules.not_before(_rules.instant(at, "at"), slot.start_at - SCAN_EARLY, "at",
                               f"{SCAN_EARLY} before slot {slot.id!r} starts")
        if participant_id in m.scans:
            return False
        m.scans[participant_id] = at
        self.record(MeetingBadgeScanned(**self._fact(m), participant_id=participant_id, scanned_at=at))
        if len(m.scans) == 2 and m.held is not True:
            self._set_held(m, True, MeetingHeldHow.BADGES, at)
            return True
        return False

    def mark_meeting(self, meeting_id: str, held: bool, *, at: datetime, by: str = "organiser") -> bool:
        """The organiser says whether the meeting took place → ``MeetingHeld`` or
        ``MeetingNotHeld`` (how: organiser); it overrides the badges. Returns False, recording
        nothing, when the organiser had said the same already.

        :raises NotFound: unknown meeting.
        :raises InvalidInput: ``held`` not a boolean; ``by`` other than ``organiser``.
        :raises Conflict: ``at`` before the slot starts (the meeting cannot have taken place yet).
        """
        m = self.meeting(meeting_id)
        held = _rules.flag(held, "held")
        _rules.enum_value(_Marker, by, "by")
        at = self._after_start(m, at, "mark the meeting")
        if m.held is held and m.held_how is MeetingHeldHow.ORGANISER:
            return False
        self._set_held(m, held, MeetingHeldHow.ORGANISER, at)
        return True

    def settle_meetings(self, *, at: datetime) -> int:
        """Close the day: every meeting of a slot ended by ``at`` that is neither held nor not
        held is found not held (how: badges — fewer than two scanned) → one ``MeetingNotHeld``
        each. Returns how many. Call it only where badges are scanned at the tables."""
        at = _rules.instant(at, "at")
        count = 0
        for m in self.meetings:
            if m.held is None and self._slot_of(m).end_at <= at:
                self._set_held(m, False, MeetingHeldHow.BADGES, at)
                count += 1
        return count

    # -- outcomes ------------------------------------------------------------------------
    def record_outcome(self, meeting_id: str, outcome: MeetingOutcome | str, *, at: datetime,
                       amount_cents: int | None = None, need_id: str | None = None,
                       contract_id: str | None = None, reported_by: str | None = None) -> Outcome:
        """What came of a meeting, as known now → ``MeetingOutcomeRecorded``; recorded again as
        things progress (the latest counts). ``contract_signed`` needs ``amount_cents``;
        ``need_id`` links a buyer's need in the procurement service, ``contract_id`` the contract.

        :raises NotFound: unknown meeting.
        :raises Conflict: the meeting was not held; ``at`` before the slot starts (nothing can
            have come of it yet).
        :raises InvalidInput: unknown ``outcome``; ``amount_cents`` missing for a signed contract,
            negative, 10^13 or more, not whole; blank or over-long ids; ``reported_by`` not in the
            meeting.
        """
        m = self.meeting(meeting_id)
        outcome = _rules.enum_value(MeetingOutcome, outcome, "outcome")
        if outcome is MeetingOutcome.CONTRACT_SIGNED and amount_cents is None:
            raise InvalidInput("amount_cents", "a signed contract needs its amount (amount_cents)")
        amount_cents = _rules.optional_whole(amount_cents, "amount_cents", low=0, high=MAX_AMOUNT_CENTS - 1)
        need_id = _rules.optional_identifier(need_id, "need_id")
        contract_id = _rules.optional_identifier(contract_id, "contract_id")
        reported_by = _rules.optional_identifier(reported_by, "reported_by")
        if reported_by is not None and reported_by not in m.participants:
            raise InvalidInput("reported_by", f"participant {reported_by!r} is not in meeting {m.meeting_id}")
        at = self._after_start(m, at, "record an outcome")
        if m.held is False:
            raise Conflict(f"meeting {m.meeting_id} was not held: no outcome", current_state="not held",
                           expected_step="mark it held first")
        record = Outcome(outcome=outcome, amount_cents=amount_cents, need_id=need_id, contract_id=contract_id,
                         reported_by=reported_by, recorded_at=at)
        m.outcomes.append(record)
        self.record(MeetingOutcomeRecorded(**self._fact(m), outcome=outcome, amount_cents=amount_cents,
                                           need_id=need_id, contract_id=contract_id, reported_by=reported_by,
                                           recorded_at=at))
        return record

    # -- queries -------------------------------------------------------------------------
    def meeting(self, meeting_id: str) -> ConventionMeeting:
        """A meeting of the current plan; :class:`NotFound` otherwise."""
        for m in self.meetings:
            if m.meeting_id == meeting_id:
                return m
        raise NotFound(f"no meeting {meeting_id!r} in convention {self.id}")

    def meetings_of(self, participant_id: str) -> list[ConventionMeeting]:
        return [m for m in self.meetings if participant_id in m.participants]

    def plan_snapshot(self) -> tuple[PublishedMeeting, ...]:
        """The current plan's meetings with their slots' times (what publishing freezes)."""
        slots = {s.id: s for s in self.settings.slots}
        return tuple(PublishedMeeting(meeting_id=m.meeting_id, slot_id=m.slot_id, start_at=slots[m.slot_id].start_at,
                                      end_at=slots[m.slot_id].end_at, table=m.table, a=m.a, b=m.b)
                     for m in self.meetings)

    @property
    def run_in_progress(self) -> ScheduleRun | None:
        return next((r for r in self.runs if r.status is RunStatus.STARTED), None)

    @property
    def agenda_version(self) -> int:
        """The published version (0: never published)."""
        return 0 if self.published is None else self.published.version

    def figures(self) -> ConventionFigures:
        """Meetings scheduled, held, not held; outcomes per kind (by each meeting's latest
        outcome); signed contracts and their total amount (per meeting, the latest amount
        recorded for each contract id)."""
        held = sum(1 for m in self.meetings if m.held is True)
        not_held = sum(1 for m in self.meetings if m.held is False)
        outcomes: Counter[MeetingOutcome] = Counter()
        contracts: dict[tuple[str, str | None], tuple[datetime, int, int]] = {}
        for m in self.meetings:
            latest = m.latest_outcome()
            if latest is not None:
                outcomes[latest.outcome] += 1
            for i, o in enumerate(m.outcomes):
                if o.outcome is MeetingOutcome.CONTRACT_SIGNED:
                    key = (m.meeting_id, o.contract_id)
                    if key not in contracts or (o.recorded_at, i) >= contracts[key][:2]:
                        contracts[key] = (o.recorded_at, i, o.amount_cents or 0)
        n = len(self.meetings)
        return ConventionFigures(
            meetings_scheduled=n, meetings_held=held, meetings_not_held=not_held,
            meetings_unmarked=n - held - not_held,
            held_by_badges=sum(1 for m in self.meetings if m.held is True and m.held_how is MeetingHeldHow.BADGES),
            held_rate=0.0 if n == 0 else held / n,
            outcomes={k: outcomes.get(k, 0) for k in MeetingOutcome},
            meetings_with_outcome=sum(outcomes.values()),
            contracts_signed=len(contracts),
            contract_amount_cents=sum(v[2] for v in contracts.values()),
        )

    # -- helpers -------------------------------------------------------------------------
    def _record_configured(self) -> None:
        s = self.settings
        self.record(ConventionConfigured(
            convention_id=self.id, revision=self.settings_revision, slots=s.slot_infos(), tables=s.tables,
            breaks=[(b.start_at, b.end_at) for b in s.breaks], request_expiry_hours=s.request_expiry_hours,
            schedule_pending=s.schedule_pending, max_meetings_default=s.max_meetings_default,
            allow_same_role=s.allow_same_role, configured_at=self.configured_at))

    def _run(self, run_id: str) -> ScheduleRun:
        for r in self.runs:
            if r.run_id == run_id:
                return r
        raise NotFound(f"no scheduling run {run_id!r} in convention {self.id}")

    def _expect_running(self, run: ScheduleRun, step: str) -> None:
        if run.status is not RunStatus.STARTED:
            raise Conflict(f"scheduling run {run.run_id} is {run.status.value}: cannot {step}",
                           current_state=run.status.value, expected_step="start a new run")

    def _fail(self, run: ScheduleRun, error: str, at: datetime) -> None:
        text = " ".join(str(error).split())[:MAX_ERROR] or "unknown error"
        run.status, run.finished_at, run.error = RunStatus.FAILED, at, text
        self.record(ScheduleRunFailed(convention_id=self.id, run_id=run.run_id, mode=run.mode, error=text,
                                      failed_at=at))

    def _check_place(self, slot_id: str, table: int, field: str) -> None:
        slot = self.settings.slot(slot_id)
        if slot is None:
            raise InvalidInput(f"{field}.slot", f"unknown slot {slot_id!r}")
        cap = self.settings.tables_in(slot)
        if isinstance(table, bool) or not isinstance(table, int) or not 1 <= table <= cap:
            raise InvalidInput(f"{field}.table", f"slot {slot_id!r} has tables 1…{cap}, not {table!r}")

    def _check_plan(self, plan: list[ConventionMeeting], fields: list[str]) -> None:
        """No participant or table twice in a slot, no pair twice; ``fields`` name each meeting in a
        refusal (``schedule.meetings.3``; the history kept: ``schedule.meetings``)."""
        busy: set[tuple[str, str]] = set()
        tables: set[tuple[str, int]] = set()
        pairs: set[str] = set()
        for m, field in zip(plan, fields):
            if m.a == m.b:
                raise InvalidInput(field, f"meeting of participant {m.a!r} with itself")
            if m.meeting_id in pairs:
                raise InvalidInput(field, f"pair {m.a}–{m.b} meets twice")
            if (m.slot_id, m.table) in tables:
                raise InvalidInput(field, f"table {m.table} of slot {m.slot_id!r} holds two meetings")
            for p in m.participants:
                if (p, m.slot_id) in busy:
                    raise InvalidInput(field, f"participant {p!r} has two meetings in slot {m.slot_id!r}")
                busy.add((p, m.slot_id))
            pairs.add(m.meeting_id)
            tables.add((m.slot_id, m.table))

    def _after_start(self, m: ConventionMeeting, at: datetime, action: str) -> datetime:
        """``at`` (an instant), once the meeting's slot has started: before it, saying the meeting
        took place or what came of it is a step out of order (``Conflict``)."""
        at = _rules.instant(at, "at")
        slot = self._slot_of(m)
        if at < slot.start_at:
            raise Conflict(f"cannot {action} {m.meeting_id}: its slot {slot.id} starts at {slot.start_at.isoformat()}",
                           current_state="not started", expected_step=f"from {slot.start_at.isoformat()}")
        return at

    def _slot_of(self, m: ConventionMeeting) -> ConventionSlot:
        slot = self.settings.slot(m.slot_id)
        if slot is None:  # reconfigure keeps every meeting's slot: a stored document changed by hand
            raise Conflict(f"meeting {m.meeting_id} is in slot {m.slot_id!r}, which the settings no longer have",
                           current_state="inconsistent", expected_step="re-plan")
        return slot

    def _fact(self, m: ConventionMeeting) -> dict:
        return dict(convention_id=self.id, meeting_id=m.meeting_id, participant_ids=(m.a, m.b), slot_id=m.slot_id,
                    table=m.table)

    def _set_held(self, m: ConventionMeeting, held: bool, how: MeetingHeldHow, at: datetime) -> None:
        m.held, m.held_how, m.held_at = held, how, at
        if held:
            self.record(MeetingHeld(**self._fact(m), how=how, held_at=at))
        else:
            self.record(MeetingNotHeld(**self._fact(m), how=how, scans=len(m.scans), marked_at=at))


def _built(settings: object) -> ConventionSettings:
    if not isinstance(settings, ConventionSettings):
        raise InvalidInput("settings", "settings are built (and checked) by ConventionSettings.build")
    return settings


class _Marker(StrEnum):
    ORGANISER = "organiser"


def _reason_code(reason: object) -> UnscheduledReasonCode:
    """The scheduler's reason (an enum whose names match the codes), as a code; ``other`` for a
    reason this contract does not know yet."""
    name = getattr(reason, "name", "")
    try:
        return UnscheduledReasonCode(str(name).lower())
    except ValueError:
        return UnscheduledReasonCode.OTHER


def _changed_participants(before: Iterable[PublishedMeeting], after: Iterable[PublishedMeeting]) -> tuple[str, ...]:
    def agendas(meetings: Iterable[PublishedMeeting]) -> dict[str, set[tuple]]:
        out: dict[str, set[tuple]] = defaultdict(set)
        for m in meetings:
            place = (m.slot_id, m.start_at, m.end_at, m.table)
            out[m.a].add((*place, m.b))
            out[m.b].add((*place, m.a))
        return out

    old, new = agendas(before), agendas(after)
    return tuple(sorted(p for p in old.keys() | new.keys() if old.get(p) != new.get(p)))
