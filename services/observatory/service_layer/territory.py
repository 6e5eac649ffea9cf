"""The territorial diagnostic and an organisation's timeline, assembled from the ledger and
membership's projections (reads: :mod:`services.observatory.adapters.territory`; computation:
:mod:`services.observatory.domain.territory` and :mod:`services.observatory.domain.timeline`)."""
from __future__ import annotations

from dataclasses import asdict
from datetime import date

from runtime.errors import InvalidInput, NotFound
from runtime.mongo import Database
from services.observatory.adapters import directory
from services.observatory.adapters import territory as reads
from services.observatory.domain.directory import live
from services.observatory.domain.report import year_end
from services.observatory.domain.territory import ORGANISATION_TYPES, PLATFORM_TYPES, Level, diagnostic, territory
from services.observatory.domain.timeline import EVENT_TYPES, event_ids_of, timeline, titles_of
from services.observatory.entrypoints.territory_schemas import (DiagnosticView, HeldEventView, TimelineLineView,
                                                                TimelineView)
from services.observatory.service_layer.report import figure_view


async def build_diagnostic(db: Database, level: Level | str, code: str, year: int, as_of: date) -> DiagnosticView:
    """The diagnostic of the territory for ``year`` as it stood on ``as_of``.

    :raises NotFound: no such territory (naming its code)."""
    place = territory(level, code)
    organisations = await reads.organisations_in(db, place)
    here = [o.organisation_id for o in organisations if place.holds(o.commune, None)]
    rows = [*await reads.rows_of_types(db, PLATFORM_TYPES, as_of),
            *await reads.rows_of_organisations(db, here, ORGANISATION_TYPES, as_of)]
    structures = [(e.commune.code if e.commune else None, e.departement.code if e.departement else None)
                  for e in live(await directory.entries_on(db, year_end(year, as_of)))]
    figures, events = diagnostic(place, organisations, rows, year, as_of, structures)
    return DiagnosticView(level=place.level, code=place.code, name=place.name, level_label=place.level.label,
                          departements=sorted(place.departements), year=year, as_of=as_of,
                          figures=[figure_view(f) for f in figures],
                          events_held=[HeldEventView(**asdict(e)) for e in events])


async def build_timeline(db: Database, organisation_id: str, as_of: date, since: date | None = None,
                         until: date | None = None) -> TimelineView:
    """The organisation's timeline as of ``as_of`` (between ``since`` and ``until`` when given).

    :raises NotFound: the observatory knows no such organisation (naming it).
    :raises InvalidInput: ``from`` after ``to``."""
    if since and until and since > until:
        raise InvalidInput("from", f"from ({since.isoformat()}) is after to ({until.isoformat()})")
    profile = await reads.known_organisation(db, organisation_id)
    if profile is None:
        raise NotFound(f"organisation {organisation_id} is unknown to the observatory")
    rows = await reads.organisation_rows(db, organisation_id, as_of)
    event_ids = event_ids_of(rows)
    titles = titles_of(await reads.rows_of_types(db, EVENT_TYPES, as_of, subjects=event_ids), as_of) if event_ids \
        else {}
    lines = timeline(organisation_id, rows, titles, as_of, since, until)
    return TimelineView(organisation_id=organisation_id, name=profile.get("name"), as_of=as_of, since=since,
                        until=until, lines=[TimelineLineView(**asdict(line)) for line in lines])
