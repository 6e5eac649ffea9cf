"""A person's data in every service that holds some: export, and erasure on request (GDPR).

What is shared by the holders of personal data (:data:`contracts.privacy.HOLDERS`), once:

- :func:`personal_data_router` — ``GET /personal-data?email=``: everything this service holds
  about the person with that e-mail address, for the ``privacy`` role (the chamber's data
  protection officer) and ``admin``. Each holder gives the function that reads its part.
- :class:`ErasureConsumer` — consumes membership's ``personal-data-erasure-requested``, runs the
  holder's ``erase(tx, subject, at)`` (which erases or anonymises through the transaction and
  returns its counts by kind) and records the holder's ``personal-data-erased`` confirmation in
  the same transaction (the outbox): the erasure and its confirmation commit together, once —
  a redelivered request is dropped as a duplicate by the consumer's idempotency record. The
  answers kept for ``Idempotency-Key`` retries that name the person go in the same transaction
  (:func:`runtime.idempotency.erase_stored_answers`, ``stored_answers`` in the counts).
- :class:`Subject` — the person of a request: matches an e-mail address by its keyed hash, so
  the request carries no address (:func:`contracts.privacy.subject_ref`).
- :class:`EmailField`, :func:`email_refs`, :func:`ensure_email_refs` — every e-mail address a
  holder stores has its subject reference stored beside it (``email`` → ``email_ref``), written by
  the collection's stored form (:class:`runtime.mongo.StoredForm`: every save computes it) and
  indexed: an erasure finds the person's records by one indexed query on the reference, instead
  of hashing every address the holder keeps.
- :func:`export` and ``python -m runtime.privacy export EMAIL`` — one JSON of everything every
  holder holds about a person, collected from their ``/personal-data`` over HTTP.

Documents stored before the references existed (or under another ``PRIVACY_KEY``) are brought up
to date **at start** (:func:`ensure_email_refs`, from the service's ``indexes``), not in the erasure
path: once per start, outside any transaction, the documents lacking a reference (one query) get
it; a changed key (its fingerprint is kept in ``privacy_refs``) recomputes them all. The erasure
stays one indexed query in a short transaction. The start runs before the process's consumers, so
its erasure consumer never runs on documents it has not brought up to date.

Why the export is a collection over HTTP and the erasure an event: an export is a read the
officer waits for, of a handful of services, that changes nothing — calling each holder and
merging the answers is the simplest honest design (a holder that does not answer fails the
export, named, instead of leaving a part out). An erasure changes every holder's state and must
happen even if a holder is down when it is asked: the request is an event each holder consumes
when it can, and its confirmations say when it has.
"""
# no `from __future__ import annotations`: the route below is declared inside a function, with
# FastAPI imported there (workers never load it), and FastAPI reads its annotations at that point.
import asyncio
import copy
import hmac
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import httpx
import typer
from pydantic import BaseModel, Field

from contracts.envelope import CloudEvent
from contracts.membership import PersonalDataErasureRequested
from contracts.privacy import HOLDERS, PersonalDataErased, normalise_email, subject_ref
from runtime.consumer import Consumer, Subscription
from runtime.errors import InvalidInput
from runtime.idempotency import erase_stored_answers
from runtime.mongo import Database, Document, StoredForm, Transaction, utcnow

log = logging.getLogger(__name__)

#: The longest e-mail address (RFC 5321: 254 characters in a path).
MAX_EMAIL = 254


def checked_email(value: str, field: str = "query.email") -> str:
    """A plausible address, normalised (:func:`contracts.privacy.normalise_email`); else 422 naming ``field``."""
    email = normalise_email(value)
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in email) or len(email) > MAX_EMAIL:
        raise InvalidInput(field, f"{value!r} is not an e-mail address")
    return email


@dataclass(frozen=True)
class Subject:
    """The person an erasure request is about, known by their subject reference only."""

    ref: str
    key: str

    def matches(self, email: str | None) -> bool:
        return bool(email) and hmac.compare_digest(subject_ref(email, self.key), self.ref)


# -- the subject references kept beside stored e-mails ------------------------------------------------

#: Where the fingerprint of the key the stored references were made with is kept, per field.
REFS = "privacy_refs"
REF_SUFFIX = "_ref"


@dataclass(frozen=True)
class EmailField:
    """Where a holder keeps e-mail addresses: in ``collection``, at ``path`` (``"person.email"``),
    or at ``path`` inside each element of the array ``array`` (``array="contacts"``, ``path="email"``:
    every contact's). Its reference is stored beside it, ``<name>_ref``."""

    collection: str
    path: str
    array: str | None = None

    @property
    def ref_path(self) -> str:
        """The path of the reference, as queried: ``person.email_ref``, ``contacts.email_ref``."""
        return ".".join(p for p in (self.array, self.path + REF_SUFFIX) if p)

    @property
    def top(self) -> str:
        """The top-level field that holds the address (what the start-up rewrites)."""
        return (self.array or self.path).split(".")[0]

    def holders(self, doc: Document) -> list[dict[str, Any]]:
        """The sub-documents of ``doc`` that hold an address field (the document, its ``person``, each contact)."""
        roots = [doc]
        if self.array is not None:
            value = _at(doc, self.array)
            roots = [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []
        *parents, _ = self.path.split(".")
        return [h for h in (_at(r, ".".join(parents)) if parents else r for r in roots) if isinstance(h, dict)]

    def add_refs(self, doc: Document, key: str) -> Document:
        """``doc`` with the reference of each address at this field beside it (``None`` beside no address)."""
        name = self.path.split(".")[-1]
        for holder in self.holders(doc):
            email = holder.get(name)
            holder[name + REF_SUFFIX] = subject_ref(email, key) if isinstance(email, str) and email.strip() else None
        return doc

    def lacking(self) -> dict[str, Any]:
        """The query of the documents with an address whose reference is missing."""
        missing = {self.path: {"$type": "string"}, self.path + REF_SUFFIX: {"$exists": False}}
        return missing if self.array is None else {self.array: {"$elemMatch": missing}}


def _at(doc: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc


def email_refs(key: str, *fields: EmailField) -> StoredForm:
    """The stored form that writes the reference beside every address of ``fields`` (one collection's)
    at every save; reading leaves the reference in the document (aggregates ignore it)."""

    def store(doc: Document) -> Document:
        for f in fields:
            f.add_refs(doc, key)
        return doc
    return StoredForm(store=store)


def key_fingerprint(key: str) -> str:
    """Which ``PRIVACY_KEY`` references were made with (a keyed hash of a constant: not the key)."""
    return hmac.new(key.encode(), b"cress-privacy-refs-v1", "sha256").hexdigest()[:16]


async def ensure_email_refs(db: Database, field: EmailField) -> int:
    """At start: the index of ``field``'s references, and the reference of every stored address
    that lacks one — all of them again when ``PRIVACY_KEY`` changed since they were made. Returns
    how many documents it rewrote.

    A document is rewritten only if it is still what was read — the same version (an aggregate),
    the same address (a raw document): a concurrent save wins, having written the references
    itself; its version is left alone (the aggregate did not change)."""
    from pymongo import ASCENDING

    key = db.settings.privacy_key
    await db[field.collection].create_index([(field.ref_path, ASCENDING)])
    meta_id = f"{field.collection}:{field.array or ''}:{field.path}"
    meta = await db[REFS].find_one({"_id": meta_id})
    fingerprint = key_fingerprint(key)
    everything = meta is None or meta.get("key") != fingerprint
    address = f"{field.array}.{field.path}" if field.array else field.path
    query = {address: {"$type": "string"}} if everything else field.lacking()
    rewritten = 0
    async for doc in db[field.collection].find(query, {field.top: 1, "version": 1}):
        before = {field.top: doc.get(field.top)}
        after = field.add_refs(copy.deepcopy(before), key)
        changes = {k: v for k, v in after.items() if k not in before or before[k] != v}
        if not changes:
            continue
        # unchanged since read: the same version (aggregates), or the same address (raw documents)
        unchanged = {"_id": doc["_id"], "version": doc.get("version")}
        if not isinstance(before[field.top], (dict, list)):
            unchanged[field.top] = before[field.top]
        result = await db[field.collection].update_one(unchanged, {"$set": changes})
        rewritten += result.modified_count
    await db[REFS].replace_one({"_id": meta_id}, {"_id": meta_id, "key": fingerprint, "at": utcnow()}, upsert=True)
    if rewritten:
        log.info("subject references of %s.%s written for %d stored documents", field.collection, address, rewritten)
    return rewritten


# -- export: GET /personal-data ---------------------------------------------------------------------

class PersonalData(BaseModel):
    """What one service holds about a person (empty ``data`` lists: nothing)."""

    service: str = Field(description="The service answering.", examples=["events"])
    email: str = Field(description="The address asked about, normalised.", examples=["camille.martin@example.org"])
    data: dict[str, list[dict[str, Any]]] = Field(
        description="The records that name the person, by kind (what the service calls them).",
        examples=[{"registrations": [{"registration_id": "reg-1a2b3c4d5e6f", "event_id": "evt-5f1c2a9b3d7e",
                                      "name": "Camille Martin", "email": "camille.martin@example.org"}]}])


Collect = Callable[[Database, str], Awaitable[dict[str, list[dict[str, Any]]]]]


def personal_data_router(collect: Collect):
    """The ``GET /personal-data`` route of a holder; ``collect(db, email)`` reads its part."""
    from fastapi import Depends, Query

    from runtime.api import READ, PlatformDep, router
    from runtime.auth import PRIVACY, allow

    personal = router("/personal-data", tags=["personal data"])

    @personal.get("", response_model=PersonalData, dependencies=[Depends(allow(PRIVACY))], responses=READ,
                  summary="Everything this service holds about a person, by e-mail (GDPR export)")
    async def personal_data(platform: PlatformDep, email: Annotated[str, Query(
            min_length=3, max_length=MAX_EMAIL, description="The person's e-mail address (any case).",
            examples=["camille.martin@example.org"])]) -> PersonalData:
        address = checked_email(email)
        return PersonalData(service=platform.settings.service_name, email=address,
                            data=await collect(platform.db, address))

    return personal


# -- erasure: the consumer of requests ----------------------------------------------------------------

Erase = Callable[[Transaction, Subject, datetime], Awaitable[dict[str, int]]]


class ErasureConsumer(Consumer):
    """A holder's consumer of erasure requests: ``erase`` then confirm with ``confirmation``, in one
    transaction. A request that does not name this service among its holders is left alone."""

    NAME = "personal-data-erasure"

    def __init__(self, service: str, erase: Erase, confirmation: type[PersonalDataErased]) -> None:
        if service not in HOLDERS:
            raise ValueError(f"{service} erases personal data but is not in contracts.privacy.HOLDERS")
        if confirmation.event_type.split(".")[2] != service:
            raise ValueError(f"{confirmation.event_type} is not {service}'s event")
        self.holder, self.erase, self.confirmation = service, erase, confirmation
        self.key = ""
        super().__init__(self.NAME, [Subscription(PersonalDataErasureRequested, self.on_request)])

    def bind(self, db: Database, producer: Any, **kwargs: Any) -> "ErasureConsumer":
        self.key = db.settings.privacy_key  # the key subject references are made with
        return super().bind(db, producer, **kwargs)  # type: ignore[return-value]

    async def on_request(self, event: PersonalDataErasureRequested, tx: Transaction, envelope: CloudEvent) -> None:
        if self.holder not in event.holders:
            return
        at = utcnow()
        counts = await self.erase(tx, Subject(event.subject_ref, self.key), at)
        answers = await erase_stored_answers(tx, event.subject_ref)  # answers kept for Idempotency-Key retries
        if answers:
            counts = {**counts, "stored_answers": answers}
        tx.events.append(self.confirmation(request_id=event.request_id, service=self.holder,
                                           erased=dict(counts), erased_at=at))


def confirmations() -> list[type[PersonalDataErased]]:
    """Every holder's confirmation event (what the erasure requests' record consumes)."""
    from contracts.base import registered_events

    return [cls for cls in registered_events().values() if issubclass(cls, PersonalDataErased)]


# -- the export of every holder -----------------------------------------------------------------------

async def export(email: str, clients: Mapping[str, httpx.AsyncClient]) -> dict[str, Any]:
    """Everything every holder holds about ``email``: ``{"email", "services": {service: data}}``.

    ``clients``: one HTTP client per holder (base URL and a ``privacy`` or ``admin`` token set).
    A holder that fails fails the export (``RuntimeError`` naming it): a partial export would
    hide what that holder keeps."""
    address = checked_email(email, "email")
    missing = sorted(set(HOLDERS) - set(clients))
    if missing:
        raise ValueError(f"no client for the holders {', '.join(missing)}")

    async def part(service: str) -> dict[str, Any]:
        try:
            response = await clients[service].get("/personal-data", params={"email": address})
        except httpx.HTTPError as exc:
            raise RuntimeError(f"{service} did not answer /personal-data: {exc}") from exc
        if response.status_code != 200:
            raise RuntimeError(f"{service} answered {response.status_code} to /personal-data: {response.text[:300]}")
        return response.json()["data"]

    parts = await asyncio.gather(*(part(s) for s in HOLDERS))
    return {"email": address, "services": dict(zip(HOLDERS, parts))}


def is_empty(exported: dict[str, Any]) -> bool:
    """Whether an export found nothing about the person."""
    return all(not records for data in exported["services"].values() for records in data.values())


cli = typer.Typer(help="A person's data across the services (GDPR).", add_completion=False)


@cli.callback()
def _commands() -> None:
    """A person's data across the services (GDPR): `export EMAIL`."""


@cli.command("export")
def export_cmd(email: str = typer.Argument(..., help="The person's e-mail address."),
               token: str = typer.Option(..., envvar="CRESS_TOKEN", help="A bearer token with the privacy role."),
               url: list[str] = typer.Option([], help="service=base URL (default: the local stack's ports)."),  # noqa: B006
               ) -> None:
    """Print one JSON of everything every holder keeps about the person."""
    from runtime.service import discover

    urls = {name: f"http://127.0.0.1:{d.port}" for name, d in discover().items() if name in HOLDERS}
    for item in url:
        name, _, base = item.partition("=")
        urls[name] = base

    async def main() -> dict[str, Any]:
        clients = {name: httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
                   for name, base in urls.items()}
        try:
            return await export(email, clients)
        finally:
            await asyncio.gather(*(c.aclose() for c in clients.values()))

    try:
        result = asyncio.run(main())
    except (RuntimeError, ValueError, InvalidInput, httpx.HTTPError) as exc:
        typer.echo(f"export failed: {exc}", err=True)
        sys.exit(1)
    typer.echo(json.dumps(result, indent=2, ensure_ascii=False, default=str))


if __name__ == "__main__":
    cli()
