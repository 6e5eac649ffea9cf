"""Request and response bodies of the needs API, with examples.

Bodies bound sizes and types (an amount band that does not exist, a naive deadline, a negative
amount are 422 naming the field here); the rules (the amount within its band, the deadline in the
future, the article iff reserved, a known commune, the order of the steps) are the domain's and
come back as 422 naming the field or 409 naming the state.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.procurement.needs import (FunnelStep, ImpactAnswer, ImpactRespondent, NeedAbandonReason, NeedKind,
                                         NeedStatus)
from contracts.procurement.vocabulary import AmountBand, ReservedArticle, Sector
from runtime.api import Body, partial
from services.procurement.domain.need_followup import MAX_COMMENT, MAX_QUESTION
from services.procurement.domain.need_funnel import MAX_FEEDBACK
from services.procurement.domain.need_rules import MAX_AMOUNT_CENTS
from services.procurement.domain.needs import MAX_AWARDED, MAX_DESCRIPTION, MAX_REASON, MAX_TITLE

NEED_EXAMPLE = {
    "buyer_id": "buy-81d2e0a4c5f6", "title": "Collecte et réemploi du mobilier de bureau",
    "kind": "tender", "sectors": ["circular_economy", "logistics"],
    "description": "Collecte, tri et réemploi du mobilier des services municipaux (3 sites).",
    "place": {"commune": "93048"}, "perimeter": {"departements": ["93", "94"]},
    "amount_band": "20k_30k", "amount_cents": 2_400_000, "deadline_at": "2008-04-15T12:00:00+02:00",
    "reserved": True, "reserved_article": "l2113_13", "social_clause": False,
}


class PlaceIn(Body):
    commune: str | None = Field(None, max_length=10, description="INSEE code of the commune (gives the "
                                                                 "département).", examples=["93048"])
    departement: str | None = Field(None, max_length=3, description="Département code (alone, or consistent with "
                                                                    "the commune).", examples=["93"])


class PerimeterIn(Body):
    communes: list[str] = Field(default_factory=list, max_length=1000, description="Communes (INSEE codes).",
                                examples=[["93048", "93066"]])
    departements: list[str] = Field(default_factory=list, max_length=120, description="Départements (codes).",
                                    examples=[["93"]])
    region: str | None = Field(None, max_length=3, description="A whole region (INSEE code; 11: Île-de-France).",
                               examples=["11"])


class NeedIn(Body):
    """A buyer's need, drafted (edit it until it is submitted)."""

    buyer_id: str = Field(max_length=100, description="The buyer (the buyers' register).",
                          examples=["buy-81d2e0a4c5f6"])
    title: str = Field(max_length=MAX_TITLE, examples=["Collecte et réemploi du mobilier de bureau"])
    kind: NeedKind = Field(description="tender, quote_request or sourcing.", examples=["tender"])
    sectors: list[Sector] = Field(min_length=1, max_length=50, description="Sectors asked for (at least one).",
                                  examples=[["circular_economy"]])
    description: str | None = Field(None, max_length=MAX_DESCRIPTION, examples=["Collecte, tri et réemploi…"])
    place: PlaceIn = Field(description="Where: a commune (INSEE code) and/or a département.",
                           examples=[{"commune": "93048"}])
    perimeter: PerimeterIn | None = Field(None, description="Where the work is carried out, beyond the place.",
                                          examples=[{"departements": ["93", "94"]}])
    amount_band: AmountBand | None = Field(None, description="Amount band (derived from the exact amount when "
                                                             "only that is given).", examples=["20k_30k"])
    amount_cents: int | None = Field(None, ge=0, le=MAX_AMOUNT_CENTS, description="Exact amount excluding VAT, "
                                                                                  "in euro cents (within the band "
                                                                                  "when both are given).",
                                     examples=[2_400_000])
    deadline_at: AwareDatetime = Field(description="When answers are due (in the future, with its UTC offset).",
                                       examples=["2008-04-15T12:00:00+02:00"])
    reserved: bool = Field(False, description="A reserved contract (name its article).", examples=[True])
    reserved_article: ReservedArticle | None = Field(None, description="Required iff reserved: l2113_12 (EA, "
                                                                       "ESAT), l2113_13 (SIAE), l2113_15 (ESS).",
                                                     examples=["l2113_13"])
    social_clause: bool = Field(False, examples=[False])

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [NEED_EXAMPLE]})

    def terms(self) -> dict[str, Any]:
        """The need's terms as the domain takes them (the buyer apart; unset optional parts left out)."""
        out = self.model_dump(exclude={"buyer_id"}, exclude_unset=True)
        if self.perimeter is not None:
            out["perimeter"] = self.perimeter.model_dump()
        out["place"] = self.place.model_dump(exclude_none=True)
        return out


NeedPatch = partial(NeedIn, name="NeedPatch", exclude=("buyer_id",),
                    examples=[{"amount_cents": 2_650_000, "deadline_at": "2008-04-30T12:00:00+02:00"}])


class SendBackIn(Body):
    reason: str = Field(max_length=MAX_REASON, description="What to change (kept in the need's log, never in an "
                                                           "event).", examples=["Précisez le montant et les sites."])

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reason": "Précisez le montant et les sites."}]})


class AwardIn(Body):
    supplier_ids: list[str] = Field(default_factory=list, max_length=MAX_AWARDED,
                                    description="The suppliers awarded (the grouping's members when a grouping is).",
                                    examples=[["sup-3f9a1c0d2e4b"]])
    grouping_id: str | None = Field(None, max_length=100, description="The grouping awarded, if any.",
                                    examples=[None])
    amount_cents: int = Field(ge=0, le=MAX_AMOUNT_CENTS, description="The contract's amount excluding VAT, in "
                                                                     "euro cents.", examples=[2_450_000])

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"supplier_ids": ["sup-3f9a1c0d2e4b"], "amount_cents": 2_450_000}]})


class AbandonIn(Body):
    reason: NeedAbandonReason = Field(description="Why (code).", examples=["no_suitable_offer"])
    note: str | None = Field(None, max_length=MAX_REASON, description="More (kept in the log only).",
                             examples=["Aucune offre dans le budget."])

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reason": "no_suitable_offer", "note": "Aucune offre dans le budget."}]})


class StepIn(Body):
    step: FunnelStep = Field(description="opened (the e-mail's link), viewed (the detail page), interested, "
                                         "not_interested, answered (an offer submitted).", examples=["interested"])
    feedback: str | None = Field(None, max_length=MAX_FEEDBACK, description="With not_interested: why (kept here, "
                                                                            "never in an event).",
                                 examples=[None])

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"step": "interested"}, {"step": "not_interested", "feedback": "Hors de notre zone cette année."}]})


class QuestionIn(Body):
    text: str = Field(max_length=MAX_QUESTION, examples=["Le mobilier est-il démonté ?"])

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"text": "Le mobilier est-il démonté ?"}]})


class StaffQuestionIn(QuestionIn):
    supplier_id: str = Field(max_length=100, description="The notified supplier who asks.",
                             examples=["sup-3f9a1c0d2e4b"])

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"supplier_id": "sup-3f9a1c0d2e4b", "text": "Le mobilier est-il démonté ?"}]})


class AnswerIn(Body):
    text: str = Field(max_length=MAX_QUESTION, examples=["Oui, démonté et palettisé."])

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"text": "Oui, démonté et palettisé."}]})


class MeetingLinkIn(Body):
    meeting_id: str = Field(max_length=100, description="A business meeting held at a convention (events "
                                                        "service), known here from its events.",
                            examples=["mtg-5b7c2d"])

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"meeting_id": "mtg-5b7c2d"}]})


class ImpactAnswerIn(Body):
    answer: ImpactAnswer = Field(description="Did a contract come of the need: yes, no, not_yet.", examples=["yes"])
    amount_cents: int | None = Field(None, ge=0, le=MAX_AMOUNT_CENTS, description="With yes: the amount "
                                                                                  "transacted, in euro cents.",
                                     examples=[2_450_000])
    comment: str | None = Field(None, max_length=MAX_COMMENT, examples=["Très satisfaits du prestataire."])

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"answer": "yes", "amount_cents": 2_450_000}, {"answer": "not_yet"}]})


# -- views -------------------------------------------------------------------------------------------
class PlaceView(BaseModel):
    commune: str | None
    departement: str


class PerimeterView(BaseModel):
    communes: list[str]
    departements: list[str]
    region: str | None


class LogEntryView(BaseModel):
    at: datetime
    by: str = Field(description="Who: the token's subject (staff, a buyer's app), or system.")
    action: str = Field(examples=["submitted"])
    detail: str | None


class AwardView(BaseModel):
    supplier_ids: list[str]
    grouping_id: str | None
    amount_cents: int
    awarded_at: datetime


class MeetingLinkView(BaseModel):
    meeting_id: str
    convention_id: str
    linked_at: datetime


class FunnelCounts(BaseModel):
    notified: int = 0
    opened: int = 0
    viewed: int = 0
    interested: int = 0
    not_interested: int = 0
    answered: int = 0
    awarded: int = 0


class NeedView(BaseModel):
    id: str
    version: int
    buyer_id: str
    title: str
    kind: NeedKind
    sectors: list[Sector]
    description: str | None
    place: PlaceView
    perimeter: PerimeterView
    amount_band: AmountBand | None
    amount_cents: int | None
    deadline_at: datetime
    reserved: bool
    reserved_article: ReservedArticle | None
    social_clause: bool
    status: NeedStatus
    next_step: str = Field(description="What can happen next.")
    drafted_at: datetime
    submissions: int
    submitted_at: datetime | None
    validated_at: datetime | None
    dispatch_started_at: datetime | None
    dispatched_at: datetime | None
    notified: int
    capped: bool
    closed_at: datetime | None
    awarded_at: datetime | None
    contract: AwardView | None = Field(description="What was awarded: to whom, for how much.")
    abandoned_at: datetime | None
    abandon_reason: NeedAbandonReason | None
    meetings: list[MeetingLinkView]
    reminder_rounds: int
    log: list[LogEntryView] = Field(description="Every step: who, when, what.")
    funnel: FunnelCounts | None = Field(None, description="Suppliers per funnel step (from the dispatch on).")


class NeedSummary(BaseModel):
    id: str
    buyer_id: str
    title: str
    kind: NeedKind
    sectors: list[Sector]
    place: PlaceView
    deadline_at: datetime
    status: NeedStatus
    drafted_at: datetime
    notified: int


class DispatchView(BaseModel):
    need_id: str
    status: str = Field(description="running, completed or aborted.", examples=["running"])
    notified: int
    batches: int
    batch_size: int
    cap: int
    capped: bool
    started_at: str
    completed_at: str | None


class FunnelView(BaseModel):
    need_id: str
    supplier_id: str
    organisation_id: str | None
    batch: int
    step: str = Field(description="The furthest step: notified, opened, viewed, interested, not_interested, "
                                  "answered, awarded.")
    notified_at: datetime
    opened_at: datetime | None
    viewed_at: datetime | None
    interested_at: datetime | None
    not_interested_at: datetime | None
    stance: str | None
    answered_at: datetime | None
    awarded_at: datetime | None
    reminders: int
    last_reminded_at: datetime | None
    not_interested_feedback: str | None = Field(None, description="Staff only.")
    link_token: str | None = Field(None, description="Staff only: the supplier's signed link token.")
    link_path: str | None = Field(None, description="Staff only: where the supplier's link points.")


class QuestionView(BaseModel):
    id: str
    need_id: str
    supplier_id: str | None = Field(None, description="Staff and readers only.")
    text: str
    asked_at: datetime
    answer: str | None
    answered_at: datetime | None
    revision: int


class SupplierNeedView(BaseModel):
    """What a supplier sees through its link: the need, its own funnel, every question and answer."""

    need_id: str
    supplier_id: str
    buyer_name: str | None
    title: str
    kind: NeedKind
    sectors: list[Sector]
    description: str | None
    place: PlaceView
    perimeter: PerimeterView
    amount_band: AmountBand | None
    amount_cents: int | None
    deadline_at: datetime
    reserved: bool
    reserved_article: ReservedArticle | None
    social_clause: bool
    status: NeedStatus
    takes_answers: bool
    funnel: FunnelView
    questions: list[QuestionView]


class ImpactSurveyView(BaseModel):
    id: str
    need_id: str
    respondent: ImpactRespondent
    respondent_id: str
    opened_at: datetime
    answer: ImpactAnswer | None
    amount_cents: int | None
    comment: str | None
    answered_at: datetime | None
    revision: int
    token: str | None = Field(None, description="Staff only: the respondent's signed link token.")
    answer_path: str | None = Field(None, description="Staff only: where the respondent answers.")


class ImpactFormView(BaseModel):
    """What a respondent sees through its link."""

    survey_id: str
    need_id: str
    need_title: str
    respondent: ImpactRespondent
    respondent_id: str
    question: str = Field(examples=["Ce besoin a-t-il abouti à une transaction ?"])
    answer: ImpactAnswer | None
    amount_cents: int | None
    comment: str | None
    answered_at: datetime | None


class RecommendationView(BaseModel):
    kind: str = Field(description="reserved_contract, reserved_lot, social_clause or social_award_criterion.",
                      examples=["reserved_lot"])
    articles: list[str]
    why: str


class FamilyAdvice(BaseModel):
    family: str = Field(description="disability (EA, ESAT), insertion (SIAE), ess (any ESS supplier).")
    article: ReservedArticle
    eligible_suppliers: int
    average_turnover_cents: int | None
    turnovers_known: int = Field(description="Eligible suppliers whose turnover membership's events gave.")
    dependency: float | None = Field(description="The need's amount ÷ the average turnover (null: unknown).")
    recommendation: RecommendationView


class RecommendedView(RecommendationView):
    family: str


class ReservationAdvice(BaseModel):
    need_id: str
    departement: str
    commune: str | None
    sectors: list[Sector]
    spend_cents: int | None = Field(description="The exact amount, else the middle of the band; null: none given.")
    families: list[FamilyAdvice]
    recommended: RecommendedView = Field(description="The strongest of the disability and insertion options "
                                                     "(L2113-15 covers social and specific services only).")


class ContractView(BaseModel):
    need_id: str
    buyer_id: str
    supplier_ids: list[str]
    grouping_id: str | None
    amount_cents: int
    awarded_at: str


class ConventionFigures(BaseModel):
    convention_id: str
    meetings_linked: int
    needs_linked: int = Field(description="Needs drafted in the year linked to its meetings.")
    contracts: list[ContractView] = Field(description="Contracts awarded in the year to needs linked to its "
                                                      "meetings.")
    contracts_count: int
    awarded_amount_cents: int
    meetings_reported_signed: int = Field(description="Its linked meetings whose outcome (events service) says "
                                                      "contract signed.")
    reported_signed_amount_cents: int


class NeedFigures(BaseModel):
    year: int
    needs: int = Field(description="Needs drafted in the year.")
    needs_per_status: dict[str, int]
    awarded: int = Field(description="Needs awarded in the year.")
    awarded_amount_cents: int
    funnel: FunnelCounts = Field(description="Funnels of the needs drafted in the year.")
    impact_answers: dict[str, int] = Field(description="<respondent>_<answer>: how many.")
    impact_transacted_amount_cents: int = Field(description="Amounts buyers said were transacted (answer yes).")
    needs_linked_to_conventions: int
    conventions: list[ConventionFigures]
