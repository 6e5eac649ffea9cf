"""The observatory's projections rebuilt from the log (runtime.rebuild) — on the real broker and
database: a year of activity (2037) driven through membership's and procurement's APIs, the report
for 2037 as of mid-year and year end read before and after a rebuild of every projection (identical,
figures and sources), the ledger's rows against the events kept on the topics (recounted from the
Kafka log), a rebuild stopped midway (the live collection untouched, its partial collection gone),
and a new event after the rebuild changing the next answer (the report's cache)."""
from __future__ import annotations

import asyncio

from datetime import datetime, timezone

import pytest
from aiokafka import AIOKafkaConsumer

from contracts.envelope import CloudEvent, EnvelopeError
from contracts.topics import topic_for
from runtime.mongo import ALIAS_REFRESH_SECONDS, Database
from runtime.rebuild import REBUILDS, log_offsets, rebuild
from services.observatory.adapters.ledger import LEDGER
from services.observatory.adapters.ledger_memory import FRESH_FOR
from services.observatory.domain.ledger import KEPT
from services.observatory.projections import projections
from tests.integration.conftest import active_member, client_of, eventually, service_settings, serving, unique_siret

pytestmark = pytest.mark.integration
KEPT_TYPES = {cls.event_type for cls in KEPT}


def _figures(report: dict) -> dict:
    return {(t["team"], f["indicator"]): f for t in report["teams"] for f in t["figures"]}


async def _kept_on_the_log(bootstrap: str) -> int:
    """Distinct CloudEvents of the kinds the ledger keeps, on the topics now (read from the first offset)."""
    kafka = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await kafka.start()
    try:
        first, end = await log_offsets(kafka, sorted({topic_for(t).name for t in KEPT_TYPES}))
        for tp, offset in first.items():
            kafka.seek(tp, offset)
        todo, ids = {tp for tp in end if first[tp] < end[tp]}, set()
        while todo:
            for tp, records in (await kafka.getmany(*todo, timeout_ms=500, max_records=5000)).items():
                for record in records:
                    try:
                        envelope = CloudEvent.from_kafka(record.headers, record.value)
                        if envelope.type in KEPT_TYPES and record.offset < end[tp]:
                            envelope.to_domain()
                            ids.add(envelope.id)
                    except EnvelopeError:
                        pass
                if records and records[-1].offset + 1 >= end[tp]:
                    todo.discard(tp)
        return len(ids)
    finally:
        await kafka.stop()


async def test_the_report_as_of_a_date_is_the_same_after_a_rebuild(infrastructure):
    ms, ps, os_ = (service_settings(infrastructure, name) for name in ("membership", "procurement", "observatory"))
    async with serving("membership", ms) as membership_app, serving("procurement", ps) as procurement_app, \
            serving("observatory", os_) as observatory_app:
        async with client_of(membership_app, ms) as m, client_of(procurement_app, ps, "staff:procurement") as p, \
                client_of(observatory_app, os_, "staff:observatory") as o:
            # -- a year of activity: members, dues, payments, a withdrawal; a buyer and interventions
            a = await active_member(m, on="2037-02-01")
            b = await active_member(m, on="2037-04-01")
            c = await active_member(m, on="2037-09-01")
            for org, day in ((a, "2037-03-01"), (c, "2037-09-20")):
                member = (await m.get(f"/members/{org}")).json()
                amount = next(inv["amount_cents"] for inv in member["invoices"] if inv["year"] == 2037)
                r = await m.post(f"/members/{org}/payments", json={"year": 2037, "amount_cents": amount, "on": day})
                assert r.status_code == 201, r.text
            r = await m.post(f"/members/{b}/withdrawal", json={"reason": "resignation", "on": "2037-10-15"})
            assert r.status_code == 200, r.text
            for handler in vars(procurement_app.state.platform.commands).values():  # procurement's clock: 2037
                if hasattr(handler, "clock"):
                    handler.clock = lambda: datetime(2037, 12, 20, 9, tzinfo=timezone.utc)
            r = await p.post("/buyers", json={"kind": "commune", "siret": unique_siret(),
                                              "name": "Ville de Bondy", "departement": "93"})
            assert r.status_code == 201, r.text
            buyer = r.json()["id"]
            for day in ("2037-03-10", "2037-11-05"):
                r = await p.post(f"/buyers/{buyer}/interventions", json={"kind": "training", "on": day,
                                                                         "participants": 12})
                assert r.status_code == 201, r.text

            async def report(**params) -> dict:
                r = await o.get("/reports/2037", params=params)
                assert r.status_code == 200, r.text
                return r.json()

            async def caught_up():
                end, mid = await report(as_of="2037-12-31"), await report(as_of="2037-06-30")
                f = _figures(end)
                ok = (f[("membership", "new_members")]["value"] == 3 and f[("membership", "withdrawals")]["value"] == 1
                      and f[("business_development", "interventions")]["value"] == 2)
                return ok and (end, mid)

            before_end, before_mid = await eventually(caught_up, timeout=90)
            fm = _figures(before_mid)
            assert fm[("membership", "new_members")]["value"] == 2 and fm[("membership", "withdrawals")]["value"] == 0
            assert fm[("business_development", "interventions")]["value"] == 1

            db = observatory_app.state.platform.db
            # every event kept on the log is one row of the ledger (recounted from the Kafka log)
            kept = await _kept_on_the_log(infrastructure.kafka_bootstrap_servers)
            assert await eventually(lambda: _same_count(db, kept), timeout=60)
            # the reference: the report once every kept event is in the ledger (and the in-memory copy,
            # checked at most every FRESH_FOR seconds, has seen them)
            await asyncio.sleep(FRESH_FOR * 2)
            before_end, before_mid = await report(as_of="2037-12-31"), await report(as_of="2037-06-30")

            # -- a rebuild stopped midway leaves the live ledger as it was, and no partial collection
            live = await db[LEDGER].count_documents({})
            ledger_projection, members_projection, directory_projection = projections()
            with pytest.raises(RuntimeError, match="on purpose"):
                await rebuild(db, ledger_projection, fail_after=max(1, live // 2))
            assert await db[LEDGER].count_documents({}) == live
            assert not [n for n in await db.db.list_collection_names() if n.startswith(f"{LEDGER}__rebuild_")]
            assert (await db[REBUILDS].find_one({"_id": "ledger"}))["state"] == "failed"

            # -- rebuild everything: the same report, figures and sources, as of both dates
            outcomes = [await rebuild(db, projection) for projection in (ledger_projection, members_projection,
                                                                     directory_projection)]
            assert outcomes[0].events >= kept and outcomes[0].skipped == 0
            state = await db[REBUILDS].find_one({"_id": "ledger"})
            assert state["generations"][LEDGER] == 1
            # swapped by name: the ledger lives in the rebuilt collection, the replaced one is gone
            assert state["targets"][LEDGER] == outcomes[0].collections[LEDGER] == db.db.resolve(LEDGER)
            names = await db.db.list_collection_names()
            assert outcomes[0].collections[LEDGER] in names and LEDGER not in names
            assert await db[LEDGER].count_documents({}) == kept
            await asyncio.sleep(FRESH_FOR * 2)
            assert await report(as_of="2037-12-31") == before_end
            assert await report(as_of="2037-06-30") == before_mid
            assert await db.db["organisations"].find_one({"_id": a}) is not None

            # -- a new event after the rebuild changes the next answer (no stale cache)
            await active_member(m, on="2037-05-01")

            async def counted():
                f = _figures(await report(as_of="2037-12-31"))
                return f[("membership", "new_members")]["value"] == 4
            assert await eventually(counted, timeout=60)

            # -- a second rebuild run by another process (the CLI): the service follows its swap by
            # name, the first rebuild's collection is dropped, the figures stay
            kept = await _kept_on_the_log(infrastructure.kafka_bootstrap_servers)
            assert await eventually(lambda: _same_count(db, kept), timeout=60)
            cli = await Database(os_).open()
            try:
                second = await rebuild(cli, ledger_projection)
            finally:
                await cli.close()
            assert await eventually(lambda: db.db.resolve(LEDGER) == second.collections[LEDGER],
                                    timeout=ALIAS_REFRESH_SECONDS * 5)
            names = await db.db.list_collection_names()
            assert second.collections[LEDGER] in names and outcomes[0].collections[LEDGER] not in names
            assert await db[LEDGER].count_documents({}) == kept
            await asyncio.sleep(FRESH_FOR * 2)
            assert await counted()


async def _same_count(db, kept: int) -> bool:
    return await db[LEDGER].count_documents({}) == kept
