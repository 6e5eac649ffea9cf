"""Event type filters of an endpoint: exact types or patterns where ``*`` matches any characters
(``org.cress.events.*``, ``org.cress.*.member-*.v1``). A filter must match at least one event
type the platform sends: a typo is refused (422 naming the filter) rather than silently
receiving nothing."""
from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from fnmatch import fnmatchcase

from runtime.errors import InvalidInput

MAX_FILTERS = 50
_FILTER = re.compile(r"[a-z0-9*][a-z0-9.*-]{0,199}")  # no ? nor [ ]: `*` is the only wildcard


def matches(filters: Iterable[str], event_type: str) -> bool:
    """Whether one of ``filters`` matches ``event_type``."""
    return any(fnmatchcase(event_type, f) for f in filters)


def matched_types(pattern: str, known: Iterable[str]) -> list[str]:
    return [t for t in known if fnmatchcase(t, pattern)]


def event_type_filters(value: object, known: Collection[str], field: str = "event_types") -> list[str]:
    """The filters, checked (each matches a type of ``known``), without duplicates, in order."""
    if not isinstance(value, (list, tuple)) or not value:
        raise InvalidInput(field, f"{field} must list at least one event type or pattern (e.g. org.cress.events.*)")
    if len(value) > MAX_FILTERS:
        raise InvalidInput(field, f"{field} lists {len(value)} filters; at most {MAX_FILTERS}")
    out: list[str] = []
    for i, item in enumerate(value):
        where = f"{field}.{i}"
        if not isinstance(item, str) or not _FILTER.fullmatch(item.strip()):
            raise InvalidInput(where, f"{item!r} is not an event type or a pattern (lower-case letters, digits, "
                                      "'.', '-' and '*' as the only wildcard)")
        item = item.strip()
        if not matched_types(item, known):
            raise InvalidInput(where, f"{item!r} matches no event type the platform sends (GET /event-types)")
        if item not in out:
            out.append(item)
    return out
