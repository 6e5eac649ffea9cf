"""Prom'ESS Europe quotes: offers' ranges, lifecycle, the member discount, VAT rounding, the printable page."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.procurement.quotes import (IndividualDiagnosticHeld, QuoteAccepted, QuoteDeclined, QuoteDrafted,
                                          QuoteExpired, QuoteRevised, QuoteSent, QuoteStatus)
from runtime.errors import Conflict, InvalidInput
from services.procurement.domain.quotes import (IndividualDiagnostic, Pricing, Quote, apply_rate, euros, rate_bp)
from services.procurement.entrypoints.quote_page import render

AT = datetime(2014, 9, 16, 8, 0, tzinfo=timezone.utc)  # 10:00 in Paris


def draft(offer: str = "application_support", amount: int = 550_000, **kw) -> Quote:
    return Quote.draft("quo-1", organisation_id="org-1", offer=offer, amount_cents=amount, at=AT, **kw)


def sent(member: bool = True, **kw) -> Quote:
    quote = draft(**kw)
    quote.send(at=AT, in_good_standing=member, member_status="active" if member else None, vat_rate_bp=2000,
               validity_days=30)
    return quote


# -- ranges -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("offer, amount", [("application_support", 400_000), ("application_support", 700_000),
                                           ("administrative_management", 500_000),
                                           ("administrative_management", 700_000)])
def test_amounts_within_the_offer_s_range_are_accepted(offer, amount):
    quote = draft(offer, amount)
    assert isinstance(quote.pending_events[0], QuoteDrafted) and quote.pending_events[0].amount_cents == amount


@pytest.mark.parametrize("offer, amount", [("application_support", 399_999), ("application_support", 700_001),
                                           ("administrative_management", 499_999), ("application_support", -5),
                                           ("application_support", 10**30), ("application_support", 5500.0),
                                           ("application_support", True), ("application_support", "550000")])
def test_amounts_out_of_range_are_a_422_naming_amount_cents_and_the_range(offer, amount):
    with pytest.raises(InvalidInput) as caught:
        draft(offer, amount)
    assert caught.value.field == "amount_cents"
    low = "400000" if offer == "application_support" else "500000"
    assert low in caught.value.detail and "700000" in caught.value.detail


def test_an_unknown_offer_names_offer():
    with pytest.raises(InvalidInput) as caught:
        draft("consortium_building")
    assert caught.value.field == "offer"


# -- pricing ------------------------------------------------------------------------------------------------
def test_a_member_gets_20_percent_off_then_vat_on_the_net():
    p = Pricing.compute(550_000, member_discount=True, vat_rate_bp=2000)
    assert (p.discount_cents, p.net_cents, p.vat_cents, p.total_incl_vat_cents) == (110_000, 440_000, 88_000, 528_000)
    assert p.discount_rate_bp == 2000 and p.discount_applied


def test_without_the_discount_the_price_is_the_amount_plus_vat():
    p = Pricing.compute(550_000, member_discount=False, vat_rate_bp=2000)
    assert (p.discount_rate_bp, p.discount_cents, p.net_cents, p.vat_cents, p.total_incl_vat_cents) == (
        0, 0, 550_000, 110_000, 660_000)


@pytest.mark.parametrize("amount, rate, expected", [
    (550_003, 2000, 110_001),   # 110000.6 → up
    (550_002, 2000, 110_000),   # 110000.4 → down
    (400_005, 1000, 40_001),    # 40000.5 → half up
    (400_015, 550, 22_001),     # 22000.825 → up
    (1, 5000, 1),               # 0.5 → 1
    (1, 4999, 0),
    (0, 2000, 0)])
def test_each_line_is_rounded_half_up_to_the_cent(amount, rate, expected):
    assert apply_rate(amount, rate) == expected


def test_rounding_per_line_then_summing():
    # 400,005 cents: discount 80,001 (80,001.0), net 320,004, VAT 64,000.8 → 64,001, total 384,005
    p = Pricing.compute(400_005, member_discount=True, vat_rate_bp=2000)
    assert (p.discount_cents, p.net_cents, p.vat_cents, p.total_incl_vat_cents) == (80_001, 320_004, 64_001, 384_005)


@given(amount=st.integers(0, 10**9), member=st.booleans(), vat=st.integers(0, 10_000))
def test_pricing_adds_up_and_rounds_to_the_nearest_cent(amount, member, vat):
    from fractions import Fraction

    p = Pricing.compute(amount, member_discount=member, vat_rate_bp=vat)
    assert p.net_cents == amount - p.discount_cents and p.total_incl_vat_cents == p.net_cents + p.vat_cents
    exact_discount = Fraction(amount * (2000 if member else 0), 10_000)
    assert -Fraction(1, 2) < p.discount_cents - exact_discount <= Fraction(1, 2)
    exact_vat = Fraction(p.net_cents * vat, 10_000)
    assert -Fraction(1, 2) < p.vat_cents - exact_vat <= Fraction(1, 2)


@pytest.mark.parametrize("percent, bp", [("20", 2000), (20, 2000), ("5.5", 550), ("0", 0), ("100", 10_000),
                                         ("2.10", 210)])
def test_vat_percentages_become_basis_points(percent, bp):
    assert rate_bp(percent) == bp


@pytest.mark.parametrize("percent", ["20.125", "-1", "101", "abc", "nan", "inf"])
def test_vat_percentages_are_checked(percent):
    with pytest.raises(InvalidInput):
        rate_bp(percent)


def test_euros_are_printed_the_french_way():
    assert euros(528_000) == "5\u202f280,00\u00a0€" and euros(5) == "0,05\u00a0€" and euros(-110_000).startswith("-")


# -- lifecycle ------------------------------------------------------------------------------------------------
def test_sending_dates_the_quote_in_paris_fixes_its_price_and_its_standing():
    late = datetime(2014, 9, 30, 22, 30, tzinfo=timezone.utc)  # already 1 October in Paris
    quote = draft()
    quote.pull_events()
    quote.send(at=late, in_good_standing=True, member_status="grace_period", vat_rate_bp=2000, validity_days=30)
    assert quote.quoted_on == date(2014, 10, 1) and quote.valid_until == date(2014, 10, 31)
    assert quote.standing.checked_on == date(2014, 10, 1) and quote.standing.status == "grace_period"
    (event,) = quote.pending_events
    assert isinstance(event, QuoteSent)
    assert (event.quoted_on, event.member_in_good_standing, event.member_status, event.discount_applied,
            event.discount_cents, event.net_cents, event.vat_cents, event.total_incl_vat_cents) == (
        date(2014, 10, 1), True, "grace_period", True, 110_000, 440_000, 88_000, 528_000)


def test_a_non_member_pays_the_full_price_and_the_quote_says_why():
    quote = sent(member=False)
    assert not quote.pricing.discount_applied and quote.pricing.total_incl_vat_cents == 660_000
    assert quote.standing.in_good_standing is False and quote.standing.status is None


def test_a_draft_is_revised_with_the_same_rules_then_sending_freezes_it():
    quote = draft()
    quote.pull_events()
    assert quote.revise(at=AT, amount_cents=550_000) == []
    with pytest.raises(InvalidInput) as caught:
        quote.revise(at=AT, offer="administrative_management", amount_cents=450_000)
    assert caught.value.field == "amount_cents" and quote.offer == "application_support"
    assert quote.revise(at=AT, offer="administrative_management", amount_cents=650_000) == ["offer", "amount_cents"]
    assert isinstance(quote.pending_events[0], QuoteRevised)
    with pytest.raises(InvalidInput) as caught:
        quote.revise(at=AT, organisation_id="org-2")
    assert caught.value.field == "organisation_id"
    quote.send(at=AT, in_good_standing=False, vat_rate_bp=2000, validity_days=30)
    with pytest.raises(Conflict) as caught:
        quote.revise(at=AT, amount_cents=600_000)
    assert caught.value.extra["current_state"] == "sent"


def test_acceptance_within_the_validity_is_recorded_with_its_price():
    quote = sent()
    quote.pull_events()
    quote.accept(at=AT + timedelta(days=30))
    (event,) = quote.pending_events
    assert isinstance(event, QuoteAccepted) and event.total_incl_vat_cents == 528_000 and event.discount_applied
    assert quote.status is QuoteStatus.ACCEPTED and quote.accepted_on == date(2014, 10, 16)


def test_acceptance_after_the_validity_is_refused_even_before_the_job_ran():
    quote = sent()
    with pytest.raises(Conflict) as caught:
        quote.accept(at=AT + timedelta(days=31))
    assert "2014-10-16" in caught.value.detail and quote.status is QuoteStatus.SENT


@pytest.mark.parametrize("step, state", [
    (lambda q: q.accept(at=AT), "draft"), (lambda q: q.decline(at=AT), "draft")])
def test_a_draft_cannot_be_accepted_or_declined(step, state):
    quote = draft()
    with pytest.raises(Conflict) as caught:
        step(quote)
    assert caught.value.extra["current_state"] == state and "send" in caught.value.extra["expected_step"]


def test_wrong_steps_after_sending_name_the_state_and_what_is_expected():
    quote = sent()
    with pytest.raises(Conflict) as caught:
        quote.send(at=AT, in_good_standing=True, vat_rate_bp=2000, validity_days=30)
    assert caught.value.extra["current_state"] == "sent" and "accept" in caught.value.extra["expected_step"]
    quote.decline(at=AT, reason="Budget")
    assert isinstance(quote.pending_events[-1], QuoteDeclined)
    assert "Budget" not in quote.pending_events[-1].model_dump_json()
    for step in (lambda: quote.accept(at=AT), lambda: quote.decline(at=AT)):
        with pytest.raises(Conflict) as caught:
            step()
        assert caught.value.extra["current_state"] == "declined"


def test_expiry_comes_the_day_after_the_validity_and_only_once():
    quote = sent()
    quote.pull_events()
    assert not quote.expire(at=AT + timedelta(days=30)) and quote.status is QuoteStatus.SENT
    assert quote.expire(at=AT + timedelta(days=31))
    assert quote.status is QuoteStatus.EXPIRED and isinstance(quote.pending_events[0], QuoteExpired)
    assert not quote.expire(at=AT + timedelta(days=40)) and len(quote.pending_events) == 1
    with pytest.raises(Conflict) as caught:
        quote.accept(at=AT)
    assert caught.value.extra["current_state"] == "expired"
    draft_quote = draft()
    assert not draft_quote.expire(at=AT + timedelta(days=400))


def test_validity_days_are_bounded():
    with pytest.raises(InvalidInput):
        draft().send(at=AT, in_good_standing=True, vat_rate_bp=2000, validity_days=0)


# -- individual diagnostics ----------------------------------------------------------------------------------------
def test_an_individual_diagnostic_is_a_dated_fact_without_its_notes_in_the_event():
    d = IndividualDiagnostic.hold("idg-1", organisation_id="org-1", held_on=date(2014, 9, 5),
                                  outcome_notes="Contact : M. Martin", at=AT)
    (event,) = d.pending_events
    assert isinstance(event, IndividualDiagnosticHeld) and event.held_on == date(2014, 9, 5)
    assert "Martin" not in event.model_dump_json()
    with pytest.raises(InvalidInput) as caught:
        IndividualDiagnostic.hold("idg-2", organisation_id="org-1", held_on=date(2014, 9, 17), at=AT)
    assert caught.value.field == "held_on"


# -- the printable quote ------------------------------------------------------------------------------------------
HOSTILE = '<script>alert("x")</script>'


def test_the_printable_quote_shows_the_discount_and_escapes_what_clients_wrote():
    quote = sent(description=HOSTILE)
    page = render(quote, {"name": HOSTILE, "siret": "1<2", "commune": "Montreuil", "departement": "93"},
                  vat_rate_bp=2000)
    assert "<script>" not in page and "&lt;script&gt;" in page and "1&lt;2" in page
    assert "Remise adhérent (20\u00a0%)" in page and "5\u202f280,00\u00a0€" in page and "16/09/2014" in page
    assert "http" not in page, "nothing to fetch from the network"


def test_the_printable_quote_of_a_non_member_and_of_a_draft():
    page = render(sent(member=False), None, vat_rate_bp=2000)
    assert "Remise adhérent (" not in page and "Sans remise adhérent" in page and "6\u202f600,00\u00a0€" in page
    page = render(draft(), None, vat_rate_bp=2000)
    assert "Projet" in page and "déterminée à l'envoi" in page


# -- what a refusal says, and what each step keeps -----------------------------------------------------------
def test_euros_of_zero_and_of_large_and_negative_amounts():
    assert euros(0) == "0,00\u00a0€"
    assert euros(-5) == "-0,05\u00a0€"
    assert euros(123_456_789) == "1\u202f234\u202f567,89\u00a0€"


@pytest.mark.parametrize("percent, detail", [
    ("abc", "vat_percent must be a percentage (got 'abc')"),
    ("101", "vat_percent must be a percentage from 0 to 100 with at most two decimals (got '101')")])
def test_a_vat_percentage_s_refusal_names_vat_percent_and_says_why(percent, detail):
    with pytest.raises(InvalidInput, match=f"^{re.escape(detail)}$") as caught:
        rate_bp(percent)
    assert caught.value.field == "vat_percent"


NEXT = {"draft": "send (or revise)", "sent": "accept or decline (until valid_until; then it expires)"}


@pytest.mark.parametrize("step, action, state", [
    (lambda q: q.revise(at=AT, amount_cents=600_000), "revise", "sent"),
    (lambda q: q.send(at=AT, in_good_standing=True, vat_rate_bp=2000, validity_days=30), "send", "sent"),
    (lambda q: q.accept(at=AT), "accept", "draft"),
    (lambda q: q.decline(at=AT), "decline", "draft")])
def test_a_step_out_of_order_names_itself_the_quote_its_state_and_the_step_expected(step, action, state):
    quote = sent() if state == "sent" else draft()
    with pytest.raises(Conflict) as caught:
        step(quote)
    assert caught.value.detail == f"cannot {action} quote quo-1: it is {state}; expected step: {NEXT[state]}"
    assert caught.value.extra == {"current_state": state, "expected_step": NEXT[state]}


def test_a_revision_keeps_what_it_does_not_change_and_checks_what_it_changes():
    quote = draft(description="Dossier FEDER")
    assert quote.revise(at=AT + timedelta(hours=1), description="Dossier FSE+") == ["description"]
    assert quote.revised_at == AT + timedelta(hours=1)
    assert (quote.offer, quote.amount_cents, quote.description) == ("application_support", 550_000, "Dossier FSE+")
    assert quote.revise(at=AT, amount_cents=560_000) == ["amount_cents"] and quote.description == "Dossier FSE+"
    assert quote.revise(at=AT, description="x" * 2000) == ["description"]
    with pytest.raises(InvalidInput, match="^description is longer than 2000 characters$") as caught:
        quote.revise(at=AT, description="x" * 2001)
    assert caught.value.field == "description"
    with pytest.raises(InvalidInput, match="^unknown offer 'consortium_building'") as caught:
        quote.revise(at=AT, offer="consortium_building")
    assert caught.value.field == "offer"
    with pytest.raises(InvalidInput, match="^organisation_id cannot be changed$"):
        quote.revise(at=AT, organisation_id="org-2")


@pytest.mark.parametrize("days", [0, 366, True, "30", 30.0])
def test_a_quote_is_valid_1_to_365_days_given_as_a_whole_number(days):
    with pytest.raises(InvalidInput, match="^a quote is valid 1 to 365 days$") as caught:
        draft().send(at=AT, in_good_standing=True, vat_rate_bp=2000, validity_days=days)
    assert caught.value.field == "validity_days"


@pytest.mark.parametrize("days, last_day", [(1, date(2014, 9, 17)), (365, date(2015, 9, 16))])
def test_the_shortest_and_longest_validity(days, last_day):
    quote = draft()
    quote.send(at=AT, in_good_standing=False, vat_rate_bp=2000, validity_days=days)
    assert quote.valid_until == last_day


def test_the_standing_kept_on_a_sent_quote_is_the_one_found():
    as_of = AT - timedelta(days=40)
    quote = draft()
    quote.send(at=AT, in_good_standing=True, member_status="active", status_as_of=as_of, vat_rate_bp=2000,
               validity_days=30)
    assert quote.standing.model_dump() == {"checked_on": date(2014, 9, 16), "in_good_standing": True,
                                           "status": "active", "as_of": as_of}


def test_accepting_after_the_validity_says_until_when_and_to_draft_a_new_quote():
    quote = sent()
    with pytest.raises(Conflict) as caught:
        quote.accept(at=AT + timedelta(days=31))
    assert caught.value.detail == ("cannot accept quote quo-1: its validity ended on 2014-10-16 (it expires); "
                                   "draft a new one")
    assert caught.value.extra == {"current_state": "sent (validity ended)", "expected_step": "none: draft a new quote",
                                  "valid_until": "2014-10-16"}


def test_a_sent_quote_without_a_price_is_not_accepted():
    quote = sent()
    quote.pricing = None
    with pytest.raises(Conflict) as caught:
        quote.accept(at=AT)
    assert caught.value.detail == "quote quo-1 is sent but has no price; send a new one"
    assert caught.value.extra == {"current_state": "sent", "expected_step": "none: draft a new quote"}
    assert quote.status is QuoteStatus.SENT


def test_a_decline_keeps_its_reason_of_up_to_2000_characters():
    quote = sent()
    quote.decline(at=AT, reason="  Budget  ")
    assert quote.decline_reason == "Budget" and quote.status is QuoteStatus.DECLINED and quote.declined_at == AT
    assert sent().decline(at=AT, reason="x" * 2000) is None
    with pytest.raises(InvalidInput, match="^reason is longer than 2000 characters$") as caught:
        sent().decline(at=AT, reason="x" * 2001)
    assert caught.value.field == "reason"


def test_an_individual_diagnostic_keeps_its_notes_of_up_to_10000_characters():
    def hold(notes):
        return IndividualDiagnostic.hold("idg-1", organisation_id="org-1", held_on=date(2014, 9, 5),
                                         outcome_notes=notes, at=AT)

    assert hold("  Contact : M. Martin ").outcome_notes == "Contact : M. Martin"
    assert hold("x" * 10_000).outcome_notes == "x" * 10_000
    with pytest.raises(InvalidInput, match="^outcome_notes is longer than 10000 characters$") as caught:
        hold("x" * 10_001)
    assert caught.value.field == "outcome_notes"


@pytest.mark.parametrize("amount, rate", [(-1, 2000), (100, -1)])
def test_a_negative_amount_or_rate_is_refused(amount, rate):
    with pytest.raises(InvalidInput, match="^amounts and rates are not negative$") as caught:
        apply_rate(amount, rate)
    assert caught.value.field == "amount_cents"


def test_a_draft_keeps_its_description_of_up_to_2000_characters():
    assert draft(description="  Dossier FEDER ").description == "Dossier FEDER"
    assert draft(description="x" * 2000).description == "x" * 2000
    with pytest.raises(InvalidInput, match="^description is longer than 2000 characters$") as caught:
        draft(description="x" * 2001)
    assert caught.value.field == "description"
