"""Who is a member in good standing, learnt from membership's events only (a local projection).

The events service never calls the membership API: a consumer of ``membership.member`` keeps one
document per organisation in ``member_standing`` (status, whether in good standing, since when,
and the time of the last event applied). Member-only and member-priority events read it.

In good standing = the last status the member's events gave is ``active`` or ``grace_period``
(late dues within the grace period keep the discount, as in membership's own rule). A member
whose grace period has ended but whose lapse membership has not recorded yet still counts as in
good standing here until the ``membership-lapsed`` event arrives (membership records lapses
daily). An event older than the one applied last (a replayed dead letter) changes nothing.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from contracts.envelope import CloudEvent
from contracts.membership import (MemberActivated, MembershipEnteredGracePeriod, MembershipLapsed,
                                  MembershipRenewed, MembershipWithdrawn, MemberStatus)
from runtime.mongo import Transaction

STANDING = "member_standing"
GOOD = (MemberStatus.ACTIVE, MemberStatus.GRACE_PERIOD)


async def _apply(tx: Transaction, envelope: CloudEvent, organisation_id: str, status: MemberStatus,
                 on: date, **extra: Any) -> None:
    current = await tx.db[STANDING].find_one({"_id": organisation_id}, {"as_of": 1}, session=tx.session)
    if current is not None and current["as_of"] > envelope.time:
        return  # an older event, replayed: the newer state stands
    await tx.db[STANDING].update_one(
        {"_id": organisation_id},
        {"$set": {"status": status.value, "in_good_standing": status in GOOD, "status_since": on.isoformat(),
                  "as_of": envelope.time, **extra}},
        upsert=True, session=tx.session)


async def on_member_activated(event: MemberActivated, tx: Transaction, envelope: CloudEvent) -> None:
    await _apply(tx, envelope, event.organisation_id, MemberStatus.ACTIVE, event.since, member_since=event.since.isoformat())


async def on_grace_period(event: MembershipEnteredGracePeriod, tx: Transaction, envelope: CloudEvent) -> None:
    await _apply(tx, envelope, event.organisation_id, MemberStatus.GRACE_PERIOD, event.entered_on)


async def on_lapsed(event: MembershipLapsed, tx: Transaction, envelope: CloudEvent) -> None:
    await _apply(tx, envelope, event.organisation_id, MemberStatus.LAPSED, event.lapsed_on)


async def on_renewed(event: MembershipRenewed, tx: Transaction, envelope: CloudEvent) -> None:
    await _apply(tx, envelope, event.organisation_id, event.status, event.renewed_on)


async def on_withdrawn(event: MembershipWithdrawn, tx: Transaction, envelope: CloudEvent) -> None:
    await _apply(tx, envelope, event.organisation_id, MemberStatus.WITHDRAWN, event.withdrawn_on)


async def in_good_standing(tx: Transaction, organisation_id: str | None) -> bool:
    """Whether the organisation is a member in good standing (False for an unknown one)."""
    if not organisation_id:
        return False
    doc = await tx.db[STANDING].find_one({"_id": organisation_id}, {"in_good_standing": 1}, session=tx.session)
    return bool(doc and doc["in_good_standing"])


def standing_view(doc: dict[str, Any] | None, organisation_id: str) -> dict[str, Any]:
    """What the API shows of an organisation's standing as this service knows it."""
    if doc is None:
        return {"organisation_id": organisation_id, "known": False, "in_good_standing": False, "status": None,
                "status_since": None, "as_of": None}
    as_of = doc.get("as_of")
    return {"organisation_id": organisation_id, "known": True, "in_good_standing": doc["in_good_standing"],
            "status": doc["status"], "status_since": doc.get("status_since"),
            "as_of": as_of.isoformat() if isinstance(as_of, datetime) else as_of}
