"""The general assembly (AG): convocation, roll, attendance and proxies, quorum, votes, board
election, closing.

Lifecycle::

    convene ─▶ convened ──open (quorum met, or none)──▶ in_session ──close──▶ closed
                   │                                                          ▲
                   └──open (quorum not met)──▶ quorum_not_reached ──close─────┘
                                                  │
                                                  └──reconvene (2nd convocation)──▶ convened

- **Convocation** (:meth:`Assembly.convene`): a date, the notice the statutes require (sent too
  late → 422 naming ``statutes.notice_days`` and the dates), an agenda of resolutions (ids
  ``r1``, ``r2``… in order), a reference date (default: the convocation's) and the **roll**
  computed by the service layer from dated facts (:func:`roll.roll_on`), frozen here with a copy
  of the statutes: a later change of either never rewrites the record.
- **Attendance** per session: present, excused, absent — or represented: a member with voting
  rights gives its **proxy** to a member present with voting rights, at most
  ``statutes.max_proxies_per_holder`` each; a represented member who comes in person is present
  again (its proxy ends).
- **Quorum** (:meth:`Assembly.quorum`) is computed live; :meth:`Assembly.open` checks it at the
  session's start. Not met: a **second convocation** (:meth:`Assembly.reconvene`, notice
  ``statutes.second_notice_days``, quorum ``statutes.second_quorum``, same roll, attendance
  recorded afresh).
- **Votes**: one ballot per member present with voting rights per item; a proxy holder's ballot
  counts for the members it represents too. A second ballot → 409. :meth:`Assembly.decide`
  counts (per college, weighted) and adopts or rejects by the statutes' majority for the
  resolution's kind; :meth:`Assembly.close` decides those still open.
- **Board election** at the assembly: the seats to fill per college are fixed at convocation
  (the board's seats less the mandates still running on the meeting date); members with voting
  rights stand for their college's seats (:meth:`Assembly.register_candidacy`); each voter
  approves at most as many candidates of a college as it has seats to fill
  (:meth:`Assembly.vote_board`); :meth:`Assembly.board_result` ranks them (most weighted votes,
  then earliest candidacy); the :class:`~.board.Board` seats them.
- **Closed**: every change is a 409 naming the closing date.
"""
from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from contracts.membership import (AssemblyClosed, AssemblyConvened, AssemblyOpened, AssemblyQuorumNotReached,
                                  AssemblyReconvened, Attendance, AttendanceRecorded, BallotCast,
                                  CandidacyRegistered, CollegeResult, ProxyGiven, ResolutionAdopted,
                                  ResolutionKind, ResolutionRejected, VoteChoice)
from runtime.aggregate import Aggregate
from runtime.errors import Conflict, InvalidInput, NotFound

from .. import _rules
from .counting import QuorumCount, quorum, tally
from .roll import RollEntry
from .statutes import QuorumRule, Statutes

BOARD_ELECTION = "board-election"  # the item id of the board election in ``ballot-cast``


class AssemblyStatus(StrEnum):
    CONVENED = "convened"
    QUORUM_NOT_REACHED = "quorum_not_reached"
    IN_SESSION = "in_session"
    CLOSED = "closed"


class Decision(BaseModel):
    adopted: bool
    majority: str
    results: list[CollegeResult]
    for_weight: int
    against_weight: int
    abstain_weight: int
    decided_on: date


class Resolution(BaseModel):
    resolution_id: str
    title: str
    kind: ResolutionKind = ResolutionKind.ORDINARY
    ballots: dict[str, VoteChoice] = Field(default_factory=dict,
                                           description="Member id → choice (the members represented too).")
    voted_by: list[str] = Field(default_factory=list, description="Members who cast their ballot themselves.")
    decision: Decision | None = None


class QuorumFigures(BaseModel):
    counted: int
    voters: int
    required: int
    weighted: bool
    met: bool


class Session(BaseModel):
    convocation_number: int
    meeting_on: date
    convened_on: date
    notice_days: int
    quorum_rule: QuorumRule
    attendance: dict[str, Attendance] = Field(default_factory=dict, description="Member id → attendance.")
    proxies: dict[str, str] = Field(default_factory=dict, description="Represented member id → proxy holder id.")
    opened_on: date | None = None
    quorum: QuorumFigures | None = Field(None, description="The quorum as checked when the session opened.")


class Candidate(BaseModel):
    organisation_id: str
    college: str
    registered_on: date


class Election(BaseModel):
    seats_to_fill: dict[str, int] = Field(default_factory=dict, description="College → seats to fill.")
    candidates: list[Candidate] = Field(default_factory=list)
    ballots: dict[str, list[str]] = Field(default_factory=dict,
                                          description="Member id → the candidates it approved (the represented too).")
    voted_by: list[str] = Field(default_factory=list)
    elected_on: date | None = None


class CandidateResult(BaseModel):
    organisation_id: str
    college: str
    votes_weight: int
    rank: int  # 1 = most votes in its college
    elected: bool


class Assembly(Aggregate):
    """A general assembly and its record (procès-verbal data)."""

    title: str
    statutes: Statutes
    convened_on: date
    reference_on: date
    roll: list[RollEntry]
    resolutions: list[Resolution] = Field(default_factory=list)
    sessions: list[Session] = Field(default_factory=list)
    election: Election = Field(default_factory=Election)
    status: AssemblyStatus = AssemblyStatus.CONVENED
    closed_on: date | None = None

    # -- convocation -------------------------------------------------------------------------
    @classmethod
    def convene(cls, assembly_id: str, *, title: str, meeting_on: date, on: date, roll: list[RollEntry],
                statutes: Statutes, agenda: list[dict[str, Any]] = (), reference_on: date | None = None,
                seats_to_fill: dict[str, int] | None = None) -> Assembly:
        """Convene an assembly for ``meeting_on``, the convocation sent on ``on`` → ``AssemblyConvened``.

        ``agenda``: the resolutions, each ``{"title": …, "kind": "ordinary" | "extraordinary"}``;
        ``roll``: the members and their voting rights as of ``reference_on`` (default ``on``);
        ``seats_to_fill``: board seats per college to elect at this assembly.

        :raises InvalidInput: sent too late for the statutes' notice (``meeting_on``); a reference
            date after the convocation (``reference_on``); a bad agenda item (``agenda.<i>.…``);
            an unknown college or a negative number of seats (``seats_to_fill.<college>``).
        """
        title = _rules.text(title, "title", max_length=300)
        reference_on = reference_on or on
        _notice(meeting_on, on, statutes.notice_days, "statutes.notice_days", "meeting_on")
        if reference_on > on:
            raise InvalidInput("reference_on", f"reference date {reference_on} is after the convocation ({on}): "
                                               f"voting rights are assessed on facts known when convening")
        if not isinstance(agenda, (list, tuple)) or len(agenda) > 200:
            raise InvalidInput("agenda", "the agenda is a list of at most 200 resolutions")
        resolutions = []
        for i, item in enumerate(agenda):
            if not isinstance(item, dict):
                raise InvalidInput(f"agenda.{i}", "a resolution is an object with a title and a kind")
            resolutions.append(Resolution(
                resolution_id=f"r{i + 1}", title=_rules.text(item.get("title"), f"agenda.{i}.title", max_length=1000),
                kind=_rules.enum_value(ResolutionKind, item.get("kind", "ordinary"), f"agenda.{i}.kind")))
        seats: dict[str, int] = {}
        for code, n in (seats_to_fill or {}).items():
            statutes.college(code, f"seats_to_fill.{code}")
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise InvalidInput(f"seats_to_fill.{code}", f"seats to fill must be 0 or more (got {n!r})")
            if n:
                seats[code] = n
        assembly = cls(id=assembly_id, title=title, statutes=statutes, convened_on=on, reference_on=reference_on,
                       roll=list(roll), resolutions=resolutions, election=Election(seats_to_fill=seats),
                       sessions=[Session(convocation_number=1, meeting_on=meeting_on, convened_on=on,
                                         notice_days=statutes.notice_days, quorum_rule=statutes.quorum)])
        per_college: dict[str, int] = {}
        for entry in roll:
            if entry.voting_rights:
                per_college[entry.college] = per_college.get(entry.college, 0) + 1
        assembly.record(AssemblyConvened(
            assembly_id=assembly_id, meeting_on=meeting_on, convened_on=on, reference_on=reference_on,
            notice_days=statutes.notice_days, resolution_ids=[r.resolution_id for r in resolutions],
            voters=sum(per_college.values()), non_voters=sum(1 for e in roll if not e.voting_rights),
            voters_per_college=per_college))
        return assembly

    def reconvene(self, *, meeting_on: date, on: date) -> None:
        """Second convocation after the quorum was not met → ``AssemblyReconvened``. Same roll;
        the statutes' ``second_quorum`` applies; attendance starts afresh.

        :raises Conflict: the quorum was not found missing (or a second convocation was held already).
        :raises InvalidInput: sent too late for ``statutes.second_notice_days`` (``meeting_on``).
        """
        self._not_closed("reconvene")
        if self.status is not AssemblyStatus.QUORUM_NOT_REACHED or self.session.convocation_number >= 2:
            raise Conflict(f"cannot reconvene assembly {self.id}: it is {self.status.value} (convocation "
                           f"{self.session.convocation_number}); a second convocation follows a first session "
                           f"whose quorum was not met", current_state=self.status.value,
                           expected_step="open" if self.status is AssemblyStatus.CONVENED else "close")
        _rules.not_before(on, self.session.meeting_on, "on", "the first session")
        _notice(meeting_on, on, self.statutes.second_notice_days, "statutes.second_notice_days", "meeting_on")
        self.sessions = [*self.sessions, Session(convocation_number=2, meeting_on=meeting_on, convened_on=on,
                                                 notice_days=self.statutes.second_notice_days,
                                                 quorum_rule=self.statutes.second_quorum)]
        self.status = AssemblyStatus.CONVENED
        self.record(AssemblyReconvened(assembly_id=self.id, convocation_number=2, meeting_on=meeting_on,
                                       convened_on=on, notice_days=self.statutes.second_notice_days))

    # -- attendance and proxies ----------------------------------------------------------------
    def record_attendance(self, organisation_id: str, attendance: Attendance | str, *, on: date) -> bool:
        """Record a member's attendance (present, excused, absent) → ``AttendanceRecorded``;
        ``False`` (nothing recorded) when it was already so. A represented member recorded present
        comes in person: its proxy ends. Once the session is open, only late arrivals (present).

        :raises InvalidInput: not on the roll; ``represented`` (give a proxy instead); an unknown code.
        :raises Conflict: closed; after opening, anything but present; a holder of proxies leaving.
        """
        self._not_closed("record attendance")
        attendance = _rules.enum_value(Attendance, attendance, "attendance")
        entry = self._on_roll(organisation_id, "organisation_id")
        if attendance is Attendance.REPRESENTED:
            raise InvalidInput("attendance", "a member is represented by giving its proxy to a member present "
                                             "(POST …/proxies)")
        session = self.session
        if self.status is AssemblyStatus.QUORUM_NOT_REACHED:
            raise Conflict(f"the session of {session.meeting_on} did not reach its quorum: reconvene or close",
                           current_state=self.status.value, expected_step="reconvene")
        if self.status is AssemblyStatus.IN_SESSION and attendance is not Attendance.PRESENT:
            raise Conflict(f"the session of assembly {self.id} is open: only late arrivals (present) are recorded",
                           current_state=self.status.value)
        if session.attendance.get(entry.organisation_id, Attendance.ABSENT) is attendance:
            return False
        held = sorted(g for g, h in session.proxies.items() if h == entry.organisation_id)
        if held and attendance is not Attendance.PRESENT:
            raise Conflict(f"member {organisation_id} holds the proxies of {', '.join(held)}: a holder must be "
                           f"present", current_state=Attendance.PRESENT.value)
        session.proxies.pop(entry.organisation_id, None)
        session.attendance[entry.organisation_id] = attendance
        self.record(AttendanceRecorded(assembly_id=self.id, organisation_id=entry.organisation_id,
                                       attendance=attendance, convocation_number=session.convocation_number,
                                       recorded_on=on))
        return True

    def give_proxy(self, grantor_id: str, holder_id: str, *, on: date) -> None:
        """``grantor_id`` is represented by ``holder_id`` → ``ProxyGiven``.

        :raises InvalidInput: either not on the roll or without voting rights; holder not present;
            grantor = holder; the holder already holds ``statutes.max_proxies_per_holder`` proxies.
        :raises Conflict: closed; session without quorum; the grantor is present or already represented.
        """
        self._not_closed("record a proxy")
        if self.status is AssemblyStatus.QUORUM_NOT_REACHED:
            raise Conflict("the session did not reach its quorum: reconvene or close",
                           current_state=self.status.value, expected_step="reconvene")
        grantor = self._voter(grantor_id, "grantor_id", "give a proxy")
        holder = self._voter(holder_id, "holder_id", "hold a proxy")
        if grantor.organisation_id == holder.organisation_id:
            raise InvalidInput("holder_id", "a member cannot hold its own proxy")
        session = self.session
        current = session.attendance.get(grantor.organisation_id, Attendance.ABSENT)
        if current is Attendance.PRESENT:
            raise Conflict(f"member {grantor_id} is present: it votes itself", current_state=current.value)
        if grantor.organisation_id in session.proxies:
            raise Conflict(f"member {grantor_id} already gave its proxy to {session.proxies[grantor.organisation_id]}",
                           current_state=Attendance.REPRESENTED.value)
        if session.attendance.get(holder.organisation_id) is not Attendance.PRESENT:
            now = session.attendance.get(holder.organisation_id, Attendance.ABSENT)
            raise InvalidInput("holder_id", f"the proxy holder must be present (statutes: a proxy goes to a member "
                                            f"present with voting rights); {holder_id} is {now.value}")
        held = sum(1 for h in session.proxies.values() if h == holder.organisation_id)
        limit = self.statutes.max_proxies_per_holder
        if held >= limit:
            raise InvalidInput("holder_id", f"member {holder_id} already holds {held} proxies: the statutes allow "
                                            f"at most {limit} per holder (statutes.max_proxies_per_holder)")
        session.proxies[grantor.organisation_id] = holder.organisation_id
        session.attendance[grantor.organisation_id] = Attendance.REPRESENTED
        self.record(ProxyGiven(assembly_id=self.id, grantor_id=grantor.organisation_id,
                               holder_id=holder.organisation_id, convocation_number=session.convocation_number,
                               given_on=on))

    # -- session -------------------------------------------------------------------------------
    def quorum(self) -> QuorumCount:
        """The current session's quorum, live."""
        return quorum(self.roll, self.session.attendance, self.session.quorum_rule)

    def open(self, *, on: date) -> bool:
        """Open the session: ``AssemblyOpened`` when the quorum is met (votes may start), else
        ``AssemblyQuorumNotReached``. Returns whether it was met.

        :raises Conflict: not convened (already open, closed, or awaiting a second convocation).
        :raises InvalidInput: ``on`` before the session's date.
        """
        self._not_closed("open the session")
        if self.status is not AssemblyStatus.CONVENED:
            raise Conflict(f"cannot open assembly {self.id}: it is {self.status.value}",
                           current_state=self.status.value,
                           expected_step="vote" if self.status is AssemblyStatus.IN_SESSION else "reconvene")
        session = self.session
        _rules.not_before(on, session.meeting_on, "on", "the session's date")
        count = self.quorum()
        session.opened_on = on
        session.quorum = QuorumFigures(counted=count.counted, voters=count.voters, required=count.required,
                                       weighted=count.weighted, met=count.met)
        figures = dict(assembly_id=self.id, convocation_number=session.convocation_number, counted=count.counted,
                       voters=count.voters, required=count.required, weighted=count.weighted, opened_on=on)
        if count.met:
            self.status = AssemblyStatus.IN_SESSION
            self.record(AssemblyOpened(**figures))
        else:
            self.status = AssemblyStatus.QUORUM_NOT_REACHED
            self.record(AssemblyQuorumNotReached(**figures))
        return count.met

    # -- votes ---------------------------------------------------------------------------------
    def resolution(self, resolution_id: str) -> Resolution:
        for resolution in self.resolutions:
            if resolution.resolution_id == resolution_id:
                return resolution
        raise NotFound(f"resolution {resolution_id!r} is not on the agenda of assembly {self.id} (agenda: "
                       f"{', '.join(r.resolution_id for r in self.resolutions) or 'empty'})",
                       resolution_id=resolution_id)

    def vote(self, resolution_id: str, voter_id: str, choice: VoteChoice | str, *, on: date) -> list[str]:
        """``voter_id`` votes ``choice`` on a resolution, for itself and every member it represents
        → ``BallotCast``. Returns the members the ballot counts for.

        :raises NotFound: the resolution is not on the agenda.
        :raises Conflict: closed; session not open; resolution decided; the voter already voted.
        :raises InvalidInput: the voter is not on the roll, has no voting rights, or is not present
            (a represented member's holder votes for it); unknown choice.
        """
        self._not_closed("vote")
        resolution = self.resolution(resolution_id)
        choice = _rules.enum_value(VoteChoice, choice, "choice")
        self._in_session("vote", on)
        if resolution.decision is not None:
            raise Conflict(f"resolution {resolution_id} was already "
                           f"{'adopted' if resolution.decision.adopted else 'rejected'} on "
                           f"{resolution.decision.decided_on}", current_state="decided")
        counted_for = self._ballot_of(voter_id, resolution.ballots, resolution_id)
        for member_id in counted_for:
            resolution.ballots[member_id] = choice
        resolution.voted_by.append(counted_for[0])
        self.record(BallotCast(assembly_id=self.id, item_id=resolution_id, voter_id=counted_for[0],
                               represented_ids=counted_for[1:], cast_on=on))
        return counted_for

    def decide(self, resolution_id: str, *, on: date) -> Decision:
        """Count the ballots and adopt or reject by the statutes' majority for the resolution's kind
        → ``ResolutionAdopted`` or ``ResolutionRejected``.

        :raises NotFound: unknown resolution. :raises Conflict: session not open; already decided.
        """
        self._not_closed("decide a resolution")
        resolution = self.resolution(resolution_id)
        self._in_session("decide a resolution", on)
        if resolution.decision is not None:
            raise Conflict(f"resolution {resolution_id} is already decided", current_state="decided")
        return self._decide(resolution, on)

    # -- board election ------------------------------------------------------------------------
    def register_candidacy(self, organisation_id: str, *, on: date) -> Candidate:
        """A member with voting rights stands for a seat of its college → ``CandidacyRegistered``.

        :raises InvalidInput: not on the roll or no voting rights; its college has no seat to fill.
        :raises Conflict: closed; already a candidate; the election's ballots have started.
        """
        self._not_closed("register a candidacy")
        entry = self._voter(organisation_id, "organisation_id", "stand for the board")
        election = self.election
        if not election.seats_to_fill.get(entry.college):
            raise InvalidInput("organisation_id", f"college {entry.college} has no board seat to fill at this "
                                                  f"assembly (seats to fill: {election.seats_to_fill or 'none'})")
        if any(c.organisation_id == entry.organisation_id for c in election.candidates):
            raise Conflict(f"member {organisation_id} is already a candidate", current_state="candidate")
        if election.voted_by:
            raise Conflict("the board election's voting has started: candidacies are closed",
                           current_state="voting")
        candidate = Candidate(organisation_id=entry.organisation_id, college=entry.college, registered_on=on)
        election.candidates.append(candidate)
        self.record(CandidacyRegistered(assembly_id=self.id, organisation_id=entry.organisation_id,
                                        college=entry.college, registered_on=on))
        return candidate

    def vote_board(self, voter_id: str, candidate_ids: list[str], *, on: date) -> list[str]:
        """``voter_id`` approves ``candidate_ids`` (at most as many per college as it has seats to
        fill), for itself and the members it represents → ``BallotCast`` (item ``board-election``).

        :raises InvalidInput: a candidate not standing, twice, or too many for a college; voter rules
            as for :meth:`vote`.
        :raises Conflict: closed; session not open; board already elected; the voter already voted.
        """
        self._not_closed("vote for the board")
        self._in_session("vote for the board", on)
        election = self.election
        if election.elected_on is not None:
            raise Conflict(f"the board was already elected on {election.elected_on}", current_state="elected")
        if not isinstance(candidate_ids, list):
            raise InvalidInput("candidate_ids", "candidate_ids is a list of member ids")
        colleges = {c.organisation_id: c.college for c in election.candidates}
        per_college: dict[str, int] = {}
        for i, candidate_id in enumerate(candidate_ids):
            if candidate_id not in colleges:
                raise InvalidInput(f"candidate_ids.{i}", f"{candidate_id!r} is not a candidate at this assembly")
            if candidate_id in candidate_ids[:i]:
                raise InvalidInput(f"candidate_ids.{i}", f"{candidate_id} is named twice")
            college = colleges[candidate_id]
            per_college[college] = per_college.get(college, 0) + 1
            if per_college[college] > election.seats_to_fill.get(college, 0):
                raise InvalidInput(f"candidate_ids.{i}", f"at most {election.seats_to_fill.get(college, 0)} "
                                                         f"candidates of college {college} (its seats to fill)")
        counted_for = self._ballot_of(voter_id, election.ballots, BOARD_ELECTION)
        for member_id in counted_for:
            election.ballots[member_id] = list(candidate_ids)
        election.voted_by.append(counted_for[0])
        self.record(BallotCast(assembly_id=self.id, item_id=BOARD_ELECTION, voter_id=counted_for[0],
                               represented_ids=counted_for[1:], cast_on=on))
        return counted_for

    def board_result(self) -> list[CandidateResult]:
        """Candidates ranked per college: most weighted votes first, then the earliest candidacy;
        the first ``seats_to_fill`` of each college with at least one vote are elected."""
        weights = {e.organisation_id: e.weight for e in self.roll}
        votes = {c.organisation_id: 0 for c in self.election.candidates}
        for member_id, approved in self.election.ballots.items():
            for candidate_id in approved:
                votes[candidate_id] += weights.get(member_id, 0)
        out: list[CandidateResult] = []
        for college in dict.fromkeys(c.college for c in self.election.candidates):
            ranked = sorted((c for c in self.election.candidates if c.college == college),
                            key=lambda c: -votes[c.organisation_id])  # stable: candidacy order breaks ties
            seats = self.election.seats_to_fill.get(college, 0)
            for rank, c in enumerate(ranked, start=1):
                out.append(CandidateResult(organisation_id=c.organisation_id, college=college,
                                           votes_weight=votes[c.organisation_id], rank=rank,
                                           elected=rank <= seats and votes[c.organisation_id] > 0))
        return out

    def mark_board_elected(self, *, on: date) -> list[CandidateResult]:
        """The board election is over: no more ballots. Its event, ``board-elected``, is the
        :class:`~.board.Board`'s (the service layer saves both in one transaction).

        :raises Conflict: closed; session not open; already elected; no seat to fill.
        """
        self._not_closed("elect the board")
        self._in_session("elect the board", on)
        if self.election.elected_on is not None:
            raise Conflict(f"the board was already elected on {self.election.elected_on}", current_state="elected")
        if not self.election.seats_to_fill:
            raise Conflict("no board seat is to be filled at this assembly", current_state=self.status.value)
        self.election.elected_on = on
        return self.board_result()

    # -- closing -------------------------------------------------------------------------------
    def close(self, *, on: date) -> None:
        """Close the assembly: resolutions still open are decided (``resolution-adopted`` /
        ``-rejected``), then ``AssemblyClosed``; the record is immutable from then on.

        :raises Conflict: already closed; not opened yet; the board election has ballots but no result.
        """
        self._not_closed("close")
        if self.status is AssemblyStatus.CONVENED:
            raise Conflict(f"assembly {self.id} has not been opened: open the session (quorum) first",
                           current_state=self.status.value, expected_step="open")
        _rules.not_before(on, self.session.opened_on or self.session.meeting_on, "on", "the session's opening")
        if self.election.voted_by and self.election.elected_on is None:
            raise Conflict("the board election has ballots: elect the board before closing",
                           current_state=self.status.value, expected_step="board-election")
        if self.status is AssemblyStatus.IN_SESSION:
            for resolution in self.resolutions:
                if resolution.decision is None:
                    self._decide(resolution, on)
        counts = {a: 0 for a in Attendance}
        attendance = self.session.attendance
        for entry in self.roll:
            counts[attendance.get(entry.organisation_id, Attendance.ABSENT)] += 1
        self.status = AssemblyStatus.CLOSED
        self.closed_on = on
        decided = [r for r in self.resolutions if r.decision is not None]
        self.record(AssemblyClosed(
            assembly_id=self.id, convocation_number=self.session.convocation_number, closed_on=on,
            present=counts[Attendance.PRESENT], represented=counts[Attendance.REPRESENTED],
            excused=counts[Attendance.EXCUSED], absent=counts[Attendance.ABSENT],
            resolutions_adopted=[r.resolution_id for r in decided if r.decision.adopted],
            resolutions_rejected=[r.resolution_id for r in decided if not r.decision.adopted]))

    # -- queries -------------------------------------------------------------------------------
    @property
    def session(self) -> Session:
        return self.sessions[-1]

    @property
    def meeting_on(self) -> date:
        return self.session.meeting_on

    def entry(self, organisation_id: str) -> RollEntry | None:
        return next((e for e in self.roll if e.organisation_id == organisation_id), None)

    # -- internals -----------------------------------------------------------------------------
    def _decide(self, resolution: Resolution, on: date) -> Decision:
        rule = self.statutes.majority(resolution.kind)
        counted = tally(resolution.ballots, self.roll, [c.code for c in self.statutes.colleges], rule)
        decision = Decision(adopted=counted.adopted, majority=rule.describe(), results=counted.results,
                            for_weight=counted.for_, against_weight=counted.against,
                            abstain_weight=counted.abstain, decided_on=on)
        resolution.decision = decision
        event = ResolutionAdopted if decision.adopted else ResolutionRejected
        self.record(event(assembly_id=self.id, resolution_id=resolution.resolution_id, kind=resolution.kind,
                          majority=decision.majority, results=decision.results, for_weight=decision.for_weight,
                          against_weight=decision.against_weight, abstain_weight=decision.abstain_weight,
                          decided_on=on))
        return decision

    def _ballot_of(self, voter_id: str, ballots: dict[str, Any], item: str) -> list[str]:
        """The members a ballot of ``voter_id`` counts for: itself, then those it represents.
        ``ballots``: the item's ballots so far, by member (a member whose holder voted for it
        before it came in person has voted already)."""
        voter = self._voter(voter_id, "voter_id", "vote")
        session = self.session
        attendance = session.attendance.get(voter.organisation_id, Attendance.ABSENT)
        if attendance is Attendance.REPRESENTED:
            raise InvalidInput("voter_id", f"member {voter_id} is represented: its proxy holder "
                                           f"{session.proxies[voter.organisation_id]} votes for it")
        if attendance is not Attendance.PRESENT:
            raise InvalidInput("voter_id", f"only members present vote; {voter_id} is {attendance.value}")
        if voter.organisation_id in ballots:
            raise Conflict(f"member {voter_id} already voted on {item}", current_state="voted")
        represented = sorted(g for g, h in session.proxies.items() if h == voter.organisation_id)
        return [voter.organisation_id, *represented]

    def _on_roll(self, organisation_id: str, field: str) -> RollEntry:
        entry = self.entry(organisation_id) if isinstance(organisation_id, str) else None
        if entry is None:
            raise InvalidInput(field, f"{organisation_id!r} is not on the roll of assembly {self.id} (members on "
                                      f"{self.reference_on})")
        return entry

    def _voter(self, organisation_id: str, field: str, action: str) -> RollEntry:
        entry = self._on_roll(organisation_id, field)
        if not entry.voting_rights:
            raise InvalidInput(field, f"member {organisation_id} has no voting rights at this assembly and cannot "
                                      f"{action}: {entry.detail} (reason: {entry.reason.value})")
        return entry

    def _in_session(self, action: str, on: date) -> None:
        if self.status is not AssemblyStatus.IN_SESSION:
            raise Conflict(f"cannot {action}: assembly {self.id} is {self.status.value}; votes are taken once the "
                           f"session is open with its quorum", current_state=self.status.value,
                           expected_step="open" if self.status is AssemblyStatus.CONVENED else "reconvene")
        _rules.not_before(on, self.session.opened_on, "on", "the session's opening")

    def _not_closed(self, action: str) -> None:
        if self.status is AssemblyStatus.CLOSED:
            raise Conflict(f"cannot {action}: assembly {self.id} was closed on {self.closed_on}; its record "
                           f"cannot change", current_state=self.status.value)


def _notice(meeting_on: date, on: date, days: int, rule: str, field: str) -> None:
    if (meeting_on - on).days < days:
        raise InvalidInput(field, f"convocation too late: the statutes require {days} days' notice ({rule}); "
                                  f"sent on {on} for {meeting_on} gives {(meeting_on - on).days} — convene by "
                                  f"{meeting_on - timedelta(days=days)} or meet on {on + timedelta(days=days)} "
                                  f"or later")
