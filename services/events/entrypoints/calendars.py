"""iCalendar (RFC 5545) exports, with the maintained ``icalendar`` library: one event, or a person's
registrations. UIDs are stable (``<event id>@cress``), SEQUENCE grows with each update and with a
cancellation, and STATUS follows the event (TENTATIVE, CONFIRMED, CANCELLED), so a calendar that
imported the event once updates it in place."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from fastapi.responses import Response
from icalendar import Calendar, Event as VEvent

from services.events.domain.catalogue import Event

PRODID = "-//CRESS//events service//FR"
ICAL = "text/calendar; charset=utf-8"


def vevent(event: Event, *, stamp: datetime | None = None, summary_suffix: str = "") -> VEvent:
    component = VEvent.new(
        uid=f"{event.id}@cress", summary=event.title + summary_suffix, start=event.local_starts_at,
        end=event.local_ends_at, stamp=stamp or datetime.now(timezone.utc), description=event.description,
        location=event.location, url=event.online_url, sequence=event.ical_sequence, status=event.ical_status,
        categories=[event.kind.value])
    return component


def calendar(name: str, components: Iterable[VEvent]) -> Response:
    cal = Calendar.new(prodid=PRODID, name=name, subcomponents=list(components))
    cal.add_missing_timezones()
    return Response(cal.to_ical(), media_type=ICAL,
                    headers={"Content-Disposition": 'attachment; filename="calendar.ics"'})
