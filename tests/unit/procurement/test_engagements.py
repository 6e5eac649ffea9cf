"""Engagements (phases in order), conventions (in force on a date), interventions, and the year's figures."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.events.registrations import Team
from contracts.procurement.buyers import (PROGRAMME_PHASES, BuyerConventionSigned, EngagementAbandoned,
                                          EngagementCompleted, EngagementOpened, EngagementPhaseAdvanced,
                                          EngagementStatus, InterventionCorrected, InterventionLogged,
                                          InterventionWithdrawn)
from contracts.procurement.vocabulary import BuyerKind, Programme
from runtime.errors import Conflict, InvalidInput
from runtime.siret import with_check_digit
from services.procurement.domain.buyers import (Buyer, BuyerConvention, Engagement, Intervention, year_figures)

AT = datetime(2015, 12, 31, 12, 0, tzinfo=timezone.utc)
D = date


def buyer(kind: str = "commune", buyer_id: str = "buy-1", siret_head: str = "2193004800001") -> Buyer:
    return Buyer.register(buyer_id, kind=kind, siret=with_check_digit(siret_head), name="Acheteur", departement="93",
                          commune="93048" if kind == "commune" else None, at=AT)


def pams(on: date = D(2014, 2, 1)) -> Engagement:
    return Engagement.open("eng-1", buyer=buyer(), programme="pams", on=on, at=AT)


# -- engagements ----------------------------------------------------------------------------------------
def test_an_engagement_opens_in_its_programme_s_first_phase():
    engagement = pams()
    assert (engagement.phase, engagement.status, engagement.next_phase) == ("measure", "open", "train")
    (event,) = engagement.pending_events
    assert isinstance(event, EngagementOpened)
    assert (event.buyer_id, event.programme, event.phase, event.buyer_kind, event.opened_on) == (
        "buy-1", "pams", "measure", "commune", D(2014, 2, 1))


@pytest.mark.parametrize("kind, programme, fits", [
    ("commune", "pams", True), ("region", "pams", True), ("other_public", "pams", True),
    ("private_company", "oser", True), ("private_company", "pams", False), ("commune", "oser", False),
    ("other_public", "oser", False), ("commune", "promess", False)])
def test_pams_is_for_public_buyers_and_oser_for_private_companies(kind, programme, fits):
    b = buyer(kind)
    if fits:
        assert Engagement.open("eng-1", buyer=b, programme=programme, on=D(2014, 2, 1), at=AT).programme == programme
    else:
        with pytest.raises(InvalidInput) as caught:
            Engagement.open("eng-1", buyer=b, programme=programme, on=D(2014, 2, 1), at=AT)
        assert caught.value.field == "programme"


def test_phases_are_entered_in_order_with_their_dates_then_the_engagement_completes():
    engagement = pams()
    engagement.advance("train", on=D(2014, 5, 1), at=AT)
    engagement.advance("act", on=D(2014, 9, 1), at=AT)
    engagement.complete(on=D(2015, 6, 30), at=AT)
    assert [(h.phase.value, h.on) for h in engagement.history] == [
        ("measure", D(2014, 2, 1)), ("train", D(2014, 5, 1)), ("act", D(2014, 9, 1))]
    assert (engagement.status, engagement.closed_on) == (EngagementStatus.COMPLETED, D(2015, 6, 30))
    events = engagement.pull_events()
    assert [type(e) for e in events] == [EngagementOpened, EngagementPhaseAdvanced, EngagementPhaseAdvanced,
                                         EngagementCompleted]
    assert (events[1].from_phase, events[1].phase, events[1].on) == ("measure", "train", D(2014, 5, 1))


@pytest.mark.parametrize("target", ["act", "measure"])
def test_skipping_or_staying_or_going_back_is_a_409_naming_the_current_and_the_next_phase(target):
    engagement = pams()
    with pytest.raises(Conflict) as caught:
        engagement.advance(target, on=D(2014, 5, 1), at=AT)
    assert caught.value.extra["current_state"] == "measure" and caught.value.extra["next_phase"] == "train"
    assert "measure" in caught.value.detail and "train" in caught.value.detail
    engagement.advance("train", on=D(2014, 5, 1), at=AT)
    with pytest.raises(Conflict) as caught:
        engagement.advance("measure", on=D(2014, 5, 2), at=AT)
    assert caught.value.extra["current_state"] == "train" and caught.value.extra["next_phase"] == "act"


def test_a_phase_of_another_programme_is_a_422_naming_phase():
    with pytest.raises(InvalidInput) as caught:
        pams().advance("impact", on=D(2014, 5, 1), at=AT)
    assert caught.value.field == "phase"


def test_completing_before_the_last_phase_is_a_409():
    engagement = pams()
    with pytest.raises(Conflict) as caught:
        engagement.complete(on=D(2014, 5, 1), at=AT)
    assert caught.value.extra["next_phase"] == "train"
    assert engagement.status is EngagementStatus.OPEN


def test_phase_dates_never_go_back_nor_into_the_future():
    engagement = pams()
    with pytest.raises(InvalidInput) as caught:
        engagement.advance("train", on=D(2014, 1, 31), at=AT)
    assert caught.value.field == "on"
    with pytest.raises(InvalidInput):
        engagement.advance("train", on=D(2016, 1, 2), at=AT)
    engagement.advance("train", on=D(2014, 2, 1), at=AT)  # the same day is fine


def test_abandoning_needs_a_reason_and_closes_it():
    engagement = pams()
    with pytest.raises(InvalidInput) as caught:
        engagement.abandon("  ", on=D(2014, 3, 1), at=AT)
    assert caught.value.field == "reason"
    engagement.pull_events()
    engagement.abandon("Équipe municipale changée", on=D(2014, 3, 1), at=AT)
    (event,) = engagement.pending_events
    assert isinstance(event, EngagementAbandoned) and event.phase == "measure"
    assert "Équipe" not in event.model_dump_json(), "the reason stays out of the event"
    for step in (lambda: engagement.advance("train", on=D(2014, 3, 2), at=AT),
                 lambda: engagement.complete(on=D(2014, 3, 2), at=AT),
                 lambda: engagement.abandon("again", on=D(2014, 3, 2), at=AT)):
        with pytest.raises(Conflict) as caught:
            step()
        assert caught.value.extra["current_state"] == "abandoned"


def test_an_oser_engagement_walks_its_five_phases():
    engagement = Engagement.open("eng-2", buyer=buyer("private_company"), programme="oser", on=D(2014, 1, 6), at=AT)
    for i, phase in enumerate(PROGRAMME_PHASES[Programme.OSER][1:], start=2):
        engagement.advance(phase, on=D(2014, i, 1), at=AT)
    assert engagement.phase == "impact" and engagement.next_phase is None
    with pytest.raises(Conflict) as caught:
        engagement.advance("impact", on=D(2014, 7, 1), at=AT)
    assert "complete" in caught.value.extra["expected_step"]
    engagement.complete(on=D(2014, 12, 1), at=AT)


def test_no_engagement_for_an_archived_buyer():
    b = buyer()
    b.archive(at=AT)
    with pytest.raises(Conflict):
        Engagement.open("eng-1", buyer=b, programme="pams", on=D(2014, 2, 1), at=AT)


def test_the_phase_on_a_day():
    engagement = pams()
    engagement.advance("train", on=D(2014, 5, 1), at=AT)
    engagement.abandon("stop", on=D(2014, 10, 1), at=AT)
    assert engagement.phase_on(D(2014, 1, 31)) is None
    assert engagement.phase_on(D(2014, 4, 30)) == "measure"
    assert engagement.phase_on(D(2014, 5, 1)) == "train"
    assert engagement.phase_on(D(2014, 9, 30)) == "train"
    assert engagement.phase_on(D(2014, 10, 1)) is None


# -- conventions ----------------------------------------------------------------------------------------
def convention(**overrides) -> BuyerConvention:
    fields = dict(subject="Convention PAMS", signed_on=D(2014, 3, 1), starts_on=D(2014, 4, 1), ends_on=D(2015, 3, 31))
    fields.update(overrides)
    return BuyerConvention.sign("bcv-1", buyer=buyer(), at=AT, **fields)


def test_a_convention_is_in_force_from_its_start_to_its_end_included():
    c = convention()
    assert [c.in_force_on(d) for d in (D(2014, 3, 31), D(2014, 4, 1), D(2015, 3, 31), D(2015, 4, 1))] == [
        False, True, True, False]
    (event,) = c.pending_events
    assert isinstance(event, BuyerConventionSigned) and event.buyer_kind == "commune"
    assert "PAMS" not in event.model_dump_json(), "the subject stays out of the event"


def test_a_terminated_convention_no_longer_binds_from_its_termination_day():
    c = convention()
    c.terminate(on=D(2014, 10, 1), at=AT, reason="amiable")
    assert c.in_force_on(D(2014, 9, 30)) and not c.in_force_on(D(2014, 10, 1))
    assert c.status_on(D(2014, 10, 1)) == "terminated" and c.last_day == D(2014, 9, 30)
    assert c.in_force_during(D(2014, 1, 1), D(2014, 12, 31))
    assert not c.in_force_during(D(2015, 1, 1), D(2015, 12, 31))
    with pytest.raises(Conflict):
        c.terminate(on=D(2014, 11, 1), at=AT)


def test_terminated_before_it_started_it_never_binds():
    c = convention()
    c.terminate(on=D(2014, 3, 15), at=AT)
    assert not any(c.in_force_on(D(2014, m, 1)) for m in range(1, 13))
    assert not c.in_force_during(D(2014, 1, 1), D(2014, 12, 31))


@given(start=st.dates(D(1990, 1, 1), D(2100, 1, 1)), length=st.integers(1, 3000), offset=st.integers(-10, 3010),
       cut=st.one_of(st.none(), st.integers(0, 3000)))
def test_in_force_during_a_period_means_in_force_on_one_of_its_days(start, length, offset, cut):
    from datetime import timedelta

    c = BuyerConvention(id="bcv-1", buyer_id="buy-1", subject="s", signed_on=start, starts_on=start,
                        ends_on=start + timedelta(days=length), signed_at=AT,
                        terminated_on=None if cut is None or cut > length else start + timedelta(days=cut))
    first = start + timedelta(days=offset)
    last = first + timedelta(days=6)
    days = [first + timedelta(days=i) for i in range(7)]
    assert c.in_force_during(first, last) == any(c.in_force_on(d) for d in days)


@pytest.mark.parametrize("overrides, field", [
    ({"ends_on": D(2014, 4, 1)}, "ends_on"), ({"ends_on": D(2014, 3, 1)}, "ends_on"),
    ({"ends_on": D(2024, 4, 2)}, "ends_on"), ({"signed_on": D(2016, 1, 2)}, "signed_on"),
    ({"subject": ""}, "subject")])
def test_convention_dates_and_subject_are_checked(overrides, field):
    with pytest.raises(InvalidInput) as caught:
        convention(**overrides)
    assert caught.value.field == field


def test_termination_dates_lie_between_signature_and_end():
    c = convention()
    for on in (D(2014, 2, 28), D(2015, 4, 1)):
        with pytest.raises(InvalidInput) as caught:
            c.terminate(on=on, at=AT)
        assert caught.value.field == "on"


def test_conventions_are_signed_with_local_authorities_only():
    for kind in ("other_public", "private_company"):
        with pytest.raises(Conflict, match="local authorities only"):
            BuyerConvention.sign("bcv-1", buyer=buyer(kind), subject="x", signed_on=D(2014, 3, 1),
                                 starts_on=D(2014, 4, 1), ends_on=D(2015, 3, 31), at=AT)
    for kind in ("commune", "ept", "epci", "departement", "region"):
        BuyerConvention.sign("bcv-1", buyer=buyer(kind), subject="x", signed_on=D(2014, 3, 1),
                             starts_on=D(2014, 4, 1), ends_on=D(2015, 3, 31), at=AT)


# -- interventions ---------------------------------------------------------------------------------------------
def intervention(b: Buyer | None = None, **overrides) -> Intervention:
    fields = dict(kind="awareness_workshop", on=D(2014, 6, 11), participants=18, notes="Mme Dupont présente")
    fields.update(overrides)
    return Intervention.log("int-1", buyer=b or buyer(), engagement_ids={"eng-1"}, at=AT, **fields)


def test_an_intervention_defaults_to_the_business_development_team_and_keeps_notes_out_of_events():
    i = intervention()
    assert i.team is Team.BUSINESS_DEVELOPMENT
    (event,) = i.pending_events
    assert isinstance(event, InterventionLogged)
    assert (event.kind, event.on, event.team, event.buyer_kind, event.participants) == (
        "awareness_workshop", D(2014, 6, 11), "business_development", "commune", 18)
    assert "Dupont" not in event.model_dump_json()


@pytest.mark.parametrize("overrides, field", [
    ({"on": D(2016, 1, 1)}, "on"), ({"participants": -1}, "participants"), ({"participants": 5001}, "participants"),
    ({"participants": True}, "participants"), ({"engagement_id": "eng-other"}, "engagement_id"),
    ({"kind": "lunch"}, "kind"), ({"team": "marketing"}, "team"), ({"notes": "x" * 4001}, "notes")])
def test_intervention_input_is_checked_naming_the_field(overrides, field):
    with pytest.raises(InvalidInput) as caught:
        intervention(**overrides)
    assert caught.value.field == field


def test_an_intervention_may_name_one_of_the_buyer_s_engagements():
    assert intervention(engagement_id="eng-1").engagement_id == "eng-1"


def test_corrections_record_every_fact_and_what_changed_then_withdrawal_ends_it():
    b = buyer()
    i = intervention(b)
    i.pull_events()
    assert i.correct(buyer=b, at=AT, participants=18) == []
    assert i.correct(buyer=b, at=AT, on=D(2014, 6, 12), team="territories") == ["on", "team"]
    (event,) = i.pull_events()
    assert isinstance(event, InterventionCorrected) and event.changed == ["on", "team"]
    assert (event.on, event.team, event.kind, event.participants) == (D(2014, 6, 12), "territories",
                                                                      "awareness_workshop", 18)
    assert i.correct(buyer=b, at=AT, notes="autre note") == ["notes"]
    assert "autre" not in i.pull_events()[0].model_dump_json()
    i.withdraw(at=AT)
    assert isinstance(i.pending_events[0], InterventionWithdrawn) and i.withdrawn
    with pytest.raises(Conflict):
        i.correct(buyer=b, at=AT, participants=3)
    with pytest.raises(Conflict):
        i.withdraw(at=AT)


def test_no_intervention_for_an_archived_buyer():
    b = buyer()
    b.archive(at=AT)
    with pytest.raises(Conflict):
        intervention(b)


# -- figures ---------------------------------------------------------------------------------------------------
def test_year_figures_count_what_the_activity_report_needs():
    commune, epci, company = buyer("commune", "buy-1"), buyer("epci", "buy-2", "2193004800002"), \
        buyer("private_company", "buy-3", "2193004800003")
    kinds = {b.id: b.kind for b in (commune, epci, company)}

    def log(b, n, **kw):
        return Intervention.log(f"int-{n}", buyer=b, at=AT, **{"kind": "meeting", "on": D(2014, 3, 1), **kw})

    withdrawn = log(epci, 9, on=D(2014, 5, 1))
    withdrawn.withdraw(at=AT)
    interventions = [
        log(commune, 1), log(commune, 2, kind="training", participants=12, team="territories"),
        log(company, 3, kind="sourcing"), log(commune, 4, on=D(2013, 12, 31)), log(epci, 5, on=D(2015, 1, 1)),
        withdrawn]
    e1 = pams(D(2013, 11, 1))
    e1.advance("train", on=D(2014, 2, 1), at=AT)
    e2 = Engagement.open("eng-2", buyer=company, programme="oser", on=D(2014, 4, 1), at=AT)
    e2.abandon("stop", on=D(2014, 8, 1), at=AT)
    e3 = Engagement.open("eng-3", buyer=epci, programme="pams", on=D(2014, 6, 1), at=AT)
    e3.advance("train", on=D(2014, 9, 1), at=AT)
    e3.advance("act", on=D(2014, 10, 1), at=AT)
    e3.complete(on=D(2014, 12, 1), at=AT)
    c_all_year = BuyerConvention.sign("bcv-1", buyer=commune, subject="s", signed_on=D(2013, 6, 1),
                                      starts_on=D(2013, 7, 1), ends_on=D(2016, 6, 30), at=AT)
    c_cut = BuyerConvention.sign("bcv-2", buyer=epci, subject="s", signed_on=D(2014, 1, 10),
                                 starts_on=D(2014, 2, 1), ends_on=D(2015, 1, 31), at=AT)
    c_cut.terminate(on=D(2014, 12, 31), at=AT)  # not in force on 31 December
    c_later = BuyerConvention.sign("bcv-3", buyer=epci, subject="s", signed_on=D(2014, 12, 1),
                                   starts_on=D(2015, 1, 1), ends_on=D(2015, 12, 31), at=AT)

    f = year_figures(2014, interventions=interventions, buyer_kinds=kinds,
                     conventions=[c_all_year, c_cut, c_later], engagements=[e1, e2, e3])
    assert f.local_authorities_met == 1, "only the commune met in 2014 (the EPCI's 2014 one was withdrawn)"
    assert f.local_authorities_met_by_kind["commune"] == 1 and f.local_authorities_met_by_kind["epci"] == 0
    assert f.buyers_met == 2 and f.interventions == 3 and f.participants == 12
    assert f.interventions_by_kind == {"training": 1, "awareness_workshop": 0, "diagnostic": 0, "sourcing": 1,
                                       "meeting": 1}
    assert f.interventions_by_team == {"business_development": 2, "territories": 1}
    assert f.interventions_by_buyer_kind["private_company"] == 1 and f.interventions_by_buyer_kind["commune"] == 2
    assert (f.conventions_signed, f.conventions_active_at_year_end, f.conventions_active_during_year) == (2, 1, 2)
    p, o = f.engagements["pams"], f.engagements["oser"]
    assert (p.opened, p.completed, p.abandoned, p.open_at_year_end) == (1, 1, 0, 1)
    assert p.phase_at_year_end == {"measure": 0, "train": 1, "act": 0}
    assert p.phases_entered == {"measure": 1, "train": 2, "act": 1}
    assert (o.opened, o.abandoned, o.open_at_year_end) == (1, 1, 0)
    assert o.phases_entered["diagnostic"] == 1

    f2015 = year_figures(2015, interventions=interventions, buyer_kinds=kinds,
                         conventions=[c_all_year, c_cut, c_later], engagements=[e1, e2, e3])
    assert (f2015.local_authorities_met, f2015.interventions) == (1, 1)
    assert (f2015.conventions_active_at_year_end, f2015.conventions_active_during_year) == (2, 2)


def test_figures_count_a_buyer_by_its_current_kind():
    b = buyer("other_public")
    i = Intervention.log("int-1", buyer=b, at=AT, kind="meeting", on=D(2014, 3, 1))
    assert year_figures(2014, interventions=[i], buyer_kinds={b.id: b.kind}, conventions=[],
                        engagements=[]).local_authorities_met == 0
    assert year_figures(2014, interventions=[i], buyer_kinds={b.id: BuyerKind.DEPARTEMENT}, conventions=[],
                        engagements=[]).local_authorities_met == 1
