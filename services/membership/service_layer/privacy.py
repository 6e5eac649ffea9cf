"""Personal data in membership (GDPR): erasure requests, the contacts' erasure, the export.

- :class:`PrivacyService` — ``request_erasure``: the audit record (:class:`ErasureRequest`) and
  its ``personal-data-erasure-requested`` event, in one transaction; the e-mail address is
  hashed into the subject reference here and kept nowhere.
- :func:`on_erased` — every holder's ``personal-data-erased`` confirmation lands on the request
  (the consumer ``erasure-confirmations``); the last one completes it.
- :func:`erase_contacts` — membership as a holder: removes the subject's contacts from every
  organisation (each removal is the domain's ``remove_contact``, with its ``contact-removed``).
- :func:`collect` — membership's part of a person's export: the contacts with that address.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from contracts.privacy import PersonalDataErased, subject_ref
from runtime.aggregate import new_id
from runtime.mongo import Database, Transaction, from_document, utcnow
from runtime.privacy import Subject, checked_email
from services.membership.adapters.repository import CONTACT_EMAILS, ERASURE_REQUESTS, ORGANISATIONS
from services.membership.domain import Organisation
from services.membership.domain.privacy import ErasureRequest

log = logging.getLogger(__name__)
PARIS = ZoneInfo("Europe/Paris")  # the chamber's dates


class PrivacyService:
    """Erasure requests, bound to the service's database and the platform's privacy key."""

    def __init__(self, db: Database, key: str) -> None:
        self.db = db
        self.key = key

    async def request_erasure(self, email: str, *, requested_by: str,
                              within: Transaction | None = None) -> ErasureRequest:
        """Record a request to erase the person with this e-mail address everywhere."""
        ref = subject_ref(checked_email(email, "email"), self.key)

        async def work(tx: Transaction) -> ErasureRequest:
            request = ErasureRequest.request(new_id("era"), subject_ref=ref, requested_by=requested_by, at=utcnow())
            await tx.save(ERASURE_REQUESTS, request)
            return request
        return await self.db.transaction(work, within=within)

    async def get(self, request_id: str) -> ErasureRequest:
        return await self.db.get(ERASURE_REQUESTS, ErasureRequest, request_id)


async def on_erased(event: PersonalDataErased, tx: Transaction, envelope: Any) -> None:
    """A holder confirmed: record it on the request (completing it after the last holder)."""
    request = await tx.find(ERASURE_REQUESTS, ErasureRequest, event.request_id)
    if request is None:  # not a request of this membership database: nothing to record
        log.warning("confirmation of an unknown erasure request %s by %s", event.request_id, event.service)
        return
    if request.confirm(event.service, event.erased, at=event.erased_at, now=utcnow()):
        await tx.save(ERASURE_REQUESTS, request)


async def erase_contacts(tx: Transaction, subject: Subject, at: datetime) -> dict[str, int]:
    """Remove the subject's contacts from every organisation; returns ``{"contacts": n}``.

    The organisations are found by one indexed query on the contacts' subject references (stored
    beside each address: :data:`~services.membership.adapters.repository.CONTACT_EMAILS`)."""
    on = at.astimezone(PARIS).date()
    removed = 0
    docs = await tx.db[ORGANISATIONS].find({CONTACT_EMAILS.ref_path: subject.ref}, {"contacts": 1},
                                           session=tx.session).to_list()
    for doc in docs:
        ids = [c["id"] for c in doc.get("contacts", []) if c.get("email_ref") == subject.ref]
        if not ids:
            continue
        org = await tx.get(ORGANISATIONS, Organisation, doc["_id"])
        for contact_id in ids:
            org.remove_contact(contact_id, on=on)
        await tx.save(ORGANISATIONS, org)
        removed += len(ids)
    return {"contacts": removed}


async def collect(db: Database, email: str) -> dict[str, list[dict[str, Any]]]:
    """The contacts with this address (any case), each with its organisation's id and name."""
    exact = re.compile(f"^{re.escape(email)}$", re.IGNORECASE)
    contacts = []
    async for doc in db[ORGANISATIONS].find({"contacts.email": exact}).sort("_id", 1):
        org = from_document(Organisation, doc)
        for c in org.contacts:
            if c.email and c.email.strip().lower() == email:
                contacts.append({"organisation_id": org.id, "organisation_name": org.name,
                                 **c.model_dump(mode="json")})
    return {"contacts": contacts}


__all__ = ["PrivacyService", "on_erased", "erase_contacts", "collect"]
