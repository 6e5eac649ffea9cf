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
given slots, is optimal whenever every chosen pair gets one. Its LP is solved first (GLOP): it is
usually integral. Slots come from :func:`place_pairs` (greedy plus alternating chains, no
solver), then, for the few pairs it may miss, from :func:`assign` (CP-SAT local search).
"""
from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable

from ortools.linear_solver import pywraplp
from ortools.sat.python import cp_model

from .core import Core

_ASSIGN_ATTEMPT = 0.35  # seconds per attempt of the slot assignment


_BOOL: list[cp_model.CpModel] = []


def add_bool_vars(proto, count: int) -> None:
    """Append ``count`` booleans to a CpModelProto: copies of one variable proto in one call
    (~0.4 µs each; a Python ``IntVar`` costs ~10 µs, text parsing ~1.5 µs)."""
    if not _BOOL:
        model = cp_model.CpModel()
        model.proto.variables.add().domain.extend((0, 1))
        _BOOL.append(model)  # keeps the template alive
    proto.variables.extend([_BOOL[0].proto.variables[0]] * count)


def pair_value(core: Core, i: int, keep_bonus: int) -> int:
    """Best objective contribution of pair ``i`` (its weight, plus the bonus if it has a place to keep)."""
    p = core.pairs[i]
    return p.weight + (keep_bonus if p.preferred is not None and p.preferred[0] in p.allowed else 0)


def relaxation(core: Core, limit: float, hint: Callable[[], list[tuple[int, int]]], keep_bonus: int, num_workers: int, seed: int):
    """(chosen pair indices or None, proven upper bound or None) of the slot-free relaxation.

    Its LP (GLOP) first: on these b-matchings it is usually integral, which solves the relaxation
    in milliseconds; CP-SAT (which can stall at the root on large instances) only otherwise,
    hinted with ``hint()`` (a placement, made only if needed).
    """
    t0 = time.perf_counter()
    cand = [i for i, p in enumerate(core.pairs) if p.allowed]
    if not cand:
        return [], 0
    rows = _rows(core, cand)
    value = {i: pair_value(core, i, keep_bonus) for i in cand}
    must = [i for i in cand if core.pairs[i].must]
    lp = _relaxation_lp(core, cand, rows, value, must, limit)
    lp_bound = None
    if lp is not None:
        lp_bound, xs = lp
        if all(v < 1e-6 or v > 1 - 1e-6 for v in xs.values()):  # integral: the optimum
            return sorted(i for i, v in xs.items() if v > 0.5), lp_bound
    model = cp_model.CpModel()
    e = {i: model.new_bool_var(f"e{i}") for i in cand}
    for i in must:
        model.add(e[i] == 1)
    for idx, room in rows:
        model.add(sum(e[i] for i in idx) <= room)
    model.maximize(cp_model.LinearExpr.weighted_sum([e[i] for i in cand], [value[i] for i in cand]))
    on = {i for i, _ in hint()}
    for i, v in e.items():
        model.add_hint(v, i in on)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, limit - (time.perf_counter() - t0))
    solver.parameters.num_workers = max(1, num_workers)
    solver.parameters.random_seed = seed
    # presolve turns the stretch constraints into tens of thousands of clauses on large
    # instances and can use the whole time: the model is small enough without it
    solver.parameters.cp_model_presolve = False
    res = solver.solve(model)
    if res == cp_model.OPTIMAL or res == cp_model.FEASIBLE:
        bound = math.floor(solver.best_objective_bound + 1e-6)
        if lp_bound is not None:
            bound = min(bound, lp_bound)
        return sorted(i for i, v in e.items() if solver.boolean_value(v)), bound
    return None, lp_bound  # UNKNOWN: no solution; CP-SAT's bound means nothing, the LP's does


def _rows(core: Core, cand: list[int]) -> list[tuple[list[int], int]]:
    """The relaxation's constraints ``sum(e[i] for i in idx) <= room``."""
    rows: list[tuple[list[int], int]] = []
    span: dict[int, tuple[int, int]] = {}
    by_q: dict[int, list[int]] = defaultdict(list)
    for i in cand:
        p = core.pairs[i]
        span[i] = (p.allowed[0], p.allowed[-1])  # allowed is sorted
        by_q[p.a].append(i)
        by_q[p.b].append(i)
    for q, lst in by_q.items():
        cap = core.cap[q]
        if len(lst) > cap:
            rows.append((lst, cap))
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
                    rows.append((inside, room))
    n_slots = core.n_slots
    by_span: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, sp in span.items():
        by_span[sp].append(i)
    spans = sorted(by_span)
    for lo in range(n_slots):
        room = 0
        for hi in range(lo, n_slots):
            room += core.tables[hi] if hi not in core.closed else 0
            inner = [sp for sp in spans if sp[0] >= lo and sp[1] <= hi]
            if sum(len(by_span[sp]) for sp in inner) > room:  # counted first: rarely over
                rows.append(([i for sp in inner for i in by_span[sp]], room))
    return rows


def _relaxation_lp(core: Core, cand: list[int], rows, value: dict[int, int], must: list[int], limit: float):
    """(floor of the LP optimum, LP values) of the relaxation, or None if GLOP did not solve it."""
    solver = pywraplp.Solver.CreateSolver("GLOP")
    if solver is None:
        return None
    solver.SetTimeLimit(max(1, int(limit * 1000)))
    must_set = set(must)
    x = {i: solver.NumVar(1.0 if i in must_set else 0.0, 1.0, "") for i in cand}
    for idx, room in rows:
        c = solver.Constraint(-solver.infinity(), room)
        for i in idx:
            c.SetCoefficient(x[i], 1)
    obj = solver.Objective()
    for i in cand:
        obj.SetCoefficient(x[i], value[i])
    obj.SetMaximization()
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    return math.floor(obj.Value() + 1e-6), {i: v.solution_value() for i, v in x.items()}


def assign(core: Core, chosen: list[int], limit: float, hint: list[tuple[int, int]], num_workers: int, seed: int):
    """A slot for every pair of ``chosen`` (``[(pair, slot)]``), or None if none was found in time."""
    t_build = time.perf_counter()
    deadline = t_build + limit
    # written straight into the proto (one Python IntVar per variable costs ~10 µs: most of the
    # time on large instances); variables are proto indices, keys[k] the (pair, slot) of k
    model = cp_model.CpModel()
    proto = model.proto
    keys: list[tuple[int, int]] = []
    index: dict[tuple[int, int], int] = {}
    by_ps: dict[tuple[int, int], list[int]] = defaultdict(list)
    by_s: dict[int, list[int]] = defaultdict(list)
    add = proto.constraints.add
    groups: list[range] = []
    for i in chosen:
        p = core.pairs[i]
        first = len(keys)
        for s in p.allowed:
            k = index[i, s] = len(keys)
            keys.append((i, s))
            by_ps[p.a, s].append(k)
            by_ps[p.b, s].append(k)
            by_s[s].append(k)
        groups.append(range(first, len(keys)))
    if keys:
        add_bool_vars(proto, len(keys))
    for own in groups:
        add().exactly_one.literals.extend(own)
    for vs in by_ps.values():
        if len(vs) > 1:
            add().at_most_one.literals.extend(vs)
    for s, vs in by_s.items():
        if len(vs) > core.tables[s]:
            lin = add().linear
            lin.vars.extend(vs)
            lin.coeffs.extend([1] * len(vs))
            lin.domain.extend((0, core.tables[s]))
    where = dict(hint)
    hv: list[int] = []
    for i in chosen:  # the given place (near-complete placement), else a preferred one
        p = core.pairs[i]
        s = where.get(i, p.preferred[0] if p.preferred is not None else None)
        if s is not None and (i, s) in index:
            hv.append(index[i, s])
    proto.solution_hint.vars.extend(hv)
    proto.solution_hint.values.extend([1] * len(hv))
    build = time.perf_counter() - t_build
    # The model is a pure feasibility one that CP-SAT's local search (feasibility jump) solves
    # from the hint in a few hundred moves, or not at all: presolve (probing) would cost more than
    # the search, and short runs with fresh seeds beat one long run.
    # CP-SAT loads the model within its limit but may answer late by about the build time
    attempt = 0
    while True:
        left = deadline - time.perf_counter() - build
        if left < (0.01 if attempt == 0 else max(0.15, 3 * build)):  # loading costs ~build time
            return None
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = min(left, _ASSIGN_ATTEMPT)
        solver.parameters.num_workers = max(1, num_workers)
        solver.parameters.random_seed = seed + attempt
        solver.parameters.cp_model_presolve = False
        res = solver.solve(model)
        if res == cp_model.OPTIMAL or res == cp_model.FEASIBLE:
            sol = list(solver.response_proto.solution)
            return sorted(key for k, key in enumerate(keys) if sol[k])
        if res == cp_model.INFEASIBLE:
            return None
        attempt += 1


def neighbours(core: Core) -> list[list[tuple[int, ...]]]:
    """``nb[q][s]``: the slots next to ``s`` along participant ``q``'s available slots."""
    out: list[list[tuple[int, ...]]] = []
    for q in range(len(core.pids)):
        seq = core.seq[q]
        row: list[tuple[int, ...]] = [()] * core.n_slots
        for k, s in enumerate(seq):
            row[s] = tuple(seq[j] for j in (k - 1, k + 1) if 0 <= j < len(seq))
        out.append(row)
    return out


def place_pairs(
    core: Core,
    chosen: list[int],
    extra: list[int] = (),  # type: ignore[assignment]
    max_chain: int = 400,
    *,
    extra_if_missing: bool = False,
    deadline: float | None = None,
):
    """Slots for the ``chosen`` pairs without a solver, then for ``extra`` pairs where room is left.

    Chosen pairs go most constrained first: into a slot free for both sides, else into one whose
    tables are full after moving one of its meetings elsewhere, else along an alternating chain
    (Kempe chain): with slot α free for one side and β for the other, the α/β meetings met from
    the second side swap slots, which frees α for the pair. Every move keeps the placed pairs
    placed and valid. ``extra`` pairs (by weight) are only added where caps and room allow;
    with ``extra_if_missing``, only if a chosen pair found no slot (when the chosen pairs are an
    optimal answer of the relaxation, placing them all leaves no extra pair any room: trying
    each costs more than the rest). Past ``deadline`` (``time.perf_counter()``), chains are no
    longer tried and extra pairs no longer added.

    Returns ``(placed [(pair, slot)], unplaced chosen pairs)``; deterministic.
    """
    n, ns = len(core.pids), core.n_slots
    at = [[-1] * ns for _ in range(n)]  # pair index per participant and slot; -2 = fixed meeting
    for q in range(n):
        for s in core.busy[q]:
            at[q][s] = -2
    count = [0] * ns
    left = list(core.cap)
    tables = core.tables
    slot_of: dict[int, int] = {}
    in_slot: list[set[int]] = [set() for _ in range(ns)]
    allowed: dict[int, set[int]] = {}

    def put(i: int, s: int) -> None:
        p = core.pairs[i]
        at[p.a][s] = at[p.b][s] = i
        count[s] += 1
        slot_of[i] = s
        in_slot[s].add(i)

    def take(i: int) -> int:
        p = core.pairs[i]
        s = slot_of.pop(i)
        at[p.a][s] = at[p.b][s] = -1
        count[s] -= 1
        in_slot[s].discard(i)
        return s

    nb = neighbours(core)

    def chain(v: int, alpha: int, beta: int, avoid: int) -> list[int] | None:
        path: list[int] = []
        x, c = v, alpha
        while True:
            j = at[x][c]
            if j == -1:
                return path
            if j < 0 or len(path) >= max_chain or core.pairs[j].must:
                return None
            aj = allowed.get(j)
            if aj is None:
                aj = allowed[j] = set(core.pairs[j].allowed)
            if alpha not in aj or beta not in aj:
                return None
            p = core.pairs[j]
            x = p.b if p.a == x else p.a
            if x == avoid:  # an odd cycle (two participants of the same role): no swap
                return None
            path.append(j)
            c = beta if c == alpha else alpha

    def try_place(i: int, chains: bool) -> bool:
        p = core.pairs[i]
        free = [s for s in p.allowed if at[p.a][s] == -1 and at[p.b][s] == -1]
        if p.preferred is not None and p.preferred[0] in free:
            free.remove(p.preferred[0])
            free.insert(0, p.preferred[0])
        if p.preferred is not None and free and free[0] == p.preferred[0] and count[free[0]] < tables[free[0]]:
            put(i, free[0])
            return True
        # the free slot with most busy neighbours for both sides (compact afternoons), earliest on ties
        best, best_adj = -1, -1
        nb_a, nb_b, at_a, at_b = nb[p.a], nb[p.b], at[p.a], at[p.b]
        for s in free:
            if count[s] < tables[s]:
                adj = 0
                for t in nb_a[s]:
                    if at_a[t] != -1:
                        adj += 1
                for t in nb_b[s]:
                    if at_b[t] != -1:
                        adj += 1
                if adj > best_adj:
                    best, best_adj = s, adj
        if best >= 0:
            put(i, best)
            return True
        if not chains:
            return False
        for s in free:  # free for both sides but no table left: move one of its meetings away
            for j in sorted(in_slot[s]):
                o = core.pairs[j]
                if o.must:
                    continue
                for t in o.allowed:
                    if t != s and count[t] < tables[t] and at[o.a][t] == -1 and at[o.b][t] == -1:
                        take(j)
                        put(j, t)
                        put(i, s)
                        return True
        best: tuple[list[int], int, int] | None = None
        for u, v in ((p.a, p.b), (p.b, p.a)):
            fu = [s for s in p.allowed if at[u][s] == -1]
            fv = [s for s in p.allowed if at[v][s] == -1]
            for alpha in fu:
                for beta in fv:
                    if alpha == beta:
                        continue
                    path = chain(v, alpha, beta, u)
                    if path is None or (best is not None and len(path) >= len(best[0])):
                        continue
                    n_alpha = sum(1 for j in path if slot_of[j] == alpha)
                    n_beta = len(path) - n_alpha
                    if count[alpha] + n_beta - n_alpha + 1 > tables[alpha] or count[beta] + n_alpha - n_beta > tables[beta]:
                        continue
                    best = (path, alpha, beta)
        if best is None:
            return False
        path, alpha, beta = best
        olds = [(j, take(j)) for j in path]
        for j, s in olds:
            put(j, beta if s == alpha else alpha)
        put(i, alpha)
        return True

    order = sorted(chosen, key=lambda i: (not core.pairs[i].must, len(core.pairs[i].allowed), -core.pairs[i].weight, i))
    unplaced: list[int] = []
    late = False
    for k, i in enumerate(order):
        if deadline is not None and not late and k % 16 == 0:
            late = time.perf_counter() > deadline
        p = core.pairs[i]
        if p.allowed and left[p.a] > 0 and left[p.b] > 0 and try_place(i, not late):
            left[p.a] -= 1
            left[p.b] -= 1
        else:
            unplaced.append(i)
    if extra_if_missing and not unplaced:
        extra = ()
    done = set(slot_of)
    for k, i in enumerate(sorted(extra, key=lambda i: (-core.pairs[i].weight, len(core.pairs[i].allowed), i))):
        if deadline is not None and k % 16 == 0 and time.perf_counter() > deadline:
            break
        p = core.pairs[i]
        if i in done or not p.allowed or left[p.a] <= 0 or left[p.b] <= 0:
            continue
        if try_place(i, True):
            left[p.a] -= 1
            left[p.b] -= 1
    return sorted(slot_of.items()), sorted(unplaced)
