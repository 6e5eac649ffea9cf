"""Governance of the chamber ("instances"): colleges, the general assembly (AG), the board (CA),
commissions and members' seminars. Pure domain, like the rest of :mod:`services.membership.domain`.

- :mod:`.statutes` — :class:`Statutes` (colleges, notice, voting rights, proxies, quorum,
  majorities, board rules), configured like the fee scale; :data:`DEFAULT_STATUTES`.
- :mod:`.roll` — :class:`CollegeAssignment` (staff's dated college of an organisation) and
  :func:`roll_on`: the members and their voting rights on any date, from dated facts only.
- :mod:`.counting` — :func:`quorum` and :func:`tally` (per college, weighted, majority).
- :mod:`.assembly` — :class:`Assembly`: convocation, second convocation, attendance, proxies,
  quorum, ballots, decisions, board candidacies and ballots, closing (then immutable).
- :mod:`.board` — :class:`Board`: mandates from elections, early ends, who sits on a date.
- :mod:`.commission` — :class:`Commission`: commissions and seminars, who belongs on a date.
"""
from .assembly import (BOARD_ELECTION, Assembly, AssemblyStatus, Candidate, CandidateResult, Decision, Election,
                       QuorumFigures, Resolution, Session)
from .board import BOARD_ID, Board, Mandate, staggered_years
from .commission import Commission, Participation
from .counting import QuorumCount, Tally, quorum, tally
from .roll import CollegeAssignment, RollEntry, college_of, roll_on, voting_rights
from .statutes import DEFAULT_STATUTES, BoardRules, College, MajorityRule, QuorumRule, Statutes

__all__ = [
    "Statutes", "College", "QuorumRule", "MajorityRule", "BoardRules", "DEFAULT_STATUTES",
    "CollegeAssignment", "RollEntry", "college_of", "roll_on", "voting_rights",
    "QuorumCount", "Tally", "quorum", "tally",
    "Assembly", "AssemblyStatus", "Resolution", "Decision", "Session", "QuorumFigures", "Election", "Candidate",
    "CandidateResult", "BOARD_ELECTION",
    "Board", "Mandate", "BOARD_ID", "staggered_years",
    "Commission", "Participation",
]
