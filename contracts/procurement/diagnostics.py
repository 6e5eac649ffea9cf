"""Events of purchase diagnostics (topic ``procurement.diagnostic``, key ``diagnostic_id``)."""
from __future__ import annotations

from pydantic import AwareDatetime, Field

from contracts.base import DomainEvent

__all__ = ["DiagnosticOpened"]


class DiagnosticOpened(DomainEvent, event_type="org.cress.procurement.diagnostic-opened.v1",
                       aggregate_type="diagnostic", aggregate_id_field="diagnostic_id"):
    """A purchase diagnostic was opened for a buyer (its spend files are imported next)."""

    diagnostic_id: str = Field(description="Id of the diagnostic.", examples=["diag-7b1e22"])
    buyer_id: str = Field(description="The buyer whose spend is analysed.", examples=["buy-81d2e0"])
    opened_at: AwareDatetime = Field(description="When the diagnostic was opened.",
                                     examples=["2024-06-10T10:00:00+02:00"])
