"""The general assembly, refusal by refusal: each names its field (or its state and next step)
and says why in the words staff read on the screen and in the record; and the events each
step records, field by field. (The flows themselves: test_governance_assembly.py.)"""
from __future__ import annotations

from datetime import date

import pytest

from runtime.errors import DomainError
from services.membership.domain.governance import DEFAULT_STATUTES, Assembly, AssemblyStatus

from .test_governance_assembly import MEETING, SENT, convene, in_session

D = date
EVE = D(2051, 6, 11)


def refusal(action, *args, **kwargs) -> tuple:
    """(kind, detail, extras) of the refusal ``action`` raises; extras hold an InvalidInput's field."""
    with pytest.raises(DomainError) as e:
        action(*args, **kwargs)
    return type(e.value).__name__, e.value.detail, e.value.extra


def invalid(field: str, detail: str) -> tuple:
    return "InvalidInput", detail, {"field": field}


def conflict(detail: str, **extra) -> tuple:
    return "Conflict", detail, extra


def payloads(ag: Assembly) -> list[tuple[str, dict]]:
    return [(type(e).__name__, e.model_dump()) for e in ag.pull_events()]


NOT_OPEN = "assembly ag-1 is convened; votes are taken once the session is open with its quorum"


def test_before_its_session_opens_an_assembly_says_to_open_it():
    ag = convene()
    assert refusal(ag.reconvene, meeting_on=D(2051, 7, 1), on=MEETING) == conflict(
        "cannot reconvene assembly ag-1: it is convened (convocation 1); a second convocation follows a first "
        "session whose quorum was not met", current_state="convened", expected_step="open")
    assert refusal(ag.vote, "r1", "a1", "for", on=MEETING) == conflict(
        f"cannot vote: {NOT_OPEN}", current_state="convened", expected_step="open")
    assert refusal(ag.decide, "r1", on=MEETING) == conflict(
        f"cannot decide a resolution: {NOT_OPEN}", current_state="convened", expected_step="open")
    assert refusal(ag.vote_board, "a1", [], on=MEETING) == conflict(
        f"cannot vote for the board: {NOT_OPEN}", current_state="convened", expected_step="open")
    assert refusal(ag.mark_board_elected, on=MEETING) == conflict(
        f"cannot elect the board: {NOT_OPEN}", current_state="convened", expected_step="open")
    assert refusal(ag.close, on=MEETING) == conflict(
        "assembly ag-1 has not been opened: open the session (quorum) first",
        current_state="convened", expected_step="open")
    assert refusal(ag.open, on=EVE) == invalid("on", "on 2051-06-11 is before the session's date (2051-06-12)")


def test_attendance_refusals_and_what_is_recorded():
    ag = convene()
    assert refusal(ag.record_attendance, "a1", "represented", on=MEETING) == invalid(
        "attendance", "a member is represented by giving its proxy to a member present (POST …/proxies)")
    assert refusal(ag.record_attendance, "zz", "present", on=MEETING) == invalid(
        "organisation_id", "'zz' is not on the roll of assembly ag-1 (members on 2051-05-20)")
    assert refusal(ag.record_attendance, "a1", "maybe", on=MEETING) == invalid(
        "attendance", "unknown attendance 'maybe'; expected one of: present, represented, excused, absent")
    assert ag.record_attendance("a2", "excused", on=SENT) is True, "a member holding no proxy may be excused"
    assert ag.record_attendance("a2", "excused", on=SENT) is False, "already so: nothing recorded"
    assert ag.record_attendance("a1", "present", on=MEETING) is True
    assert payloads(ag) == [
        ("AttendanceRecorded", dict(assembly_id="ag-1", organisation_id="a2", attendance="excused",
                                    convocation_number=1, recorded_on=SENT)),
        ("AttendanceRecorded", dict(assembly_id="ag-1", organisation_id="a1", attendance="present",
                                    convocation_number=1, recorded_on=MEETING))]
    ag.give_proxy("a3", "a1", on=MEETING)
    ag.give_proxy("a4", "a1", on=MEETING)
    assert refusal(ag.record_attendance, "a1", "excused", on=MEETING) == conflict(
        "member a1 holds the proxies of a3, a4: a holder must be present", current_state="present")


def test_proxy_refusals_name_the_member_and_the_rule():
    ag = convene()
    assert refusal(ag.give_proxy, "x1", "a1", on=MEETING) == invalid(
        "grantor_id", "member x1 has no voting rights at this assembly and cannot give a proxy: the 2051 dues "
                      "were not paid in full by 2051-05-20 (reason: dues_unpaid)")
    assert refusal(ag.give_proxy, "a1", "x1", on=MEETING) == invalid(
        "holder_id", "member x1 has no voting rights at this assembly and cannot hold a proxy: the 2051 dues "
                     "were not paid in full by 2051-05-20 (reason: dues_unpaid)")
    assert refusal(ag.give_proxy, "zz", "a1", on=MEETING) == invalid(
        "grantor_id", "'zz' is not on the roll of assembly ag-1 (members on 2051-05-20)")
    assert refusal(ag.give_proxy, "a2", "a1", on=MEETING) == invalid(
        "holder_id", "the proxy holder must be present (statutes: a proxy goes to a member present with voting "
                     "rights); a1 is absent")
    ag.record_attendance("a1", "present", on=MEETING)
    ag.record_attendance("c1", "excused", on=MEETING)
    assert refusal(ag.give_proxy, "a2", "c1", on=MEETING) == invalid(
        "holder_id", "the proxy holder must be present (statutes: a proxy goes to a member present with voting "
                     "rights); c1 is excused")
    assert refusal(ag.give_proxy, "a1", "a1", on=MEETING) == invalid("holder_id", "a member cannot hold its own proxy")
    assert refusal(ag.give_proxy, "a1", "a2", on=MEETING) == conflict("member a1 is present: it votes itself",
                                                                      current_state="present")
    ag.pull_events()
    ag.give_proxy("c1", "a1", on=MEETING)  # excused, it may still be represented
    assert payloads(ag) == [("ProxyGiven", dict(assembly_id="ag-1", grantor_id="c1", holder_id="a1",
                                                convocation_number=1, given_on=MEETING))]
    assert refusal(ag.give_proxy, "c1", "a1", on=MEETING) == conflict("member c1 already gave its proxy to a1",
                                                                      current_state="represented")
    ag.give_proxy("a2", "a1", on=MEETING)
    assert refusal(ag.give_proxy, "a3", "a1", on=MEETING) == invalid(
        "holder_id", "member a1 already holds 2 proxies: the statutes allow at most 2 per holder "
                     "(statutes.max_proxies_per_holder)")


def test_in_session_refusals():
    ag = in_session()
    ag.give_proxy("a3", "a1", on=MEETING)
    assert refusal(ag.open, on=MEETING) == conflict("cannot open assembly ag-1: it is in_session",
                                                    current_state="in_session", expected_step="vote")
    assert refusal(ag.record_attendance, "a4", "excused", on=MEETING) == conflict(
        "the session of assembly ag-1 is open: only late arrivals (present) are recorded",
        current_state="in_session")
    assert refusal(ag.vote, "r1", "a1", "for", on=EVE) == invalid(
        "on", "on 2051-06-11 is before the session's opening (2051-06-12)")
    assert refusal(ag.vote, "r1", "a3", "for", on=MEETING) == invalid(
        "voter_id", "member a3 is represented: its proxy holder a1 votes for it")
    assert refusal(ag.vote, "r1", "a4", "for", on=MEETING) == invalid(
        "voter_id", "only members present vote; a4 is absent")
    assert refusal(ag.vote, "r1", "x1", "for", on=MEETING) == invalid(
        "voter_id", "member x1 has no voting rights at this assembly and cannot vote: the 2051 dues were not paid "
                    "in full by 2051-05-20 (reason: dues_unpaid)")
    assert refusal(ag.vote, "r9", "a1", "for", on=MEETING) == (
        "NotFound", "resolution 'r9' is not on the agenda of assembly ag-1 (agenda: r1, r2)", {"resolution_id": "r9"})
    assert refusal(ag.decide, "r9", on=MEETING)[2] == {"resolution_id": "r9"}
    ag.pull_events()
    assert ag.vote("r1", "a1", "for", on=MEETING) == ["a1", "a3"]
    assert ag.resolution("r1").voted_by == ["a1"]
    assert refusal(ag.vote, "r1", "a1", "against", on=MEETING) == conflict("member a1 already voted on r1",
                                                                          current_state="voted")
    ag.decide("r1", on=MEETING)
    assert refusal(ag.decide, "r1", on=MEETING) == conflict("resolution r1 is already decided",
                                                            current_state="decided")
    assert refusal(ag.vote, "r1", "a2", "for", on=MEETING) == conflict(
        "resolution r1 was already adopted on 2051-06-12", current_state="decided")
    assert refusal(ag.decide, "r2", on=EVE) == invalid(
        "on", "on 2051-06-11 is before the session's opening (2051-06-12)")
    assert refusal(ag.mark_board_elected, on=EVE) == invalid(
        "on", "on 2051-06-11 is before the session's opening (2051-06-12)")
    assert refusal(ag.close, on=EVE) == invalid("on", "on 2051-06-11 is before the session's opening (2051-06-12)")


def test_an_ordinary_resolution_is_decided_by_the_ordinary_majority():
    ag = in_session()
    for voter, choice in (("a1", "for"), ("a2", "for"), ("c1", "for"), ("n1", "against")):  # 3 for 2, weighted
        ag.vote("r1", voter, choice, on=MEETING)
    decision = ag.decide("r1", on=MEETING)
    assert decision.adopted is True and decision.majority == (
        "more than 1/2 of the weighted votes for or against (abstentions not counted)")


def test_a_session_opened_after_its_date_is_closed_from_its_opening():
    ag = convene()
    for org in ("a1", "a2"):
        ag.record_attendance(org, "present", on=MEETING)
    assert ag.open(on=D(2051, 6, 13))
    assert ag.session.quorum.model_dump() == dict(counted=2, voters=6, required=2, weighted=False, met=True)
    figures = dict(assembly_id="ag-1", convocation_number=1, counted=2, voters=6, required=2, weighted=False,
                   opened_on=D(2051, 6, 13))
    assert payloads(ag)[-1] == ("AssemblyOpened", figures)
    assert refusal(ag.close, on=MEETING) == invalid("on", "on 2051-06-12 is before the session's opening (2051-06-13)")


def test_without_its_quorum_a_session_is_reconvened_or_closed():
    ag = convene()
    ag.record_attendance("a1", "present", on=MEETING)
    assert ag.open(on=MEETING) is False
    assert ag.session.quorum.model_dump() == dict(counted=1, voters=6, required=2, weighted=False, met=False)
    reconvene = dict(current_state="quorum_not_reached", expected_step="reconvene")
    assert refusal(ag.record_attendance, "a2", "present", on=MEETING) == conflict(
        "the session of 2051-06-12 did not reach its quorum: reconvene or close", **reconvene)
    assert refusal(ag.give_proxy, "a2", "a1", on=MEETING) == conflict(
        "the session did not reach its quorum: reconvene or close", **reconvene)
    assert refusal(ag.open, on=MEETING) == conflict("cannot open assembly ag-1: it is quorum_not_reached",
                                                    **reconvene)
    assert refusal(ag.vote, "r1", "a1", "for", on=MEETING) == conflict(
        "cannot vote: assembly ag-1 is quorum_not_reached; votes are taken once the session is open with its "
        "quorum", **reconvene)
    assert refusal(ag.reconvene, meeting_on=D(2051, 7, 1), on=EVE) == invalid(
        "on", "on 2051-06-11 is before the first session (2051-06-12)")
    assert refusal(ag.reconvene, meeting_on=D(2051, 6, 20), on=D(2051, 6, 15)) == invalid(
        "meeting_on", "convocation too late: the statutes require 6 days' notice (statutes.second_notice_days); "
                      "sent on 2051-06-15 for 2051-06-20 gives 5 — convene by 2051-06-14 or meet on 2051-06-21 or "
                      "later")
    ag.pull_events()
    ag.reconvene(meeting_on=D(2051, 6, 21), on=D(2051, 6, 15))
    assert payloads(ag) == [("AssemblyReconvened", dict(assembly_id="ag-1", convocation_number=2,
                                                        meeting_on=D(2051, 6, 21), convened_on=D(2051, 6, 15),
                                                        notice_days=6))]
    assert ag.open(on=D(2051, 6, 21)) is True, "no quorum at a second convocation"
    assert refusal(ag.reconvene, meeting_on=D(2051, 7, 1), on=D(2051, 6, 21)) == conflict(
        "cannot reconvene assembly ag-1: it is in_session (convocation 2); a second convocation follows a first "
        "session whose quorum was not met", current_state="in_session", expected_step="close")


def test_a_closed_assembly_refuses_every_change_naming_it():
    ag = in_session()
    ag.close(on=MEETING)
    closed = "assembly ag-1 was closed on 2051-06-12; its record cannot change"
    for action, call in [
        ("reconvene", lambda: ag.reconvene(meeting_on=D(2051, 7, 1), on=MEETING)),
        ("record attendance", lambda: ag.record_attendance("a3", "present", on=MEETING)),
        ("record a proxy", lambda: ag.give_proxy("a3", "a1", on=MEETING)),
        ("open the session", lambda: ag.open(on=MEETING)),
        ("vote", lambda: ag.vote("r1", "a1", "for", on=MEETING)),
        ("decide a resolution", lambda: ag.decide("r1", on=MEETING)),
        ("register a candidacy", lambda: ag.register_candidacy("a1", on=MEETING)),
        ("vote for the board", lambda: ag.vote_board("a1", [], on=MEETING)),
        ("elect the board", lambda: ag.mark_board_elected(on=MEETING)),
        ("close", lambda: ag.close(on=MEETING)),
    ]:
        assert refusal(call) == conflict(f"cannot {action}: {closed}", current_state="closed")


def test_convocation_refusals():
    assert refusal(convene, title=" ") == invalid("title", "title is required")
    assert convene(title="t" * 300).title == "t" * 300
    assert refusal(convene, title="t" * 301) == invalid("title", "title is longer than 300 characters")
    agenda_words = "the agenda is a list of at most 200 resolutions"
    assert refusal(convene, agenda="x") == invalid("agenda", agenda_words)
    assert len(convene(agenda=[{"title": "x"}] * 200).resolutions) == 200
    assert refusal(convene, agenda=[{"title": "x"}] * 201) == invalid("agenda", agenda_words)
    assert refusal(convene, agenda=[{"title": "x"}, "y"]) == invalid(
        "agenda.1", "a resolution is an object with a title and a kind")
    assert convene(agenda=[{"title": "t" * 1000}]).resolutions[0].title == "t" * 1000
    assert refusal(convene, agenda=[{"title": "x"}, {"title": "t" * 1001}]) == invalid(
        "agenda.1.title", "agenda.1.title is longer than 1000 characters")
    for bad in (-1, True, "2"):
        assert refusal(convene, seats_to_fill={"associations": bad}) == invalid(
            "seats_to_fill.associations", f"seats to fill must be 0 or more (got {bad!r})")
    assert convene(seats_to_fill={"associations": 0, "networks": 1}).election.seats_to_fill == {"networks": 1}
    assert refusal(convene, reference_on=D(2051, 5, 21)) == invalid(
        "reference_on", "reference date 2051-05-21 is after the convocation (2051-05-20): voting rights are "
                        "assessed on facts known when convening")
    assert refusal(convene, on=D(2051, 5, 29)) == invalid(
        "meeting_on", "convocation too late: the statutes require 15 days' notice (statutes.notice_days); sent on "
                      "2051-05-29 for 2051-06-12 gives 14 — convene by 2051-05-28 or meet on 2051-06-13 or later")


def board_session(**kw) -> Assembly:
    """Candidates a1, a2, a3 (associations, 2 seats) and n1 (networks, 1 seat); in session with a1, a2, c1
    and n1 present."""
    ag = convene(**kw)
    for org in ("a1", "a2", "a3", "n1"):
        ag.register_candidacy(org, on=SENT)
    for org in ("a1", "a2", "c1", "n1"):
        ag.record_attendance(org, "present", on=MEETING)
    assert ag.open(on=MEETING)
    ag.pull_events()
    return ag


def test_candidacy_refusals():
    ag = convene(seats_to_fill={"networks": 1})
    assert refusal(ag.register_candidacy, "a1", on=SENT) == invalid(
        "organisation_id", "college associations has no board seat to fill at this assembly (seats to fill: "
                           "{'networks': 1})")
    assert refusal(ag.register_candidacy, "x1", on=SENT) == invalid(
        "organisation_id", "member x1 has no voting rights at this assembly and cannot stand for the board: the "
                           "2051 dues were not paid in full by 2051-05-20 (reason: dues_unpaid)")
    assert refusal(convene(seats_to_fill={}).register_candidacy, "a1", on=SENT) == invalid(
        "organisation_id", "college associations has no board seat to fill at this assembly (seats to fill: none)")
    ag.register_candidacy("n1", on=SENT)
    assert payloads(ag) == [("CandidacyRegistered", dict(assembly_id="ag-1", organisation_id="n1",
                                                         college="networks", registered_on=SENT))]
    assert refusal(ag.register_candidacy, "n1", on=SENT) == conflict("member n1 is already a candidate",
                                                                     current_state="candidate")
    ag = board_session(seats_to_fill={"associations": 2, "networks": 1, "cooperatives": 1})
    ag.vote_board("a1", ["a1"], on=MEETING)
    assert refusal(ag.register_candidacy, "c1", on=MEETING) == conflict(
        "the board election's voting has started: candidacies are closed", current_state="voting")


def test_board_ballot_refusals_and_what_is_recorded():
    ag = board_session()
    assert refusal(ag.vote_board, "a1", "a2", on=MEETING) == invalid(
        "candidate_ids", "candidate_ids is a list of member ids")
    assert refusal(ag.vote_board, "a1", ["a2", "zz"], on=MEETING) == invalid(
        "candidate_ids.1", "'zz' is not a candidate at this assembly")
    assert refusal(ag.vote_board, "a1", ["a2", "n1", "a2"], on=MEETING) == invalid(
        "candidate_ids.2", "a2 is named twice")
    assert refusal(ag.vote_board, "a1", ["n1", "a1", "a2", "a3"], on=MEETING) == invalid(
        "candidate_ids.3", "at most 2 candidates of college associations (its seats to fill)")
    ag.give_proxy("a3", "a1", on=MEETING)
    ag.pull_events()
    assert ag.vote_board("a1", ["a1"], on=MEETING) == ["a1", "a3"]
    assert payloads(ag) == [("BallotCast", dict(assembly_id="ag-1", item_id="board-election", voter_id="a1",
                                                represented_ids=["a3"], cast_on=MEETING))]
    assert ag.election.voted_by == ["a1"] and ag.election.ballots == {"a1": ["a1"], "a3": ["a1"]}
    assert refusal(ag.vote_board, "a1", ["a2"], on=MEETING) == conflict(
        "member a1 already voted on board-election", current_state="voted")
    assert refusal(ag.close, on=MEETING) == conflict(
        "the board election has ballots: elect the board before closing", current_state="in_session",
        expected_step="board-election")
    results = ag.mark_board_elected(on=MEETING)
    assert ag.election.elected_on == MEETING
    assert [(r.organisation_id, r.votes_weight, r.rank, r.elected) for r in results] == [
        ("a1", 2, 1, True), ("a2", 0, 2, False), ("a3", 0, 3, False), ("n1", 0, 1, False)], \
        "a candidate without a vote is not elected, even with a seat free"
    assert refusal(ag.mark_board_elected, on=MEETING) == conflict("the board was already elected on 2051-06-12",
                                                                  current_state="elected")
    assert refusal(ag.vote_board, "a2", ["a2"], on=MEETING) == conflict(
        "the board was already elected on 2051-06-12", current_state="elected")
    assert refusal(in_session(seats_to_fill={}).mark_board_elected, on=MEETING) == conflict(
        "no board seat is to be filled at this assembly", current_state="in_session")


def test_an_extraordinary_resolution_is_decided_by_its_own_majority_and_says_which():
    ag = in_session()
    for voter, choice in (("a1", "for"), ("a2", "for"), ("c1", "for"), ("n1", "against")):  # 3 for 2, weighted
        ag.vote("r2", voter, choice, on=MEETING)
    decision = ag.decide("r2", on=MEETING)
    assert decision.adopted is False, "3 of 5 is less than two thirds"
    assert decision.majority == "at least 2/3 of the weighted votes for or against (abstentions not counted)"
    assert refusal(ag.vote, "r2", "a1", "for", on=MEETING) == conflict(
        "resolution r2 was already rejected on 2051-06-12", current_state="decided")


def test_recording_a_member_absent_who_was_never_recorded_changes_nothing():
    ag = convene()
    assert ag.record_attendance("a1", "absent", on=MEETING) is False
    assert ag.pull_events() == [] and ag.session.attendance == {}


def test_an_assembly_without_an_agenda_says_so():
    ag = convene(agenda=[])
    assert refusal(ag.resolution, "r1") == (
        "NotFound", "resolution 'r1' is not on the agenda of assembly ag-1 (agenda: empty)", {"resolution_id": "r1"})


def test_a_second_convocation_without_its_quorum_is_not_reconvened_a_third_time():
    statutes = DEFAULT_STATUTES.model_copy(update={"second_quorum": DEFAULT_STATUTES.quorum})
    ag = convene(statutes=statutes)
    assert ag.open(on=MEETING) is False
    ag.reconvene(meeting_on=D(2051, 6, 21), on=D(2051, 6, 15))
    assert ag.open(on=D(2051, 6, 21)) is False, "the statutes' second quorum is a quarter too here"
    assert refusal(ag.reconvene, meeting_on=D(2051, 7, 1), on=D(2051, 6, 22)) == conflict(
        "cannot reconvene assembly ag-1: it is quorum_not_reached (convocation 2); a second convocation follows a "
        "first session whose quorum was not met", current_state="quorum_not_reached", expected_step="close")
    ag.close(on=D(2051, 6, 21))
    assert ag.status is AssemblyStatus.CLOSED
