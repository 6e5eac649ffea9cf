"""Slot-free relaxation: which pairs meet, without saying when.

When tables are ample, the hard part of the problem is a weighted b-matching (each participant
meets at most ``cap`` others); giving the chosen pairs slots is then usually easy. The model has
one boolean per candidate pair and keeps only constraints every schedule satisfies:

* each participant: at most ``cap`` meetings, and, for each stretch of slots [l, r], at most as
  many meetings confined to it (pairs whose allowed slots all lie in it) as it has usable slots;
* each stretch of slots: at most as many meetings confined to it as it has tables;
* ``must`` pairs are chosen.

Dropping the rest (one meeting per participant and slot, tables per slot) only raises the
optimum, so its proven bound is an upper bound of the full problem's objective; its answer, once
given slots by :func:`assign`, is optimal whenever every chosen pair gets one.
"""
from __future__ import annotations

import math
from collections import defaultdict

from ortools.sat.python import cp_model

from .core import Core


def pair_value(core: Core, i: int, keep_bonus: int) -> int:
    """Best objective contribution of pair ``i`` (its weight, plus the bonus if it has a place to keep)."""
    p = core.pairs[i]
    return p.weight + (keep_bonus if p.preferred is not None and p.preferred[0] in p.allowed else 0)


def relaxation(core: Core, limit: float, hint: list[tuple[int, int]], keep_bonus: int, num_workers: int, seed: int):
    """(chosen pair indices or None, proven upper bound or None) of the slot-free relaxation."""
    model = cp_model.CpModel()
    e: dict[int, cp_model.IntVar] = {}
    span: dict[int, tuple[int, int]] = {}
    by_q: dict[int, list[int]] = defaultdict(list)
    for i, p in enumerate(core.pairs):
        if not p.allowed:
            continue
        e[i] = v = model.new_bool_var(f"e{i}")
        span[i] = (p.allowed[0], p.allowed[-1])  # allowed is sorted
        by_q[p.a].append(i)
        by_q[p.b].append(i)
        if p.must:
            model.add(v == 1)
    if not e:
        return [], 0
    for q, lst in by_q.items():
        cap = core.cap[q]
        if len(lst) > cap:
            model.add(sum(e[i] for i in lst) <= cap)
        los = sorted({span[i][0] for i in lst})
        his = sorted({span[i][1] for i in lst})
        for lo in los:
            for hi in his:
                if hi < lo:
                    continue
                inside = [i for i in lst if span[i][0] >= lo and span[i][1] <= hi]
                if len(inside) <= 1:
                    continue
                room = len({s for i in inside for s in core.pairs[i].allowed})
                if len(inside) > room and room < cap:
                    model.add(sum(e[i] for i in inside) <= room)
    n_slots = core.n_slots
    for lo in range(n_slots):
        for hi in range(lo, n_slots):
            inside = [i for i, (a, b) in span.items() if a >= lo and b <= hi]
            room = sum(core.tables[s] for s in range(lo, hi + 1) if s not in core.closed)
            if len(inside) > room:
                model.add(sum(e[i] for i in inside) <= room)
    model.maximize(cp_model.LinearExpr.weighted_sum(
        [e[i] for i in e], [pair_value(core, i, keep_bonus) for i in e]))
    on = {i for i, _ in hint}
    for i, v in e.items():
        model.add_hint(v, i in on)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, limit)
    solver.parameters.num_workers = max(1, num_workers)
    solver.parameters.random_seed = seed
    # presolve turns the stretch constraints into tens of thousands of clauses on large
    # instances and can use the whole time: the model is small enough without it
    solver.parameters.cp_model_presolve = False
    res = solver.solve(model)
    if res == cp_model.OPTIMAL or res == cp_model.FEASIBLE:
        bound = math.floor(solver.best_objective_bound + 1e-6)
        return sorted(i for i, v in e.items() if solver.boolean_value(v)), bound
    return None, None  # UNKNOWN: no solution, and its bound means nothing


def assign(core: Core, chosen: list[int], limit: float, hint: list[tuple[int, int]], num_workers: int, seed: int):
    """A slot for every pair of ``chosen`` (``[(pair, slot)]``), or None if none was found in time."""
    model = cp_model.CpModel()
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    by_ps: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    by_s: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    for i in chosen:
        p = core.pairs[i]
        vs = []
        for s in p.allowed:
            x[i, s] = v = model.new_bool_var(f"x{i}_{s}")
            vs.append(v)
            by_ps[p.a, s].append(v)
            by_ps[p.b, s].append(v)
            by_s[s].append(v)
        model.add_exactly_one(vs)
    for vs in by_ps.values():
        if len(vs) > 1:
            model.add_at_most_one(vs)
    for s, vs in by_s.items():
        if len(vs) > core.tables[s]:
            model.add(sum(vs) <= core.tables[s])
    where = dict(hint)
    for i in chosen:  # keep a preferred place (re-planning) or the greedy one when possible
        p = core.pairs[i]
        s = p.preferred[0] if p.preferred is not None else where.get(i)
        if s is not None and (i, s) in x:
            model.add_hint(x[i, s], True)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, limit)
    solver.parameters.num_workers = max(1, num_workers)
    solver.parameters.random_seed = seed
    res = solver.solve(model)
    if res == cp_model.OPTIMAL or res == cp_model.FEASIBLE:
        return sorted(key for key, v in x.items() if solver.boolean_value(v))
    return None
