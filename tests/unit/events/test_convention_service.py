"""The pure parts of the conventions service: settings from the API's fields, printable agendas,
the work of a scheduling run."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from contracts.events.conventions import ParticipantRole, ScheduleMode
from runtime.errors import InvalidInput
from runtime.mongo import stored_instant
from services.events.domain import scheduling
from services.events.domain.catalogue import Event
from services.events.entrypoints.agenda_pages import Header, Person, Row, render
from services.events.service_layer.conventions import RunWork, build_settings

PARIS = timezone(timedelta(hours=1))
DAY = datetime(2027, 3, 16, tzinfo=PARIS)


def event(**over) -> Event:
    return Event.schedule("evt-1", kind="business_convention", team="business_development", title="OpenMap ESS",
                          starts_at=over.get("starts_at", DAY.replace(hour=9)), ends_at=DAY.replace(hour=18),
                          capacity=10, place="Melun", at=DAY - timedelta(days=60))


def generated(**over) -> dict:
    return {"generate": {"start_at": DAY.replace(hour=14), "slot_minutes": 20, "count": 6, "gap_minutes": 5, **over},
            "tables": 4}


def test_generated_settings_skip_the_breaks_and_are_stored_in_utc():
    settings = build_settings({**generated(), "breaks": [{"start_at": DAY.replace(hour=15, minute=15),
                                                          "end_at": DAY.replace(hour=15, minute=30)}]}, event())
    assert [s.id for s in settings.slots] == ["s1", "s2", "s3", "s4", "s5", "s6"]
    assert settings.slots[3].start_at == DAY.replace(hour=15, minute=30)
    assert all(s.start_at.utcoffset() == timedelta(0) for s in settings.slots)


@pytest.mark.parametrize("fields, field", [
    (generated(count=40), "generate.count"),  # past the event's end
    (generated(slot_minutes=0), "generate.slot_minutes"),
    ({**generated(), "slots": []}, "slots"),  # both
    ({"tables": 4}, "slots"),  # neither
    ({"slots": [{"id": "a", "start_at": DAY.replace(hour=14), "duration_minutes": 20},
                {"id": "b", "start_at": DAY.replace(hour=7), "duration_minutes": 20}], "tables": 4},
     "slots.1.start_at"),  # before the event: named by its index as given
    ({**generated(), "breaks": [{"start_at": DAY.replace(hour=16), "end_at": DAY.replace(hour=15)}]},
     "breaks.0.end_at"),  # a break's error is not the generator's
])
def test_bad_settings_name_the_field(fields, field):
    with pytest.raises(InvalidInput) as excinfo:
        build_settings(fields, event())
    assert excinfo.value.field == field


def test_a_slot_over_a_break_names_the_break_as_the_client_listed_it():
    fields = {"slots": [{"id": "a", "start_at": DAY.replace(hour=14), "duration_minutes": 20}], "tables": 4,
              "breaks": [{"start_at": DAY.replace(hour=16), "end_at": DAY.replace(hour=17)},
                         {"start_at": DAY.replace(hour=14, minute=10), "end_at": DAY.replace(hour=14, minute=30)}]}
    with pytest.raises(InvalidInput) as excinfo:
        build_settings(fields, event())
    assert (excinfo.value.field, excinfo.value.detail) == ("slots.0.start_at", "slot 'a' overlaps breaks.1")


def test_a_slot_before_the_event_names_the_generators_start():
    with pytest.raises(InvalidInput) as excinfo:
        build_settings(generated(), event(starts_at=DAY.replace(hour=15)))
    assert excinfo.value.field == "generate.start_at"


def test_instants_are_stored_as_comparable_utc_text():
    assert stored_instant(DAY.replace(hour=14)) == "2027-03-16T13:00:00Z"
    assert stored_instant(DAY.replace(hour=9)) < stored_instant(DAY.replace(hour=10, tzinfo=timezone.utc))


def test_printable_agendas_escape_names_keep_one_page_each_and_fetch_nothing():
    start = DAY.replace(hour=14).astimezone(timezone.utc)
    rows = (Row(start, start + timedelta(minutes=20), 7, "<Coop> & Cie", "Camille \"Kim\"",
                ParticipantRole.PUBLIC_BUYER),)
    people = [Person("reg-1", "Alex", "Réemploi 93", ParticipantRole.ESS_SUPPLIER, rows),
              Person("reg-2", None, "Ville", ParticipantRole.PUBLIC_BUYER, ())]
    html = render(Header("OpenMap <ESS>", "Melun", "Europe/Paris", 2, start, ()), people)
    assert html.count('<section class="agenda"') == 2 and "break-after: page" in html
    assert "&lt;Coop&gt; &amp; Cie" in html and "<Coop>" not in html and "OpenMap &lt;ESS&gt;" in html
    assert "14:00–14:20" in html, "Paris time"
    assert '<td class="table">7</td>' in html and "Acheteur public" in html and "Aucun rendez-vous" in html
    assert "<script" not in html and "src=" not in html and "http" not in html


def test_a_run_computes_the_plan_and_reports_progress_when_the_scheduler_can():
    slots = tuple(scheduling.Slot(f"s{i}", DAY.replace(hour=14) + timedelta(minutes=25 * i), timedelta(minutes=20))
                  for i in range(1, 4))
    people = (scheduling.Participant("a", scheduling.Role.SUPPLIER), scheduling.Participant("b", scheduling.Role.BUYER))
    problem = scheduling.SchedulingProblem(
        slots, people,
        (scheduling.MeetingRequest("a", "b", 3, scheduling.RequestStatus.ACCEPTED),), tables=1)
    seen: list[tuple[str, float]] = []
    plan, figures = RunWork(ScheduleMode.INITIAL, problem, scheduling.SchedulingOptions(use_solver=False)).solve(
        lambda phase, fraction: seen.append((phase, fraction)))
    assert [(m.a, m.b) for m in plan.meetings] == [("a", "b")] and figures is None
    if seen:  # a scheduler that reports its phases ends with (done, 1.0)
        assert seen[-1] == ("done", 1.0)
    again, figures = RunWork(ScheduleMode.REPLAN, problem, scheduling.SchedulingOptions(use_solver=False),
                             previous=plan, no_shows=("b",), from_slot="s1").solve(lambda *_: None)
    assert again.meetings == () and figures.released == 1
