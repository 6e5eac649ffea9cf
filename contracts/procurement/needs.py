"""Events of buyers' needs, their dispatch and each supplier's funnel (topic ``procurement.need``,
key ``need_id``).

A need goes draft → submitted → validated (or sent back to draft) → dispatching → dispatched →
closed → awarded, or abandoned on the way. Its dispatch notifies the matching suppliers in
batches (``SupplierNotified``, one per supplier); each supplier's funnel then moves (opened,
viewed, interested, not interested, answered, awarded: ``FunnelStepRecorded``, one per step).
Reminders go to notified suppliers who have not answered (never to one who said "not
interested", never after the need closed). After the deadline an impact survey asks the buyer
and the awarded supplier(s) whether a contract came of it.

Every event here carries ids, codes, amounts and instants — never free text: a need's title and
description, a sending-back reason, a question and its answer, a supplier's "not interested"
feedback and a survey's comments stay in the procurement service (they may hold personal data).
"""
from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from contracts.base import DomainEvent
from contracts.procurement.vocabulary import AmountBand, ReservedArticle, Sector

__all__ = [
    # vocabulary
    "NeedKind", "NeedStatus", "FunnelStep", "NeedAbandonReason", "ImpactAnswer", "ImpactRespondent",
    # the need's lifecycle
    "NeedDrafted", "NeedUpdated", "NeedSubmitted", "NeedSentBack", "NeedValidated", "NeedClosed", "NeedAwarded",
    "NeedAbandoned", "NeedLinkedToMeeting",
    # dispatch and funnel
    "NeedDispatchStarted", "SupplierNotified", "NeedDispatchCompleted", "FunnelStepRecorded", "SupplierReminded",
    # questions
    "NeedQuestionAsked", "NeedQuestionAnswered",
    # impact survey
    "ImpactSurveyOpened", "ImpactSurveyAnswered",
]


# -- vocabulary ------------------------------------------------------------------------------

class NeedKind(StrEnum):
    """What the buyer asks for."""

    TENDER = "tender"
    """Appel d'offres: a public contract notice."""
    QUOTE_REQUEST = "quote_request"
    """Demande de devis."""
    SOURCING = "sourcing"
    """Sourcing: the buyer looks for suppliers before writing its contract."""


class NeedStatus(StrEnum):
    """Where a need is in its lifecycle."""

    DRAFT = "draft"
    """Being written (the only state in which it can be edited)."""
    SUBMITTED = "submitted"
    """Waiting for the team's validation."""
    VALIDATED = "validated"
    """Validated by the team, not dispatched yet."""
    DISPATCHING = "dispatching"
    """Its dispatch to the matching suppliers is running (in batches, in the background)."""
    DISPATCHED = "dispatched"
    """Every matching supplier (up to the cap) was notified; suppliers answer until it closes."""
    CLOSED = "closed"
    """No more answers (closed by hand, or its deadline passed)."""
    AWARDED = "awarded"
    """Awarded to one or more suppliers (or a grouping), for an amount."""
    ABANDONED = "abandoned"
    """Given up, with a reason."""


class FunnelStep(StrEnum):
    """The steps of a notified supplier's funnel (one row per need × supplier)."""

    OPENED = "opened"
    """Followed the link of the notification e-mail."""
    VIEWED = "viewed"
    """Displayed the need's detail page."""
    INTERESTED = "interested"
    """Said it is interested."""
    NOT_INTERESTED = "not_interested"
    """Said it is not interested (it gets no reminder from then on)."""
    ANSWERED = "answered"
    """Submitted an offer."""
    AWARDED = "awarded"
    """Was awarded the contract (alone or in the awarded grouping)."""


class NeedAbandonReason(StrEnum):
    """Why a need was abandoned."""

    NO_ANSWER = "no_answer"
    NO_SUITABLE_OFFER = "no_suitable_offer"
    BUDGET_WITHDRAWN = "budget_withdrawn"
    NEED_CHANGED = "need_changed"
    AWARDED_ELSEWHERE = "awarded_elsewhere"
    """Awarded to a supplier the platform did not reach."""
    OTHER = "other"


class ImpactAnswer(StrEnum):
    """Did a contract (a transaction) come of the need? (le marché de l'inclusion #1154: "not yet")"""

    YES = "yes"
    NO = "no"
    NOT_YET = "not_yet"


class ImpactRespondent(StrEnum):
    """Who an impact survey asks."""

    BUYER = "buyer"
    SUPPLIER = "supplier"


def _need_id() -> str:
    return Field(description="Id of the need.", examples=["need-5a2c90e1f3b4"])


def _supplier_id(description: str = "The supplier.") -> str:
    return Field(description=description, examples=["sup-3f9a1c0d2e4b"])


# -- the need's lifecycle ------------------------------------------------------------------------

class _NeedTerms(DomainEvent):
    """What a need asks for, as consumers match and count it (the free texts stay in the service)."""

    need_id: str = _need_id()
    kind: NeedKind = Field(description="Kind of need (code).", examples=["tender"])
    sectors: list[Sector] = Field(min_length=1, description="Sectors asked for (codes).", examples=[["food"]])
    departement: str = Field(description="Département of the need's place (code).", examples=["93"])
    commune: str | None = Field(description="INSEE code of the need's commune, when it has one.", examples=["93048"])
    amount_band: AmountBand | None = Field(description="Amount band (code); null: not given.",
                                           examples=["20k_30k"])
    amount_cents: int | None = Field(ge=0, lt=10**13, description="Exact amount excluding VAT, in euro cents; "
                                                                  "null: not given.", examples=[2_400_000])
    deadline_at: AwareDatetime = Field(description="When answers are due.", examples=["2008-04-15T12:00:00+02:00"])
    reserved_article: ReservedArticle | None = Field(description="The article the contract is reserved under "
                                                                 "(code); null: not reserved.",
                                                     examples=["l2113_13"])
    social_clause: bool = Field(description="Whether the contract carries a social clause.", examples=[True])


class NeedDrafted(_NeedTerms, event_type="org.cress.procurement.need-drafted.v1",
                  aggregate_type="need", aggregate_id_field="need_id"):
    """A buyer's need was drafted (by the buyer's app or by staff)."""

    buyer_id: str = Field(description="The buyer.", examples=["buy-81d2e0a4c5f6"])
    drafted_at: AwareDatetime = Field(description="When the need was drafted.", examples=["2008-03-02T14:00:00+01:00"])


class NeedUpdated(_NeedTerms, event_type="org.cress.procurement.need-updated.v1",
                  aggregate_type="need", aggregate_id_field="need_id"):
    """A draft need was edited: its terms as they are now, and the names of the fields that changed."""

    changed_fields: list[str] = Field(min_length=1, description="Names of the fields that changed (the title and "
                                                                "description included, though their text is not "
                                                                "carried).", examples=[["amount_cents", "title"]])
    updated_at: AwareDatetime = Field(description="When it was edited.", examples=["2008-03-03T09:00:00+01:00"])


class NeedSubmitted(DomainEvent, event_type="org.cress.procurement.need-submitted.v1",
                    aggregate_type="need", aggregate_id_field="need_id"):
    """A draft need was submitted to the team for validation."""

    need_id: str = _need_id()
    submission: int = Field(ge=1, description="1 for the first submission, 2 after one sending back…", examples=[1])
    submitted_at: AwareDatetime = Field(description="When it was submitted.", examples=["2008-03-03T10:00:00+01:00"])


class NeedSentBack(DomainEvent, event_type="org.cress.procurement.need-sent-back.v1",
                   aggregate_type="need", aggregate_id_field="need_id"):
    """The team sent a submitted need back to its buyer for changes (it is a draft again; the reason,
    free text, stays in the need's log)."""

    need_id: str = _need_id()
    sent_back_at: AwareDatetime = Field(description="When it was sent back.", examples=["2008-03-04T11:00:00+01:00"])


class NeedValidated(DomainEvent, event_type="org.cress.procurement.need-validated.v1",
                    aggregate_type="need", aggregate_id_field="need_id"):
    """The team validated a submitted need: it can be dispatched."""

    need_id: str = _need_id()
    validated_at: AwareDatetime = Field(description="When it was validated.", examples=["2008-03-05T09:30:00+01:00"])


class NeedClosed(DomainEvent, event_type="org.cress.procurement.need-closed.v1",
                 aggregate_type="need", aggregate_id_field="need_id"):
    """A dispatched need stopped taking answers: closed by hand, or its deadline passed."""

    need_id: str = _need_id()
    at_deadline: bool = Field(description="True when closed by the service because its deadline passed.",
                              examples=[False])
    notified: int = Field(ge=0, description="Suppliers notified.", examples=[120])
    interested: int = Field(ge=0, description="Suppliers interested (answered ones included).", examples=[14])
    answered: int = Field(ge=0, description="Suppliers who submitted an offer.", examples=[5])
    closed_at: AwareDatetime = Field(description="When it closed.", examples=["2008-04-15T12:00:00+02:00"])


class NeedAwarded(DomainEvent, event_type="org.cress.procurement.need-awarded.v1",
                  aggregate_type="need", aggregate_id_field="need_id"):
    """A closed need was awarded: to one or more suppliers, or to a grouping, for an amount."""

    need_id: str = _need_id()
    supplier_ids: list[str] = Field(description="The suppliers awarded (the grouping's members when a grouping "
                                                "was).", examples=[["sup-3f9a1c0d2e4b"]])
    grouping_id: str | None = Field(description="The grouping awarded, if a grouping was.", examples=[None])
    amount_cents: int = Field(ge=0, lt=10**13, description="Amount of the contract excluding VAT, in euro cents.",
                              examples=[2_450_000])
    awarded_at: AwareDatetime = Field(description="When the award was recorded.",
                                      examples=["2008-05-02T10:00:00+02:00"])


class NeedAbandoned(DomainEvent, event_type="org.cress.procurement.need-abandoned.v1",
                    aggregate_type="need", aggregate_id_field="need_id"):
    """A need was given up (its note, free text, stays in the need's log)."""

    need_id: str = _need_id()
    reason: NeedAbandonReason = Field(description="Why (code).", examples=["no_suitable_offer"])
    previous_status: NeedStatus = Field(description="Its status before (code).", examples=["closed"])
    abandoned_at: AwareDatetime = Field(description="When it was abandoned.", examples=["2008-05-02T10:00:00+02:00"])


class NeedLinkedToMeeting(DomainEvent, event_type="org.cress.procurement.need-linked-to-meeting.v1",
                          aggregate_type="need", aggregate_id_field="need_id"):
    """A business meeting of a convention (events service) was linked to the need: the contract that
    comes of the need is then counted as an outcome of that convention."""

    need_id: str = _need_id()
    meeting_id: str = Field(description="The meeting (events service).", examples=["mtg-5b7c2d"])
    convention_id: str = Field(description="The convention it was held at (events service).",
                               examples=["evt-1c9e4f2a7b3d"])
    linked_at: AwareDatetime = Field(description="When the link was recorded.", examples=["2008-05-02T10:00:00+02:00"])


# -- dispatch and funnel ---------------------------------------------------------------------------

class NeedDispatchStarted(DomainEvent, event_type="org.cress.procurement.need-dispatch-started.v1",
                          aggregate_type="need", aggregate_id_field="need_id"):
    """The dispatch of a validated need to the matching suppliers started (it runs in batches)."""

    need_id: str = _need_id()
    batch_size: int = Field(ge=1, description="Suppliers notified per batch.", examples=[250])
    cap: int = Field(ge=1, description="At most this many suppliers are notified.", examples=[5000])
    started_at: AwareDatetime = Field(description="When the dispatch started.", examples=["2008-03-05T09:31:00+01:00"])


class SupplierNotified(DomainEvent, event_type="org.cress.procurement.supplier-notified.v1",
                       aggregate_type="need", aggregate_id_field="need_id"):
    """A matching supplier was notified of a need (once per need and supplier). The platform sends no
    e-mail itself: a notifier consumes this event (and asks the API for the supplier's link)."""

    need_id: str = _need_id()
    supplier_id: str = _supplier_id()
    batch: int = Field(ge=1, description="The dispatch batch it was notified in.", examples=[1])
    notified_at: AwareDatetime = Field(description="When it was notified.", examples=["2008-03-05T09:31:02+01:00"])


class NeedDispatchCompleted(DomainEvent, event_type="org.cress.procurement.need-dispatch-completed.v1",
                            aggregate_type="need", aggregate_id_field="need_id"):
    """Every matching supplier (up to the cap) was notified."""

    need_id: str = _need_id()
    notified: int = Field(ge=0, description="Suppliers notified.", examples=[2000])
    batches: int = Field(ge=0, description="Batches it took.", examples=[8])
    capped: bool = Field(description="True when more suppliers matched than the cap allowed.", examples=[False])
    completed_at: AwareDatetime = Field(description="When the last batch was recorded.",
                                        examples=["2008-03-05T09:31:09+01:00"])


class FunnelStepRecorded(DomainEvent, event_type="org.cress.procurement.funnel-step-recorded.v1",
                         aggregate_type="need", aggregate_id_field="need_id"):
    """A notified supplier took a step of its funnel (each step once; a supplier may change its mind
    between interested and not interested until it answers)."""

    need_id: str = _need_id()
    supplier_id: str = _supplier_id()
    step: FunnelStep = Field(description="The step (code).", examples=["interested"])
    by_staff: bool = Field(description="True when staff recorded it for the supplier; false when the supplier "
                                       "acted through its link.", examples=[False])
    recorded_at: AwareDatetime = Field(description="When the step was taken.", examples=["2008-03-06T08:12:00+01:00"])


class SupplierReminded(DomainEvent, event_type="org.cress.procurement.supplier-reminded.v1",
                       aggregate_type="need", aggregate_id_field="need_id"):
    """A notified supplier that has not answered (and did not say "not interested") was reminded of a
    need still open. No e-mail is sent by the platform: a notifier consumes this event."""

    need_id: str = _need_id()
    supplier_id: str = _supplier_id()
    reminder: int = Field(ge=1, description="1 for the supplier's first reminder for this need, then 2…",
                          examples=[1])
    reminded_at: AwareDatetime = Field(description="When it was reminded.", examples=["2008-03-07T09:00:00+01:00"])


# -- questions -------------------------------------------------------------------------------------

class NeedQuestionAsked(DomainEvent, event_type="org.cress.procurement.need-question-asked.v1",
                        aggregate_type="need", aggregate_id_field="need_id"):
    """A notified supplier asked a question about a need (its text stays in the service)."""

    need_id: str = _need_id()
    question_id: str = Field(description="Id of the question.", examples=["nq-7d1e3a9c0b2f"])
    supplier_id: str = _supplier_id("The supplier who asked.")
    asked_at: AwareDatetime = Field(description="When it was asked.", examples=["2008-03-06T10:00:00+01:00"])


class NeedQuestionAnswered(DomainEvent, event_type="org.cress.procurement.need-question-answered.v1",
                           aggregate_type="need", aggregate_id_field="need_id"):
    """The buyer (or the team) answered a supplier's question (the text stays in the service)."""

    need_id: str = _need_id()
    question_id: str = Field(description="Id of the question.", examples=["nq-7d1e3a9c0b2f"])
    revision: int = Field(ge=1, description="1 for the first answer, 2 when it was changed once…", examples=[1])
    answered_at: AwareDatetime = Field(description="When it was answered.", examples=["2008-03-06T15:00:00+01:00"])


# -- impact survey -----------------------------------------------------------------------------------

class ImpactSurveyOpened(DomainEvent, event_type="org.cress.procurement.impact-survey-opened.v1",
                         aggregate_type="need", aggregate_id_field="need_id"):
    """After a need's deadline (and the configured delay), its impact survey was opened to the buyer or
    to an awarded supplier (a notifier consumes this event; the respondent answers with a signed link)."""

    need_id: str = _need_id()
    survey_id: str = Field(description="Id of the impact survey (one per need and respondent).",
                           examples=["isv-need-5a2c90e1f3b4-buyer"])
    respondent: ImpactRespondent = Field(description="buyer or supplier (code).", examples=["buyer"])
    respondent_id: str = Field(description="The buyer's or the supplier's id.", examples=["buy-81d2e0a4c5f6"])
    opened_at: AwareDatetime = Field(description="When it was opened.", examples=["2008-04-22T12:00:00+02:00"])


class ImpactSurveyAnswered(DomainEvent, event_type="org.cress.procurement.impact-survey-answered.v1",
                           aggregate_type="need", aggregate_id_field="need_id"):
    """A respondent answered (or changed its answer to) a need's impact survey."""

    need_id: str = _need_id()
    survey_id: str = Field(description="Id of the impact survey.", examples=["isv-need-5a2c90e1f3b4-buyer"])
    respondent: ImpactRespondent = Field(description="buyer or supplier (code).", examples=["buyer"])
    respondent_id: str = Field(description="The buyer's or the supplier's id.", examples=["buy-81d2e0a4c5f6"])
    answer: ImpactAnswer = Field(description="Did a contract come of the need? (code)", examples=["yes"])
    amount_cents: int | None = Field(ge=0, lt=10**13, description="Amount transacted excluding VAT, in euro "
                                                                  "cents (with yes only; null: not given).",
                                     examples=[2_450_000])
    revision: int = Field(ge=1, description="1 for the first answer, 2 after one change…", examples=[1])
    answered_at: AwareDatetime = Field(description="When it was answered.", examples=["2008-04-25T09:00:00+02:00"])
