"""The territorial diagnostic and an organisation's timeline, from the other services' events only —
on the real broker and database: membership, events, procurement and the observatory served side
by side, a year of activity (2040, the years no other test dates facts in) driven through their
APIs: two members in Montreuil (93) and Melun (77), an event held in Montreuil with their
registrations and a check-in, a supplier profile, a need in Montreuil dispatched, answered and
awarded; then the diagnostic of Montreuil, its EPT, its EPCI and its département, of Melun's
département, and the Montreuil member's timeline — now, and as of a date before the award.

Stocks that other tests' organisations and suppliers share (structures, members, suppliers of
Montreuil: ``active_member`` puts everyone there) are checked as differences between two dates;
year-scoped figures exactly."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.integration.conftest import active_member, client_of, eventually, fields, service_settings, serving

pytestmark = pytest.mark.integration
UTC = timezone.utc
MONTREUIL, MELUN, EST_ENSEMBLE, GRAND_PARIS = "93048", "77288", "200057875", "200054781"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _figures(view: dict) -> dict:
    return {f["indicator"]: f["value"] for f in view["figures"]}


async def test_diagnostics_of_a_territory_and_an_organisation_timeline_as_of_any_date(infrastructure):
    settings = {name: service_settings(infrastructure, name)
                for name in ("membership", "events", "procurement", "observatory")}
    async with serving("membership", settings["membership"]) as membership_app, \
            serving("events", settings["events"]) as events_app, \
            serving("procurement", settings["procurement"]) as procurement_app, \
            serving("observatory", settings["observatory"]) as observatory_app:
        clock = Clock(at("2040-03-01T09:00:00+01:00"))
        events_app.state.platform.commands.events.clock = clock
        for name in ("suppliers", "buyers", "needs"):
            getattr(procurement_app.state.platform.commands, name).clock = clock
        async with client_of(membership_app, settings["membership"]) as m, \
                client_of(events_app, settings["events"]) as ev, \
                client_of(procurement_app, settings["procurement"], "staff:procurement") as pr, \
                client_of(procurement_app, settings["procurement"]) as anyone, \
                client_of(observatory_app, settings["observatory"], "reader") as o, \
                client_of(observatory_app, settings["observatory"], "staff:observatory") as staff:
            anyone.headers.pop("Authorization")

            # -- two members: Montreuil (93) pays its dues; Melun (77) ------------------------------------
            here = await active_member(m, on="2040-01-10", name="Recyclerie du Bas-Montreuil", departement="93",
                                       commune="Montreuil")
            there = await active_member(m, on="2040-01-15", name="Ressourcerie de Melun", departement="77",
                                        commune="Melun")
            member = (await m.get(f"/members/{here}")).json()
            dues = next(inv["amount_cents"] for inv in member["invoices"] if inv["year"] == 2040)
            r = await m.post(f"/members/{here}/payments", json={"year": 2040, "amount_cents": dues,
                                                                 "on": "2040-02-01"})
            assert r.status_code == 201, r.text

            # -- an event in Montreuil: both register, Montreuil's person comes ----------------------------
            r = await ev.post("/events", json={
                "kind": "members_seminar", "team": "membership", "title": "Séminaire des adhérent·e·s 2040",
                "starts_at": "2040-04-02T09:00:00+02:00", "ends_at": "2040-04-02T17:00:00+02:00",
                "place": "Maison de l'ESS, Montreuil", "venue_commune": MONTREUIL, "capacity": 50})
            assert r.status_code == 201, r.text
            event = r.json()["id"]
            assert (await ev.post(f"/events/{event}/publication")).status_code == 200
            clock.now = at("2040-03-05T10:00:00+01:00")
            regs = {}
            for org, email in ((here, "camille@example.org"), (there, "dominique@example.org")):
                r = await ev.post(f"/events/{event}/registrations",
                                  json={"name": "Une personne", "email": email, "organisation_id": org})
                assert r.status_code == 201, r.text
                regs[org] = r.json()["registration"]["id"]
            gate = (await ev.post(f"/events/{event}/checkin-lists", json={"name": "Entrée"})).json()
            clock.now = at("2040-04-02T09:10:00+02:00")
            token = (await ev.get(f"/registrations/{regs[here]}/badge")).json()["token"]
            r = await ev.post(f"/events/{event}/scans", json={"list_id": gate["list_id"], "token": token,
                                                              "gate": "Porte A", "nonce": "terr-1"})
            assert r.status_code == 200 and r.json()["result"]["outcome"] == "checked_in", r.text
            clock.now = at("2040-04-02T18:00:00+02:00")
            assert (await ev.post(f"/events/{event}/held")).status_code == 200

            # -- procurement: a supplier profile, a buyer, an intervention, a need answered and awarded ------
            clock.now = at("2040-05-01T09:00:00+02:00")
            await eventually(lambda: _known(pr, here), timeout=60)
            r = await pr.post("/suppliers", json={"organisation_id": here, "sectors": ["circular_economy"],
                                                  "services": ["collecte et réemploi de mobilier"], "kinds": ["aci"]})
            assert r.status_code == 201, r.text
            supplier = r.json()["id"]
            r = await pr.post("/buyers", json={"kind": "commune", "siret": "21930048000015",
                                               "name": "Ville de Montreuil", "departement": "93", "commune": MONTREUIL})
            assert r.status_code == 201, r.text
            buyer = r.json()["id"]
            r = await pr.post(f"/buyers/{buyer}/interventions", json={"kind": "awareness_workshop",
                                                                       "on": "2040-05-01", "participants": 9})
            assert r.status_code == 201, r.text
            r = await pr.post("/needs", json={
                "buyer_id": buyer, "title": "Collecte et réemploi du mobilier", "kind": "tender",
                "sectors": ["circular_economy"], "place": {"commune": MONTREUIL}, "amount_band": "20k_30k",
                "deadline_at": "2040-05-30T12:00:00+02:00", "reserved": False, "social_clause": True})
            assert r.status_code == 201, r.text
            need = r.json()["id"]
            assert (await pr.post(f"/needs/{need}/submission")).status_code == 200
            assert (await pr.post(f"/needs/{need}/validation")).status_code == 200
            assert (await pr.post(f"/needs/{need}/dispatch")).status_code == 202

            async def dispatched():
                return (await pr.get(f"/needs/{need}/dispatch")).json()["status"] == "completed"

            await eventually(dispatched, timeout=30)
            rows = (await pr.get(f"/needs/{need}/suppliers", params={"limit": 10})).json()["items"]
            link = next(row["link_path"] for row in rows if row["supplier_id"] == supplier)
            clock.now = at("2040-05-10T09:00:00+02:00")
            for step in ("viewed", "answered"):
                r = await anyone.post(f"{link}/steps", json={"step": step})
                assert r.status_code == 200, r.text
            clock.now = at("2040-06-15T09:00:00+02:00")
            assert (await pr.post(f"/needs/{need}/closing")).json()["status"] == "closed"
            r = await pr.post(f"/needs/{need}/award", json={"supplier_ids": [supplier], "amount_cents": 2_450_000})
            assert r.status_code == 200, r.text

            # -- a structure of Montreuil that is neither a member nor a supplier, imported into the directory
            r = await staff.post("/directory/imports", params={"source": "Recensement 2040", "on": "2040-06-01"},
                                 content="nom;famille;commune\nÉpicerie solidaire du Bas-Montreuil 2040;association;"
                                         "93048\n".encode(), headers={"Content-Type": "text/csv"})
            assert r.status_code == 201 and r.json()["imported"] == 1, r.text

            # -- the observatory, from the events alone ----------------------------------------------------
            async def diagnostic(level: str, code: str, as_of: str = "2041-01-31", year: int = 2040) -> dict:
                r = await o.get(f"/territories/{level}/{code}/diagnostic", params={"year": year, "as_of": as_of})
                assert r.status_code == 200, r.text
                return r.json()

            async def caught_up():
                f = _figures(await diagnostic("commune", MONTREUIL))
                timeline = (await o.get(f"/organisations/{here}/timeline", params={"as_of": "2041-01-31"})).json()
                melun = _figures(await diagnostic("departement", "77"))
                return (f["needs_awarded"] == 1 and f["check_ins_from_territory"] == 1 and f["interventions"] == 1
                        and f["new_members"] == 1 and melun["participants_from_territory"] == 1
                        and any(line["what"].startswith("Marché remporté") for line in timeline.get("lines", [])))

            await eventually(caught_up, timeout=120, interval=0.5)

            view = await diagnostic("commune", MONTREUIL)
            assert (view["name"], view["level_label"], view["departements"]) == ("Montreuil", "Commune", ["93"])
            f = _figures(view)
            assert (f["events_held"], f["participants_from_territory"], f["check_ins_from_territory"]) == (1, 1, 1)
            assert [e["event_id"] for e in view["events_held"]] == [event]
            assert view["events_held"][0]["title"] == "Séminaire des adhérent·e·s 2040"
            assert (f["needs"], f["needs_awarded"], f["needs_awarded_cents"]) == (1, 1, 2_450_000)
            assert (f["local_authorities_met"], f["interventions"], f["new_members"]) == (1, 1, 1)
            awarded = next(x for x in view["figures"] if x["indicator"] == "needs_awarded_cents")
            assert awarded["source"]["kind"] == "events" and awarded["source"]["events"] == 1
            assert "org.cress.procurement.need-awarded.v1" in awarded["source"]["event_types"]
            # stocks other tests share: what 2040 added
            before = _figures(await diagnostic("commune", MONTREUIL, as_of="2039-12-31", year=2039))
            assert f["structures"] - before["structures"] == 2  # the member, and the imported structure
            assert f["members_at_year_end"] - before["members_at_year_end"] == 1
            assert f["suppliers_based"] - before["suppliers_based"] == 1
            assert f["buyers"] - before["buyers"] == 1

            for level, code in (("ept", EST_ENSEMBLE), ("epci", GRAND_PARIS), ("departement", "93")):
                g = _figures(await diagnostic(level, code))
                assert (g["events_held"], g["needs_awarded"], g["needs_awarded_cents"]) == (1, 1, 2_450_000), level
                assert g["participants_from_territory"] == 1, level
            melun = await diagnostic("departement", "77")
            g = _figures(melun)
            assert melun["name"] == "Seine-et-Marne"
            assert (g["events_held"], g["participants_from_territory"], g["check_ins_from_territory"]) == (0, 1, 0)
            assert (g["needs"], g["needs_awarded_cents"], g["new_members"]) == (0, 0, 1)
            # as of the day before the award, and before the event was held
            g = _figures(await diagnostic("commune", MONTREUIL, as_of="2040-06-14"))
            assert (g["needs"], g["needs_awarded"], g["needs_awarded_cents"], g["events_held"]) == (1, 0, 0, 1)
            g = _figures(await diagnostic("commune", MONTREUIL, as_of="2040-04-01"))
            assert (g["events_held"], g["participants_from_territory"], g["needs"]) == (0, 0, 0)

            # -- the Montreuil member's timeline -----------------------------------------------------------
            r = await o.get(f"/organisations/{here}/timeline", params={"as_of": "2041-01-31"})
            assert r.status_code == 200, r.text
            timeline = r.json()
            assert timeline["name"] == "Recyclerie du Bas-Montreuil"
            lines = timeline["lines"]
            whats = [line["what"] for line in lines]
            title = "« Séminaire des adhérent·e·s 2040 »"
            expected = ["Adhésion", "Cotisation 2040 réglée", f"Inscription à {title}", f"Présent à {title}",
                        "Référencement comme fournisseur de l'ESS", "Besoin reçu", "Besoin consulté",
                        "Réponse à un besoin", "Marché remporté (24 500 €)"]
            positions = [next(i for i, w in enumerate(whats) if w.startswith(e)) for e in expected]
            assert positions == sorted(positions), whats
            assert [line["on"] for line in lines] == sorted(line["on"] for line in lines)
            won = lines[positions[-1]]
            assert (won["service"], won["event_type"], won["on"]) == (
                "procurement", "org.cress.procurement.need-awarded.v1", "2040-06-15")
            assert won["links"]["need_id"] == need and won["event_id"]
            present = lines[positions[3]]
            assert present["links"]["registration_id"] == regs[here] and present["links"]["event_id"] == event
            assert not any(regs[there] in line["links"].values() for line in lines), "Melun's registration is not here"

            r = await o.get(f"/organisations/{here}/timeline", params={"as_of": "2040-06-14"})
            early = [line["what"] for line in r.json()["lines"]]
            assert "Réponse à un besoin" in early and not any(w.startswith("Marché remporté") for w in early)
            assert all(line["on"] <= "2040-06-14" for line in r.json()["lines"])
            r = await o.get(f"/organisations/{here}/timeline",
                            params={"as_of": "2041-01-31", "from": "2040-04-01", "to": "2040-04-30"})
            assert r.json()["from"] == "2040-04-01"
            assert [line["what"] for line in r.json()["lines"]] == [f"Présent à {title}"]

            # -- unknown, hostile ---------------------------------------------------------------------------
            r = await o.get("/organisations/org-nobody/timeline")
            assert r.status_code == 404 and "org-nobody" in r.json()["detail"]
            r = await o.get(f"/organisations/{here}/timeline", params={"from": "2040-05-01", "to": "2040-04-01"})
            assert r.status_code == 422 and fields(r) == ["from"]
            r = await o.get("/territories/commune/99999/diagnostic")
            assert r.status_code == 404 and "99999" in r.json()["detail"]
            r = await o.get(f"/territories/ept/{GRAND_PARIS}/diagnostic")
            assert r.status_code == 404 and GRAND_PARIS in r.json()["detail"], "the MGP is an EPCI, not an EPT"
            r = await o.get("/territories/region/11/diagnostic")
            assert r.status_code == 422 and "path.level" in fields(r)
            r = await o.get(f"/territories/commune/{MONTREUIL}/diagnostic", params={"year": 99999})
            assert r.status_code == 422 and "query.year" in fields(r)
        async with client_of(observatory_app, settings["observatory"], "staff:events") as other_team:
            assert (await other_team.get(f"/organisations/{here}/timeline")).status_code == 403
            assert (await other_team.get(f"/territories/commune/{MONTREUIL}/diagnostic")).status_code == 403


async def _known(procurement, org: str) -> bool:
    return (await procurement.get(f"/organisations/{org}")).status_code == 200
