"""Where the membership aggregates live in MongoDB, and the indexes the queries need.

Writes go through :class:`runtime.mongo.Transaction` (versioned save + outbox); this module
only names the collections and declares their indexes.
"""
from __future__ import annotations

from pymongo import ASCENDING, DESCENDING

from runtime.mongo import Database, StoredForm
from runtime.privacy import EmailField, email_refs, ensure_email_refs
from runtime.settings import Settings

ORGANISATIONS = "organisations"
APPLICATIONS = "applications"
MEMBERS = "members"
STATISTICS = "yearly_statistics"  # read model kept by the yearly-statistics consumer
FEE_SCALES = "fee_scales"  # one DuesYearScale per dues year
ERASURE_REQUESTS = "erasure_requests"  # one ErasureRequest per request to erase a person's data (the audit record)

#: The contacts' e-mails: each stored with its subject reference beside it (``contacts.email_ref``).
CONTACT_EMAILS = EmailField(ORGANISATIONS, "email", array="contacts")


def stored_forms(settings: Settings) -> dict[str, StoredForm]:
    """Organisations are stored with their contacts' subject references (found by an erasure request)."""
    return {ORGANISATIONS: email_refs(settings.privacy_key, CONTACT_EMAILS)}


async def ensure_indexes(db: Database) -> None:
    await db[ORGANISATIONS].create_index("siret", unique=True, name="siret_unique")
    await db[ORGANISATIONS].create_index([("departement", ASCENDING), ("legal_form", ASCENDING)])
    await db[ORGANISATIONS].create_index("name")
    await db[APPLICATIONS].create_index([("organisation_id", ASCENDING), ("status", ASCENDING)])
    await db[APPLICATIONS].create_index([("status", ASCENDING), ("submitted_on", DESCENDING)])
    await db[MEMBERS].create_index([("status", ASCENDING), ("since", ASCENDING)])
    await db[ERASURE_REQUESTS].create_index([("status", ASCENDING), ("requested_at", DESCENDING)])
    await db[MEMBERS].create_index("invoices.year")  # has year Y been invoiced (fee scale changes)
    await ensure_email_refs(db, CONTACT_EMAILS)  # the index, and the references older documents lack
