"""The needs area's commands: a buyer's need from draft to award, its dispatch to the matching
suppliers, each supplier's funnel, questions, reminders, the impact survey, and links to the
business meetings of conventions.

Each command is one MongoDB transaction (the aggregates it changes and the events they recorded,
through the outbox); every command takes ``within=`` to run inside a given transaction instead.

Who acts. Staff of the business-development team (``staff:procurement``), or a buyer's app holding
that role on the buyer's behalf: commands take ``by`` (the token's subject), written to the
need's log. Suppliers act through their signed link (:class:`NeedTokens`): no login.

Dispatch (background, crash-safe). :meth:`NeedsService.start_dispatch` moves the need to
``dispatching`` and stores its dispatch state (``need_dispatches``); the job
:meth:`NeedsService.run_dispatches` claims a dispatch whose lease (a :class:`runtime.lease.Lease`
in its ``need_dispatches`` document) is free, expired or abandoned (a new one has no owner) and
runs it: it reads the matching suppliers after the stored cursor once (one query, ``_id`` order,
the exact territory rule applied in Python), then notifies them batch after batch — each
batch one transaction that inserts their funnel rows (``insert_many``), stages one
``SupplierNotified`` each through the outbox, advances the cursor and extends the lease. A
process that dies mid-dispatch leaves a cursor that matches the rows committed; another
process (or the same, restarted) takes over once the lease expires, at once when the holder was a
process of this machine that no longer runs. A funnel row's id is
``<need>:<supplier>``: a supplier cannot be notified twice. The last batch completes the need
(``NeedDispatchCompleted``). Leases run on the machine's clock; business facts on ``clock()``.

Reminders (job :meth:`NeedsService.send_reminders`): needs past their deadline are closed first;
then, per dispatched need, the due suppliers (:func:`~..domain.need_funnel.reminder_due`) are
reminded in a transaction that saves the need: a concurrent closing conflicts with it, so no
reminder is recorded for a need once closed. No e-mail is sent — the platform has no mail sender
yet: ``SupplierReminded`` (like ``SupplierNotified`` and ``ImpactSurveyOpened``) is what a
notifier app consumes, asking the API for the supplier's link.

Impact survey (job :meth:`NeedsService.open_impact_surveys`): the configured delay after the
deadline, one survey to the buyer and one to each awarded supplier (opened later for suppliers
awarded later); answered through a signed link.
"""
from __future__ import annotations

import asyncio
import bisect
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any


from contracts.procurement.needs import FunnelStep, ImpactAnswer, NeedStatus
from runtime import members
from runtime.lease import Lease, owner_id, takeable as lease_takeable
from runtime.aggregate import check_version, new_id
from runtime.errors import Conflict, InvalidInput, NotFound
from runtime.mongo import Database, Transaction, from_document, stored_instant, to_document, utcnow
from services.procurement.adapters.needs import (BUYERS, CONVENTION_MEETINGS, DISPATCH_ABORTED, DISPATCH_COMPLETED,
                                                 DISPATCH_RUNNING, IMPACT_SURVEYS, NEED_DISPATCHES, NEED_QUESTIONS,
                                                 NEED_SUPPLIERS, NEEDS, SUPPLIER_FIELDS, SUPPLIERS)
from services.procurement.domain import need_matching as matching
from services.procurement.domain.reservation import recommend
from services.procurement.domain.need_followup import ImpactSurvey, NeedQuestion
from services.procurement.domain.need_funnel import (ReminderPolicy, SupplierFunnel, funnel_id, remind,
                                                     reminder_due)
from services.procurement.domain.needs import Need
from services.procurement.service_layer.need_tokens import NeedTokens
from services.procurement.settings import ProcurementSettings

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MAX_REMINDERS_PER_TRANSACTION = 2000


def utc(moment: Any) -> Any:
    """``moment`` in UTC when it is an aware datetime (stored so: instants compare as stored)."""
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        return moment.astimezone(timezone.utc)
    return moment


def _utc_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: utc(v) for k, v in fields.items()}


class NeedsService:
    """Buyers' needs, their dispatch, funnels, questions, reminders and impact surveys."""

    def __init__(self, db: Database, tokens: NeedTokens, config: ProcurementSettings | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.tokens = tokens
        self.config = config or ProcurementSettings()
        self.clock = clock
        self.owner = owner_id()
        self._dispatch_started = asyncio.Event()  # wakes this process's dispatch job up

    @property
    def reminder_policy(self) -> ReminderPolicy:
        return ReminderPolicy(first_after=timedelta(hours=self.config.need_reminder_first_after_hours),
                              interval=timedelta(hours=self.config.need_reminder_interval_hours),
                              max_reminders=self.config.need_reminder_max)

    def now(self) -> datetime:
        return utc(self.clock())

    # -- the need ----------------------------------------------------------------------------------------
    async def draft(self, *, buyer_id: str, fields: Mapping[str, Any], by: str,
                    within: Transaction | None = None) -> Need:
        """Draft a need for a known buyer (422 naming ``buyer_id`` otherwise) → ``NeedDrafted``."""
        async def work(tx: Transaction) -> Need:
            now = self.now()
            need = Need.draft(new_id("need"), buyer_id=buyer_id, fields=_utc_fields(fields), at=now, by=by)
            buyer = await tx.db[BUYERS].find_one({"_id": need.buyer_id}, {"_id": 1}, session=tx.session)
            if buyer is None:
                raise InvalidInput("buyer_id", f"buyer {need.buyer_id!r} is unknown (register the buyer first)")
            await tx.save(NEEDS, need)
            return need
        return await self.db.transaction(work, within=within)

    async def _step(self, need_id: str, expected_version: int | None,
                    step: Callable[[Transaction, Need, datetime], Awaitable[Any]], *,
                    within: Transaction | None = None, conflict_retries: int = 3) -> Need:
        """One step on a need in its transaction. A concurrent save (the reminders job writes the
        need) runs the step again on fresh state: the domain decides again (and If-Match, when
        given, makes a changed need a 412)."""
        async def work(tx: Transaction) -> Need:
            need = await tx.get(NEEDS, Need, need_id)
            check_version(need, expected_version)
            await step(tx, need, self.now())
            if need.pending_events:
                await tx.save(NEEDS, need)
            return need
        return await self.db.transaction(work, within=within, conflict_retries=conflict_retries)

    async def update(self, need_id: str, changes: Mapping[str, Any], *, by: str, expected_version: int | None = None,
                     within: Transaction | None = None) -> Need:
        async def step(tx: Transaction, need: Need, now: datetime) -> None:
            need.update(_utc_fields(changes), at=now, by=by)
        return await self._step(need_id, expected_version, step, within=within)

    async def submit(self, need_id: str, *, by: str, expected_version: int | None = None,
                     within: Transaction | None = None) -> Need:
        async def step(tx: Transaction, need: Need, now: datetime) -> None:
            need.submit(at=now, by=by)
        return await self._step(need_id, expected_version, step, within=within)

    async def send_back(self, need_id: str, reason: str, *, by: str, expected_version: int | None = None,
                        within: Transaction | None = None) -> Need:
        async def step(tx: Transaction, need: Need, now: datetime) -> None:
            need.send_back(reason, at=now, by=by)
        return await self._step(need_id, expected_version, step, within=within)

    async def validate(self, need_id: str, *, by: str, expected_version: int | None = None,
                       within: Transaction | None = None) -> Need:
        async def step(tx: Transaction, need: Need, now: datetime) -> None:
            need.validate(at=now, by=by)
        return await self._step(need_id, expected_version, step, within=within)

    async def close(self, need_id: str, *, by: str, expected_version: int | None = None, at_deadline: bool = False,
                    within: Transaction | None = None) -> Need:
        """Close a dispatched need (``NeedClosed`` carries the funnel's counts as they are)."""
        async def step(tx: Transaction, need: Need, now: datetime) -> None:
            rows = tx.db[NEED_SUPPLIERS]
            interested = await rows.count_documents({"need_id": need.id, "stance": FunnelStep.INTERESTED.value},
                                                    session=tx.session)
            answered = await rows.count_documents({"need_id": need.id, "answered_at": {"$ne": None}},
                                                  session=tx.session)
            need.close(at=now, by=by, interested=interested, answered=answered, at_deadline=at_deadline)
        return await self._step(need_id, expected_version, step, within=within)

    async def award(self, need_id: str, *, supplier_ids: list[str], grouping_id: str | None, amount_cents: int,
                    by: str, expected_version: int | None = None, within: Transaction | None = None) -> Need:
        """Award a closed need → ``NeedAwarded``, and ``awarded`` on each awarded supplier's funnel
        row (a supplier not reached by the dispatch has none). Each supplier must be known (422
        naming ``supplier_ids.<i>``). A grouping is recorded by its id (the groupings are the
        suppliers area's: not checked here)."""
        async def step(tx: Transaction, need: Need, now: datetime) -> None:
            need.award(supplier_ids=supplier_ids, grouping_id=grouping_id, amount_cents=amount_cents, at=now, by=by)
            ids = need.contract.supplier_ids
            known = {d["_id"] async for d in tx.db[SUPPLIERS].find({"_id": {"$in": ids}}, {"_id": 1},
                                                                    session=tx.session)}
            for i, sid in enumerate(ids):
                if sid not in known:
                    raise InvalidInput(f"supplier_ids.{i}", f"supplier {sid!r} is unknown")
            async for doc in tx.db[NEED_SUPPLIERS].find({"_id": {"$in": [funnel_id(need.id, s) for s in ids]}},
                                                        session=tx.session):
                row = from_document(SupplierFunnel, doc)
                if row.mark_awarded(at=now):
                    await tx.save(NEED_SUPPLIERS, row)
        return await self._step(need_id, expected_version, step, within=within, conflict_retries=3)

    async def abandon(self, need_id: str, reason: str, *, note: str | None = None, by: str,
                      expected_version: int | None = None, within: Transaction | None = None) -> Need:
        async def step(tx: Transaction, need: Need, now: datetime) -> None:
            need.abandon(reason, note=note, at=now, by=by)
        return await self._step(need_id, expected_version, step, within=within)

    async def link_meeting(self, need_id: str, meeting_id: str, *, by: str, expected_version: int | None = None,
                           within: Transaction | None = None) -> tuple[Need, bool]:
        """Link a business meeting known from the events service's events (422 naming ``meeting_id``
        when unknown, or known as not held) → ``NeedLinkedToMeeting``; False when linked already."""
        linked: list[bool] = []

        async def step(tx: Transaction, need: Need, now: datetime) -> None:
            linked.clear()
            need.expect_meetings()
            if not isinstance(meeting_id, str) or not meeting_id.strip() or len(meeting_id) > 100:
                raise InvalidInput("meeting_id", "meeting_id must be a meeting's id")
            meeting = await tx.db[CONVENTION_MEETINGS].find_one({"_id": meeting_id}, session=tx.session)
            if meeting is None:
                raise InvalidInput("meeting_id", f"meeting {meeting_id!r} is unknown here: procurement learns the "
                                                 f"meetings held at conventions from the events service's events")
            if meeting.get("held") is False and meeting.get("outcome") is None:
                raise InvalidInput("meeting_id", f"meeting {meeting_id!r} was not held")
            linked.append(need.link_meeting(meeting_id, meeting["convention_id"], at=now, by=by))
        need = await self._step(need_id, expected_version, step, within=within, conflict_retries=3)
        return need, bool(linked and linked[0])

    # -- dispatch ------------------------------------------------------------------------------------------
    async def start_dispatch(self, need_id: str, *, by: str, expected_version: int | None = None,
                             within: Transaction | None = None) -> tuple[Need, dict[str, Any]]:
        """Start the dispatch of a validated need (→ ``dispatching``, ``NeedDispatchStarted``) and
        store its state; the job :meth:`run_dispatches` runs it in the background."""
        state: dict[str, Any] = {}

        async def step(tx: Transaction, need: Need, now: datetime) -> None:
            size, cap = self.config.need_dispatch_batch_size, self.config.need_dispatch_cap
            need.start_dispatch(at=now, by=by, batch_size=size, cap=cap)
            state.clear()
            state.update({"_id": need.id, "status": DISPATCH_RUNNING, "cursor": None, "notified": 0, "batches": 0,
                          "batch_size": size, "cap": cap, "capped": False, "started_at": stored_instant(now),
                          "completed_at": None, "owner": None, "expires_at": EPOCH})
            await tx.db[NEED_DISPATCHES].replace_one({"_id": need.id}, state, upsert=True, session=tx.session)
        need = await self._step(need_id, expected_version, step, within=within)
        self._dispatch_started.set()  # this process's job starts it now (others poll)
        return need, state

    async def dispatch_state(self, need_id: str) -> dict[str, Any] | None:
        return await self.db[NEED_DISPATCHES].find_one({"_id": need_id})

    async def run_dispatches(self, *, wait: float = 0.0, limit: int = 100) -> int:
        """The job: claim each dispatch waiting to run (new, or whose process stopped renewing its
        lease) and run it to the end. Returns how many were run.

        ``wait``: first wait up to this many seconds, or until a dispatch is started in this
        process (the job then polls for other processes' dispatches at that period, and starts
        this process's own at once)."""
        if wait > 0:
            try:
                await asyncio.wait_for(self._dispatch_started.wait(), wait)
            except asyncio.TimeoutError:
                pass
        self._dispatch_started.clear()
        tried: list[str] = []
        while len(tried) < limit:
            query = {"status": DISPATCH_RUNNING, "_id": {"$nin": tried}, **lease_takeable()}
            for state in await self.db[NEED_DISPATCHES].find(query, {"_id": 1}).sort("expires_at", 1).limit(
                    limit).to_list():
                if await self.dispatch_lease(state["_id"]).acquire():  # free, expired or abandoned
                    break
            else:
                break  # none left to take
            tried.append(state["_id"])
            await self.run_dispatch(state["_id"])
        return len(tried)

    def dispatch_lease(self, need_id: str) -> Lease:
        """This process's lease on the dispatch of ``need_id`` (in its ``need_dispatches`` document)."""
        return Lease(self.db[NEED_DISPATCHES], need_id, seconds=self.config.need_dispatch_lease_seconds,
                     owner=self.owner, where={"status": DISPATCH_RUNNING}, create=False,
                     previous_field="lease_until")

    async def run_dispatch(self, need_id: str) -> None:
        """Run the batches of a dispatch this process holds, until it completes (or is no longer ours).

        The matching suppliers after the stored cursor are read once (one query, ``_id`` order),
        then notified batch after batch; a process that takes the dispatch over reads them again
        from the cursor it finds."""
        state = await self.db[NEED_DISPATCHES].find_one({"_id": need_id})
        need = await self.db[NEEDS].find_one({"_id": need_id})
        if state is None or need is None or state.get("owner") != self.owner:
            return
        target = matching.target_of(from_document(Need, need))
        query = matching.candidate_filter(target)
        if state.get("cursor") is not None:
            query["_id"] = {"$gt": state["cursor"]}
        candidates = [(s["_id"], s.get("organisation_id")) async for s in self.db[SUPPLIERS].find(
            query, SUPPLIER_FIELDS).sort("_id", 1) if matching.serves(s, target)]
        ids = [sid for sid, _ in candidates]
        while not await self._dispatch_batch(need_id, candidates, ids):
            pass

    async def _dispatch_batch(self, need_id: str, candidates: list[tuple[str, str | None]], ids: list[str]) -> bool:
        """One batch in one transaction: the next matching suppliers after the stored cursor, among
        ``candidates`` (``(supplier id, organisation id)`` in id order; ``ids`` their ids). True when
        the dispatch is over (completed, or not ours)."""
        async def work(tx: Transaction) -> bool:
            state = await tx.db[NEED_DISPATCHES].find_one({"_id": need_id}, session=tx.session)
            if state is None or state["status"] != DISPATCH_RUNNING or state.get("owner") != self.owner:
                return True
            need = await tx.get(NEEDS, Need, need_id)
            if need.status is not NeedStatus.DISPATCHING:
                await self._set_dispatch(tx, need_id, {"status": DISPATCH_ABORTED})
                return True
            now = self.now()
            want = max(0, min(state["batch_size"], state["cap"] - state["notified"]))
            start = 0 if state["cursor"] is None else bisect.bisect_right(ids, state["cursor"])
            taken = candidates[start:start + want]
            left = len(candidates) - start - len(taken)
            batch = state["batches"] + (1 if taken else 0)
            if taken:
                docs = []
                for supplier_id, organisation_id in taken:
                    row = SupplierFunnel.notify(need_id=need.id, supplier_id=supplier_id,
                                                organisation_id=organisation_id, batch=batch, at=now)
                    tx.events.extend(row.pull_events())
                    doc = to_document(row)
                    doc["version"] = 1
                    docs.append(doc)
                await tx.db[NEED_SUPPLIERS].insert_many(docs, ordered=True, session=tx.session)
            notified = state["notified"] + len(taken)
            done = left == 0 or notified >= state["cap"]
            update: dict[str, Any] = {"cursor": taken[-1][0] if taken else state["cursor"], "notified": notified,
                                      "batches": batch}
            if done:
                capped = left > 0
                need.complete_dispatch(at=now, notified=notified, batches=batch, capped=capped)
                await tx.save(NEEDS, need)
                update |= {"status": DISPATCH_COMPLETED, "capped": capped, "completed_at": stored_instant(now)}
            await self._set_dispatch(tx, need_id, update)
            return done
        return await self.db.transaction(work, conflict_retries=3)

    async def _set_dispatch(self, tx: Transaction, need_id: str, update: dict[str, Any]) -> None:
        """Write the dispatch's state and renew its lease, in ``tx``: only while this process holds it."""
        if not await self.dispatch_lease(need_id).renew(session=tx.session, also=update):
            raise Conflict(f"the dispatch of need {need_id} was taken over by another process")

    # -- the funnel ----------------------------------------------------------------------------------------
    async def take_step(self, need_id: str, supplier_id: str, step: FunnelStep | str, *, by_staff: bool,
                        feedback: str | None = None, within: Transaction | None = None) -> SupplierFunnel:
        """A notified supplier's step (through its link, or staff for it) → ``FunnelStepRecorded``
        (nothing when it changes nothing). 404 when the supplier was not notified of the need."""
        async def work(tx: Transaction) -> SupplierFunnel:
            need = await tx.db[NEEDS].find_one({"_id": need_id}, {"status": 1}, session=tx.session)
            if need is None:
                raise NotFound(f"Need {need_id!r} not found", resource="Need", id=need_id)
            row = await tx.find(NEED_SUPPLIERS, SupplierFunnel, funnel_id(need_id, supplier_id))
            if row is None:
                raise NotFound(f"supplier {supplier_id!r} was not notified of need {need_id}",
                               resource="SupplierFunnel")
            changed = row.take(step, need_status=NeedStatus(need["status"]), at=self.now(), by_staff=by_staff,
                               feedback=feedback)
            if changed or feedback is not None:
                await tx.save(NEED_SUPPLIERS, row)
            return row
        return await self.db.transaction(work, within=within, conflict_retries=5)

    async def take_step_by_link(self, token: str, step: FunnelStep | str, *, feedback: str | None = None,
                                within: Transaction | None = None) -> SupplierFunnel:
        need_id, supplier_id = self.tokens.read_supplier_link(token)
        return await self.take_step(need_id, supplier_id, step, by_staff=False, feedback=feedback, within=within)

    # -- questions ---------------------------------------------------------------------------------------
    async def ask(self, need_id: str, supplier_id: str, text: str, *,
                  within: Transaction | None = None) -> NeedQuestion:
        """A notified supplier's question (422 naming ``supplier_id`` when it was not notified)."""
        async def work(tx: Transaction) -> NeedQuestion:
            need = await tx.db[NEEDS].find_one({"_id": need_id}, {"status": 1}, session=tx.session)
            if need is None:
                raise NotFound(f"Need {need_id!r} not found", resource="Need", id=need_id)
            row = await tx.db[NEED_SUPPLIERS].find_one({"_id": funnel_id(need_id, supplier_id)}, {"_id": 1},
                                                       session=tx.session)
            if row is None:
                raise InvalidInput("supplier_id", f"supplier {supplier_id!r} was not notified of need {need_id}")
            question = NeedQuestion.ask(new_id("nq"), need_id=need_id, need_status=NeedStatus(need["status"]),
                                        supplier_id=supplier_id, text=text, at=self.now())
            await tx.save(NEED_QUESTIONS, question)
            return question
        return await self.db.transaction(work, within=within)

    async def ask_by_link(self, token: str, text: str, *, within: Transaction | None = None) -> NeedQuestion:
        need_id, supplier_id = self.tokens.read_supplier_link(token)
        return await self.ask(need_id, supplier_id, text, within=within)

    async def answer_question(self, need_id: str, question_id: str, text: str, *, by: str,
                              within: Transaction | None = None) -> NeedQuestion:
        async def work(tx: Transaction) -> NeedQuestion:
            question = await tx.find(NEED_QUESTIONS, NeedQuestion, question_id)
            if question is None or question.need_id != need_id:
                raise NotFound(f"need {need_id} has no question {question_id!r}", resource="NeedQuestion")
            if question.give_answer(text, at=self.now(), by=by):
                await tx.save(NEED_QUESTIONS, question)
            return question
        return await self.db.transaction(work, within=within, conflict_retries=3)

    # -- reminders -----------------------------------------------------------------------------------------
    async def close_past_deadline(self) -> int:
        """Close every dispatched need whose deadline has passed (by ``system``). Returns how many."""
        closed = 0
        cursor = self.db[NEEDS].find({"status": NeedStatus.DISPATCHED.value,
                                      "deadline_at": {"$lte": stored_instant(self.now())}}, {"_id": 1})
        for doc in await cursor.to_list():
            try:
                await self.close(doc["_id"], by="system", at_deadline=True)
                closed += 1
            except (Conflict, NotFound):
                continue  # changed meanwhile: the next run sees it
        return closed

    async def send_reminders(self) -> int:
        """The job: close the needs past their deadline, then remind the due suppliers of every
        dispatched need. Returns how many suppliers were reminded."""
        await self.close_past_deadline()
        reminded = 0
        for doc in await self.db[NEEDS].find({"status": NeedStatus.DISPATCHED.value}, {"_id": 1}).to_list():
            reminded += await self.remind_need(doc["_id"])
        return reminded

    async def remind_need(self, need_id: str) -> int:
        """Remind the due suppliers of one need (several transactions of at most 2,000 each)."""
        total = 0
        while True:
            try:
                count, more = await self._remind_round(need_id)
            except (Conflict, NotFound):
                return total  # closed or changed meanwhile
            total += count
            if not more:
                return total

    async def _remind_round(self, need_id: str) -> tuple[int, bool]:
        policy = self.reminder_policy

        async def work(tx: Transaction) -> tuple[int, bool]:
            now = self.now()
            need = await tx.get(NEEDS, Need, need_id)
            if need.status is not NeedStatus.DISPATCHED or policy.max_reminders == 0:
                return 0, False
            query = {"need_id": need_id, "answered_at": None, "stance": {"$ne": FunnelStep.NOT_INTERESTED.value},
                     "reminders": {"$lt": policy.max_reminders},
                     "notified_at": {"$lte": stored_instant(now - policy.first_after)}}
            due: list[SupplierFunnel] = []
            async for doc in tx.db[NEED_SUPPLIERS].find(query, session=tx.session).sort("_id", 1):
                row = from_document(SupplierFunnel, doc)
                if reminder_due(row, now, policy):
                    due.append(row)
                    if len(due) == MAX_REMINDERS_PER_TRANSACTION:
                        break
            if not due:
                return 0, False
            need.remind([(row.supplier_id, remind(row, now)) for row in due], at=now)
            await tx.save(NEEDS, need)  # a concurrent closing conflicts here: no reminder after it
            await tx.db[NEED_SUPPLIERS].update_many(
                {"_id": {"$in": [row.id for row in due]}},
                {"$inc": {"reminders": 1, "version": 1}, "$set": {"last_reminded_at": stored_instant(now)}},
                session=tx.session)
            return len(due), len(due) == MAX_REMINDERS_PER_TRANSACTION
        return await self.db.transaction(work)

    # -- impact survey --------------------------------------------------------------------------------------
    async def open_impact_surveys(self) -> int:
        """The job: open the impact surveys due (the delay after the deadline has passed): the
        buyer's, and each awarded supplier's. Returns how many were opened."""
        delay = timedelta(days=self.config.need_impact_delay_days)
        cutoff = stored_instant(self.now() - delay)
        opened = 0
        query = {"status": {"$in": [NeedStatus.DISPATCHED.value, NeedStatus.CLOSED.value, NeedStatus.AWARDED.value]},
                 "impact_complete": {"$ne": True}, "deadline_at": {"$lte": cutoff}}
        for doc in await self.db[NEEDS].find(query, {"_id": 1}).to_list():
            try:
                opened += await self._open_impact(doc["_id"], delay)
            except (Conflict, NotFound):
                continue
        return opened

    async def _open_impact(self, need_id: str, delay: timedelta) -> int:
        async def work(tx: Transaction) -> int:
            now = self.now()
            need = await tx.get(NEEDS, Need, need_id)
            due = need.impact_due(now, delay)
            if not due:
                return 0
            for kind, respondent_id in due:
                await tx.save(IMPACT_SURVEYS, ImpactSurvey.open(need_id=need.id, respondent=kind,
                                                                respondent_id=respondent_id, at=now))
            need.impact_opened(due, at=now)
            await tx.save(NEEDS, need)
            return len(due)
        return await self.db.transaction(work)

    async def answer_impact(self, token: str, answer: ImpactAnswer | str, *, amount_cents: int | None = None,
                            comment: str | None = None, within: Transaction | None = None) -> ImpactSurvey:
        """A respondent's answer through its link → ``ImpactSurveyAnswered`` (when it changed)."""
        survey_id = self.tokens.read_impact_link(token)

        async def work(tx: Transaction) -> ImpactSurvey:
            survey = await tx.find(IMPACT_SURVEYS, ImpactSurvey, survey_id)
            if survey is None:
                raise NotFound("no impact survey for this link", resource="ImpactSurvey")
            if survey.give(answer, amount_cents=amount_cents, comment=comment, at=self.now()):
                await tx.save(IMPACT_SURVEYS, survey)
            return survey
        return await self.db.transaction(work, within=within, conflict_retries=3)

    # -- the reserved-contract assistant -----------------------------------------------------------------------
    async def reservation_advice(self, need_id: str) -> dict[str, Any]:
        """Count the eligible suppliers in the need's territory and sectors per kind family, and
        recommend (reserved contract, reserved lot, social clause, social award criterion)."""
        need = await self.db.get(NEEDS, Need, need_id)
        target = matching.target_of(need, kinds=None)
        matches = [s async for s in self.db[SUPPLIERS].find(matching.candidate_filter(target), SUPPLIER_FIELDS)
                   if matching.serves(s, target)]
        turnovers = await _turnovers(self.db, [s.get("organisation_id") for s in matches])
        spend = need.spend_cents()
        families = []
        for family, (kinds, article) in matching.FAMILIES.items():
            eligible = [s for s in matches if kinds is None or kinds.intersection(s.get("kinds") or [])]
            known = [turnovers[s["organisation_id"]] for s in eligible if s.get("organisation_id") in turnovers]
            average = sum(known) // len(known) if known else None
            advice = recommend(len(eligible), spend or 0, average)
            families.append({
                "family": family, "article": article.value, "eligible_suppliers": len(eligible),
                "average_turnover_cents": average, "turnovers_known": len(known),
                "dependency": round(spend / average, 4) if spend is not None and average else None,
                "recommendation": {"kind": str(advice.kind), "articles": list(advice.articles), "why": advice.why}})
        best = max(families[:2], key=lambda f: (_STRENGTH.get(f["recommendation"]["kind"], 0), f["eligible_suppliers"]))
        why = (f"{best['family']} suppliers ({best['article']}) give the strongest option: "
               f"{best['recommendation']['why']}")
        if spend is None:
            why += "; the need gives no amount, so the economic dependency was not assessed"
        return {"need_id": need.id, "departement": need.place.departement, "commune": need.place.commune,
                "sectors": [s.value for s in need.sectors], "spend_cents": spend, "families": families,
                "recommended": {**best["recommendation"], "family": best["family"], "why": why}}


_STRENGTH = {"reserved_contract": 4, "reserved_lot": 3, "social_clause": 2, "social_award_criterion": 1}


async def _turnovers(db: Database, organisation_ids: list[str | None]) -> dict[str, int]:
    ids = sorted({o for o in organisation_ids if o})
    if not ids:
        return {}
    return {d["_id"]: int(d["annual_budget_cents"])
            async for d in db[members.ORGANISATIONS].find({"_id": {"$in": ids}}, {"annual_budget_cents": 1})
            if isinstance(d.get("annual_budget_cents"), int) and d["annual_budget_cents"] > 0}
