"""Events of supplier profiles and groupings (topic ``procurement.supplier``, key ``supplier_id``).

A supplier profile is the sourcing side of an ESS organisation known from membership's events:
what it does (sectors, kinds, labels), where (its base commune and the territories it serves).
Its identity (name, SIRET, legal form, ESUS agreement) stays membership's: events carry the
organisation id, never a name.

A grouping (suppliers answering one need together) is keyed by its **lead** supplier's id: the
lead never changes, so a grouping's events keep their order on the supplier topic.
"""
from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from contracts.base import DomainEvent
from contracts.procurement.vocabulary import Sector, SupplierKind, SupplierLabel

__all__ = ["SupplierStatus", "GroupingStatus", "ProfileChangeSource", "SupplierProfiled", "SupplierProfileUpdated",
           "SupplierArchived", "GroupingFormed", "GroupingMemberJoined", "GroupingMemberLeft", "GroupingSubmitted",
           "GroupingDissolved"]


class SupplierStatus(StrEnum):
    ACTIVE = "active"
    """Found by sourcing searches and needs' dispatch."""
    ARCHIVED = "archived"
    """Kept for history; found by no search."""


class GroupingStatus(StrEnum):
    FORMING = "forming"
    """Members may still join and leave."""
    SUBMITTED = "submitted"
    """The grouping answered the need (its composition is frozen)."""
    DISSOLVED = "dissolved"
    """The grouping was given up."""


class ProfileChangeSource(StrEnum):
    STAFF = "staff"
    """Staff of the business-development team edited the profile."""
    MEMBERSHIP = "membership"
    """Membership's events changed what the profile derives from the organisation (the ESUS label)."""


def _supplier_id() -> object:
    return Field(description="Id of the supplier profile.", examples=["sup-3f9a1c2b7d4e"])


def _organisation_id() -> object:
    return Field(description="The ESS organisation (membership's id).", examples=["org-5f1c2a9b3d7e"])


class _MatchingProfile(DomainEvent):
    """What needs are matched on: sectors, kinds, labels, the base and the territories served."""

    supplier_id: str = _supplier_id()
    organisation_id: str = _organisation_id()
    sectors: list[Sector] = Field(description="Sectors (filières) the supplier works in (codes).",
                                  examples=[["circular_economy", "logistics"]])
    kinds: list[SupplierKind] = Field(description="Insertion, disability or ESS kinds (codes).", examples=[["ei"]])
    labels: list[SupplierLabel] = Field(description="Labels and agreements held (codes); `esus` comes from the "
                                                    "organisation's ESUS agreement.", examples=[["esus"]])
    base_commune: str = Field(description="INSEE code of the commune the supplier works from.", examples=["93048"])
    base_departement: str = Field(description="Département of the base commune (code).", examples=["93"])
    departements: list[str] = Field(description="Départements served as a whole (codes).", examples=[["93", "94"]])
    communes: list[str] = Field(description="Communes served (INSEE codes).", examples=[["93048"]])
    radius_km: int | None = Field(description="Radius served around the base commune, in km; null: none.",
                                  examples=[30])


class SupplierProfiled(_MatchingProfile, event_type="org.cress.procurement.supplier-profiled.v1",
                       aggregate_type="supplier", aggregate_id_field="supplier_id"):
    """Staff created the supplier profile of an ESS organisation known from membership's events."""

    profiled_at: AwareDatetime = Field(description="When the profile was created.",
                                       examples=["2024-03-02T10:15:00+01:00"])


class SupplierProfileUpdated(_MatchingProfile, event_type="org.cress.procurement.supplier-profile-updated.v1",
                             aggregate_type="supplier", aggregate_id_field="supplier_id"):
    """A supplier profile changed. Carries the matching profile after the change and the names of
    the fields that changed (services, capacity, references and past contracts are named, not
    carried: they are free texts of the profile)."""

    changed_fields: list[str] = Field(description="Names of the profile fields that changed.",
                                      examples=[["sectors", "serves"]])
    source: ProfileChangeSource = Field(description="Who changed it: staff, or membership's events (the ESUS "
                                                    "agreement behind the `esus` label).", examples=["staff"])
    updated_at: AwareDatetime = Field(description="When the profile changed.", examples=["2024-04-11T16:02:00+02:00"])


class SupplierArchived(DomainEvent, event_type="org.cress.procurement.supplier-archived.v1",
                       aggregate_type="supplier", aggregate_id_field="supplier_id"):
    """A supplier profile was archived: no search nor dispatch finds it any more."""

    supplier_id: str = _supplier_id()
    organisation_id: str = _organisation_id()
    archived_at: AwareDatetime = Field(description="When the profile was archived.",
                                       examples=["2025-01-20T09:00:00+01:00"])


# -- groupings ---------------------------------------------------------------------------------------

def _lead_id() -> object:
    return Field(description="The grouping's lead supplier (the Kafka key: a grouping's events keep their order).",
                 examples=["sup-3f9a1c2b7d4e"])


def _grouping_id() -> object:
    return Field(description="Id of the grouping.", examples=["grp-0c4d8e1f2a3b"])


def _need_id() -> object:
    return Field(description="The buyer's need the grouping answers.", examples=["need-5a2c90e1b7f3"])


class GroupingFormed(DomainEvent, event_type="org.cress.procurement.grouping-formed.v1",
                     aggregate_type="supplier", aggregate_id_field="supplier_id"):
    """Suppliers formed a grouping, led by one of them, to answer one need together."""

    supplier_id: str = _lead_id()
    grouping_id: str = _grouping_id()
    need_id: str = _need_id()
    member_supplier_ids: list[str] = Field(description="The other suppliers of the grouping (not the lead).",
                                           examples=[["sup-71aa0e9c3d21", "sup-9b2c4d6e8f10"]])
    formed_at: AwareDatetime = Field(description="When the grouping was formed.",
                                     examples=["2024-05-06T11:00:00+02:00"])


class GroupingMemberJoined(DomainEvent, event_type="org.cress.procurement.grouping-member-joined.v1",
                           aggregate_type="supplier", aggregate_id_field="supplier_id"):
    """A supplier joined a grouping that is still forming."""

    supplier_id: str = _lead_id()
    grouping_id: str = _grouping_id()
    member_supplier_id: str = Field(description="The supplier that joined.", examples=["sup-71aa0e9c3d21"])
    joined_at: AwareDatetime = Field(description="When it joined.", examples=["2024-05-07T09:30:00+02:00"])


class GroupingMemberLeft(DomainEvent, event_type="org.cress.procurement.grouping-member-left.v1",
                         aggregate_type="supplier", aggregate_id_field="supplier_id"):
    """A supplier left a grouping that is still forming."""

    supplier_id: str = _lead_id()
    grouping_id: str = _grouping_id()
    member_supplier_id: str = Field(description="The supplier that left.", examples=["sup-71aa0e9c3d21"])
    left_at: AwareDatetime = Field(description="When it left.", examples=["2024-05-09T14:00:00+02:00"])


class GroupingSubmitted(DomainEvent, event_type="org.cress.procurement.grouping-submitted.v1",
                        aggregate_type="supplier", aggregate_id_field="supplier_id"):
    """The grouping answered its need; its composition is frozen."""

    supplier_id: str = _lead_id()
    grouping_id: str = _grouping_id()
    need_id: str = _need_id()
    member_supplier_ids: list[str] = Field(description="The other suppliers of the grouping, as submitted.",
                                           examples=[["sup-71aa0e9c3d21"]])
    submitted_at: AwareDatetime = Field(description="When it was submitted.", examples=["2024-05-15T17:00:00+02:00"])


class GroupingDissolved(DomainEvent, event_type="org.cress.procurement.grouping-dissolved.v1",
                        aggregate_type="supplier", aggregate_id_field="supplier_id"):
    """The grouping was given up (forming or submitted); its suppliers are free to answer the need
    otherwise. The reason, a free text, stays in the service."""

    supplier_id: str = _lead_id()
    grouping_id: str = _grouping_id()
    need_id: str = _need_id()
    previous_status: GroupingStatus = Field(description="The status it was dissolved from.", examples=["forming"])
    dissolved_at: AwareDatetime = Field(description="When it was dissolved.", examples=["2024-05-20T10:00:00+02:00"])
