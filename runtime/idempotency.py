"""Idempotency keys: a create sent again after its answer was lost is answered, not applied twice.

What the IETF draft "The Idempotency-Key HTTP Header Field" (draft-ietf-httpapi-idempotency-key-header)
specifies and Stripe practises, for the POST operations that create a resource (those answering 201,
and any route marked with :func:`runtime.api.idempotent`) of an authenticated caller:

- the client sends ``Idempotency-Key: <key>`` (1–255 printable ASCII characters, e.g. a UUID; the
  draft's quoted form ``"<key>"`` is accepted too); anything else is a 422 naming
  ``header.Idempotency-Key``;
- a key is scoped to the caller (the token's ``sub``) and the operation (method and route): another
  caller's key, or the same key on another operation, is another key;
- the first request's answer — status, body and headers (``Location``, ``ETag``…) — is stored **in the
  same MongoDB transaction** as the command's writes and its outbox records: a process killed at any
  moment leaves either the resource, its events and its key, or none of them;
- the same key with the same request (method, path, query and body; a JSON body compared once parsed,
  so key order and spacing do not matter) gets the stored answer again, with
  ``Idempotent-Replayed: true``, and the command is not run again;
- the same key with another request: 422 naming ``header.Idempotency-Key`` (the draft's choice);
- the same key while its first request is still being processed: 409 (try again later);
- keys expire after ``IDEMPOTENCY_KEY_TTL_SECONDS`` (24 h by default; a TTL index, and an expired
  key found before the server removed it counts as absent).

A stored answer may name a person (a registration's name and e-mail): the record keeps the subject
reference (:func:`contracts.privacy.subject_ref`) of every e-mail address in it (``email_refs``,
indexed), and a holder's erasure of that person (:class:`runtime.privacy.ErasureConsumer`) deletes
those records in its transaction (:func:`erase_stored_answers`) instead of leaving them for a day.

Error answers are not stored: a 4xx or 5xx rolled the transaction back (nothing was applied), so the
same request sent again is evaluated again — a 409 "registrations not open yet" may be a 201 later,
and a request refused for its input is simply refused again. (Stripe stores the answers of requests
that "started executing"; here a refusal never leaves anything behind to protect.)

How (one place, every service): the route (:class:`runtime.http.GuardedRoute`) runs the whole request
inside one unit of work (:meth:`runtime.mongo.Database.transaction`) and registers it as the request's
unit (:data:`runtime.mongo.REQUEST_UNIT`). The command's own ``db.transaction(...)`` — called from the
same asyncio task — joins it instead of opening another; on that first join, once the caller is known
(authentication ran), the key is looked up and claimed (a record inserted in the transaction). When
the route has built its answer, the answer is written on the record, and the transaction commits
with the command's writes, its outbox records and the key. Background tasks the request starts run
in tasks of their own and do not join. A joined command's ``conflict_retries`` cannot re-run it inside
the request's transaction: a :class:`~runtime.errors.ConcurrencyConflict` runs the whole request again
(:data:`CONFLICT_RETRIES` times), and PyMongo's ``with_transaction`` does so on a write conflict.

A concurrent request with the same key, claiming it while the first's claim is uncommitted, meets a
write conflict on the record's ``_id`` (or waits for the first's commit and meets its record): 409, or
the stored answer when the first has committed meanwhile.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError, OperationFailure, PyMongoError

from contracts.privacy import subject_ref
from runtime.errors import ConcurrencyConflict, Conflict, InvalidInput
from runtime.mongo import REQUEST_UNIT, Database, Transaction, utcnow
from runtime.sealing import SecretBox, secret_box

if TYPE_CHECKING:  # FastAPI is loaded by the HTTP side only (a worker process starts without it)
    from starlette.requests import Request
    from starlette.responses import Response

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
FIELD = f"header.{HEADER}"
REPLAYED = "Idempotent-Replayed"
COLLECTION = "idempotency_keys"
MAX_KEY_LENGTH = 255
CONFLICT_RETRIES = 5  # a keyed request whose command met a concurrent change is run again, on fresh state
_BARE = r"[\x21\x23-\x5b\x5d-\x7e]"  # visible ASCII but the double quote and the backslash
_QUOTED = r"[\x20\x21\x23-\x5b\x5d-\x7e]"  # and the space, inside quotes (an sf-string without escapes)
PATTERN = rf'^(?:{_BARE}{{1,{MAX_KEY_LENGTH}}}|"{_QUOTED}{{1,{MAX_KEY_LENGTH}}}")$'
_KEY = re.compile(PATTERN)
_NOT_STORED_HEADERS = {b"content-length", b"set-cookie", b"x-correlation-id"}

DESCRIPTION = (
    "Makes a retry of this request safe (IETF draft *The Idempotency-Key HTTP Header Field*; as Stripe). "
    "Send a unique value per request, e.g. a UUID: 1–255 printable ASCII characters (the draft's quoted "
    f'form `"…"` is accepted). The first answer (2xx) is stored for `IDEMPOTENCY_KEY_TTL_SECONDS` (24 h); the '
    "same key with the same request (method, path, query, body) gets that answer again, with "
    f"`{REPLAYED}: true`, and nothing is applied twice. The same key with another request: 422 naming "
    "this header. While the first request is still being processed: 409. Keys belong to the caller (the "
    "token's subject) and the operation. Error answers are not stored (nothing was applied): the request "
    "is evaluated again.")


class Replayed(Exception):
    """Raised inside the unit of work when the key was already used for this request: the stored
    answer is sent again (the transaction is rolled back, the command not run)."""

    def __init__(self, response: dict[str, Any]) -> None:
        super().__init__("idempotent replay")
        self.response = response


class _NotStored(Exception):
    """An error answer: the transaction is rolled back and the answer sent as it is."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class _Completed(Exception):
    """The key was committed by another request while this one claimed it: look it up again."""


def parse_key(value: str) -> str:
    """The key an ``Idempotency-Key`` header carries (the quotes of the sf-string form removed);
    :class:`InvalidInput` naming ``header.Idempotency-Key`` otherwise."""
    if not _KEY.fullmatch(value):
        raise InvalidInput(FIELD, f"{HEADER} must be 1–{MAX_KEY_LENGTH} printable ASCII characters (e.g. a "
                                  f"UUID), bare or in double quotes, without backslash")
    return value[1:-1] if value.startswith('"') else value


@cache
def key_header():
    """The header as the operations that take it declare it — a FastAPI dependency, validated and
    documented by FastAPI (a value outside :data:`PATTERN` is a 422 naming ``header.Idempotency-Key``);
    the work is :func:`guarding`'s."""
    from fastapi import Header

    def idempotency_key(key: str = Header(  # optional: no key, no idempotency (a string, never null)
            None, alias=HEADER, min_length=1, max_length=MAX_KEY_LENGTH + 2, pattern=PATTERN,
            description=DESCRIPTION, examples=["8e03978e-40d5-43e8-bc93-6894a57f9324"])) -> None:
        return None

    return idempotency_key


def canonical_body(body: bytes, content_type: str | None) -> bytes:
    """The body as compared between a request and its retry: a JSON body parsed and written again with
    sorted keys (key order and spacing do not make another request); any other body as it is."""
    if body and (content_type or "").split(";")[0].strip().lower() in ("application/json", ""):
        try:
            return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False).encode()
        except (ValueError, RecursionError):
            return body
    return body


def fingerprint(method: str, path: str, query: str, body: bytes, content_type: str | None) -> str:
    """What makes two requests with one key "the same request": method, path, query (its pairs sorted)
    and body (:func:`canonical_body`)."""
    pairs = sorted(p for p in query.split("&") if p)
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), "&".join(pairs).encode(),
                 canonical_body(body, content_type)):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def record_id(subject: str, operation: str, key: str) -> str:
    """A key's record: one per caller, operation and key (the subject is not stored in clear)."""
    parts = [subject.encode(), operation.encode(), key.encode()]
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def email_refs_in(body: bytes, privacy_key: str) -> list[str]:
    """The subject references of the e-mail addresses a JSON answer holds: of every string with an ``@``
    in it (a few references of strings that are no address cost nothing and find no one)."""
    try:
        pending = [json.loads(body)]
    except (ValueError, RecursionError):
        return []
    refs = set()
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str) and "@" in value:
            refs.add(subject_ref(value, privacy_key))
    return sorted(refs)


async def erase_stored_answers(tx: Transaction, ref: str) -> int:
    """Delete, in ``tx``, the stored answers that hold the e-mail address of the person ``ref`` (an erasure):
    a retry of their request is then evaluated again. Returns how many."""
    result = await tx.db[COLLECTION].delete_many({"email_refs": ref}, session=tx.session)
    return result.deleted_count


def stored_response(response: Response, box: SecretBox) -> dict[str, Any] | None:
    """What is kept of a 2xx answer (None for an answer without a body in memory: a stream). The body is
    sealed under ``SECRETS_KEY`` (:mod:`runtime.sealing`): an answer may hold a partner's signing secret
    or a person's name and e-mail, which are not to lie in clear in the keys' collection for a day."""
    body = getattr(response, "body", None)
    if not isinstance(body, (bytes, bytearray, memoryview)):
        return None
    headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in response.raw_headers
               if k.lower() not in _NOT_STORED_HEADERS]
    return {"status": response.status_code, "headers": headers, "sealed_body": box.seal_bytes(bytes(body))}


def replay(stored: dict[str, Any], box: SecretBox) -> Response:
    """The stored answer, sent again, marked as a replay."""
    from starlette.responses import Response

    response = Response(content=box.open_bytes(bytes(stored["sealed_body"])), status_code=int(stored["status"]))
    for name, value in stored["headers"]:
        if name.lower() == "content-type":
            response.headers["content-type"] = value
        else:
            response.headers.append(name, value)
    response.headers[REPLAYED] = "true"
    return response


@dataclass
class KeyedRequest:
    """A request carrying an idempotency key: the unit of work it runs in (:data:`REQUEST_UNIT`), which
    the first command of the request joins (:meth:`joining`: the key is claimed there)."""

    key: str
    operation: str  # e.g. "POST /events/{event_id}/registrations"
    fingerprint: str
    request: Request
    ttl: timedelta
    box: SecretBox  # seals the stored answer (SECRETS_KEY)
    privacy_key: str  # makes the subject references of the addresses in it (PRIVACY_KEY)
    task: asyncio.Task | None = field(default_factory=asyncio.current_task)
    tx: Transaction | None = None  # the request's transaction, while it runs
    record: str | None = None  # the claimed record's id, once claimed

    def begin(self, tx: Transaction) -> None:
        self.tx, self.record = tx, None

    def joins(self) -> Transaction | None:
        """The transaction a ``db.transaction(...)`` called now joins: the request's, from the request's
        own task (a background task it started runs on its own)."""
        if self.tx is not None and asyncio.current_task() is self.task:
            return self.tx
        return None

    async def joining(self, tx: Transaction) -> None:
        """Called by each command joining the request's transaction: the first one claims the key."""
        if self.record is None:
            await self.claim(tx)

    def subject(self) -> str:
        principal = getattr(self.request.state, "principal", None)
        if principal is None:  # GuardedRoute only keys authenticated operations: a bug if reached
            raise RuntimeError(f"{self.operation}: an idempotency key without an authenticated caller")
        return principal.subject

    async def claim(self, tx: Transaction) -> None:
        """Look the key up, in the transaction: the stored answer (:class:`Replayed`), a 422 if it was used
        for another request; else claim it (a record inserted in the transaction)."""
        record = record_id(self.subject(), self.operation, self.key)
        keys = tx.db[COLLECTION]
        found = await keys.find_one({"_id": record}, session=tx.session)
        now = utcnow()
        if found is not None and found["expires_at"] <= now:  # expired, not yet removed by the TTL monitor
            await keys.delete_one({"_id": record}, session=tx.session)
            found = None
        if found is not None:
            if found["fingerprint"] != self.fingerprint:
                raise InvalidInput(FIELD, f"this {HEADER} was already used for another request (method, path, "
                                          f"query or body differ); use a new key for a new request")
            if found.get("response") is None:  # (claims commit with their answer: not expected)
                raise Conflict(f"a request with this {HEADER} is still being processed; send it again later",
                               field=FIELD)
            raise Replayed(found["response"])
        try:
            await keys.insert_one({"_id": record, "operation": self.operation, "key": self.key,
                                   "fingerprint": self.fingerprint, "created_at": now,
                                   "expires_at": now + self.ttl, "response": None}, session=tx.session)
        except DuplicateKeyError:  # committed by another request since the find: its answer is there now
            raise _Completed() from None
        except OperationFailure as exc:
            if exc.code == 112 or exc.has_error_label("TransientTransactionError"):  # WriteConflict
                raise Conflict(f"a request with this {HEADER} is still being processed; send it again later "
                               f"to get its answer", field=FIELD) from None
            raise
        self.record = record

    async def store(self, tx: Transaction, response: Response) -> None:
        """Write the answer on the claimed record, in the transaction (it commits with the command)."""
        if self.record is None:  # no command joined (the route wrote nothing through a unit of work)
            await self.claim(tx)
        stored = stored_response(response, self.box)
        if stored is None:  # a streamed answer cannot be replayed: the key is released
            log.warning("%s: a streamed answer is not stored; its %s protects nothing", self.operation, HEADER)
            await tx.db[COLLECTION].delete_one({"_id": self.record}, session=tx.session)
            return
        refs = email_refs_in(bytes(response.body), self.privacy_key)  # (stored: a body in memory)
        await tx.db[COLLECTION].update_one({"_id": self.record}, {"$set": {"response": stored, "email_refs": refs}},
                                           session=tx.session)


async def run_keyed(db: Database, keyed: KeyedRequest, handle) -> Response:
    """Run ``handle(request)`` as one unit of work with the key: see the module's docstring."""

    async def work(tx: Transaction) -> Response:
        keyed.begin(tx)
        response = await handle(keyed.request)
        if not 200 <= response.status_code < 300:
            raise _NotStored(response)
        await keyed.store(tx, response)
        return response

    token = REQUEST_UNIT.set(keyed)
    completed, conflicts = False, 0
    try:
        while True:
            keyed.tx = None  # (an attempt's transaction is not the next one's to join)
            try:
                return await db.transaction(work)
            except _NotStored as refused:
                return refused.response
            except Replayed as again:
                return replay(again.response, keyed.box)
            except _Completed:  # committed by another request meanwhile: once more, to answer with its answer
                if completed:
                    raise Conflict(f"a request with this {HEADER} is still being processed; send it again later",
                                   field=FIELD) from None
                completed = True
            except ConcurrencyConflict:  # as a command's own ``conflict_retries``: again, on fresh state
                conflicts += 1
                if conflicts > CONFLICT_RETRIES:
                    raise
                await asyncio.sleep(0.005 * conflicts)
    finally:
        keyed.tx = None
        REQUEST_UNIT.reset(token)


def guarding(handle, operation: str):
    """``handle`` (a route's request handler) honouring ``Idempotency-Key`` (:class:`runtime.http.GuardedRoute`
    wraps the handlers of the operations that take it)."""

    async def keyed_handle(request: Request) -> Response:
        value = request.headers.get(HEADER)
        if len(request.headers.getlist(HEADER)) > 1:  # the draft: a client MUST NOT send more than one
            raise InvalidInput(FIELD, f"send one {HEADER} header, not {len(request.headers.getlist(HEADER))}")
        if value is None:
            return await handle(request)
        key = parse_key(value)  # a 422 saying what a key is (not pydantic's "at most 257 characters")
        settings = request.app.state.settings
        body = await request.body()
        keyed = KeyedRequest(
            key=key, operation=operation, request=request,
            fingerprint=fingerprint(request.method, request.url.path, request.url.query, body,
                                    request.headers.get("content-type")),
            ttl=timedelta(seconds=settings.idempotency_key_ttl_seconds), box=secret_box(settings.secrets_key),
            privacy_key=settings.privacy_key)
        return await run_keyed(request.app.state.platform.db, keyed, handle)

    return keyed_handle


async def ensure_idempotency_indexes(db: Database) -> None:
    """The keys' TTL index (``expires_at``): the server removes a key once expired; and the index an
    erasure finds the answers naming a person by (``email_refs``)."""
    await db[COLLECTION].create_index([("email_refs", ASCENDING)], name="keys_email_refs")
    try:
        await db[COLLECTION].create_index([("expires_at", ASCENDING)], expireAfterSeconds=0, name="keys_ttl")
    except PyMongoError as exc:  # a server without TTL indexes: expired keys are ignored, and replaced when met
        log.warning("idempotency keys' TTL index not created: %s", exc)
