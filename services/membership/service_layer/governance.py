"""The governance commands: colleges, general assemblies, the board, commissions.

One MongoDB transaction each (aggregates and their events in the outbox together), ``within=``
to run inside a caller's transaction, ``expected_version`` (``If-Match``) for a stale write.
The roll of voting rights is computed at convocation, inside the convocation's transaction,
from dated facts (:func:`services.membership.adapters.governance.roll_facts`), and frozen in
the assembly with a copy of the statutes in force.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any, TypeVar

from contracts.membership import MembershipLapsed, MembershipWithdrawn
from runtime.aggregate import Aggregate, check_version, new_id
from runtime.errors import Conflict, InvalidInput
from runtime.mongo import Database, Transaction, from_document
from services.membership.adapters.governance import (ASSEMBLIES, BOARD, COLLEGE_ASSIGNMENTS, COMMISSIONS,
                                                     roll_facts)
from services.membership.adapters.repository import MEMBERS, ORGANISATIONS
from services.membership.domain import Member, Organisation
from services.membership.domain.governance import (BOARD_ID, Assembly, Board, CandidateResult, CollegeAssignment,
                                                   Commission, Mandate, Statutes, roll_on)

A = TypeVar("A", bound=Aggregate)


class GovernanceService:
    """The governance commands, bound to the service's database and the statutes in force."""

    def __init__(self, db: Database, statutes: Statutes) -> None:
        self.db = db
        self.statutes = statutes

    async def _change(self, collection: str, model: type[A], aggregate_id: str, expected_version: int | None,
                      step: Callable[[Transaction, A], Awaitable[Any]], within: Transaction | None) -> A:
        async def work(tx: Transaction) -> A:
            aggregate = await tx.get(collection, model, aggregate_id)
            check_version(aggregate, expected_version)
            await step(tx, aggregate)
            if aggregate.pending_events:
                await tx.save(collection, aggregate)
            return aggregate
        # many clerks record attendance and ballots on one assembly at once: a concurrent save is
        # retried on fresh state (the domain decides again), unless the client named a version
        return await self.db.transaction(work, within=within, conflict_retries=5 if expected_version is None else 0)

    # -- colleges --------------------------------------------------------------------------------
    async def assign_college(self, organisation_id: str, college: str | None, *, on: date,
                             expected_version: int | None = None,
                             within: Transaction | None = None) -> CollegeAssignment:
        """Staff's explicit college of an organisation from ``on`` (``None``: its legal form's)."""
        async def work(tx: Transaction) -> CollegeAssignment:
            await tx.get(ORGANISATIONS, Organisation, organisation_id)
            assignment = (await tx.find(COLLEGE_ASSIGNMENTS, CollegeAssignment, organisation_id)
                          or CollegeAssignment.start(organisation_id))
            check_version(assignment, expected_version)
            assignment.assign(college, statutes=self.statutes, on=on)
            await tx.save(COLLEGE_ASSIGNMENTS, assignment)
            return assignment
        return await self.db.transaction(work, within=within)

    # -- assemblies ------------------------------------------------------------------------------
    async def convene(self, *, title: str, meeting_on: date, on: date, agenda: list[dict[str, Any]],
                      reference_on: date | None = None, within: Transaction | None = None) -> Assembly:
        """Convene a general assembly: its roll as of ``reference_on`` (default ``on``) and the board
        seats to fill on ``meeting_on`` are computed and frozen with it."""
        async def work(tx: Transaction) -> Assembly:
            reference = reference_on or on
            members, forms, assignments = await roll_facts(tx.db, reference, session=tx.session)
            roll = roll_on(members, forms, assignments, self.statutes, reference)
            board = await self._board(tx)
            assembly = Assembly.convene(new_id("ag"), title=title, meeting_on=meeting_on, on=on, roll=roll,
                                        statutes=self.statutes, agenda=agenda, reference_on=reference_on,
                                        seats_to_fill=board.seats_to_fill(self.statutes, meeting_on))
            await tx.save(ASSEMBLIES, assembly)
            return assembly
        return await self.db.transaction(work, within=within)

    async def _assembly_step(self, assembly_id: str, expected_version: int | None, step: Callable[[Assembly], Any],
                             within: Transaction | None) -> Assembly:
        async def apply(tx: Transaction, assembly: Assembly) -> None:
            step(assembly)
        return await self._change(ASSEMBLIES, Assembly, assembly_id, expected_version, apply, within)

    async def reconvene(self, assembly_id: str, *, meeting_on: date, on: date, expected_version: int | None = None,
                        within: Transaction | None = None) -> Assembly:
        return await self._assembly_step(assembly_id, expected_version,
                                         lambda a: a.reconvene(meeting_on=meeting_on, on=on), within)

    async def record_attendance(self, assembly_id: str, organisation_id: str, attendance: str, *, on: date,
                                expected_version: int | None = None, within: Transaction | None = None) -> Assembly:
        return await self._assembly_step(assembly_id, expected_version,
                                         lambda a: a.record_attendance(organisation_id, attendance, on=on), within)

    async def give_proxy(self, assembly_id: str, grantor_id: str, holder_id: str, *, on: date,
                         expected_version: int | None = None, within: Transaction | None = None) -> Assembly:
        return await self._assembly_step(assembly_id, expected_version,
                                         lambda a: a.give_proxy(grantor_id, holder_id, on=on), within)

    async def open(self, assembly_id: str, *, on: date, expected_version: int | None = None,
                   within: Transaction | None = None) -> Assembly:
        return await self._assembly_step(assembly_id, expected_version, lambda a: a.open(on=on), within)

    async def vote(self, assembly_id: str, resolution_id: str, voter_id: str, choice: str, *, on: date,
                   expected_version: int | None = None, within: Transaction | None = None) -> Assembly:
        return await self._assembly_step(assembly_id, expected_version,
                                         lambda a: a.vote(resolution_id, voter_id, choice, on=on), within)

    async def decide(self, assembly_id: str, resolution_id: str, *, on: date, expected_version: int | None = None,
                     within: Transaction | None = None) -> Assembly:
        return await self._assembly_step(assembly_id, expected_version,
                                         lambda a: a.decide(resolution_id, on=on), within)

    async def register_candidacy(self, assembly_id: str, organisation_id: str, *, on: date,
                                 expected_version: int | None = None, within: Transaction | None = None) -> Assembly:
        """A candidacy for the board; a member whose mandate still runs on the meeting date cannot stand."""
        async def step(tx: Transaction, assembly: Assembly) -> None:
            board = await self._board(tx)
            sitting = next((m for m in board.sitting_on(assembly.meeting_on)
                            if m.organisation_id == organisation_id), None)
            if sitting is not None:
                raise Conflict(f"member {organisation_id} sits on the board until {sitting.last_day} (mandate "
                               f"{sitting.mandate_id}): its seat is not to be filled", current_state="sitting")
            assembly.register_candidacy(organisation_id, on=on)
        return await self._change(ASSEMBLIES, Assembly, assembly_id, expected_version, step, within)

    async def vote_board(self, assembly_id: str, voter_id: str, candidate_ids: list[str], *, on: date,
                         expected_version: int | None = None, within: Transaction | None = None) -> Assembly:
        return await self._assembly_step(assembly_id, expected_version,
                                         lambda a: a.vote_board(voter_id, candidate_ids, on=on), within)

    async def elect_board(self, assembly_id: str, *, on: date, expected_version: int | None = None,
                          within: Transaction | None = None) -> tuple[Assembly, list[CandidateResult], list[Mandate]]:
        """Close the board election: the elected take their seats from the assembly's date
        (``board-elected``, ``mandate-started``; terms expired by then are recorded ended first)."""
        async def work(tx: Transaction):
            assembly = await tx.get(ASSEMBLIES, Assembly, assembly_id)
            check_version(assembly, expected_version)
            results = assembly.mark_board_elected(on=on)
            board = await self._board(tx)
            board.expire_terms(on=assembly.meeting_on)
            mandates = board.elect(assembly, results, statutes=assembly.statutes, new_id=lambda: new_id("mdt"))
            await tx.save(ASSEMBLIES, assembly)
            await tx.save(BOARD, board)
            return assembly, results, mandates
        return await self.db.transaction(work, within=within)

    async def close(self, assembly_id: str, *, on: date, expected_version: int | None = None,
                    within: Transaction | None = None) -> Assembly:
        return await self._assembly_step(assembly_id, expected_version, lambda a: a.close(on=on), within)

    # -- board -----------------------------------------------------------------------------------
    async def _board(self, tx: Transaction) -> Board:
        return await tx.find(BOARD, Board, BOARD_ID) or Board.start()

    async def end_mandate(self, mandate_id: str, reason: str, *, on: date,
                          within: Transaction | None = None) -> Mandate:
        async def work(tx: Transaction) -> Mandate:
            board = await self._board(tx)
            mandate = board.end_mandate(mandate_id, reason, on=on)
            await tx.save(BOARD, board)
            return mandate
        return await self.db.transaction(work, within=within)

    # -- commissions -----------------------------------------------------------------------------
    async def create_commission(self, *, name: str, kind: str, on: date,
                                within: Transaction | None = None) -> Commission:
        async def work(tx: Transaction) -> Commission:
            commission = Commission.create(new_id("com"), name=name, kind=kind, on=on)
            await tx.save(COMMISSIONS, commission)
            return commission
        return await self.db.transaction(work, within=within)

    async def join_commission(self, commission_id: str, organisation_id: str, *, on: date,
                              expected_version: int | None = None, within: Transaction | None = None) -> Commission:
        """A member in good standing on ``on`` joins a commission or seminar."""
        async def step(tx: Transaction, commission: Commission) -> None:
            periods = {"$or": [{"_id": organisation_id}, {"organisation_id": organisation_id}]}
            docs = tx.collection(MEMBERS).find(periods, session=tx.session)  # every membership period
            memberships = [from_document(Member, d) async for d in docs]
            if not any(m.in_good_standing(on) for m in memberships):
                raise InvalidInput("organisation_id", f"{organisation_id} is not a member in good standing on {on}: "
                                                      f"commissions and seminars are for members")
            commission.join(organisation_id, on=on)
        return await self._change(COMMISSIONS, Commission, commission_id, expected_version, step, within)

    async def leave_commission(self, commission_id: str, organisation_id: str, *, on: date,
                               expected_version: int | None = None, within: Transaction | None = None) -> Commission:
        async def step(tx: Transaction, commission: Commission) -> None:
            commission.leave(organisation_id, on=on)
        return await self._change(COMMISSIONS, Commission, commission_id, expected_version, step, within)


# -- consumer: a board seat needs a member --------------------------------------------------------
async def on_membership_ended(event: MembershipLapsed | MembershipWithdrawn, tx: Transaction, _) -> None:
    """When a member lapses or withdraws, its board mandates end the day before (reason
    ``membership_ended``): who sits on the board on a date stays true without a clerk's step.
    A redelivered event changes nothing (the mandates have ended already)."""
    day = event.lapsed_on if isinstance(event, MembershipLapsed) else event.withdrawn_on
    board = await tx.find(BOARD, Board, BOARD_ID)
    if board is None:
        return
    board.membership_ended(event.organisation_id, last_day=day - timedelta(days=1))
    if board.pending_events:
        await tx.save(BOARD, board)
