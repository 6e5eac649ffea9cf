"""Request and response bodies of the governance API (general assemblies, board, colleges,
commissions), with examples for the docs. Rules (notice, voting rights, proxies, quorum,
majorities) are the domain's: they come back as 422 / 409 problem details naming the rule."""
from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.membership import Attendance, CommissionKind, MandateEndReason, ResolutionKind, VoteChoice
from runtime.api import Body
from services.membership.domain.governance import CandidateResult, Mandate, Participation, RollEntry


def _on(example: str) -> Any:
    return Field(None, description="Date of the fact (defaults to today, Europe/Paris).", examples=[example])


class ResolutionIn(Body):
    title: str = Field(min_length=1, max_length=1000, description="The resolution as put to the vote.",
                       examples=["Approbation des comptes 2050"])
    kind: ResolutionKind = Field(ResolutionKind.ORDINARY, description="Which majority of the statutes applies.",
                                 examples=["ordinary"])


class ConveneIn(Body):
    title: str = Field(min_length=1, max_length=300, description="Name of the assembly.",
                       examples=["Assemblée générale ordinaire 2051"])
    meeting_on: date = Field(description="Date of the assembly (the statutes' notice applies).",
                             examples=["2051-06-12"])
    agenda: list[ResolutionIn] = Field(default_factory=list, max_length=200,
                                       description="The resolutions, in order (ids r1, r2…).")
    reference_on: date | None = Field(None, description="Date the voting rights are assessed on; defaults to the "
                                                        "convocation's date, never after it.", examples=["2051-05-20"])
    on: date | None = _on("2051-05-20")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "title": "Assemblée générale ordinaire 2051", "meeting_on": "2051-06-12", "on": "2051-05-20",
        "agenda": [{"title": "Rapport moral et d'activité", "kind": "ordinary"},
                   {"title": "Modification de l'article 7 des statuts", "kind": "extraordinary"}]}]})


class ReconveneIn(Body):
    meeting_on: date = Field(description="Date of the second session.", examples=["2051-06-26"])
    on: date | None = _on("2051-06-12")


class AttendanceIn(Body):
    organisation_id: str = Field(min_length=1, max_length=100, description="A member on the roll.",
                                 examples=["org-5f1c2a9b3d7e"])
    attendance: Attendance = Field(description="present, excused or absent (represented: give a proxy).",
                                   examples=["present"])
    on: date | None = _on("2051-06-12")


class ProxyIn(Body):
    grantor_id: str = Field(min_length=1, max_length=100, description="The member giving its proxy.",
                            examples=["org-11aa22bb33cc"])
    holder_id: str = Field(min_length=1, max_length=100, description="The member present holding it.",
                           examples=["org-33bb44cc55dd"])
    on: date | None = _on("2051-06-12")


class VoteIn(Body):
    voter_id: str = Field(min_length=1, max_length=100, description="The member present voting (for itself and "
                                                                    "those it represents).",
                          examples=["org-33bb44cc55dd"])
    choice: VoteChoice = Field(description="for, against or abstain.", examples=["for"])
    on: date | None = _on("2051-06-12")


class CandidacyIn(Body):
    organisation_id: str = Field(min_length=1, max_length=100, description="A member with voting rights.",
                                 examples=["org-5f1c2a9b3d7e"])
    on: date | None = _on("2051-06-01")


class BoardBallotIn(Body):
    voter_id: str = Field(min_length=1, max_length=100, description="The member present voting.",
                          examples=["org-33bb44cc55dd"])
    candidate_ids: list[str] = Field(max_length=100, description="The candidates approved: at most as many per "
                                                                 "college as it has seats to fill.",
                                     examples=[["org-5f1c2a9b3d7e", "org-77ee88ff99aa"]])
    on: date | None = _on("2051-06-12")


class CollegeIn(Body):
    college: str | None = Field(description="College code of the statutes; null: back to the legal form's.",
                                max_length=40, examples=["networks"])
    on: date | None = _on("2051-01-10")


class MandateEndIn(Body):
    reason: MandateEndReason = Field(description="Why the mandate ends early.", examples=["resigned"])
    on: date | None = _on("2052-01-31")


class CommissionIn(Body):
    name: str = Field(min_length=1, max_length=200, description="Name of the commission or seminar.",
                      examples=["Commission transition écologique"])
    kind: CommissionKind = Field(CommissionKind.COMMISSION, description="commission or seminar.",
                                 examples=["commission"])
    on: date | None = _on("2051-01-15")


class CommissionMemberIn(Body):
    organisation_id: str = Field(min_length=1, max_length=100, description="A member in good standing.",
                                 examples=["org-5f1c2a9b3d7e"])
    on: date | None = _on("2051-02-01")


# -- responses -------------------------------------------------------------------------------------
class VotingRoll(BaseModel):
    """Members with voting rights on a date, and those without (each with why)."""

    on: date
    frozen: bool = Field(description="True: the roll an assembly froze at convocation; false: computed now "
                                     "from the dated facts (the same answer for the same date).")
    with_voting_rights: list[RollEntry]
    without_voting_rights: list[RollEntry]

    @classmethod
    def of(cls, on: date, roll: list[RollEntry], *, frozen: bool) -> VotingRoll:
        return cls(on=on, frozen=frozen, with_voting_rights=[e for e in roll if e.voting_rights],
                   without_voting_rights=[e for e in roll if not e.voting_rights])


class QuorumView(BaseModel):
    assembly_id: str
    convocation_number: int
    status: str
    rule: str = Field(description="The quorum rule of this session, in words.")
    counted: int = Field(description="Voters present or represented (weights if weighted).")
    voters: int
    required: int
    met: bool


class AssemblySummary(BaseModel):
    id: str
    title: str
    status: str
    meeting_on: date
    convocation_number: int
    convened_on: date
    reference_on: date
    closed_on: date | None


class BoardElection(BaseModel):
    assembly_id: str
    results: list[CandidateResult]
    mandates: list[Mandate] = Field(description="The mandates started.")


class CollegeSeats(BaseModel):
    seats: int
    filled: int


class BoardOn(BaseModel):
    """Who sits on the board on a date."""

    on: date
    mandates: list[Mandate]
    seats: dict[str, CollegeSeats] = Field(description="Per college: its seats and how many are filled that day.")


class CollegeOf(BaseModel):
    organisation_id: str
    on: date
    college: str
    vote_weight: int
    explicit: bool = Field(description="True when staff assigned it; false: from the legal form.")


class CommissionMembers(BaseModel):
    commission_id: str
    on: date
    members: list[Participation]
