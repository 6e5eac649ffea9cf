"""The territorial diagnostic to the letter: every figure's words, unit and source, the year's bounds
(31 December and the report's date, inclusive), what each kind of row adds or takes away (a registration
offered but not confirmed, a supplier archived or moved, a need drafted the year before, an award without
an amount, a buyer registered after the year, an intervention corrected into the next year), the
directory's places, and the territories' names, codes and refusals — what the first tests
(tests/unit/observatory/test_territory.py) left open (mutation testing, `make mutation`).

Rows are built as :class:`LedgerRow` directly (subject, business date, event time, data): the boundaries
are the point, and a row's date is easier to read here than through a contract's example."""
from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta, timezone

import pytest

from contracts import events as ev
from contracts import membership as mb
from contracts import procurement as pr
from contracts.observatory.directory import DirectoryChangeAccepted, StructureImported, StructureImportUpdated
from runtime.errors import NotFound
from services.observatory.domain.ledger import LedgerRow
from services.observatory.domain.territory import (HeldEvent, Level, Organisation, Territory, city_of, diagnostic,
                                                   organisation_commune, organisation_of, structures_figures,
                                                   territory)

T0 = datetime(2040, 1, 1, 9, tzinfo=timezone.utc)
_n = itertools.count(1)


def r(event: type, subject: str, on: str, **data) -> LedgerRow:
    """A ledger row of ``event`` about ``subject`` dated ``on``; event times follow the order rows are made."""
    n = next(_n)
    return LedgerRow(f"ce-{n:04d}", event.event_type, subject, T0 + timedelta(minutes=n), date.fromisoformat(on),
                     data)


def said(figures) -> list[tuple]:
    return [(f.indicator, f.label, f.value, f.unit, f.source.kind, f.source.event_types, f.source.events,
             f.source.detail) for f in figures]


def types(*events: type) -> tuple[str, ...]:
    return tuple(e.event_type for e in events)


def good(on: str) -> tuple[dict, ...]:
    return ({"on": on, "in_good_standing": True, "status": "active"},)


# -- the organisations of the territory (Montreuil, 93048) and one of Melun (77288)
ORGS = [Organisation("org-a", "93048", "93", date(2039, 5, 1), good("2040-02-01")),
        Organisation("org-b", "93048", "93", date(2040, 12, 31), good("2040-12-31")),  # registered on the last day
        Organisation("org-c", "93048", "93", None),  # registration day unknown: counted
        Organisation("org-d", "93048", "93", date(2041, 1, 1)),  # registered after the year: its people count
        Organisation("org-e", "77288", "77", date(2039, 1, 1), good("2039-01-01"))]

MEMBERS = [r(mb.MemberActivated, "org-a", "2040-02-01"), r(mb.MemberActivated, "org-b", "2040-12-31"),
           r(mb.MemberActivated, "org-e", "2040-03-01"), r(mb.MemberActivated, "org-c", "2039-06-01")]


def held(event_id: str, on: str, commune: str | None, kind="webinar", team="education", title=None) -> LedgerRow:
    return r(ev.EventHeld, event_id, on, kind=kind, team=team, title=title, venue_commune=commune)


def reg(event: type, registration: str, on: str, event_id: str, organisation: str, **data) -> LedgerRow:
    return r(event, registration, on, event_id=event_id, organisation_id=organisation, **data)


EVENTS = [held("evt-1", "2040-04-02", "93048", title="Forum"),
          held("evt-2", "2040-12-31", "93048", kind="training", team="business_development"),  # the last day
          held("evt-3", "2040-12-20", "93048"), r(ev.EventCancelled, "evt-3", "2040-12-31"),  # cancelled on it
          held("evt-4", "2040-05-02", "77288"), held("evt-5", "2039-11-01", "93048"),
          held("evt-6", "2041-02-01", "93048"),
          reg(ev.RegistrationConfirmed, "r1", "2040-04-01", "evt-4", "org-a"),  # from here, at Melun
          reg(ev.RegistrationConfirmed, "r2", "2040-03-01", "evt-1", "org-e"),  # from Melun, here
          reg(ev.RegistrationConfirmed, "r3", "2040-03-01", "evt-1", "org-b"),
          reg(ev.RegistrationCancelled, "r3", "2040-03-05", "evt-1", "org-b"),
          reg(ev.PlaceOfferAccepted, "r4", "2040-03-10", "evt-1", "org-c", status="confirmed"),
          reg(ev.PlaceOfferAccepted, "r5", "2040-12-01", "evt-2", "org-c", status="pending_approval"),
          reg(ev.RegistrationApproved, "r6", "2040-12-02", "evt-2", "org-d"),
          reg(ev.RegistrationConfirmed, "r7", "2040-12-01", "evt-3", "org-a"),  # the event was cancelled
          reg(ev.RegistrationConfirmed, "r8", "2039-10-01", "evt-5", "org-a"),  # held the year before
          reg(ev.ParticipantCheckedIn, "r1", "2040-05-02", "evt-4", "org-a"),
          reg(ev.ParticipantCheckedIn, "r1", "2040-05-02", "evt-4", "org-a"),  # a second entry: one check-in
          reg(ev.ParticipantCheckedIn, "r2", "2040-04-02", "evt-1", "org-e"),
          reg(ev.ParticipantCheckedIn, "r7", "2040-12-20", "evt-3", "org-a"),
          reg(ev.ParticipantCheckedIn, "r4", "2040-04-02", "evt-1", "org-c")]


def supplier(event: type, sid: str, on: str, base: str, communes=(), departements=()) -> LedgerRow:
    return r(event, sid, on, base_commune=base, communes=list(communes), departements=list(departements))


SUPPLIERS = [supplier(pr.SupplierProfiled, "s1", "2040-01-10", "93048"),
             supplier(pr.SupplierProfiled, "s2", "2040-03-01", "77288"),
             supplier(pr.SupplierProfileUpdated, "s2", "2040-12-31", "93048"),  # moved here on the last day
             supplier(pr.SupplierProfiled, "s3", "2040-01-10", "93048"), r(pr.SupplierArchived, "s3", "2040-12-31"),
             supplier(pr.SupplierProfiled, "s4", "2040-01-10", "77288", communes=["93048"]),
             supplier(pr.SupplierProfiled, "s5", "2040-01-10", "77288", departements=["93"]),
             supplier(pr.SupplierProfiled, "s6", "2040-01-10", "77288"),
             supplier(pr.SupplierProfiled, "s7", "2041-01-05", "93048"),
             supplier(pr.SupplierProfiled, "s8", "2040-05-01", "93048"),
             supplier(pr.SupplierProfileUpdated, "s8", "2041-02-01", "77288")]  # moved away after the year


def need(event: type, nid: str, on: str, commune: str | None, departement: str) -> LedgerRow:
    return r(event, nid, on, commune=commune, departement=departement)


NEEDS = [need(pr.NeedDrafted, "n1", "2040-03-01", "93048", "93"),
         need(pr.NeedDrafted, "n2", "2040-12-31", "93048", "93"),  # drafted on the last day
         need(pr.NeedDrafted, "n3", "2039-10-01", "93048", "93"),  # drafted the year before, awarded in it
         need(pr.NeedDrafted, "n4", "2040-04-01", "77288", "77"),
         need(pr.NeedUpdated, "n4", "2041-02-01", "93048", "93"),  # its terms as of the report's date
         need(pr.NeedDrafted, "n5", "2040-05-01", None, "93"),  # no commune: its département only
         need(pr.NeedDrafted, "n6", "2040-06-01", "77288", "77"),
         r(pr.NeedAwarded, "n1", "2040-06-01", amount_cents=100_000),
         r(pr.NeedAwarded, "n1", "2040-07-01", amount_cents=150_000),  # awarded again: the latest counts
         r(pr.NeedAwarded, "n2", "2040-12-31", amount_cents=None),
         r(pr.NeedAwarded, "n3", "2040-02-01", amount_cents=20_000),
         r(pr.NeedAwarded, "n5", "2040-02-01", amount_cents=7_000),
         r(pr.NeedAwarded, "n6", "2040-08-01", amount_cents=500),
         r(pr.NeedAwarded, "n4", "2041-03-01", amount_cents=900)]


def buyer(event: type, bid: str, on: str, kind: str, commune: str | None, departement: str) -> LedgerRow:
    return r(event, bid, on, kind=kind, name=bid, commune=commune, departement=departement)


def intervention(event: type, bid: str, iid: str, on: str) -> LedgerRow:
    return r(event, bid, on, intervention_id=iid)


BUYERS = [buyer(pr.BuyerRegistered, "b1", "2040-01-05", "commune", "93048", "93"),
          buyer(pr.BuyerRegistered, "b2", "2040-12-31", "private_company", "93048", "93"),  # the last day
          buyer(pr.BuyerRegistered, "b3", "2040-02-01", "epci", "77288", "77"),
          buyer(pr.BuyerUpdated, "b3", "2040-06-01", "epci", "93048", "93"),  # moved here
          buyer(pr.BuyerRegistered, "b4", "2041-01-10", "commune", "93048", "93"),  # after the year
          buyer(pr.BuyerRegistered, "b5", "2040-01-05", "departement", None, "93"),
          buyer(pr.BuyerRegistered, "b6", "2040-01-05", "commune", "77288", "77"),
          intervention(pr.InterventionLogged, "b1", "i1", "2040-05-01"),
          intervention(pr.InterventionLogged, "b2", "i2", "2040-05-01"),
          intervention(pr.InterventionLogged, "b3", "i3", "2040-12-31"),  # the last day
          intervention(pr.InterventionLogged, "b1", "i4", "2040-06-01"),
          intervention(pr.InterventionWithdrawn, "b1", "i4", "2040-06-02"),
          intervention(pr.InterventionLogged, "b6", "i5", "2040-05-01"),
          intervention(pr.InterventionLogged, "b1", "i6", "2039-05-01"),
          intervention(pr.InterventionLogged, "b1", "i7", "2040-08-01"),
          intervention(pr.InterventionCorrected, "b1", "i7", "2041-01-03"),  # corrected into the next year
          intervention(pr.InterventionLogged, "b5", "i8", "2040-05-01")]

ROWS = [*MEMBERS, *EVENTS, *SUPPLIERS, *NEEDS, *BUYERS]
HELD = types(ev.EventHeld, ev.EventCancelled)
REGISTRATIONS = types(ev.EventHeld, ev.RegistrationConfirmed, ev.RegistrationApproved, ev.PlaceOfferAccepted,
                      ev.RegistrationCancelled)
SUPPLIER_TYPES = types(pr.SupplierProfiled, pr.SupplierProfileUpdated, pr.SupplierArchived)
NEED_TYPES = types(pr.NeedDrafted, pr.NeedUpdated)
AWARD_TYPES = types(pr.NeedDrafted, pr.NeedUpdated, pr.NeedAwarded)
INTERVENTIONS = types(pr.InterventionLogged, pr.InterventionCorrected, pr.InterventionWithdrawn)
BUYER_TYPES = types(pr.BuyerRegistered, pr.BuyerUpdated)
PROFILES = types(mb.OrganisationRegistered, mb.OrganisationUpdated)
STATUS = types(mb.MemberActivated, mb.MembershipEnteredGracePeriod, mb.MembershipLapsed, mb.MembershipRenewed,
               mb.MembershipWithdrawn)


def test_every_figure_of_a_commune_says_its_words_and_where_it_comes_from():
    figures, events = diagnostic(territory("commune", "93048"), ORGS, ROWS, 2040, date(2041, 6, 30))
    place = "« Montreuil »"
    assert said(figures) == [
        ("structures", "Structures de l'ESS", 3, "structures", "events", PROFILES, 3,
         f"organisations du fichier des adhésions situées sur le territoire {place}, enregistrées au plus tard le "
         f"2040-12-31"),
        ("members_at_year_end", "Adhérent·e·s en fin d'année", 2, "adhérents", "events", (*PROFILES, *STATUS), 2,
         f"organisations du territoire {place} à jour de leur adhésion à la fin de la journée du 2040-12-31"),
        ("new_members", "Nouvelles adhésions", 2, "adhérents", "events", types(mb.MemberActivated), 2,
         f"adhésions d'organisations du territoire {place} ayant débuté en 2040"),
        ("events_held", "Événements organisés sur le territoire", 2, "événements", "events", HELD, 2,
         f"événements ayant eu lieu en 2040 dont le lieu est sur le territoire {place}, hors événements annulés"),
        ("participants_from_territory", "Participant·e·s venant du territoire", 3, "participants", "events",
         REGISTRATIONS, 3,
         f"inscriptions confirmées de personnes d'organisations du territoire {place} aux événements ayant eu lieu "
         f"en 2040"),
        ("check_ins_from_territory", "Présent·e·s venant du territoire", 2, "participants", "events",
         types(ev.EventHeld, ev.ParticipantCheckedIn), 2,
         f"inscriptions émargées de personnes d'organisations du territoire {place} aux événements ayant eu lieu "
         f"en 2040"),
        ("suppliers_based", "Fournisseurs de l'ESS implantés sur le territoire", 3, "fournisseurs", "events",
         SUPPLIER_TYPES, 3,
         f"fiches fournisseurs (non archivées) dont la commune d'implantation est sur le territoire {place} au "
         f"2040-12-31"),
        ("suppliers_serving", "Fournisseurs de l'ESS intervenant sur le territoire", 5, "fournisseurs", "events",
         SUPPLIER_TYPES, 5,
         f"fiches fournisseurs implantées sur le territoire {place}, ou intervenant dans l'une de ses communes ou "
         f"l'un de ses départements (rayon d'intervention non pris en compte)"),
        ("needs", "Besoins d'achat publiés sur le territoire", 3, "besoins", "events", NEED_TYPES, 3,
         f"besoins rédigés en 2040 situés sur le territoire {place}"),
        ("needs_awarded", "Marchés attribués sur le territoire", 3, "marchés", "events", AWARD_TYPES, 3,
         f"besoins du territoire {place} attribués en 2040"),
        ("needs_awarded_cents", "Montant des marchés attribués sur le territoire", 170_000, "centimes", "events",
         AWARD_TYPES, 3, f"montants (hors TVA) des besoins du territoire {place} attribués en 2040"),
        ("buyers", "Acheteurs du territoire (collectivités, entreprises)", 3, "acheteurs", "events", BUYER_TYPES, 3,
         f"acheteurs dont la commune (à défaut, le département) est sur le territoire {place}"),
        ("local_authorities_met", "Collectivités du territoire rencontrées", 2, "collectivités", "events",
         (*INTERVENTIONS, *BUYER_TYPES), 3,
         f"collectivités du territoire {place} ayant bénéficié d'une intervention datée de 2040"),
        ("interventions", "Interventions auprès des acheteurs du territoire", 3, "interventions", "events",
         INTERVENTIONS, 3,
         f"interventions datées de 2040 auprès d'acheteurs du territoire {place} (hors interventions retirées)"),
    ]
    assert events == [HeldEvent("evt-1", "Forum", "webinar", "education", date(2040, 4, 2), "93048"),
                      HeldEvent("evt-2", None, "training", "business_development", date(2040, 12, 31), "93048")]


def values(place: Territory, rows=ROWS, year=2040, as_of=date(2041, 6, 30), orgs=ORGS, directory=None) -> dict:
    figures, _ = diagnostic(place, orgs, rows, year, as_of, directory)
    return {f.indicator: f.value for f in figures}


def test_a_departement_also_holds_the_needs_and_buyers_given_without_a_commune():
    got = values(territory("departement", "93"))
    assert (got["needs"], got["needs_awarded"], got["needs_awarded_cents"]) == (4, 4, 177_000), "n5, no commune"
    assert (got["buyers"], got["local_authorities_met"], got["interventions"]) == (4, 3, 4), "b5, no commune"


def test_the_rows_of_the_report_s_date_itself_count():
    """As of 31 December: the rows of that day are in (the year's end is the report's date)."""
    assert values(territory("commune", "93048"), as_of=date(2040, 12, 31)) == {
        "structures": 3, "members_at_year_end": 2, "new_members": 2, "events_held": 2,
        "participants_from_territory": 3, "check_ins_from_territory": 2, "suppliers_based": 3,
        "suppliers_serving": 5, "needs": 2, "needs_awarded": 3, "needs_awarded_cents": 170_000, "buyers": 3,
        "local_authorities_met": 2, "interventions": 4}, "n4 not moved here yet; i7 not yet corrected into 2041"


def test_a_mid_year_report_counts_up_to_its_date():
    assert values(territory("commune", "93048"), as_of=date(2040, 4, 2)) == {
        "structures": 2, "members_at_year_end": 1, "new_members": 1, "events_held": 1,
        "participants_from_territory": 1, "check_ins_from_territory": 1, "suppliers_based": 2,
        "suppliers_serving": 4, "needs": 1, "needs_awarded": 1, "needs_awarded_cents": 20_000, "buyers": 1,
        "local_authorities_met": 0, "interventions": 0}, "s3 not archived yet"


def test_the_directory_s_places_replace_membership_s_organisations_as_structures():
    places = [("93048", "93"), ("93048", None), (None, "93"), ("77288", "77"), ("93066", "93")]
    figures, _ = diagnostic(territory("commune", "93048"), ORGS, ROWS, 2040, date(2041, 6, 30), places)
    assert said(figures[:1]) == [
        ("structures", "Structures de l'ESS", 2, "structures", "events",
         (*PROFILES, *types(pr.SupplierProfiled, pr.SupplierProfileUpdated, StructureImported,
                            StructureImportUpdated, DirectoryChangeAccepted)), 2,
         "structures de l'annuaire (adhésions, fournisseurs référencés pour les achats, imports) situées sur le "
         "territoire « Montreuil » au 2040-12-31")]
    assert figures[1].value == 2, "the members are still membership's"
    assert values(territory("departement", "93"), directory=places)["structures"] == 4, "a place without a commune"
    assert values(territory("departement", "77"), directory=[])["structures"] == 0


def test_structures_figures_alone_gives_the_ids_located_there_whatever_their_registration():
    figures, ids = structures_figures(territory("commune", "93048"), ORGS, ROWS, 2040, date(2041, 6, 30))
    assert ids == {"org-a", "org-b", "org-c", "org-d"}
    assert [f.value for f in figures] == [3, 2, 2]


def test_cities_of_arrondissements():
    assert [city_of(code) for code in ("75111", "69381", "13201")] == ["75056", "69123", "13055"]
    assert [city_of(code) for code in ("75056", "69123", "13055", "93048", "7511", "751111", "")] == [None] * 7


def test_territories_are_named_and_coded_as_the_reference_does():
    assert territory("commune", " 2a004 ") == Territory(Level.COMMUNE, "2A004", "Ajaccio", frozenset({"2A"}))
    assert territory("departement", "2a") == Territory(Level.DEPARTEMENT, "2A", "Corse-du-Sud", frozenset({"2A"}))
    assert territory("departement", "93").name == "Seine-Saint-Denis"
    assert territory("ept", "200057875") == Territory(Level.EPT, "200057875", "Est Ensemble", frozenset({"93"}))
    assert territory("epci", "200070852") == Territory(Level.EPCI, "200070852", "CC Usses et Rhône",
                                                       frozenset({"01", "74"})), "an EPCI over two départements"
    assert [level.label for level in Level] == ["Commune", "EPCI", "Établissement public territorial", "Département"]


@pytest.mark.parametrize("level, code, detail", [
    ("commune", "99999", "no commune has the INSEE code '99999'"),
    ("departement", "00", "no département has the code '00'"),
    ("epci", "200057875", "no EPCI has the code '200057875'"),
    ("ept", "200054781", "no EPT (établissement public territorial) has the code '200054781'"),
    ("ept", "123", "no EPT (établissement public territorial) has the code '123'")])
def test_unknown_territories_are_refused_in_words(level, code, detail):
    with pytest.raises(NotFound) as exc:
        territory(level, code)
    assert exc.value.detail == detail


def test_an_organisation_s_commune_without_a_departement_is_the_most_populous_of_its_name():
    assert organisation_commune({"commune": "Montreuil"}) == "93048"
    assert organisation_commune({"commune": "Montreuil", "departement": ""}) == "93048"
    assert organisation_commune({"commune": 93048, "departement": "93"}) is None, "a name, not a number"
    assert organisation_commune({"commune": "", "departement": "93"}) is None


def test_an_organisation_is_read_from_membership_s_profile_and_standing():
    history = [{"on": "2040-02-01", "in_good_standing": True, "status": "active"}]
    profile = {"_id": "org-a", "commune": "Montreuil", "departement": "93", "registered_on": "2039-05-01"}
    assert organisation_of(profile, {"history": history}) == Organisation(
        "org-a", "93048", "93", date(2039, 5, 1), tuple(history))
    assert organisation_of({"_id": "org-z", "commune": "Melun"}, None) == Organisation("org-z", "77288", None, None, ())
    assert organisation_of({"_id": "org-y", "registered_on": ""}, {"history": None}) == Organisation(
        "org-y", None, None, None, ())
