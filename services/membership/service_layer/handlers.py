"""The membership service's commands: load the aggregates, call the domain, save in one transaction.

Each command is one MongoDB transaction: the aggregates it changes and the events they
recorded (the outbox) commit together. Every command takes ``within=``: a transaction to run
in instead of its own (a consumer's handler calling a command commits both together).
``expected_version`` (from ``If-Match``) makes a stale write fail with 412; two concurrent
writes never silently overwrite each other (the versioned save raises 409, or the
transaction is retried on fresh state).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, TypeVar

from runtime.aggregate import Aggregate, check_version, new_id
from runtime.errors import Conflict
from runtime.mongo import Database, Transaction, from_document
from services.membership.adapters.repository import APPLICATIONS, FEE_SCALES, MEMBERS, ORGANISATIONS
from services.membership.domain import (ApplicationStatus, DuesTerms, FeeScale, Member, MemberStatus,
                                        MembershipApplication, Organisation)
from services.membership.domain.fee_scales import DuesYearScale


A = TypeVar("A", bound=Aggregate)




class MembershipService:
    """The commands, bound to the service's database and dues configuration."""

    def __init__(self, db: Database, fee_scale: FeeScale, terms: DuesTerms) -> None:
        self.db = db
        self.fee_scale = fee_scale
        self.terms = terms

    # -- organisations -----------------------------------------------------------------
    async def register_organisation(self, profile: dict[str, Any], *, on: date,
                                    within: Transaction | None = None) -> Organisation:
        async def work(tx: Transaction) -> Organisation:
            org = Organisation.register(new_id("org"), on=on, **profile)
            await tx.save(ORGANISATIONS, org, conflict=f"an organisation with SIRET {org.siret} is already registered")
            return org
        return await self.db.transaction(work, within=within)

    async def _change(self, collection: str, model: type[A], aggregate_id: str, expected_version: int | None,
                      step: Callable[[Transaction, A], Awaitable[Any]], conflict: str | None = None,
                      within: Transaction | None = None) -> A:
        """Load one aggregate, check ``If-Match``, apply ``step``, save: one transaction."""
        async def work(tx: Transaction) -> A:
            aggregate = await tx.get(collection, model, aggregate_id)
            check_version(aggregate, expected_version)
            await step(tx, aggregate)
            if aggregate.pending_events:
                await tx.save(collection, aggregate, conflict=conflict)
            return aggregate
        return await self.db.transaction(work, within=within)

    async def update_organisation(self, org_id: str, changes: dict[str, Any], *, on: date,
                                  expected_version: int | None = None,
                                  within: Transaction | None = None) -> Organisation:
        async def step(tx: Transaction, org: Organisation) -> None:
            org.update(on=on, **changes)
        return await self._change(ORGANISATIONS, Organisation, org_id, expected_version, step,
                                  conflict=f"an organisation with SIRET {changes.get('siret')} is already registered",
                                  within=within)

    async def add_contact(self, org_id: str, contact: dict[str, Any], *, on: date,
                          expected_version: int | None = None, within: Transaction | None = None) -> Organisation:
        async def step(tx: Transaction, org: Organisation) -> None:
            org.add_contact(new_id("ct"), on=on, **contact)
        return await self._change(ORGANISATIONS, Organisation, org_id, expected_version, step, within=within)

    async def remove_contact(self, org_id: str, contact_id: str, *, on: date,
                             expected_version: int | None = None, within: Transaction | None = None) -> Organisation:
        async def step(tx: Transaction, org: Organisation) -> None:
            org.remove_contact(contact_id, on=on)
        return await self._change(ORGANISATIONS, Organisation, org_id, expected_version, step, within=within)

    # -- applications ------------------------------------------------------------------
    async def submit_application(self, org_id: str, *, on: date,
                                 within: Transaction | None = None) -> MembershipApplication:
        async def work(tx: Transaction) -> MembershipApplication:
            org = await tx.get(ORGANISATIONS, Organisation, org_id)
            member = await tx.find(MEMBERS, Member, org_id)
            if member is not None and member.status not in (MemberStatus.WITHDRAWN, MemberStatus.LAPSED):
                raise Conflict(f"organisation {org_id} is already a member ({member.status.value})",
                               current_state=member.status.value)
            open_states = [s.value for s in ApplicationStatus
                           if s not in (ApplicationStatus.ADMITTED, ApplicationStatus.REFUSED,
                                        ApplicationStatus.WITHDRAWN)]
            pending = await tx.collection(APPLICATIONS).find_one(
                {"organisation_id": org_id, "status": {"$in": open_states}}, {"_id": 1}, session=tx.session)
            if pending is not None:
                raise Conflict(f"organisation {org_id} already has an open application {pending['_id']}",
                               application_id=pending["_id"])
            application = MembershipApplication.submit(new_id("app"), organisation=org, on=on)
            await tx.save(APPLICATIONS, application)
            return application
        return await self.db.transaction(work, within=within)

    async def _application_step(self, app_id: str, expected_version: int | None, step,
                                within: Transaction | None) -> MembershipApplication:
        async def apply(tx: Transaction, application: MembershipApplication) -> None:
            step(application)
        return await self._change(APPLICATIONS, MembershipApplication, app_id, expected_version, apply,
                                  within=within)

    async def hold_welcome_meeting(self, app_id: str, *, on: date, expected_version: int | None = None,
                                   within: Transaction | None = None):
        return await self._application_step(app_id, expected_version, lambda a: a.hold_welcome_meeting(on=on), within)

    async def review_statutes(self, app_id: str, findings: list[dict[str, Any]], *, on: date,
                              expected_version: int | None = None, within: Transaction | None = None):
        return await self._application_step(app_id, expected_version,
                                            lambda a: a.review_statutes(findings, on=on), within)

    async def admit(self, app_id: str, *, on: date, board_meeting_ref: str | None = None,
                    expected_version: int | None = None, within: Transaction | None = None):
        return await self._application_step(app_id, expected_version,
                                            lambda a: a.admit(on=on, board_meeting_ref=board_meeting_ref), within)

    async def refuse(self, app_id: str, reason: str, *, on: date, board_meeting_ref: str | None = None,
                     expected_version: int | None = None, within: Transaction | None = None):
        return await self._application_step(
            app_id, expected_version, lambda a: a.refuse(reason, on=on, board_meeting_ref=board_meeting_ref), within)

    async def withdraw_application(self, app_id: str, *, on: date, reason: str | None = None,
                                   expected_version: int | None = None, within: Transaction | None = None):
        return await self._application_step(app_id, expected_version,
                                            lambda a: a.withdraw(on=on, reason=reason), within)

    # -- members and dues --------------------------------------------------------------
    async def activate_member(self, app_id: str, *, on: date, within: Transaction | None = None) -> Member:
        async def work(tx: Transaction) -> Member:
            application = await tx.get(APPLICATIONS, MembershipApplication, app_id)
            org = await tx.get(ORGANISATIONS, Organisation, application.organisation_id)
            existing = await tx.find(MEMBERS, Member, org.id)
            if existing is not None:  # withdrawn or lapsed: a new membership period (else a Conflict)
                existing.start_period(application=application, organisation=org,
                                      fee_scale=await self.scale_for(on.year, tx), terms=self.terms, on=on)
                await tx.save(MEMBERS, existing)
                return existing
            member = Member.activate(application=application, organisation=org,
                                     fee_scale=await self.scale_for(on.year, tx), terms=self.terms, on=on)
            await tx.save(MEMBERS, member)
            return member
        return await self.db.transaction(work, within=within)

    async def _member_step(self, member_id: str, expected_version: int | None, step,
                           within: Transaction | None) -> Member:
        return await self._change(MEMBERS, Member, member_id, expected_version, step, within=within)

    async def invoice_dues(self, member_id: str, year: int, *, on: date, expected_version: int | None = None,
                           within: Transaction | None = None):
        async def step(tx: Transaction, member: Member) -> None:
            org = await tx.get(ORGANISATIONS, Organisation, member.id)
            member.invoice_dues(year, organisation=org, fee_scale=await self.scale_for(year, tx), terms=self.terms,
                                on=on)
        return await self._member_step(member_id, expected_version, step, within)

    async def record_payment(self, member_id: str, year: int, *, amount_cents: int, payment_id: str | None,
                             method: str, on: date, expected_version: int | None = None,
                             within: Transaction | None = None):
        member, _ = await self.record_payment_once(member_id, year, amount_cents=amount_cents, payment_id=payment_id,
                                                   method=method, on=on, expected_version=expected_version,
                                                   within=within)
        return member

    async def record_payment_once(self, member_id: str, year: int, *, amount_cents: int, payment_id: str | None,
                                  method: str, on: date, expected_version: int | None = None,
                                  within: Transaction | None = None) -> tuple[Member, bool]:
        """Record a payment; ``(member, True)`` when ``payment_id`` was recorded before with the
        same year, amount and method (nothing written: the first record stands). A replay is
        not held to ``If-Match`` (the version it read may be the one its first send made stale)."""
        async def work(tx: Transaction) -> tuple[Member, bool]:
            member = await tx.get(MEMBERS, Member, member_id)
            if payment_id is None or member.recorded_payment(payment_id) is None:
                check_version(member, expected_version)
            member.record_payment(year, amount_cents=amount_cents, payment_id=payment_id or new_id("pay"),
                                  method=method, on=on)
            if not member.pending_events:
                return member, True
            await tx.save(MEMBERS, member)
            return member, False
        return await self.db.transaction(work, within=within)

    async def send_reminder(self, member_id: str, year: int, *, on: date, expected_version: int | None = None,
                            within: Transaction | None = None):
        async def step(tx: Transaction, member: Member) -> None:
            member.send_dues_reminder(year, on=on)
        return await self._member_step(member_id, expected_version, step, within)

    async def withdraw(self, member_id: str, reason: str, *, on: date, detail: str | None = None,
                       expected_version: int | None = None, within: Transaction | None = None):
        async def step(tx: Transaction, member: Member) -> None:
            member.withdraw(reason, on=on, detail=detail)
        return await self._member_step(member_id, expected_version, step, within)

    # -- fee scales per dues year -------------------------------------------------------
    async def scale_for(self, year: int, tx: Transaction | None = None) -> FeeScale:
        """The scale invoicing ``year`` uses: the one adopted for it, else the settings' default.
        (The organisation's size is read when invoicing: a change of size changes next year's dues.)"""
        if tx is not None:
            voted = await tx.find(FEE_SCALES, DuesYearScale, str(year))
        else:
            doc = await self.db[FEE_SCALES].find_one({"_id": str(year)})
            voted = from_document(DuesYearScale, doc) if doc is not None else None
        return voted.scale if voted is not None else self.fee_scale

    async def adopt_fee_scale(self, year: int, brackets: list[dict[str, Any]], *, on: date,
                              reference: str | None = None, force: bool = False,
                              within: Transaction | None = None) -> tuple[DuesYearScale, bool]:
        """Set or replace the scale of dues ``year`` (see :mod:`..domain.fee_scales`); returns it
        and whether it was created."""
        async def work(tx: Transaction) -> tuple[DuesYearScale, bool]:
            issued = await tx.collection(MEMBERS).count_documents({"invoices.year": year}, session=tx.session)
            current = await tx.find(FEE_SCALES, DuesYearScale, str(year))
            if current is None:
                current = DuesYearScale.adopt(year, brackets, on=on, reference=reference, invoices_issued=issued,
                                              force=force)
                await tx.save(FEE_SCALES, current, conflict=f"the fee scale of {year} was adopted meanwhile")
                return current, True
            if current.replace(brackets, on=on, reference=reference, invoices_issued=issued, force=force):
                await tx.save(FEE_SCALES, current)
            return current, False
        return await self.db.transaction(work, within=within)

    # -- batches (each member in its own transaction) -----------------------------------
    async def _member_ids(self, statuses: list[str]) -> list[str]:
        return [d["_id"] async for d in self.db[MEMBERS].find({"status": {"$in": statuses}}, {"_id": 1}).sort("_id")]

    async def apply_deadlines(self, *, on: date) -> dict[str, int]:
        """Move overdue members to their grace period, and past-grace ones to lapsed."""
        counts, _ = await self.apply_deadlines_report(on=on)
        return counts

    async def apply_deadlines_report(self, *, on: date) -> tuple[dict[str, int], list[dict[str, str]]]:
        """:meth:`apply_deadlines`, and the members it refused to change: those whose change
        due on ``on`` (judged from the facts as of ``on``) would come before a fact recorded
        later (``member_id``, ``detail`` naming that fact). Counts: examined, changed, refused."""
        counts = {"examined": 0, "changed": 0, "refused": 0}
        refused: list[dict[str, str]] = []
        for member_id in await self._member_ids([MemberStatus.ACTIVE.value, MemberStatus.GRACE_PERIOD.value]):
            counts["examined"] += 1

            async def work(tx: Transaction, member_id=member_id) -> bool:
                member = await tx.get(MEMBERS, Member, member_id)
                if not member.apply_deadlines(on=on):
                    return False
                await tx.save(MEMBERS, member)
                return True
            try:
                counts["changed"] += await self.db.transaction(work)
            except Conflict as exc:
                if "later_fact" not in exc.extra:
                    raise
                counts["refused"] += 1
                refused.append({"member_id": member_id, "detail": exc.detail, "later_fact": exc.extra["later_fact"]})
        return counts, refused

    async def invoice_year(self, year: int, *, on: date) -> dict[str, int]:
        """Invoice ``year``'s dues to every active or in-grace member not yet invoiced for it."""
        counts = {"invoiced": 0, "already_invoiced": 0}
        for member_id in await self._member_ids([MemberStatus.ACTIVE.value, MemberStatus.GRACE_PERIOD.value]):
            async def work(tx: Transaction, member_id=member_id) -> bool:
                member = await tx.get(MEMBERS, Member, member_id)
                if member.live_invoice(year) is not None:
                    return False
                org = await tx.get(ORGANISATIONS, Organisation, member_id)
                member.invoice_dues(year, organisation=org, fee_scale=await self.scale_for(year, tx),
                                    terms=self.terms, on=on)
                await tx.save(MEMBERS, member)
                return True
            done = await self.db.transaction(work)
            counts["invoiced" if done else "already_invoiced"] += 1
        return counts
