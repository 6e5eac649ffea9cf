"""The unit of work (``runtime.mongo``) on in-memory collections: versioned saves and their refusals,
reads in the transaction's session, staged writes, lane counters, stored forms, the rebuilt collections'
aliases, the process's server sessions, and :meth:`Database.transaction`'s joins, retries and outbox.

The session here is a stand-in whose ``with_transaction`` runs the work as PyMongo's does (again after
a write conflict, when told to); the integration tests run the same code on the real database, where
the transaction's atomicity is the server's."""
from __future__ import annotations

import asyncio
import logging
import os
import time
from datetime import datetime, timedelta, timezone

import pytest
from bson import Binary
from pymongo import InsertOne, UpdateOne
from pymongo.errors import DuplicateKeyError

from contracts.membership import OrganisationUpdated
from runtime import logging as log_context
from runtime import metrics, mongo
from runtime.aggregate import Aggregate
from runtime.errors import ConcurrencyConflict, Conflict, NotFound
from runtime.mongo import (OUTBOX, REBUILDS, REQUEST_UNIT, SESSIONS, AliasedDatabase, Database, StoredForm,
                           Transaction, from_document, stored_instant, to_document)
from runtime.settings import Settings
from tests.unit.examples import example
from tests.unit.memory_mongo import SESSION, InSession, SessionDatabase

STANDS = "stands"
T0 = datetime(2031, 3, 1, 9, 30, tzinfo=timezone.utc)


class Stand(Aggregate):
    """A stand at a fair: enough of an aggregate to be saved, with an instant in it."""

    label: str = "stand"
    booked_at: datetime = T0

    def rename(self, label: str) -> None:
        self.label = label
        self.record(example(OrganisationUpdated, organisation_id=self.id))


def run(coroutine):
    return asyncio.run(coroutine)


def tx(db=None, **kwargs) -> Transaction:
    return Transaction(db=SessionDatabase() if db is None else db, session=SESSION, source="/cress/test", **kwargs)


# --- stored documents ------------------------------------------------------------------------------

def test_an_aggregate_is_stored_as_json_under_its_id_and_read_back():
    stand = Stand(id="stand-1", version=2, label="A", booked_at=T0)
    doc = to_document(stand)
    assert doc == {"_id": "stand-1", "version": 2, "label": "A", "booked_at": "2031-03-01T09:30:00Z"}
    assert from_document(Stand, doc) == stand
    assert doc["_id"] == "stand-1"  # from_document read a copy


def test_instants_are_stored_in_utc_with_z_whatever_the_machine_s_zone(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    try:
        paris = datetime(2031, 3, 1, 10, 30, tzinfo=timezone(timedelta(hours=1)))
        assert stored_instant(paris) == "2031-03-01T09:30:00Z"
        assert stored_instant(paris) == to_document(Stand(id="s", booked_at=T0))["booked_at"]  # (an aggregate's UTC)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert os.environ.get("TZ") is None


# --- versioned saves -------------------------------------------------------------------------------

def test_a_new_aggregate_is_inserted_at_version_1_and_its_events_queued():
    t = tx()
    stand = Stand(id="stand-1")
    stand.rename("B")
    run(t.save(STANDS, stand))
    assert t.db[STANDS].sync.find_one({"_id": "stand-1"})["version"] == 1
    assert stand.version == 1 and stand.pending_events == ()
    assert [e.organisation_id for e in t.events] == ["stand-1"]


def test_a_saved_aggregate_is_replaced_at_the_next_version_only_from_the_version_read():
    t = tx()
    run(t.save(STANDS, Stand(id="stand-1", label="A")))
    stand = run(t.get(STANDS, Stand, "stand-1"))
    assert (stand.label, stand.version) == ("A", 1)
    stand.rename("B")
    run(t.save(STANDS, stand))
    assert t.db[STANDS].sync.find_one({"_id": "stand-1"}) == {
        "_id": "stand-1", "version": 2, "label": "B", "booked_at": "2031-03-01T09:30:00Z"}
    assert stand.version == 2 and len(t.events) == 1


def test_a_stale_save_is_a_concurrency_conflict_naming_both_versions():
    t = tx()
    run(t.save(STANDS, Stand(id="stand-0")))
    run(t.save(STANDS, Stand(id="stand-1")))
    t.db[STANDS].sync.update_one({"_id": "stand-1"}, {"$set": {"version": 3}})
    stale = Stand(id="stand-1", version=1, label="late")
    stale.rename("late")
    with pytest.raises(ConcurrencyConflict) as caught:
        run(t.save(STANDS, stale))
    assert caught.value.detail == ("Stand 'stand-1' was changed by someone else: it is at version 3, not 1 as read; "
                                   "read it again and retry")
    assert caught.value.extra == {"current_version": 3}
    assert stale.version == 1 and t.events == [] and len(stale.pending_events) == 1
    assert t.db[STANDS].sync.find_one({"_id": "stand-1"})["label"] == "stand"


def test_saving_an_aggregate_someone_deleted_says_it_no_longer_exists():
    t = tx()
    with pytest.raises(ConcurrencyConflict) as caught:
        run(t.save(STANDS, Stand(id="stand-9", version=4)))
    assert caught.value.detail == ("Stand 'stand-9' was changed by someone else: it no longer exists, not 4 as read; "
                                   "read it again and retry")
    assert caught.value.extra == {"current_version": None}
    assert t.db[STANDS].sync.count_documents({}) == 0


class Duplicated(InSession):
    """A collection whose writes meet a unique index (the SIRET of another organisation…)."""

    async def insert_one(self, doc, *, session=None):
        assert session is SESSION
        raise DuplicateKeyError("E11000", 11000, {"keyValue": {"siret": "35600000000048"}})

    async def replace_one(self, query, doc, *, session=None):
        assert session is SESSION
        raise DuplicateKeyError("E11000", 11000, {"keyValue": {"siret": "35600000000048"}})


def test_a_duplicate_key_is_a_conflict_in_the_caller_s_words_or_naming_the_aggregate():
    t = tx()
    t.db[STANDS] = Duplicated(STANDS)
    with pytest.raises(Conflict) as caught:
        run(t.save(STANDS, Stand(id="stand-1"), conflict="an organisation with this SIRET is already registered"))
    assert caught.value.detail == "an organisation with this SIRET is already registered"
    assert caught.value.extra == {"key": "{'siret': '35600000000048'}"}
    with pytest.raises(Conflict) as caught:
        run(t.save(STANDS, Stand(id="stand-1")))
    assert caught.value.detail == "Stand 'stand-1' already exists"
    with pytest.raises(Conflict) as caught:
        run(t.save(STANDS, Stand(id="stand-1", version=2)))
    assert (caught.value.detail, caught.value.extra) == ("Stand 'stand-1' conflicts with another", {})
    assert not isinstance(caught.value, ConcurrencyConflict)
    with pytest.raises(Conflict) as caught:
        run(t.save(STANDS, Stand(id="stand-1", version=2), conflict="taken"))
    assert caught.value.detail == "taken"
    assert t.events == []


def test_a_duplicate_key_without_details_names_no_key():
    t = tx()
    run(t.save(STANDS, Stand(id="stand-1")))
    with pytest.raises(Conflict) as caught:
        run(t.save(STANDS, Stand(id="stand-1")))
    assert caught.value.extra == {"key": ""}


# --- reads -----------------------------------------------------------------------------------------

def test_get_names_what_is_missing_and_find_answers_none():
    t = tx()
    run(t.save(STANDS, Stand(id="stand-0", label="other")))
    with pytest.raises(NotFound) as caught:
        run(t.get(STANDS, Stand, "stand-9"))
    assert caught.value.detail == "Stand 'stand-9' not found"
    assert caught.value.extra == {"resource": "Stand", "id": "stand-9"}
    assert run(t.find(STANDS, Stand, "stand-9")) is None
    run(t.save(STANDS, Stand(id="stand-9", label="C")))
    found = run(t.find(STANDS, Stand, "stand-9"))
    assert (found.id, found.label, found.version) == ("stand-9", "C", 1)


HIDDEN = StoredForm(store=lambda doc: {**doc, "label": doc["label"][::-1]},
                    load=lambda doc: {**doc, "label": doc["label"][::-1]})


def test_a_stored_form_applies_to_every_save_and_read_of_its_collection_only():
    t = tx(forms={STANDS: HIDDEN})
    run(t.save(STANDS, Stand(id="stand-1", label="abc")))
    run(t.save("kiosks", Stand(id="stand-1", label="abc")))
    assert t.db[STANDS].sync.find_one({})["label"] == "cba"
    assert t.db["kiosks"].sync.find_one({})["label"] == "abc"
    assert run(t.get(STANDS, Stand, "stand-1")).label == "abc"
    assert run(t.find(STANDS, Stand, "stand-1")).label == "abc"
    assert t.stored(STANDS, {"label": "xy"}) == {"label": "yx"} and t.stored("kiosks", {"label": "xy"}) == {"label": "xy"}
    assert t.loaded(STANDS, {"label": "xy"}) == {"label": "yx"} and t.loaded("kiosks", {"label": "xy"}) == {"label": "xy"}


# --- staged writes and lane counters ----------------------------------------------------------------

def test_staged_writes_wait_for_the_flush_then_run_in_order_per_collection():
    t = tx()
    t.stage("ledger", InsertOne({"_id": "a", "n": 1}))
    t.stage("ledger", UpdateOne({"_id": "a"}, {"$inc": {"n": 10}}))
    t.stage("totals", UpdateOne({"_id": "y"}, {"$inc": {"n": 1}}, upsert=True))
    t.staged["empty"] = []
    assert t.db["ledger"].sync.count_documents({}) == 0
    run(t.flush())
    assert t.db["ledger"].sync.find_one({"_id": "a"})["n"] == 11
    assert t.db["totals"].sync.find_one({"_id": "y"})["n"] == 1
    assert t.staged == {}
    assert t.collection("ledger") is t.db["ledger"]


def test_a_lane_s_version_is_taken_once_per_transaction_and_follows_its_commits():
    db = SessionDatabase()
    first = tx(db)
    assert run(first.lane_version("lanes", "topic:0", "v")) == 1
    assert run(first.lane_version("lanes", "topic:0", "v")) == 1  # once per transaction
    assert run(first.lane_version("lanes", "topic:1", "v")) == 1  # one counter per lane
    assert run(first.lane_version("others", "topic:0", "v")) == 1  # and per collection
    second = tx(db)
    assert run(second.lane_version("lanes", "topic:0", "v")) == 2
    assert db["lanes"].sync.find_one({"_id": "topic:0"}) == {"_id": "topic:0", "v": 2}
    assert first.memo == {"lanes": {"topic:0": 1, "topic:1": 1}, "others": {"topic:0": 1}}


# --- the rebuilt collections' aliases ---------------------------------------------------------------

class RawDatabase(dict):
    """A PyMongo database's face: collections by item and by ``get_collection``, and a name."""

    name = "observatory"

    def __missing__(self, name):
        self[name] = SessionDatabase(outside=(name,))[name]
        return self[name]

    def get_collection(self, name, *args, **kwargs):
        return (name, args, kwargs)


def test_an_aliased_database_reaches_a_rebuilt_collection_by_its_usual_name():
    raw = RawDatabase()
    aliased = AliasedDatabase(raw)
    assert aliased.raw is raw and aliased.aliases == {}
    raw[REBUILDS].sync.insert_many([
        {"_id": "ledger", "targets": {"ledger": "ledger__rebuild_2", "ledger_totals": "ledger_totals__rebuild_2"}},
        {"_id": "other", "state": "running"}])
    run(aliased.refresh())
    assert aliased.aliases == {"ledger": "ledger__rebuild_2", "ledger_totals": "ledger_totals__rebuild_2"}
    assert aliased.resolve("ledger") == "ledger__rebuild_2" and aliased.resolve("members") == "members"
    assert aliased["ledger"] is raw["ledger__rebuild_2"] and aliased["members"] is raw["members"]
    assert aliased.get_collection("ledger", "codec", write_concern="w") == ("ledger__rebuild_2", ("codec",),
                                                                            {"write_concern": "w"})
    assert aliased.name == "observatory"
    raw[REBUILDS].sync.delete_many({})
    run(aliased.refresh())
    assert aliased.aliases == {}


# --- the database ------------------------------------------------------------------------------------

def settings(**over) -> Settings:
    return Settings(**{"service_name": "events", "mongodb_uri": "mongodb://db.example:27999/?directConnection=true",
                       **over})


def test_the_client_is_set_for_the_service_and_reads_instants_with_their_zone():
    db = Database(settings(mongodb_database="events_test"), forms={STANDS: HIDDEN})
    client = db.client
    assert client._topology_settings.seeds == {("db.example", 27999)}
    assert client.codec_options.tz_aware is True
    assert client.options.server_selection_timeout == 5.0
    assert client.options.pool_options.connect_timeout == 3.0
    assert client.options.pool_options.metadata["application"] == {"name": "cress-events"}
    assert isinstance(db.db, AliasedDatabase) and db.db.raw.name == "events_test" and db.db.aliases == {}
    assert db.forms == {STANDS: HIDDEN} and db.settings.service_name == "events"
    assert db.process is None and db._recorded == set() and db._following is None and db._on_commit is None
    assert Database(settings(kafka_group_instance="events-8002")).process == "events-8002"
    assert Database(settings()).forms == {}
    run(client.close())


class Session:
    """A client session: PyMongo's ``with_transaction`` runs the work ``runs`` times (again after a
    write conflict); every call of the work is given this session."""

    def __init__(self, lsid: bytes, runs: int = 1) -> None:
        self.session_id = {"id": Binary(lsid, 4)}
        self.runs = runs
        self.write_concerns: list = []
        self.open = False

    async def __aenter__(self):
        self.open = True
        return self

    async def __aexit__(self, *exc):
        self.open = False

    async def with_transaction(self, callback, write_concern=None):
        assert self.open
        self.write_concerns.append(write_concern)
        for _ in range(self.runs):
            result = await callback(self)
        return result


class Admin:
    def __init__(self) -> None:
        self.commands: list = []
        self.answer: asyncio.Future | None = None

    async def command(self, name, *args):
        self.commands.append((name, *args))
        if self.answer is not None:
            await self.answer
        return {"ok": 1}


class Client:
    def __init__(self, sessions: list[Session]) -> None:
        self.sessions = sessions
        self.started: list[Session] = []
        self.admin = Admin()
        self.closed = False

    def start_session(self):
        self.started.append(self.sessions[len(self.started) % len(self.sessions)])
        return self.started[-1]

    async def close(self):
        self.closed = True


def database(*sessions: Session, process: str | None = None, forms=None) -> tuple[Database, Client]:
    """A :class:`Database` on in-memory collections of ``sessions``' transactions (all of them share one
    session object here when one is given: the collections check it)."""
    db = Database(settings(kafka_group_instance=process), forms=forms)
    run(db.client.close())
    sessions = sessions or (Session(b"s" * 16),)
    client = Client(list(sessions))
    db.client = client
    db.db = AliasedDatabase(SessionDatabase(sessions[0], outside=(SESSIONS, REBUILDS)))
    return db, client


def test_a_transaction_writes_the_saves_and_the_outbox_records_and_wakes_the_relay_with_their_ids():
    db, client = database()
    woken: list[list[str]] = []
    db.on_commit(woken.append)

    async def work(t: Transaction):
        stand = Stand(id="stand-1")
        stand.rename("A")
        await t.save(STANDS, stand)
        t.stage("counts", UpdateOne({"_id": "all"}, {"$inc": {"n": 1}}, upsert=True))
        return "done"

    assert run(db.transaction(work, correlation_id="corr-1", causation_id="cause-1")) == "done"
    outbox = list(db[OUTBOX].sync.find({}))
    assert [r["type"] for r in outbox] == [OrganisationUpdated.event_type]
    assert (outbox[0]["correlationid"], outbox[0]["causationid"]) == ("corr-1", "cause-1")
    assert woken == [[outbox[0]["_id"]]]
    assert db["counts"].sync.find_one({"_id": "all"})["n"] == 1  # staged writes flushed inside
    assert db[STANDS].sync.find_one({"_id": "stand-1"})["version"] == 1
    assert [wc.document for wc in client.started[0].write_concerns] == [{"w": "majority"}]


def test_a_transaction_without_events_does_not_wake_the_relay():
    db, _ = database()
    woken: list = []
    db.on_commit(woken.append)
    run(db.transaction(lambda t: t.save(STANDS, Stand(id="stand-1"))))
    assert woken == [] and db[OUTBOX].sync.count_documents({}) == 0
    db2, _ = database()  # nobody listening: nothing to call

    async def with_event(t):
        stand = Stand(id="stand-1")
        stand.rename("A")
        await t.save(STANDS, stand)
    run(db2.transaction(with_event))
    assert db2[OUTBOX].sync.count_documents({}) == 1


def test_the_correlation_id_defaults_to_the_request_s_and_the_source_is_the_service_s():
    db, _ = database()
    seen: list[Transaction] = []

    async def work(t: Transaction):
        seen.append(t)
        stand = Stand(id=f"stand-{len(seen)}")
        stand.rename("A")
        await t.save(STANDS, stand)

    token = log_context.correlation_id.set("req-42")
    try:
        run(db.transaction(work))
    finally:
        log_context.correlation_id.reset(token)
    assert (seen[0].correlation_id, seen[0].causation_id, seen[0].source) == ("req-42", None, "/cress/events")
    assert db[OUTBOX].sync.find_one({})["correlationid"] == "req-42"


def test_the_database_s_stored_forms_reach_the_transaction_s_saves():
    db, _ = database(forms={STANDS: HIDDEN})
    run(db.transaction(lambda t: t.save(STANDS, Stand(id="stand-1", label="abc"))))
    assert db[STANDS].sync.find_one({})["label"] == "cba"


def test_work_run_again_after_a_write_conflict_is_counted_and_only_the_last_run_s_events_are_announced(caplog):
    caplog.set_level(logging.WARNING, logger="runtime.mongo")
    retries = metrics.TRANSACTION_RETRIES.labels("events")
    before = retries._value.get()
    db, _ = database(Session(b"r" * 16, runs=3))
    woken: list[list[str]] = []
    db.on_commit(woken.append)

    async def work(t: Transaction):
        t.events.append(example(OrganisationUpdated))
        return len(t.events)

    assert run(db.transaction(work)) == 1  # each run starts from an empty transaction
    assert retries._value.get() - before == 2
    ids = [r["_id"] for r in db[OUTBOX].sync.find({})]
    assert len(ids) == 3 and woken == [[ids[-1]]]  # (the server would have discarded the two aborted runs)
    assert not [r for r in caplog.records if "ran" in r.getMessage()]


@pytest.mark.parametrize(("runs", "logged"), [(9, []), (10, [10]), (20, [10, 20])])
def test_a_transaction_run_again_and_again_is_logged_every_ten_runs(caplog, runs, logged):
    caplog.set_level(logging.WARNING, logger="runtime.mongo")
    db, _ = database(Session(b"r" * 16, runs=runs))
    run(db.transaction(lambda t: asyncio.sleep(0)))
    messages = [r.getMessage() for r in caplog.records if r.name == "runtime.mongo"]
    assert [int(m.split(" ran ")[1].split()[0]) for m in messages] == logged
    assert all("write conflicts" in m for m in messages)


def test_a_concurrency_conflict_is_run_again_on_fresh_state_only_as_often_as_asked(monkeypatch):
    db, client = database()
    db[STANDS].sync.insert_one({"_id": "stand-1", "version": 1, "label": "A", "booked_at": "2031-03-01T09:30:00Z"})
    pauses: list[float] = []
    real_sleep = asyncio.sleep

    async def pause(seconds):
        pauses.append(seconds)
        await real_sleep(0)
    monkeypatch.setattr(mongo.asyncio, "sleep", pause)
    tries: list[int] = []

    async def work(t: Transaction):
        stand = await t.get(STANDS, Stand, "stand-1")
        tries.append(stand.version)
        if len(tries) < 3:
            await t.db[STANDS].update_one({"_id": "stand-1"}, {"$inc": {"version": 1}}, session=t.session)
            raise ConcurrencyConflict("changed", current_version=stand.version + 1)
        return stand.version

    assert run(db.transaction(work, conflict_retries=2)) == 3
    assert tries == [1, 2, 3] and pauses == [0.005, 0.01] and len(client.started) == 3
    tries.clear()
    pauses.clear()
    with pytest.raises(ConcurrencyConflict):
        run(db.transaction(work, conflict_retries=1))
    assert tries == [3, 4] and pauses == [0.005]
    tries.clear()
    with pytest.raises(ConcurrencyConflict):
        run(db.transaction(work))
    assert tries == [5]


def test_work_within_a_transaction_joins_it_and_opens_no_session():
    db, client = database()
    outer = Transaction(db.db, client.sessions[0], "/cress/events")
    woken: list = []
    db.on_commit(woken.append)

    async def work(t):
        stand = Stand(id="stand-1")
        stand.rename("A")
        await t.save(STANDS, stand)
        return t

    assert run(db.transaction(work, within=outer, correlation_id="ignored")) is outer
    assert client.started == [] and woken == [] and len(outer.events) == 1


class Unit:
    """A request's unit of work (an ``Idempotency-Key``): its transaction, joined by the commands."""

    def __init__(self, joined: Transaction | None) -> None:
        self.joined = joined
        self.joinings: list[Transaction] = []

    def joins(self):
        return self.joined

    async def joining(self, t):
        self.joinings.append(t)


def test_work_in_a_request_s_unit_of_work_joins_its_transaction_unless_given_one():
    db, client = database()
    request_tx, given = (Transaction(db.db, client.sessions[0], "/cress/events") for _ in range(2))
    unit = Unit(request_tx)
    token = REQUEST_UNIT.set(unit)
    try:
        assert run(db.transaction(lambda t: asyncio.sleep(0, t))) is request_tx
        assert unit.joinings == [request_tx]
        assert run(db.transaction(lambda t: asyncio.sleep(0, t), within=given)) is given
        assert unit.joinings == [request_tx]
        unit.joined = None  # (another task of the request)
        own = run(db.transaction(lambda t: asyncio.sleep(0, t)))
        assert own is not request_tx and own.session is client.started[0]
    finally:
        REQUEST_UNIT.reset(token)
    assert unit.joinings == [request_tx]


def test_a_named_process_records_each_server_session_once_before_its_first_transaction(monkeypatch):
    first, second = Session(b"1" * 16), Session(b"2" * 16)
    db, _ = database(first, process="events-8002")
    recorded_before: list = []

    async def work(t: Transaction):
        recorded_before.append(list(db.db.raw[SESSIONS].sync.find_one({"_id": "events-8002"})["lsids"]))

    run(db.transaction(work))
    run(db.transaction(work))
    assert recorded_before == [[first.session_id["id"]]] * 2
    db.client.sessions.append(second)
    db.db.raw.session = None  # (the in-memory collections check one session; the second runs none)
    run(db._record(second))
    run(db._record(second))
    assert db.db.raw[SESSIONS].sync.find_one({"_id": "events-8002"})["lsids"] == [first.session_id["id"],
                                                                                  second.session_id["id"]]
    assert db._recorded == {first.session_id["id"], second.session_id["id"]}


def test_only_the_last_sessions_of_a_process_are_kept(monkeypatch):
    monkeypatch.setattr(mongo, "SESSIONS_KEPT", 2)
    db, _ = database(process="events-8002")
    for n in range(3):
        run(db._record(Session(bytes([n]) * 16)))
    assert db.db.raw[SESSIONS].sync.find_one({"_id": "events-8002"})["lsids"] == [Binary(b"\x01" * 16, 4),
                                                                                  Binary(b"\x02" * 16, 4)]


def test_a_process_without_a_name_records_nothing_and_kills_nothing():
    db, client = database()
    run(db.transaction(lambda t: asyncio.sleep(0)))
    assert db.db.raw[SESSIONS].sync.count_documents({}) == 0 and db._recorded == set()
    assert run(db.end_predecessor_sessions()) == 0 and client.admin.commands == []


def test_a_restarted_process_kills_its_predecessor_s_sessions_and_forgets_them():
    db, client = database(process="events-8002")
    assert run(db.end_predecessor_sessions()) == 0 and client.admin.commands == []  # a first start
    lsids = [Binary(b"a" * 16, 4), Binary(b"b" * 16, 4)]
    db.db.raw[SESSIONS].sync.insert_many([{"_id": "events-8003", "lsids": [Binary(b"c" * 16, 4)]},
                                          {"_id": "events-8002", "lsids": lsids}])
    assert run(db.end_predecessor_sessions()) == 2
    assert client.admin.commands == [("killSessions", [{"id": lsids[0]}, {"id": lsids[1]}])]
    assert db.db.raw[SESSIONS].sync.find_one({"_id": "events-8002"})["lsids"] == []
    assert db.db.raw[SESSIONS].sync.find_one({"_id": "events-8003"})["lsids"] == [Binary(b"c" * 16, 4)]
    db.db.raw[SESSIONS].sync.update_one({"_id": "events-8002"}, {"$set": {"lsids": None}})
    assert run(db.end_predecessor_sessions()) == 0 and len(client.admin.commands) == 1


def test_a_page_counts_every_match_and_reads_one_slice_in_order_as_aggregates_or_documents():
    db, _ = database(forms={STANDS: HIDDEN})
    db.db.raw = SessionDatabase(None, outside=(STANDS,))  # queries run outside any transaction
    db[STANDS].sync.insert_many([{"_id": f"stand-{n}", "version": 1, "label": f"{n}x", "booked_at": "2031-03-01T09:30:00Z"}
                                 for n in range(5)])
    stands, total = run(db.page(STANDS, {"_id": {"$ne": "stand-3"}}, sort=[("_id", -1)], limit=2, offset=1,
                                model=Stand))
    assert total == 4 and [(s.id, s.label) for s in stands] == [("stand-2", "x2"), ("stand-1", "x1")]
    docs, total = run(db.page(STANDS, {}, sort=[("_id", 1)], limit=1, offset=0))
    assert total == 5 and docs == [db[STANDS].sync.find_one({"_id": "stand-0"})]
    assert run(db.get(STANDS, Stand, "stand-4")).label == "x4"
    with pytest.raises(NotFound) as caught:
        run(db.get(STANDS, Stand, "stand-9"))
    assert (caught.value.detail, caught.value.extra) == ("Stand 'stand-9' not found",
                                                         {"resource": "Stand", "id": "stand-9"})
    assert db.loaded(STANDS, {"label": "ab"}) == {"label": "ba"} and db.loaded("x", {"label": "ab"}) == {"label": "ab"}


def test_an_open_database_follows_the_rebuilt_collections_until_closed(monkeypatch):
    monkeypatch.setattr(mongo, "ALIAS_REFRESH_SECONDS", 0.001)
    db, client = database()
    rebuilds = db.db.raw[REBUILDS]
    rebuilds.sync.insert_one({"_id": "ledger", "targets": {"ledger": "ledger__rebuild_1"}})

    async def scenario():
        assert await db.open() is db
        assert db.db.aliases == {"ledger": "ledger__rebuild_1"}  # read at once
        following = db._following
        assert following.get_name() == "collection-aliases"  # (as a crash report or a task dump names it)
        assert await db.open() is db and db._following is following  # one follower
        rebuilds.sync.update_one({"_id": "ledger"}, {"$set": {"targets": {"ledger": "ledger__rebuild_2"}}})
        while db.db.aliases != {"ledger": "ledger__rebuild_2"}:
            await asyncio.sleep(0.001)
        failing = asyncio.get_running_loop().create_future()
        failing.set_exception(ConnectionError("database away"))
        real = db.db.refresh

        async def away():
            db.db.refresh = real
            raise ConnectionError("database away")
        db.db.refresh = away  # one failed refresh: the follower keeps the names and goes on
        rebuilds.sync.update_one({"_id": "ledger"}, {"$set": {"targets": {"ledger": "ledger__rebuild_3"}}})
        while db.db.aliases != {"ledger": "ledger__rebuild_3"}:
            await asyncio.sleep(0.001)
        failing.exception()
        await db.close()
        assert following.cancelled() and db._following is None and client.closed

    run(scenario())


def test_ping_asks_the_server_and_gives_up_after_its_timeout():
    db, client = database()
    run(db.ping())
    assert client.admin.commands == [("ping",)]

    async def hanging():
        client.admin.answer = asyncio.get_running_loop().create_future()
        await db.ping(timeout=0.01)
    with pytest.raises(TimeoutError):
        run(hanging())
