"""What procurement knows of ESS organisations and their membership, from membership's events only.

Roles: ``staff:procurement`` or ``reader``.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from runtime import members
from runtime.api import ONE, READ, PlatformDep, router
from runtime.auth import READER, allow, staff
from runtime.errors import NotFound

TEAM = "procurement"
reads = Depends(allow(staff(TEAM), READER))
organisations = router("/organisations", tags=["ESS organisations"])


class OrganisationView(BaseModel):
    organisation_id: str
    siret: str
    name: str
    legal_form: str
    esus_agreed: bool
    esus_agreed_on: date | None
    departement: str
    commune: str
    sector: str
    headcount: int
    annual_budget_cents: int
    as_of: str = Field(description="Time of the last membership event applied to this profile.")


class StandingView(BaseModel):
    organisation_id: str
    known: bool = Field(description="Whether membership's events ever named this organisation as a member.")
    on: date | None = Field(default=None, description="The date asked for, when one was.")
    in_good_standing: bool
    status: str | None
    status_since: str | None
    as_of: str | None = Field(description="Time of the membership event that gave this status.")


@organisations.get("/{organisation_id}", response_model=OrganisationView, dependencies=[reads], responses=ONE,
                   summary="An ESS organisation's public profile, as membership's events gave it")
async def organisation(organisation_id: str, platform: PlatformDep) -> dict:
    doc = await members.organisation(platform.db, organisation_id)
    if doc is None:
        raise NotFound(f"organisation {organisation_id} is unknown to procurement (no membership event named it)")
    as_of = doc.pop("as_of")
    return {**doc, "organisation_id": doc.pop("_id"), "as_of": as_of.isoformat()}


@organisations.get("/{organisation_id}/standing", response_model=StandingView, dependencies=[reads],
                   responses=READ, summary="Whether an organisation is (or was, on a date) a member in good standing")
async def organisation_standing(organisation_id: str, platform: PlatformDep,
                                on: Annotated[date | None, Query(description="As of this date (default: now).")]
                                = None) -> dict:
    doc = await platform.db[members.STANDING].find_one({"_id": organisation_id})
    return members.standing_view(doc, organisation_id, on)


ROUTERS = (organisations,)
