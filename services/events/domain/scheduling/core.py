"""Internal, index-based form of a problem shared by the solver, the heuristic and re-planning.

Fixed meetings (locked, or kept when re-planning) are constants: they occupy their participants,
a table and a meeting of each side's maximum. Every other requested pair is a candidate with its
weight and the slots where it could go. ``must`` pairs (re-planning with moves allowed) have to be
scheduled, preferably in their previous slot and table.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .model import (
    AgendaEntry,
    Meeting,
    MeetingRequest,
    Quality,
    RequestStatus,
    Schedule,
    SchedulingOptions,
    SchedulingProblem,
    Status,
    Unscheduled,
    UnscheduledReason,
)
from .validation import group_requests, slot_tables


@dataclass(frozen=True, slots=True)
class Placement:
    """A meeting given by ids: fixed (constant) or preferred (must pair, re-planning)."""

    a: str
    b: str
    slot: str
    table: int | None = None
    locked: bool = False


@dataclass(slots=True)
class Pair:
    a: int
    b: int
    weight: int
    allowed: list[int]  # slot indices
    requests: list[int]
    must: bool = False
    preferred: tuple[int, int | None] | None = None  # (slot index, table)


@dataclass(slots=True)
class Fixed:
    a: int
    b: int
    slot: int
    table: int | None
    weight: int
    locked: bool


@dataclass(slots=True)
class Core:
    problem: SchedulingProblem
    options: SchedulingOptions
    slot_ids: list[str]  # by start time
    tables: list[int]  # tables left per slot once fixed meetings are placed
    pids: list[str]
    cap: list[int]  # meetings left per participant
    seq: list[list[int]]  # each participant's available slots, in time order
    busy: list[set[int]]  # slots taken by fixed meetings, per participant
    fixed: list[Fixed]
    pairs: list[Pair]
    absent: frozenset[str] = frozenset()
    closed: frozenset[int] = frozenset()  # slots nothing new may go in
    fixed_weight: int = 0
    eligible: set[int] = field(default_factory=set)  # participants with an eligible pair
    groups: dict[frozenset[str], list[int]] = field(default_factory=dict)  # request indices per pair

    @property
    def n_slots(self) -> int:
        return len(self.slot_ids)


def pair_weight(problem: SchedulingProblem, options: SchedulingOptions, idx: list[int]) -> int:
    """Priorities of the eligible directions, plus the mutual bonus when both are eligible.

    0 (not eligible) when a side declined and the organiser forced neither direction.
    """
    reqs = [problem.requests[i] for i in idx]
    if declined_by(reqs) is not None:
        return 0
    ok = [r for r in reqs if r.forced or eligible_status(r.status, options)]
    if not ok:
        return 0
    return sum(r.priority for r in ok) + (options.mutual_bonus if len(ok) >= 2 else 0)


def eligible_status(status: RequestStatus, options: SchedulingOptions) -> bool:
    return status is RequestStatus.ACCEPTED or (status is RequestStatus.PENDING and options.include_pending)


def declined_by(reqs: list[MeetingRequest]) -> MeetingRequest | None:
    """The declined request that keeps a pair apart (``reqs``: its requests), or None.

    A decline in either direction keeps the pair apart unless the organiser forced a direction.
    """
    if any(r.forced for r in reqs):
        return None
    return next((r for r in reqs if r.status is RequestStatus.DECLINED), None)


def build_core(
    problem: SchedulingProblem,
    options: SchedulingOptions,
    *,
    fixed: list[Placement],
    must: list[Placement] = (),  # type: ignore[assignment]
    absent: frozenset[str] = frozenset(),
    closed: frozenset[str] = frozenset(),
    done: frozenset[frozenset[str]] = frozenset(),  # pairs that met already: never again
) -> Core:
    order = sorted(range(len(problem.slots)), key=lambda i: problem.slots[i].start)
    slots = [problem.slots[i] for i in order]
    slot_ids = [s.id for s in slots]
    sidx = {s: k for k, s in enumerate(slot_ids)}
    tables = [slot_tables(problem, s) for s in slots]
    pids = [p.id for p in problem.participants]
    pidx = {p: k for k, p in enumerate(pids)}
    n = len(pids)
    avail: list[set[int]] = []
    cap: list[int] = []
    for p in problem.participants:
        a = set(range(len(slots))) if p.available is None else {sidx[s] for s in p.available}
        avail.append(a)
        cap.append(len(slots) if p.max_meetings is None else min(p.max_meetings, len(slots)))
    seq = [sorted(a) for a in avail]
    busy: list[set[int]] = [set() for _ in range(n)]
    groups = group_requests(problem)
    fixed_out: list[Fixed] = []
    taken: set[frozenset[str]] = set(done)
    fixed_weight = 0
    for f in fixed:
        a, b, s = pidx[f.a], pidx[f.b], sidx[f.slot]
        w = pair_weight(problem, options, groups.get(frozenset((f.a, f.b)), []))
        fixed_out.append(Fixed(a, b, s, f.table, w, f.locked))
        fixed_weight += w
        tables[s] -= 1
        for p in (a, b):
            busy[p].add(s)
            cap[p] -= 1
        taken.add(frozenset((f.a, f.b)))
    closed_idx = frozenset(sidx[s] for s in closed)
    usable = {s for s in range(len(slots)) if tables[s] > 0 and s not in closed_idx}
    free = [(avail[q] - busy[q]) & usable if cap[q] > 0 else set() for q in range(n)]
    must_by_pair = {frozenset((m.a, m.b)): m for m in must}
    pairs: list[Pair] = []
    eligible: set[int] = set()
    for key in sorted(groups, key=lambda k: tuple(sorted(k))):
        idx = groups[key]
        x, y = sorted(key)
        if x in absent or y in absent:
            continue
        w = pair_weight(problem, options, idx)
        m = must_by_pair.get(key)
        if key in taken or (w == 0 and m is None):
            if key in taken and w > 0:
                eligible.update((pidx[x], pidx[y]))
            continue
        a, b = pidx[x], pidx[y]
        eligible.update((a, b))
        allowed = sorted(free[a] & free[b])
        pair = Pair(a, b, w, allowed, idx)
        if m is not None:
            pair.must = True
            pair.preferred = (sidx[m.slot], m.table)
            if pair.preferred[0] not in allowed:  # its place is always free: it was its own
                allowed.append(pair.preferred[0])
                allowed.sort()
        pairs.append(pair)
    have_must = {frozenset((pids[p.a], pids[p.b])) for p in pairs if p.must}
    for m in must:  # must pairs without any request left (e.g. organiser-made)
        if frozenset((m.a, m.b)) not in have_must:
            a, b = sorted((pidx[m.a], pidx[m.b]))
            pairs.append(Pair(a, b, 0, [sidx[m.slot]], [], True, (sidx[m.slot], m.table)))
    return Core(
        problem, options, slot_ids, tables, pids, cap, seq, busy, fixed_out, pairs,
        frozenset(absent), closed_idx, fixed_weight, eligible, groups,
    )


def count_idle_gaps(seq: list[int], busy: set[int]) -> int:
    """Idle stretches between two meetings along a participant's available slots."""
    runs, prev = 0, False
    for s in seq:
        cur = s in busy
        if cur and not prev:
            runs += 1
        prev = cur
    return max(0, runs - 1)


def trivial_bound(core: Core) -> int:
    """A cheap valid upper bound of the weight the candidate pairs can add to the fixed ones."""
    ws = sorted((p.weight for p in core.pairs if p.allowed), reverse=True)
    total = sum(ws)
    by_tables = sum(ws[: sum(t for k, t in enumerate(core.tables) if k not in core.closed)])
    per: dict[int, list[int]] = defaultdict(list)
    slots_of: dict[int, set[int]] = defaultdict(set)
    for p in core.pairs:
        if p.allowed:
            per[p.a].append(p.weight)
            per[p.b].append(p.weight)
            slots_of[p.a].update(p.allowed)
            slots_of[p.b].update(p.allowed)
    halves = 0
    for q, lst in per.items():
        lst.sort(reverse=True)
        halves += sum(lst[: min(core.cap[q], len(slots_of[q]))])
    return min(total, by_tables, halves // 2)


def decode(
    core: Core,
    chosen: list[tuple[int, int]],  # (pair index, slot index)
    *,
    status: Status,
    bound: int,
    seconds: float,
) -> Schedule:
    problem = core.problem
    slot_by_id = {s.id: s for s in problem.slots}
    # -- tables: fixed with a table, then preferred tables, then lowest free ones by pair ids
    used: dict[int, set[int]] = defaultdict(set)
    placed: list[tuple[int, int, int, int | None, int, bool, int | None]] = []  # a,b,s,table,w,locked,pref
    for f in core.fixed:
        placed.append((f.a, f.b, f.slot, f.table, f.weight, f.locked, f.table))
        if f.table is not None:
            used[f.slot].add(f.table)
    for i, s in chosen:
        p = core.pairs[i]
        pref = p.preferred[1] if p.preferred is not None and p.preferred[0] == s else None
        placed.append((p.a, p.b, s, None, p.weight, False, pref))
    total_tables = [slot_tables(problem, slot_by_id[sid]) for sid in core.slot_ids]
    meetings: list[tuple[int, Meeting]] = []
    pending: list[tuple[int, int, int, int, bool, int | None]] = []
    for a, b, s, table, w, locked, pref in placed:
        if table is not None:
            meetings.append((s, Meeting(core.slot_ids[s], table, core.pids[a], core.pids[b], w, locked)))
        else:
            pending.append((a, b, s, w, locked, pref))
    # preferred tables first: afterwards the lowest free table of a slot only grows (a pointer)
    lowest = [1] * len(core.slot_ids)
    for a, b, s, w, locked, pref in sorted(pending, key=lambda t: (t[5] is None, core.pids[t[0]], core.pids[t[1]])):
        taken = used[s]
        if pref is not None and pref not in taken and pref <= total_tables[s]:
            table = pref
        else:
            table = lowest[s]
            while table in taken:
                table += 1
            lowest[s] = table + 1
        taken.add(table)
        x, y = sorted((core.pids[a], core.pids[b]))
        meetings.append((s, Meeting(core.slot_ids[s], table, x, y, w, locked)))
    meetings.sort(key=lambda t: (t[0], t[1].table))
    out = tuple(m for _, m in meetings)
    # -- agendas and grid
    agendas: dict[str, list[AgendaEntry]] = {p: [] for p in core.pids}
    grid: dict[int, dict[str, Meeting | None]] = {}
    for k, sid in enumerate(core.slot_ids):
        for t in range(1, total_tables[k] + 1):
            grid.setdefault(t, {})[sid] = None
    busy_slots: dict[str, set[int]] = defaultdict(set)
    count: dict[str, int] = defaultdict(int)
    met: set[frozenset[str]] = set()
    sidx = {s: k for k, s in enumerate(core.slot_ids)}
    for m in out:
        start = slot_by_id[m.slot].start
        agendas[m.a].append(AgendaEntry(m.slot, start, m.table, m.b))
        agendas[m.b].append(AgendaEntry(m.slot, start, m.table, m.a))
        grid[m.table][m.slot] = m
        for p in (m.a, m.b):
            busy_slots[p].add(sidx[m.slot])
            count[p] += 1
        met.add(frozenset((m.a, m.b)))
    idle = sum(count_idle_gaps(core.seq[q], busy_slots[pid]) for q, pid in enumerate(core.pids))
    without = sum(1 for q in core.eligible if count[core.pids[q]] == 0)
    unscheduled = _reasons(core, met, count, status)
    weighted = sum(m.weight for m in out)
    bound = max(bound, weighted)
    quality = Quality(
        meetings=len(out), weighted=weighted, bound=bound,
        gap=0.0 if bound == 0 else (bound - weighted) / bound,
        status=status, seconds=seconds, without_meeting=without, idle_gaps=idle,
    )
    return Schedule(out, {p: tuple(v) for p, v in agendas.items()}, grid, unscheduled, quality)


def _reasons(core: Core, met: set[frozenset[str]], count: dict[str, int], status: Status) -> tuple[Unscheduled, ...]:
    problem, options = core.problem, core.options
    parts = {p.id: p for p in problem.participants}
    slot_ids = set(core.slot_ids)
    closed = {core.slot_ids[k] for k in core.closed}
    out: list[Unscheduled] = []
    groups = core.groups or group_requests(problem)
    for i, r in enumerate(problem.requests):
        key = frozenset((r.from_, r.to))
        if key in met:
            continue
        gone = [p for p in (r.from_, r.to) if p in core.absent]
        d = declined_by([problem.requests[j] for j in groups[key]])
        if gone:
            reason, detail = UnscheduledReason.PARTICIPANT_ABSENT, f"{gone[0]!r} is absent"
        elif d is not None:
            reason = UnscheduledReason.DECLINED
            detail = f"{d.to!r} declined" if d is r else f"{d.to!r} declined the request of {d.from_!r}"
        elif r.status is RequestStatus.PENDING and not r.forced and not options.include_pending:
            reason, detail = UnscheduledReason.PENDING_NOT_INCLUDED, f"{r.to!r} has not answered"
        else:
            pa, pb = parts[r.from_], parts[r.to]
            common = (pa.available if pa.available is not None else slot_ids) & (
                pb.available if pb.available is not None else slot_ids
            )
            common = set(common) - closed
            full = [p.id for p in (pa, pb) if p.max_meetings is not None and count[p.id] >= p.max_meetings]
            if not common:
                reason = UnscheduledReason.NO_COMMON_SLOT
                detail = f"{r.from_!r} and {r.to!r} share no available slot"
            elif full:
                reason = UnscheduledReason.MAX_MEETINGS_REACHED
                detail = f"{full[0]!r} reached its maximum of {parts[full[0]].max_meetings} meetings"
            elif status is Status.OPTIMAL:
                reason = UnscheduledReason.NO_PLACE_LEFT
                detail = f"every common slot of {r.from_!r} and {r.to!r} is taken or full in an optimal plan"
            else:
                reason = UnscheduledReason.NOT_FOUND_IN_TIME
                detail = f"no common free slot for {r.from_!r} and {r.to!r} in the plan found"
        out.append(Unscheduled(i, r.from_, r.to, reason, detail))
    return tuple(out)
