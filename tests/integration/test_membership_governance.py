"""Governance through HTTP and Kafka: a whole general assembly (members activated and paying
through the API, one lapsed, one with unpaid dues), convocation, attendance with proxies,
quorum, votes, closing, board election, the board on a date, the roll asked again after later
changes, commissions, and the events on their topics. Years 2050–2055 (see the membership brief)."""
from __future__ import annotations

import json

import pytest

from tests.integration.conftest import active_member, bearer, client_of, eventually, fields, header, read_topic

pytestmark = pytest.mark.integration

STAFF = ("staff:membership",)


def kinds(records) -> list[str]:
    return [header(r, "ce_type").split(".")[3] for r in records]


async def pay_in_full(client, org: str, year: int, on: str) -> None:
    member = (await client.get(f"/members/{org}")).json()
    invoice = next(i for i in member["invoices"] if i["year"] == year)
    r = await client.post(f"/members/{org}/payments", json={"year": year, "amount_cents": invoice["amount_cents"],
                                                            "payment_id": f"pay-{org}-{year}", "on": on})
    assert r.status_code == 201, r.text


async def test_a_whole_general_assembly(app, settings):
    async with client_of(app, settings, *STAFF) as client:
        # -- members: six paying, one lapsed, one in good standing with its dues unpaid ----------------
        a1, a2, a3, a4, n1 = [await active_member(client, on="2051-01-09", name=f"Asso {i}") for i in range(5)]
        c1 = await active_member(client, on="2051-01-09", legal_form="scic", name="SCIC")
        lapsed = await active_member(client, on="2051-01-09", name="Lapsed")
        for org in (a1, a2, a3, a4, n1, c1):
            await pay_in_full(client, org, 2051, "2051-01-20")
        r = await client.post("/dues/deadlines", json={"on": "2051-04-11"})
        assert r.status_code == 200 and (await client.get(f"/members/{lapsed}")).json()["status"] == "lapsed"
        unpaid = await active_member(client, on="2051-04-30", name="Late payer")  # 2051 dues due 2051-05-31
        r = await client.put(f"/governance/colleges/{n1}", json={"college": "networks", "on": "2051-02-01"})
        assert r.status_code == 200 and r.json() == {"organisation_id": n1, "on": "2051-02-01", "college": "networks",
                                                     "vote_weight": 2, "explicit": True}
        r = await client.put(f"/governance/colleges/{n1}", json={"college": "clubs", "on": "2051-02-02"})
        assert r.status_code == 422 and fields(r) == ["college"]

        # -- convocation -------------------------------------------------------------------------------
        agenda = [{"title": "Rapport moral 2050"}, {"title": "Article 7 des statuts", "kind": "extraordinary"}]
        late = {"title": "AG 2051", "meeting_on": "2051-06-12", "agenda": agenda, "on": "2051-05-30"}
        r = await client.post("/assemblies", json=late)
        assert r.status_code == 422 and fields(r) == ["meeting_on"]
        assert "statutes.notice_days" in r.json()["detail"] and "2051-05-30" in r.json()["detail"]
        r = await client.post("/assemblies", json={**late, "on": "2051-05-20"})
        assert r.status_code == 201, r.text
        ag = r.json()["id"]
        assert r.headers["Location"] == f"/assemblies/{ag}"
        assert r.json()["election"]["seats_to_fill"] == {"associations": 6, "cooperatives": 4, "mutuals": 2,
                                                         "foundations": 1, "commercial": 1, "networks": 2}

        frozen = (await client.get(f"/assemblies/{ag}/voting-rights")).json()
        assert frozen["on"] == "2051-05-20" and frozen["frozen"] is True
        assert sorted(e["organisation_id"] for e in frozen["with_voting_rights"]) == sorted([a1, a2, a3, a4, n1, c1])
        why = {e["organisation_id"]: e["reason"] for e in frozen["without_voting_rights"]}
        assert why == {lapsed: "lapsed", unpaid: "dues_unpaid"}
        colleges = {e["organisation_id"]: (e["college"], e["weight"]) for e in frozen["with_voting_rights"]}
        assert colleges[n1] == ("networks", 2) and colleges[c1] == ("cooperatives", 1)
        live = (await client.get("/governance/voting-rights", params={"on": "2051-05-20"})).json()
        assert {**live, "frozen": True} == frozen

        # -- attendance and proxies ----------------------------------------------------------------------
        for org in (a1, c1, n1, unpaid):
            r = await client.post(f"/assemblies/{ag}/attendance",
                                  json={"organisation_id": org, "attendance": "present", "on": "2051-06-12"})
            assert r.status_code == 200, r.text
        for grantor in (a3, a4):
            r = await client.post(f"/assemblies/{ag}/proxies", json={"grantor_id": grantor, "holder_id": a1,
                                                                     "on": "2051-06-12"})
            assert r.status_code == 200, r.text
        r = await client.post(f"/assemblies/{ag}/proxies", json={"grantor_id": a2, "holder_id": a1, "on": "2051-06-12"})
        assert r.status_code == 422 and fields(r) == ["holder_id"]
        assert "statutes.max_proxies_per_holder" in r.json()["detail"]
        r = await client.post(f"/assemblies/{ag}/proxies", json={"grantor_id": lapsed, "holder_id": c1})
        assert r.status_code == 422 and "no voting rights" in r.json()["detail"]
        r = await client.post(f"/assemblies/{ag}/proxies", json={"grantor_id": a2, "holder_id": c1, "on": "2051-06-12"})
        assert r.status_code == 200
        quorum = (await client.get(f"/assemblies/{ag}/quorum")).json()
        assert (quorum["counted"], quorum["voters"], quorum["required"], quorum["met"]) == (6, 6, 2, True)

        # -- candidacies, opening, votes ---------------------------------------------------------------
        for org in (a1, a2, n1):
            r = await client.post(f"/assemblies/{ag}/candidacies", json={"organisation_id": org, "on": "2051-06-01"})
            assert r.status_code == 200, r.text
        r = await client.post(f"/assemblies/{ag}/resolutions/r1/votes", json={"voter_id": a1, "choice": "for"})
        assert r.status_code == 409, "no vote before the session opens"
        r = await client.post(f"/assemblies/{ag}/opening", json={"on": "2051-06-12"})
        assert r.status_code == 200 and r.json()["status"] == "in_session"

        async def vote(resolution: str, voter: str, choice: str):
            return await client.post(f"/assemblies/{ag}/resolutions/{resolution}/votes",
                                     json={"voter_id": voter, "choice": choice, "on": "2051-06-12"})

        assert (await vote("r1", a1, "for")).status_code == 200
        assert (await vote("r1", c1, "against")).status_code == 200
        assert (await vote("r1", n1, "for")).status_code == 200
        r = await vote("r1", unpaid, "for")
        assert r.status_code == 422 and fields(r) == ["voter_id"] and "no voting rights" in r.json()["detail"]
        r = await vote("r1", a3, "against")
        assert r.status_code == 422 and "proxy holder" in r.json()["detail"]
        assert (await vote("r1", a1, "against")).status_code == 409
        r = await vote("r9", a1, "for")
        assert r.status_code == 404 and "r9" in r.json()["detail"]
        r = await vote("r1", a1, "perhaps")
        assert r.status_code == 422 and fields(r) == ["choice"]
        r = await client.post(f"/assemblies/{ag}/resolutions/r1/decision", json={"on": "2051-06-12"})
        assert r.status_code == 200
        decision = r.json()["resolutions"][0]["decision"]
        assert decision["adopted"] is True and (decision["for_weight"], decision["against_weight"]) == (5, 2)
        by_college = {c["college"]: c for c in decision["results"]}
        assert (by_college["associations"]["for_count"], by_college["associations"]["against_count"]) == (3, 1)
        assert by_college["networks"]["for_weight"] == 2 and by_college["cooperatives"]["against_count"] == 1
        for voter, choice in ((a1, "against"), (c1, "for"), (n1, "for")):
            assert (await vote("r2", voter, choice)).status_code == 200  # 4 of 7: short of two thirds

        # -- board election ---------------------------------------------------------------------------
        for voter, chosen in ((a1, [a1, n1]), (c1, [a2]), (n1, [n1, a1])):
            r = await client.post(f"/assemblies/{ag}/board-ballots",
                                  json={"voter_id": voter, "candidate_ids": chosen, "on": "2051-06-12"})
            assert r.status_code == 200, r.text
        r = await client.post(f"/assemblies/{ag}/board-ballots",
                              json={"voter_id": a1, "candidate_ids": [a2], "on": "2051-06-12"})
        assert r.status_code == 409
        r = await client.post(f"/assemblies/{ag}/closing", json={"on": "2051-06-12"})
        assert r.status_code == 409 and "elect the board" in r.json()["detail"]
        r = await client.post(f"/assemblies/{ag}/board-election", json={"on": "2051-06-12"})
        assert r.status_code == 200, r.text
        elected = {m["organisation_id"]: m for m in r.json()["mandates"]}
        assert set(elected) == {a1, a2, n1} and elected[a1]["end_on"] == "2054-06-11"
        assert elected[n1]["college"] == "networks"

        # -- closing: the record is immutable ----------------------------------------------------------------
        r = await client.post(f"/assemblies/{ag}/closing", json={"on": "2051-06-12"})
        assert r.status_code == 200 and r.json()["status"] == "closed"
        assert r.json()["resolutions"][1]["decision"]["adopted"] is False
        record = r.json()
        for path, body in ((f"/assemblies/{ag}/resolutions/r2/votes", {"voter_id": a2, "choice": "for"}),
                           (f"/assemblies/{ag}/attendance", {"organisation_id": a2, "attendance": "present"}),
                           (f"/assemblies/{ag}/closing", {"on": "2051-06-13"}),
                           (f"/assemblies/{ag}/resolutions/r1/decision", {})):
            r = await client.post(path, json=body)
            assert r.status_code == 409 and "closed on 2051-06-12" in r.json()["detail"], path
        assert (await client.get(f"/assemblies/{ag}")).json() == record

        # -- the board on a date -------------------------------------------------------------------------
        board = (await client.get("/board", params={"on": "2051-06-12"})).json()
        assert sorted(m["organisation_id"] for m in board["mandates"]) == sorted([a1, a2, n1])
        assert board["seats"]["associations"] == {"seats": 6, "filled": 2}
        assert (await client.get("/board", params={"on": "2051-06-11"})).json()["mandates"] == []
        assert (await client.get("/board", params={"on": "2054-06-12"})).json()["mandates"] == []

        # -- later changes: a2 lapses, c1 withdraws, a2 leaves the board ---------------------------------------
        r = await client.post(f"/members/{a2}/invoices", json={"year": 2052, "on": "2052-01-05"})
        assert r.status_code == 201
        assert (await client.post("/dues/deadlines", json={"on": "2052-04-10"})).status_code == 200
        assert (await client.get(f"/members/{a2}")).json()["status"] == "lapsed"
        r = await client.post(f"/members/{c1}/withdrawal", json={"reason": "resignation", "on": "2052-05-01"})
        assert r.status_code == 200

        async def sitting(on: str) -> list[str]:
            board_then = (await client.get("/board", params={"on": on})).json()
            return sorted(m["organisation_id"] for m in board_then["mandates"])

        # a lapsed member leaves the board (the board-seats consumer ends its mandate the day before)
        async def a2_left() -> bool:
            return await sitting("2052-04-10") == sorted([a1, n1])
        await eventually(a2_left)
        assert await sitting("2052-04-09") == sorted([a1, a2, n1])
        ended = next(m for m in (await client.get("/board/mandates")).json() if m["organisation_id"] == a2)
        assert (ended["ended_on"], ended["end_reason"]) == ("2052-04-09", "membership_ended")
        r = await client.post(f"/board/mandates/{elected[n1]['mandate_id']}/end",
                              json={"reason": "resigned", "on": "2053-01-31"})
        assert r.status_code == 200 and r.json()["ended_on"] == "2053-01-31"
        r = await client.post(f"/board/mandates/{elected[n1]['mandate_id']}/end",
                              json={"reason": "resigned", "on": "2053-02-01"})
        assert r.status_code == 409
        assert await sitting("2053-02-01") == [a1]
        again = (await client.get("/governance/voting-rights", params={"on": "2051-05-20"})).json()
        assert again == live, "the roll of a past date does not move with later facts"
        assert (await client.get(f"/assemblies/{ag}/voting-rights")).json() == frozen
        now = (await client.get("/governance/voting-rights", params={"on": "2052-05-02"})).json()
        why_now = {e["organisation_id"]: e["reason"] for e in now["without_voting_rights"]}
        assert why_now[a2] == "lapsed" and why_now[c1] == "withdrawn"

        # -- commissions ------------------------------------------------------------------------------
        r = await client.post("/commissions", json={"name": "Commission transition", "on": "2051-06-15"})
        assert r.status_code == 201
        com = r.json()["id"]
        r = await client.post(f"/commissions/{com}/members", json={"organisation_id": a1, "on": "2051-07-01"})
        assert r.status_code == 201
        r = await client.post(f"/commissions/{com}/members", json={"organisation_id": lapsed, "on": "2051-07-01"})
        assert r.status_code == 422 and fields(r) == ["organisation_id"]
        r = await client.post(f"/commissions/{com}/members/{a1}/departure", json={"on": "2051-12-31"})
        assert r.status_code == 200
        members_on = (await client.get(f"/commissions/{com}/members", params={"on": "2051-08-01"})).json()
        assert [m["organisation_id"] for m in members_on["members"]] == [a1]
        assert (await client.get(f"/commissions/{com}/members", params={"on": "2052-01-01"})).json()["members"] == []
        listed = (await client.get("/commissions", params={"kind": "commission"})).json()
        assert [c["id"] for c in listed["items"]] == [com]

        # -- roles ------------------------------------------------------------------------------------------
        reader = bearer(settings, "reader")
        assert (await client.get(f"/assemblies/{ag}", headers=reader)).status_code == 200
        assert (await client.get("/board", headers=reader)).status_code == 200
        assert (await client.post("/commissions", json={"name": "x"}, headers=reader)).status_code == 403
        assert (await client.get("/board", headers=bearer(settings, "staff:events"))).status_code == 403

    # -- the events, from Kafka ------------------------------------------------------------------------------
    records = await read_topic(settings, "membership.assembly", lambda r: r.key == ag.encode(), count=24)
    assert kinds(records) == (["assembly-convened"] + ["attendance-recorded"] * 4 + ["proxy-given"] * 3
                              + ["candidacy-registered"] * 3 + ["assembly-opened"] + ["ballot-cast"] * 3
                              + ["resolution-adopted"] + ["ballot-cast"] * 6 + ["resolution-rejected"]
                              + ["assembly-closed"])
    for record in records:
        payload = json.loads(record.value)
        assert "choice" not in payload and "name" not in payload
    board_events = await read_topic(settings, "membership.board", lambda r: True, count=6)
    assert kinds(board_events) == ["board-elected"] + ["mandate-started"] * 3 + ["mandate-ended"] * 2
    elected_event = json.loads(board_events[0].value)
    assert elected_event["assembly_id"] == ag and {s["organisation_id"] for s in elected_event["seats"]} == {a1, a2, n1}
    commission_events = await read_topic(settings, "membership.commission", lambda r: r.key == com.encode(), count=3)
    assert kinds(commission_events) == ["commission-created", "commission-member-joined", "commission-member-left"]
    colleges_events = await read_topic(settings, "membership.college-assignment", lambda r: r.key == n1.encode())
    assert kinds(colleges_events) == ["college-assigned"]


async def test_second_convocation_when_the_quorum_is_not_met(app, settings):
    async with client_of(app, settings, *STAFF) as client:
        members = [await active_member(client, on="2053-01-09") for _ in range(5)]
        for org in members:
            await pay_in_full(client, org, 2053, "2053-01-20")
        r = await client.post("/assemblies", json={"title": "AG 2053", "meeting_on": "2053-06-12", "on": "2053-05-20",
                                                   "agenda": [{"title": "Comptes 2052"}]})
        ag = r.json()["id"]
        await client.post(f"/assemblies/{ag}/attendance",
                          json={"organisation_id": members[0], "attendance": "present", "on": "2053-06-12"})
        quorum = (await client.get(f"/assemblies/{ag}/quorum")).json()
        assert (quorum["counted"], quorum["required"], quorum["met"]) == (1, 2, False)
        r = await client.post(f"/assemblies/{ag}/opening", json={"on": "2053-06-12"})
        assert r.status_code == 200 and r.json()["status"] == "quorum_not_reached"
        r = await client.post(f"/assemblies/{ag}/resolutions/r1/votes",
                              json={"voter_id": members[0], "choice": "for", "on": "2053-06-12"})
        assert r.status_code == 409
        r = await client.post(f"/assemblies/{ag}/second-convocation", json={"meeting_on": "2053-06-14",
                                                                            "on": "2053-06-12"})
        assert r.status_code == 422 and "statutes.second_notice_days" in r.json()["detail"]
        r = await client.post(f"/assemblies/{ag}/second-convocation", json={"meeting_on": "2053-06-26",
                                                                            "on": "2053-06-12"})
        assert r.status_code == 200 and r.json()["sessions"][-1]["convocation_number"] == 2
        await client.post(f"/assemblies/{ag}/attendance",
                          json={"organisation_id": members[1], "attendance": "present", "on": "2053-06-26"})
        r = await client.post(f"/assemblies/{ag}/opening", json={"on": "2053-06-26"})
        assert r.status_code == 200 and r.json()["status"] == "in_session", "no quorum at a second convocation"
        r = await client.post(f"/assemblies/{ag}/resolutions/r1/votes",
                              json={"voter_id": members[1], "choice": "for", "on": "2053-06-26"})
        assert r.status_code == 200
        r = await client.post(f"/assemblies/{ag}/closing", json={"on": "2053-06-26"})
        assert r.status_code == 200 and r.json()["resolutions"][0]["decision"]["adopted"] is True
        listed = (await client.get("/assemblies")).json()
        assert listed["total"] == 1 and listed["items"][0]["id"] == ag
        assert (listed["items"][0]["status"], listed["items"][0]["convocation_number"]) == ("closed", 2)
        assert listed["items"][0]["meeting_on"] == "2053-06-26"
    records = await read_topic(settings, "membership.assembly", lambda r: r.key == ag.encode(), count=9)
    assert kinds(records) == ["assembly-convened", "attendance-recorded", "assembly-quorum-not-reached",
                              "assembly-reconvened", "attendance-recorded", "assembly-opened", "ballot-cast",
                              "resolution-adopted", "assembly-closed"]


async def test_hostile_input_gets_a_4xx_never_a_500(app, settings):
    async with client_of(app, settings, *STAFF) as client:
        org = await active_member(client, on="2054-01-09")
        r = await client.post("/assemblies", json={"title": "AG 2054", "meeting_on": "2054-06-12", "on": "2054-05-20"})
        ag = r.json()["id"]
        probes = [
            ("post", "/assemblies", {"title": "x", "meeting_on": "3023-06-12"}, 422),
            ("post", "/assemblies", {"title": "", "meeting_on": "2054-06-12"}, 422),
            ("post", "/assemblies", {"title": "x", "meeting_on": "2054-06-12", "agenda": [{"title": "t"}] * 201}, 422),
            ("post", "/assemblies", {"title": "x", "meeting_on": "2054-06-12", "on": "2054-05-20",
                                     "reference_on": "2054-06-01"}, 422),
            ("post", "/assemblies", {"title": "x", "meeting_on": "2054-06-12", "quorum": "0"}, 422),
            ("post", "/assemblies/ag-nope/attendance", {"organisation_id": org, "attendance": "present"}, 404),
            ("post", f"/assemblies/{ag}/attendance", {"organisation_id": "org-nope", "attendance": "present"}, 422),
            ("post", f"/assemblies/{ag}/attendance", {"organisation_id": org, "attendance": "represented"}, 422),
            ("post", f"/assemblies/{ag}/attendance", {"organisation_id": "x" * 101, "attendance": "present"}, 422),
            ("post", f"/assemblies/{ag}/proxies", {"grantor_id": org, "holder_id": org}, 422),
            ("post", f"/assemblies/{ag}/resolutions/r1/votes", {"voter_id": org, "choice": "for"}, 404),
            ("post", f"/assemblies/{ag}/board-ballots", {"voter_id": org, "candidate_ids": ["c"] * 101}, 422),
            ("post", f"/assemblies/{ag}/board-election", {"on": "2054-06-12"}, 409),
            ("post", f"/assemblies/{ag}/closing", {"on": "2054-06-12"}, 409),
            ("post", f"/assemblies/{ag}/second-convocation", {"meeting_on": "2054-07-12"}, 409),
            ("post", f"/assemblies/{ag}/opening", {"on": "2054-06-11"}, 422),
            ("put", "/governance/colleges/org-nope", {"college": "networks"}, 404),
            ("put", f"/governance/colleges/{org}", {"college": "x" * 41}, 422),
            ("post", "/board/mandates/mdt-nope/end", {"reason": "resigned"}, 404),
            ("post", "/board/mandates/mdt-nope/end", {"reason": "term_expired"}, 404),
            ("post", "/commissions", {"name": "x", "kind": "club"}, 422),
            ("post", "/commissions/com-nope/members", {"organisation_id": org}, 404),
            ("get", "/board?on=3023-01-01", None, 422),
            ("get", "/governance/voting-rights?on=not-a-date", None, 422),
            ("get", "/assemblies/ag-nope/quorum", None, 404),
            ("get", "/governance/colleges/org-nope", None, 404),
        ]
        for method, path, body, expected_status in probes:
            r = await client.request(method, path, json=body)
            assert r.status_code == expected_status, (method, path, body, r.status_code, r.text)
            assert r.headers["content-type"].startswith("application/problem+json"), path
