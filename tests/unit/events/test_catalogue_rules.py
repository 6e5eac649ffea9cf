"""The events catalogue (services/events/domain/catalogue.py), what test_catalogue.py does not read:
the words, state and step of each refusal, the bounds of each rule, what an update clears or keeps,
and the places due to people waiting in other categories."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from contracts.events.registrations import RegistrationStatus
from services.events.domain.catalogue import Admission, Occupancy

from tests.unit.refusals import conflict, refusal
from .test_catalogue import END, START, T0, convention, make_event, occ, published

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
CHANGEABLE = ("kind, team, title, description, starts_at, ends_at, time_zone, place, venue_commune, online_url, "
              "audience, categories, capacity, registration_opens_at, registration_closes_at, requires_approval, "
              "access, members_priority_until, offer_validity_hours")


# -- the lifecycle's refusals --------------------------------------------------------------------

def test_each_step_out_of_order_names_itself_the_state_and_the_next_step():
    draft, held = make_event(), published()
    held.mark_held(at=START)
    archived = published()
    archived.mark_held(at=START)
    archived.archive(at=END)
    closed = published()
    closed.close_registrations(at=T0 + DAY)
    cases = [
        (lambda: held.publish(at=END), "publish the event", "held", "archive"),
        (lambda: draft.close_registrations(at=T0), "close registrations", "draft", "publish (or update, or cancel)"),
        (lambda: draft.mark_held(at=START), "mark the event held", "draft", "publish (or update, or cancel)"),
        (lambda: closed.archive(at=END), "archive the event", "closed", "mark held (or cancel)"),
        (lambda: held.cancel("x", at=END), "cancel the event", "held", "archive"),
        (lambda: archived.update(at=END, title="x"), "update the event", "archived", "none: the event is archived"),
    ]
    for step, action, state, expected in cases:
        assert conflict(step) == (f"cannot {action}: event evt-1 is {state}; expected step: {expected}",
                                  {"current_state": state, "expected_step": expected})


def test_every_step_s_time_is_an_instant_not_before_the_creation():
    e = make_event()
    assert refusal(e.publish, at="now") == ("at", "at must be a date and time (got 'now')")
    assert refusal(e.publish, at=T0 - HOUR) == (
        "at", "at 2023-04-01T08:00:00+02:00 is before the creation of the event (2023-04-01T09:00:00+02:00)")
    e.publish(at=T0)
    assert refusal(e.mark_held, at=START - HOUR) == (
        "at", "at 2023-05-09T13:00:00+02:00 is before the start of the event (2023-05-09T14:00:00+02:00)")


def test_a_cancellation_keeps_its_reason_of_up_to_2000_characters_and_its_time():
    e = make_event()
    assert refusal(e.cancel, "r" * 2001, at=T0) == ("reason", "reason is longer than 2000 characters")
    e.cancel("r" * 2000, at=T0 + HOUR)
    assert (e.cancellation_reason, e.cancelled_at) == ("r" * 2000, T0 + HOUR)


def test_publishing_needs_a_place_or_a_web_address_and_tells_the_members_priority():
    assert refusal(make_event(place=None).publish, at=T0) == (
        "place", "an event is published with a place (venue address) or an online URL")
    until = T0 + 3 * DAY
    e = make_event(access="members_priority", members_priority_until=until)
    e.publish(at=T0)
    assert e.pull_events()[-1].members_priority_until == until


# -- updates -------------------------------------------------------------------------------------

def test_an_update_counts_its_revisions_and_lists_what_may_change():
    e = make_event()
    e.update(at=T0, title="Un")
    e.update(at=T0 + HOUR, title="Deux")
    assert e.revision == 2 and e.updated_at == T0 + HOUR and e.pull_events()[-1].revision == 2
    assert refusal(e.update, at=T0, nope=1) == ("nope", f"nope cannot be changed (changeable: {CHANGEABLE})")


def test_a_new_access_keeps_a_priority_date_given_with_it():
    e = make_event(access="members_priority", members_priority_until=T0 + 3 * DAY)
    assert refusal(e.update, at=T0, access="open", members_priority_until=T0 + 4 * DAY) == (
        "members_priority_until", "members_priority_until applies to access members_priority only")
    assert e.update(at=T0, access="members_priority", members_priority_until=T0 + 4 * DAY) == [
        "members_priority_until"]


def test_the_venue_s_commune_goes_only_with_a_place_cleared():
    e = make_event(venue_commune="93048")
    assert e.update(at=T0, place="Salle des fêtes") == ["place"] and e.venue_commune == "93048"
    assert refusal(e.update, at=T0, place=None, online_url="https://visio.example.org/w", venue_commune="93048") == (
        "venue_commune", "only an event with a place (venue address) has a venue commune; an online event has none")
    assert e.venue_commune == "93048"
    assert e.update(at=T0, place="  ", online_url="https://visio.example.org/w") == [
        "place", "venue_commune", "online_url"]
    assert e.venue_commune is None


def test_a_published_event_keeps_a_place_or_a_web_address():
    e = published()
    assert refusal(e.update, at=T0, place=None) == ("place", "a published event keeps a place or an online URL")


def test_changing_a_published_event_s_places_says_what_is_taken():
    e = published()
    assert refusal(e.update, at=T0, capacity=50) == (
        "taken", "event evt-1 is published: give the places taken per category to change its categories or capacity")
    assert refusal(e.update, at=T0, capacity=50, taken={"general": 60}) == (
        "capacity", "the capacity cannot go below the 60 place(s) already taken (got 50)")
    assert e.update(at=T0, capacity=40, taken={"general": 0}) == ["capacity"]
    assert e.update(at=T0, capacity=50, taken={"general": 40}) == ["capacity"]
    assert refusal(e.update, at=T0, capacity=45, taken={"general": -1}) == (
        "taken.general", "taken.general must be a whole number from 0 to 1000000 (got -1)")
    assert refusal(e.update, at=T0, capacity=45, taken={"general": 1_000_001}) == (
        "taken.general", "taken.general must be a whole number from 0 to 1000000 (got 1000001)")


def test_a_removed_category_s_places_are_told_and_an_empty_one_goes():
    e = convention()
    e.publish(at=T0)
    two = [{"code": "buyers", "quota": 40}, {"code": "suppliers", "quota": 80}]
    assert refusal(e.update, at=T0, categories=two, taken={"buyers": 1, "partners": 3}) == (
        "categories", "category 'partners' cannot be removed: 3 place(s) held and 0 person(s) waiting")
    assert refusal(e.update, at=T0, categories=two, taken=occ(partners=(0, 2))) == (
        "categories", "category 'partners' cannot be removed: 0 place(s) held and 2 person(s) waiting")
    assert e.update(at=T0, categories=two, taken={"buyers": 1, "partners": 0}) == ["categories"]
    assert [c.code for c in e.categories] == ["buyers", "suppliers"]


def test_every_category_taken_is_checked_past_the_removed_empty_ones():
    e = convention()
    e.publish(at=T0)
    taken = {f"gone{i}": 0 for i in range(50)}
    taken["buyers"] = 41
    assert refusal(e.update, at=T0, categories=[{"code": "buyers", "quota": 40}], capacity=40, taken=taken) == (
        "categories.0.quota", "the quota of 'buyers' cannot go below the 41 place(s) already taken (got 40)")


# -- admission -----------------------------------------------------------------------------------

def test_each_refused_admission_says_why_and_from_when():
    draft = make_event()
    assert conflict(draft.admission, "general", occ(), in_good_standing=True, at=T0) == (
        "registrations are not open: event evt-1 is draft; expected step: publish (or update, or cancel)",
        {"current_state": "draft", "expected_step": "publish (or update, or cancel)"})
    later = published(registration_opens_at=T0 + DAY)
    assert conflict(later.admission, "general", occ(), in_good_standing=True, at=T0) == (
        "registrations for event evt-1 open at 2023-04-02 09:00 (Europe/Paris)",
        {"current_state": "registrations_not_yet_open", "expected_step": "register from 2023-04-02T09:00:00+02:00"})
    e = published()
    assert conflict(e.admission, "general", occ(), in_good_standing=True, at=START) == (
        "registrations for event evt-1 closed at 2023-05-09 14:00 (Europe/Paris)",
        {"current_state": "registrations_closed", "expected_step": "none: registrations are closed"})
    members = published(access="members_only")
    assert conflict(members.admission, "general", occ(), in_good_standing=False, at=T0) == (
        "event evt-1 is for members in good standing only",
        {"current_state": "members_only", "expected_step": "register as a member in good standing"})
    first = published(access="members_priority", members_priority_until=T0 + 3 * DAY)
    assert conflict(first.admission, "general", occ(), in_good_standing=None, at=T0) == (
        "event evt-1: members in good standing only until 2023-04-04 09:00 (Europe/Paris); others may register "
        "from then",
        {"current_state": "members_priority", "expected_step": "register from 2023-04-04T09:00:00+02:00"})
    conv = convention()
    conv.publish(at=T0)
    assert refusal(conv.admission, "vip", occ(), in_good_standing=True, at=T0) == (
        "category", "event evt-conv has no category 'vip' (categories: buyers, suppliers, partners)")


def test_places_due_to_people_waiting_elsewhere_are_only_those_their_category_still_has():
    e = convention()
    e.publish(at=T0)
    # partners full (10 of 10) with 2 waiting: none of the last free place is theirs
    full = occ(buyers=(0, 0), suppliers=(89, 0), partners=(10, 2))
    assert e.admission("buyers", full, in_good_standing=True, at=T0) is Admission.CONFIRMED
    # partners with 1 place left and 3 waiting: 1 of the 3 free places is theirs, 2 are free
    one_left = occ(buyers=(0, 0), suppliers=(88, 0), partners=(9, 3))
    assert e.admission("buyers", one_left, in_good_standing=True, at=T0) is Admission.CONFIRMED
    assert e.admission("buyers", occ(buyers=(0, 0), suppliers=(90, 0), partners=(9, 3)), in_good_standing=True,
                       at=T0) is Admission.WAITLISTED  # the last free place is the partners'


def test_an_offer_lasts_the_whole_hours_left_before_the_start():
    e = published()
    assert e.offer_hours(START - 3 * HOUR) == 3
    assert e.offer_hours(START - 3 * HOUR - timedelta(seconds=1)) == 3
    assert refusal(e.offer_hours, "soon") == ("at", "at must be a date and time (got 'soon')")


def test_registrations_are_accepted_from_the_window_s_opening_until_its_close():
    e = make_event(registration_opens_at=T0 + DAY)
    assert not e.accepts_registrations(T0 + 2 * DAY)  # a draft
    e.publish(at=T0)
    assert not e.accepts_registrations(T0 + DAY - timedelta(seconds=1))
    assert e.accepts_registrations(T0 + DAY) and e.accepts_registrations(START - timedelta(seconds=1))
    assert not e.accepts_registrations(START)


# -- the places counter --------------------------------------------------------------------------

def test_a_counter_out_of_step_says_to_rebuild_it():
    assert conflict(Occupancy().after, "general", RegistrationStatus.CONFIRMED, None) == (
        "the places counter of category 'general' is out of step (held 0, waiting 0); rebuild it from the "
        "registrations", {"current_state": "out_of_step", "expected_step": "rebuild the occupancy counter"})


def test_a_counter_rebuilt_without_a_waiting_list_starts_its_sequence_at_1():
    r = SimpleNamespace(category="general", status=RegistrationStatus.CONFIRMED, waitlist_seq=None)
    assert Occupancy.from_registrations([r]).next_waitlist_seq == 1
    assert Occupancy.from_registrations([]).next_waitlist_seq == 1


# -- what an event is made of --------------------------------------------------------------------

def test_each_refused_field_says_what_is_wrong():
    cases = [
        (dict(capacity=None), "capacity", "give the number of places (capacity) or the categories with their quotas"),
        (dict(categories="general"), "categories", "categories must be a list"),
        (dict(categories=[]), "categories", "an event has at least one category of participants"),
        (dict(categories=[{"code": f"c{i}", "quota": 1} for i in range(21)]), "categories",
         "an event has at most 20 categories"),
        (dict(categories=[{"code": "a", "quota": 1}, {"code": "a", "quota": 2}]), "categories.1.code",
         "category 'a' appears twice"),
        (dict(categories=[{"code": "a", "quota": 1}, 3]), "categories.1",
         "categories.1 must be an object with code, label and quota"),
        (dict(categories=[{"code": "a", "quota": 1, "price": 3, "colour": "red"}]), "categories.0.colour",
         "unknown field of a category: colour"),
        (dict(categories=[{"code": "a", "quota": 5}], capacity=0), "capacity",
         "capacity must be a whole number from 1 to 100000 (got 0)"),
        (dict(ends_at=START), "ends_at",
         "the event ends (2023-05-09T14:00:00+02:00) before or when it starts (2023-05-09T14:00:00+02:00)"),
        (dict(ends_at=START + timedelta(days=366, seconds=1)), "ends_at", "an event lasts at most 366 days"),
        (dict(audience="a" * 501), "audience", "audience is longer than 500 characters"),
        (dict(registration_opens_at="demain"), "registration_opens_at",
         "registration_opens_at must be a date and time (got 'demain')"),
        (dict(registration_closes_at=END + HOUR), "registration_closes_at",
         "registrations close at the latest when the event ends"),
        (dict(registration_opens_at=START), "registration_opens_at",
         "registrations open (2023-05-09T14:00:00+02:00) after they close (2023-05-09T14:00:00+02:00)"),
        (dict(access="members_priority"), "members_priority_until",
         "members_priority needs the date until which only members register"),
        (dict(access="members_priority", members_priority_until=START), "members_priority_until",
         "the members' priority ends before registrations close (else use members_only)"),
        (dict(access="members_priority", members_priority_until=T0 + DAY, registration_opens_at=T0 + DAY),
         "members_priority_until", "the members' priority ends after registrations open"),
        (dict(venue_commune="99999"), "venue_commune",
         "'99999' is not the INSEE code of a French commune (e.g. 93048)"),
    ]
    for changes, field, words in cases:
        assert refusal(make_event, **changes) == (field, words), changes


def test_the_bounds_of_an_event_s_texts_and_numbers_are_accepted():
    e = make_event(title="t" * 200, description="d" * 10_000, audience="a" * 500, capacity=1,
                   ends_at=START + timedelta(days=366),
                   categories=[{"code": f"c{i}", "quota": 1} for i in range(20)])
    assert (len(e.title), len(e.description), len(e.audience), len(e.categories)) == (200, 10_000, 500, 20)
    assert e.capacity == 1 and e.ends_at == START + timedelta(days=366)
    assert make_event(capacity=1).categories[0].quota == 1


def test_a_category_s_label_defaults_to_participants_for_the_general_one_and_to_its_code_otherwise():
    e = make_event(categories=[{"code": "general", "quota": 5}, {"code": "elus", "quota": 5}], capacity=None)
    assert [(c.code, c.label) for c in e.categories] == [("general", "Participants"), ("elus", "elus")]
    assert [(c.code, c.label) for c in make_event(capacity=3).categories] == [("general", "Participants")]


def test_a_commune_code_is_kept_in_capitals():
    assert make_event(venue_commune=" 2a004 ").venue_commune == "2A004"
