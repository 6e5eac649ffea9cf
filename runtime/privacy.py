"""A person's data in every service that holds some: export, and erasure on request (GDPR).

What is shared by the holders of personal data (:data:`contracts.privacy.HOLDERS`), once:

- :func:`personal_data_router` — ``GET /personal-data?email=``: everything this service holds
  about the person with that e-mail address, for the ``privacy`` role (the chamber's data
  protection officer) and ``admin``. Each holder gives the function that reads its part.
- :class:`ErasureConsumer` — consumes membership's ``personal-data-erasure-requested``, runs the
  holder's ``erase(tx, subject, at)`` (which erases or anonymises through the transaction and
  returns its counts by kind) and records the holder's ``personal-data-erased`` confirmation in
  the same transaction (the outbox): the erasure and its confirmation commit together, once —
  a redelivered request is dropped as a duplicate by the consumer's idempotency record.
- :class:`Subject` — the person of a request: matches an e-mail address by its keyed hash, so
  the request carries no address (:func:`contracts.privacy.subject_ref`).
- :func:`export` and ``python -m runtime.privacy export EMAIL`` — one JSON of everything every
  holder holds about a person, collected from their ``/personal-data`` over HTTP.

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
import hmac
import json
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
from runtime.mongo import Database, Transaction, utcnow

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
