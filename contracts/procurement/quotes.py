"""Events of Prom'ESS Europe's diagnostics and quotes (topic ``procurement.quote``, key ``quote_id``)."""
from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from contracts.base import DomainEvent

__all__ = ["PaidOffer", "QuoteDrafted"]


class PaidOffer(StrEnum):
    """Prom'ESS Europe's paid offers, by quote."""

    APPLICATION_SUPPORT = "application_support"
    """Support to build a European funds application (4,000–7,000 € excluding VAT)."""
    ADMINISTRATIVE_MANAGEMENT = "administrative_management"
    """Support with the administrative management of a granted project (5,000–7,000 € excluding VAT)."""


class QuoteDrafted(DomainEvent, event_type="org.cress.procurement.quote-drafted.v1",
                   aggregate_type="quote", aggregate_id_field="quote_id"):
    """A quote for a paid offer was drafted for an ESS organisation."""

    quote_id: str = Field(description="Id of the quote.", examples=["quo-2d7c11"])
    organisation_id: str = Field(description="The ESS organisation (membership's id).", examples=["org-5f1c2a"])
    offer: PaidOffer = Field(description="The offer quoted (code).", examples=["application_support"])
    drafted_at: AwareDatetime = Field(description="When the quote was drafted.", examples=["2024-09-12T11:00:00+02:00"])
