"""Events of Prom'ESS Europe's individual diagnostics and quotes (topic ``procurement.quote``, key
``quote_id`` — an individual diagnostic, a single fact, is keyed by its own id).

A quote: drafted → sent → accepted / declined / expired. The price is fixed when the quote is
sent (:class:`QuoteSent`): the quote's date is the day it was sent (the server's date, Europe/Paris),
and the 20 % member discount applies when the organisation was a member in good standing on that
date, as membership's events said — the event says whether it applied and why (the status found and
the date checked). Amounts are integer euro cents excluding VAT unless named ``*_incl_vat``; rates
are in basis points (2000 = 20 %). Each amount is rounded half up to the cent, then summed:
``discount = round(amount × discount rate)``, ``net = amount − discount``,
``vat = round(net × VAT rate)``, ``total_incl_vat = net + vat``.

The observatory counts quotes accepted (:class:`QuoteAccepted`) per offer and year (``accepted_on``).
Free texts (descriptions, decline reasons, a diagnostic's outcome notes) stay in the service.
"""
from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, Field

from contracts.base import DomainEvent

__all__ = ["PaidOffer", "QuoteStatus", "QuoteDrafted", "QuoteRevised", "QuoteSent", "QuoteAccepted",
           "QuoteDeclined", "QuoteExpired", "IndividualDiagnosticHeld"]


class PaidOffer(StrEnum):
    """Prom'ESS Europe's paid offers, by quote."""

    APPLICATION_SUPPORT = "application_support"
    """Support to build a European funds application (4,000–7,000 € excluding VAT)."""
    ADMINISTRATIVE_MANAGEMENT = "administrative_management"
    """Support with the administrative management of a granted project (5,000–7,000 € excluding VAT)."""


class QuoteStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    """Sent, and not accepted by the end of its validity."""


class _QuoteEvent(DomainEvent):
    quote_id: str = Field(description="Id of the quote (the Kafka key).", examples=["quo-2d7c11a0b9e8"])
    organisation_id: str = Field(description="The ESS organisation (membership's id).", examples=["org-5f1c2a9b3d7e"])


class QuoteDrafted(_QuoteEvent, event_type="org.cress.procurement.quote-drafted.v1",
                   aggregate_type="quote", aggregate_id_field="quote_id"):
    """A quote for a paid offer was drafted for an ESS organisation."""

    offer: PaidOffer = Field(description="The offer quoted (code).", examples=["application_support"])
    amount_cents: int = Field(description="Price excluding VAT, before any discount, in cents (within the "
                                          "offer's range).", examples=[550_000])
    drafted_at: AwareDatetime = Field(description="When the quote was drafted.", examples=["2024-09-12T11:00:00+02:00"])


class QuoteRevised(_QuoteEvent, event_type="org.cress.procurement.quote-revised.v1",
                   aggregate_type="quote", aggregate_id_field="quote_id"):
    """A draft quote was changed before sending: its offer and price after the change."""

    offer: PaidOffer = Field(description="The offer quoted (code), after the change.", examples=["application_support"])
    amount_cents: int = Field(description="Price excluding VAT before any discount, after the change.",
                              examples=[600_000])
    changed: list[str] = Field(description="The fields that changed.", examples=[["amount_cents"]])
    revised_at: AwareDatetime = Field(description="When it was changed.", examples=["2024-09-13T11:00:00+02:00"])


class QuoteSent(_QuoteEvent, event_type="org.cress.procurement.quote-sent.v1",
                aggregate_type="quote", aggregate_id_field="quote_id"):
    """The quote was issued to the organisation: its date, validity and price are fixed."""

    offer: PaidOffer = Field(description="The offer quoted (code).", examples=["application_support"])
    quoted_on: date = Field(description="The quote's date: the day it was sent (server date, Europe/Paris).",
                            examples=["2024-09-16"])
    valid_until: date = Field(description="Last day it may be accepted.", examples=["2024-10-16"])
    amount_cents: int = Field(description="Price excluding VAT before the discount, in cents.", examples=[550_000])
    member_in_good_standing: bool = Field(description="Whether the organisation was a member in good standing on "
                                                      "quoted_on (membership's events, as of that date).",
                                          examples=[True])
    member_status: str | None = Field(description="The member status in force on quoted_on (active, "
                                                  "grace_period, lapsed, withdrawn), null when not a member.",
                                      examples=["active"])
    discount_applied: bool = Field(description="Whether the member discount applies.", examples=[True])
    discount_rate_bp: int = Field(description="Discount rate applied, in basis points (2000 = 20 %; 0 without).",
                                  examples=[2000])
    discount_cents: int = Field(description="Discount, in cents (rounded half up).", examples=[110_000])
    net_cents: int = Field(description="Price excluding VAT after the discount, in cents.", examples=[440_000])
    vat_rate_bp: int = Field(description="VAT rate, in basis points (2000 = 20 %).", examples=[2000])
    vat_cents: int = Field(description="VAT on the net price, in cents (rounded half up).", examples=[88_000])
    total_incl_vat_cents: int = Field(description="Price including VAT, in cents: net + VAT.", examples=[528_000])
    sent_at: AwareDatetime = Field(description="When it was sent.", examples=["2024-09-16T10:00:00+02:00"])


class QuoteAccepted(_QuoteEvent, event_type="org.cress.procurement.quote-accepted.v1",
                    aggregate_type="quote", aggregate_id_field="quote_id"):
    """The organisation accepted the quote (within its validity): what the activity report counts."""

    offer: PaidOffer = Field(description="The offer (code).", examples=["application_support"])
    accepted_on: date = Field(description="The day it was accepted (server date, Europe/Paris).",
                              examples=["2024-09-30"])
    discount_applied: bool = Field(description="Whether the member discount applied.", examples=[True])
    net_cents: int = Field(description="Price excluding VAT after any discount, in cents.", examples=[440_000])
    total_incl_vat_cents: int = Field(description="Price including VAT, in cents.", examples=[528_000])
    accepted_at: AwareDatetime = Field(description="When it was recorded.", examples=["2024-09-30T14:00:00+02:00"])


class QuoteDeclined(_QuoteEvent, event_type="org.cress.procurement.quote-declined.v1",
                    aggregate_type="quote", aggregate_id_field="quote_id"):
    """The organisation declined the quote (its reason, free text, stays in the service)."""

    offer: PaidOffer = Field(description="The offer (code).", examples=["application_support"])
    declined_at: AwareDatetime = Field(description="When it was recorded.", examples=["2024-09-25T14:00:00+02:00"])


class QuoteExpired(_QuoteEvent, event_type="org.cress.procurement.quote-expired.v1",
                   aggregate_type="quote", aggregate_id_field="quote_id"):
    """A sent quote was not accepted by the end of its validity."""

    offer: PaidOffer = Field(description="The offer (code).", examples=["application_support"])
    valid_until: date = Field(description="The last day it could be accepted.", examples=["2024-10-16"])
    expired_at: AwareDatetime = Field(description="When the expiry was recorded.",
                                      examples=["2024-10-17T03:00:00+02:00"])


class IndividualDiagnosticHeld(DomainEvent, event_type="org.cress.procurement.individual-diagnostic-held.v1",
                               aggregate_type="quote", aggregate_id_field="individual_diagnostic_id"):
    """Prom'ESS Europe's free individual diagnostic was held with an ESS organisation (its outcome
    notes stay in the service). A single fact: keyed by its own id."""

    individual_diagnostic_id: str = Field(description="Id of the diagnostic (the Kafka key).",
                                          examples=["idg-0a1b2c3d4e5f"])
    organisation_id: str = Field(description="The ESS organisation (membership's id).", examples=["org-5f1c2a9b3d7e"])
    held_on: date = Field(description="The day it was held (never in the future).", examples=["2024-09-05"])
    recorded_at: AwareDatetime = Field(description="When it was recorded.", examples=["2024-09-05T17:00:00+02:00"])
