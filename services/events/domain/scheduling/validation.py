"""Checks of a scheduling problem: each bad item gets an error naming it (dotted path + id)."""
from __future__ import annotations

from collections import Counter, defaultdict

from runtime.errors import InvalidInput

from .model import MAX_PRIORITY, RequestStatus, Role, SchedulingProblem, Slot


class SchedulingInputError(InvalidInput):
    """Bad input of the speed-meeting scheduler; ``field`` is e.g. ``requests.3.to``."""


def slot_tables(problem: SchedulingProblem, slot: Slot) -> int:
    return slot.tables if slot.tables is not None else (problem.tables or 0)


def validate(problem: SchedulingProblem) -> None:
    """Raise :class:`SchedulingInputError` on the first bad item, else return ``None``."""
    _check_slots(problem)
    slot_ids = {s.id for s in problem.slots}
    _check_participants(problem, slot_ids)
    _check_requests(problem)
    _check_locked(problem)


def _check_ids(items, field: str, noun: str) -> None:
    """Every item has an id, and no id appears twice; the error names the item."""
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        if not item.id:
            raise SchedulingInputError(f"{field}.{i}.id", f"a {noun} needs an id")
        if item.id in seen:
            raise SchedulingInputError(f"{field}.{i}.id", f"{noun} {item.id!r} appears twice (also {field}.{seen[item.id]})")
        seen[item.id] = i


def _check_slots(problem: SchedulingProblem) -> None:
    if not problem.slots:
        raise SchedulingInputError("slots", "a convention needs at least one slot")
    if problem.tables is not None and problem.tables <= 0:
        raise SchedulingInputError("tables", f"tables per slot must be positive, got {problem.tables}")
    _check_ids(problem.slots, "slots", "slot")
    for i, s in enumerate(problem.slots):
        if s.duration.total_seconds() <= 0:
            raise SchedulingInputError(f"slots.{i}.duration", f"slot {s.id!r} has a non-positive duration")
        if s.tables is None and problem.tables is None:
            raise SchedulingInputError(f"slots.{i}.tables", f"slot {s.id!r}: no table count (neither the slot's nor the problem's)")
        if s.tables is not None and s.tables <= 0:
            raise SchedulingInputError(f"slots.{i}.tables", f"slot {s.id!r} has {s.tables} tables: needs at least one")
    order = sorted(range(len(problem.slots)), key=lambda i: problem.slots[i].start)
    for prev, cur in zip(order, order[1:]):
        p, c = problem.slots[prev], problem.slots[cur]
        if c.start < p.start + p.duration:
            raise SchedulingInputError(f"slots.{cur}", f"slot {c.id!r} overlaps slot {p.id!r}")


def _check_participants(problem: SchedulingProblem, slot_ids: set[str]) -> None:
    _check_ids(problem.participants, "participants", "participant")
    for i, p in enumerate(problem.participants):
        if not isinstance(p.role, Role):
            raise SchedulingInputError(f"participants.{i}.role", f"participant {p.id!r}: unknown role {p.role!r}")
        if p.max_meetings is not None and p.max_meetings < 0:
            raise SchedulingInputError(f"participants.{i}.max_meetings", f"participant {p.id!r}: negative maximum {p.max_meetings}")
        if p.available is not None:
            unknown = sorted(set(p.available) - slot_ids)
            if unknown:
                raise SchedulingInputError(f"participants.{i}.available", f"participant {p.id!r}: unknown slot {unknown[0]!r}")


def _check_requests(problem: SchedulingProblem) -> None:
    ids = {p.id for p in problem.participants}
    seen: dict[tuple[str, str], int] = {}
    for i, r in enumerate(problem.requests):
        if r.from_ not in ids:
            raise SchedulingInputError(f"requests.{i}.from", f"unknown participant {r.from_!r}")
        if r.to not in ids:
            raise SchedulingInputError(f"requests.{i}.to", f"unknown participant {r.to!r}")
        if r.from_ == r.to:
            raise SchedulingInputError(f"requests.{i}.to", f"participant {r.from_!r} requests a meeting with itself")
        if not isinstance(r.status, RequestStatus):
            raise SchedulingInputError(f"requests.{i}.status", f"unknown status {r.status!r}")
        if isinstance(r.priority, bool) or not isinstance(r.priority, int) or not 1 <= r.priority <= MAX_PRIORITY:
            raise SchedulingInputError(f"requests.{i}.priority", f"priority {r.priority!r} of {r.from_!r}→{r.to!r} not in 1…{MAX_PRIORITY}")
        if not isinstance(r.forced, bool):
            raise SchedulingInputError(f"requests.{i}.forced", f"forced must be true or false, not {r.forced!r}")
        key = (r.from_, r.to)
        if key in seen:
            raise SchedulingInputError(f"requests.{i}", f"request {r.from_!r}→{r.to!r} appears twice (also requests.{seen[key]})")
        seen[key] = i


def _check_locked(problem: SchedulingProblem) -> None:
    ids = {p.id: p for p in problem.participants}
    slots = {s.id: s for s in problem.slots}
    # a decline in either direction keeps a pair apart unless the organiser forced a direction
    declined = {frozenset((r.from_, r.to)) for r in problem.requests if r.status is RequestStatus.DECLINED}
    forced = {frozenset((r.from_, r.to)) for r in problem.requests if r.forced}
    busy: dict[tuple[str, str], int] = {}
    pairs: dict[frozenset[str], int] = {}
    per_slot: Counter[str] = Counter()
    tables: dict[tuple[str, int], int] = {}
    count: Counter[str] = Counter()
    for i, m in enumerate(problem.locked):
        where = f"locked.{i}"
        for side, pid in (("a", m.a), ("b", m.b)):
            if pid not in ids:
                raise SchedulingInputError(f"{where}.{side}", f"locked meeting: unknown participant {pid!r}")
        if m.slot not in slots:
            raise SchedulingInputError(f"{where}.slot", f"locked meeting {m.a!r}–{m.b!r}: unknown slot {m.slot!r}")
        if m.a == m.b:
            raise SchedulingInputError(f"{where}.b", f"locked meeting of {m.a!r} with itself")
        pair = frozenset((m.a, m.b))
        if pair in declined and pair not in forced:
            raise SchedulingInputError(where, f"locked meeting {m.a!r}–{m.b!r}: the request was declined (not forced)")
        if pair in pairs:
            raise SchedulingInputError(where, f"pair {m.a!r}–{m.b!r} is locked twice (also locked.{pairs[pair]}): a pair meets at most once")
        pairs[pair] = i
        for pid in (m.a, m.b):
            p = ids[pid]
            if p.available is not None and m.slot not in p.available:
                raise SchedulingInputError(where, f"locked meeting: participant {pid!r} is unavailable in slot {m.slot!r}")
            if (pid, m.slot) in busy:
                raise SchedulingInputError(where, f"participant {pid!r} has two locked meetings in slot {m.slot!r} (also locked.{busy[pid, m.slot]})")
            busy[pid, m.slot] = i
            count[pid] += 1
            if p.max_meetings is not None and count[pid] > p.max_meetings:
                raise SchedulingInputError(where, f"participant {pid!r}: locked meetings exceed its maximum of {p.max_meetings}")
        cap = slot_tables(problem, slots[m.slot])
        per_slot[m.slot] += 1
        if per_slot[m.slot] > cap:
            raise SchedulingInputError(where, f"slot {m.slot!r}: more locked meetings than its {cap} tables")
        if m.table is not None:
            if not 1 <= m.table <= cap:
                raise SchedulingInputError(f"{where}.table", f"slot {m.slot!r} has tables 1…{cap}, not {m.table}")
            if (m.slot, m.table) in tables:
                raise SchedulingInputError(f"{where}.table", f"table {m.table} of slot {m.slot!r} is locked twice (also locked.{tables[m.slot, m.table]})")
            tables[m.slot, m.table] = i


def group_requests(problem: SchedulingProblem) -> dict[frozenset[str], list[int]]:
    """Request indices per unordered pair."""
    out: dict[frozenset[str], list[int]] = defaultdict(list)
    for i, r in enumerate(problem.requests):
        out[frozenset((r.from_, r.to))].append(i)
    return out
