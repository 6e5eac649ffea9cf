"""Events of supplier profiles and groupings (topic ``procurement.supplier``, key ``supplier_id``)."""
from __future__ import annotations

from pydantic import AwareDatetime, Field

from contracts.base import DomainEvent
from contracts.procurement.vocabulary import Sector, SupplierKind, SupplierLabel

__all__ = ["SupplierProfiled"]


class SupplierProfiled(DomainEvent, event_type="org.cress.procurement.supplier-profiled.v1",
                       aggregate_type="supplier", aggregate_id_field="supplier_id"):
    """Staff created the supplier profile of an ESS organisation known from membership's events."""

    supplier_id: str = Field(description="Id of the supplier profile.", examples=["sup-3f9a1c"])
    organisation_id: str = Field(description="The ESS organisation (membership's id).", examples=["org-5f1c2a"])
    sectors: list[Sector] = Field(description="Sectors (filières) the supplier works in (codes).",
                                  examples=[["circular_economy", "logistics"]])
    kinds: list[SupplierKind] = Field(description="Insertion, disability or ESS kinds (codes).", examples=[["ei"]])
    labels: list[SupplierLabel] = Field(description="Labels and agreements held (codes).", examples=[["esus"]])
    departements: list[str] = Field(description="Départements served as a whole (codes).", examples=[["93", "94"]])
    communes: list[str] = Field(description="Communes served (INSEE codes).", examples=[["93048"]])
    radius_km: int | None = Field(description="Radius served around the supplier's commune, in km; null: none.",
                                  examples=[30])
    profiled_at: AwareDatetime = Field(description="When the profile was created.",
                                       examples=["2024-03-02T10:15:00+01:00"])
