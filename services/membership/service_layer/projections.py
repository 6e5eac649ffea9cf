"""The yearly-statistics read model, kept by a consumer of the service's own member events
(subscribed in ``services/membership/bootstrap.py``).

One document per year in ``yearly_statistics`` with counters; each handler increments them
inside the consumer's transaction, with the processed-event record, so a redelivered event
changes nothing. Dues invoiced, collected and written off are counted by the year they are for
(the 2023 dues, whenever paid); ``dues_received_cents`` counts the payments by the year the money
came in (a 2023 payment of the 2022 dues counts in 2023 there, in 2022 in ``dues_collected_cents``).
"""
from __future__ import annotations

from contracts.membership import (ApplicationAdmitted, ApplicationRefused, ApplicationSubmitted,
                                  ApplicationWithdrawn, DuesInvoiced,
                                  DuesPaymentRecorded, MemberActivated, MembershipLapsed, MembershipRenewed,
                                  MembershipWithdrawn, MemberStatus)
from pymongo import UpdateOne

from runtime.mongo import Transaction
from services.membership.adapters.repository import STATISTICS


async def _inc(tx: Transaction, year: int, **counters: int) -> None:
    tx.stage(STATISTICS, UpdateOne({"_id": year}, {"$inc": counters}, upsert=True))


async def on_application_submitted(event: ApplicationSubmitted, tx: Transaction, _) -> None:
    await _inc(tx, event.submitted_on.year, applications_submitted=1)


async def on_application_admitted(event: ApplicationAdmitted, tx: Transaction, _) -> None:
    await _inc(tx, event.decided_on.year, applications_admitted=1)


async def on_application_refused(event: ApplicationRefused, tx: Transaction, _) -> None:
    await _inc(tx, event.decided_on.year, applications_refused=1)


async def on_application_withdrawn(event: ApplicationWithdrawn, tx: Transaction, _) -> None:
    await _inc(tx, event.withdrawn_on.year, applications_withdrawn=1)


async def on_member_activated(event: MemberActivated, tx: Transaction, _) -> None:
    if event.period > 1:  # joined again after a withdrawal or lapse: counted in "activated" too
        await _inc(tx, event.since.year, activated=1, rejoined=1)
    else:
        await _inc(tx, event.since.year, activated=1)


async def on_dues_invoiced(event: DuesInvoiced, tx: Transaction, _) -> None:
    await _inc(tx, event.year, dues_invoiced_cents=event.amount_cents)


async def on_dues_payment_recorded(event: DuesPaymentRecorded, tx: Transaction, _) -> None:
    await _inc(tx, event.year, dues_collected_cents=event.amount_cents)  # by dues year
    await _inc(tx, event.paid_on.year, dues_received_cents=event.amount_cents)  # by the year the money came in


async def on_membership_lapsed(event: MembershipLapsed, tx: Transaction, _) -> None:
    await _inc(tx, event.lapsed_on.year, lapsed=1)
    await _inc(tx, event.year, dues_written_off_cents=event.written_off_cents)


async def on_membership_renewed(event: MembershipRenewed, tx: Transaction, _) -> None:
    if event.previous_status is MemberStatus.LAPSED:
        await _inc(tx, event.renewed_on.year, reinstated=1)


async def on_membership_withdrawn(event: MembershipWithdrawn, tx: Transaction, _) -> None:
    if event.previous_status is not MemberStatus.LAPSED:  # a lapsed member had already left the count
        await _inc(tx, event.withdrawn_on.year, withdrawn=1)

