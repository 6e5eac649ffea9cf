"""The events catalogue: Event lifecycle, validation of hostile input, capacity, admission, Occupancy."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from contracts.events.registrations import (EventArchived, EventCancelled, EventHeld, EventPublished,
                                            EventRegistrationsClosed, EventScheduled, EventUpdated)
from runtime.errors import Conflict, InvalidInput
from services.events.domain.catalogue import (Admission, CategoryCount, Event, Occupancy)
from contracts.events.registrations import AccessPolicy, EventFormat, EventKind, EventStatus, RegistrationStatus, Team

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2023, 4, 1, 9, 0, tzinfo=PARIS)
START = datetime(2023, 5, 9, 14, 0, tzinfo=PARIS)
END = datetime(2023, 5, 9, 17, 0, tzinfo=PARIS)
S = RegistrationStatus


def make_event(event_id: str = "evt-1", **overrides) -> Event:
    fields = dict(kind="club_des_collectivites", team="observatory", title="ESS et coopérations territoriales",
                  starts_at=START, ends_at=END, at=T0, place="PTCE Phares, L'Île-Saint-Denis", capacity=60)
    fields.update(overrides)
    return Event.schedule(event_id, **fields)


def published(**overrides) -> Event:
    e = make_event(**overrides)
    e.publish(at=T0)
    e.pull_events()
    return e


def convention(**overrides) -> Event:
    """A business convention with three categories sharing a room of 100."""
    fields = dict(kind="business_convention", team="business_development", title="Rencontres d'affaires",
                  categories=[{"code": "buyers", "label": "Acheteurs", "quota": 40},
                              {"code": "suppliers", "label": "Structures de l'ESS", "quota": 80},
                              {"code": "partners", "quota": 10}],
                  capacity=100, place="École nationale vétérinaire, Maisons-Alfort")
    fields.update(overrides)
    if fields.get("capacity") == "none":
        fields["capacity"] = None
    return make_event("evt-conv", **fields)


def occ(**held_waiting) -> Occupancy:
    """occ(general=(held, waiting))."""
    return Occupancy(categories={c: CategoryCount(held=h, waiting=w) for c, (h, w) in held_waiting.items()})


def field_of(exc_info) -> str:
    return exc_info.value.field


# -- schedule ---------------------------------------------------------------------------------

def test_schedule_creates_a_draft_and_records_event_scheduled():
    e = make_event()
    assert e.id == "evt-1" and e.status is EventStatus.DRAFT and e.version == 0
    assert e.kind is EventKind.CLUB_DES_COLLECTIVITES and e.team is Team.OBSERVATORY
    assert [(c.code, c.quota) for c in e.categories] == [("general", 60)] and e.capacity is None
    assert e.total_capacity == 60 and e.time_zone == "Europe/Paris" and e.offer_validity_hours == 48
    (ev,) = e.pull_events()
    assert isinstance(ev, EventScheduled) and ev.aggregate_id == "evt-1"
    assert (ev.kind, ev.team, ev.starts_at, ev.ends_at, ev.capacity) == (
        "club_des_collectivites", "observatory", START, END, 60)
    assert ev.format is EventFormat.IN_PERSON and ev.access is AccessPolicy.OPEN and ev.scheduled_at == T0
    assert [c.model_dump() for c in ev.categories] == [{"code": "general", "label": "Participants", "quota": 60}]


def test_schedule_with_categories_and_a_shared_total_capacity():
    e = convention()
    assert [(c.code, c.label, c.quota) for c in e.categories] == [
        ("buyers", "Acheteurs", 40), ("suppliers", "Structures de l'ESS", 80), ("partners", "partners", 10)]
    assert e.capacity == 100 == e.total_capacity
    assert e.pull_events()[0].capacity == 100
    assert convention(capacity="none").total_capacity == 130


@pytest.mark.parametrize("kind", list(EventKind))
def test_every_kind_of_the_activity_report_can_be_scheduled(kind):
    assert make_event(kind=kind.value).kind is kind and kind.label


def test_online_event_and_format():
    e = make_event(place=None, online_url="https://visio.example.org/webinaire-esus", kind="webinar", team="aio")
    assert e.format is EventFormat.ONLINE and e.location == "https://visio.example.org/webinaire-esus"
    assert make_event(online_url="http://x.org/live").format is EventFormat.HYBRID
    assert make_event(place=None).format is None


def test_venue_commune_is_an_insee_code_carried_by_every_catalogue_event():
    e = make_event(place="Mairie de Montreuil", venue_commune=" 93048 ")
    assert e.venue_commune == "93048"
    (ev,) = e.pull_events()
    assert isinstance(ev, EventScheduled) and ev.venue_commune == "93048"
    e.publish(at=T0)
    e.mark_held(at=START)
    assert [ev.venue_commune for ev in e.pull_events()] == ["93048", "93048"]  # published, held
    assert make_event().venue_commune is None and make_event().pull_events()[0].venue_commune is None


@pytest.mark.parametrize("code", ["99999", "", "9304", "montreuil", 93048, "x" * 10_000])
def test_unknown_venue_commune_is_rejected(code):
    with pytest.raises(InvalidInput) as exc:
        make_event(venue_commune=code)
    assert field_of(exc) == "venue_commune"


def test_an_online_event_has_no_venue_commune():
    with pytest.raises(InvalidInput) as exc:
        make_event(place=None, online_url="https://visio.example.org/w", venue_commune="93048")
    assert field_of(exc) == "venue_commune"
    assert make_event(place=None, online_url="https://visio.example.org/w").venue_commune is None


def test_venue_commune_changes_and_goes_with_the_place():
    e = make_event(venue_commune="93070")
    assert e.update(at=T0, venue_commune="93048") == ["venue_commune"]
    (ev,) = [x for x in e.pull_events() if isinstance(x, EventUpdated)]
    assert ev.venue_commune == "93048" and ev.changed_fields == ["venue_commune"]
    assert e.update(at=T0, place=None, online_url="https://visio.example.org/w") == [
        "place", "venue_commune", "online_url"]
    assert e.venue_commune is None
    with pytest.raises(InvalidInput) as exc:
        e.update(at=T0, venue_commune="93048")  # online now: no venue
    assert field_of(exc) == "venue_commune" and e.venue_commune is None


@pytest.mark.parametrize("capacity", [0, -1, -10**12, 10**9, 100_001, True, "60", 1.5])
def test_hostile_capacity_is_rejected(capacity):
    with pytest.raises(InvalidInput) as exc:
        make_event(capacity=capacity)
    assert field_of(exc) == "capacity"


def test_capacity_or_categories_are_required():
    with pytest.raises(InvalidInput) as exc:
        make_event(capacity=None)
    assert field_of(exc) == "capacity"


@pytest.mark.parametrize("categories, field", [
    ([], "categories"),
    ("general", "categories"),
    ([{"code": "a", "quota": 10}, {"code": "b", "quota": 0}], "categories.1.quota"),
    ([{"code": "a", "quota": -5}], "categories.0.quota"),
    ([{"code": "a", "quota": 10**7}], "categories.0.quota"),
    ([{"code": "a", "quota": "10"}], "categories.0.quota"),
    ([{"code": "a"}], "categories.0.quota"),
    ([{"code": "Buyers", "quota": 1}], "categories.0.code"),
    ([{"code": "", "quota": 1}], "categories.0.code"),
    ([{"code": "a" * 41, "quota": 1}], "categories.0.code"),
    ([{"code": "a", "quota": 1}, {"code": "a", "quota": 2}], "categories.1.code"),
    ([{"code": "a", "quota": 1, "price": 3}], "categories.0.price"),
    ([{"code": "a", "label": "  ", "quota": 1}], "categories.0.label"),
    ([42], "categories.0"),
    ([{"code": f"c{i}", "quota": 1} for i in range(21)], "categories"),
])
def test_hostile_categories_name_the_field(categories, field):
    with pytest.raises(InvalidInput) as exc:
        make_event(categories=categories)
    assert field_of(exc) == field


def test_total_capacity_cannot_exceed_the_sum_of_quotas():
    with pytest.raises(InvalidInput) as exc:
        convention(capacity=131)
    assert field_of(exc) == "capacity" and "130" in exc.value.detail
    assert convention(capacity=130).capacity == 130


@pytest.mark.parametrize("changes, field", [
    (dict(ends_at=START - timedelta(hours=1)), "ends_at"),
    (dict(ends_at=START), "ends_at"),
    (dict(starts_at=datetime(2023, 5, 9, 14, 0)), "starts_at"),  # naive
    (dict(ends_at=datetime(2023, 5, 9, 17, 0)), "ends_at"),
    (dict(starts_at="2023-05-09T14:00:00+02:00"), "starts_at"),
    (dict(starts_at=datetime(2201, 1, 1, tzinfo=timezone.utc), ends_at=datetime(2201, 1, 2, tzinfo=timezone.utc)),
     "starts_at"),
    (dict(ends_at=datetime(2201, 1, 1, tzinfo=timezone.utc)), "ends_at"),
    (dict(starts_at=datetime(1899, 12, 31, tzinfo=timezone.utc)), "starts_at"),
    (dict(ends_at=START + timedelta(days=367)), "ends_at"),
    (dict(at=datetime(2023, 4, 1, 9, 0)), "at"),
    (dict(at=datetime(2201, 4, 1, tzinfo=timezone.utc)), "at"),
    (dict(time_zone="Mars/Olympus_Mons"), "time_zone"),
    (dict(time_zone=""), "time_zone"),
    (dict(time_zone="../../etc/passwd"), "time_zone"),
    (dict(time_zone="europe/paris"), "time_zone"),
    (dict(time_zone=None), "time_zone"),
    (dict(online_url="ftp://files.example.org/x"), "online_url"),
    (dict(online_url="javascript:alert(1)"), "online_url"),
    (dict(online_url="https://"), "online_url"),
    (dict(online_url="https://exa mple.org"), "online_url"),
    (dict(online_url="https://[::1"), "online_url"),
    (dict(online_url="https://x.org/" + "a" * 2000), "online_url"),
    (dict(title="   "), "title"),
    (dict(title="x" * 201), "title"),
    (dict(title=None), "title"),
    (dict(kind="barbecue"), "kind"),
    (dict(team="marketing"), "team"),
    (dict(access="vip"), "access"),
    (dict(requires_approval="yes"), "requires_approval"),
    (dict(offer_validity_hours=0), "offer_validity_hours"),
    (dict(offer_validity_hours=721), "offer_validity_hours"),
    (dict(offer_validity_hours=-48), "offer_validity_hours"),
    (dict(place="x" * 501), "place"),
    (dict(description="x" * 10_001), "description"),
])
def test_hostile_event_fields_name_the_field(changes, field):
    with pytest.raises(InvalidInput) as exc:
        make_event(**changes)
    assert field_of(exc) == field


@pytest.mark.parametrize("event_id", ["", "   ", "x" * 101, "evt\n1", None, 42])
def test_hostile_event_id(event_id):
    with pytest.raises(InvalidInput) as exc:
        make_event(event_id)
    assert field_of(exc) == "event_id"


def test_time_zones_and_local_times():
    e = make_event(time_zone="America/Cayenne")
    assert e.zone == ZoneInfo("America/Cayenne")
    assert e.local_starts_at.hour == 9 and e.local_ends_at.hour == 12  # 14:00 Paris (UTC+2) = 09:00 Cayenne
    assert make_event().local_starts_at.utcoffset() == timedelta(hours=2)


def test_offer_validity_bounds_are_accepted():
    assert make_event(offer_validity_hours=1).offer_validity_hours == 1
    assert make_event(offer_validity_hours=720).offer_validity_hours == 720


def test_extreme_but_valid_dates_are_accepted():
    e = make_event(starts_at=datetime(2200, 12, 31, 8, tzinfo=timezone.utc),
                   ends_at=datetime(2200, 12, 31, 9, tzinfo=timezone.utc))
    assert e.starts_at.year == 2200


# -- registration window and access ------------------------------------------------------------

@pytest.mark.parametrize("changes, field", [
    (dict(registration_opens_at=START), "registration_opens_at"),
    (dict(registration_opens_at=START + timedelta(hours=1)), "registration_opens_at"),
    (dict(registration_opens_at=T0 + timedelta(days=5), registration_closes_at=T0 + timedelta(days=5)),
     "registration_closes_at"),
    (dict(registration_closes_at=END + timedelta(minutes=1)), "registration_closes_at"),
    (dict(registration_closes_at=datetime(2023, 5, 1)), "registration_closes_at"),
    (dict(access="members_priority"), "members_priority_until"),
    (dict(access="members_priority", members_priority_until=START), "members_priority_until"),
    (dict(access="members_priority", members_priority_until=T0 + timedelta(days=1),
          registration_opens_at=T0 + timedelta(days=2)), "members_priority_until"),
    (dict(access="open", members_priority_until=T0 + timedelta(days=3)), "members_priority_until"),
    (dict(access="members_priority", members_priority_until=datetime(2023, 4, 15)), "members_priority_until"),
])
def test_window_and_access_rules(changes, field):
    with pytest.raises(InvalidInput) as exc:
        make_event(**changes)
    assert field_of(exc) == field


def test_window_defaults_to_publication_until_the_start():
    e = make_event()
    e.publish(at=T0 + timedelta(days=1))
    assert e.registrations_open == T0 + timedelta(days=1) and e.registrations_close == START
    (ev,) = e.pull_events()[1:]
    assert (ev.registration_opens_at, ev.registration_closes_at) == (T0 + timedelta(days=1), START)
    e2 = make_event(registration_opens_at=T0 + timedelta(days=2), registration_closes_at=END)
    assert e2.registrations_close == END


def test_registrations_may_stay_open_during_the_event_but_not_after():
    e = published(registration_closes_at=END)
    assert e.admission("general", occ(), in_good_standing=None, at=END - timedelta(minutes=1)) is Admission.CONFIRMED
    with pytest.raises(Conflict):
        e.admission("general", occ(), in_good_standing=None, at=END)


# -- lifecycle --------------------------------------------------------------------------------

def test_full_lifecycle_records_one_event_per_step():
    e = make_event()
    e.publish(at=T0)
    e.close_registrations(at=START - timedelta(days=1))
    e.mark_held(at=END)
    e.archive(at=END + timedelta(days=30))
    kinds = [type(x) for x in e.pull_events()]
    assert kinds == [EventScheduled, EventPublished, EventRegistrationsClosed, EventHeld, EventArchived]
    assert e.status is EventStatus.ARCHIVED and e.archived_at == END + timedelta(days=30)
    assert (e.published_at, e.registrations_closed_at, e.held_at) == (T0, START - timedelta(days=1), END)


def test_held_straight_from_published():
    e = published()
    e.mark_held(at=START)
    (ev,) = e.pull_events()
    assert isinstance(ev, EventHeld) and ev.kind == "club_des_collectivites" and ev.team == "observatory"


def test_mark_held_not_before_the_start():
    e = published()
    with pytest.raises(InvalidInput) as exc:
        e.mark_held(at=START - timedelta(seconds=1))
    assert field_of(exc) == "at" and e.status is EventStatus.PUBLISHED and not e.pull_events()


@pytest.mark.parametrize("step, setup, current", [
    ("close_registrations", [], "draft"),
    ("mark_held", [], "draft"),
    ("archive", [], "draft"),
    ("publish", ["publish"], "published"),
    ("archive", ["publish"], "published"),
    ("publish", ["publish", "close_registrations"], "closed"),
    ("close_registrations", ["publish", "close_registrations"], "closed"),
    ("archive", ["publish", "close_registrations"], "closed"),
    ("publish", ["publish", "mark_held"], "held"),
    ("mark_held", ["publish", "mark_held"], "held"),
    ("close_registrations", ["publish", "mark_held", "archive"], "archived"),
    ("archive", ["publish", "mark_held", "archive"], "archived"),
    ("publish", ["cancel"], "cancelled"),
    ("mark_held", ["cancel"], "cancelled"),
])
def test_out_of_order_steps_conflict_naming_state_and_expected_step(step, setup, current):
    e = make_event()
    for s in setup:
        getattr(e, s)("salle fermée", at=END) if s == "cancel" else getattr(e, s)(at=END)
    e.pull_events()
    with pytest.raises(Conflict) as exc:
        getattr(e, step)(at=END)
    assert exc.value.extra["current_state"] == current
    assert exc.value.extra["expected_step"] == e.next_step
    assert current in exc.value.detail and e.next_step in exc.value.detail
    assert not e.pull_events()


@pytest.mark.parametrize("setup", [[], ["publish"], ["publish", "close_registrations"]])
def test_cancel_from_draft_published_or_closed(setup):
    e = make_event()
    for s in setup:
        getattr(e, s)(at=T0)
    e.pull_events()
    previous = e.status
    e.cancel("  Grève des transports  ", at=T0 + timedelta(days=2))
    (ev,) = e.pull_events()
    assert isinstance(ev, EventCancelled) and ev.reason == "Grève des transports"
    assert ev.previous_status is previous and ev.cancelled_at == T0 + timedelta(days=2)
    assert e.status is EventStatus.CANCELLED and e.cancellation_reason == "Grève des transports"
    assert e.ical_status == "CANCELLED" and e.ical_sequence == 1


@pytest.mark.parametrize("setup", [["publish", "mark_held"], ["publish", "mark_held", "archive"], ["cancel"]])
def test_cancel_refused_once_held_archived_or_cancelled(setup):
    e = make_event()
    for s in setup:
        e.cancel("x", at=END) if s == "cancel" else getattr(e, s)(at=END)
    with pytest.raises(Conflict):
        e.cancel("again", at=END)


@pytest.mark.parametrize("reason", ["", "   ", None, "x" * 2001])
def test_cancel_needs_a_reason(reason):
    e = make_event()
    with pytest.raises(InvalidInput) as exc:
        e.cancel(reason, at=T0)
    assert field_of(exc) == "reason" and e.status is EventStatus.DRAFT


def test_publish_needs_a_place_or_an_online_url():
    e = make_event(place=None)
    with pytest.raises(InvalidInput) as exc:
        e.publish(at=T0)
    assert field_of(exc) == "place" and e.status is EventStatus.DRAFT


def test_a_past_event_can_be_published_and_marked_held_but_takes_no_registration():
    e = make_event(kind="school_session", team="education")
    e.publish(at=END + timedelta(days=3))
    with pytest.raises(Conflict) as exc:
        e.admission("general", occ(), in_good_standing=None, at=END + timedelta(days=3))
    assert exc.value.extra["current_state"] == "registrations_closed"
    e.mark_held(at=END + timedelta(days=3))
    assert e.status is EventStatus.HELD


def test_commands_refuse_a_time_before_the_creation():
    e = make_event()
    with pytest.raises(InvalidInput) as exc:
        e.publish(at=T0 - timedelta(seconds=1))
    assert field_of(exc) == "at"


def test_ical_status_and_sequence():
    e = make_event()
    assert (e.ical_status, e.ical_sequence) == ("TENTATIVE", 0)
    e.publish(at=T0)
    e.update(at=T0, title="Nouveau titre")
    assert (e.ical_status, e.ical_sequence) == ("CONFIRMED", 1)


# -- update -----------------------------------------------------------------------------------

def test_update_records_the_changed_fields_only():
    e = make_event()
    e.pull_events()
    changed = e.update(at=T0 + timedelta(hours=1), title="  Périscolaire et ESS ", starts_at=START,
                       ends_at=END + timedelta(hours=1), audience="Élu·e·s et agent·e·s")
    assert changed == ["title", "ends_at", "audience"]
    (ev,) = e.pull_events()
    assert isinstance(ev, EventUpdated) and ev.changed_fields == changed and ev.revision == 1
    assert ev.title == "Périscolaire et ESS" and ev.ends_at == END + timedelta(hours=1)
    assert e.updated_at == T0 + timedelta(hours=1)


def test_update_with_no_change_records_nothing():
    e = make_event()
    e.pull_events()
    assert e.update(at=T0, title="ESS et coopérations territoriales", starts_at=START) == []
    assert not e.pull_events() and e.revision == 0


def test_update_validates_like_schedule_and_changes_nothing_on_error():
    e = make_event()
    e.pull_events()
    with pytest.raises(InvalidInput) as exc:
        e.update(at=T0, ends_at=START - timedelta(hours=1), title="x")
    assert field_of(exc) == "ends_at" and e.title == "ESS et coopérations territoriales"
    with pytest.raises(InvalidInput) as exc:
        e.update(at=T0, status="held")
    assert field_of(exc) == "status"
    with pytest.raises(InvalidInput) as exc:
        e.update(at=T0, id="other")
    assert field_of(exc) == "id"
    assert not e.pull_events()


@pytest.mark.parametrize("setup", [["publish", "close_registrations"], ["publish", "mark_held"], ["cancel"]])
def test_update_only_in_draft_or_published(setup):
    e = make_event()
    for s in setup:
        e.cancel("x", at=END) if s == "cancel" else getattr(e, s)(at=END)
    with pytest.raises(Conflict) as exc:
        e.update(at=END, title="x")
    assert exc.value.extra["current_state"] == e.status.value


def test_published_quota_cannot_go_below_the_places_taken():
    e = convention()
    e.publish(at=T0)
    e.pull_events()
    cats = [{"code": "buyers", "quota": 20}, {"code": "suppliers", "quota": 80}, {"code": "partners", "quota": 10}]
    with pytest.raises(InvalidInput) as exc:
        e.update(at=T0, categories=cats, taken={"buyers": 21, "suppliers": 3})
    assert field_of(exc) == "categories.0.quota" and "21" in exc.value.detail
    assert e.update(at=T0, categories=cats, taken={"buyers": 20}) == ["categories"]
    assert e.category("buyers").quota == 20


def test_published_category_with_places_or_waiting_people_cannot_be_removed():
    e = convention()
    e.publish(at=T0)
    cats = [{"code": "buyers", "quota": 40}, {"code": "suppliers", "quota": 80}]
    with pytest.raises(InvalidInput) as exc:
        e.update(at=T0, categories=cats, taken={"partners": 1})
    assert field_of(exc) == "categories"
    with pytest.raises(InvalidInput) as exc:
        e.update(at=T0, categories=cats, taken=occ(partners=(0, 2)))
    assert field_of(exc) == "categories" and "waiting" in exc.value.detail
    assert e.update(at=T0, categories=cats, capacity=None, taken=occ(partners=(0, 0), buyers=(5, 0))) == [
        "categories", "capacity"]


def test_published_capacity_cannot_go_below_the_places_taken():
    e = convention()
    e.publish(at=T0)
    with pytest.raises(InvalidInput) as exc:
        e.update(at=T0, capacity=50, taken=occ(buyers=(30, 0), suppliers=(25, 0)))
    assert field_of(exc) == "capacity"
    assert e.update(at=T0, capacity=55, taken=occ(buyers=(30, 0), suppliers=(25, 0))) == ["capacity"]


def test_published_capacity_change_needs_the_places_taken():
    e = published()
    with pytest.raises(InvalidInput) as exc:
        e.update(at=T0, categories=[{"code": "general", "quota": 80}])
    assert field_of(exc) == "taken"
    with pytest.raises(InvalidInput) as exc:
        e.update(at=T0, categories=[{"code": "general", "quota": 80}], taken={"general": -1})
    assert field_of(exc) == "taken.general"
    assert e.update(at=T0, categories=[{"code": "general", "quota": 80}], taken={"general": 60}) == ["categories"]


def test_draft_capacity_changes_need_no_taken():
    e = make_event()
    assert e.update(at=T0, categories=[{"code": "general", "quota": 10}]) == ["categories"]


def test_published_event_keeps_a_place_or_url():
    e = published()
    with pytest.raises(InvalidInput) as exc:
        e.update(at=T0, place=None)
    assert field_of(exc) == "place"
    assert e.update(at=T0, place=None, online_url="https://visio.example.org/x") == ["place", "online_url"]


def test_changing_access_away_from_priority_drops_the_priority_date():
    e = make_event(access="members_priority", members_priority_until=T0 + timedelta(days=7))
    assert e.update(at=T0, access="open") == ["access", "members_priority_until"]
    assert e.members_priority_until is None


# -- admission --------------------------------------------------------------------------------

AT = T0 + timedelta(days=1)


def test_admission_confirms_while_places_are_free_then_waitlists():
    e = published(capacity=2)
    assert e.admission("general", occ(), in_good_standing=None, at=AT) is Admission.CONFIRMED
    assert e.admission("general", occ(general=(1, 0)), in_good_standing=None, at=AT) is Admission.CONFIRMED
    assert e.admission("general", occ(general=(2, 0)), in_good_standing=None, at=AT) is Admission.WAITLISTED
    assert e.admission("general", occ(general=(5, 0)), in_good_standing=None, at=AT) is Admission.WAITLISTED


def test_admission_never_jumps_the_queue():
    e = published(capacity=2)
    assert e.admission("general", occ(general=(1, 1)), in_good_standing=True, at=AT) is Admission.WAITLISTED


def test_admission_with_approval():
    e = published(requires_approval=True)
    assert e.admission("general", occ(), in_good_standing=None, at=AT) is Admission.PENDING_APPROVAL
    assert e.admission("general", occ(general=(60, 0)), in_good_standing=None, at=AT) is Admission.WAITLISTED


def test_admission_per_category_and_total_capacity():
    e = convention(capacity=50)
    e.publish(at=T0)
    # buyers' quota full, suppliers free
    assert e.admission("buyers", occ(buyers=(40, 0)), in_good_standing=None, at=AT) is Admission.WAITLISTED
    assert e.admission("suppliers", occ(buyers=(40, 0)), in_good_standing=None, at=AT) is Admission.CONFIRMED
    # the room (50) is full although each quota has room
    assert e.admission("suppliers", occ(buyers=(20, 0), suppliers=(30, 0)), in_good_standing=None,
                       at=AT) is Admission.WAITLISTED
    # one place left in the room, owed to a waiting buyer (offer not made yet)
    assert e.admission("suppliers", occ(buyers=(19, 1), suppliers=(30, 0)), in_good_standing=None,
                       at=AT) is Admission.WAITLISTED
    assert e.admission("suppliers", occ(buyers=(18, 1), suppliers=(30, 0)), in_good_standing=None,
                       at=AT) is Admission.CONFIRMED


def test_free_places():
    e = convention(capacity=50)
    assert e.free_places("buyers", occ(buyers=(38, 0))) == 2
    assert e.free_places("buyers", occ(buyers=(38, 0), suppliers=(11, 0))) == 1
    assert e.free_places("buyers", occ(buyers=(45, 0))) == 0
    with pytest.raises(InvalidInput):
        e.free_places("press", occ())


@pytest.mark.parametrize("category", ["press", "", "GENERAL", None, 3])
def test_admission_unknown_category(category):
    e = published()
    with pytest.raises(InvalidInput) as exc:
        e.admission(category, occ(), in_good_standing=None, at=AT)
    assert field_of(exc) == "category"


@pytest.mark.parametrize("setup, state", [([], "draft"), (["publish", "close_registrations"], "closed"),
                                          (["publish", "mark_held"], "held"), (["cancel"], "cancelled")])
def test_admission_refused_unless_published(setup, state):
    e = make_event()
    for s in setup:
        e.cancel("x", at=START) if s == "cancel" else getattr(e, s)(at=START)
    with pytest.raises(Conflict) as exc:
        e.admission("general", occ(), in_good_standing=True, at=AT)
    assert exc.value.extra["current_state"] == state and "registrations are not open" in exc.value.detail


def test_admission_within_the_window_only():
    e = published(registration_opens_at=T0 + timedelta(days=2), registration_closes_at=START - timedelta(days=1))
    with pytest.raises(Conflict) as exc:
        e.admission("general", occ(), in_good_standing=None, at=T0 + timedelta(days=1))
    assert "open at 2023-04-03 09:00 (Europe/Paris)" in exc.value.detail
    assert e.admission("general", occ(), in_good_standing=None, at=T0 + timedelta(days=2)) is Admission.CONFIRMED
    with pytest.raises(Conflict) as exc:
        e.admission("general", occ(), in_good_standing=None, at=START - timedelta(days=1))
    assert exc.value.extra["current_state"] == "registrations_closed"


def test_admission_refuses_naive_time():
    with pytest.raises(InvalidInput) as exc:
        published().admission("general", occ(), in_good_standing=None, at=datetime(2023, 4, 2))
    assert field_of(exc) == "at"


@pytest.mark.parametrize("standing", [None, False])
def test_members_only_refuses_non_members(standing):
    e = published(access="members_only", kind="members_seminar", team="membership")
    with pytest.raises(Conflict) as exc:
        e.admission("general", occ(), in_good_standing=standing, at=AT)
    assert "members in good standing only" in exc.value.detail
    assert e.admission("general", occ(), in_good_standing=True, at=AT) is Admission.CONFIRMED


def test_members_priority_says_until_when():
    until = datetime(2023, 4, 15, 0, 0, tzinfo=PARIS)
    e = published(access="members_priority", members_priority_until=until)
    with pytest.raises(Conflict) as exc:
        e.admission("general", occ(), in_good_standing=False, at=until - timedelta(seconds=1))
    assert "members in good standing only until 2023-04-15 00:00 (Europe/Paris)" in exc.value.detail
    assert e.admission("general", occ(), in_good_standing=True, at=AT) is Admission.CONFIRMED
    assert e.admission("general", occ(), in_good_standing=None, at=until) is Admission.CONFIRMED


# -- occupancy --------------------------------------------------------------------------------

@pytest.mark.parametrize("before, after, delta", [
    (None, S.CONFIRMED, (1, 0)), (None, S.PENDING_APPROVAL, (1, 0)), (None, S.WAITLISTED, (0, 1)),
    (S.PENDING_APPROVAL, S.CONFIRMED, (0, 0)), (S.PENDING_APPROVAL, S.REJECTED, (-1, 0)),
    (S.CONFIRMED, S.CANCELLED, (-1, 0)), (S.WAITLISTED, S.OFFERED, (1, -1)), (S.WAITLISTED, S.CANCELLED, (0, -1)),
    (S.OFFERED, S.CONFIRMED, (0, 0)), (S.OFFERED, S.PENDING_APPROVAL, (0, 0)), (S.OFFERED, S.OFFER_EXPIRED, (-1, 0)),
    (S.OFFERED, S.CANCELLED, (-1, 0)),
])
def test_occupancy_delta(before, after, delta):
    assert Occupancy.delta(before, after) == delta


def test_occupancy_after_moves_counts_and_the_waitlist_sequence():
    o = Occupancy()
    o = o.after("a", None, S.CONFIRMED).after("a", None, S.WAITLISTED).after("b", None, S.WAITLISTED)
    assert (o.held("a"), o.waiting("a"), o.waiting("b"), o.next_waitlist_seq) == (1, 1, 1, 3)
    o = o.after("a", S.WAITLISTED, S.OFFERED)
    assert (o.held("a"), o.waiting("a"), o.next_waitlist_seq, o.total_held, o.total_waiting) == (2, 0, 3, 2, 1)
    assert o.held("zzz") == 0 and o.waiting("zzz") == 0


def test_occupancy_never_goes_negative():
    with pytest.raises(Conflict) as exc:
        Occupancy().after("a", S.CONFIRMED, S.CANCELLED)
    assert "out of step" in exc.value.detail


def test_occupancy_from_registrations():
    regs = [SimpleNamespace(category="a", status=S.CONFIRMED, waitlist_seq=None),
            SimpleNamespace(category="a", status=S.OFFERED, waitlist_seq=1),
            SimpleNamespace(category="a", status=S.WAITLISTED, waitlist_seq=4),
            SimpleNamespace(category="b", status=S.CANCELLED, waitlist_seq=None),
            SimpleNamespace(category="b", status=S.PENDING_APPROVAL, waitlist_seq=None)]
    o = Occupancy.from_registrations(regs)
    assert (o.held("a"), o.waiting("a"), o.held("b"), o.next_waitlist_seq) == (2, 1, 1, 5)
    assert Occupancy.model_validate(o.model_dump(mode="json")) == o
