"""A convention's organiser settings: meeting slots (given, or generated around breaks), tables,
request expiry, whether pending requests are scheduled, the default maximum of meetings."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.conventions import ConventionSlotInfo
from runtime.errors import InvalidInput

from . import _rules

MAX_SLOTS = 200
MAX_TABLES = 5_000
MAX_SLOT_MINUTES = 24 * 60
MAX_EXPIRY_HOURS = 366 * 24
DEFAULT_EXPIRY_HOURS = 72


class ConventionSlot(BaseModel):
    """A meeting slot: ``id`` (stable: meetings refer to it), start, length, and its own number of
    tables when it differs from the convention's default."""

    model_config = ConfigDict(frozen=True)

    id: str
    start_at: AwareDatetime
    duration_minutes: int = Field(ge=1, le=MAX_SLOT_MINUTES)
    tables: int | None = Field(default=None, ge=1, le=MAX_TABLES)

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    @property
    def end_at(self) -> datetime:
        return self.start_at + self.duration


class Break(BaseModel):
    """A time range with no slot (coffee, a talk, the stands)."""

    model_config = ConfigDict(frozen=True)

    start_at: AwareDatetime
    end_at: AwareDatetime

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return start < self.end_at and end > self.start_at


class ConventionSettings(BaseModel):
    """Built (and validated) by :meth:`build`; stored as is."""

    model_config = ConfigDict(frozen=True)

    slots: tuple[ConventionSlot, ...]  # in time order
    tables: int = Field(ge=1, le=MAX_TABLES)
    breaks: tuple[Break, ...] = ()  # in time order
    request_expiry_hours: int | None = DEFAULT_EXPIRY_HOURS
    schedule_pending: bool = False
    max_meetings_default: int | None = None
    allow_same_role: bool = False

    @classmethod
    def build(
        cls,
        *,
        slots: Iterable[ConventionSlot | Mapping[str, Any]],
        tables: int,
        breaks: Iterable[Break | Mapping[str, Any] | tuple[datetime, datetime]] = (),
        table_overrides: Mapping[str, int] | None = None,
        request_expiry_hours: int | None = DEFAULT_EXPIRY_HOURS,
        schedule_pending: bool = False,
        max_meetings_default: int | None = None,
        allow_same_role: bool = False,
    ) -> ConventionSettings:
        """Validated settings; :class:`InvalidInput` names the first bad field (``slots.2.start_at``,
        ``tables``, ``breaks.0.end_at``, ``table_overrides.s4``…).

        ``slots`` are given one by one (``id``, ``start_at``, ``duration_minutes``, optional
        ``tables``) or come from :func:`generate_slots`; ``table_overrides`` maps slot ids to their
        number of tables (on top of the slots' own). Slots must not overlap each other nor a break.
        """
        tables = _rules.whole(tables, "tables", low=1, high=MAX_TABLES)
        given_breaks = _indexed_breaks(breaks)  # in time order, each with its index in the list given
        parsed = _parse_slots(slots)
        if table_overrides:
            by_id = {s.id: i for i, s in enumerate(parsed)}
            for sid, n in table_overrides.items():
                where = f"table_overrides.{sid}"
                if sid not in by_id:
                    raise InvalidInput(where, f"{where}: unknown slot {sid!r}")
                n = _rules.whole(n, where, low=1, high=MAX_TABLES)
                parsed[by_id[sid]] = parsed[by_id[sid]].model_copy(update={"tables": n})
        order = sorted(range(len(parsed)), key=lambda i: parsed[i].start_at)
        for prev, cur in zip(order, order[1:]):
            p, c = parsed[prev], parsed[cur]
            if c.start_at < p.end_at:
                raise InvalidInput(f"slots.{cur}.start_at", f"slot {c.id!r} overlaps slot {p.id!r}")
        for i, s in enumerate(parsed):
            for k, b in given_breaks:
                if b.overlaps(s.start_at, s.end_at):
                    raise InvalidInput(f"slots.{i}.start_at", f"slot {s.id!r} overlaps breaks.{k}")
        return cls(
            slots=tuple(parsed[i] for i in order),
            tables=tables,
            breaks=tuple(b for _, b in given_breaks),
            request_expiry_hours=_rules.optional_whole(request_expiry_hours, "request_expiry_hours",
                                                       low=1, high=MAX_EXPIRY_HOURS),
            schedule_pending=_rules.flag(schedule_pending, "schedule_pending"),
            max_meetings_default=_rules.optional_whole(max_meetings_default, "max_meetings_default",
                                                       low=1, high=MAX_SLOTS),
            allow_same_role=_rules.flag(allow_same_role, "allow_same_role"),
        )

    # -- queries -------------------------------------------------------------------------
    def slot(self, slot_id: str) -> ConventionSlot | None:
        return next((s for s in self.slots if s.id == slot_id), None)

    def tables_in(self, slot: ConventionSlot) -> int:
        return slot.tables if slot.tables is not None else self.tables

    def first_slot_after(self, at: datetime) -> ConventionSlot | None:
        """The first slot starting strictly after ``at``."""
        return next((s for s in self.slots if s.start_at > at), None)

    @property
    def starts_at(self) -> datetime:
        return self.slots[0].start_at

    @property
    def ends_at(self) -> datetime:
        return max(s.end_at for s in self.slots)

    def slot_infos(self) -> list[ConventionSlotInfo]:
        return [ConventionSlotInfo(slot_id=s.id, start_at=s.start_at, duration_minutes=s.duration_minutes,
                                   tables=self.tables_in(s)) for s in self.slots]


def generate_slots(
    *,
    start_at: datetime,
    slot_minutes: int,
    count: int,
    gap_minutes: int = 0,
    breaks: Iterable[Break | Mapping[str, Any] | tuple[datetime, datetime]] = (),
) -> list[ConventionSlot]:
    """``count`` slots of ``slot_minutes`` from ``start_at``, ``gap_minutes`` apart; a slot that
    would overlap a break starts when the break ends. Ids are ``s1``, ``s2``… in time order (so a
    slot keeps its id when a break moves the later ones)."""
    t = _rules.instant(start_at, "start_at")
    length = timedelta(minutes=_rules.whole(slot_minutes, "slot_minutes", low=1, high=MAX_SLOT_MINUTES))
    gap = timedelta(minutes=_rules.whole(gap_minutes, "gap_minutes", low=0, high=MAX_SLOT_MINUTES))
    count = _rules.whole(count, "count", low=1, high=MAX_SLOTS)
    parsed_breaks = parse_breaks(breaks)
    out: list[ConventionSlot] = []
    while len(out) < count:
        hit = [b for b in parsed_breaks if b.overlaps(t, t + length)]
        if hit:
            t = max(b.end_at for b in hit)
            continue
        _rules.instant(t + length, "count")  # far-off: the afternoon runs past the years accepted
        out.append(ConventionSlot(id=f"s{len(out) + 1}", start_at=t, duration_minutes=length // timedelta(minutes=1)))
        t = t + length + gap
    return out


def parse_breaks(breaks: Iterable[Break | Mapping[str, Any] | tuple[datetime, datetime]]) -> tuple[Break, ...]:
    """The breaks checked, in time order."""
    return tuple(b for _, b in _indexed_breaks(breaks))


def _indexed_breaks(breaks: Iterable[Break | Mapping[str, Any] | tuple[datetime, datetime]]) -> list[tuple[int, Break]]:
    """The breaks checked, in time order, each with its index in the list given: a refusal names a
    break as the client listed it (``breaks.1``), whatever its place in time."""
    out: list[tuple[int, Break]] = []
    for i, b in enumerate(breaks or ()):
        where = f"breaks.{i}"
        if isinstance(b, Break):
            start, end = b.start_at, b.end_at
        elif isinstance(b, Mapping):
            start, end = b.get("start_at"), b.get("end_at")
        elif isinstance(b, (tuple, list)) and len(b) == 2:
            start, end = b
        else:
            raise InvalidInput(where, f"{where} must be a start_at and an end_at")
        start = _rules.instant(start, f"{where}.start_at")
        end = _rules.instant(end, f"{where}.end_at")
        if end <= start:
            raise InvalidInput(f"{where}.end_at", f"{where} ends before it starts")
        out.append((i, Break(start_at=start, end_at=end)))
    out.sort(key=lambda ib: ib[1].start_at)
    for (_, p), (i, c) in zip(out, out[1:]):
        if c.start_at < p.end_at:
            raise InvalidInput(f"breaks.{i}.start_at", f"breaks.{i} overlaps another break")
    return out


def _parse_slots(slots: Iterable[ConventionSlot | Mapping[str, Any]]) -> list[ConventionSlot]:
    if slots is None or isinstance(slots, (str, bytes)):
        raise InvalidInput("slots", "slots must be a list of slots")
    out: list[ConventionSlot] = []
    seen: dict[str, int] = {}
    for i, s in enumerate(slots):
        where = f"slots.{i}"
        data = s.model_dump() if isinstance(s, ConventionSlot) else s
        if not isinstance(data, Mapping):
            raise InvalidInput(where, f"{where} must be a slot (id, start_at, duration_minutes, tables)")
        sid = _rules.identifier(data.get("id"), f"{where}.id")
        if sid in seen:
            raise InvalidInput(f"{where}.id", f"slot {sid!r} appears twice (also slots.{seen[sid]})")
        seen[sid] = i
        start = _rules.instant(data.get("start_at"), f"{where}.start_at")
        minutes = _rules.whole(data.get("duration_minutes"), f"{where}.duration_minutes", low=1, high=MAX_SLOT_MINUTES)
        tables = _rules.optional_whole(data.get("tables"), f"{where}.tables", low=1, high=MAX_TABLES)
        _rules.instant(start + timedelta(minutes=minutes), f"{where}.duration_minutes")
        out.append(ConventionSlot(id=sid, start_at=start, duration_minutes=minutes, tables=tables))
    if not out:
        raise InvalidInput("slots", "a convention needs at least one slot")
    if len(out) > MAX_SLOTS:
        raise InvalidInput("slots", f"at most {MAX_SLOTS} slots (got {len(out)})")
    return out
