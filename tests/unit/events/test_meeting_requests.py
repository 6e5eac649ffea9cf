"""A meeting request (services/events/domain/conventions/request.py): what each step records, when a
new request is a duplicate, and the words, state and step of each refusal."""
from __future__ import annotations

import pytest

import contracts.events.conventions as ce
from runtime.errors import Conflict
from services.events.domain.conventions import Convention, MeetingRequest, MeetingRequestStatus

from tests.unit.refusals import conflict, refusal
from .test_conventions import BEFORE, HOUR, MIN, T0, accepted, join, make_convention, make_settings, send

PENDING, ACCEPTED, DECLINED = MeetingRequestStatus.PENDING, MeetingRequestStatus.ACCEPTED, MeetingRequestStatus.DECLINED
EXPIRED, WITHDRAWN = MeetingRequestStatus.EXPIRED, MeetingRequestStatus.WITHDRAWN


def pair():
    c = make_convention()
    return c, join(c, "a"), join(c, "b", "public_buyer")


def ids(**more) -> dict:
    return dict(convention_id="evt-1", request_id="r-a-b", from_participant_id="a", to_participant_id="b", **more)


def fields(event, *names) -> dict:
    return {n: getattr(event, n) for n in names}


# -- sending -------------------------------------------------------------------------------------

def test_a_request_is_stored_with_its_message_and_its_event_says_only_that_there_is_one():
    c, a, b = pair()
    r = MeetingRequest.send("r-a-b", convention=c, sender=a, recipient=b, at=BEFORE, message="  Bonjour  ")
    assert (r.id, r.convention_id, r.from_participant_id, r.to_participant_id) == ("r-a-b", "evt-1", "a", "b")
    assert (r.priority, r.message, r.status, r.forced, r.requested_at) == (3, "Bonjour", PENDING, False, BEFORE)
    assert r.expires_at == BEFORE + 72 * HOUR and r.answered_at is None and r.closed_at is None
    [e] = r.pull_events()
    assert isinstance(e, ce.MeetingRequested)
    assert fields(e, "convention_id", "request_id", "from_participant_id", "to_participant_id", "priority",
                  "has_message", "expires_at", "requested_at") == ids(
        priority=3, has_message=True, expires_at=BEFORE + 72 * HOUR, requested_at=BEFORE)
    quiet = MeetingRequest.send("r2", convention=c, sender=b, recipient=a, at=BEFORE, priority=1, message="   ")
    assert quiet.message is None and quiet.priority == 1 and quiet.pull_events()[0].has_message is False


def test_a_request_s_bounds_and_refusals_name_the_field():
    c, a, b = pair()
    assert send(c, a, b, priority=5, message="x" * 1000).priority == 5
    assert refusal(send, c, a, b, priority=0) == ("priority", "priority must be a whole number from 1 to 5 (got 0)")
    assert refusal(send, c, a, b, priority=6) == ("priority", "priority must be a whole number from 1 to 5 (got 6)")
    assert refusal(send, c, a, b, message="x" * 1001) == ("message", "message is longer than 1000 characters")
    assert refusal(send, c, a, b, rid=" ") == ("request_id", "request_id is required")
    assert refusal(send, c, a, b, at=BEFORE.replace(tzinfo=None)) == (
        "at", "at must carry a time zone (naive date and time 2023-02-01T09:00:00)")


def test_two_buyers_or_two_suppliers_are_refused_unless_the_convention_allows_it():
    c = make_convention()
    s1, s2 = join(c, "s1"), join(c, "s2")
    pub, priv = join(c, "pub", "public_buyer"), join(c, "priv", "private_buyer")
    assert refusal(send, c, pub, priv) == (
        "to_participant_id",
        "both participants are buyers: this convention arranges meetings between ESS suppliers and buyers")
    assert refusal(send, c, s1, s2) == (
        "to_participant_id",
        "both participants are ESS suppliers: this convention arranges meetings between ESS suppliers and buyers")
    assert send(c, priv, s1).status is PENDING
    c2 = make_convention(allow_same_role=True)
    assert send(c2, join(c2, "p"), join(c2, "q", "private_buyer")).status is PENDING
    assert send(c2, join(c2, "x"), join(c2, "y")).status is PENDING


def test_no_request_once_the_convention_has_ended():
    c, a, b = pair()
    end = T0 + 6 * 25 * MIN - 5 * MIN  # six slots of 20 minutes every 25 from T0
    assert c.settings.ends_at == end
    assert send(c, a, b, at=end - MIN).status is PENDING
    assert conflict(send, c, a, b, rid="late", at=end) == (
        "convention evt-1 ended at 2023-03-21T16:25:00+01:00: no more requests", {"current_state": "over"})


def test_a_request_without_expiry_never_expires():
    never = make_convention(request_expiry_hours=None)
    r = send(never, join(never, "a"), join(never, "b", "public_buyer"))
    assert r.expires_at is None
    r2 = MeetingRequest.send("r2", convention=never, sender=join(never, "c"),
                             recipient=join(never, "d", "public_buyer"), at=BEFORE)
    assert r2.pull_events()[0].expires_at is None
    assert conflict(r.expire, at=T0) == ("meeting request r-a-b never expires: not due at 2023-03-21T14:00:00+01:00",
                                         {"current_state": "pending", "expected_step": "answer"})


def test_a_duplicate_is_a_live_request_of_the_same_direction_in_the_same_convention():
    c, a, b = pair()
    first = send(c, a, b, rid="r1")
    assert conflict(send, c, a, b, rid="r2", existing=[first]) == (
        "participant a already asked to meet b: request r1 is pending",
        {"current_state": "pending", "existing_request_id": "r1"})
    first.decline(at=BEFORE + HOUR)
    assert conflict(send, c, a, b, rid="r2", existing=[first])[1] == {
        "current_state": "declined", "existing_request_id": "r1"}
    # the same participants' request in another convention (same ids) is no duplicate
    other = Convention.configure("evt-2", settings=make_settings(), at=BEFORE)
    elsewhere = send(other, join(other, "a"), join(other, "b", "public_buyer"), rid="r1")
    assert send(c, a, b, rid="r3", existing=[elsewhere]).status is PENDING


@pytest.mark.parametrize("history, blocks", [
    ("pending", True), ("overdue", False), ("accepted", True), ("declined", True), ("expired", False),
    ("withdrawn", False), ("forced pending overdue", True), ("forced after expiry", True),
])
def test_which_earlier_requests_make_a_new_one_a_duplicate(history, blocks):
    c, a, b = pair()
    r = send(c, a, b, rid="r1")
    due = BEFORE + 72 * HOUR
    at = BEFORE + 2 * HOUR
    if history == "accepted":
        r.accept(at=BEFORE + HOUR)
    elif history == "declined":
        r.decline(at=BEFORE + HOUR)
    elif history == "withdrawn":
        r.withdraw(at=BEFORE + HOUR)
    elif history in ("overdue", "forced pending overdue"):
        at = due
        if history.startswith("forced"):
            r.force(at=BEFORE + HOUR)
    elif history in ("expired", "forced after expiry"):
        r.expire(at=due)
        at = due + HOUR
        if history.startswith("forced"):
            r.force(at=due + MIN)
    assert r.blocks_duplicates(at) is blocks
    if blocks:
        with pytest.raises(Conflict):
            send(c, a, b, rid="r2", at=at, existing=[r])
    else:
        assert send(c, a, b, rid="r2", at=at, existing=[r]).status is PENDING


# -- answers -------------------------------------------------------------------------------------

def test_each_answer_records_its_time_the_previous_status_and_the_request_s_ids():
    c, a, b = pair()
    r = send(c, a, b)
    assert r.accept(at=BEFORE + HOUR) is True and r.answered_at == BEFORE + HOUR and r.status is ACCEPTED
    assert r.decline(at=BEFORE + 2 * HOUR) is True and r.answered_at == BEFORE + 2 * HOUR and r.status is DECLINED
    assert r.decline(at=BEFORE + 3 * HOUR) is False and r.answered_at == BEFORE + 2 * HOUR
    acc, dec = r.pull_events()
    assert fields(acc, *ids(), "previous_status", "accepted_at") == ids(previous_status=PENDING,
                                                                       accepted_at=BEFORE + HOUR)
    assert fields(dec, *ids(), "previous_status", "declined_at") == ids(previous_status=ACCEPTED,
                                                                       declined_at=BEFORE + 2 * HOUR)
    assert r.accept(at=BEFORE + 4 * HOUR) is True and r.pull_events()[0].previous_status is DECLINED


def test_an_answer_at_the_expiry_is_too_late_and_one_before_the_request_is_refused():
    c, a, b = pair()
    r = send(c, a, b)
    due = BEFORE + 72 * HOUR
    assert r.accept(at=due - MIN) is True
    r2 = send(c, b, a, rid="r2")
    assert conflict(r2.decline, at=due) == (
        "meeting request r2 expired at 2023-02-04T09:00:00+01:00: too late to answer",
        {"current_state": "expired", "expected_step": "a new request from the requester"})
    assert refusal(r2.accept, at=BEFORE - MIN) == (
        "at", "at 2023-02-01T08:59:00+01:00 is before the request (2023-02-01T09:00:00+01:00)")


def test_a_closed_request_is_not_answered():
    c, a, b = pair()
    r = send(c, a, b)
    r.expire(at=BEFORE + 72 * HOUR)
    assert conflict(r.accept, at=BEFORE + 73 * HOUR) == (
        "meeting request r-a-b is expired: it cannot be accepted (the request is closed)",
        {"current_state": "expired"})
    w = send(c, b, a, rid="w")
    w.withdraw(at=BEFORE + HOUR)
    assert conflict(w.decline, at=BEFORE + 2 * HOUR) == (
        "meeting request w is withdrawn: it cannot be declined (the request is closed)",
        {"current_state": "withdrawn"})


# -- withdrawal, expiry, forcing ------------------------------------------------------------------

def test_a_pending_request_is_withdrawn_and_closed():
    c, a, b = pair()
    r = send(c, a, b)
    r.withdraw(at=BEFORE + HOUR)
    assert (r.status, r.closed_at) == (WITHDRAWN, BEFORE + HOUR)
    [e] = r.pull_events()
    assert fields(e, *ids(), "previous_status", "withdrawn_at") == ids(previous_status=PENDING,
                                                                      withdrawn_at=BEFORE + HOUR)
    assert conflict(r.withdraw, at=BEFORE + 2 * HOUR) == (
        "meeting request r-a-b is withdrawn: it cannot be withdrawn (only a pending or accepted request is withdrawn)",
        {"current_state": "withdrawn"})
    assert refusal(r.withdraw, at=BEFORE - HOUR)[0] == "at"


def test_a_request_expires_from_the_instant_due_and_only_when_pending():
    c, a, b = pair()
    r = send(c, a, b)
    due = BEFORE + 72 * HOUR
    assert conflict(r.expire, at=due - MIN) == (
        "meeting request r-a-b expires at 2023-02-04T09:00:00+01:00: not due at 2023-02-04T08:59:00+01:00",
        {"current_state": "pending", "expected_step": "answer"})
    r.expire(at=due)
    assert (r.status, r.closed_at) == (EXPIRED, due)
    [e] = r.pull_events()
    assert fields(e, *ids(), "expires_at", "expired_at") == ids(expires_at=due, expired_at=due)
    ok = accepted(c, b, a)
    assert conflict(ok.expire, at=due + HOUR) == (
        "meeting request r-b-a is accepted: it cannot expire (only a pending request expires)",
        {"current_state": "accepted"})
    assert refusal(ok.expire, at=BEFORE - HOUR)[0] == "at"


def test_a_forced_request_says_so_when_declined_withdrawn_or_expired():
    c, a, b = pair()
    r = send(c, a, b)
    assert r.force(at=BEFORE + HOUR) is True and (r.forced, r.forced_at) == (True, BEFORE + HOUR)
    [e] = r.pull_events()
    assert fields(e, *ids(), "previous_status", "forced_at") == ids(previous_status=PENDING, forced_at=BEFORE + HOUR)
    forced = {"current_state": "pending (forced)", "expected_step": "ask the organiser"}
    assert conflict(r.withdraw, at=BEFORE + 2 * HOUR) == (
        "meeting request r-a-b was forced by the organiser: it cannot be withdrawn", forced)
    assert conflict(r.expire, at=BEFORE + 80 * HOUR) == (
        "meeting request r-a-b was forced by the organiser: it cannot expire", forced)
    assert r.accept(at=BEFORE + 2 * HOUR) is True
    assert conflict(r.decline, at=BEFORE + 3 * HOUR) == (
        "meeting request r-a-b was forced by the organiser: it cannot be declined",
        {"current_state": "accepted (forced)", "expected_step": "ask the organiser"})
    assert r.force(at=BEFORE + 4 * HOUR) is False and r.forced_at == BEFORE + HOUR
    assert not r.is_due(BEFORE + 80 * HOUR)


def test_an_expired_request_may_be_forced_and_a_withdrawn_one_not():
    c, a, b = pair()
    r = send(c, a, b)
    r.expire(at=BEFORE + 72 * HOUR)
    r.pull_events()
    assert r.force(at=BEFORE + 73 * HOUR) is True
    assert r.pull_events()[0].previous_status is EXPIRED
    w = send(c, b, a, rid="w")
    w.withdraw(at=BEFORE + HOUR)
    assert conflict(w.force, at=BEFORE + 2 * HOUR) == (
        "meeting request w is withdrawn: it cannot be forced (a withdrawn request is not forced; lock the meeting "
        "instead)", {"current_state": "withdrawn"})
    assert refusal(w.force, at=BEFORE - HOUR)[0] == "at"


def test_only_a_pending_request_not_forced_falls_due():
    c, a, b = pair()
    due = BEFORE + 72 * HOUR
    r = send(c, a, b)
    assert not r.is_due(due - MIN) and r.is_due(due)
    r.accept(at=BEFORE + HOUR)
    assert not r.is_due(due)


def test_every_step_s_time_must_be_a_date_and_time():
    c, a, b = pair()
    r = send(c, a, b)
    for step in (r.accept, r.decline, r.withdraw, r.expire, r.force):
        assert refusal(step, at="now") == ("at", "at must be a date and time (got 'now')")
