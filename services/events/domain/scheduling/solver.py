"""CP-SAT engine: one boolean per (requested pair, slot), lexicographic objective in three phases.

1. maximise the weighted requested meetings (priority, mutuality) — its proven bound gives the gap;
2. with that value kept, fairness: a concave reward on each participant's meeting count, so that
   a first meeting outweighs any second one, a second any third one, and so on;
3. with both kept, compactness: fewer busy stretches (hence idle gaps) in each afternoon.

Tables are interchangeable within a slot, so the model only counts meetings per slot; table
numbers are assigned afterwards (:func:`core.decode`). The greedy heuristic is the hint, and the
answer when CP-SAT finds nothing in time or is switched off.
"""
from __future__ import annotations

import math
import time
from collections import defaultdict

from ortools.sat.python import cp_model

from .core import Core, Placement, build_core, decode, trivial_bound
from .heuristic import greedy
from .lpbound import lp_bound
from .relax import assign, pair_value, place_pairs, relaxation
from .model import Schedule, SchedulingOptions, SchedulingProblem, Status
from .validation import validate

_RELAX_SHARE = 0.25  # of the time left, for the slot-free relaxation
_ASSIGN_SHARE = 0.3  # of the time left then, for giving its pairs slots (if the heuristic missed some)
_PHASE_MIN = 0.03  # seconds: a later phase with less is skipped
_FAIR_TOP = 10_000  # reward of a participant's k-th meeting: _FAIR_TOP // k**2, strictly decreasing


def schedule(problem: SchedulingProblem, options: SchedulingOptions | None = None) -> Schedule:
    """Build every participant's agenda; raises ``SchedulingInputError`` naming a bad item."""
    options = options or SchedulingOptions()
    t0 = time.perf_counter()
    validate(problem)
    fixed = [Placement(m.a, m.b, m.slot, m.table, locked=True) for m in problem.locked]
    core = build_core(problem, options, fixed=fixed)
    return solve_core(core, t0)


def solve_core(core: Core, t0: float) -> Schedule:
    """Solve ``core``; ``Quality.bound`` is always a proven upper bound of the weight reported.

    Two bounds are tracked: ``obj_bound`` of what CP-SAT maximises (the weight, plus the keep
    bonus when re-planning with moves) and ``weight_bound`` of the weight alone. The status is
    OPTIMAL only when both are reached, so an OPTIMAL schedule's weight equals its bound.
    """
    options = core.options
    hint = greedy(core)
    tb = trivial_bound(core)
    bonus = _keep_bonus(core)
    if not options.use_solver or not any(p.allowed for p in core.pairs):
        exact = not any(p.allowed for p in core.pairs)
        status = Status.OPTIMAL if exact or _weight(core, hint) >= tb else Status.HEURISTIC
        return decode(core, hint, status=status, bound=core.fixed_weight + tb, seconds=time.perf_counter() - t0)
    deadline = t0 + options.time_limit
    # valid upper bounds to start from: the weights alone, plus every possible keep bonus
    obj_bound = tb + bonus * sum(1 for p in core.pairs if p.preferred is not None and p.allowed)
    best = hint
    proven = False
    # 1. slot-free relaxation (a b-matching): a tight bound and, once given slots, often the optimum
    left = deadline - time.perf_counter()
    edges, rb = relaxation(core, left * _RELAX_SHARE, hint, bonus, options.num_workers, options.seed)
    if rb is not None:
        obj_bound = min(obj_bound, rb)
    else:  # not solved in time (large instances): the LP relaxation bound, before CP-SAT takes the time
        left = deadline - time.perf_counter()
        lb = lp_bound(core, left * 0.5, bonus) if left > 0.1 else None
        if lb is not None:
            obj_bound = min(obj_bound, lb)
    if edges is not None and sum(pair_value(core, i, bonus) for i in edges) > _objective(core, best):
        # slots for the chosen pairs: alternating-chain heuristic, then CP-SAT for the last few;
        # failing both, the chosen pairs that got a slot plus other pairs where room is left
        on = set(edges)
        others = [i for i, p in enumerate(core.pairs) if p.allowed and i not in on]
        placed, missing = place_pairs(core, edges, others)
        if missing:
            left = deadline - time.perf_counter()
            full = assign(core, edges, left * _ASSIGN_SHARE, placed, options.num_workers, options.seed)
            if full is not None:
                placed, missing = full, []
        if not any(core.pairs[i].must for i in missing) and _objective(core, placed) > _objective(core, best):
            best = placed
    proven = _objective(core, best) >= obj_bound
    built = time.perf_counter()
    m = _Model(core)
    built = time.perf_counter() - built
    phases = [p for p, on in (("fair", options.fairness), ("compact", options.compact)) if on]
    # each later phase adds constraints and variables in Python and CP-SAT loads the model again
    # before its time limit starts to count: keep room for that, not only for the searches
    overhead = 0.03 + 0.6 * built
    reserve = len(phases) * (overhead + _PHASE_MIN)
    # 2. the full model, unless the relaxation's answer is already proven optimal
    if not proven:
        left = deadline - time.perf_counter() - reserve
        chosen, bound = m.primary(best, max(0.05, left * options.primary_share))
        if bound is not None:
            obj_bound = min(obj_bound, bound)
        if chosen is not None and _objective(core, chosen) > _objective(core, best):
            best = chosen
        proven = _objective(core, best) >= obj_bound
    if not proven:
        # CP-SAT's bound is often weak when tables are ample: the LP relaxation is a proven one
        left = deadline - time.perf_counter() - reserve
        if left > 0.05:
            lb = lp_bound(core, left * 0.85, bonus)
            if lb is not None:
                obj_bound = min(obj_bound, lb)
        proven = _objective(core, best) >= obj_bound
    chosen = best
    primary_value = _objective(core, chosen)
    weight_bound = max(_weight(core, chosen), min(tb, obj_bound))  # the bonus is never negative
    if proven and _weight(core, chosen) >= weight_bound:
        status = Status.OPTIMAL
    elif chosen is hint:
        status = Status.HEURISTIC
    else:
        status = Status.FEASIBLE
    for k, phase in enumerate(phases):
        left = deadline - time.perf_counter() - (len(phases) - k) * overhead
        limit = left / (len(phases) - k)
        if limit < _PHASE_MIN:
            break
        better = m.fairness(chosen, primary_value, limit) if phase == "fair" else m.compact(chosen, limit)
        if better is not None:
            chosen = better
    return decode(core, chosen, status=status, bound=core.fixed_weight + weight_bound, seconds=time.perf_counter() - t0)


def _weight(core: Core, chosen: list[tuple[int, int]]) -> int:
    return sum(core.pairs[i].weight for i, _ in chosen)


def _keep_bonus(core: Core) -> int:
    return core.options.move_penalty or 0


def _objective(core: Core, chosen: list[tuple[int, int]]) -> int:
    bonus = _keep_bonus(core)
    total = 0
    for i, s in chosen:
        p = core.pairs[i]
        total += p.weight + (bonus if p.preferred is not None and p.preferred[0] == s else 0)
    return total


class _Model:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.model = model = cp_model.CpModel()
        self.x: dict[tuple[int, int], cp_model.IntVar] = {}
        self.by_ps: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
        self.by_p: dict[int, list[cp_model.IntVar]] = defaultdict(list)
        by_s: dict[int, list[cp_model.IntVar]] = defaultdict(list)
        terms: list[tuple[cp_model.IntVar, int]] = []
        bonus = _keep_bonus(core)
        for i, p in enumerate(core.pairs):
            if not p.allowed:
                continue
            vs = []
            for s in p.allowed:
                v = model.new_bool_var(f"x{i}_{s}")
                self.x[i, s] = v
                vs.append(v)
                self.by_ps[p.a, s].append(v)
                self.by_ps[p.b, s].append(v)
                self.by_p[p.a].append(v)
                self.by_p[p.b].append(v)
                by_s[s].append(v)
                w = p.weight + (bonus if p.preferred is not None and p.preferred[0] == s else 0)
                if w:
                    terms.append((v, w))
            if p.must:
                model.add_exactly_one(vs)
            elif len(vs) > 1:
                model.add_at_most_one(vs)
        for vs in self.by_ps.values():
            if len(vs) > 1:
                model.add_at_most_one(vs)
        for s, vs in by_s.items():
            if len(vs) > core.tables[s]:
                model.add(sum(vs) <= core.tables[s])
        for q, vs in self.by_p.items():
            if len(vs) > core.cap[q]:
                model.add(sum(vs) <= core.cap[q])
        self.primary_expr = cp_model.LinearExpr.weighted_sum([v for v, _ in terms], [w for _, w in terms])

    def _solver(self, limit: float) -> cp_model.CpSolver:
        solver = cp_model.CpSolver()
        o = self.core.options
        solver.parameters.max_time_in_seconds = max(0.01, limit)
        solver.parameters.num_workers = max(1, o.num_workers)
        solver.parameters.random_seed = o.seed
        return solver

    def _hint(self, chosen: list[tuple[int, int]]) -> None:
        self.model.clear_hints()
        on = set(chosen)
        for key, v in self.x.items():
            self.model.add_hint(v, key in on)

    def _read(self, solver: cp_model.CpSolver) -> list[tuple[int, int]]:
        return sorted(key for key, v in self.x.items() if solver.boolean_value(v))

    def primary(self, hint: list[tuple[int, int]], limit: float):
        self.model.maximize(self.primary_expr)
        self._hint(hint)
        solver = self._solver(limit)
        res = solver.solve(self.model)
        if res in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return self._read(solver), math.floor(solver.best_objective_bound + 1e-6)
        # UNKNOWN (nothing found in time): best_objective_bound means nothing (it reads 0), so
        # no bound; INFEASIBLE cannot happen (the hint is feasible): no bound either
        return None, None

    def fairness(self, chosen, primary_value: int, limit: float):
        core, model = self.core, self.model
        model.add(self.primary_expr >= primary_value)
        fixed_count = defaultdict(int)
        for f in core.fixed:
            fixed_count[f.a] += 1
            fixed_count[f.b] += 1
        terms: list[tuple[cp_model.IntVar, int]] = []
        for q, vs in self.by_p.items():
            top = min(core.cap[q], len(vs), core.n_slots)
            base = fixed_count[q]
            ys = [model.new_bool_var(f"y{q}_{k}") for k in range(top)]
            for a, b in zip(ys, ys[1:]):
                model.add_implication(b, a)
            model.add(sum(ys) <= sum(vs))
            for k, y in enumerate(ys):
                terms.append((y, max(1, _FAIR_TOP // (base + k + 1) ** 2)))
        self.fair_expr = cp_model.LinearExpr.weighted_sum([y for y, _ in terms], [w for _, w in terms])
        model.maximize(self.fair_expr)
        self._hint(chosen)
        solver = self._solver(limit)
        res = solver.solve(self.model)
        if res in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            out = self._read(solver)
            self.fair_value = int(round(solver.objective_value))
            return out
        self.fair_value = None
        return None

    def compact(self, chosen, limit: float):
        core, model = self.core, self.model
        if getattr(self, "fair_value", None) is not None:
            model.add(self.fair_expr >= self.fair_value)
        model.add(self.primary_expr >= _objective(core, chosen))
        starts: list[cp_model.IntVar] = []
        for q in self.by_p:
            prev = None  # previous busy expression along the participant's available slots
            for s in core.seq[q]:
                if s in core.busy[q]:
                    cur: object = 1
                else:
                    vs = self.by_ps.get((q, s))
                    cur = sum(vs) if vs else 0
                if isinstance(cur, int) and cur == 0:
                    prev = 0
                    continue
                if prev is None or (isinstance(prev, int) and prev == 0):
                    if isinstance(cur, int):  # a fixed meeting opening a stretch: constant
                        prev = cur
                        continue
                    st = model.new_bool_var("")
                    model.add(st >= cur)
                elif isinstance(prev, int) and isinstance(cur, int):
                    prev = cur
                    continue
                else:
                    st = model.new_bool_var("")
                    model.add(st >= cur - prev)
                starts.append(st)
                prev = cur
        if not starts:
            return None
        model.minimize(sum(starts))
        self._hint(chosen)
        solver = self._solver(limit)
        res = solver.solve(self.model)
        if res in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return self._read(solver)
        return None
