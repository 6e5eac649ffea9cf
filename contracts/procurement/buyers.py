"""Events of buyers, their engagements, conventions and interventions (topic ``procurement.buyer``,
key ``buyer_id``)."""
from __future__ import annotations

from pydantic import AwareDatetime, Field

from contracts.base import DomainEvent
from contracts.procurement.vocabulary import BuyerKind

__all__ = ["BuyerRegistered"]


class BuyerRegistered(DomainEvent, event_type="org.cress.procurement.buyer-registered.v1",
                      aggregate_type="buyer", aggregate_id_field="buyer_id"):
    """A public or private buyer became known to the business-development team."""

    buyer_id: str = Field(description="Id of the buyer.", examples=["buy-81d2e0"])
    kind: BuyerKind = Field(description="Kind of buyer (code).", examples=["commune"])
    siret: str = Field(description="SIRET of the buyer: 14 digits, checksum verified.", examples=["21930048000015"])
    name: str = Field(description="Name of the buyer (a legal entity: not personal data).",
                      examples=["Ville de Montreuil"])
    departement: str = Field(description="French département code.", examples=["93"])
    commune: str | None = Field(description="INSEE code of the buyer's commune, when it has one.",
                                examples=["93048"])
    registered_at: AwareDatetime = Field(description="When the buyer was registered.",
                                         examples=["2024-01-15T09:00:00+01:00"])
