"""The board: each mandate's dates (29 February, renewal by thirds on a first board only), the
seats left vacant, the boundaries of a term's last day, and every refusal's field and words."""
from __future__ import annotations

from datetime import date
from itertools import count

import pytest

from contracts.membership import BoardElected, MandateEnded, MandateStarted
from runtime.errors import Conflict, InvalidInput, NotFound
from services.membership.domain.governance import (DEFAULT_STATUTES, Assembly, Board, BoardRules, CandidateResult,
                                                   RollEntry, staggered_years)
from services.membership.domain.governance.board import add_years

D = date
MEETING = D(2051, 6, 12)
SENT = D(2051, 5, 20)
ROLL = [RollEntry(organisation_id=o, member_id=o, college=c, weight=1, voting_rights=True)
        for o, c in (("a1", "associations"), ("a2", "associations"), ("a3", "associations"),
                     ("a4", "associations"), ("a5", "associations"), ("a6", "associations"),
                     ("n1", "networks"))]
BY_THIRDS = DEFAULT_STATUTES.model_copy(update={"board": BoardRules(renewal_by_thirds=True)})


def assembly(seats: dict[str, int], assembly_id: str = "ag-1", meeting_on: date = MEETING) -> Assembly:
    return Assembly.convene(assembly_id, title="AG", meeting_on=meeting_on, on=meeting_on - (MEETING - SENT),
                            roll=ROLL, statutes=DEFAULT_STATUTES, seats_to_fill=seats)


def elected(*orgs: str, college: str = "associations") -> list[CandidateResult]:
    return [CandidateResult(organisation_id=o, college=college, votes_weight=10 - rank, rank=rank, elected=True)
            for rank, o in enumerate(orgs, 1)]


def ids():
    numbers = count(1)
    return lambda: f"m{next(numbers)}"


def test_a_year_later_is_the_same_day_and_29_february_becomes_28():
    assert add_years(D(2052, 2, 29), 3) == D(2055, 2, 28)
    assert add_years(D(2052, 2, 29), 4) == D(2056, 2, 29)
    assert add_years(D(2051, 6, 12), 3) == D(2054, 6, 12)


def test_renewal_by_thirds_rounds_each_third_and_keeps_a_year_at_least():
    assert staggered_years(3, 2) == [2, 1, 1]
    assert staggered_years(3, 6) == [6, 4, 2]
    assert staggered_years(3, 9) == [9, 6, 3]
    assert staggered_years(5, 1) == [1, 1, 1, 1, 1]


def test_without_renewal_by_thirds_every_elected_serves_the_full_term():
    board = Board.start()
    mandates = board.elect(assembly({"associations": 3}), elected("a1", "a2", "a3"), statutes=DEFAULT_STATUTES,
                           new_id=ids())
    assert [m.end_on for m in mandates] == [D(2054, 6, 11)] * 3


def test_renewal_by_thirds_staggers_a_college_s_first_board_only():
    board = Board.start()
    first = board.elect(assembly({"associations": 6}), elected("a1", "a2", "a3"), statutes=BY_THIRDS,
                        new_id=ids())
    assert [(m.organisation_id, m.end_on) for m in first] == [
        ("a1", D(2054, 6, 11)), ("a2", D(2053, 6, 11)), ("a3", D(2052, 6, 11))]
    events = board.pull_events()
    assert [e.end_on for e in events[0].seats] == [D(2054, 6, 11), D(2053, 6, 11), D(2052, 6, 11)]
    assert [(type(e), e.mandate_id, e.end_on) for e in events[1:]] == [
        (MandateStarted, "m1", D(2054, 6, 11)), (MandateStarted, "m2", D(2053, 6, 11)),
        (MandateStarted, "m3", D(2052, 6, 11))]
    later = board.elect(assembly({"associations": 3}, "ag-2"), elected("a4", "a5", "a6"), statutes=BY_THIRDS,
                        new_id=ids())
    assert [m.end_on for m in later] == [D(2054, 6, 11)] * 3, "three sit already: not a first board"
    assert board.seats_to_fill(BY_THIRDS, MEETING) == {"cooperatives": 4, "mutuals": 2, "foundations": 1,
                                                       "commercial": 1, "networks": 2}


def test_the_seats_left_vacant_are_those_of_the_convocation_less_the_elected():
    board = Board.start()
    board.elect(assembly({"associations": 3, "networks": 1}), elected("a1"), statutes=DEFAULT_STATUTES,
                new_id=ids())
    event = board.pull_events()[0]
    assert isinstance(event, BoardElected) and event.vacant_seats == {"associations": 2, "networks": 1}


def test_seats_filled_since_the_convocation_are_refused_naming_the_seats_vacant():
    board = Board.start()
    board.elect(assembly({"associations": 5}), elected("a1", "a2", "a3", "a4", "a5"), statutes=DEFAULT_STATUTES,
                new_id=ids())
    with pytest.raises(Conflict) as e:
        board.elect(assembly({"associations": 2}, "ag-2"), elected("a6", "a1"), statutes=DEFAULT_STATUTES,
                    new_id=ids())
    assert e.value.detail == ("college associations has 1 board seats vacant on 2051-06-12, not 2: they were "
                              "filled since the convocation")
    assert e.value.extra == {"current_state": "filled"}
    board.elect(assembly({"associations": 1}, "ag-3"), elected("a6"), statutes=DEFAULT_STATUTES, new_id=ids())
    with pytest.raises(Conflict) as e:
        board.elect(assembly({"associations": 1}, "ag-4"), elected("a1"), statutes=DEFAULT_STATUTES, new_id=ids())
    assert e.value.detail.startswith("college associations has 0 board seats vacant on 2051-06-12, not 1:")
    assert "associations" not in board.seats_to_fill(DEFAULT_STATUTES, MEETING), "all its seats are filled"


def test_a_college_the_statutes_no_longer_have_has_no_seat_to_fill():
    without_networks = DEFAULT_STATUTES.model_copy(update={"colleges": tuple(
        c for c in DEFAULT_STATUTES.colleges if c.code != "networks")})
    with pytest.raises(Conflict) as e:
        Board.start().elect(assembly({"networks": 1}), elected("n1", college="networks"),
                            statutes=without_networks, new_id=ids())
    assert e.value.detail.startswith("college networks has 0 board seats vacant on 2051-06-12, not 1:")


def one_mandate() -> Board:
    """m1 of a1, from 2051-06-12 to 2054-06-11."""
    board = Board.start()
    board.elect(assembly({"associations": 1}), elected("a1"), statutes=DEFAULT_STATUTES, new_id=ids())
    board.pull_events()
    return board


def test_a_term_runs_through_its_last_day():
    board = one_mandate()
    assert board.expire_terms(on=D(2054, 6, 11)) == []
    [expired] = board.expire_terms(on=D(2054, 6, 12))
    assert (expired.mandate_id, expired.end_reason.value) == ("m1", "term_expired")


def test_a_mandate_may_end_early_on_its_first_or_its_last_day():
    board = one_mandate()
    assert board.end_mandate("m1", "resigned", on=D(2054, 6, 11)).ended_on == D(2054, 6, 11)
    board = one_mandate()
    assert board.end_mandate("m1", "other", on=MEETING).ended_on == MEETING


def test_a_membership_ending_on_a_mandate_s_first_or_last_day_ends_it():
    board = one_mandate()
    [ended] = board.membership_ended("a1", last_day=MEETING)
    assert (ended.ended_on, ended.end_reason.value) == (MEETING, "membership_ended")
    board = one_mandate()
    [ended] = board.membership_ended("a1", last_day=D(2054, 6, 11))
    assert (ended.ended_on, ended.end_reason.value) == (D(2054, 6, 11), "membership_ended")
    [event] = board.pull_events()
    assert isinstance(event, MandateEnded) and (event.ended_on, event.reason.value) == (
        D(2054, 6, 11), "membership_ended")


def test_ending_a_mandate_early_says_what_is_wrong():
    board = one_mandate()
    with pytest.raises(InvalidInput) as e:
        board.end_mandate("m1", "fired", on=D(2052, 1, 1))
    assert (e.value.field, e.value.detail) == (
        "reason", "unknown reason 'fired'; expected one of: term_expired, resigned, membership_ended, other")
    with pytest.raises(InvalidInput) as e:
        board.end_mandate("m1", "term_expired", on=D(2052, 1, 1))
    assert (e.value.field, e.value.detail) == (
        "reason", "a term expires by itself on its end date; give the reason it ends early")
    with pytest.raises(InvalidInput) as e:
        board.end_mandate("m1", "resigned", on=D(2051, 6, 11))
    assert (e.value.field, e.value.detail) == ("on", "on 2051-06-11 is before the start of mandate m1 (2051-06-12)")
    with pytest.raises(InvalidInput) as e:
        board.end_mandate("m1", "resigned", on=D(2054, 6, 12))
    assert (e.value.field, e.value.detail) == ("on", "mandate m1 ends on 2054-06-11 by its term")
    with pytest.raises(NotFound) as e:
        board.end_mandate("m9", "resigned", on=D(2052, 1, 1))
    assert (e.value.detail, e.value.extra) == ("no board mandate 'm9'", {"mandate_id": "m9"})
    board.end_mandate("m1", "resigned", on=D(2052, 1, 31))
    with pytest.raises(Conflict) as e:
        board.end_mandate("m1", "other", on=D(2052, 2, 1))
    assert (e.value.detail, e.value.extra) == ("mandate m1 already ended on 2052-01-31 (resigned)",
                                               {"current_state": "ended"})
