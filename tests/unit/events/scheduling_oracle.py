"""An optimum of the speed-meeting problem found by exhaustive search, sharing no code with the engine.

It reads a :class:`SchedulingProblem` (the model's plain dataclasses only) and applies the rules
as ``model.py`` documents them — nothing from ``core``, ``solver``, ``relax``, ``lpbound``,
``heuristic`` or ``validation`` is imported:

- a pair is kept apart when a side declined and the organiser forced neither direction;
- a direction counts when it is forced, accepted, or pending with ``include_pending``; the pair's
  weight is the sum of its counting directions' priorities, plus ``mutual_bonus`` when both count;
  a pair with no counting direction is not scheduled (unless locked);
- a locked meeting stays in its slot and counts its pair's weight (0 if nobody asked);
- a pair meets at most once; a participant has at most one meeting per slot, only in its
  available slots, and at most ``max_meetings`` meetings (locked ones included); a slot holds at
  most its tables' worth of meetings (the slot's own count, else the problem's).

The optimum is the largest total weight; every assignment of a slot (or none) to each requested
pair is tried (``itertools.product`` over the pairs' choices, cut short only by the rules above),
so it is meant for small instances: the tests keep (slots + 1) ** pairs in the tens of thousands.
"""
from __future__ import annotations

import itertools
from collections import Counter

from services.events.domain.scheduling.model import RequestStatus, SchedulingOptions, SchedulingProblem


def pair_weights(problem: SchedulingProblem, options: SchedulingOptions) -> dict[frozenset[str], int]:
    """Weight of every requested pair (0: not schedulable unless locked)."""
    by_pair: dict[frozenset[str], list] = {}
    for r in problem.requests:
        by_pair.setdefault(frozenset((r.from_, r.to)), []).append(r)
    weights = {}
    for pair, requests in by_pair.items():
        forced = any(r.forced for r in requests)
        declined = any(r.status is RequestStatus.DECLINED for r in requests)
        if declined and not forced:
            weights[pair] = 0
            continue
        counting = [r for r in requests if r.forced or r.status is RequestStatus.ACCEPTED
                    or (r.status is RequestStatus.PENDING and options.include_pending)]
        weights[pair] = sum(r.priority for r in counting) + (options.mutual_bonus if len(counting) >= 2 else 0)
    return weights


def optimum(problem: SchedulingProblem, options: SchedulingOptions | None = None) -> int:
    """The largest total weight of a schedule that keeps every rule (brute force)."""
    options = options or SchedulingOptions()
    weights = pair_weights(problem, options)
    people = {p.id: p for p in problem.participants}
    tables = {s.id: s.tables if s.tables is not None else problem.tables for s in problem.slots}
    slot_ids = [s.id for s in problem.slots]
    locked_pairs = {frozenset((m.a, m.b)) for m in problem.locked}
    locked_weight = sum(weights.get(pair, 0) for pair in locked_pairs)
    base_busy = {(p, m.slot) for m in problem.locked for p in (m.a, m.b)}
    base_count = Counter(p for m in problem.locked for p in (m.a, m.b))
    base_used = Counter(m.slot for m in problem.locked)
    candidates = sorted((tuple(sorted(pair)), w) for pair, w in weights.items() if w > 0 and pair not in locked_pairs)

    def can_meet(who: str, slot: str) -> bool:
        available = people[who].available
        return available is None or slot in available

    # each pair's choices: no meeting, or a slot where both sides are available and not locked
    choices = [[None] + [s for s in slot_ids if can_meet(a, s) and can_meet(b, s)
                         and (a, s) not in base_busy and (b, s) not in base_busy]
               for (a, b), _ in candidates]
    best = 0
    for assignment in itertools.product(*choices):
        busy, count, used, total = set(base_busy), Counter(base_count), Counter(base_used), 0
        for ((a, b), w), slot in zip(candidates, assignment):
            if slot is None:
                continue
            if (a, slot) in busy or (b, slot) in busy or used[slot] >= tables[slot]:
                break
            busy |= {(a, slot), (b, slot)}
            used[slot] += 1
            count[a] += 1
            count[b] += 1
            total += w
        else:
            if all(people[p].max_meetings is None or c <= people[p].max_meetings for p, c in count.items()):
                best = max(best, total)
    return best + locked_weight


def search_space(problem: SchedulingProblem, options: SchedulingOptions | None = None) -> int:
    """How many assignments :func:`optimum` tries at most: (slots + 1) ** candidate pairs."""
    weights = pair_weights(problem, options or SchedulingOptions())
    n = sum(1 for w in weights.values() if w > 0)
    return (len(problem.slots) + 1) ** n
