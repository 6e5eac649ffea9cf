"""A convention's participant (services/events/domain/conventions/participant.py): what joining and
each change record, availability, and the words, state and step of each refusal."""
from __future__ import annotations

from services.events.domain.conventions import Convention, ConventionParticipant, ParticipantRole
from services.events.domain.conventions.participant import Availability, ParticipantStatus, check_pair

from .test_conventions import BEFORE, HOUR, MIN, T0, join, make_convention, make_settings
from .test_meeting_requests import conflict, fields, refusal

PROFILE = ("sectors", "offers", "needs", "available_slot_ids", "arrives_at", "leaves_at", "max_meetings")


def test_joining_keeps_the_profile_and_availability_given_and_tells_them_all():
    c = make_convention()
    p = ConventionParticipant.join("reg-1", convention=c, role="public_buyer", at=BEFORE, organisation_id="org-1",
                                   sectors=["BTP"], offers=["nettoyage", "Nettoyage"], needs=["traiteur"],
                                   available_slots=["s4", "s2", "s4"], arrives_at=T0, leaves_at=T0 + 2 * HOUR,
                                   max_meetings=200)
    assert (p.id, p.convention_id, p.organisation_id, p.role, p.joined_at) == (
        "reg-1", "evt-1", "org-1", ParticipantRole.PUBLIC_BUYER, BEFORE)
    assert (p.profile.sectors, p.profile.offers, p.profile.needs) == (("BTP",), ("nettoyage",), ("traiteur",))
    assert p.availability == Availability(slot_ids=("s2", "s4"), arrives_at=T0, leaves_at=T0 + 2 * HOUR)
    assert p.max_meetings == 200 and p.status is ParticipantStatus.ACTIVE and p.is_active
    [e] = p.pull_events()
    assert fields(e, "convention_id", "participant_id", "organisation_id", "role", "joined_at", *PROFILE) == dict(
        convention_id="evt-1", participant_id="reg-1", organisation_id="org-1", role=ParticipantRole.PUBLIC_BUYER,
        joined_at=BEFORE, sectors=["BTP"], offers=["nettoyage"], needs=["traiteur"],
        available_slot_ids=["s2", "s4"], arrives_at=T0, leaves_at=T0 + 2 * HOUR, max_meetings=200)
    bare = ConventionParticipant.join("reg-2", convention=c, role="ess_supplier", at=BEFORE, organisation_id="  ",
                                      max_meetings=0)
    assert bare.organisation_id is None and bare.availability == Availability() and bare.max_meetings == 0
    [e] = bare.pull_events()
    assert (e.available_slot_ids, e.sectors, e.max_meetings) == (None, [], 0)


def test_joining_refusals_name_the_field_and_say_why():
    c = make_convention()

    def joining(**kw):
        return ConventionParticipant.join(kw.pop("pid", "reg-1"), convention=c, **{"role": "ess_supplier",
                                                                                   "at": BEFORE, **kw})
    assert refusal(joining, pid=" ") == ("participant_id", "participant_id is required")
    assert refusal(joining, max_meetings=201) == (
        "max_meetings", "max_meetings must be a whole number from 0 to 200 (got 201)")
    assert refusal(joining, available_slots="s1") == ("available_slots", "available_slots must be a list of slot ids")
    assert refusal(joining, available_slots=["s1", "s9"]) == ("available_slots.1", "unknown slot 's9'")
    assert refusal(joining, arrives_at=T0, leaves_at=T0) == ("leaves_at", "leaves_at must be after arrives_at")
    assert refusal(joining, leaves_at=T0.replace(tzinfo=None))[0] == "leaves_at"
    assert refusal(joining, organisation_id="a\x01")[0] == "organisation_id"
    assert refusal(joining, offers=["a@b.fr"])[0] == "offers.0"
    assert refusal(joining, role="buyer")[1].startswith("unknown role 'buyer'; expected one of: ")


def test_availability_admits_the_slots_between_arrival_and_departure_bounds_included():
    window = Availability(arrives_at=T0, leaves_at=T0 + HOUR)
    assert window.admits("s1", T0, T0 + HOUR)
    assert not window.admits("s1", T0 - MIN, T0 + HOUR) and not window.admits("s1", T0, T0 + HOUR + MIN)
    some = Availability(slot_ids=("s1",))
    assert some.admits("s1", T0, T0 + HOUR) and not some.admits("s2", T0, T0 + HOUR)
    assert Availability().admits("s9", T0, T0 + HOUR)


def test_a_profile_update_changes_and_tells_only_what_differs():
    c = make_convention()
    p = join(c, "a", sectors=["BTP"], offers=["nettoyage"], needs=["locaux"], available_slots=["s1"],
             arrives_at=T0, leaves_at=T0 + 3 * HOUR, max_meetings=3)
    same = dict(sectors=["BTP"], offers=["nettoyage"], needs=["locaux"], available_slots=["s1"], arrives_at=T0,
                leaves_at=T0 + 3 * HOUR, max_meetings=3)
    assert p.update_profile(convention=c, at=BEFORE, **same) == [] and not p.pull_events()
    every = dict(sectors=["Bois"], offers=["menuiserie"], needs=["camion"], available_slots=["s3", "s2"],
                 arrives_at=T0 + MIN, leaves_at=T0 + 4 * HOUR, max_meetings=None)
    assert p.update_profile(convention=c, at=BEFORE + HOUR, **every) == list(PROFILE)
    assert (p.profile.sectors, p.profile.offers, p.profile.needs, p.max_meetings) == (
        ("Bois",), ("menuiserie",), ("camion",), None)
    assert p.availability == Availability(slot_ids=("s2", "s3"), arrives_at=T0 + MIN, leaves_at=T0 + 4 * HOUR)
    [e] = p.pull_events()
    assert fields(e, "convention_id", "participant_id", "changed_fields", "updated_at", *PROFILE) == dict(
        convention_id="evt-1", participant_id="a", changed_fields=list(PROFILE), updated_at=BEFORE + HOUR,
        sectors=["Bois"], offers=["menuiserie"], needs=["camion"], available_slot_ids=["s2", "s3"],
        arrives_at=T0 + MIN, leaves_at=T0 + 4 * HOUR, max_meetings=None)
    # the fields not given stay; each changes alone
    assert p.update_profile(convention=c, at=BEFORE + HOUR, available_slots=None) == ["available_slot_ids"]
    assert p.availability.slot_ids is None and p.profile.sectors == ("Bois",)
    assert p.update_profile(convention=c, at=BEFORE + HOUR, max_meetings=0) == ["max_meetings"]
    assert p.update_profile(convention=c, at=BEFORE + HOUR, leaves_at=None) == ["leaves_at"]
    assert p.availability == Availability(arrives_at=T0 + MIN) and p.max_meetings == 0


def test_a_profile_update_keeps_slots_a_reconfiguration_removed_unless_they_are_given_again():
    c = make_convention()
    p = join(c, "a", available_slots=["s6", "s1"])
    c.reconfigure(settings=make_settings(count=5), at=BEFORE + HOUR)  # s6 is gone
    assert p.update_profile(convention=c, at=BEFORE + HOUR, needs=["camion"]) == ["needs"]
    assert p.availability.slot_ids == ("s1", "s6")
    assert refusal(p.update_profile, convention=c, at=BEFORE + HOUR, available_slots=["s1", "s6"]) == (
        "available_slots.1", "unknown slot 's6'")
    assert refusal(p.update_profile, convention=c, at=BEFORE - MIN, needs=[]) == (
        "at", "at 2023-02-01T08:59:00+01:00 is before joining (2023-02-01T09:00:00+01:00)")
    assert refusal(p.update_profile, convention=c, at=BEFORE, max_meetings=-1)[0] == "max_meetings"
    assert refusal(p.update_profile, convention=c, at=BEFORE, arrives_at=T0 + HOUR, leaves_at=T0)[0] == "leaves_at"


def test_slots_of_an_availability_are_kept_in_time_order():
    c = Convention.configure("evt-1", settings=make_settings(), at=BEFORE)
    p = join(c, "a", available_slots=["s6", "s2", "s5"])
    assert p.availability.slot_ids == ("s2", "s5", "s6")
    c.reconfigure(settings=make_settings(count=3), at=BEFORE + HOUR)  # s5 and s6 removed: after the others
    assert p.update_profile(convention=c, at=BEFORE + HOUR, offers=["x"]) == ["offers"]
    assert p.availability.slot_ids == ("s2", "s5", "s6")


def test_leaving_is_final_and_every_later_step_says_the_participant_left():
    c = make_convention()
    p = join(c, "a")
    assert refusal(p.leave, at=BEFORE - MIN)[0] == "at"
    p.leave(at=BEFORE + HOUR)
    assert (p.status, p.left_at, p.is_active) == (ParticipantStatus.LEFT, BEFORE + HOUR, False)
    [e] = p.pull_events()
    assert fields(e, "convention_id", "participant_id", "left_at") == dict(
        convention_id="evt-1", participant_id="a", left_at=BEFORE + HOUR)
    gone = {"current_state": "left", "expected_step": "none: the participant left"}
    for step, call in (("leave", lambda: p.leave(at=BEFORE + 2 * HOUR)),
                       ("arrive", lambda: p.record_arrival(at=T0)),
                       ("be recorded as a no-show", lambda: p.record_no_show(at=T0)),
                       ("update its profile", lambda: p.update_profile(convention=c, at=T0, needs=[]))):
        assert conflict(call) == (
            f"participant a left the convention at 2023-02-01 10:00:00+01:00: cannot {step}", gone)


def test_an_arrival_clears_a_no_show_and_a_no_show_is_refused_once_arrived():
    c = make_convention()
    p = join(c, "a")
    assert p.record_arrival(at=T0) is True and (p.arrived_at, p.no_show_at) == (T0, None)
    [e] = p.pull_events()
    assert fields(e, "convention_id", "participant_id", "after_no_show", "arrived_at") == dict(
        convention_id="evt-1", participant_id="a", after_no_show=False, arrived_at=T0)
    assert conflict(p.record_no_show, at=T0 + HOUR) == (
        "participant a arrived at 2023-03-21T14:00:00+01:00: not a no-show",
        {"current_state": "arrived", "expected_step": "none: the participant is here"})
    q = join(c, "q")
    assert q.record_no_show(at=T0 + MIN) is True and q.no_show_at == T0 + MIN and q.is_no_show
    [e] = q.pull_events()
    assert fields(e, "convention_id", "participant_id", "recorded_at") == dict(
        convention_id="evt-1", participant_id="q", recorded_at=T0 + MIN)
    assert q.record_no_show(at=T0 + 2 * MIN) is False and q.no_show_at == T0 + MIN
    assert q.record_arrival(at=T0 + HOUR) is True and not q.is_no_show and q.no_show_at is None
    assert q.pull_events()[0].after_no_show is True
    assert refusal(q.record_arrival, at="now")[0] == "at" and refusal(join(c, "r").record_no_show, at=None)[0] == "at"


def test_a_pair_is_two_participants_of_the_convention_both_still_in_it():
    c = make_convention()
    a, b = join(c, "a"), join(c, "b", "public_buyer")
    stranger = join(Convention.configure("evt-2", settings=make_settings(), at=BEFORE), "x", "public_buyer")
    check_pair("evt-1", a, b, fields=("from", "to"))
    assert refusal(check_pair, "evt-1", stranger, b, fields=("from", "to")) == (
        "from", "participant 'x' is not a participant of convention evt-1")
    assert refusal(check_pair, "evt-1", a, stranger, fields=("from", "to")) == (
        "to", "participant 'x' is not a participant of convention evt-1")
    assert refusal(check_pair, "evt-1", a, a, fields=("from", "to")) == (
        "to", "a meeting of participant 'a' with itself")
    b.leave(at=BEFORE + HOUR)
    assert conflict(check_pair, "evt-1", a, b, fields=("from", "to")) == (
        "participant b left the convention: no meeting with it", {"current_state": "left", "participant_id": "b"})
    assert conflict(check_pair, "evt-1", b, a, fields=("from", "to"))[1]["participant_id"] == "b"


def test_leaving_and_updating_check_their_time_and_name_each_list_of_tags():
    c = make_convention()
    p = join(c, "a")
    for step in (lambda at: p.leave(at=at), lambda at: p.update_profile(convention=c, at=at, needs=["x"])):
        assert refusal(step, "now") == ("at", "at must be a date and time (got 'now')")
    assert refusal(p.leave, at=BEFORE - MIN) == (
        "at", "at 2023-02-01T08:59:00+01:00 is before joining (2023-02-01T09:00:00+01:00)")
    for field in ("sectors", "offers", "needs"):
        assert refusal(p.update_profile, convention=c, at=BEFORE, **{field: ["ok", "a@b.fr"]}) == (
            f"{field}.1", f"{field}.1 looks like contact details: tags are codes or short labels")


def test_available_slots_are_kept_in_time_order_not_in_the_order_of_their_ids():
    c = make_convention(count=10)  # s1 … s10: "s10" sorts before "s2" as text
    p = join(c, "a", available_slots=["s10", "s2", "s9"])
    assert p.availability.slot_ids == ("s2", "s9", "s10")
    c.reconfigure(settings=make_settings(count=9), at=BEFORE + HOUR)  # s10 is gone: after the slots kept
    assert p.update_profile(convention=c, at=BEFORE + HOUR, offers=["x"]) == ["offers"]
    assert p.availability.slot_ids == ("s2", "s9", "s10")
    q = join(c, "q")
    assert q.update_profile(convention=c, at=BEFORE + HOUR, available_slots=["s9", "s1"]) == ["available_slot_ids"]
    assert q.availability.slot_ids == ("s1", "s9")
