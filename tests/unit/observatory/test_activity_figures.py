"""The events service's and procurement's figures of the activity report, from hand-made ledger rows
(real contract events: their documented examples with the fields that matter overridden)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from contracts import events as ev
from contracts import procurement as pr
from services.observatory.domain.activity import events_figures, mean, procurement_figures
from services.observatory.domain.ledger import KEPT, row_of

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
_n = iter(range(1, 100_000))


def make(model, **over):
    data = {name: field.examples[0] for name, field in model.model_fields.items()} | over
    event = model.model_validate(data)
    n = next(_n)
    return row_of(event, event_id=f"ev-{n}", at=T0 + timedelta(seconds=n))


def at(day: str, hour: int = 10) -> str:
    return f"{day}T{hour:02d}:00:00+01:00"


# -- the events service --------------------------------------------------------------------------------------
def held(event_id: str, day: str, kind: str = "webinar", team: str = "education"):
    return make(ev.EventHeld, event_id=event_id, kind=kind, team=team, starts_at=at(day), ends_at=at(day, 12),
                held_at=at(day, 13))


def cancelled(event_id: str, day: str, kind: str = "webinar", team: str = "education"):
    return make(ev.EventCancelled, event_id=event_id, kind=kind, team=team, cancelled_at=at(day))


def confirmed(reg: str, event_id: str, day: str):
    return make(ev.RegistrationConfirmed, registration_id=reg, event_id=event_id, registered_at=at(day))


def checked_in(reg: str, event_id: str, day: str, first: bool = True):
    return make(ev.ParticipantCheckedIn, registration_id=reg, event_id=event_id, checked_in_at=at(day),
                first_entry=first)


def answer(survey: str, respondent: str, event_id: str, day: str, marks: dict, again: dict,
           audience: str = "participants", updated: bool = False):
    model = ev.SurveyAnswerUpdated if updated else ev.SurveyAnswerSubmitted
    when = {"updated_at" if updated else "submitted_at": at(day)}
    return make(model, survey_id=survey, respondent_id=respondent, event_id=event_id, audience=audience,
                marks=marks, would_come_again=again, **when)


def figures_of(rows, year, as_of, team="education"):
    return {f.indicator: f for f in events_figures(rows, year, date.fromisoformat(as_of)).get(ev.Team(team), [])}


@pytest.fixture
def year_of_events():
    return [
        held("e1", "2023-03-10"), held("e2", "2023-09-20", kind="training"),
        held("e3", "2023-11-05", kind="business_convention", team="business_development"),
        held("old", "2022-12-01"),
        cancelled("e4", "2023-05-01"),  # cancelled: never held, not counted
        confirmed("r1", "e1", "2023-03-01"), confirmed("r2", "e1", "2023-03-02"), confirmed("r3", "e1", "2023-03-03"),
        make(ev.RegistrationCancelled, registration_id="r3", event_id="e1", cancelled_at=at("2023-03-05")),
        make(ev.RegistrationApproved, registration_id="r4", event_id="e2", approved_at=at("2023-09-02")),
        make(ev.PlaceOfferAccepted, registration_id="r5", event_id="e2", status="confirmed",
             offered_at=at("2023-09-03"), accepted_at=at("2023-09-04")),
        make(ev.PlaceOfferAccepted, registration_id="r6", event_id="e2", status="pending_approval",
             offered_at=at("2023-09-03"), accepted_at=at("2023-09-04")),
        confirmed("r0", "old", "2022-11-01"),
        checked_in("r1", "e1", "2023-03-10"), checked_in("r1", "e1", "2023-03-10", first=False),
        checked_in("r4", "e2", "2023-09-20"),
        answer("s1", "r1", "e1", "2023-03-12", {"overall": 16, "content": 14}, {"again": True}),
        answer("s1", "r2", "e1", "2023-03-12", {"overall": 10}, {"again": True}),
        answer("s1", "r2", "e1", "2023-03-13", {"overall": 12}, {"again": False}, updated=True),
        answer("s2", "p1", "e1", "2024-01-15", {"overall": 18}, {"again": True}, audience="partners"),
    ]


def test_events_held_per_team_and_kind_with_participants_and_check_ins(year_of_events):
    f = figures_of(year_of_events, 2023, "2024-06-30")
    assert f["events_held"].value == 2 and f["events_held_webinar"].value == 1 and f["events_held_training"].value == 1
    assert "events_held_general_assembly" not in f
    assert f["participants"].value == 4  # r1, r2 (r3 cancelled) at e1; r4 approved, r5 offer accepted at e2
    assert f["participants_webinar"].value == 2 and f["participants_training"].value == 2
    assert f["check_ins"].value == 2 and f["check_ins_webinar"].value == 1  # r1's second scan not counted
    src = f["events_held"].source
    assert src.kind == "events" and ev.EventHeld.event_type in src.event_types and src.events == 2
    assert src.detail == "événements ayant eu lieu en 2023, hors événements annulés"
    bd = figures_of(year_of_events, 2023, "2024-06-30", "business_development")
    assert bd["events_held_business_convention"].value == 1
    assert figures_of(year_of_events, 2022, "2024-06-30")["participants"].value == 1


def test_survey_marks_and_come_again_per_audience_use_latest_answers(year_of_events):
    f = figures_of(year_of_events, 2023, "2024-06-30")
    assert f["survey_mean_mark_participants"].value == 14.0  # (16 + 14 + 12) / 3, r2's update replaces 10
    assert f["survey_come_again_percent_participants"].value == 50.0  # r1 yes, r2 now no
    assert f["survey_mean_mark_partners"].value == 18.0  # answered after the year: still the year's event
    assert f["survey_mean_mark_participants"].source.events == 2
    # as of year end: the partners had not answered yet
    assert "survey_mean_mark_partners" not in figures_of(year_of_events, 2023, "2023-12-31")


def test_events_as_of_a_date_cut_by_business_date(year_of_events):
    f = figures_of(year_of_events, 2023, "2023-03-10")  # the day e1 took place
    assert f["events_held"].value == 1 and f["participants"].value == 2 and f["check_ins"].value == 1
    assert "survey_mean_mark_participants" not in f
    assert figures_of(year_of_events, 2023, "2023-03-09") == {}
    f = figures_of(year_of_events, 2023, "2023-03-12")
    assert f["survey_mean_mark_participants"].value == 13.3  # (16 + 14 + 10) / 3, before r2's update


def test_a_cancelled_event_is_never_counted():
    rows = [held("x", "2023-05-01"), cancelled("x", "2023-04-01")]
    assert figures_of(rows, 2023, "2023-12-31") == {}


def test_business_conventions_participants_meetings_and_contracts():
    conv = "e3"
    pair = ["reg-a", "reg-b"]
    meeting = dict(convention_id=conv, participant_ids=pair, slot_id="s1", table=1)
    rows = [
        held(conv, "2023-11-05", kind="business_convention", team="business_development"),
        make(ev.ConventionParticipantJoined, convention_id=conv, participant_id="reg-a", joined_at=at("2023-10-01")),
        make(ev.ConventionParticipantJoined, convention_id=conv, participant_id="reg-b", joined_at=at("2023-10-01")),
        make(ev.ConventionParticipantJoined, convention_id=conv, participant_id="reg-c", joined_at=at("2023-10-01")),
        make(ev.ConventionParticipantLeft, convention_id=conv, participant_id="reg-c", left_at=at("2023-10-10")),
        make(ev.MeetingHeld, **meeting, meeting_id="m1", held_at=at("2023-11-05", 14)),
        make(ev.MeetingHeld, **meeting, meeting_id="m2", held_at=at("2023-11-05", 14)),
        make(ev.MeetingNotHeld, **meeting, meeting_id="m2", marked_at=at("2023-11-05", 18)),  # organiser's fix
        make(ev.MeetingOutcomeRecorded, **meeting, meeting_id="m1", outcome="quote_requested", amount_cents=None,
             recorded_at=at("2023-12-01")),
        make(ev.MeetingOutcomeRecorded, **meeting, meeting_id="m1", outcome="contract_signed",
             amount_cents=1_200_000, recorded_at=at("2024-02-01")),
    ]
    f = figures_of(rows, 2023, "2024-06-30", "business_development")
    assert f["convention_participants"].value == 2 and f["convention_meetings_held"].value == 1
    assert f["convention_contracts_signed"].value == 1 and f["convention_contracts_cents"].value == 1_200_000
    f = figures_of(rows, 2023, "2023-12-31", "business_development")
    assert f["convention_contracts_signed"].value == 0 and f["convention_contracts_cents"].value == 0


# -- procurement ---------------------------------------------------------------------------------------------
def registered(buyer: str, kind: str):
    return make(pr.BuyerRegistered, buyer_id=buyer, kind=kind, registered_at=at("2020-01-01"))


def intervention(buyer: str, iid: str, on: str, kind: str = "meeting", buyer_kind: str = "commune",
                 corrected: bool = False):
    model = pr.InterventionCorrected if corrected else pr.InterventionLogged
    when = {"corrected_at": at(on)} if corrected else {"logged_at": at(on)}
    return make(model, buyer_id=buyer, intervention_id=iid, kind=kind, on=on, buyer_kind=buyer_kind,
                team="business_development", **when)


def proc(rows, year, as_of):
    return {f.indicator: f for f in procurement_figures(rows, year, date.fromisoformat(as_of))}


@pytest.fixture
def year_of_procurement():
    return [
        registered("b1", "commune"), registered("b2", "epci"), registered("b3", "private_company"),
        registered("b4", "other_public"), registered("b5", "commune"),
        intervention("b1", "i1", "2023-02-01", "training"), intervention("b1", "i2", "2023-06-01"),
        intervention("b2", "i3", "2023-04-01", buyer_kind="other_public"),  # b2 is an epci (its latest kind)
        intervention("b3", "i4", "2023-05-01", "sourcing", buyer_kind="private_company"),
        intervention("b4", "i5", "2023-05-01", buyer_kind="other_public"),
        intervention("b5", "i6", "2023-07-01"),
        make(pr.InterventionWithdrawn, buyer_id="b5", intervention_id="i6", withdrawn_at=at("2023-08-01")),
        intervention("b1", "i7", "2022-12-15"), intervention("b1", "i7", "2023-01-15", corrected=True),
        make(pr.BuyerConventionSigned, buyer_id="b1", convention_id="c1", signed_on="2022-03-01",
             starts_on="2022-04-01", ends_on="2024-03-31", signed_at=at("2022-03-01")),
        make(pr.BuyerConventionSigned, buyer_id="b2", convention_id="c2", signed_on="2023-03-01",
             starts_on="2023-04-01", ends_on="2025-03-31", signed_at=at("2023-03-01")),
        make(pr.BuyerConventionTerminated, buyer_id="b2", convention_id="c2", terminated_on="2023-10-01",
             terminated_at=at("2023-09-15")),
        make(pr.BuyerConventionSigned, buyer_id="b5", convention_id="c3", signed_on="2023-06-01",
             starts_on="2024-01-01", ends_on="2025-12-31", signed_at=at("2023-06-01")),
        make(pr.DiagnosticReportComputed, diagnostic_id="d1", buyer_id="b1", computed_at=at("2023-03-01")),
        make(pr.DiagnosticReportComputed, diagnostic_id="d1", buyer_id="b1", computed_at=at("2023-04-01")),
        make(pr.DiagnosticReportComputed, diagnostic_id="d2", buyer_id="b2", computed_at=at("2023-10-01")),
        make(pr.QuoteAccepted, quote_id="q1", accepted_on="2023-05-10", net_cents=440_000),
        make(pr.QuoteAccepted, quote_id="q2", accepted_on="2023-11-10", net_cents=500_000),
        make(pr.QuoteAccepted, quote_id="q0", accepted_on="2022-11-10", net_cents=1),
        make(pr.NeedAwarded, need_id="n1", amount_cents=2_450_000, awarded_at=at("2023-06-01")),
        make(pr.NeedAwarded, need_id="n2", amount_cents=100_000, awarded_at=at("2024-01-05")),
    ]


def test_procurement_figures_of_a_year(year_of_procurement):
    f = proc(year_of_procurement, 2023, "2024-06-30")
    assert f["local_authorities_met"].value == 2  # b1, b2; b3 private, b4 other public, b5's withdrawn
    assert f["interventions"].value == 6  # i1–i5 and i7 (corrected into 2023)
    assert f["interventions_meeting"].value == 4 and f["interventions_training"].value == 1
    assert f["interventions_sourcing"].value == 1
    assert f["active_conventions"].value == 1  # c1; c2 terminated in October; c3 starts in 2024
    assert f["purchase_diagnostics_run"].value == 2  # d1 computed twice counts once
    assert f["quotes_accepted"].value == 2 and f["quotes_accepted_net_cents"].value == 940_000
    assert f["needs_awarded"].value == 1 and f["needs_awarded_cents"].value == 2_450_000
    assert f["quotes_accepted"].source.event_types == (pr.QuoteAccepted.event_type,)
    assert proc(year_of_procurement, 2022, "2024-06-30")["interventions"].value == 0  # i7 moved to 2023


def test_procurement_as_of_a_date(year_of_procurement):
    f = proc(year_of_procurement, 2023, "2023-07-15")
    assert f["local_authorities_met"].value == 3  # b5's intervention not yet withdrawn
    assert f["active_conventions"].value == 2  # c1 and c2 on 15 July
    assert f["quotes_accepted"].value == 1 and f["purchase_diagnostics_run"].value == 1
    assert f["needs_awarded"].value == 1
    assert proc(year_of_procurement, 2023, "2023-05-09")["quotes_accepted"].value == 0
    assert proc(year_of_procurement, 2023, "2023-05-10")["quotes_accepted"].value == 1
    assert proc(year_of_procurement, 2024, "2024-06-30")["active_conventions"].value == 1  # c1 ended, c3 in


def test_the_buyer_latest_kind_wins_over_the_kind_an_intervention_carried():
    rows = [registered("b1", "other_public"), intervention("b1", "i1", "2023-02-01", buyer_kind="other_public"),
            make(pr.BuyerUpdated, buyer_id="b1", kind="commune", changed=["kind"], updated_at=at("2023-05-01"))]
    assert proc(rows, 2023, "2023-12-31")["local_authorities_met"].value == 1
    assert proc(rows, 2023, "2023-04-30")["local_authorities_met"].value == 0


def test_a_rebuild_in_any_order_gives_the_same_figures(year_of_procurement, year_of_events):
    assert proc(list(reversed(year_of_procurement)), 2023, "2023-12-31") == proc(year_of_procurement, 2023,
                                                                                 "2023-12-31")
    assert events_figures(list(reversed(year_of_events)), 2023, date(2023, 12, 31)) == events_figures(
        year_of_events, 2023, date(2023, 12, 31))


def test_instants_are_dated_in_paris_and_every_kept_event_has_its_date_field():
    late = held("e", "2023-12-31T23:30:00+00:00"[:10])
    row = make(ev.EventHeld, event_id="e", starts_at="2023-12-31T23:30:00+00:00", ends_at="2024-01-01T01:00:00+00:00",
               held_at="2024-01-01T02:00:00+00:00")
    assert row.on == date(2024, 1, 1) and late.on == date(2023, 12, 31)
    for model, (field, kept) in KEPT.items():
        assert field in model.model_fields and set(kept) <= set(model.model_fields), model.__name__


def test_mean_rounds_half_up():
    assert mean(41, 3) == 13.7 and mean(1, 8) == 0.1 and mean(0, 0) is None
