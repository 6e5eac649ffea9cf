"""Prom'ESS Europe: the free individual diagnostic and the paid offers by quote — pure domain.

Offers and their price ranges (excluding VAT, before any discount; bounds included)::

    application_support        4,000–7,000 €   (400,000–700,000 cents)
    administrative_management  5,000–7,000 €   (500,000–700,000 cents)

Lifecycle of a :class:`Quote`::

    draft ──send──▶ sent ──accept──▶ accepted
      │ revise        ├──decline──▶ declined
      ▼               └──expire (the day after valid_until: a job)──▶ expired

Wrong steps are a 409 naming the current state and the step expected. A sent quote is accepted
only up to its ``valid_until`` (included); after it, acceptance is refused even before the job
has recorded the expiry.

The quote's date and the member discount. A quote is dated the day it is **sent** (``quoted_on``:
the server's date in Europe/Paris — a client cannot back-date it). Its price is fixed then, with
the member discount (20 %) when the organisation was a member in good standing on that date
(membership's events, as of that date), and the standing found is kept on the quote (in good
standing or not, the status, the date checked): later changes of standing do not change a sent
quote. A draft shows its price without discount: the discount is decided at sending.

Rounding (:class:`Pricing`): every amount is an integer number of cents; each computed amount is
rounded half up to the cent on its own line, and totals are sums of rounded lines::

    discount = round_half_up(amount × discount rate)      (0 without the discount)
    net      = amount − discount
    vat      = round_half_up(net × VAT rate)
    total    = net + vat

Rates are basis points (2000 = 20 %), so the arithmetic is exact integer arithmetic.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.procurement.quotes import (IndividualDiagnosticHeld, PaidOffer, QuoteAccepted, QuoteDeclined,
                                          QuoteDrafted, QuoteExpired, QuoteRevised, QuoteSent, QuoteStatus)
from runtime.aggregate import Aggregate
from runtime.errors import Conflict, InvalidInput
from runtime.rules import enum_value, optional_text

from .buyers import fact_day, instant, local_day

OFFER_RANGES: dict[PaidOffer, tuple[int, int]] = {
    PaidOffer.APPLICATION_SUPPORT: (400_000, 700_000),
    PaidOffer.ADMINISTRATIVE_MANAGEMENT: (500_000, 700_000),
}
"""Each offer's price range in cents, excluding VAT, before any discount (bounds included)."""

OFFER_LABELS: dict[PaidOffer, str] = {
    PaidOffer.APPLICATION_SUPPORT: "Accompagnement au montage d'un dossier de fonds européens",
    PaidOffer.ADMINISTRATIVE_MANAGEMENT: "Accompagnement à la gestion administrative d'un projet européen",
}
"""How the printable quote names each offer (in French, as the organisations read it)."""

MEMBER_DISCOUNT_BP = 2000
"""The member discount: 20 % (basis points)."""
BASIS = 10_000
DESCRIPTION_MAX = 2000
NOTES_MAX = 10_000
MAX_VALIDITY_DAYS = 365


def euros(cents: int) -> str:
    """``550000`` → ``"5 500,00 €"`` (French format, narrow no-break space between thousands)."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), 100)
    return f"{sign}{units:,}".replace(",", "\u202f") + f",{rest:02d}\u00a0€"


def apply_rate(amount_cents: int, rate_bp: int) -> int:
    """``amount × rate``, rounded half up to the cent (amount and rate ≥ 0): exact integer arithmetic."""
    if amount_cents < 0 or rate_bp < 0:
        raise InvalidInput("amount_cents", "amounts and rates are not negative")
    return (2 * amount_cents * rate_bp + BASIS) // (2 * BASIS)


def rate_bp(percent: Any, field: str = "vat_percent") -> int:
    """A percentage (``20``, ``5.5``, ``"20"``) as basis points; at most two decimals, 0–100."""
    try:
        value = Decimal(str(percent)) * 100
    except (InvalidOperation, ValueError):
        raise InvalidInput(field, f"{field} must be a percentage (got {percent!r})") from None
    if not value.is_finite() or value != value.to_integral_value() or not 0 <= value <= BASIS:
        raise InvalidInput(field, f"{field} must be a percentage from 0 to 100 with at most two decimals "
                                  f"(got {percent!r})")
    return int(value)


def offer_amount(offer: PaidOffer, amount: object, field: str = "amount_cents") -> int:
    """The amount in cents, within the offer's range (422 naming ``amount_cents`` and the range)."""
    low, high = OFFER_RANGES[offer]
    if isinstance(amount, bool) or not isinstance(amount, int) or not low <= amount <= high:
        raise InvalidInput(field, f"{field} must be from {low} to {high} cents ({euros(low)} to {euros(high)} "
                                  f"excl. VAT) for {offer.value} (got {amount!r})")
    return amount


class Pricing(BaseModel):
    """A quote's price, fixed when it is sent (see the module's rounding rule)."""

    model_config = ConfigDict(frozen=True)

    amount_cents: int = Field(ge=0, description="Price excluding VAT before the discount.")
    discount_applied: bool
    discount_rate_bp: int = Field(ge=0, le=BASIS, description="2000 = 20 %; 0 without the discount.")
    discount_cents: int = Field(ge=0)
    net_cents: int = Field(ge=0, description="Price excluding VAT after the discount.")
    vat_rate_bp: int = Field(ge=0, le=BASIS, description="2000 = 20 %.")
    vat_cents: int = Field(ge=0)
    total_incl_vat_cents: int = Field(ge=0, description="net + VAT.")

    @classmethod
    def compute(cls, amount_cents: int, *, member_discount: bool, vat_rate_bp: int,
                discount_rate_bp: int = MEMBER_DISCOUNT_BP) -> Pricing:
        rate = discount_rate_bp if member_discount else 0
        discount = apply_rate(amount_cents, rate)
        net = amount_cents - discount
        vat = apply_rate(net, vat_rate_bp)
        return cls(amount_cents=amount_cents, discount_applied=member_discount, discount_rate_bp=rate,
                   discount_cents=discount, net_cents=net, vat_rate_bp=vat_rate_bp, vat_cents=vat,
                   total_incl_vat_cents=net + vat)


class Standing(BaseModel):
    """The member standing found for the quote's date, kept on the sent quote."""

    model_config = ConfigDict(frozen=True)

    checked_on: date = Field(description="The date the standing was checked for: the quote's date.")
    in_good_standing: bool
    status: str | None = Field(description="Member status in force that day (null: not a member then).")
    as_of: datetime | None = Field(None, description="Time of the membership event that gave that status.")


NEXT_STEP: dict[QuoteStatus, str] = {
    QuoteStatus.DRAFT: "send (or revise)",
    QuoteStatus.SENT: "accept or decline (until valid_until; then it expires)",
    QuoteStatus.ACCEPTED: "none: the quote is accepted",
    QuoteStatus.DECLINED: "none: the quote is declined (draft a new one)",
    QuoteStatus.EXPIRED: "none: the quote has expired (draft a new one)",
}
_REVISABLE = ("offer", "amount_cents", "description")


class Quote(Aggregate):
    """A quote for a paid offer to an ESS organisation. ``id`` is ``quo-…``."""

    organisation_id: str
    offer: PaidOffer
    amount_cents: int = Field(ge=0, description="Price excluding VAT, before any discount, in cents.")
    description: str | None = None
    status: QuoteStatus = QuoteStatus.DRAFT
    drafted_at: AwareDatetime
    revised_at: AwareDatetime | None = None
    sent_at: AwareDatetime | None = None
    quoted_on: date | None = Field(None, description="The quote's date: the day it was sent (Europe/Paris).")
    valid_until: date | None = Field(None, description="Last day it may be accepted.")
    standing: Standing | None = None
    pricing: Pricing | None = None
    accepted_at: AwareDatetime | None = None
    accepted_on: date | None = None
    declined_at: AwareDatetime | None = None
    decline_reason: str | None = None
    expired_at: AwareDatetime | None = None

    def _step(self, action: str, *allowed: QuoteStatus) -> None:
        if self.status not in allowed:
            raise Conflict(f"cannot {action} quote {self.id}: it is {self.status.value}; expected step: "
                           f"{NEXT_STEP[self.status]}", current_state=self.status.value,
                           expected_step=NEXT_STEP[self.status])

    @classmethod
    def draft(cls, quote_id: str, *, organisation_id: str, offer: object, amount_cents: object,
              description: object = None, at: datetime) -> Quote:
        """A draft quote → ``QuoteDrafted``. (That the organisation is known is the service layer's.)"""
        at = instant(at)
        offer = enum_value(PaidOffer, offer, "offer")
        amount = offer_amount(offer, amount_cents)
        quote = cls(id=quote_id, organisation_id=organisation_id, offer=offer, amount_cents=amount,
                    description=optional_text(description, "description", max_length=DESCRIPTION_MAX), drafted_at=at)
        quote.record(QuoteDrafted(quote_id=quote_id, organisation_id=organisation_id, offer=offer,
                                  amount_cents=amount, drafted_at=at))
        return quote

    def revise(self, *, at: datetime, **changes: Any) -> list[str]:
        """Change a draft's offer, amount or description → ``QuoteRevised`` (nothing when nothing changes)."""
        at = instant(at)
        unknown = set(changes) - set(_REVISABLE)
        if unknown:
            raise InvalidInput(sorted(unknown)[0], f"{sorted(unknown)[0]} cannot be changed")
        self._step("revise", QuoteStatus.DRAFT)
        offer = enum_value(PaidOffer, changes.get("offer", self.offer), "offer")
        amount = offer_amount(offer, changes.get("amount_cents", self.amount_cents))
        description = optional_text(changes.get("description", self.description), "description",
                                    max_length=DESCRIPTION_MAX)
        new = {"offer": offer, "amount_cents": amount, "description": description}
        changed = [name for name in _REVISABLE if new[name] != getattr(self, name)]
        if not changed:
            return []
        for name in changed:
            setattr(self, name, new[name])
        self.revised_at = at
        self.record(QuoteRevised(quote_id=self.id, organisation_id=self.organisation_id, offer=offer,
                                 amount_cents=amount, changed=changed, revised_at=at))
        return changed

    def send(self, *, at: datetime, in_good_standing: bool, member_status: str | None = None,
             status_as_of: datetime | None = None, vat_rate_bp: int, validity_days: int) -> None:
        """Issue the quote → ``QuoteSent``: dated ``at``'s day (Europe/Paris), valid ``validity_days``
        days, priced with the member discount when ``in_good_standing`` — which the caller found
        for that very day."""
        at = instant(at)
        self._step("send", QuoteStatus.DRAFT)
        if isinstance(validity_days, bool) or not isinstance(validity_days, int) \
                or not 1 <= validity_days <= MAX_VALIDITY_DAYS:
            raise InvalidInput("validity_days", f"a quote is valid 1 to {MAX_VALIDITY_DAYS} days")
        quoted_on = local_day(at)
        pricing = Pricing.compute(self.amount_cents, member_discount=bool(in_good_standing), vat_rate_bp=vat_rate_bp)
        self.status, self.sent_at, self.quoted_on = QuoteStatus.SENT, at, quoted_on
        self.valid_until = quoted_on + timedelta(days=validity_days)
        self.standing = Standing(checked_on=quoted_on, in_good_standing=bool(in_good_standing), status=member_status,
                                 as_of=status_as_of)
        self.pricing = pricing
        self.record(QuoteSent(quote_id=self.id, organisation_id=self.organisation_id, offer=self.offer,
                              quoted_on=quoted_on, valid_until=self.valid_until,
                              member_in_good_standing=bool(in_good_standing), member_status=member_status,
                              sent_at=at, **pricing.model_dump()))

    def accept(self, *, at: datetime) -> None:
        """The organisation accepted (within the validity) → ``QuoteAccepted``."""
        at = instant(at)
        self._step("accept", QuoteStatus.SENT)
        today = local_day(at)
        if self.valid_until is not None and today > self.valid_until:
            raise Conflict(f"cannot accept quote {self.id}: its validity ended on {self.valid_until.isoformat()} "
                           f"(it expires); draft a new one", current_state="sent (validity ended)",
                           expected_step="none: draft a new quote", valid_until=self.valid_until.isoformat())
        if self.pricing is None:  # a sent quote is always priced; a damaged document is not accepted
            raise Conflict(f"quote {self.id} is sent but has no price; send a new one", current_state="sent",
                           expected_step="none: draft a new quote")
        self.status, self.accepted_at, self.accepted_on = QuoteStatus.ACCEPTED, at, today
        self.record(QuoteAccepted(quote_id=self.id, organisation_id=self.organisation_id, offer=self.offer,
                                  accepted_on=today, discount_applied=self.pricing.discount_applied,
                                  net_cents=self.pricing.net_cents,
                                  total_incl_vat_cents=self.pricing.total_incl_vat_cents, accepted_at=at))

    def decline(self, *, at: datetime, reason: object = None) -> None:
        """The organisation declined → ``QuoteDeclined`` (the reason stays here)."""
        at = instant(at)
        self._step("decline", QuoteStatus.SENT)
        self.decline_reason = optional_text(reason, "reason", max_length=DESCRIPTION_MAX)
        self.status, self.declined_at = QuoteStatus.DECLINED, at
        self.record(QuoteDeclined(quote_id=self.id, organisation_id=self.organisation_id, offer=self.offer,
                                  declined_at=at))

    def due_to_expire(self, today: date) -> bool:
        return self.status is QuoteStatus.SENT and self.valid_until is not None and today > self.valid_until

    def expire(self, *, at: datetime) -> bool:
        """Record the expiry of a sent quote past its validity → ``QuoteExpired``; False (nothing
        done) when it is not due — the job may run twice."""
        at = instant(at)
        if not self.due_to_expire(local_day(at)):
            return False
        self.status, self.expired_at = QuoteStatus.EXPIRED, at
        self.record(QuoteExpired(quote_id=self.id, organisation_id=self.organisation_id, offer=self.offer,
                                 valid_until=self.valid_until, expired_at=at))
        return True


class IndividualDiagnostic(Aggregate):
    """Prom'ESS Europe's free individual diagnostic held with an ESS organisation. ``id`` is ``idg-…``."""

    organisation_id: str
    held_on: date
    outcome_notes: str | None = None
    recorded_at: AwareDatetime

    @classmethod
    def hold(cls, diagnostic_id: str, *, organisation_id: str, held_on: object, outcome_notes: object = None,
             at: datetime) -> IndividualDiagnostic:
        """Record a diagnostic held (not in the future) → ``IndividualDiagnosticHeld``."""
        at = instant(at)
        held_on = fact_day(held_on, "held_on", at=at)
        diagnostic = cls(id=diagnostic_id, organisation_id=organisation_id, held_on=held_on,
                         outcome_notes=optional_text(outcome_notes, "outcome_notes", max_length=NOTES_MAX),
                         recorded_at=at)
        diagnostic.record(IndividualDiagnosticHeld(individual_diagnostic_id=diagnostic_id,
                                                   organisation_id=organisation_id, held_on=held_on, recorded_at=at))
        return diagnostic
