"""The membership figures of the activity report, computed from ledger rows as of a date."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from contracts.membership import (ApplicationSubmitted, DuesInvoiced, DuesPaymentRecorded, MemberActivated,
                                  MembershipEnteredGracePeriod, MembershipLapsed, MembershipRenewed,
                                  MembershipWithdrawn, WithdrawalReason, LegalForm)
from runtime.errors import Conflict, InvalidInput
from services.observatory.domain.ledger import row_of
from services.observatory.domain.records import Fact, Objective
from services.observatory.domain.report import Source, membership_figures, percent, year_end

AT = datetime(2025, 1, 1, tzinfo=timezone.utc)
_n = iter(range(1, 10_000))


def _row(event):
    return row_of(event, event_id=f"ev-{next(_n)}", at=AT + timedelta(seconds=next(_n)))


def joined(org: str, on: str, dues: int = 10_000):
    day = date.fromisoformat(on)
    return [_row(MemberActivated(organisation_id=org, application_id=f"app-{org}", legal_form=LegalForm.ASSOCIATION,
                                 departement="93", sector="x", esus_agreed=False, since=day, year=day.year,
                                 dues_cents=dues)),
            invoice(org, on, dues)]


def invoice(org: str, on: str, amount: int, year: int | None = None):
    day = date.fromisoformat(on)
    year = year or day.year
    return _row(DuesInvoiced(organisation_id=org, invoice_id=f"{org}-{year}", year=year, amount_cents=amount,
                             fee_bracket="B1", issued_on=day, due_on=day, grace_ends_on=day))


def paid(org: str, on: str, amount: int, year: int):
    return _row(DuesPaymentRecorded(organisation_id=org, invoice_id=f"{org}-{year}", payment_id=f"p-{next(_n)}",
                                    year=year, amount_cents=amount, method="transfer",
                                    paid_on=date.fromisoformat(on), balance_cents=0, fully_paid=True))


def withdrawn(org: str, on: str):
    return _row(MembershipWithdrawn(organisation_id=org, reason=WithdrawalReason.RESIGNATION, detail=None,
                                    previous_status="active", outstanding_cents=0,
                                    withdrawn_on=date.fromisoformat(on)))


def lapsed(org: str, on: str, year: int):
    day = date.fromisoformat(on)
    return _row(MembershipLapsed(organisation_id=org, year=year, invoice_ids=[], written_off_cents=0,
                                 grace_ended_on=day, lapsed_on=day))


def renewed(org: str, on: str, year: int):
    return _row(MembershipRenewed(organisation_id=org, year=year, invoice_id=f"{org}-{year}",
                                  previous_status="lapsed", status="active", renewed_on=date.fromisoformat(on)))


def figures(rows, year, as_of):
    return {f.indicator: f for f in membership_figures(rows, year, date.fromisoformat(as_of))}


@pytest.fixture
def history():
    rows = [*joined("a", "2021-03-01", 10_000), *joined("b", "2021-06-01", 20_000), *joined("c", "2021-09-01"),
            invoice("a", "2022-01-10", 10_000), invoice("b", "2022-01-10", 20_000),
            invoice("c", "2022-01-10", 10_000),
            paid("a", "2022-02-01", 10_000, 2022), paid("b", "2022-08-01", 20_000, 2022),
            withdrawn("c", "2022-05-15"),
            *joined("d", "2022-04-01", 30_000), *joined("e", "2022-10-01", 5_000), *joined("f", "2022-11-01"),
            lapsed("b", "2022-12-20", 2022)]
    return rows


def test_year_end_figures(history):
    f = figures(history, 2022, "2023-06-30")
    assert f["members_previous_year_end"].value == 3
    assert f["members_at_year_end"].value == 4  # a, d, e, f (b lapsed, c withdrew)
    assert f["members_growth_percent"].value == 33.3
    assert f["new_members"].value == 3 and f["withdrawals"].value == 1 and f["lapses"].value == 1
    assert f["dues_invoiced_cents"].value == 10_000 + 20_000 + 10_000 + 30_000 + 5_000 + 10_000
    assert f["dues_collected_cents"].value == 30_000
    assert f["dues_from_new_members_cents"].value == 45_000
    assert f["dues_from_new_members_share_percent"].value == 52.9  # 45,000 / 85,000
    src = f["new_members"].source
    assert src.kind == "events" and src.event_types == (MemberActivated.event_type,) and src.events == 3
    # the details are read by the chamber's staff: in French, with the year's dates
    assert src.detail == "adhésions ayant débuté dans l'année"
    assert f["members_at_year_end"].source.detail == "statut d'adhésion à la fin de la journée du 2022-12-31"
    assert f["members_growth_percent"].source.detail == \
        "nombre d'adhérent·e·s au 2022-12-31 comparé à celui du 2021-12-31"


def test_as_of_a_date_in_the_year_cuts_by_business_date(history):
    f = figures(history, 2022, "2022-06-30")
    assert f["members_at_year_end"].value == 3  # a, b, d; c withdrew on 15 May, e and f not yet
    assert f["new_members"].value == 1 and f["withdrawals"].value == 1 and f["lapses"].value == 0
    assert f["dues_collected_cents"].value == 10_000  # b paid in August
    assert f["dues_invoiced_cents"].value == 70_000
    assert f["members_growth_percent"].value == 0.0


def test_as_of_the_day_before_and_the_day_of_an_event(history):
    assert figures(history, 2022, "2022-05-14")["withdrawals"].value == 0
    assert figures(history, 2022, "2022-05-15")["withdrawals"].value == 1


def test_a_rebuild_in_any_order_gives_the_same_figures(history):
    assert figures(list(reversed(history)), 2022, "2022-12-31") == figures(history, 2022, "2022-12-31")


def test_renewal_after_a_lapse_counts_the_member_again():
    rows = [*joined("a", "2020-02-01"), lapsed("a", "2021-05-01", 2021), renewed("a", "2021-09-01", 2021)]
    assert figures(rows, 2021, "2021-06-30")["members_at_year_end"].value == 0
    assert figures(rows, 2021, "2021-12-31")["members_at_year_end"].value == 1


def test_grace_and_lapse_of_one_instant_apply_in_lifecycle_order():
    from contracts.membership import MembershipEnteredGracePeriod
    from services.observatory.domain.ledger import LedgerRow
    day = date(2021, 2, 1)
    grace = _row(MembershipEnteredGracePeriod(organisation_id="a", invoice_id="a-2020", year=2020, balance_cents=1,
                                              due_on=day, grace_ends_on=day, entered_on=day))
    lapse = lapsed("a", "2021-02-01", 2020)
    for ids in (("z", "a"), ("a", "z")):  # whatever the event ids
        rows = [*joined("a", "2020-02-01"), LedgerRow(ids[0], grace.type, "a", AT, day, grace.data),
                LedgerRow(ids[1], lapse.type, "a", AT, day, lapse.data)]
        assert figures(rows, 2021, "2021-12-31")["members_at_year_end"].value == 0


def test_growth_and_share_without_a_base_are_none():
    f = figures([*joined("a", "2020-02-01")], 2020, "2020-12-31")
    assert f["members_previous_year_end"].value == 0 and f["members_growth_percent"].value is None
    assert f["dues_from_new_members_share_percent"].value == 100.0
    assert figures([], 2020, "2020-12-31")["dues_from_new_members_share_percent"].value is None


def test_percent_rounds_half_up_and_year_end_cuts():
    assert percent(1, 8) == 12.5 and percent(1, 3) == 33.3 and percent(2, 3) == 66.7 and percent(-1, 8) == -12.5
    assert year_end(2022, date(2023, 1, 5)) == date(2022, 12, 31)
    assert year_end(2022, date(2022, 3, 5)) == date(2022, 3, 5)


# -- recorded facts and objectives -----------------------------------------------------------------
NOW = datetime(2024, 3, 10, 9, tzinfo=timezone.utc)


def fact(**over):
    fields = dict(team="education", indicator="school_sessions", value=42, unit="séances", year=2023,
                  source="Bilan du programme école 2023")
    return Fact.create("fct-1", at=NOW, **(fields | over))


def test_a_fact_is_recorded_corrected_and_withdrawn_with_history():
    f = fact()
    assert f.recorded_on == date(2024, 3, 10) and [e.event_type.split(".")[3] for e in f.pending_events] == [
        "fact-recorded"]
    f.correct(at=NOW + timedelta(days=5), value=45, reason="oubli")
    assert f.value == 45 and f.pending_events[-1].previous_value == 42
    assert f.as_of(date(2024, 3, 9)) is None and f.as_of(date(2024, 3, 12)).value == 42
    assert f.as_of(date(2024, 3, 15)).value == 45
    f.withdraw(at=NOW + timedelta(days=10), reason="doublon")
    assert f.as_of(date(2024, 3, 19)).value == 45 and f.as_of(date(2024, 3, 20)) is None
    with pytest.raises(Conflict):
        f.correct(at=NOW + timedelta(days=11), value=1, reason="x")


@pytest.mark.parametrize(("over", "field"), [
    ({"value": 10 ** 13}, "value"), ({"value": float("nan")}, "value"), ({"value": True}, "value"),
    ({"indicator": "School Sessions"}, "indicator"), ({"team": "nobody"}, "team"), ({"unit": " "}, "unit"),
    ({"year": 2025}, "year"), ({"year": None}, "year"), ({"year": 1800}, "year"), ({"source": ""}, "source"),
    ({"year": 2022, "observed_on": date(2023, 5, 1)}, "year"), ({"observed_on": date(2024, 4, 1)}, "observed_on"),
])
def test_bad_facts_name_the_field(over, field):
    with pytest.raises(InvalidInput) as error:
        fact(**over)
    assert error.value.field == field


def test_a_correction_must_change_something():
    with pytest.raises(InvalidInput) as error:
        fact().correct(at=NOW, value=42, reason="rien")
    assert error.value.field == "value"


def test_an_objective_keeps_its_status_history():
    o = Objective.define("obj-1", title="Augmenter le nombre d'adhérent-e-s", team="membership", target_year=2024,
                         code="0.1", adopted_on=date(2021, 4, 15), at=NOW)
    o.change_status(status="partiellement_atteint", on=date(2023, 4, 1), at=NOW)
    o.change_status(status="atteint", at=NOW, comment="AG 2024")
    assert o.status_on(date(2021, 4, 14)) is None
    assert o.status_on(date(2022, 1, 1)).status == "en_cours"
    assert o.status_on(date(2023, 6, 30)).label == "PARTIELLEMENT ATTEINT"
    assert o.status_on(date(2024, 3, 10)).status == "atteint"
    assert [e.event_type.split(".")[3] for e in o.pending_events] == [
        "objective-defined", "objective-status-changed", "objective-status-changed"]
    with pytest.raises(Conflict):
        o.change_status(status="atteint", at=NOW)
    with pytest.raises(InvalidInput) as error:
        o.change_status(status="arrete", on=date(2022, 1, 1), at=NOW)
    assert error.value.field == "on"
    with pytest.raises(InvalidInput) as error:
        o.change_status(status="done", at=NOW)
    assert error.value.field == "status"


# -- what the tests above left open (mutation testing, `make mutation`) ----------------------------------
def test_percent_rounds_half_up_away_from_zero_at_the_first_decimal():
    assert percent(1, 16) == 6.3 and percent(-1, 16) == -6.3 and percent(3, 16) == 18.8  # 6.25, 18.75
    assert percent(0, 5) == 0.0 and percent(5, 0) is None


def test_a_member_counts_from_the_end_of_the_day_its_status_event_names():
    rows = [*joined("a", "2022-06-30"), withdrawn("a", "2022-09-30")]
    assert figures(rows, 2022, "2022-06-29")["members_at_year_end"].value == 0
    assert figures(rows, 2022, "2022-06-30")["members_at_year_end"].value == 1
    assert figures(rows, 2022, "2022-09-29")["members_at_year_end"].value == 1
    assert figures(rows, 2022, "2022-09-30")["members_at_year_end"].value == 0


def test_a_renewal_counts_with_the_status_it_gives():
    still = _row(MembershipRenewed(organisation_id="a", year=2021, invoice_id="a-2021", previous_status="lapsed",
                                   status="lapsed", renewed_on=date(2021, 9, 1)))  # other dues still overdue
    rows = [*joined("a", "2020-02-01"), lapsed("a", "2021-05-01", 2021), still]
    assert figures(rows, 2021, "2021-12-31")["members_at_year_end"].value == 0


def test_every_figure_says_its_words_and_where_it_comes_from(history):
    status = tuple(t.event_type for t in (MemberActivated, MembershipEnteredGracePeriod, MembershipLapsed,
                                          MembershipRenewed, MembershipWithdrawn))
    invoiced, activated = DuesInvoiced.event_type, MemberActivated.event_type
    got = [(f.indicator, f.label, f.value, f.unit, f.source)
           for f in membership_figures(history, 2022, date(2023, 6, 30))]
    assert got == [
        ("members_at_year_end", "Adhérent·e·s en fin d'année", 4, "adhérents",
         Source("events", status, 8, detail="statut d'adhésion à la fin de la journée du 2022-12-31")),
        ("members_previous_year_end", "Adhérent·e·s en fin d'année précédente", 3, "adhérents",
         Source("events", status, 3, detail="statut d'adhésion à la fin de la journée du 2021-12-31")),
        ("members_growth_percent", "Évolution du nombre d'adhérent·e·s", 33.3, "%",
         Source("events", status, 8, detail="nombre d'adhérent·e·s au 2022-12-31 comparé à celui du 2021-12-31")),
        ("new_members", "Nouvelles adhésions", 3, "adhérents",
         Source("events", (activated,), 3, detail="adhésions ayant débuté dans l'année")),
        ("withdrawals", "Départs (démissions, dissolutions, radiations)", 1, "adhérents",
         Source("events", (MembershipWithdrawn.event_type,), 1, detail="adhésions ayant pris fin dans l'année")),
        ("lapses", "Adhésions échues (cotisation impayée)", 1, "adhérents",
         Source("events", (MembershipLapsed.event_type,), 1, detail="adhésions échues dans l'année")),
        ("applications_submitted", "Demandes d'adhésion", 0, "demandes",
         Source("events", (ApplicationSubmitted.event_type,), 0,
                detail="demandes d'adhésion déposées dans l'année")),
        ("dues_invoiced_cents", "Cotisations appelées", 85_000, "centimes",
         Source("events", (invoiced,), 6, detail="cotisations de l'année 2022 appelées")),
        ("dues_collected_cents", "Cotisations encaissées", 30_000, "centimes",
         Source("events", (DuesPaymentRecorded.event_type,), 2, detail="paiements des cotisations de l'année 2022")),
        ("dues_from_new_members_cents", "Cotisations des nouvelles adhésions", 45_000, "centimes",
         Source("events", (invoiced, activated), 3 + 3,
                detail="cotisations de l'année 2022 appelées auprès des structures devenues adhérentes en 2022")),
        ("dues_from_new_members_share_percent", "Part des cotisations venant des nouvelles adhésions", 52.9, "%",
         Source("events", (invoiced, activated), 6 + 3,
                detail="cotisations des nouvelles adhésions rapportées à l'ensemble des cotisations appelées")),
    ]


def test_dues_invoiced_and_paid_on_the_day_asked_count(history):
    assert figures(history, 2022, "2022-01-09")["dues_invoiced_cents"].value == 0
    assert figures(history, 2022, "2022-01-10")["dues_invoiced_cents"].value == 40_000
    assert figures(history, 2022, "2022-01-31")["dues_collected_cents"].value == 0
    assert figures(history, 2022, "2022-02-01")["dues_collected_cents"].value == 10_000
