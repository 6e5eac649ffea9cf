"""Re-planning on the day: release the absent participants' meetings, fill the freed places
with pairs still waiting, and leave the present participants' meetings where they are (or, with
``SchedulingOptions.move_penalty``, move one only when that gains more than the penalty). Slots
before ``from_slot`` are history: left exactly as they were, absent participants' meetings included."""
from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import replace

from .core import Placement, build_core, declined_by
from .model import Phase, Progress, ReplanFigures, ReplanResult, Schedule, SchedulingOptions, SchedulingProblem
from .solver import Clock, Tracker, search, solve_core
from .validation import SchedulingInputError, group_requests, validate

_PINNED_SHARE = 0.5  # of the time limit, for the plan keeping every present meeting (moves allowed)


def replan(
    problem: SchedulingProblem,
    previous: Schedule,
    *,
    no_shows: Iterable[str] = (),
    checked_in: Iterable[str] | None = None,
    from_slot: str | None = None,
    options: SchedulingOptions | None = None,
    progress: Progress | None = None,
) -> ReplanResult:
    """Re-plan ``previous`` (a schedule of ``problem``).

    Absent = ``no_shows``, plus everyone not in ``checked_in`` when it is given (pass it once
    check-in has closed). Slots before ``from_slot`` are history: every meeting there stays
    exactly as it was (slot, table, sides, locked), those of participants absent now included
    (they took place, or were missed: either way they are the past), and so are those of a pair
    declined since; nothing new goes there. From ``from_slot`` on, absent participants' meetings
    are released, meetings of a pair declined since (and not forced) are dropped, and the freed
    places filled. With ``options.move_penalty``, the plan keeping every present meeting is
    searched first (half the time), then moves that gain more than the penalty. A meeting the
    organiser locked since the previous plan (``problem.locked``) takes its slot (and table) from
    ``from_slot`` on: the previous meetings in its way (its pair elsewhere, either side in that
    slot, that table) are displaced; a lock in a past slot is history and changes nothing, and a
    lock for a pair that already met in a past slot is refused (a pair meets once).
    ``Meeting.weight`` is recomputed from the problem's current requests. See
    :class:`ReplanFigures` for what is counted where. ``progress`` as for :func:`schedule`.
    """
    options = options or SchedulingOptions()
    t0 = time.perf_counter()
    track = Tracker(progress, t0, options.time_limit)
    track(Phase.VALIDATION)
    validate(problem)
    ids = {p.id for p in problem.participants}
    no_shows = list(no_shows)
    for i, p in enumerate(no_shows):
        if p not in ids:
            raise SchedulingInputError(f"no_shows.{i}", f"unknown participant {p!r}")
    absent = set(no_shows)
    if checked_in is not None:
        checked_in = list(checked_in)
        for i, p in enumerate(checked_in):
            if p not in ids:
                raise SchedulingInputError(f"checked_in.{i}", f"unknown participant {p!r}")
            if p in absent:
                raise SchedulingInputError(f"checked_in.{i}", f"participant {p!r} is both checked in and a no-show")
        absent |= ids - set(checked_in)
    slots = {s.id: s for s in problem.slots}
    closed: set[str] = set()
    if from_slot is not None:
        if from_slot not in slots:
            raise SchedulingInputError("from_slot", f"unknown slot {from_slot!r}")
        closed = {s.id for s in problem.slots if s.start < slots[from_slot].start}
    fixed: list[Placement] = []
    must: list[Placement] = []
    seen_at: set[tuple[str, str]] = set()
    present_open: list[tuple[frozenset[str], str, int]] = []
    released = 0
    declined = 0
    history = 0
    groups = group_requests(problem)
    for i, m in enumerate(previous.meetings):
        for side, pid in (("a", m.a), ("b", m.b)):
            if pid not in ids:
                raise SchedulingInputError(f"previous.meetings.{i}.{side}", f"unknown participant {pid!r}")
        if m.slot not in slots:
            raise SchedulingInputError(f"previous.meetings.{i}.slot", f"unknown slot {m.slot!r}")
        for pid in (m.a, m.b):
            if (pid, m.slot) in seen_at:
                raise SchedulingInputError(f"previous.meetings.{i}", f"participant {pid!r} has two meetings in slot {m.slot!r}")
            seen_at.add((pid, m.slot))
        place = Placement(m.a, m.b, m.slot, m.table, locked=m.locked)
        if m.slot in closed:  # history, whoever is absent now
            fixed.append(place)
            history += 1
            continue
        if m.a in absent or m.b in absent:
            released += 1
            continue
        if declined_by([problem.requests[j] for j in groups.get(frozenset((m.a, m.b)), [])]) is not None:
            declined += 1  # a side declined since (and the organiser did not force it)
            continue
        present_open.append((frozenset((m.a, m.b)), m.slot, m.table))
        if options.move_penalty is None or m.locked:
            fixed.append(place)
        else:
            must.append(place)
    displaced = _apply_new_locks(problem, fixed, must, present_open, absent, closed)
    start = None
    if must and options.use_solver:
        # with moves allowed, first the plan that keeps every present meeting (a share of the
        # time): moves then only have to beat it, and the answer is never worse than keeping all
        pinned = replace(options, time_limit=options.time_limit * _PINNED_SHARE, fairness=False, compact=False)
        fixed_core = build_core(
            problem, pinned, fixed=fixed + must, absent=frozenset(absent), closed=frozenset(closed)
        )
        found = search(fixed_core, Clock(t0, fixed_core), track)
        sidx = {s: k for k, s in enumerate(fixed_core.slot_ids)}
        pids = fixed_core.pids
        plan = {frozenset((pids[fixed_core.pairs[i].a], pids[fixed_core.pairs[i].b])): s for i, s in found.best}
        plan.update((frozenset((m.a, m.b)), sidx[m.slot]) for m in must)
    core = build_core(
        problem, options, fixed=fixed, must=must, absent=frozenset(absent), closed=frozenset(closed)
    )
    if must and options.use_solver:  # the same slots order: the same slot indices
        start = []
        for i, p in enumerate(core.pairs):
            s = plan.get(frozenset((core.pids[p.a], core.pids[p.b])))
            if s is not None:
                start.append((i, s))
    new = solve_core(core, t0, track, start=start)
    now = {frozenset((m.a, m.b)): (m.slot, m.table) for m in new.meetings}
    before = {frozenset((m.a, m.b)) for m in previous.meetings}
    kept = sum(1 for pair, s, t in present_open if now.get(pair) == (s, t))
    filled = sum(1 for pair in now if pair not in before)
    figures = ReplanFigures(
        absent=len(absent), released=released, present_meetings=len(present_open),
        kept=kept, moved=len(present_open) - kept, filled=filled, declined=declined, history=history,
        displaced=displaced,
    )
    return ReplanResult(new, figures, frozenset(absent))


def _apply_new_locks(problem: SchedulingProblem, fixed: list[Placement], must: list[Placement],
                     present_open: list[tuple[frozenset[str], str, int]], absent: set[str],
                     closed: set[str]) -> int:
    """Place the meetings locked since the previous plan (in open slots, both sides present) as
    fixed, removing the open placements in their way; return how many were displaced."""
    displaced = 0
    for lock in problem.locked:
        pair = frozenset((lock.a, lock.b))
        if lock.slot in closed or lock.a in absent or lock.b in absent:
            continue
        met = next((p for p in fixed if p.slot in closed and frozenset((p.a, p.b)) == pair), None)
        if met is not None:  # placing the lock too would make the pair meet twice
            raise SchedulingInputError("locked", f"locked meeting {lock.a}–{lock.b} in slot {lock.slot!r}: the pair "
                                                 f"already met in slot {met.slot!r}")
        if any(frozenset((p.a, p.b)) == pair and p.slot == lock.slot and (lock.table is None or p.table == lock.table)
               for p in fixed + must):
            continue  # already where the lock wants it

        def in_the_way(p: Placement) -> bool:  # (never history: its pair is refused above, its slot is not the lock's)
            same_pair = frozenset((p.a, p.b)) == pair
            same_people = p.slot == lock.slot and bool({p.a, p.b} & pair)
            same_table = p.slot == lock.slot and lock.table is not None and p.table == lock.table
            return same_pair or same_people or same_table

        for placements in (fixed, must):
            gone = [p for p in placements if in_the_way(p)]
            if any(p.locked for p in gone):
                raise SchedulingInputError("locked", f"locked meeting {lock.a}–{lock.b} in slot {lock.slot!r} "
                                                     f"collides with another locked meeting")
            displaced += len(gone)
            placements[:] = [p for p in placements if p not in gone]
            present_open[:] = [o for o in present_open
                               if not any(o == (frozenset((p.a, p.b)), p.slot, p.table) for p in gone)]
        fixed.append(Placement(lock.a, lock.b, lock.slot, lock.table, locked=True))
    return displaced
