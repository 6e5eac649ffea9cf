"""Idempotency keys (runtime.idempotency), without a server: the header's grammar, what makes two
requests "the same", and the whole flow through a guarded route — the route's command joining the
request's unit of work — on an in-memory database whose transactions commit or roll back as a whole."""
from __future__ import annotations

import asyncio
import copy
import itertools
from datetime import timedelta
from types import SimpleNamespace

import httpx
import pytest
from fastapi import Depends, Request, Response
from fastapi.responses import JSONResponse
from pymongo.errors import DuplicateKeyError, OperationFailure

from runtime import idempotency
from runtime.api import Body, idempotent, router
from runtime.auth import Principal, allow, issue_token
from runtime.errors import ConcurrencyConflict, Conflict, InvalidInput
from runtime.http import create_app
from contracts.privacy import subject_ref
from runtime.idempotency import (COLLECTION, HEADER, REPLAYED, KeyedRequest, canonical_body, email_refs_in,
                                 erase_stored_answers, fingerprint, parse_key, record_id)
from runtime.mongo import Database
from runtime.sealing import secret_box
from runtime.settings import DEV_SECRETS_KEY, Settings

SETTINGS = Settings(service_name="procurement")


# -- the header ------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, key", [
    ("8e03978e-40d5-43e8-bc93-6894a57f9324", "8e03978e-40d5-43e8-bc93-6894a57f9324"),
    ('"8e03978e-40d5-43e8-bc93-6894a57f9324"', "8e03978e-40d5-43e8-bc93-6894a57f9324"),  # the draft's sf-string
    ('"with space"', "with space"), ("a", "a"), ("k" * 255, "k" * 255), ("~!#$%&'()*+,-./:;<=>?@[]^_`{|}", None),
])
def test_a_key_is_1_to_255_printable_ascii_characters_bare_or_quoted(value, key):
    assert parse_key(value) == (key or value)


@pytest.mark.parametrize("value", ["", "k" * 256, '"' + "k" * 256 + '"', "with space", "tab\there", "é", 'a"b',
                                   "back\\slash", '"unclosed', '""', "nul\x00", "\x7f"])
def test_anything_else_is_refused_naming_the_header(value):
    with pytest.raises(InvalidInput) as caught:
        parse_key(value)
    assert caught.value.field == "header.Idempotency-Key"


def test_the_same_request_is_the_same_method_path_query_and_body_json_compared_parsed():
    one = fingerprint("POST", "/needs", "b=2&a=1", b'{"title": "x", "n": 1}', "application/json")
    assert one == fingerprint("post", "/needs", "a=1&b=2", b'{"n":1,"title":"x"}', "application/json")
    assert one != fingerprint("POST", "/needs", "a=1&b=2", b'{"n":2,"title":"x"}', "application/json")
    assert one != fingerprint("POST", "/needs/x", "a=1&b=2", b'{"n":1,"title":"x"}', "application/json")
    assert one != fingerprint("POST", "/needs", "a=1", b'{"n":1,"title":"x"}', "application/json")
    assert one != fingerprint("PUT", "/needs", "a=1&b=2", b'{"n":1,"title":"x"}', "application/json")
    assert canonical_body(b"not json {", "application/json") == b"not json {"
    assert canonical_body(b"a;b\n1;2", "text/csv") == b"a;b\n1;2"


def test_a_key_is_the_callers_and_the_operations():
    mine = record_id("alice", "POST /needs", "k1")
    assert mine == record_id("alice", "POST /needs", "k1")
    assert mine != record_id("bob", "POST /needs", "k1")
    assert mine != record_id("alice", "POST /buyers", "k1")
    assert mine != record_id("alice", "POST /needs", "k2")
    assert record_id("a", "b c", "d") != record_id("a b", "c", "d"), "the parts are delimited"


# -- an in-memory database: a transaction commits or rolls back as a whole ---------------------------
class FakeCollection:
    """A collection as a transaction sees it: every read and write must name the transaction's session
    (``session=tx.session``): one without it would run outside the transaction, and not roll back with it."""

    def __init__(self, docs: dict[str, dict], journal: list, name: str, faults: dict[str, Exception],
                 session: object = None) -> None:
        self.docs, self.journal, self.name, self.faults, self.session = docs, journal, name, faults, session

    def _in_transaction(self, session) -> None:
        assert session is self.session, f"{self.name}: read or written outside the transaction"

    async def find_one(self, query: dict, session=None) -> dict | None:
        self._in_transaction(session)
        if self.faults.get("misses"):  # committed by another request after this look-up (a race)
            self.faults["misses"] -= 1
            return None
        return copy.deepcopy(self.docs.get(query["_id"]))

    async def insert_one(self, doc: dict, session=None) -> None:
        self._in_transaction(session)
        if "insert" in self.faults:
            raise self.faults["insert"]
        if doc["_id"] in self.docs:
            raise DuplicateKeyError("E11000 duplicate key")
        self._write(doc["_id"], copy.deepcopy(doc))

    async def update_one(self, query: dict, update: dict, session=None) -> None:
        self._in_transaction(session)
        self._write(query["_id"], {**self.docs[query["_id"]], **copy.deepcopy(update["$set"])})

    async def delete_one(self, query: dict, session=None) -> None:
        self._in_transaction(session)
        self._write(query["_id"], None)

    async def delete_many(self, query: dict, session=None) -> SimpleNamespace:  # {field: a value of its array}
        self._in_transaction(session)
        (name, value), = query.items()
        matching = [doc_id for doc_id, doc in self.docs.items() if value in doc.get(name, ())]
        for doc_id in matching:
            self._write(doc_id, None)
        return SimpleNamespace(deleted_count=len(matching))

    def _write(self, doc_id: str, doc: dict | None) -> None:
        if doc is None:
            self.docs.pop(doc_id, None)
        else:
            self.docs[doc_id] = doc
        self.journal.append((self.name, doc_id, copy.deepcopy(doc)))


class FakeDatabase:
    """Collections of documents; a :meth:`transaction` reads its own writes and applies them when the work
    returns, none of them when it raises. A joined transaction (``within``, or the request's unit of work)
    goes through the runtime's own :meth:`runtime.mongo.Database.transaction`, which is what is tested."""

    def __init__(self) -> None:
        self.committed: dict[str, dict[str, dict]] = {}
        self.faults: dict[str, Exception] = {}
        self.transactions = 0
        self.ids = itertools.count(1)

    def collection(self, name: str) -> dict[str, dict]:
        return self.committed.setdefault(name, {})

    async def transaction(self, work, *, within=None, **options):
        from runtime.mongo import REQUEST_UNIT

        unit = REQUEST_UNIT.get()
        if within is not None or (unit is not None and unit.joins() is not None):
            return await Database.transaction(self, work, within=within, **options)  # type: ignore[arg-type]
        self.transactions += 1
        journal: list = []
        session = object()  # this transaction's
        tx = SimpleNamespace(db=_Collections(copy.deepcopy(self.committed), journal, self.faults, session),
                             session=session, events=[])
        result = await work(tx)
        for name, doc_id, doc in journal:  # the commit
            if doc is None:
                self.collection(name).pop(doc_id, None)
            else:
                self.collection(name)[doc_id] = doc
        return result


class _Collections:
    def __init__(self, staged: dict[str, dict[str, dict]], journal: list, faults: dict[str, Exception],
                 session: object) -> None:
        self.staged, self.journal, self.faults, self.session = staged, journal, faults, session

    def __getitem__(self, name: str) -> FakeCollection:
        return FakeCollection(self.staged.setdefault(name, {}), self.journal, name, self.faults, self.session)


# -- a service with a create -----------------------------------------------------------------------------
class NeedIn(Body):
    title: str


def _app(db: FakeDatabase, background: list | None = None):
    import dataclasses

    from runtime.service import service

    needs = router("/needs")
    writes = Depends(allow("staff:procurement"))

    async def mark_seen(tx) -> None:
        await tx.db["needs"].insert_one({"_id": "seen", "title": "seen"}, session=tx.session)

    async def draft(title: str) -> dict:
        async def work(tx) -> dict:
            if title == "refused":
                raise Conflict("refused by the domain")
            if title == "always contended":  # someone else changes it every time it is read
                raise ConcurrencyConflict("changed by someone else since it was read")
            if title.startswith("contended") and not any(d["title"] == "seen" for d in tx.db["needs"].docs.values()):
                await asyncio.create_task(db.transaction(mark_seen))  # another request's change, committed
                raise ConcurrencyConflict("changed by someone else since it was read")
            need = {"_id": f"need-{next(db.ids)}", "title": title}
            await tx.db["needs"].insert_one(need, session=tx.session)
            return need
        return await db.transaction(work)

    @needs.post("", status_code=201, dependencies=[writes], summary="Draft a need")
    async def create(body: NeedIn, response: Response):
        if body.title == "answered 404":  # an error answer returned, not raised
            await draft(body.title)
            return JSONResponse({"detail": "gone"}, status_code=404)
        need = await draft(body.title)
        response.headers["Location"] = f"/needs/{need['_id']}"
        response.headers["ETag"] = '"1"'
        if background is not None:  # work the request starts in a task of its own
            background.append(asyncio.create_task(draft(f"{body.title} (background)")))
            await asyncio.sleep(0)
        return {"id": need["_id"], "title": need["title"]}

    @needs.post("/{need_id}/notes", dependencies=[writes], summary="A step (200): takes no key")
    async def note(need_id: str, body: NeedIn) -> dict:
        return {"id": (await draft(body.title))["_id"]}

    @needs.post("/{need_id}/award", dependencies=[writes], summary="A step marked as taking a key")
    @idempotent()
    async def award(need_id: str, body: NeedIn) -> dict:
        return {"id": (await draft(body.title))["_id"]}

    @needs.post("/checked", status_code=201, dependencies=[writes], summary="A create that writes nothing")
    async def checked(body: NeedIn) -> dict:
        return {"title": body.title, "n": next(db.ids)}

    @needs.post("/text", status_code=201, dependencies=[writes], summary="A create taking a text body")
    async def text(request: Request) -> dict:
        return {"id": (await draft((await request.body()).decode()))["_id"]}

    @needs.post("/streamed", status_code=201, dependencies=[writes], summary="A create answering a stream")
    async def streamed(body: NeedIn):
        from fastapi.responses import StreamingResponse

        need = await draft(body.title)
        return StreamingResponse(iter([need["_id"].encode()]), status_code=201)

    app = create_app(dataclasses.replace(service("procurement"), routers=lambda: (needs,)), SETTINGS)
    app.state.platform = SimpleNamespace(db=db)
    return app


def _client(app, subject: str = "alice") -> httpx.AsyncClient:
    token = issue_token(SETTINGS, subject, ["staff:procurement"])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t",
                             headers={"Authorization": f"Bearer {token}"})


async def test_the_same_create_sent_twice_with_a_key_creates_once_and_answers_the_same():
    db = FakeDatabase()
    async with _client(_app(db)) as client:
        first = await client.post("/needs", json={"title": "collecte"}, headers={HEADER: "k-1"})
        again = await client.post("/needs", content=b'{ "title" : "collecte" }',
                                  headers={HEADER: '"k-1"', "Content-Type": "application/json"})
    assert first.status_code == again.status_code == 201
    assert again.content == first.content and again.json() == {"id": "need-1", "title": "collecte"}
    assert again.headers["Location"] == first.headers["Location"] == "/needs/need-1"
    assert again.headers["ETag"] == '"1"' and again.headers["content-type"] == first.headers["content-type"]
    assert again.headers[REPLAYED] == "true" and REPLAYED not in first.headers
    assert list(db.collection("needs")) == ["need-1"], "the command ran once"
    assert len(db.collection(COLLECTION)) == 1


async def test_the_stored_answer_is_sealed_not_in_clear():
    """An answer may hold a partner's signing secret or a person's name: the keys' collection keeps it
    sealed under SECRETS_KEY (runtime.sealing), and the replay opens it."""
    db = FakeDatabase()
    async with _client(_app(db)) as client:
        first = await client.post("/needs", json={"title": "collecte Dupont"}, headers={HEADER: "k-1"})
        again = await client.post("/needs", json={"title": "collecte Dupont"}, headers={HEADER: "k-1"})
    assert again.content == first.content and again.headers[REPLAYED] == "true"
    (record,) = db.collection(COLLECTION).values()
    assert b"Dupont" not in repr(record).encode() and "body" not in record["response"]


def test_the_references_of_an_answer_are_those_of_every_string_with_an_at_sign_in_it():
    key = SETTINGS.privacy_key
    body = b'{"id": "r-1", "email": "Camille@Example.org ", "people": [{"contact": {"mail": "b@c.fr"}}], "n": 2}'
    assert email_refs_in(body, key) == sorted({subject_ref("camille@example.org", key), subject_ref("b@c.fr", key)})
    assert email_refs_in(b'{"title": "collecte"}', key) == [] and email_refs_in(b"not json", key) == []


async def test_an_erasure_deletes_the_stored_answers_naming_the_person_and_their_retry_runs_again():
    """A stored answer may hold the person's address for a day: the erasure of that person
    (runtime.privacy.ErasureConsumer) deletes it, by the reference kept beside it; others stay."""
    db = FakeDatabase()
    async with _client(_app(db)) as client:
        named = await client.post("/needs", json={"title": "camille@example.org"}, headers={HEADER: "k-1"})
        other = await client.post("/needs", json={"title": "dominique@example.org"}, headers={HEADER: "k-2"})
        assert named.status_code == other.status_code == 201
        ref = subject_ref("CAMILLE@example.org", SETTINGS.privacy_key)

        async def erase(tx):
            return await erase_stored_answers(tx, ref)

        assert await db.transaction(erase) == 1
        (kept,) = db.collection(COLLECTION).values()
        assert kept["email_refs"] == [subject_ref("dominique@example.org", SETTINGS.privacy_key)]
        again = await client.post("/needs", json={"title": "camille@example.org"}, headers={HEADER: "k-1"})
    assert again.status_code == 201 and REPLAYED not in again.headers, "the erased answer is not replayed"
    assert len(db.collection("needs")) == 3


async def test_without_a_key_each_request_is_applied():
    db = FakeDatabase()
    async with _client(_app(db)) as client:
        for _ in range(2):
            assert (await client.post("/needs", json={"title": "collecte"})).status_code == 201
    assert len(db.collection("needs")) == 2 and db.collection(COLLECTION) == {}


async def test_the_same_key_with_another_request_is_a_422_naming_the_header():
    db = FakeDatabase()
    async with _client(_app(db)) as client:
        assert (await client.post("/needs", json={"title": "collecte"}, headers={HEADER: "k"})).status_code == 201
        other = await client.post("/needs", json={"title": "autre"}, headers={HEADER: "k"})
        elsewhere = await client.post("/needs?x=1", json={"title": "collecte"}, headers={HEADER: "k"})
    assert other.status_code == 422 and [e["field"] for e in other.json()["errors"]] == ["header.Idempotency-Key"]
    assert elsewhere.status_code == 422, "the query string is part of the request (here: refused before)"
    assert len(db.collection("needs")) == 1


async def test_another_caller_with_the_same_key_gets_its_own_answer():
    db = FakeDatabase()
    app = _app(db)
    async with _client(app, "alice") as alice, _client(app, "bob") as bob:
        mine = await alice.post("/needs", json={"title": "collecte"}, headers={HEADER: "shared"})
        theirs = await bob.post("/needs", json={"title": "collecte"}, headers={HEADER: "shared"})
    assert mine.json()["id"] == "need-1" and theirs.json()["id"] == "need-2"
    assert REPLAYED not in theirs.headers
    assert len(db.collection(COLLECTION)) == 2


async def test_an_error_answer_is_not_stored_and_the_request_is_evaluated_again():
    db = FakeDatabase()
    async with _client(_app(db)) as client:
        refused = await client.post("/needs", json={"title": "refused"}, headers={HEADER: "k"})
        assert refused.status_code == 409 and db.collection(COLLECTION) == {}
        invalid = await client.post("/needs", json={"titre": "x"}, headers={HEADER: "k2"})
        assert invalid.status_code == 422 and db.collection(COLLECTION) == {}
        returned = await client.post("/needs", json={"title": "answered 404"}, headers={HEADER: "k3"})
        assert returned.status_code == 404 and db.collection(COLLECTION) == {} and db.collection("needs") == {}
        # the key of a refused request is free: the same key on a request that can be applied is applied
        applied = await client.post("/needs", json={"title": "ok"}, headers={HEADER: "k"})
    assert applied.status_code == 201 and REPLAYED not in applied.headers
    assert [d["title"] for d in db.collection("needs").values()] == ["ok"]


async def test_two_keys_on_one_request_are_a_422_naming_the_header():
    db = FakeDatabase()
    async with _client(_app(db)) as client:
        answer = await client.post("/needs", json={"title": "x"}, headers=[(HEADER, "a"), (HEADER, "b")])
    assert answer.status_code == 422 and [e["field"] for e in answer.json()["errors"]] == ["header.Idempotency-Key"]
    assert "send one Idempotency-Key header, not 2" in answer.json()["detail"]
    assert db.collection("needs") == {}


@pytest.mark.parametrize("value", ["with space", "é", "k" * 300, '"', "a\\b"])
async def test_a_hostile_key_is_a_422_naming_the_header_and_nothing_runs(value):
    db = FakeDatabase()
    async with _client(_app(db)) as client:
        answer = await client.post("/needs", json={"title": "x"}, headers={HEADER: value.encode("utf-8")})
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["header.Idempotency-Key"]
    assert "1–255 printable ASCII characters" in answer.text, "what a key is, not pydantic's 257 characters"
    assert db.collection("needs") == {}


async def test_the_answer_is_stored_in_the_commands_transaction():
    """A failure after the command and the key were written, before the commit (a kill -9 there):
    neither the resource nor the key is left; the retry creates it once."""
    db = FakeDatabase()
    store = KeyedRequest.store

    async def store_then_fail(self, tx, response):
        await store(self, tx, response)
        raise RuntimeError("killed before the commit")

    async with _client(_app(db)) as client:
        KeyedRequest.store = store_then_fail
        try:
            failed = await client.post("/needs", json={"title": "collecte"}, headers={HEADER: "k"})
        finally:
            KeyedRequest.store = store
        assert failed.status_code == 500
        assert db.collection("needs") == {} and db.collection(COLLECTION) == {}
        retried = await client.post("/needs", json={"title": "collecte"}, headers={HEADER: "k"})
    assert retried.status_code == 201 and REPLAYED not in retried.headers
    assert list(db.collection("needs")) == [retried.json()["id"]]
    assert db.transactions == 2, "one transaction per request: the command joined the request's"


async def test_a_command_meeting_a_concurrent_change_runs_again_on_fresh_state():
    """A joined command cannot retry inside the request's transaction: the whole request runs again."""
    db = FakeDatabase()
    async with _client(_app(db)) as client:
        answer = await client.post("/needs", json={"title": "contended"}, headers={HEADER: "k"})
    assert answer.status_code == 201, answer.text
    assert sorted(d["title"] for d in db.collection("needs").values()) == ["contended", "seen"]


async def test_work_the_request_starts_in_another_task_does_not_join_its_transaction():
    db = FakeDatabase()
    background: list = []
    async with _client(_app(db, background)) as client:
        assert (await client.post("/needs", json={"title": "x"}, headers={HEADER: "k"})).status_code == 201
    await asyncio.gather(*background)
    assert sorted(d["title"] for d in db.collection("needs").values()) == ["x", "x (background)"]
    assert db.transactions == 2, "the background work ran in a transaction of its own"


async def test_only_the_creates_and_the_marked_posts_take_a_key():
    db = FakeDatabase()
    app = _app(db)
    operations = app.openapi()["paths"]

    def takes(path: str) -> bool:
        return any(p["name"] == HEADER for p in operations[path]["post"].get("parameters", []))

    assert takes("/needs") and takes("/needs/{need_id}/award") and not takes("/needs/{need_id}/notes")
    create = operations["/needs"]["post"]
    assert {"409", "422"} <= set(create["responses"]), "the key's 409 and 422 are documented"
    async with _client(app) as client:
        for _ in range(2):  # a POST that does not take a key ignores it
            assert (await client.post("/needs/a/notes", json={"title": "x"}, headers={HEADER: "n"})).status_code == 200
        for _ in range(2):
            award = await client.post("/needs/a/award", json={"title": "y"}, headers={HEADER: "n"})
    assert award.headers[REPLAYED] == "true"
    assert len(db.collection("needs")) == 3


# -- the claim, alone ----------------------------------------------------------------------------------------
def _keyed(subject: str = "alice", body: bytes = b"{}") -> KeyedRequest:
    from starlette.requests import Request

    request = Request({"type": "http", "method": "POST", "path": "/needs", "headers": [], "query_string": b""})
    request.state.principal = Principal(subject=subject, roles=frozenset())
    return KeyedRequest(key="k", operation="POST /needs", request=request, ttl=timedelta(hours=24),
                        box=secret_box(DEV_SECRETS_KEY), privacy_key=SETTINGS.privacy_key,
                        fingerprint=fingerprint("POST", "/needs", "", body, "application/json"))


async def _claim_refused_as_in_flight(db, keyed) -> None:
    """The key's claim is refused with a 409 naming the header: another request holds it."""
    with pytest.raises(Conflict) as caught:
        await db.transaction(lambda tx: keyed.claim(tx))
    assert "still being processed" in caught.value.detail and caught.value.extra == {"field": "header.Idempotency-Key"}


async def test_a_key_claimed_by_a_request_still_in_flight_is_a_409():
    db = FakeDatabase()
    db.faults["insert"] = OperationFailure("WriteConflict", code=112)
    await _claim_refused_as_in_flight(db, _keyed())


async def test_an_expired_key_counts_as_absent():
    db = FakeDatabase()
    keyed = _keyed()

    async def work(tx):
        await keyed.claim(tx)
        await tx.db[COLLECTION].update_one({"_id": keyed.record}, {"$set": {
            "expires_at": idempotency.utcnow() - timedelta(seconds=1), "response": {"status": 201}}},
            session=tx.session)

    await db.transaction(work)
    again = _keyed(body=b'{"other": 1}')  # another request: 422 if the key were still there

    async def claim_again(tx):
        await again.claim(tx)

    await db.transaction(claim_again)
    assert db.collection(COLLECTION)[again.record]["fingerprint"] == again.fingerprint


def test_the_ttl_is_a_setting_of_24_hours_by_default(monkeypatch):
    assert Settings().idempotency_key_ttl_seconds == 86_400
    monkeypatch.setenv("IDEMPOTENCY_KEY_TTL_SECONDS", "3600")
    assert Settings().idempotency_key_ttl_seconds == 3600



def test_a_json_body_is_compared_parsed_whatever_its_content_type_says_and_any_other_body_as_it_is():
    """A client sending JSON without a content type, or with its parameters, sends the same request; a body
    of another type is compared byte for byte, even one that would parse as JSON."""
    one = fingerprint("POST", "/needs", "", b'{"title": "x", "n": 1}', "application/json")
    for content_type in (None, "", "application/json; charset=utf-8", "Application/JSON"):
        assert fingerprint("POST", "/needs", "", b'{"n":1, "title":"x"}', content_type) == one, content_type
    assert (fingerprint("POST", "/needs", "", b'{"n": 1}', "text/plain")
            != fingerprint("POST", "/needs", "", b'{"n":1}', "text/plain"))


async def test_a_text_body_sent_again_with_other_bytes_is_another_request():
    db = FakeDatabase()
    async with _client(_app(db)) as client:
        first = await client.post("/needs/text", content=b'{"n": 1}', headers={HEADER: "k", "Content-Type": "text/plain"})
        again = await client.post("/needs/text", content=b'{"n": 1}', headers={HEADER: "k", "Content-Type": "text/plain"})
        other = await client.post("/needs/text", content=b'{"n":1}', headers={HEADER: "k", "Content-Type": "text/plain"})
    assert first.status_code == again.status_code == 201 and again.headers[REPLAYED] == "true"
    assert other.status_code == 422 and [e["field"] for e in other.json()["errors"]] == ["header.Idempotency-Key"]


async def test_a_create_that_writes_nothing_is_replayed_too():
    db = FakeDatabase()
    async with _client(_app(db)) as client:
        answers = [await client.post("/needs/checked", json={"title": "x"}, headers={HEADER: "k"}) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201] and answers[1].headers[REPLAYED] == "true"
    assert answers[1].json() == answers[0].json() == {"title": "x", "n": 1}, "not run again"


async def test_a_replay_carries_its_own_correlation_id_and_no_headers_of_the_first_transport():
    db = FakeDatabase()
    async with _client(_app(db)) as client:
        first = await client.post("/needs", json={"title": "x"}, headers={HEADER: "k", "X-Correlation-ID": "first"})
        again = await client.post("/needs", json={"title": "x"}, headers={HEADER: "k", "X-Correlation-ID": "retry"})
    assert first.headers.get_list("x-correlation-id") == ["first"]
    assert again.headers[REPLAYED] == "true" and again.headers.get_list("x-correlation-id") == ["retry"]
    assert again.headers.get_list("content-length") == [str(len(again.content))]


# -- a reused key, a race, a stream ---------------------------------------------------------------------------
async def test_a_reused_key_is_refused_before_the_command_runs():
    """The key is looked up when the command starts, not after it: a request reusing a key for another
    body gets the 422 about the key, not what the command would have answered (here a 409)."""
    db = FakeDatabase()
    async with _client(_app(db)) as client:
        assert (await client.post("/needs", json={"title": "collecte"}, headers={HEADER: "k"})).status_code == 201
        reused = await client.post("/needs", json={"title": "refused"}, headers={HEADER: "k"})
    assert reused.status_code == 422, reused.text
    assert [e["field"] for e in reused.json()["errors"]] == ["header.Idempotency-Key"]
    assert "already used for another request" in reused.json()["detail"]


async def test_a_key_committed_by_another_request_after_the_look_up_gets_that_answer():
    """Two requests with one key at once: the second looks the key up before the first commits and claims
    it after (a duplicate key): it is run again, finds the first's answer and sends it."""
    db = FakeDatabase()
    async with _client(_app(db)) as client:
        first = await client.post("/needs", json={"title": "collecte"}, headers={HEADER: "k"})
        db.faults["misses"] = 1
        second = await client.post("/needs", json={"title": "collecte"}, headers={HEADER: "k"})
    assert second.status_code == 201 and second.headers[REPLAYED] == "true" and second.content == first.content
    assert list(db.collection("needs")) == ["need-1"]


async def test_a_key_that_keeps_meeting_another_request_s_record_is_a_409_not_a_loop():
    db = FakeDatabase()
    async with _client(_app(db)) as client:
        assert (await client.post("/needs", json={"title": "collecte"}, headers={HEADER: "k"})).status_code == 201
        db.faults["misses"] = 1_000  # the look-up never sees the record the claim meets
        answer = await client.post("/needs", json={"title": "collecte"}, headers={HEADER: "k"})
    assert answer.status_code == 409 and answer.json()["field"] == "header.Idempotency-Key", answer.text
    assert "still being processed" in answer.json()["detail"]
    assert db.faults["misses"] == 1_000 - 2, "looked up twice: once more after the first duplicate"
    assert list(db.collection("needs")) == ["need-1"]


async def test_a_claim_meeting_a_transient_transaction_error_is_a_409_naming_the_header():
    db = FakeDatabase()
    db.faults["insert"] = OperationFailure("Transaction was aborted", code=251,
                                           details={"errorLabels": ["TransientTransactionError"]})
    keyed = _keyed()
    await _claim_refused_as_in_flight(db, keyed)
    db.faults["insert"] = OperationFailure("not authorized", code=13)
    with pytest.raises(OperationFailure):  # any other failure is not the key's: a 500
        await db.transaction(lambda tx: keyed.claim(tx))


async def test_a_key_whose_record_holds_no_answer_yet_is_a_409_naming_the_header():
    db = FakeDatabase()
    keyed = _keyed()
    db.collection(COLLECTION)[record_id("alice", "POST /needs", "k")] = {
        "fingerprint": keyed.fingerprint, "expires_at": idempotency.utcnow() + timedelta(hours=1), "response": None}
    await _claim_refused_as_in_flight(db, keyed)


async def test_a_streamed_answer_is_not_stored_and_its_key_protects_nothing():
    db = FakeDatabase()
    async with _client(_app(db)) as client:
        answers = [await client.post("/needs/streamed", json={"title": "x"}, headers={HEADER: "k"}) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201] and [a.text for a in answers] == ["need-1", "need-2"]
    assert REPLAYED not in answers[1].headers and db.collection(COLLECTION) == {}, "the key is released"


async def test_a_request_whose_command_keeps_meeting_concurrent_changes_is_given_up_with_a_409():
    db = FakeDatabase()
    async with _client(_app(db)) as client:
        answer = await client.post("/needs", json={"title": "always contended"}, headers={HEADER: "k"})
    assert answer.status_code == 409 and answer.json()["title"] == "Concurrent update", answer.text
    assert db.transactions == idempotency.CONFLICT_RETRIES + 1, "run again CONFLICT_RETRIES times, then given up"
    assert db.collection(COLLECTION) == {} and db.collection("needs") == {}


# -- the keys' indexes ----------------------------------------------------------------------------------------
async def test_keys_expire_by_the_ttl_index_once_past_and_an_erasure_finds_its_answers_by_an_index(caplog):
    """The server's TTL monitor removes a record once its ``expires_at`` has passed (emulated here from
    the index as it is declared); the erasure's ``email_refs`` query has its index."""
    from runtime.idempotency import ensure_idempotency_indexes
    from tests.unit import memory_mongo

    keys = memory_mongo.collection(COLLECTION)
    await ensure_idempotency_indexes({COLLECTION: keys})
    indexes = keys.sync.index_information().values()
    assert [("email_refs", 1)] in [i["key"] for i in indexes]
    (ttl,) = [i for i in indexes if "expireAfterSeconds" in i]
    now = idempotency.utcnow()
    keys.sync.insert_many([{"_id": "past", "expires_at": now - timedelta(seconds=1)},
                           {"_id": "due", "expires_at": now + timedelta(seconds=1)}])
    (field, _), = ttl["key"]
    keys.sync.delete_many({field: {"$lte": now - timedelta(seconds=ttl["expireAfterSeconds"])}})  # the monitor
    assert [d["_id"] for d in keys.sync.find()] == ["due"]

    class NoTtl:  # a server without TTL indexes: the keys are kept (an expired one counts as absent)
        async def create_index(self, keys, **options):
            if "expireAfterSeconds" in options:
                raise OperationFailure("TTL indexes are not supported", code=67)

    with caplog.at_level("WARNING", logger="runtime.idempotency"):
        await ensure_idempotency_indexes({COLLECTION: NoTtl()})
    assert "TTL index not created" in caplog.text
