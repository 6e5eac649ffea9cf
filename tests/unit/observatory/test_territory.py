"""The ledger's parties, the territories, the territorial diagnostic and the organisations' timelines —
pure: events in (built from their contracts' examples), rows, figures and lines out."""
from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone, tzinfo

import pytest

from contracts.events import (ConventionParticipantJoined, EventCancelled, EventHeld, EventPublished, MeetingHeld,
                              MeetingOutcomeRecorded, ParticipantCheckedIn, RegistrationCancelled,
                              RegistrationConfirmed)
from contracts.membership import ApplicationSubmitted, DuesInvoiced, DuesPaymentRecorded, MemberActivated
from contracts.procurement import (BuyerConventionSigned, BuyerRegistered, FunnelStepRecorded, InterventionLogged,
                                   InterventionWithdrawn, NeedAwarded, NeedDrafted, NeedUpdated, SupplierArchived,
                                   SupplierNotified, SupplierProfiled)
from runtime.errors import NotFound
from services.observatory.domain.ledger import LedgerRow, local_date, parties, resolve, row_of, short_name
from services.observatory.domain.territory import Level, Organisation, diagnostic, organisation_commune, territory
from services.observatory.domain.timeline import euros, event_ids_of, timeline, titles_of
from tests.unit.examples import example

T0 = datetime(2040, 1, 1, 9, tzinfo=timezone.utc)
_n = iter(range(1, 1_000_000))


def row(cls, **over):
    n = next(_n)
    return row_of(example(cls, **over), event_id=f"ce-{n}", at=T0 + timedelta(seconds=n))


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+01:00")


# -- the ledger's parties -----------------------------------------------------------------------

def test_rows_name_the_organisations_and_refs_they_concern():
    assert row(MemberActivated, organisation_id="org-a").organisations == ("org-a",)
    reg = row(RegistrationConfirmed, registration_id="reg-1", organisation_id="org-a")
    assert (reg.organisations, reg.refs, reg.data["organisation_id"]) == (("org-a",), (), "org-a")
    assert row(RegistrationConfirmed, organisation_id=None).organisations == ()
    profile = row(SupplierProfiled, supplier_id="sup-1", organisation_id="org-a", base_commune="93048")
    assert (profile.organisations, profile.refs) == (("org-a",), ("supplier:sup-1",))
    assert profile.data["base_commune"] == "93048"
    joined = row(ConventionParticipantJoined, participant_id="reg-9", organisation_id="org-b")
    assert (joined.organisations, joined.refs) == (("org-b",), ("participant:reg-9",))
    assert row(MeetingHeld, participant_ids=("reg-1", "reg-9")).refs == ("participant:reg-1", "participant:reg-9")
    award = row(NeedAwarded, supplier_ids=["sup-1", "sup-2"], amount_cents=2_450_000)
    assert award.refs == ("supplier:sup-1", "supplier:sup-2") and award.data["amount_cents"] == 2_450_000
    assert row(FunnelStepRecorded, supplier_id="sup-1", step="answered").refs == ("supplier:sup-1",)
    held = row(EventHeld, venue_commune="93048", title="Forum")
    assert (held.data["venue_commune"], held.data["title"], held.organisations) == ("93048", "Forum", ())


# -- territories ----------------------------------------------------------------------------------

def test_territories_of_each_level_and_what_they_contain():
    montreuil = territory("commune", "93048")
    assert montreuil.name == "Montreuil" and montreuil.contains("93048") and not montreuil.contains("93066")
    est = territory(Level.EPT, "200057875")
    assert est.contains("93048") and not est.contains("93066") and est.departements == {"93"}
    mgp = territory("epci", "200054781")
    assert mgp.contains("93048") and mgp.contains("75111") and not mgp.contains("77288"), "arrondissements too"
    assert territory("commune", "75056").contains("75111") and not territory("commune", "75056").contains("93048")
    dep = territory("departement", "77")
    assert dep.contains("77288") and not dep.contains("93048") and not dep.contains(None)
    assert dep.holds(None, "77") and not montreuil.holds(None, "93"), "a place without a commune: its département"


@pytest.mark.parametrize("level, code, named", [
    ("commune", "99999", "99999"), ("departement", "00", "00"), ("epci", "200057875", "200057875"),
    ("ept", "200054781", "200054781"), ("epci", "123", "123")])
def test_unknown_territories_are_named(level, code, named):
    with pytest.raises(NotFound) as exc:
        territory(level, code)
    assert named in exc.value.detail


def test_an_organisation_commune_is_resolved_from_its_name_and_departement():
    assert organisation_commune({"commune": "Montreuil", "departement": "93"}) == "93048"
    assert organisation_commune({"commune": "Montreuil", "departement": "62"}) != "93048"
    assert organisation_commune({"commune": None, "departement": "93"}) is None
    assert organisation_commune({"commune": "Nulle-Part-sur-Rien", "departement": "93"}) is None


# -- the diagnostic -----------------------------------------------------------------------------

def org(oid: str, commune: str | None, history=(), registered="2039-01-01") -> Organisation:
    return Organisation(oid, commune, commune[:2] if commune else None, date.fromisoformat(registered),
                        tuple(history))


def standing(*entries):
    return [{"on": on, "in_good_standing": good, "status": "x"} for on, good in entries]


ORGS = [org("org-m", "93048", standing(("2040-02-01", True))),  # Montreuil, member
        org("org-m2", "93048", standing(("2040-02-01", True), ("2040-11-01", False))),  # lapsed in November
        org("org-b", "93066"),  # Saint-Denis, not a member
        org("org-x", "77288", standing(("2040-03-01", True))),  # Melun
        org("org-late", "93048", registered="2041-05-01")]


def figures_of(rows, place="93048", level="commune", year=2040, as_of=date(2041, 6, 30), orgs=ORGS):
    figures, events = diagnostic(territory(level, place), orgs, rows, year, as_of)
    return {f.indicator: f for f in figures}, events


def test_structures_and_members_of_a_territory_as_of_a_date():
    rows = [row(MemberActivated, organisation_id="org-m", since=date(2040, 2, 1)),
            row(MemberActivated, organisation_id="org-x", since=date(2040, 3, 1))]
    f, _ = figures_of(rows)
    assert (f["structures"].value, f["members_at_year_end"].value, f["new_members"].value) == (2, 1, 1)
    assert f["structures"].source.kind == "events" and "Montreuil" in f["structures"].source.detail
    assert f["new_members"].source.detail == "adhésions d'organisations du territoire « Montreuil » ayant débuté en 2040"
    f, _ = figures_of(rows, as_of=date(2040, 6, 30))
    assert f["members_at_year_end"].value == 2, "org-m2 lapsed only in November"
    f, _ = figures_of(rows, place="93", level="departement")
    assert (f["structures"].value, f["members_at_year_end"].value) == (3, 1)
    f, _ = figures_of(rows, year=2041)
    assert (f["structures"].value, f["new_members"].value) == (3, 0), "org-late registered in 2041"


def test_events_held_there_and_participants_from_there():
    held_here = [row(EventPublished, event_id="evt-1", title="Forum", venue_commune="93048",
                     published_at=at("2040-03-01")),
                 row(EventHeld, event_id="evt-1", title="Forum", venue_commune="93048", starts_at=at("2040-04-02"))]
    elsewhere = [row(EventHeld, event_id="evt-2", venue_commune="77288", starts_at=at("2040-05-02"))]
    cancelled = [row(EventHeld, event_id="evt-3", venue_commune="93048", starts_at=at("2040-06-02")),
                 row(EventCancelled, event_id="evt-3", venue_commune="93048", cancelled_at=at("2040-06-01"))]
    online = [row(EventHeld, event_id="evt-4", venue_commune=None, starts_at=at("2040-06-02"))]
    regs = [row(RegistrationConfirmed, registration_id="r1", event_id="evt-2", organisation_id="org-m",
                registered_at=at("2040-04-01")),  # from Montreuil, at Melun
            row(RegistrationConfirmed, registration_id="r2", event_id="evt-1", organisation_id="org-x",
                registered_at=at("2040-03-02")),  # from Melun, at Montreuil
            row(RegistrationConfirmed, registration_id="r3", event_id="evt-1", organisation_id="org-m2",
                registered_at=at("2040-03-02")),
            row(RegistrationCancelled, registration_id="r3", event_id="evt-1", organisation_id="org-m2",
                cancelled_at=at("2040-03-05")),
            row(ParticipantCheckedIn, registration_id="r1", event_id="evt-2", organisation_id="org-m",
                checked_in_at=at("2040-05-02"), first_entry=True),
            row(ParticipantCheckedIn, registration_id="r1", event_id="evt-2", organisation_id="org-m",
                checked_in_at=at("2040-05-02", 11), first_entry=False)]
    rows = [*held_here, *elsewhere, *cancelled, *online, *regs]
    f, events = figures_of(rows)
    assert f["events_held"].value == 1 and [(e.event_id, e.title) for e in events] == [("evt-1", "Forum")]
    assert (f["participants_from_territory"].value, f["check_ins_from_territory"].value) == (1, 1)
    f, _ = figures_of(rows, place="77", level="departement")
    assert (f["events_held"].value, f["participants_from_territory"].value) == (1, 1)
    f, events = figures_of(rows, as_of=date(2040, 4, 1))
    assert f["events_held"].value == 0 and events == [], "not held yet on 1 April"
    f, _ = figures_of(rows, place="200054781", level="epci")
    assert f["events_held"].value == 1, "Montreuil is in the Métropole du Grand Paris"


def test_suppliers_needs_awards_buyers_and_interventions_of_a_territory():
    rows = [row(SupplierProfiled, supplier_id="sup-1", organisation_id="org-m", base_commune="93048",
                departements=[], communes=[], profiled_at=at("2040-01-10")),
            row(SupplierProfiled, supplier_id="sup-2", organisation_id="org-x", base_commune="77288",
                departements=["93"], communes=[], profiled_at=at("2040-01-10")),
            row(SupplierProfiled, supplier_id="sup-3", organisation_id="org-b", base_commune="93066",
                departements=[], communes=[], profiled_at=at("2040-01-10")),
            row(SupplierArchived, supplier_id="sup-3", organisation_id="org-b", archived_at=at("2040-02-10")),
            row(NeedDrafted, need_id="need-1", commune="93048", departement="93", drafted_at=at("2040-03-01")),
            row(NeedDrafted, need_id="need-2", commune=None, departement="93", drafted_at=at("2040-03-01")),
            row(NeedDrafted, need_id="need-3", commune="77288", departement="77", drafted_at=at("2040-03-01")),
            row(NeedUpdated, need_id="need-3", commune="93048", departement="93", updated_at=at("2040-03-02")),
            row(NeedAwarded, need_id="need-1", supplier_ids=["sup-1"], amount_cents=2_450_000,
                awarded_at=at("2040-09-01")),
            row(NeedAwarded, need_id="need-2", supplier_ids=["sup-2"], amount_cents=100_000,
                awarded_at=at("2040-09-01")),
            row(BuyerRegistered, buyer_id="buy-1", kind="commune", commune="93048", departement="93",
                registered_at=at("2040-01-05")),
            row(BuyerRegistered, buyer_id="buy-2", kind="private_company", commune="93048", departement="93",
                registered_at=at("2040-01-05")),
            row(InterventionLogged, buyer_id="buy-1", intervention_id="int-1", on=date(2040, 5, 1)),
            row(InterventionLogged, buyer_id="buy-2", intervention_id="int-2", on=date(2040, 5, 1)),
            row(InterventionLogged, buyer_id="buy-1", intervention_id="int-3", on=date(2040, 5, 2)),
            row(InterventionWithdrawn, buyer_id="buy-1", intervention_id="int-3", withdrawn_at=at("2040-05-03"))]
    f, _ = figures_of(rows)
    assert (f["suppliers_based"].value, f["suppliers_serving"].value) == (1, 2), "sup-2 serves the 93; sup-3 archived"
    assert (f["needs"].value, f["needs_awarded"].value, f["needs_awarded_cents"].value) == (2, 1, 2_450_000)
    assert (f["buyers"].value, f["local_authorities_met"].value, f["interventions"].value) == (2, 1, 2)
    assert f["needs_awarded_cents"].source.event_types[-1] == NeedAwarded.event_type
    f, _ = figures_of(rows, place="93", level="departement")
    assert (f["needs"].value, f["needs_awarded"].value, f["needs_awarded_cents"].value) == (3, 2, 2_550_000)
    f, _ = figures_of(rows, as_of=date(2040, 8, 31))
    assert (f["needs_awarded"].value, f["needs_awarded_cents"].value) == (0, 0), "not awarded yet"
    f, _ = figures_of(rows, place="77", level="departement")
    assert (f["suppliers_based"].value, f["needs"].value) == (1, 0), "need-3 moved to Montreuil"


# -- the timeline ---------------------------------------------------------------------------------

def test_an_organisation_timeline_across_services_in_business_order():
    rows = [row(MemberActivated, organisation_id="org-a", since=date(2040, 2, 1)),
            row(DuesInvoiced, organisation_id="org-a", invoice_id="inv-1", year=2040, amount_cents=12_000,
                issued_on=date(2040, 2, 1)),
            row(DuesPaymentRecorded, organisation_id="org-a", invoice_id="inv-1", year=2040, amount_cents=12_000,
                paid_on=date(2040, 2, 20)),
            row(RegistrationConfirmed, registration_id="reg-1", event_id="evt-1", organisation_id="org-a",
                registered_at=at("2040-03-02")),
            row(ParticipantCheckedIn, registration_id="reg-1", event_id="evt-1", organisation_id="org-a",
                checked_in_at=at("2040-04-02"), first_entry=True),
            row(ParticipantCheckedIn, registration_id="reg-1", event_id="evt-1", organisation_id="org-a",
                checked_in_at=at("2040-04-02", 15), first_entry=False),
            row(ConventionParticipantJoined, convention_id="evt-1", participant_id="reg-1", organisation_id="org-a",
                joined_at=at("2040-03-03")),
            row(MeetingHeld, convention_id="evt-1", meeting_id="m-1", participant_ids=("reg-1", "reg-z"),
                held_at=at("2040-04-02", 14)),
            row(SupplierProfiled, supplier_id="sup-a", organisation_id="org-a", profiled_at=at("2040-05-01")),
            row(SupplierNotified, need_id="need-1", supplier_id="sup-a", notified_at=at("2040-05-10")),
            row(FunnelStepRecorded, need_id="need-1", supplier_id="sup-a", step="answered",
                recorded_at=at("2040-05-12")),
            row(FunnelStepRecorded, need_id="need-1", supplier_id="sup-a", step="awarded",
                recorded_at=at("2040-06-01")),
            row(NeedAwarded, need_id="need-1", supplier_ids=["sup-a"], amount_cents=2_450_000,
                awarded_at=at("2040-06-01")),
            row(NeedAwarded, need_id="need-2", supplier_ids=["sup-other"], amount_cents=1, awarded_at=at("2040-06-01")),
            row(MemberActivated, organisation_id="org-other", since=date(2040, 2, 1))]
    events = [row(EventPublished, event_id="evt-1", title="Rencontres d'affaires", published_at=at("2040-03-01"))]
    assert event_ids_of(rows) == ["evt-1"]
    titles = titles_of(events, date(2041, 1, 1))
    lines = timeline("org-a", rows, titles, date(2041, 1, 1))
    assert [line.what for line in lines] == [
        "Adhésion", "Cotisation 2040 appelée (120 €)", "Cotisation 2040 réglée (120 €)",
        "Inscription à « Rencontres d'affaires »", "Inscription aux rendez-vous d'affaires de « Rencontres d'affaires »",
        "Présent à « Rencontres d'affaires »", "Rendez-vous d'affaires (« Rencontres d'affaires »)",
        "Référencement comme fournisseur de l'ESS", "Besoin reçu", "Réponse à un besoin",
        "Marché remporté (24 500 €)"]
    assert [line.service for line in lines] == ["membership"] * 3 + ["events"] * 4 + ["procurement"] * 4
    won = lines[-1]
    assert won.event_type == NeedAwarded.event_type and won.event_id.startswith("ce-")
    assert won.links == {"need_id": "need-1"} and won.on == date(2040, 6, 1)
    assert lines[3].links == {"registration_id": "reg-1", "event_id": "evt-1", "organisation_id": "org-a"}

    before = timeline("org-a", rows, titles, date(2040, 5, 31))
    assert before[-1].what == "Réponse à un besoin" and not any("Marché" in line.what for line in before)
    window = timeline("org-a", rows, titles, date(2041, 1, 1), since=date(2040, 3, 1), until=date(2040, 4, 30))
    assert [line.on.month for line in window] == [3, 3, 4, 4]
    assert timeline("org-nobody", rows, titles, date(2041, 1, 1)) == []
    untitled = timeline("org-a", rows, {}, date(2041, 1, 1))
    assert untitled[3].what == "Inscription à l'événement evt-1"


def test_titles_as_of_a_date_and_euros():
    events = [row(EventPublished, event_id="evt-1", title="Avant", published_at=at("2040-03-01")),
              row(EventHeld, event_id="evt-1", title="Après", starts_at=at("2040-04-01"))]
    assert titles_of(events, date(2040, 3, 15)) == {"evt-1": "Avant"}
    assert titles_of(events, date(2040, 4, 15)) == {"evt-1": "Après"}
    assert (euros(2_450_000), euros(12_050), euros(5), euros(None)) == (
        "24 500 €", "120,50 €", "0,05 €", "montant non précisé")


# -- the ledger's rows: what the tests above left open (mutation testing, `make mutation`) ---------------

def test_a_row_keeps_the_fields_the_report_reads_as_json_and_its_business_day_in_paris():
    signed = row(BuyerConventionSigned, buyer_id="buy-1", signed_on=date(2040, 3, 1), starts_on=date(2040, 4, 1),
                 ends_on=date(2042, 3, 31))
    assert (signed.type, signed.subject, signed.on, signed.name) == \
        (BuyerConventionSigned.event_type, "buy-1", date(2040, 3, 1), "buyer-convention-signed")
    assert signed.data == {"convention_id": signed.data["convention_id"], "buyer_kind": "commune",
                           "starts_on": "2040-04-01", "ends_on": "2042-03-31"}, "the kept fields only, as JSON"
    late = row(EventHeld, starts_at=datetime(2040, 6, 30, 22, 30, tzinfo=timezone.utc))
    assert late.on == date(2040, 7, 1), "half past midnight in Paris"
    assert (late.id, late.at) == (f"ce-{int((late.at - T0).total_seconds())}", late.at)


def test_a_business_day_of_an_instant_without_its_offset_is_read_as_utc(monkeypatch):
    class NoOffset(tzinfo):
        def utcoffset(self, dt):
            return None

    monkeypatch.setenv("TZ", "CET-1")  # a machine on local time (POSIX: no tz database needed): not what is read
    time.tzset()
    try:
        assert local_date(datetime(2040, 6, 30, 22, 30)) == date(2040, 7, 1)
        assert local_date(datetime(2040, 6, 30, 22, 30, tzinfo=NoOffset())) == date(2040, 7, 1)
        assert local_date(datetime(2040, 6, 30, 21, 59, tzinfo=timezone.utc)) == date(2040, 6, 30)
        assert local_date(datetime(2040, 6, 30, 23, 30, tzinfo=timezone(timedelta(hours=2)))) == date(2040, 6, 30)
        assert local_date(date(2040, 6, 30)) == date(2040, 6, 30)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert short_name("org.cress.membership.member-activated.v1") == "member-activated"


def test_parties_name_each_organisation_and_ref_once():
    member = MemberActivated.event_type
    assert parties(member, "org-a", {"organisation_id": "org-a"}) == (("org-a",), ())
    assert parties(ApplicationSubmitted.event_type, "app-1", {"organisation_id": "org-a"}) == (("org-a",), ())
    assert parties(ApplicationSubmitted.event_type, "app-1", {"organisation_id": None}) == ((), ())
    assert parties(SupplierArchived.event_type, "sup-1", {"organisation_id": "org-a"}) == \
        (("org-a",), ("supplier:sup-1",))
    assert parties(MeetingOutcomeRecorded.event_type, "mtg-1",
                   {"participant_ids": ["reg-1", "reg-1", "reg-2"], "supplier_ids": None}) == \
        ((), ("participant:reg-1", "participant:reg-2"))
    assert parties(SupplierNotified.event_type, "need-1", {"supplier_id": "sup-1", "supplier_ids": ["sup-1", "sup-2"],
                                                          "participant_id": "reg-3"}) == \
        ((), ("participant:reg-3", "supplier:sup-1", "supplier:sup-2"))


def test_refs_resolve_to_the_organisation_of_their_tie_rows_only():
    profile = row(SupplierProfiled, supplier_id="sup-1", organisation_id="org-a")
    joined = row(ConventionParticipantJoined, participant_id="reg-9", organisation_id="org-b")
    award = row(NeedAwarded, supplier_ids=["sup-2"])
    not_a_tie = LedgerRow("x", RegistrationConfirmed.event_type, "reg-5", T0, date(2040, 1, 1),
                          organisations=("org-c",), refs=("participant:reg-5",))
    assert resolve([profile, joined, award, not_a_tie]) == {"supplier:sup-1": "org-a", "participant:reg-9": "org-b"}
    orphan = LedgerRow("y", SupplierProfiled.event_type, "sup-3", T0, date(2040, 1, 1), refs=("supplier:sup-3",))
    assert resolve([orphan]) == {}
