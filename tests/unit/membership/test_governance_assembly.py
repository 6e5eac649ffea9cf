"""The general assembly: convocation, proxies, quorum, votes, board election, closing."""
from __future__ import annotations

from datetime import date
from itertools import count

import pytest

from contracts.membership import (AssemblyClosed, AssemblyQuorumNotReached, BallotCast,
                                  BoardElected, MandateEnded, MandateStarted, ProxyGiven, ResolutionAdopted,
                                  ResolutionRejected, VotingRightsWithheld)
from runtime.errors import Conflict, InvalidInput, NotFound
from services.membership.domain.governance import (DEFAULT_STATUTES, Assembly, AssemblyStatus, Board, QuorumRule,
                                                   RollEntry, staggered_years)

D = date
MEETING = D(2051, 6, 12)
SENT = D(2051, 5, 20)


def entry(org: str, college: str = "associations", rights: bool = True) -> RollEntry:
    weight = DEFAULT_STATUTES.college(college).vote_weight
    return RollEntry(organisation_id=org, member_id=org, college=college, weight=weight, voting_rights=rights,
                     reason=None if rights else VotingRightsWithheld.DUES_UNPAID,
                     detail=None if rights else "the 2051 dues were not paid in full by 2051-05-20")


ROLL = [entry("a1"), entry("a2"), entry("a3"), entry("a4"), entry("c1", "cooperatives"),
        entry("n1", "networks"), entry("x1", rights=False)]


def convene(statutes=DEFAULT_STATUTES, roll=ROLL, **kw) -> Assembly:
    args = dict(title="AG 2051", meeting_on=MEETING, on=SENT, roll=roll, statutes=statutes,
                agenda=[{"title": "Rapport moral"}, {"title": "Modification des statuts", "kind": "extraordinary"}],
                seats_to_fill={"associations": 2, "networks": 1})
    args.update(kw)
    ag = Assembly.convene("ag-1", **args)
    ag.pull_events()
    return ag


def in_session(**kw) -> Assembly:
    ag = convene(**kw)
    for org in ("a1", "a2", "c1", "n1"):
        ag.record_attendance(org, "present", on=MEETING)
    assert ag.open(on=MEETING)
    ag.pull_events()
    return ag


def test_convocation_freezes_roll_and_agenda_and_counts_voters_per_college():
    ag = Assembly.convene("ag-1", title="AG 2051", meeting_on=MEETING, on=SENT, roll=ROLL, statutes=DEFAULT_STATUTES,
                          agenda=[{"title": "Rapport moral"}])
    [event] = ag.pull_events()
    assert event.voters == 6 and event.non_voters == 1 and event.reference_on == SENT
    assert event.voters_per_college == {"associations": 4, "cooperatives": 1, "networks": 1}
    assert [r.resolution_id for r in ag.resolutions] == ["r1"] and ag.status is AssemblyStatus.CONVENED


def test_a_convocation_sent_too_late_is_refused_naming_the_rule_and_the_dates():
    with pytest.raises(InvalidInput) as e:
        convene(on=D(2051, 5, 29))  # 14 days before, 15 required
    assert e.value.field == "meeting_on"
    assert "statutes.notice_days" in e.value.detail
    assert "2051-05-29" in e.value.detail and "2051-05-28" in e.value.detail
    convene(on=D(2051, 5, 28))  # exactly 15 days: fine


def test_reference_date_after_the_convocation_and_bad_agenda_are_refused():
    with pytest.raises(InvalidInput) as e:
        convene(reference_on=D(2051, 5, 21))
    assert e.value.field == "reference_on"
    with pytest.raises(InvalidInput) as e:
        convene(agenda=[{"title": "ok"}, {"title": "x", "kind": "secret"}])
    assert e.value.field == "agenda.1.kind"
    with pytest.raises(InvalidInput) as e:
        convene(seats_to_fill={"clubs": 1})
    assert e.value.field == "seats_to_fill.clubs"


def test_proxies_go_to_a_member_present_with_rights_within_the_statutes_limit():
    ag = convene()
    with pytest.raises(InvalidInput, match="must be present"):
        ag.give_proxy("a3", "a1", on=MEETING)
    ag.record_attendance("a1", "present", on=MEETING)
    with pytest.raises(InvalidInput) as e:
        ag.give_proxy("x1", "a1", on=MEETING)
    assert e.value.field == "grantor_id" and "no voting rights" in e.value.detail
    with pytest.raises(InvalidInput):
        ag.give_proxy("a1", "a1", on=MEETING)
    with pytest.raises(InvalidInput) as e:
        ag.give_proxy("zz", "a1", on=MEETING)
    assert "not on the roll" in e.value.detail
    ag.give_proxy("a3", "a1", on=MEETING)
    ag.give_proxy("a4", "a1", on=MEETING)
    with pytest.raises(InvalidInput) as e:
        ag.give_proxy("c1", "a1", on=MEETING)
    assert e.value.field == "holder_id" and "statutes.max_proxies_per_holder" in e.value.detail
    with pytest.raises(Conflict, match="already gave its proxy"):
        ag.give_proxy("a3", "a1", on=MEETING)
    with pytest.raises(Conflict, match="is present"):
        ag.give_proxy("a1", "a2", on=MEETING)
    with pytest.raises(Conflict, match="holds the proxies"):
        ag.record_attendance("a1", "excused", on=MEETING)
    assert [type(e) for e in ag.pull_events()][-2:] == [ProxyGiven, ProxyGiven]
    # a represented member who comes in person is present again: its proxy ends
    ag.record_attendance("a3", "present", on=MEETING)
    assert ag.session.proxies == {"a4": "a1"}


def test_quorum_live_then_second_convocation_with_its_own_rule():
    ag = convene()
    ag.record_attendance("a1", "present", on=MEETING)
    q = ag.quorum()
    assert (q.counted, q.voters, q.required, q.met) == (1, 6, 2, False)  # 1/4 of 6 voters → 2
    ag.record_attendance("x1", "present", on=MEETING)
    assert ag.quorum().counted == 1, "a member without voting rights does not count"
    with pytest.raises(InvalidInput):
        ag.open(on=D(2051, 6, 11))
    assert ag.open(on=MEETING) is False
    assert isinstance(ag.pull_events()[-1], AssemblyQuorumNotReached)
    with pytest.raises(Conflict):
        ag.vote("r1", "a1", "for", on=MEETING)
    with pytest.raises(InvalidInput, match="statutes.second_notice_days"):
        ag.reconvene(meeting_on=D(2051, 6, 15), on=MEETING)
    ag.reconvene(meeting_on=D(2051, 6, 26), on=MEETING)
    assert ag.session.convocation_number == 2 and ag.session.attendance == {}
    assert ag.quorum().required == 0  # no quorum at the second convocation (default statutes)
    ag.record_attendance("a2", "present", on=D(2051, 6, 26))
    assert ag.open(on=D(2051, 6, 26)) is True and ag.status is AssemblyStatus.IN_SESSION
    with pytest.raises(Conflict):
        ag.reconvene(meeting_on=D(2051, 7, 26), on=D(2051, 6, 26))


def test_weighted_quorum_counts_the_colleges_weights():
    statutes = DEFAULT_STATUTES.model_copy(update={"quorum": QuorumRule(share="1/2", weighted=True)})
    ag = convene(statutes=statutes)
    ag.record_attendance("n1", "present", on=MEETING)  # networks weigh 2
    ag.record_attendance("a1", "present", on=MEETING)
    q = ag.quorum()
    assert (q.counted, q.voters, q.required, q.met) == (3, 7, 4, False)
    ag.record_attendance("a2", "present", on=MEETING)
    assert ag.quorum().met


def test_votes_count_per_college_weighted_and_proxies_vote_with_their_holder():
    ag = in_session()
    ag.give_proxy("a3", "a1", on=MEETING)
    assert ag.vote("r1", "a1", "for", on=MEETING) == ["a1", "a3"]
    ballot = [e for e in ag.pull_events() if isinstance(e, BallotCast)][0]
    assert ballot.represented_ids == ["a3"] and not hasattr(ballot, "choice")
    ag.vote("r1", "n1", "against", on=MEETING)
    ag.vote("r1", "c1", "abstain", on=MEETING)
    decision = ag.decide("r1", on=MEETING)
    by_college = {r.college: r for r in decision.results}
    assert (by_college["associations"].for_count, by_college["associations"].for_weight) == (2, 2)
    assert (by_college["networks"].against_count, by_college["networks"].against_weight) == (1, 2)
    assert by_college["cooperatives"].abstain_count == 1 and by_college["mutuals"].for_count == 0
    assert (decision.for_weight, decision.against_weight, decision.abstain_weight) == (2, 2, 1)
    assert decision.adopted is False, "2 for, 2 against (weighted): not more than half"
    assert isinstance(ag.pull_events()[-1], ResolutionRejected)


def test_vote_errors_name_the_rule():
    ag = in_session()
    ag.give_proxy("a3", "a1", on=MEETING)
    ag.record_attendance("x1", "present", on=MEETING)
    with pytest.raises(InvalidInput) as e:
        ag.vote("r1", "x1", "for", on=MEETING)
    assert e.value.field == "voter_id" and "no voting rights" in e.value.detail and "dues" in e.value.detail
    with pytest.raises(InvalidInput, match="proxy holder a1 votes for it"):
        ag.vote("r1", "a3", "for", on=MEETING)
    with pytest.raises(InvalidInput, match="only members present vote"):
        ag.vote("r1", "a4", "for", on=MEETING)
    with pytest.raises(NotFound, match="r9"):
        ag.vote("r9", "a1", "for", on=MEETING)
    with pytest.raises(InvalidInput) as e:
        ag.vote("r1", "a1", "maybe", on=MEETING)
    assert e.value.field == "choice"
    ag.vote("r1", "a1", "for", on=MEETING)
    with pytest.raises(Conflict, match="already voted"):
        ag.vote("r1", "a1", "against", on=MEETING)
    ag.decide("r1", on=MEETING)
    with pytest.raises(Conflict, match="already adopted"):
        ag.vote("r1", "a2", "for", on=MEETING)


def test_extraordinary_resolutions_need_the_qualified_majority():
    ag = in_session()
    for voter, choice in (("a1", "for"), ("a2", "for"), ("c1", "against")):
        ag.vote("r2", voter, choice, on=MEETING)
    ag.vote("r1", "a1", "for", on=MEETING)
    assert ag.decide("r2", on=MEETING).adopted is True  # 2/3 exactly, "at least"
    ag.vote("r1", "c1", "against", on=MEETING)
    assert ag.decide("r1", on=MEETING).adopted is False


def test_closing_decides_open_resolutions_and_makes_the_record_immutable():
    ag = in_session()
    ag.vote("r1", "a1", "for", on=MEETING)
    ag.close(on=MEETING)
    events = ag.pull_events()
    assert [type(e) for e in events] == [BallotCast, ResolutionAdopted, ResolutionRejected, AssemblyClosed]
    closed = events[-1]
    assert (closed.present, closed.represented, closed.absent) == (4, 0, 3)
    assert closed.resolutions_adopted == ["r1"] and closed.resolutions_rejected == ["r2"]
    for change in (lambda: ag.vote("r1", "a2", "for", on=MEETING),
                   lambda: ag.record_attendance("a3", "present", on=MEETING),
                   lambda: ag.give_proxy("a3", "a1", on=MEETING),
                   lambda: ag.decide("r1", on=MEETING),
                   lambda: ag.register_candidacy("a1", on=MEETING),
                   lambda: ag.close(on=MEETING)):
        with pytest.raises(Conflict, match="closed on 2051-06-12"):
            change()
    assert ag.pull_events() == []


def test_a_convened_assembly_cannot_be_closed_before_its_session():
    with pytest.raises(Conflict, match="open the session"):
        convene().close(on=MEETING)


def test_board_election_fills_each_colleges_seats_by_most_weighted_votes():
    ag = convene()
    for org in ("a1", "a2", "a3", "n1"):
        ag.register_candidacy(org, on=SENT)
    with pytest.raises(InvalidInput, match="no board seat"):
        ag.register_candidacy("c1", on=SENT)
    with pytest.raises(Conflict):
        ag.register_candidacy("a1", on=SENT)
    with pytest.raises(InvalidInput, match="no voting rights"):
        ag.register_candidacy("x1", on=SENT)
    for org in ("a1", "a2", "c1", "n1"):
        ag.record_attendance(org, "present", on=MEETING)
    ag.open(on=MEETING)
    with pytest.raises(InvalidInput) as e:
        ag.vote_board("a1", ["a1", "a2", "a3"], on=MEETING)
    assert e.value.field == "candidate_ids.2" and "at most 2" in e.value.detail
    with pytest.raises(InvalidInput):
        ag.vote_board("a1", ["c1"], on=MEETING)
    ag.vote_board("a1", ["a1", "a3"], on=MEETING)
    ag.vote_board("n1", ["a2", "a3", "n1"], on=MEETING)  # weight 2
    ag.vote_board("c1", ["a2"], on=MEETING)
    with pytest.raises(Conflict):
        ag.vote_board("c1", ["a1"], on=MEETING)
    with pytest.raises(Conflict, match="elect the board"):
        ag.close(on=MEETING)
    results = {r.organisation_id: r for r in ag.mark_board_elected(on=MEETING)}
    assert (results["a3"].votes_weight, results["a2"].votes_weight, results["a1"].votes_weight) == (3, 3, 1)
    assert [o for o, r in results.items() if r.elected] == ["a2", "a3", "n1"]
    assert results["a2"].rank == 1, "a tie goes to the earlier candidacy (a2 before a3)"
    board = Board.start()
    ids = (f"mdt-{i}" for i in count(1))
    board.elect(ag, list(results.values()), statutes=DEFAULT_STATUTES, new_id=lambda: next(ids))
    events = board.pull_events()
    assert isinstance(events[0], BoardElected) and [type(e) for e in events[1:]] == [MandateStarted] * 3
    assert events[0].vacant_seats == {}
    sitting = board.sitting_on(MEETING)
    assert sorted(m.organisation_id for m in sitting) == ["a2", "a3", "n1"]
    assert sitting[0].end_on == D(2054, 6, 11)
    assert board.sitting_on(D(2054, 6, 12)) == [] and board.sitting_on(D(2051, 6, 11)) == []
    assert board.seats_to_fill(DEFAULT_STATUTES, MEETING) == {"associations": 4, "cooperatives": 4, "mutuals": 2,
                                                              "foundations": 1, "commercial": 1, "networks": 1}


def test_renewal_by_thirds_staggers_a_first_boards_terms():
    assert staggered_years(6, 3) == [3, 3, 2, 2, 1, 1]
    assert staggered_years(4, 3) == [3, 3, 2, 1]
    assert staggered_years(1, 6) == [6]


def test_mandates_end_early_or_by_term():
    ag = convene(seats_to_fill={"associations": 1})
    ag.register_candidacy("a1", on=SENT)
    for org in ("a1", "a2"):
        ag.record_attendance(org, "present", on=MEETING)
    ag.open(on=MEETING)
    ag.vote_board("a2", ["a1"], on=MEETING)
    board = Board.start()
    [mandate] = board.elect(ag, ag.mark_board_elected(on=MEETING), statutes=DEFAULT_STATUTES, new_id=lambda: "m1")
    board.pull_events()
    with pytest.raises(InvalidInput):
        board.end_mandate("m1", "resigned", on=D(2055, 1, 1))
    board.end_mandate("m1", "resigned", on=D(2052, 1, 31))
    assert board.sitting_on(D(2052, 1, 31)) and not board.sitting_on(D(2052, 2, 1))
    with pytest.raises(Conflict):
        board.end_mandate("m1", "other", on=D(2052, 2, 1))
    assert board.expire_terms(on=D(2060, 1, 1)) == []
    with pytest.raises(NotFound):
        board.end_mandate("m9", "resigned", on=D(2052, 1, 1))
    other = Board.start()
    other.elect(ag, ag.board_result(), statutes=DEFAULT_STATUTES, new_id=lambda: "m2")
    other.pull_events()
    [expired] = other.expire_terms(on=D(2054, 6, 12))
    assert isinstance(other.pull_events()[0], MandateEnded) and expired.last_day == D(2054, 6, 11)
    assert other.expire_terms(on=D(2054, 6, 13)) == []


def test_nothing_is_voted_before_the_session_opened():
    ag = in_session()
    with pytest.raises(InvalidInput) as e:
        ag.vote("r1", "a1", "for", on=D(2051, 6, 11))
    assert e.value.field == "on"


def test_a_member_that_stops_being_one_leaves_the_board():
    ag = convene(seats_to_fill={"associations": 2})
    for org in ("a1", "a2"):
        ag.register_candidacy(org, on=SENT)
        ag.record_attendance(org, "present", on=MEETING)
    ag.open(on=MEETING)
    ag.vote_board("a1", ["a1", "a2"], on=MEETING)
    board = Board.start()
    ids = iter(["m1", "m2"])
    board.elect(ag, ag.mark_board_elected(on=MEETING), statutes=DEFAULT_STATUTES, new_id=lambda: next(ids))
    board.pull_events()
    [ended] = board.membership_ended("a2", last_day=D(2052, 4, 9))
    assert (ended.mandate_id, ended.last_day, ended.end_reason.value) == ("m2", D(2052, 4, 9), "membership_ended")
    assert [m.organisation_id for m in board.sitting_on(D(2052, 4, 10))] == ["a1"]
    assert board.membership_ended("a2", last_day=D(2052, 5, 1)) == [], "idempotent"
    assert board.membership_ended("a1", last_day=D(2060, 1, 1)) == [], "a term already over is left to expire"
    assert [type(e) for e in board.pull_events()] == [MandateEnded]


def test_a_represented_member_arriving_after_its_holder_voted_has_voted():
    ag = in_session()
    ag.give_proxy("a3", "a1", on=MEETING)
    ag.vote("r1", "a1", "for", on=MEETING)
    ag.record_attendance("a3", "present", on=MEETING)  # comes in person: its proxy ends
    with pytest.raises(Conflict, match="already voted"):
        ag.vote("r1", "a3", "against", on=MEETING)
    ag.vote("r2", "a3", "against", on=MEETING)  # the next item: its own ballot
    assert ag.resolution("r1").ballots["a3"].value == "for"


def test_seats_filled_since_the_convocation_are_not_filled_twice():
    elections = []
    for assembly_id in ("ag-1", "ag-2"):
        ag = Assembly.convene(assembly_id, title="AG", meeting_on=MEETING, on=SENT, roll=ROLL,
                              statutes=DEFAULT_STATUTES, seats_to_fill={"networks": 2})
        ag.register_candidacy("n1", on=SENT)
        ag.record_attendance("n1", "present", on=MEETING)
        ag.record_attendance("a1", "present", on=MEETING)
        assert ag.open(on=MEETING)
        ag.vote_board("n1", ["n1"], on=MEETING)
        elections.append((ag, ag.mark_board_elected(on=MEETING)))
    one_seat = DEFAULT_STATUTES.model_copy(update={"colleges": tuple(
        c.model_copy(update={"board_seats": 1}) if c.code == "networks" else c for c in DEFAULT_STATUTES.colleges)})
    board = Board.start()
    board.elect(*elections[0], statutes=one_seat, new_id=lambda: "m1")
    with pytest.raises(Conflict, match="filled since the convocation"):
        board.elect(*elections[1], statutes=one_seat, new_id=lambda: "m2")
