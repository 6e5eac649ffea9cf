"""The territorial diagnostic (commune, EPCI, EPT, département) and one timeline per organisation,
as of any date, computed from the other services' events only.

Roles: reads need ``staff:observatory`` or ``reader``.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Path, Query

from contracts.base import EARLIEST_YEAR, LATEST_YEAR
from runtime.api import ONE, PlatformDep, router, today
from runtime.auth import READER, allow, staff
from services.observatory.domain.territory import Level
from services.observatory.entrypoints.territory_schemas import DiagnosticView, TimelineView
from services.observatory.service_layer.territory import build_diagnostic, build_timeline

reads = Depends(allow(staff("observatory"), READER))

territories = router("/territories", tags=["territories"])
organisations = router("/organisations", tags=["territories"])

AsOf = Annotated[date | None, Query(description="What was true on this date (YYYY-MM-DD; default today).")]


@territories.get("/{level}/{code}/diagnostic", response_model=DiagnosticView, dependencies=[reads], responses=ONE,
                 summary="The territorial diagnostic of a commune, an EPCI, an EPT or a département for a year, as "
                         "of a date: ESS structures and members, events held there and participants from there, "
                         "suppliers, needs and awarded amounts, buyers and interventions — each with its source")
async def diagnostic(level: Annotated[Level, Path(description="commune, epci, ept or departement.")],
                     code: Annotated[str, Path(min_length=1, max_length=12, pattern=r"^[0-9A-Za-z]+$",
                                               description="INSEE code of the commune (93048), SIREN of the EPCI "
                                                           "(200054781), code of the EPT (200057875) or of the "
                                                           "département (93).")],
                     platform: PlatformDep, as_of: AsOf = None,
                     year: Annotated[int | None, Query(ge=EARLIEST_YEAR, le=LATEST_YEAR,
                                                       description="The year (default: the year of as_of).")] = None,
                     ) -> DiagnosticView:
    day = as_of or today()
    return await build_diagnostic(platform.db, level, code, year or day.year, day)


@organisations.get("/{organisation_id}/timeline", response_model=TimelineView, response_model_by_alias=True,
                   dependencies=[reads], responses=ONE,
                   summary="One organisation's timeline across services as of a date: joined, paid, attended, met "
                           "buyers, answered needs, won contracts — each line with its event (provenance)")
async def organisation_timeline(organisation_id: Annotated[str, Path(min_length=1, max_length=100)],
                                platform: PlatformDep, as_of: AsOf = None,
                                since: Annotated[date | None, Query(alias="from",
                                                                    description="First day shown.")] = None,
                                until: Annotated[date | None, Query(alias="to",
                                                                    description="Last day shown.")] = None,
                                ) -> TimelineView:
    return await build_timeline(platform.db, organisation_id, as_of or today(), since, until)


ROUTERS = (territories, organisations)
