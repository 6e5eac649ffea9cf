"""What every other service knows of membership, learnt from membership's events only.

Services never call the membership API: each keeps, in its own database, local projections of
``membership.organisation`` and ``membership.member`` built by the consumer
:func:`membership_view` returns (one line in a bootstrap's consumers):

- ``organisations``: the public profile of every ESS organisation known to the chamber (SIRET,
  name, legal form, ESUS agreement, département, commune, sector, headcount, budget) — legal
  entities, no personal data;
- ``member_standing``: per organisation, its membership status now **and its history**, so that
  "was it a member in good standing on 2024-03-15?" has an answer (a quote's discount, a vote).

In good standing = the status the member's events gave is ``active`` or ``grace_period`` (late
dues within the grace period keep the member's rights, as in membership's own rule). A member
whose grace period has ended but whose lapse membership has not recorded yet still counts as in
good standing until the ``membership-lapsed`` event arrives (membership records lapses daily).

Replays are harmless: the current state moves only for an event newer than the one applied last,
and each event enters the history once (by its CloudEvents id), in business-date order, so a
dead letter replayed late lands in its place in the history.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from contracts.envelope import CloudEvent
from contracts.membership import (MemberActivated, MembershipEnteredGracePeriod, MembershipLapsed,
                                  MembershipRenewed, MembershipWithdrawn, MemberStatus,
                                  OrganisationRegistered, OrganisationUpdated)
from runtime import standing
from runtime.consumer import Consumer, Subscription
from runtime.mongo import Database, Transaction

ORGANISATIONS = "organisations"
STANDING = "member_standing"
GOOD = (MemberStatus.ACTIVE, MemberStatus.GRACE_PERIOD)
_PROFILE = ("siret", "name", "legal_form", "esus_agreed", "esus_agreed_on", "departement", "commune", "sector",
            "headcount", "annual_budget_cents")


# -- organisations ----------------------------------------------------------------------------

async def _profile(tx: Transaction, envelope: CloudEvent, event: OrganisationRegistered | OrganisationUpdated,
                   **extra: Any) -> None:
    current = await tx.db[ORGANISATIONS].find_one({"_id": event.organisation_id}, {"as_of": 1}, session=tx.session)
    if current is not None and current["as_of"] > envelope.time:
        return  # an older profile, replayed: the newer one stands
    profile = event.model_dump(mode="json", include=set(_PROFILE))
    await tx.db[ORGANISATIONS].update_one({"_id": event.organisation_id},
                                          {"$set": {**profile, "as_of": envelope.time, **extra}},
                                          upsert=True, session=tx.session)


async def on_organisation_registered(event: OrganisationRegistered, tx: Transaction, envelope: CloudEvent) -> None:
    await _profile(tx, envelope, event, registered_on=event.registered_on.isoformat())


async def on_organisation_updated(event: OrganisationUpdated, tx: Transaction, envelope: CloudEvent) -> None:
    await _profile(tx, envelope, event)


async def organisation(db: Database | Transaction, organisation_id: str) -> dict[str, Any] | None:
    """The organisation's public profile as this service knows it (None when unknown)."""
    tx = db if isinstance(db, Transaction) else None
    database = tx.db if tx else db
    return await database[ORGANISATIONS].find_one({"_id": organisation_id}, session=tx.session if tx else None)


# -- standing, with its history ---------------------------------------------------------------

async def _standing(tx: Transaction, envelope: CloudEvent, organisation_id: str, status: MemberStatus,
                    on: date, **extra: Any) -> None:
    collection = tx.db[STANDING]
    current = await collection.find_one({"_id": organisation_id}, {"as_of": 1, "history": 1}, session=tx.session)
    history = list((current or {}).get("history", []))
    if any(entry["event_id"] == envelope.id for entry in history):
        return  # applied already
    history.append({"status": status.value, "in_good_standing": status in GOOD, "on": on.isoformat(),
                    "at": envelope.time, "event_id": envelope.id})
    history.sort(key=lambda entry: (entry["on"], entry["at"]))
    update: dict[str, Any] = {"history": history}
    if current is None or current["as_of"] <= envelope.time:
        update |= {"status": status.value, "in_good_standing": status in GOOD, "status_since": on.isoformat(),
                   "as_of": envelope.time, **extra}
    await collection.update_one({"_id": organisation_id}, {"$set": update}, upsert=True, session=tx.session)


async def on_member_activated(event: MemberActivated, tx: Transaction, envelope: CloudEvent) -> None:
    await _standing(tx, envelope, event.organisation_id, MemberStatus.ACTIVE, event.since,
                    member_since=event.since.isoformat())


async def on_grace_period(event: MembershipEnteredGracePeriod, tx: Transaction, envelope: CloudEvent) -> None:
    await _standing(tx, envelope, event.organisation_id, MemberStatus.GRACE_PERIOD, event.entered_on)


async def on_lapsed(event: MembershipLapsed, tx: Transaction, envelope: CloudEvent) -> None:
    await _standing(tx, envelope, event.organisation_id, MemberStatus.LAPSED, event.lapsed_on)


async def on_renewed(event: MembershipRenewed, tx: Transaction, envelope: CloudEvent) -> None:
    await _standing(tx, envelope, event.organisation_id, event.status, event.renewed_on)


async def on_withdrawn(event: MembershipWithdrawn, tx: Transaction, envelope: CloudEvent) -> None:
    await _standing(tx, envelope, event.organisation_id, MemberStatus.WITHDRAWN, event.withdrawn_on)


def standing_on(doc: dict[str, Any] | None, on: date | None = None) -> dict[str, Any] | None:
    """The history entry in force on ``on`` (the latest one when ``on`` is None), or None when the
    organisation was not a member yet (or is unknown)."""
    return standing.entry_on((doc or {}).get("history"), on)


async def in_good_standing(tx: Transaction, organisation_id: str | None, on: date | None = None) -> bool:
    """Whether the organisation is a member in good standing — now, or on the date ``on`` (False
    for an unknown organisation, or one that was not a member yet on that date)."""
    if not organisation_id:
        return False
    doc = await tx.db[STANDING].find_one({"_id": organisation_id}, session=tx.session)
    if on is None:
        return bool(doc and doc["in_good_standing"])
    return standing.in_good_standing_on((doc or {}).get("history"), on)


def standing_view(doc: dict[str, Any] | None, organisation_id: str, on: date | None = None) -> dict[str, Any]:
    """What an API shows of an organisation's standing as this service knows it (now, or on ``on``)."""
    if doc is None:
        return {"organisation_id": organisation_id, "known": False, "in_good_standing": False, "status": None,
                "status_since": None, "as_of": None}
    if on is not None:
        entry = standing_on(doc, on)
        return {"organisation_id": organisation_id, "known": True, "on": on.isoformat(),
                "in_good_standing": bool(entry and entry["in_good_standing"]),
                "status": entry["status"] if entry else None, "status_since": entry["on"] if entry else None,
                "as_of": _iso(entry["at"]) if entry else None}
    return {"organisation_id": organisation_id, "known": True, "in_good_standing": doc["in_good_standing"],
            "status": doc["status"], "status_since": doc.get("status_since"), "as_of": _iso(doc.get("as_of"))}


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def membership_view(group: str, *, organisations: bool = True, standing: bool = True) -> Consumer:
    """The consumer (group ``group``) that keeps this service's copy of membership: the member
    standing with its history (unless ``standing=False``: a service whose own consumer applies
    these handlers in its transactions) and (unless ``organisations=False``) the organisations'
    profiles."""
    subscriptions = []
    if standing:
        subscriptions += [Subscription(MemberActivated, on_member_activated),
                          Subscription(MembershipEnteredGracePeriod, on_grace_period),
                          Subscription(MembershipLapsed, on_lapsed),
                          Subscription(MembershipRenewed, on_renewed),
                          Subscription(MembershipWithdrawn, on_withdrawn)]
    if organisations:
        subscriptions += [Subscription(OrganisationRegistered, on_organisation_registered),
                          Subscription(OrganisationUpdated, on_organisation_updated)]
    return Consumer(group, subscriptions)


async def ensure_indexes(db: Database) -> None:
    await db[ORGANISATIONS].create_index("siret")
    await db[ORGANISATIONS].create_index([("departement", 1), ("sector", 1)])
