"""Procurement's copy of the business meetings held at conventions, from the events service's
events only (topic ``events.convention``): ``MeetingHeld``, ``MeetingNotHeld`` and
``MeetingOutcomeRecorded``.

Collection ``convention_meetings``, ``_id`` = the meeting id: ``convention_id``,
``participant_ids``, ``slot_id``, ``held`` (True, False, or absent until known), ``held_at`` /
``marked_at``, and the latest outcome (``outcome``, ``outcome_amount_cents``, ``outcome_need_id``,
``outcome_contract_id``, ``outcome_at``). A need can be linked to a meeting known here
(``POST /needs/{id}/meetings``); the figures then tie conventions to the contracts that came of
their meetings.

Replays and disorder are harmless: the held / not-held facts keep the latest by their own instant,
the outcome keeps the latest by ``recorded_at``; an outcome implies the meeting was held.
"""
from __future__ import annotations

from typing import Any

from contracts.envelope import CloudEvent
from contracts.events.conventions import MeetingHeld, MeetingNotHeld, MeetingOutcomeRecorded
from runtime.consumer import Consumer, Subscription
from runtime.mongo import Transaction, stored_instant
from services.procurement.adapters.needs import CONVENTION_MEETINGS


def _identity(event: MeetingHeld | MeetingNotHeld | MeetingOutcomeRecorded) -> dict[str, Any]:
    return {"convention_id": event.convention_id, "participant_ids": list(event.participant_ids),
            "slot_id": event.slot_id, "table": event.table}


async def _held(tx: Transaction, meeting_id: str, identity: dict[str, Any], held: bool, at: str) -> None:
    current = await tx.db[CONVENTION_MEETINGS].find_one({"_id": meeting_id}, {"held_fact_at": 1}, session=tx.session)
    if current is not None and current.get("held_fact_at") is not None and current["held_fact_at"] > at:
        return  # an older fact, replayed: the newer stands
    await tx.db[CONVENTION_MEETINGS].update_one(
        {"_id": meeting_id}, {"$set": {**identity, "held": held, "held_fact_at": at}}, upsert=True,
        session=tx.session)


async def on_meeting_held(event: MeetingHeld, tx: Transaction, envelope: CloudEvent) -> None:
    await _held(tx, event.meeting_id, _identity(event), True, stored_instant(event.held_at))


async def on_meeting_not_held(event: MeetingNotHeld, tx: Transaction, envelope: CloudEvent) -> None:
    await _held(tx, event.meeting_id, _identity(event), False, stored_instant(event.marked_at))


async def on_meeting_outcome(event: MeetingOutcomeRecorded, tx: Transaction, envelope: CloudEvent) -> None:
    at = stored_instant(event.recorded_at)
    current = await tx.db[CONVENTION_MEETINGS].find_one({"_id": event.meeting_id}, {"outcome_at": 1},
                                                        session=tx.session)
    if current is not None and current.get("outcome_at") is not None and current["outcome_at"] > at:
        return
    await tx.db[CONVENTION_MEETINGS].update_one(
        {"_id": event.meeting_id},
        {"$set": {**_identity(event), "outcome": event.outcome.value, "outcome_amount_cents": event.amount_cents,
                  "outcome_need_id": event.need_id, "outcome_contract_id": event.contract_id, "outcome_at": at}},
        upsert=True, session=tx.session)


def convention_meetings_view(group: str) -> Consumer:
    """The consumer (group ``group``) that keeps ``convention_meetings``."""
    return Consumer(group, [
        Subscription(MeetingHeld, on_meeting_held),
        Subscription(MeetingNotHeld, on_meeting_not_held),
        Subscription(MeetingOutcomeRecorded, on_meeting_outcome),
    ])
