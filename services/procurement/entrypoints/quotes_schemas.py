"""Request and response bodies of the Prom'ESS Europe API (quotes and individual diagnostics)."""
from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from contracts.procurement.quotes import PaidOffer
from runtime.api import Body, partial
from services.procurement.domain.quotes import (DESCRIPTION_MAX, NOTES_MAX, OFFER_RANGES, IndividualDiagnostic,
                                                Quote, NEXT_STEP)


class QuoteIn(Body):
    """A draft quote for a paid offer. ``amount_cents`` is the price excluding VAT before any
    discount: 400,000–700,000 for application_support, 500,000–700,000 for administrative_management."""

    organisation_id: str = Field(max_length=100, description="The ESS organisation, as membership's events name it.")
    offer: PaidOffer = Field(description="application_support or administrative_management.")
    amount_cents: int = Field(description="Price excluding VAT, before any discount, in cents (within the offer's "
                                          "range).")
    description: str | None = Field(None, max_length=DESCRIPTION_MAX,
                                    description="What the support covers (printed on the quote; not in events).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"organisation_id": "org-5f1c2a9b3d7e", "offer": "application_support", "amount_cents": 550_000,
         "description": "Montage d'un dossier FSE+ : diagnostic, budget, rédaction, dépôt."}]})


QuotePatch = partial(QuoteIn, name="QuotePatch", exclude=("organisation_id",),
                     examples=[{"amount_cents": 600_000}])


class DeclineIn(Body):
    reason: str | None = Field(None, max_length=DESCRIPTION_MAX, description="Why (stays here: not in events).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "Budget insuffisant "
                                                                                         "cette année."}]})


class PriceRange(BaseModel):
    min_cents: int
    max_cents: int


class QuoteView(Quote):
    """A quote, with its offer's price range, the next step and its printable page."""

    price_range: PriceRange = Field(description="The offer's range, excluding VAT, before any discount.")
    next_step: str
    html_url: str = Field(description="The printable quote.")

    @classmethod
    def of(cls, quote: Quote) -> QuoteView:
        low, high = OFFER_RANGES[quote.offer]
        return cls(**quote.model_dump(), price_range=PriceRange(min_cents=low, max_cents=high),
                   next_step=NEXT_STEP[quote.status], html_url=f"/quotes/{quote.id}.html")


class DiagnosticIn(Body):
    organisation_id: str = Field(max_length=100, description="The ESS organisation, as membership's events name it.")
    held_on: date | None = Field(None, description="The day it was held (default: today; never in the future).")
    outcome_notes: str | None = Field(None, max_length=NOTES_MAX, description="Outcome (not in events).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"organisation_id": "org-5f1c2a9b3d7e", "held_on": "2024-09-05",
         "outcome_notes": "Projet éligible au FEDER ; orienter vers l'accompagnement au montage."}]})


DiagnosticView = IndividualDiagnostic
