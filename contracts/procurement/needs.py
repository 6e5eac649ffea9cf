"""Events of buyers' needs, their dispatch and each supplier's funnel (topic ``procurement.need``,
key ``need_id``)."""
from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from contracts.base import DomainEvent
from contracts.procurement.vocabulary import Sector

__all__ = ["NeedKind", "NeedDrafted"]


class NeedKind(StrEnum):
    """What the buyer asks for."""

    TENDER = "tender"
    """Appel d'offres: a public contract notice."""
    QUOTE_REQUEST = "quote_request"
    """Demande de devis."""
    SOURCING = "sourcing"
    """Sourcing: the buyer looks for suppliers before writing its contract."""


class NeedDrafted(DomainEvent, event_type="org.cress.procurement.need-drafted.v1",
                  aggregate_type="need", aggregate_id_field="need_id"):
    """A buyer's need was drafted (by the buyer's app or by staff)."""

    need_id: str = Field(description="Id of the need.", examples=["need-5a2c90"])
    buyer_id: str = Field(description="The buyer.", examples=["buy-81d2e0"])
    kind: NeedKind = Field(description="Kind of need (code).", examples=["tender"])
    sectors: list[Sector] = Field(description="Sectors asked for (codes).", examples=[["food"]])
    drafted_at: AwareDatetime = Field(description="When the need was drafted.", examples=["2024-05-02T14:00:00+02:00"])
