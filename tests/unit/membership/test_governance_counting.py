"""Quorum and tallies, by properties (hypothesis), and commissions."""
from __future__ import annotations

import math
from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.membership import Attendance, VoteChoice
from runtime.errors import Conflict, InvalidInput
from services.membership.domain.governance import (Commission, MajorityRule, QuorumRule, RollEntry, quorum,
                                                   tally)

COLLEGES = ["a", "b", "c"]
shares = st.fractions(min_value=0, max_value=1, max_denominator=12).map(str)
entries = st.lists(st.tuples(st.sampled_from(COLLEGES), st.integers(1, 5), st.booleans(),
                             st.sampled_from(list(Attendance)), st.sampled_from(list(VoteChoice))),
                   max_size=40)


def build(rows):
    roll = [RollEntry(organisation_id=f"m{i}", member_id=f"m{i}", college=c, weight=w, voting_rights=r)
            for i, (c, w, r, _, _) in enumerate(rows)]
    attendance = {f"m{i}": a for i, (_, _, _, a, _) in enumerate(rows)}
    ballots = {f"m{i}": v for i, (_, _, r, a, v) in enumerate(rows) if r and a is not Attendance.ABSENT}
    return roll, attendance, ballots


@given(entries, shares, st.booleans())
def test_quorum_is_the_share_of_voters_present_or_represented(rows, share, weighted):
    roll, attendance, _ = build(rows)
    q = quorum(roll, attendance, QuorumRule(share=share, weighted=weighted))
    size = (lambda e: e.weight) if weighted else (lambda e: 1)
    voters = [e for e in roll if e.voting_rights]
    assert q.voters == sum(size(e) for e in voters)
    assert q.counted == sum(size(e) for e in voters
                            if attendance[e.organisation_id] in (Attendance.PRESENT, Attendance.REPRESENTED))
    assert q.met == (q.counted >= Fraction(share) * q.voters)
    assert q.required == math.ceil(Fraction(share) * q.voters)


@given(entries, shares, st.booleans(), st.booleans(), st.booleans())
def test_tally_sums_the_colleges_and_decides_by_the_majority(rows, share, strict, abstentions, weighted):
    roll, _, ballots = build(rows)
    rule = MajorityRule(share=share, strict=strict, abstentions_count=abstentions, weighted=weighted)
    t = tally(ballots, roll, COLLEGES, rule)
    assert [r.college for r in t.results] == COLLEGES
    suffix = "weight" if weighted else "count"
    assert t.for_ == sum(getattr(r, f"for_{suffix}") for r in t.results)
    assert t.against == sum(getattr(r, f"against_{suffix}") for r in t.results)
    assert sum(r.for_count + r.against_count + r.abstain_count for r in t.results) == len(ballots)
    cast = t.for_ + t.against + (t.abstain if abstentions else 0)
    threshold = Fraction(share) * cast
    assert t.adopted == (cast > 0 and (t.for_ > threshold if strict else t.for_ >= threshold))


@given(entries)
def test_one_more_vote_for_never_turns_an_adoption_into_a_rejection(rows):
    roll, _, ballots = build(rows)
    rule = MajorityRule()
    before = tally(ballots, roll, COLLEGES, rule).adopted
    extra = RollEntry(organisation_id="extra", member_id="extra", college="a", weight=1, voting_rights=True)
    after = tally({**ballots, "extra": VoteChoice.FOR}, [*roll, extra], COLLEGES, rule).adopted
    assert after or not before


def test_commission_members_on_a_date():
    c = Commission.create("com-1", name="Commission transition", kind="commission", on=date(2051, 1, 1))
    with pytest.raises(InvalidInput):
        Commission.create("com-2", name=" ", kind="commission", on=date(2051, 1, 1))
    with pytest.raises(InvalidInput) as e:
        Commission.create("com-2", name="x", kind="club", on=date(2051, 1, 1))
    assert e.value.field == "kind"
    with pytest.raises(InvalidInput):
        c.join("org-1", on=date(2050, 12, 31))
    c.join("org-1", on=date(2051, 2, 1))
    c.join("org-2", on=date(2051, 3, 1))
    with pytest.raises(Conflict):
        c.join("org-1", on=date(2051, 4, 1))
    c.leave("org-1", on=date(2051, 6, 30))
    with pytest.raises(Conflict):
        c.leave("org-1", on=date(2051, 7, 1))
    with pytest.raises(Conflict):
        c.join("org-1", on=date(2051, 6, 30))  # still in on its last day
    c.join("org-1", on=date(2052, 1, 1))
    ids = lambda d: [p.organisation_id for p in c.members_on(d)]  # noqa: E731
    assert ids(date(2051, 2, 15)) == ["org-1"]
    assert ids(date(2051, 6, 30)) == ["org-1", "org-2"]
    assert ids(date(2051, 7, 1)) == ["org-2"]
    assert ids(date(2052, 1, 1)) == ["org-2", "org-1"]
    assert [type(e).__name__ for e in c.pull_events()] == [
        "CommissionCreated", "CommissionMemberJoined", "CommissionMemberJoined", "CommissionMemberLeft",
        "CommissionMemberJoined"]


def test_a_ballot_from_a_college_not_listed_gets_its_own_row_after_the_listed_ones():
    """``colleges`` are the statutes' colleges; a voter of another college (statutes changed since
    its roll) is counted all the same, in a row of its own, its figures starting from zero."""
    roll = [RollEntry(organisation_id="m1", member_id="m1", college="a", weight=1, voting_rights=True),
            RollEntry(organisation_id="z1", member_id="z1", college="z", weight=3, voting_rights=True),
            RollEntry(organisation_id="z2", member_id="z2", college="z", weight=3, voting_rights=True)]
    t = tally({"m1": VoteChoice.AGAINST, "z1": VoteChoice.FOR, "z2": VoteChoice.ABSTAIN}, roll, ["a"],
              MajorityRule())
    assert [r.model_dump() for r in t.results] == [
        dict(college="a", for_count=0, against_count=1, abstain_count=0, for_weight=0, against_weight=1,
             abstain_weight=0),
        dict(college="z", for_count=1, against_count=0, abstain_count=1, for_weight=3, against_weight=0,
             abstain_weight=3)]
    assert (t.for_, t.against, t.abstain, t.adopted) == (3, 1, 3, True)
    t = tally({"z1": VoteChoice.AGAINST}, roll, ["a"], MajorityRule(weighted=False))
    assert [r.model_dump() for r in t.results][1] == dict(college="z", for_count=0, against_count=1, abstain_count=0,
                                                          for_weight=0, against_weight=3, abstain_weight=0)
    assert (t.for_, t.against, t.abstain, t.adopted) == (0, 1, 0, False)
