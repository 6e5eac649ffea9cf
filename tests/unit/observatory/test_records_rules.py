"""What staff record in the observatory, to the letter: a fact's and an objective's refusals (field *and*
words), their bounds, the day the server dates them by (Paris), and what each step keeps in its history and
its event — what the first tests left open (mutation testing, `make mutation`)."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone, tzinfo

import pytest

from contracts.events.registrations import Team
from contracts.observatory import FACT_VALUE_BOUND
from runtime.errors import Conflict, InvalidInput
from services.observatory.domain.records import Fact, FactVersion, Objective, figure, local_day, year_of

NOW = datetime(2024, 3, 10, 9, tzinfo=timezone.utc)  # 10 March 2024 in Paris too
TODAY = date(2024, 3, 10)


class Floating(tzinfo):
    """A time zone that gives no offset: an instant in it is not one."""

    def utcoffset(self, dt):
        return None

    def dst(self, dt):
        return None

    def __repr__(self):
        return "floating"


def refused(call, field: str, detail: str) -> None:
    """``call`` is refused as invalid input on ``field``, with exactly ``detail``."""
    with pytest.raises(InvalidInput, match=f"^{re.escape(detail)}$") as error:
        call()
    assert error.value.field == field


def fact(**over) -> Fact:
    fields = dict(team="education", indicator="school_sessions", value=42, unit="séances", year=2023,
                  source="Bilan du programme école 2023")
    return Fact.create("fct-1", at=NOW, **(fields | over))


def objective(**over) -> Objective:
    fields = dict(title="Augmenter le nombre d'adhérent-e-s", team="membership", target_year=2024)
    return Objective.define("obj-1", at=NOW, **(fields | over))


# -- the day, the figures, the years ------------------------------------------------------------------

def test_the_day_is_paris_s_and_an_instant_without_its_offset_is_refused():
    assert local_day(datetime(2024, 3, 10, 23, 30, tzinfo=timezone.utc)) == date(2024, 3, 11)
    assert local_day(datetime(2024, 3, 10, 22, 59, tzinfo=timezone.utc)) == date(2024, 3, 10)
    refused(lambda: local_day(datetime(2024, 3, 10, 9)), "at",
            "at must be a timezone-aware date and time (got datetime.datetime(2024, 3, 10, 9, 0))")
    refused(lambda: local_day(datetime(2024, 3, 10, 9, tzinfo=Floating())), "at",
            "at must be a timezone-aware date and time (got datetime.datetime(2024, 3, 10, 9, 0, tzinfo=floating))")
    refused(lambda: local_day(TODAY), "at",
            "at must be a timezone-aware date and time (got datetime.date(2024, 3, 10))")


def test_a_fact_recorded_late_in_the_evening_is_dated_by_paris_s_day():
    late = Fact.create("fct-2", team="education", indicator="school_sessions", value=1, unit="séances",
                       year=2024, source="s", at=datetime(2024, 3, 10, 23, 30, tzinfo=timezone.utc))
    assert late.recorded_on == date(2024, 3, 11) and late.history[0].on == date(2024, 3, 11)


def test_a_figure_is_a_finite_number_within_the_bound_whole_when_it_can_be():
    assert figure(FACT_VALUE_BOUND) == FACT_VALUE_BOUND and figure(-FACT_VALUE_BOUND) == -FACT_VALUE_BOUND
    assert type(figure(42.0)) is int and figure(42.0) == 42
    assert type(figure(4.5)) is float and figure(4.5) == 4.5
    assert figure(0) == 0
    refused(lambda: figure(FACT_VALUE_BOUND + 1), "value",
            f"value must be a finite number within ±{FACT_VALUE_BOUND} (got {FACT_VALUE_BOUND + 1})")
    refused(lambda: figure(-FACT_VALUE_BOUND - 1, "count"), "count",
            f"count must be a finite number within ±{FACT_VALUE_BOUND} (got {-FACT_VALUE_BOUND - 1})")
    refused(lambda: figure(float("inf")), "value",
            f"value must be a finite number within ±{FACT_VALUE_BOUND} (got inf)")
    refused(lambda: figure(True), "value", "value must be a number (got True)")
    refused(lambda: figure("42", "count"), "count", "count must be a number (got '42')")


def test_a_year_is_a_whole_number_from_1900_to_2199():
    assert (year_of(1900), year_of(2199)) == (1900, 2199)
    refused(lambda: year_of(1899), "year", "year must be a year from 1900 to 2199 (got 1899)")
    refused(lambda: year_of(2200, "target_year"), "target_year",
            "target_year must be a year from 1900 to 2199 (got 2200)")
    refused(lambda: year_of(2023.0), "year", "year must be a year from 1900 to 2199 (got 2023.0)")
    refused(lambda: year_of(True), "year", "year must be a year from 1900 to 2199 (got True)")


# -- a fact ---------------------------------------------------------------------------------------

def test_a_recorded_fact_keeps_what_it_says_in_its_history_and_its_event():
    f = fact(indicator=" school_sessions ", unit=" séances ", source=" Bilan ",
             value=42.0)
    assert (f.id, f.team, f.indicator, f.year, f.observed_on, f.value, f.unit, f.source, f.recorded_on,
            f.withdrawn_on) == ("fct-1", "education", "school_sessions", 2023, None, 42, "séances", "Bilan", TODAY,
                                None)
    assert f.history == [FactVersion(action="recorded", on=TODAY, at=NOW, value=42, unit="séances",
                                     source="Bilan")]
    (event,) = f.pending_events
    assert (event.fact_id, event.team, event.indicator, event.year, event.observed_on, event.value, event.unit,
            event.source, event.recorded_on) == ("fct-1", "education", "school_sessions", 2023, None, 42,
                                                 "séances", "Bilan", TODAY)


def test_an_indicator_is_a_short_lower_case_code():
    assert fact(indicator="ab").indicator == "ab"
    assert fact(indicator="a" + "b" * 63).indicator == "a" + "b" * 63
    assert fact(indicator="a_2").indicator == "a_2"
    words = "indicator must be a short code: lower-case letters, digits and _, starting with a letter (got {!r})"
    for bad in ("a", "2ab", "_ab", "ab-c", "Ab"):
        refused(lambda: fact(indicator=bad), "indicator", words.format(bad))
    refused(lambda: fact(indicator="a" * 65), "indicator", "indicator is longer than 64 characters")


def test_the_unit_and_the_source_have_their_lengths():
    assert fact(unit="u" * 40).unit == "u" * 40 and fact(source="s" * 500).source == "s" * 500
    refused(lambda: fact(unit="u" * 41), "unit", "unit is longer than 40 characters")
    refused(lambda: fact(source="s" * 501), "source", "source is longer than 500 characters")


def test_a_fact_observed_on_a_day_takes_its_year_up_to_today():
    assert (fact(year=None, observed_on=TODAY).year, fact(year=2024, observed_on=TODAY).observed_on) == (2024, TODAY)
    observed = fact(year=None, observed_on=date(2023, 5, 1))
    assert observed.year == 2023 and observed.pending_events[0].observed_on == date(2023, 5, 1)
    refused(lambda: fact(observed_on=TODAY + timedelta(days=1)), "observed_on",
            "observed_on 2024-03-11 is in the future")
    refused(lambda: fact(year=2022, observed_on=date(2023, 5, 1)), "year",
            "year 2022 is not the year of observed_on (2023-05-01)")
    refused(lambda: fact(observed_on=datetime(2023, 5, 1, tzinfo=timezone.utc)), "observed_on",
            "observed_on must be a date (got datetime.datetime(2023, 5, 1, 0, 0, tzinfo=datetime.timezone.utc))")
    refused(lambda: fact(observed_on="2023-05-01"), "observed_on", "observed_on must be a date (got '2023-05-01')")
    refused(lambda: fact(year=None, observed_on=date(1899, 12, 31)), "observed_on",
            "observed_on must be a year from 1900 to 2199 (got 1899)")


def test_a_fact_s_year_is_required_and_not_in_the_future():
    assert fact(year=2024).year == 2024 and fact(year=1900).year == 1900
    refused(lambda: fact(year=None), "year", "year (or observed_on) is required: the period the figure refers to")
    refused(lambda: fact(year=2025), "year", "year 2025 is in the future: record figures once they are known")
    refused(lambda: fact(year=1899), "year", "year must be a year from 1900 to 2199 (got 1899)")


def test_a_correction_keeps_what_it_does_not_change_and_says_when_and_why():
    f = fact()
    later = NOW + timedelta(days=5)
    f.correct(at=later, unit="ateliers", reason=" oubli ")
    assert (f.value, f.unit, f.source) == (42, "ateliers", "Bilan du programme école 2023")
    assert f.history[-1] == FactVersion(action="corrected", on=date(2024, 3, 15), at=later, value=42,
                                        unit="ateliers", source="Bilan du programme école 2023", reason="oubli")
    event = f.pending_events[-1]
    assert (event.fact_id, event.previous_value, event.value, event.unit, event.source, event.corrected_on) == (
        "fct-1", 42, 42, "ateliers", "Bilan du programme école 2023", date(2024, 3, 15))
    f.correct(at=later, source="Bilan corrigé", reason="source")
    assert (f.value, f.unit, f.source) == (42, "ateliers", "Bilan corrigé")
    f.correct(at=later, value=45.0, reason="valeur")
    assert f.value == 45 and type(f.value) is int and f.pending_events[-1].previous_value == 42
    assert len(f.history) == 4 and f.as_of(date(2024, 3, 15)).value == 45


def test_a_correction_must_change_something_and_say_why():
    refused(lambda: fact().correct(at=NOW, value=42, unit="séances", reason="rien"), "value",
            "a correction changes the value, the unit or the source")
    refused(lambda: fact().correct(at=NOW, reason="rien"), "value",
            "a correction changes the value, the unit or the source")
    refused(lambda: fact().correct(at=NOW, value=43, reason=" "), "reason", "reason is required")
    refused(lambda: fact().correct(at=NOW, value=43, reason="r" * 2001), "reason",
            "reason is longer than 2000 characters")
    refused(lambda: fact().correct(at=NOW, unit="u" * 41, reason="r"), "unit", "unit is longer than 40 characters")
    refused(lambda: fact().correct(at=NOW, source="s" * 501, reason="r"), "source",
            "source is longer than 500 characters")
    refused(lambda: fact().correct(at=NOW, value=True, reason="r"), "value", "value must be a number (got True)")
    assert fact().correct(at=NOW, value=43, reason="r" * 2000) is None


def test_a_withdrawal_is_dated_and_kept_and_a_withdrawn_fact_says_so():
    f = fact()
    later = NOW + timedelta(days=10)
    f.withdraw(at=later, reason=" doublon ")
    assert f.withdrawn_on == date(2024, 3, 20)
    assert f.history[-1] == FactVersion(action="withdrawn", on=date(2024, 3, 20), at=later, reason="doublon")
    event = f.pending_events[-1]
    assert (event.fact_id, event.withdrawn_on) == ("fct-1", date(2024, 3, 20))
    for step in (lambda: f.withdraw(at=later, reason="encore"), lambda: f.correct(at=later, value=1, reason="x")):
        with pytest.raises(Conflict, match=r"^fact fct-1 was withdrawn on 2024-03-20: record a new fact instead$") \
                as error:
            step()
        assert error.value.extra == {"current_state": "withdrawn"}
    refused(lambda: fact().withdraw(at=later, reason=""), "reason", "reason is required")
    refused(lambda: fact().withdraw(at=later, reason="r" * 2001), "reason", "reason is longer than 2000 characters")


def test_a_fact_is_in_force_from_the_day_it_is_recorded_until_the_day_it_is_withdrawn():
    f = fact()
    assert f.as_of(TODAY).value == 42 and f.as_of(TODAY - timedelta(days=1)) is None
    f.correct(at=NOW + timedelta(days=2), value=44, reason="x")
    assert f.as_of(date(2024, 3, 11)).value == 42 and f.as_of(date(2024, 3, 12)).value == 44
    f.withdraw(at=NOW + timedelta(days=3), reason="y")
    assert f.as_of(date(2024, 3, 12)).value == 44 and f.as_of(date(2024, 3, 13)) is None


# -- an objective -----------------------------------------------------------------------------------

def test_a_defined_objective_keeps_what_it_says_in_its_history_and_its_event():
    o = objective(code=" 0.1 ", title=" Augmenter ", comment=" voté en AG ")
    assert (o.id, o.code, o.title, o.team, o.target_year, o.adopted_on, o.status) == (
        "obj-1", "0.1", "Augmenter", "membership", 2024, TODAY, "en_cours")
    assert [(c.status, c.on, c.at, c.comment) for c in o.history] == [("en_cours", TODAY, NOW, "voté en AG")]
    (event,) = o.pending_events
    assert (event.objective_id, event.code, event.title, event.team, event.target_year, event.status,
            event.adopted_on) == ("obj-1", "0.1", "Augmenter", "membership", 2024, "en_cours", TODAY)
    plain = objective(status="atteint", adopted_on=date(2021, 4, 15))
    assert (plain.code, plain.status, plain.adopted_on, plain.history[0].comment) == (
        None, "atteint", date(2021, 4, 15), None)
    assert plain.history[0].on == date(2021, 4, 15) and plain.pending_events[0].adopted_on == date(2021, 4, 15)
    assert objective(adopted_on=TODAY).adopted_on == TODAY


def test_an_objective_s_refusals_name_the_field_and_say_why():
    refused(lambda: objective(code="c" * 21), "code", "code is longer than 20 characters")
    assert objective(code="c" * 20).code == "c" * 20 and objective(title="t" * 300).title == "t" * 300
    refused(lambda: objective(title="t" * 301), "title", "title is longer than 300 characters")
    refused(lambda: objective(comment="c" * 4001), "comment", "comment is longer than 4000 characters")
    refused(lambda: objective(target_year=2200), "target_year",
            "target_year must be a year from 1900 to 2199 (got 2200)")
    assert objective(target_year=2199).target_year == 2199
    refused(lambda: objective(team="nobody"), "team",
            "unknown team 'nobody'; expected one of: " + ", ".join(t.value for t in Team))
    refused(lambda: objective(status="done"), "status",
            "unknown status 'done'; expected one of: atteint, en_phase_d_etre_atteint, partiellement_atteint, "
            "en_cours, arrete")
    refused(lambda: objective(adopted_on=TODAY + timedelta(days=1)), "adopted_on",
            "adopted_on 2024-03-11 is in the future (today is 2024-03-10)")
    refused(lambda: objective(adopted_on=NOW), "adopted_on",
            "adopted_on must be a date (got datetime.datetime(2024, 3, 10, 9, 0, tzinfo=datetime.timezone.utc))")
    refused(lambda: objective(adopted_on="2021-04-15"), "adopted_on", "adopted_on must be a date (got '2021-04-15')")
    refused(lambda: objective(adopted_on=date(1899, 12, 31)), "adopted_on",
            "adopted_on must be a year from 1900 to 2199 (got 1899)")


def test_a_status_change_is_kept_in_order_with_its_day_comment_and_event():
    o = objective(adopted_on=date(2021, 4, 15))
    o.change_status(status="partiellement_atteint", on=date(2021, 4, 15), at=NOW, comment=" AG ")
    assert o.status == "partiellement_atteint"
    assert [(c.status, c.on, c.at, c.comment) for c in o.history] == [
        ("en_cours", date(2021, 4, 15), NOW, None), ("partiellement_atteint", date(2021, 4, 15), NOW, "AG")]
    event = o.pending_events[-1]
    assert (event.objective_id, event.previous_status, event.status, event.changed_on) == (
        "obj-1", "en_cours", "partiellement_atteint", date(2021, 4, 15))
    o.change_status(status="atteint", at=NOW)
    assert o.history[-1].on == TODAY and o.history[-1].comment is None and o.pending_events[-1].changed_on == TODAY
    assert o.pending_events[-1].previous_status == "partiellement_atteint"
    assert o.status_on(TODAY).status == "atteint" and o.status_on(TODAY - timedelta(days=1)).status == \
        "partiellement_atteint"
    assert o.status_on(date(2021, 4, 15)).status == "partiellement_atteint"
    assert o.status_on(date(2021, 4, 14)) is None


def test_a_status_change_s_refusals_say_why():
    o = objective(adopted_on=date(2021, 4, 15))
    o.change_status(status="atteint", on=date(2023, 4, 1), at=NOW)
    refused(lambda: o.change_status(status="arrete", on=date(2023, 3, 31), at=NOW), "on",
            "on 2023-03-31 is before the last status change (2023-04-01): the history is kept in order")
    with pytest.raises(Conflict, match=r"^objective obj-1 is already atteint \(ATTEINT\) since 2023-04-01$") as error:
        o.change_status(status="atteint", at=NOW)
    assert error.value.extra == {"current_state": "atteint"}
    refused(lambda: o.change_status(status="arrete", on=TODAY + timedelta(days=1), at=NOW), "on",
            "on 2024-03-11 is in the future (today is 2024-03-10)")
    refused(lambda: o.change_status(status="fini", at=NOW), "status",
            "unknown status 'fini'; expected one of: atteint, en_phase_d_etre_atteint, partiellement_atteint, "
            "en_cours, arrete")
    assert o.status == "atteint" and len(o.history) == 2


def test_a_status_change_refused_for_its_comment_leaves_the_objective_as_it_was():
    o = objective(adopted_on=date(2021, 4, 15))
    refused(lambda: o.change_status(status="arrete", at=NOW, comment="c" * 4001), "comment",
            "comment is longer than 4000 characters")
    assert (o.status, len(o.history), len(o.pending_events)) == ("en_cours", 1, 1)
    o.change_status(status="arrete", at=NOW, comment="c" * 4000)
    assert o.status == "arrete" and o.history[-1].comment == "c" * 4000
