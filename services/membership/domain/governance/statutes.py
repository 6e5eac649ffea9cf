"""The statutes' governance rules: colleges and their weights, notice periods, voting rights,
proxies, quorum, majorities and the board's seats and mandates.

A value object the service layer configures (like the fee scale): a JSON file or the defaults
of :data:`DEFAULT_STATUTES`, validated at start-up (a bad file stops the start, naming the
field). An assembly keeps a copy of the statutes it was convened under, so that a later change
of the configuration never rewrites its record.

Shares (quorum, majorities) are exact fractions written ``"1/4"``, ``"2/3"``, ``"0"``: no
rounding surprise at the boundary (a third of 30 voters is 10, not 9.999…).
"""
from __future__ import annotations

import math
from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contracts.membership import LegalForm, ResolutionKind
from runtime.errors import InvalidInput


def _share(value: object) -> str:
    try:
        share = Fraction(str(value).strip())
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{value!r} is not a share such as \"1/4\", \"2/3\" or \"0\"") from None
    if not 0 <= share <= 1:
        raise ValueError(f"share {value!r} must be between 0 and 1")
    return str(share)


class College(BaseModel):
    """A college (collège) of members: the legal forms it gathers, the weight of each of its
    members' votes, and its seats on the board. A college with no legal form gathers only the
    members staff assign to it explicitly (e.g. networks, têtes de réseau)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$", description="Short code of the college.",
                      examples=["associations"])
    label: str = Field(min_length=1, max_length=200, description="Its name, for display.",
                       examples=["Collège des associations"])
    legal_forms: tuple[LegalForm, ...] = Field(default=(), description="Legal forms whose members belong to it.",
                                               examples=[["association"]])
    vote_weight: int = Field(default=1, ge=1, le=1000, description="What one member's vote counts.", examples=[1])
    board_seats: int = Field(default=0, ge=0, le=100, description="Its seats on the board.", examples=[6])


class QuorumRule(BaseModel):
    """The quorum: voters present or represented must be at least ``share`` of all the voters of
    the roll (of their weights when ``weighted``). ``"0"``: no quorum."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    share: str = Field(default="1/4", description="Share of the voters, e.g. \"1/4\".", examples=["1/4"])
    weighted: bool = Field(default=False, description="Count the colleges' weights instead of members.")

    _check = field_validator("share", mode="before")(classmethod(lambda cls, v: _share(v)))

    def required(self, voters: int) -> int:
        """The least number (or weight) present or represented that meets the quorum."""
        return math.ceil(Fraction(self.share) * voters)

    def describe(self) -> str:
        if Fraction(self.share) == 0:
            return "no quorum"
        return f"{self.share} of the voters{' (weighted)' if self.weighted else ''} present or represented"


class MajorityRule(BaseModel):
    """When a resolution is adopted: votes for must be more than (``strict``) or at least
    ``share`` of the votes for and against — and the abstentions too when
    ``abstentions_count`` (an abstention then weighs like a vote against). Weighted by the
    colleges' weights when ``weighted``. No vote at all: rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    share: str = Field(default="1/2", examples=["1/2"])
    strict: bool = Field(default=True, description="More than the share (simple majority) or at least it.")
    abstentions_count: bool = Field(default=False, description="Abstentions count among the votes cast.")
    weighted: bool = Field(default=True, description="Count the colleges' weights.")

    _check = field_validator("share", mode="before")(classmethod(lambda cls, v: _share(v)))

    def adopted(self, for_: int, against: int, abstain: int) -> bool:
        cast = for_ + against + (abstain if self.abstentions_count else 0)
        if cast == 0:
            return False
        threshold = Fraction(self.share) * cast
        return for_ > threshold if self.strict else for_ >= threshold

    def describe(self) -> str:
        return (f"{'more than' if self.strict else 'at least'} {self.share} of the "
                f"{'weighted ' if self.weighted else ''}votes for or against "
                f"(abstentions {'counted' if self.abstentions_count else 'not counted'})")


class BoardRules(BaseModel):
    """Mandates last ``mandate_years``; with ``renewal_by_thirds`` a college's first board is
    elected with staggered terms (a third each for the full term, two thirds of it and one third,
    by rank of votes) so that about a third of its seats comes up at each later election."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mandate_years: int = Field(default=3, ge=1, le=12)
    renewal_by_thirds: bool = Field(default=False)


class Statutes(BaseModel):
    """The governance rules of the statutes. Every legal form belongs to exactly one college."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    colleges: tuple[College, ...] = Field(min_length=1)
    notice_days: int = Field(default=15, ge=0, le=365,
                             description="Least days between the convocation and the assembly.")
    second_notice_days: int = Field(default=6, ge=0, le=365,
                                    description="Least days' notice of a second convocation.")
    dues_paid_required: bool = Field(default=True,
                                     description="Voting rights need the reference year's dues paid by the "
                                                 "reference date (beyond being in good standing).")
    max_proxies_per_holder: int = Field(default=2, ge=0, le=100,
                                        description="Most proxies (pouvoirs) one member present may hold.")
    quorum: QuorumRule = Field(default_factory=QuorumRule, description="Quorum of a first convocation.")
    second_quorum: QuorumRule = Field(default_factory=lambda: QuorumRule(share="0"),
                                      description="Quorum of a second convocation (\"0\": none).")
    ordinary_majority: MajorityRule = Field(default_factory=MajorityRule)
    extraordinary_majority: MajorityRule = Field(
        default_factory=lambda: MajorityRule(share="2/3", strict=False))
    board: BoardRules = Field(default_factory=BoardRules)

    @model_validator(mode="after")
    def _check(self) -> Statutes:
        codes = [c.code for c in self.colleges]
        if len(set(codes)) != len(codes):
            raise ValueError(f"college codes must be unique: {codes}")
        for form in LegalForm:
            owners = [c.code for c in self.colleges if form in c.legal_forms]
            if len(owners) != 1:
                raise ValueError(f"legal form {form.value!r} must belong to exactly one college, not {owners}")
        return self

    def college(self, code: str, field: str = "college") -> College:
        """The college of that code; :class:`InvalidInput` naming ``field`` otherwise."""
        for college in self.colleges:
            if college.code == code:
                return college
        raise InvalidInput(field, f"unknown college {code!r}; the statutes' colleges are: "
                                  f"{', '.join(c.code for c in self.colleges)}")

    def college_for(self, legal_form: LegalForm) -> College:
        return next(c for c in self.colleges if legal_form in c.legal_forms)

    def majority(self, kind: ResolutionKind) -> MajorityRule:
        return self.extraordinary_majority if kind is ResolutionKind.EXTRAORDINARY else self.ordinary_majority


#: Plausible statutes of a regional chamber; the real ones come from configuration
#: (``MEMBERSHIP_STATUTES_FILE``).
DEFAULT_STATUTES = Statutes(colleges=(
    College(code="associations", label="Associations", legal_forms=(LegalForm.ASSOCIATION,), board_seats=6),
    College(code="cooperatives", label="Coopératives",
            legal_forms=(LegalForm.SCOP, LegalForm.SCIC, LegalForm.CAE, LegalForm.COOPERATIVE), board_seats=4),
    College(code="mutuals", label="Mutuelles", legal_forms=(LegalForm.MUTUAL,), board_seats=2),
    College(code="foundations", label="Fondations", legal_forms=(LegalForm.FOUNDATION,), board_seats=1),
    College(code="commercial", label="Sociétés commerciales de l'ESS", legal_forms=(LegalForm.SCESS,),
            board_seats=1),
    College(code="networks", label="Têtes de réseau (sur décision du bureau)", vote_weight=2, board_seats=2),
))
