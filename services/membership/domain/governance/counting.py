"""Counting: the quorum of a session and the results of a vote, per college and weighted.

Pure functions over the roll (:class:`RollEntry`), the attendance and the ballots, so that the
rules can be checked on their own (``tests/unit/membership/test_governance_counting.py``).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from contracts.membership import Attendance, CollegeResult, VoteChoice

from .roll import RollEntry
from .statutes import MajorityRule, QuorumRule


@dataclass(frozen=True)
class QuorumCount:
    counted: int  # voters present or represented (weights if weighted)
    voters: int  # every voter of the roll (weights if weighted)
    required: int  # the least ``counted`` meeting the quorum
    weighted: bool

    @property
    def met(self) -> bool:
        return self.counted >= self.required


def quorum(roll: Iterable[RollEntry], attendance: Mapping[str, Attendance], rule: QuorumRule) -> QuorumCount:
    """Members with voting rights present or represented, against the rule's share of all of them.
    Members without voting rights count for nothing, even present."""
    def size(entry: RollEntry) -> int:
        return entry.weight if rule.weighted else 1

    voters = [e for e in roll if e.voting_rights]
    total = sum(size(e) for e in voters)
    counted = sum(size(e) for e in voters
                  if attendance.get(e.organisation_id) in (Attendance.PRESENT, Attendance.REPRESENTED))
    return QuorumCount(counted=counted, voters=total, required=rule.required(total), weighted=rule.weighted)


@dataclass(frozen=True)
class Tally:
    results: list[CollegeResult]  # one per college, in the statutes' order (colleges with no ballot too)
    for_: int
    against: int
    abstain: int
    adopted: bool


def tally(ballots: Mapping[str, VoteChoice], roll: Iterable[RollEntry], colleges: list[str],
          rule: MajorityRule) -> Tally:
    """Count ``ballots`` (member id → choice; a proxy holder's ballot is already one per member it
    represents) per college, in members and in weights, and decide by ``rule``."""
    by_id = {e.organisation_id: e for e in roll}
    rows = {c: {"for": [0, 0], "against": [0, 0], "abstain": [0, 0]} for c in colleges}
    for member_id, choice in ballots.items():
        entry = by_id[member_id]
        cell = rows.setdefault(entry.college, {"for": [0, 0], "against": [0, 0], "abstain": [0, 0]})[choice.value]
        cell[0] += 1
        cell[1] += entry.weight
    results = [CollegeResult(college=c, for_count=r["for"][0], against_count=r["against"][0],
                             abstain_count=r["abstain"][0], for_weight=r["for"][1], against_weight=r["against"][1],
                             abstain_weight=r["abstain"][1]) for c, r in rows.items()]
    i = 1 if rule.weighted else 0
    totals = {k: sum(r[k][i] for r in rows.values()) for k in ("for", "against", "abstain")}
    return Tally(results=results, for_=totals["for"], against=totals["against"], abstain=totals["abstain"],
                 adopted=rule.adopted(totals["for"], totals["against"], totals["abstain"]))
