"""ESS structures and members per territory as of a date — THE one place that counts them (the map,
the page and the PDF call it; the directory's imported structures will be added here).

- structures: organisations known to membership (the ``organisations`` read model) registered on or
  before the date (``registered_on``; an organisation without it counts);
- members: those of them in good standing on the date (``member_standing`` history,
  :func:`runtime.members.standing_on`).

An organisation's commune is a NAME in its profile, resolved with
:func:`reference.geo.find` (name, département); one that does not resolve still counts in its
département, not in any commune.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any, Literal

from reference import geo
from runtime.members import ORGANISATIONS, STANDING, standing_on
from runtime.mongo import Database

Level = Literal["departement", "commune"]


async def territory_counts(db: Database, on: date, level: Level) -> list[dict[str, Any]]:
    """Per département (``code``, ``name``, ``region``) or per commune (``code`` INSEE, ``name``,
    ``departement``, ``region``, ``lat``, ``lon``): ``structures`` and ``members`` on ``on``, for
    every territory with at least one structure, ordered by code."""
    if level not in ("departement", "commune"):
        raise ValueError(f"level must be 'departement' or 'commune', not {level!r}")
    day = on.isoformat()
    standing = {doc["_id"]: doc async for doc in db[STANDING].find({}, {"history": 1})}
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"structures": 0, "members": 0})
    places: dict[str, dict[str, Any]] = {}
    async for org in db[ORGANISATIONS].find({}, {"departement": 1, "commune": 1, "registered_on": 1}):
        if (org.get("registered_on") or "") > day:
            continue
        dep = org.get("departement")
        if level == "departement":
            found = geo.departement(dep) if dep else None
            if found is None:
                continue
            code = found.code
            places.setdefault(code, {"code": code, "name": found.name, "region": found.region})
        else:
            commune = geo.find(org["commune"], dep) if org.get("commune") else None
            if commune is None:
                continue
            code = commune.code
            places.setdefault(code, {"code": code, "name": commune.name, "departement": commune.departement,
                                     "region": commune.region, "lat": commune.lat, "lon": commune.lon})
        counts[code]["structures"] += 1
        entry = standing_on(standing.get(org["_id"]), on)
        if entry and entry["in_good_standing"]:
            counts[code]["members"] += 1
    return [{**places[code], **counts[code]} for code in sorted(counts)]
