"""The events service's and procurement's figures of the activity report, to the letter: every figure's
words, unit and source (the event types read, how many counted, the detail), the conventions' and the
year's bounds (inclusive), and the kind an intervention carries when its buyer is not known — what the
first tests (tests/unit/observatory/test_activity_figures.py) left open (mutation testing, `make mutation`)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

from contracts import events as ev
from contracts import procurement as pr
from services.observatory.domain.activity import events_figures, mean, procurement_figures
from tests.unit.observatory.test_activity_figures import (  # noqa: F401 (fixtures)
    answer, at, cancelled, checked_in, figures_of, held, intervention, make, proc, year_of_events, year_of_procurement)

HELD = (ev.EventHeld.event_type, ev.EventCancelled.event_type)
REGISTRATIONS = (ev.EventHeld.event_type, ev.RegistrationConfirmed.event_type, ev.RegistrationApproved.event_type,
                 ev.PlaceOfferAccepted.event_type, ev.RegistrationCancelled.event_type)
CHECK_INS = (ev.EventHeld.event_type, ev.ParticipantCheckedIn.event_type)
SURVEYS = (ev.SurveyAnswerSubmitted.event_type, ev.SurveyAnswerUpdated.event_type)
INTERVENTIONS = (pr.InterventionLogged.event_type, pr.InterventionCorrected.event_type,
                 pr.InterventionWithdrawn.event_type)


def said(figures) -> list[tuple]:
    return [(f.indicator, f.label, f.value, f.unit, f.source.kind, f.source.event_types, f.source.events,
             f.source.detail) for f in figures]


def test_every_event_figure_says_its_words_and_where_it_comes_from(year_of_events):
    teams = events_figures(year_of_events, 2023, date(2024, 6, 30))
    assert list(teams) == [ev.Team.EDUCATION, ev.Team.BUSINESS_DEVELOPMENT]  # the teams' order, not the alphabet
    assert said(teams[ev.Team.EDUCATION]) == [
        ("events_held", "Événements organisés", 2, "événements", "events", HELD, 2,
         "événements ayant eu lieu en 2023, hors événements annulés"),
        ("participants", "Participant·e·s", 4, "participants", "events", REGISTRATIONS, 2 + 4,
         "inscriptions confirmées aux événements ayant eu lieu en 2023"),
        ("check_ins", "Présent·e·s (émargements)", 2, "participants", "events", CHECK_INS, 2 + 2,
         "inscriptions émargées aux événements ayant eu lieu en 2023 (chacune comptée une fois)"),
        ("events_held_webinar", "Événements organisés — Webinaire", 1, "événements", "events", HELD, 1,
         "événements de type webinar ayant eu lieu en 2023"),
        ("participants_webinar", "Participant·e·s — Webinaire", 2, "participants", "events", REGISTRATIONS, 1 + 2,
         "inscriptions confirmées aux événements de type webinar ayant eu lieu en 2023"),
        ("check_ins_webinar", "Présent·e·s — Webinaire", 1, "participants", "events", CHECK_INS, 1 + 1,
         "premiers émargements aux événements de type webinar ayant eu lieu en 2023"),
        ("events_held_training", "Événements organisés — Formation", 1, "événements", "events", HELD, 1,
         "événements de type training ayant eu lieu en 2023"),
        ("participants_training", "Participant·e·s — Formation", 2, "participants", "events", REGISTRATIONS, 1 + 2,
         "inscriptions confirmées aux événements de type training ayant eu lieu en 2023"),
        ("check_ins_training", "Présent·e·s — Formation", 1, "participants", "events", CHECK_INS, 1 + 1,
         "premiers émargements aux événements de type training ayant eu lieu en 2023"),
        ("survey_mean_mark_participants", "Note moyenne de satisfaction — participant·e·s", 14.0, "/20", "events",
         SURVEYS, 2, "3 notes issues des dernières réponses de 2 répondant·e·s"),
        ("survey_come_again_percent_participants", "Souhaitent revenir — participant·e·s", 50.0, "%", "events",
         SURVEYS, 2, "part des « oui » parmi 2 réponses sur le souhait de revenir"),
        ("survey_mean_mark_partners", "Note moyenne de satisfaction — partenaires", 18.0, "/20", "events", SURVEYS,
         1, "1 notes issues des dernières réponses de 1 répondant·e·s"),
        ("survey_come_again_percent_partners", "Souhaitent revenir — partenaires", 100.0, "%", "events", SURVEYS, 1,
         "part des « oui » parmi 1 réponses sur le souhait de revenir"),
    ]
    assert said(teams[ev.Team.BUSINESS_DEVELOPMENT])[3:] == [
        ("events_held_business_convention", "Événements organisés — Convention d'affaires", 1, "événements",
         "events", HELD, 1, "événements de type business_convention ayant eu lieu en 2023"),
        ("participants_business_convention", "Participant·e·s — Convention d'affaires", 0, "participants", "events",
         REGISTRATIONS, 1,
         "inscriptions confirmées aux événements de type business_convention ayant eu lieu en 2023"),
        ("check_ins_business_convention", "Présent·e·s — Convention d'affaires", 0, "participants", "events",
         CHECK_INS, 1, "premiers émargements aux événements de type business_convention ayant eu lieu en 2023"),
        ("convention_participants", "Conventions d'affaires — participant·e·s", 0, "participants", "events",
         (ev.ConventionParticipantJoined.event_type, ev.ConventionParticipantLeft.event_type), 0,
         "participant·e·s ayant rejoint les conventions d'affaires ayant eu lieu (et ne les ayant pas quittées)"),
        ("convention_meetings_held", "Conventions d'affaires — rendez-vous tenus", 0, "rendez-vous", "events",
         (ev.MeetingHeld.event_type, ev.MeetingNotHeld.event_type), 0,
         "rendez-vous dont le dernier pointage est « tenu »"),
        ("convention_contracts_signed", "Conventions d'affaires — contrats signés", 0, "contrats", "events",
         (ev.MeetingOutcomeRecorded.event_type,), 0,
         "rendez-vous dont la dernière issue enregistrée est « contrat signé »"),
        ("convention_contracts_cents", "Conventions d'affaires — montant des contrats", 0, "centimes", "events",
         (ev.MeetingOutcomeRecorded.event_type,), 0, "montants des contrats signés à l'issue d'un rendez-vous"),
    ]


def test_every_procurement_figure_says_its_words_and_where_it_comes_from(year_of_procurement):
    buyers = (pr.BuyerRegistered.event_type, pr.BuyerUpdated.event_type)
    assert said(procurement_figures(year_of_procurement, 2023, date(2024, 6, 30))) == [
        ("local_authorities_met", "Collectivités rencontrées", 2, "collectivités", "events",
         INTERVENTIONS + buyers, 6,
         "acheteurs de type collectivité ayant bénéficié d'une intervention datée de 2023 (hors interventions "
         "retirées)"),
        ("interventions", "Interventions auprès des acheteurs", 6, "interventions", "events", INTERVENTIONS, 6,
         "interventions datées de 2023"),
        ("interventions_meeting", "Interventions — réunions de travail", 4, "interventions", "events", INTERVENTIONS,
         4, "interventions de type meeting datées de 2023"),
        ("interventions_sourcing", "Interventions — sourcings", 1, "interventions", "events", INTERVENTIONS, 1,
         "interventions de type sourcing datées de 2023"),
        ("interventions_training", "Interventions — formations achats", 1, "interventions", "events", INTERVENTIONS,
         1, "interventions de type training datées de 2023"),
        ("active_conventions", "Conventions en cours avec des collectivités", 1, "conventions", "events",
         (pr.BuyerConventionSigned.event_type, pr.BuyerConventionTerminated.event_type), 1,
         "conventions en vigueur au 2023-12-31"),
        ("purchase_diagnostics_run", "Diagnostics achats réalisés", 2, "diagnostics", "events",
         (pr.DiagnosticReportComputed.event_type,), 2, "diagnostics dont le rapport a été établi en 2023"),
        ("quotes_accepted", "Devis acceptés (Prom'ESS Europe)", 2, "devis", "events", (pr.QuoteAccepted.event_type,),
         2, "devis acceptés en 2023"),
        ("quotes_accepted_net_cents", "Montant des devis acceptés (HT, remise déduite)", 940_000, "centimes",
         "events", (pr.QuoteAccepted.event_type,), 2, "prix nets hors TVA"),
        ("needs_awarded", "Besoins attribués à des structures de l'ESS", 1, "besoins", "events",
         (pr.NeedAwarded.event_type,), 1, "besoins attribués en 2023"),
        ("needs_awarded_cents", "Montant des marchés attribués (HT)", 2_450_000, "centimes", "events",
         (pr.NeedAwarded.event_type,), 1, "montants des marchés hors TVA"),
    ]


def test_an_unknown_buyer_counts_by_the_kind_its_intervention_carries():
    rows = [intervention("b9", "i1", "2023-02-01", buyer_kind="commune"),
            intervention("b8", "i2", "2023-02-01", buyer_kind="private_company")]
    assert proc(rows, 2023, "2023-12-31")["local_authorities_met"].value == 1


def convention(cid: str, signed: str, starts: str, ends: str, terminated: str | None = None) -> list:
    rows = [make(pr.BuyerConventionSigned, buyer_id="b1", convention_id=cid, signed_on=signed, starts_on=starts,
                 ends_on=ends, signed_at=at(signed))]
    if terminated:
        rows.append(make(pr.BuyerConventionTerminated, buyer_id="b1", convention_id=cid, terminated_on=terminated,
                         terminated_at=at(terminated)))
    return rows


def test_a_convention_is_in_force_from_its_first_to_its_last_day_both_included():
    active = lambda rows, as_of: proc(rows, 2023, as_of)["active_conventions"].value  # noqa: E731
    signed_that_day = convention("c1", "2023-06-30", "2023-06-30", "2023-12-31")
    assert (active(signed_that_day, "2023-06-29"), active(signed_that_day, "2023-06-30")) == (0, 1)
    starts_later = convention("c2", "2023-01-10", "2023-06-30", "2023-12-31")
    assert (active(starts_later, "2023-06-29"), active(starts_later, "2023-06-30")) == (0, 1)
    ends = convention("c3", "2022-01-10", "2022-02-01", "2023-06-30")
    assert (active(ends, "2023-06-30"), active(ends, "2023-07-01")) == (1, 0)
    terminated = convention("c4", "2022-01-10", "2022-02-01", "2025-12-31", terminated="2023-06-30")
    assert (active(terminated, "2023-06-29"), active(terminated, "2023-06-30")) == (1, 0)


def test_means_round_half_up_at_the_first_decimal():
    assert mean(1, 20) == 0.1 and mean(-1, 20) == -0.1 and mean(29, 20) == 1.5 and mean(7, 2) == 3.5


def test_an_event_cancelled_on_the_day_of_the_cut_is_no_longer_counted():
    rows = [held("x", "2023-05-01"), cancelled("x", "2023-06-30")]
    assert figures_of(rows, 2023, "2023-06-29")["events_held"].value == 1
    assert figures_of(rows, 2023, "2023-06-30") == {}


def test_check_ins_count_each_registration_once_and_every_registration():
    rows = [held("e1", "2023-03-10"), checked_in("r1", "e1", "2023-03-10"), checked_in("r2", "e1", "2023-03-10"),
            checked_in("r1", "e1", "2023-03-10", first=False)]
    f = figures_of(rows, 2023, "2023-12-31")
    assert (f["check_ins"].value, f["check_ins_webinar"].value, f["check_ins"].source.events) == (2, 2, 1 + 2)


def test_each_meeting_of_a_convention_counts_by_its_own_latest_mark_and_outcome():
    conv = "e3"
    meeting = dict(convention_id=conv, participant_ids=["reg-a", "reg-b"], slot_id="s1", table=1)
    rows = [held(conv, "2023-11-05", kind="business_convention", team="business_development"),
            make(ev.MeetingHeld, **meeting, meeting_id="m1", held_at=at("2023-11-05", 14)),
            make(ev.MeetingHeld, **meeting, meeting_id="m2", held_at=at("2023-11-05", 15)),
            make(ev.MeetingHeld, **meeting, meeting_id="m3", held_at=at("2023-11-05", 16)),
            make(ev.MeetingNotHeld, **meeting, meeting_id="m3", marked_at=at("2023-11-05", 18)),
            make(ev.MeetingOutcomeRecorded, **meeting, meeting_id="m1", outcome="contract_signed",
                 amount_cents=1_200_000, recorded_at=at("2023-12-01")),
            make(ev.MeetingOutcomeRecorded, **meeting, meeting_id="m2", outcome="contract_signed",
                 amount_cents=300_000, recorded_at=at("2023-12-02")),
            make(ev.MeetingOutcomeRecorded, **meeting, meeting_id="m3", outcome="quote_requested",
                 amount_cents=None, recorded_at=at("2023-12-03")),
            make(ev.MeetingOutcomeRecorded, **meeting, meeting_id="m4", outcome="contract_signed",
                 amount_cents=0, recorded_at=at("2023-12-04")),
            make(ev.ConventionParticipantJoined, convention_id=conv, participant_id="reg-a",
                 joined_at=at("2023-10-01"))]
    f = figures_of(rows, 2023, "2023-12-31", "business_development")
    assert [(f[name].value, f[name].source.events) for name in (
        "convention_participants", "convention_meetings_held", "convention_contracts_signed",
        "convention_contracts_cents")] == [(1, 1), (2, 2), (3, 3), (1_500_000, 3)]  # m4 signed for 0 €


def test_a_kind_the_vocabularies_no_longer_list_comes_last_under_its_code():
    """The ledger keeps the kinds its events carried: a kind since dropped from the catalogue's or
    procurement's vocabulary is still counted, under its own code, after the kinds listed."""
    legacy = replace(held("e9", "2023-04-01"), data={**held("e9", "2023-04-01").data, "kind": "apero_ess"})
    listed = held("e1", "2023-03-10", kind="ecological_transition_event")
    f = events_figures([listed, legacy], 2023, date(2023, 12, 31))[ev.Team.EDUCATION]
    assert [(x.indicator, x.label) for x in f if x.indicator.startswith("events_held_")] == [
        ("events_held_ecological_transition_event", "Événements organisés — Événement transition écologique"),
        ("events_held_apero_ess", "Événements organisés — apero_ess")]
    old = intervention("b1", "i1", "2023-02-01")
    old = replace(old, data={**old.data, "kind": "phone_call"})
    got = proc([old], 2023, "2023-12-31")["interventions_phone_call"]
    assert (got.label, got.value) == ("Interventions — phone_call", 1)


def test_a_quote_or_an_award_of_zero_euros_adds_nothing():
    rows = [make(pr.QuoteAccepted, quote_id="q1", accepted_on="2023-05-10", net_cents=0),
            make(pr.NeedAwarded, need_id="n1", amount_cents=0, awarded_at=at("2023-06-01"))]
    f = proc(rows, 2023, "2023-12-31")
    assert (f["quotes_accepted"].value, f["quotes_accepted_net_cents"].value) == (1, 0)
    assert (f["needs_awarded"].value, f["needs_awarded_cents"].value) == (1, 0)


def test_a_survey_answered_by_partners_only_gives_the_partners_figures():
    rows = [held("e1", "2023-03-10"),
            answer("s2", "p1", "e1", "2023-03-12", {"overall": 15}, {"again": False}, audience="partners")]
    f = figures_of(rows, 2023, "2023-12-31")
    assert (f["survey_mean_mark_partners"].value, f["survey_come_again_percent_partners"].value) == (15.0, 0.0)
    assert "survey_mean_mark_participants" not in f
