"""Buyers, engagements, conventions and interventions: each refusal's field (or extras) and exact
words, the bounds included, and what each step keeps — the other tests read most refusals by their
field or type only, so their words, their extras and the limits could change unnoticed."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from contracts.procurement.buyers import BuyerConventionTerminated
from contracts.procurement.vocabulary import BuyerKind, Programme
from runtime.errors import Conflict
from runtime.siret import with_check_digit
from services.procurement.domain import buyers as domain
from services.procurement.domain.buyers import (Buyer, BuyerConvention, Engagement, Intervention, programme_fits,
                                                year_figures)
from tests.unit.procurement.test_engagements import AT, D, buyer
from tests.unit.refusals import conflicted as conflict, NoOffset, refused


def archived() -> Buyer:
    b = buyer()
    b.archive(at=AT)
    return b


def pams(on: date = D(2014, 2, 1)) -> Engagement:
    return Engagement.open("eng-1", buyer=buyer(), programme="pams", on=on, at=AT)


def convention(signer: Buyer | None = None, **overrides) -> BuyerConvention:
    fields = dict(subject="Convention PAMS", signed_on=D(2014, 3, 1), starts_on=D(2014, 4, 1), ends_on=D(2015, 3, 31))
    fields.update(overrides)
    return BuyerConvention.sign("bcv-1", buyer=signer or buyer(), at=AT, **fields)


# -- the rules --------------------------------------------------------------------------------------------
def test_instants_days_and_fact_days_say_what_they_need():
    for value in (datetime(2015, 1, 1), datetime(2015, 1, 1, tzinfo=NoOffset())):
        refused(lambda: domain.instant(value), "at", f"at must be a timezone-aware date and time (got {value!r})")
    refused(lambda: domain.instant("2015-01-01", "signed_at"), "signed_at",
            "signed_at must be a timezone-aware date and time (got '2015-01-01')")
    refused(lambda: domain.day(datetime(2015, 1, 1), "on"), "on",
            "on must be a date (YYYY-MM-DD), got datetime.datetime(2015, 1, 1, 0, 0)")
    refused(lambda: domain.fact_day(D(2016, 1, 1), "on", at=AT), "on",
            "on 2016-01-01 is in the future (today is 2015-12-31): log facts once they happened")
    refused(lambda: domain.fact_day("2015-01-01", "signed_on", at=AT), "signed_on",
            "signed_on must be a date (YYYY-MM-DD), got '2015-01-01'")


def test_departements_and_communes_say_what_is_wrong():
    refused(lambda: domain.departement(" "), "departement",
            "departement is required (a département code: 01–95, 2A, 2B, 971–976)")
    refused(lambda: domain.departement("20"), "departement",
            "'20' is not a French département code (01–95, 2A, 2B, 971–976)")
    refused(lambda: domain.commune(93048, "93"), "commune",
            "commune must be an INSEE commune code such as '93048' (got 93048)")
    refused(lambda: domain.commune("9304", "93"), "commune",
            "'9304' is not an INSEE commune code (5 characters: digits, or 2A/2B and 3 digits, e.g. '93048', '2A004')")
    refused(lambda: domain.commune("75056", "93"), "commune", "commune 75056 (Paris) is in département 75, not 93")
    refused(lambda: domain.commune("93999", "93"), "commune",
            "93999 is not the INSEE code of a commune of département 93")
    refused(lambda: domain.commune("97499", "974"), "commune",  # overseas communes are in the reference too
            "97499 is not the INSEE code of a commune of département 974")


def test_a_whole_number_takes_both_its_bounds():
    assert domain.whole(0, "participants", minimum=0, maximum=5000) == 0
    assert domain.whole(5000, "participants", minimum=0, maximum=5000) == 5000
    refused(lambda: domain.whole(5001, "participants", minimum=0, maximum=5000), "participants",
            "participants must be a whole number from 0 to 5000 (got 5001)")


def test_programmes_other_than_pams_and_oser_fit_no_buyer():
    assert not any(programme_fits(Programme.PROMESS, kind) for kind in BuyerKind)


# -- buyers -----------------------------------------------------------------------------------------------
def test_a_buyer_s_identity_refusals_say_why():
    def register(**overrides):
        fields = dict(kind="commune", siret=with_check_digit("2193004800001"), name="Acheteur", departement="93")
        return lambda: Buyer.register("buy-2", at=AT, **(fields | overrides))

    refused(register(siret=21930048000015), "siret", "siret is required: 14 digits (got 21930048000015)")
    refused(register(siret="1"), "siret", "a SIRET has 14 digits, got '1'")
    refused(register(name="x" * 201), "name", "name is longer than 200 characters")
    assert register(name="x" * 200)().name == "x" * 200


def test_a_correction_s_refusals_say_why_and_it_keeps_its_time():
    b = buyer()
    refused(lambda: b.update(at=AT, colour="blue"), "colour", "colour cannot be changed")
    conflict(lambda: b.update(at=AT, kind="private_company", open_programmes=[Programme.PAMS]),
             "buyer buy-1 has an open pams engagement, which a private_company cannot have; complete or abandon it "
             "first", current_state="open pams engagement", expected_step="complete or abandon the engagement")
    conflict(lambda: b.update(at=AT, kind="other_public", conventions=1),
             "buyer buy-1 has conventions in force or to come, which only a local authority may have; terminate them "
             "first", current_state="convention in force", expected_step="terminate the conventions")
    assert b.update(at=AT, name="Ville") == ["name"] and b.updated_at == AT


def test_an_archived_buyer_says_so_for_every_step():
    b = archived()
    assert b.archived_at == AT
    for action, call in (
            ("update", lambda: b.update(at=AT, name="y")), ("archive", lambda: b.archive(at=AT)),
            ("open an engagement", lambda: Engagement.open("eng-1", buyer=b, programme="pams", on=D(2014, 2, 1),
                                                           at=AT)),
            ("sign a convention", lambda: convention(b)),
            ("log an intervention", lambda: Intervention.log("int-1", buyer=b, at=AT, kind="meeting",
                                                             on=D(2014, 3, 1)))):
        conflict(call, f"cannot {action}: buyer buy-1 is archived; expected step: none: the buyer is archived",
                 current_state="archived", expected_step="none: the buyer is archived")


def test_archiving_a_buyer_engaged_or_bound_says_by_what():
    b = buyer()
    conflict(lambda: b.archive(at=AT, open_engagement="eng-1"),
             "cannot archive: buyer buy-1 is engaged (engagement eng-1 is open); expected step: complete or abandon "
             "the engagement first", current_state="engaged (engagement eng-1 is open)",
             expected_step="complete or abandon the engagement first")
    conflict(lambda: b.archive(at=AT, conventions_in_force=["bcv-2", "bcv-1"]),
             "cannot archive: buyer buy-1 is bound by convention bcv-1, bcv-2; expected step: terminate the convention "
             "first", current_state="bound by convention bcv-1, bcv-2", expected_step="terminate the convention first")


# -- engagements ------------------------------------------------------------------------------------------
def test_opening_an_engagement_names_the_programme_to_use():
    refused(lambda: Engagement.open("eng-1", buyer=buyer(), programme="pamss", on=D(2014, 2, 1), at=AT), "programme",
            "unknown programme 'pamss'; expected one of: pams, oser, promess")
    refused(lambda: Engagement.open("eng-1", buyer=buyer(), programme="promess", on=D(2014, 2, 1), at=AT),
            "programme", "a buyer's engagement is pams or oser, not promess")
    refused(lambda: Engagement.open("eng-1", buyer=buyer(), programme="oser", on=D(2014, 2, 1), at=AT), "programme",
            "oser is not for a commune: PAMS is for public buyers, OSER for private companies (use pams)")
    refused(lambda: Engagement.open("eng-1", buyer=buyer("private_company"), programme="pams", on=D(2014, 2, 1),
                                    at=AT), "programme",
            "pams is not for a private_company: PAMS is for public buyers, OSER for private companies (use oser)")
    refused(lambda: Engagement.open("eng-1", buyer=buyer(), programme="pams", on="2014-02-01", at=AT), "on",
            "on must be a date (YYYY-MM-DD), got '2014-02-01'")


def test_an_engagement_is_in_its_first_phase_on_the_day_it_opens():
    e = pams()
    assert (e.phase_on(D(2014, 1, 31)), e.phase_on(D(2014, 2, 1))) == (None, "measure")


def test_advancing_says_which_phase_comes_next():
    e = pams()
    refused(lambda: e.advance("trainx", on=D(2014, 3, 1), at=AT), "phase",
            "unknown phase 'trainx'; expected one of: measure, train, act, diagnostic, awareness, "
            "sourcing_and_meetings, lasting_partnership, impact")
    refused(lambda: e.advance("impact", on=D(2014, 3, 1), at=AT), "phase",
            "impact is not a phase of pams (measure → train → act)")
    conflict(lambda: e.advance("act", on=D(2014, 3, 1), at=AT),
             "cannot enter phase act: engagement eng-1 is in phase measure; the next allowed phase is train",
             current_state="measure", expected_step="advance to train (or abandon)", next_phase="train")
    refused(lambda: e.advance("train", on=D(2014, 1, 31), at=AT), "on",
            "on 2014-01-31 is before the start of phase measure (2014-02-01)")
    conflict(lambda: e.complete(on=D(2014, 3, 1), at=AT),
             "cannot complete engagement eng-1: it is in phase measure; the next allowed phase is train (a pams "
             "engagement completes from act)", current_state="measure", expected_step="advance to train (or abandon)",
             next_phase="train")
    e.advance("train", on=D(2014, 3, 1), at=AT)
    e.advance("act", on=D(2014, 4, 1), at=AT)
    conflict(lambda: e.advance("act", on=D(2014, 5, 1), at=AT),
             "cannot enter phase act: engagement eng-1 is in phase act; the next allowed phase is none (complete the "
             "engagement)", current_state="act", expected_step="complete (or abandon)", next_phase=None)


def test_completing_or_abandoning_is_dated_from_the_start_of_the_phase():
    e = pams()
    for step in ("train", "act"):
        e.advance(step, on=D(2014, 4, 1), at=AT)
    refused(lambda: e.complete(on=D(2014, 3, 31), at=AT), "on",
            "on 2014-03-31 is before the start of phase act (2014-04-01)")
    refused(lambda: e.abandon("stop", on=D(2014, 3, 31), at=AT), "on",
            "on 2014-03-31 is before the start of phase act (2014-04-01)")
    refused(lambda: e.abandon("x" * 2001, on=D(2014, 5, 1), at=AT), "reason", "reason is longer than 2000 characters")
    e.abandon("x" * 2000, on=D(2014, 4, 1), at=AT)
    assert (e.abandon_reason, e.closed_on) == ("x" * 2000, D(2014, 4, 1))
    for action, call in (("advance", lambda: e.advance("act", on=D(2014, 5, 1), at=AT)),
                         ("complete", lambda: e.complete(on=D(2014, 5, 1), at=AT)),
                         ("abandon", lambda: e.abandon("r", on=D(2014, 5, 1), at=AT))):
        conflict(call, f"cannot {action}: engagement eng-1 is abandoned; expected step: none: the engagement is "
                       f"abandoned", current_state="abandoned", expected_step="none: the engagement is abandoned")


def test_an_oser_engagement_completes_from_its_last_phase_and_says_so():
    e = Engagement.open("eng-2", buyer=buyer("private_company"), programme="oser", on=D(2014, 2, 1), at=AT)
    e.advance("awareness", on=D(2014, 3, 1), at=AT)
    with pytest.raises(Conflict, match=r"\(a oser engagement completes from impact\)$"):
        e.complete(on=D(2014, 3, 1), at=AT)


# -- conventions ------------------------------------------------------------------------------------------
def test_signing_a_convention_says_what_is_wrong():
    conflict(lambda: convention(buyer("other_public")),
             "buyer buy-1 is of kind other_public: conventions are signed with local authorities only (commune, "
             "departement, epci, ept, region)", current_state="other_public",
             expected_step="none: not a local authority")
    refused(lambda: convention(subject="x" * 201), "subject", "subject is longer than 200 characters")
    refused(lambda: convention(starts_on="2014-04-01"), "starts_on",
            "starts_on must be a date (YYYY-MM-DD), got '2014-04-01'")
    refused(lambda: convention(ends_on="2015"), "ends_on", "ends_on must be a date (YYYY-MM-DD), got '2015'")
    refused(lambda: convention(ends_on=D(2014, 4, 1)), "ends_on",
            "ends_on 2014-04-01 must be after starts_on 2014-04-01")
    refused(lambda: convention(ends_on=D(2024, 4, 2)), "ends_on",
            "a convention runs at most 10 years (from 2014-04-01)")


def test_a_convention_runs_ten_years_at_most_a_29_february_to_the_28th():
    assert convention(ends_on=D(2024, 4, 1)).ends_on == D(2024, 4, 1)
    assert convention(starts_on=D(2012, 2, 29), ends_on=D(2022, 2, 28)).ends_on == D(2022, 2, 28)
    refused(lambda: convention(starts_on=D(2012, 2, 29), ends_on=D(2022, 3, 1)), "ends_on",
            "a convention runs at most 10 years (from 2012-02-29)")


def test_a_termination_from_the_signature_to_the_end_included_keeps_its_reason():
    refused(lambda: convention().terminate(on=D(2014, 2, 28), at=AT), "on",
            "on 2014-02-28 is before the signature (2014-03-01)")
    refused(lambda: convention().terminate(on=D(2015, 4, 1), at=AT), "on",
            "on 2015-04-01 is after the convention's end (2015-03-31): it ends by itself")
    refused(lambda: convention().terminate(on="2015-01-01", at=AT), "on",
            "on must be a date (YYYY-MM-DD), got '2015-01-01'")
    refused(lambda: convention().terminate(on=D(2015, 1, 1), at=AT, reason="x" * 2001), "reason",
            "reason is longer than 2000 characters")
    assert convention().terminate(on=D(2014, 3, 1), at=AT) is None  # the day of the signature
    last = convention()
    last.pull_events()
    last.terminate(on=D(2015, 3, 31), at=AT, reason=" x" * 1000)  # its last day
    assert (last.terminated_on, last.terminated_at, last.termination_reason) == (D(2015, 3, 31), AT,
                                                                                 ("x " * 1000).strip())
    (event,) = last.pull_events()
    assert isinstance(event, BuyerConventionTerminated) and event.terminated_on == D(2015, 3, 31)
    conflict(lambda: last.terminate(on=D(2015, 3, 1), at=AT),
             "cannot terminate: convention bcv-1 is terminated from 2015-03-31; expected step: none: it is "
             "terminated", current_state="terminated from 2015-03-31", expected_step="none: it is terminated")


def test_a_convention_s_status_on_a_day():
    c = convention()
    assert [c.status_on(d) for d in (D(2014, 3, 31), D(2014, 4, 1), D(2015, 3, 31), D(2015, 4, 1))] == [
        "upcoming", "in_force", "in_force", "ended"]
    c.terminate(on=D(2014, 10, 1), at=AT)
    assert [c.status_on(d) for d in (D(2014, 3, 31), D(2014, 9, 30), D(2014, 10, 1))] == [
        "upcoming", "in_force", "terminated"]


def test_in_force_during_a_period_counts_its_first_and_last_days():
    c = convention()
    assert c.in_force_during(D(2014, 1, 1), D(2014, 4, 1))  # starts on the period's last day
    one_day = convention()
    one_day.terminate(on=D(2014, 4, 2), at=AT)  # in force on 1 April only
    assert one_day.in_force_during(D(2014, 4, 1), D(2014, 4, 1))


# -- interventions ----------------------------------------------------------------------------------------
def test_an_intervention_s_refusals_say_why():
    b = buyer()
    refused(lambda: Intervention.log("int-1", buyer=b, at=AT, kind="meeting", on=D(2014, 3, 1), colour="blue"),
            "colour", "unknown field colour")
    refused(lambda: Intervention.log("int-1", buyer=b, at=AT, kind="meeting", on=D(2014, 3, 1), engagement_id="eng-9"),
            "engagement_id", "'eng-9' is not an engagement of this buyer")
    assert Intervention.log("int-1", buyer=b, at=AT, kind="meeting", on=D(2014, 3, 1), participants=0).participants == 0
    i = Intervention.log("int-1", buyer=b, engagement_ids={"eng-1"}, at=AT, kind="meeting", on=D(2014, 3, 1),
                         engagement_id="eng-1")
    refused(lambda: i.correct(buyer=b, at=AT, colour="blue"), "colour", "colour cannot be changed")
    # the intervention's own engagement stays valid though the caller lists none (closed since, say)
    assert i.correct(buyer=b, at=AT, notes="Élus présents") == ["notes"] and i.corrected_at == AT
    i.withdraw(at=AT)
    for action, call in (("correct", lambda: i.correct(buyer=b, at=AT, notes="x")),
                         ("withdraw", lambda: i.withdraw(at=AT))):
        conflict(call, f"cannot {action}: intervention int-1 is withdrawn; expected step: none: it was withdrawn",
                 current_state="withdrawn", expected_step="none: it was withdrawn")


# -- the year's figures -----------------------------------------------------------------------------------
def test_the_year_s_figures_count_its_first_and_last_days():
    b = buyer()

    def log(n, on):
        return Intervention.log(f"int-{n}", buyer=b, at=AT, kind="meeting", on=on)

    interventions = [log(1, D(2014, 1, 1)), log(2, D(2014, 12, 31)), log(3, D(2013, 12, 31)), log(4, D(2015, 1, 1))]
    first = Engagement.open("eng-1", buyer=b, programme="pams", on=D(2014, 1, 1), at=AT)
    first.advance("train", on=D(2014, 12, 31), at=AT)
    done = Engagement.open("eng-2", buyer=b, programme="pams", on=D(2014, 12, 31), at=AT)
    done.abandon("stop", on=D(2014, 12, 31), at=AT)
    early = Engagement.open("eng-3", buyer=b, programme="pams", on=D(2013, 12, 1), at=AT)
    early.abandon("stop", on=D(2014, 1, 1), at=AT)
    conventions = [convention(signed_on=D(2014, 1, 1)), convention(signed_on=D(2014, 12, 31), starts_on=D(2015, 1, 1),
                                                                    ends_on=D(2015, 6, 30))]
    f = year_figures(2014, interventions=interventions, buyer_kinds={b.id: b.kind}, conventions=conventions,
                     engagements=[first, done, early])
    assert (f.interventions, f.conventions_signed) == (2, 2)
    p = f.engagements["pams"]
    assert (p.opened, p.abandoned, p.open_at_year_end) == (2, 2, 1)
    assert p.phases_entered == {"measure": 2, "train": 1, "act": 0}
    assert list(f.local_authorities_met_by_kind) == ["commune", "ept", "epci", "departement", "region"]
