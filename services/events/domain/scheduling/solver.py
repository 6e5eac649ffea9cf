"""CP-SAT engine: one boolean per (requested pair, slot), lexicographic objective in three phases.

1. maximise the weighted requested meetings (priority, mutuality) — its proven bound gives the gap;
2. with that value kept, fairness: a concave reward on each participant's meeting count, so that
   a first meeting outweighs any second one, a second any third one, and so on;
3. with both kept, compactness: fewer busy stretches (hence idle gaps) in each afternoon.

Tables are interchangeable within a slot, so the model only counts meetings per slot; table
numbers are assigned afterwards (:func:`core.decode`). The primary phase usually ends before
CP-SAT: the slot-free relaxation (LP) bounds it and its pairs, once placed, reach that bound.
The greedy heuristic is the fallback, and the answer when CP-SAT finds nothing in time or is
switched off. Every answer is then compacted by chain swaps (:func:`heuristic.compact`, same
pairs), before and after CP-SAT's later phases, which run only on models it can search in time
(``_LATER_MAX_VARS``).

Progress: an optional ``progress(phase, fraction)`` callback is told each :class:`Phase` that
runs (see :class:`Tracker`).
"""
from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass

from ortools.sat.python import cp_model

from .core import Core, Placement, build_core, decode, trivial_bound
from .heuristic import compact, greedy
from .lpbound import lp_bound
from .relax import add_bool_vars, assign, pair_value, place_pairs, relaxation
from .model import Phase, Progress, Schedule, SchedulingOptions, SchedulingProblem, Status
from .validation import validate

_RELAX_SHARE = 0.25  # of the time left, for the slot-free relaxation
_ASSIGN_SHARE = 0.3  # of the time left then, for giving its pairs slots (if the heuristic missed some)
_PHASE_MIN = 0.03  # seconds of search: a later phase with less is skipped
_PLACE_SHARE = 0.3  # of the time left, for the chain placement (then CP-SAT or the greedy takes over)
_COMPACT_SHARE = 0.3  # of the time left, at most, for the compaction heuristic (it stops sooner)
# CP-SAT's fairness / compactness phases only up to this many (pair, slot) variables: at 137k
# (1,000 participants, 24 slots) loading the model alone took longer than its limit, answered
# 1–2 s late, and found nothing better than its hint in 2.5 s; the heuristics do that work.
_LATER_MAX_VARS = 40_000
_FAIR_TOP = 10_000  # reward of a participant's k-th meeting: _FAIR_TOP // k**2, strictly decreasing
# Wall-clock budget. ``time_limit`` counts from the call's start (validation, model building, LP,
# heuristics, decoding included); the plan keeps this margin for what cannot be interrupted
# (CP-SAT stopping its workers and answering, the decoding of the answer, a GC pause).
_MARGIN = 0.04  # seconds, plus _MARGIN_SHARE of the time limit
_MARGIN_SHARE = 0.05
_SEC_PER_VAR = 6e-6  # model building estimate before any was measured (about twice the usual)
_LOAD_PER_BUILD = 1.5  # CP-SAT loading a model (within its limit), as a multiple of its Python build time
_LATE_PER_BUILD = 0.5  # CP-SAT answering after its limit (measured: up to ~0.4 build times)
_LP_SEC_PER_VAR = 3e-5  # building the GLOP model of lp_bound (15–30 µs a variable, outside its time limit)


class Clock:
    """The call's deadline; ``left()`` is what the plan may still spend (the margin kept aside)."""

    def __init__(self, t0: float, core: Core) -> None:
        limit = core.options.time_limit
        n_out = len(core.problem.requests) + len(core.pids)
        # decoding the answer (tables, agendas, grid, reasons): measured ~8 µs per request /
        # participant on 1,000 participants, twice that kept aside for a busy machine
        self.tail = _MARGIN + _MARGIN_SHARE * limit + 1.5e-5 * n_out
        self.deadline = t0 + limit - self.tail

    def left(self) -> float:
        return self.deadline - time.perf_counter()


_PHASE_ORDER = {p: k for k, p in enumerate(Phase)}


class Tracker:
    """Reports the phases of one call to a ``progress(phase, fraction)`` callback, if any.

    The fraction is the share of ``time_limit`` elapsed when the phase starts (the call's
    wall-clock budget, so a fair estimate of what is done), never decreasing, below 1 until
    :attr:`Phase.DONE`, which reports exactly 1.0.
    """

    __slots__ = ("callback", "t0", "limit", "last", "phase")

    def __init__(self, callback: Progress | None, t0: float, limit: float) -> None:
        self.callback = callback
        self.t0 = t0
        self.limit = limit
        self.last = 0.0
        self.phase = -1  # index in Phase of the last phase reported

    def __call__(self, phase: Phase) -> None:
        if self.callback is None:
            return
        k = _PHASE_ORDER[phase]
        if k <= self.phase:  # each phase once, in order (re-planning with moves searches twice)
            return
        self.phase = k
        if phase is Phase.DONE:
            fraction = 1.0
        else:
            elapsed = (time.perf_counter() - self.t0) / self.limit if self.limit > 0 else 0.0
            fraction = min(0.99, max(self.last, elapsed))
        self.last = fraction
        self.callback(phase, fraction)  # the caller's: its exceptions are the caller's too


def schedule(
    problem: SchedulingProblem,
    options: SchedulingOptions | None = None,
    progress: Progress | None = None,
) -> Schedule:
    """Build every participant's agenda; raises ``SchedulingInputError`` naming a bad item.

    ``progress(phase, fraction)``, if given, is called as each phase that runs starts (see
    :class:`Phase`) with the fraction of the work done, in [0, 1] and never decreasing, and
    last with ``("done", 1.0)``; phases with nothing to do (e.g. CP-SAT once the relaxation's
    answer is proven optimal) are not reported. It is called from this thread, a handful of
    times per call; an exception it raises is not caught: it ends the call and reaches the
    caller (a way to cancel a background job).
    """
    options = options or SchedulingOptions()
    t0 = time.perf_counter()
    track = Tracker(progress, t0, options.time_limit)
    track(Phase.VALIDATION)
    validate(problem)
    fixed = [Placement(m.a, m.b, m.slot, m.table, locked=True) for m in problem.locked]
    core = build_core(problem, options, fixed=fixed)
    return solve_core(core, t0, track)


@dataclass(slots=True)
class Found:
    """What the primary phases found: ``best`` and the proven bounds of its objective and weight."""

    best: list[tuple[int, int]]
    heuristic: bool  # best is the greedy placement
    obj_bound: int  # of the weight plus keep bonuses (CP-SAT's objective)
    weight_bound: int  # of the weight alone
    proven: bool  # best reaches obj_bound
    model: "_Model | None" = None
    build: float = 0.0  # seconds to build the model (an estimate until it was built)
    n_vars: int = 0


def solve_core(
    core: Core, t0: float, track: Tracker | None = None, start: list[tuple[int, int]] | None = None,
) -> Schedule:
    """Solve ``core``; ``Quality.bound`` is always a proven upper bound of the weight reported.

    Two bounds are tracked: ``obj_bound`` of what CP-SAT maximises (the weight, plus the keep
    bonus when re-planning with moves) and ``weight_bound`` of the weight alone. The status is
    OPTIMAL only when both are reached, so an OPTIMAL schedule's weight equals its bound.
    ``start``, if given, is a valid placement to improve on (re-planning with moves: the plan
    with every present meeting kept).

    ``options.time_limit`` is a wall-clock budget from ``t0`` (the caller's start): every step is
    planned against that deadline, a later phase whose model would not be built and searched in
    the time left is skipped, and a phase stops as soon as CP-SAT proves it optimal.
    """
    options = core.options
    track = track or Tracker(None, t0, options.time_limit)
    clock = Clock(t0, core)
    if not options.use_solver or not any(p.allowed for p in core.pairs):
        tb = trivial_bound(core)
        track(Phase.PLACEMENT)
        hint = greedy(core)
        if start is not None and _objective(core, start) > _objective(core, hint):
            hint = start
        exact = not any(p.allowed for p in core.pairs)
        status = Status.OPTIMAL if exact or _weight(core, hint) >= tb else Status.HEURISTIC
        if not exact:
            hint = compact(core, hint, deadline=clock.deadline)
        return _done(track, decode(core, hint, status=status, bound=core.fixed_weight + tb, seconds=time.perf_counter() - t0))
    phases = [p for p, on in (("fair", options.fairness), ("compact", options.compact)) if on]
    found = search(core, clock, track, start, n_later=len(phases))
    best, m, build = found.best, found.model, found.build
    # compact afternoons by moving meetings along chains (same pairs, so the same objectives)
    t_compact = time.perf_counter()
    chosen = compact(core, best, deadline=t_compact + max(0.0, clock.left()) * _COMPACT_SHARE)
    t_compact = time.perf_counter() - t_compact
    compacted = chosen
    primary_value = _objective(core, chosen)
    weight_bound = max(_weight(core, chosen), found.weight_bound)
    if found.proven and _weight(core, chosen) >= weight_bound:
        status = Status.OPTIMAL
    elif found.heuristic:
        status = Status.HEURISTIC
    else:
        status = Status.FEASIBLE
    # 4. fairness, then compactness, each with the previous objectives kept; a phase runs only if
    # its model part can be built, loaded and searched for _PHASE_MIN in an even share of the time
    # (a last compaction of their answer kept aside), and only on models CP-SAT can search in time
    if found.n_vars > _LATER_MAX_VARS:
        phases = []
    final = 0.005 + 0.5 * t_compact  # the last compaction, of a mostly compact answer
    for k, phase in enumerate(phases):
        todo = len(phases) - k
        name, reported = (Phase.FAIRNESS if phase == "fair" else Phase.COMPACTNESS), False
        need = (1 + _LOAD_PER_BUILD + _LATE_PER_BUILD) * build + _PHASE_MIN
        if m is None:
            if clock.left() - final < build + todo * need:
                continue
            track(name)  # building the model is this phase's work
            reported = True
            m, build = _timed_model(core)
            need = (1 + _LOAD_PER_BUILD + _LATE_PER_BUILD) * build + _PHASE_MIN
        left = clock.left() - final
        share = left / todo
        if share < need:
            continue  # a later (cheaper-looking) phase may still fit
        if not reported:
            track(name)
        ready = m.build_fairness(primary_value) if phase == "fair" else m.build_compact(chosen)
        # CP-SAT's limit covers its loading of the model, not its late answer
        limit = (clock.left() - final) / todo - _LATE_PER_BUILD * build
        if ready is False or limit < _PHASE_MIN + _LOAD_PER_BUILD * build:
            continue
        better = m.run_fairness(chosen, limit) if phase == "fair" else m.run_compact(chosen, limit)
        if better is not None:
            chosen = better
    if chosen is not compacted:
        chosen = compact(core, chosen, deadline=clock.deadline)
    return _done(track, decode(core, chosen, status=status, bound=core.fixed_weight + weight_bound, seconds=time.perf_counter() - t0))


def search(
    core: Core, clock: "Clock", track: Tracker, start: list[tuple[int, int]] | None = None, n_later: int = 0,
) -> Found:
    """The primary phases: relaxation, placement, CP-SAT; ``n_later`` later phases kept room for."""
    options = core.options
    tb = trivial_bound(core)
    bonus = _keep_bonus(core)
    n_vars = sum(len(p.allowed) for p in core.pairs)
    # valid upper bounds to start from: the weights alone, plus every possible keep bonus
    obj_bound = tb + bonus * sum(1 for p in core.pairs if p.preferred is not None and p.allowed)
    weight_bound = tb
    # every must pair is chosen in the relaxation with its keep bonus: its bound less those
    # bonuses bounds the weight (not so for the full LP's or CP-SAT's bound, where a pair may
    # leave its place and lose its bonus)
    kept_bonus = bonus * sum(1 for p in core.pairs if p.preferred is not None and p.preferred[0] in p.allowed)
    exact_bonus = all(p.must for p in core.pairs if p.preferred is not None)
    proven = False
    lp_cost = 0.01 + _LP_SEC_PER_VAR * n_vars  # lp_bound's Python build, outside GLOP's limit
    # 1. slot-free relaxation (a b-matching): a tight bound and, once given slots, often the optimum
    track(Phase.RELAXATION)
    hints: list[list[tuple[int, int]]] = []  # the greedy placement, made once when first needed

    def greedy_hint() -> list[tuple[int, int]]:
        if not hints:
            hints.append(start if start is not None else greedy(core))
        return hints[0]

    left = clock.left()
    # at least 50 ms: on a starved machine its bound is what keeps the reported gap meaningful
    edges, rb = relaxation(core, max(0.05, left * _RELAX_SHARE), greedy_hint, bonus, options.num_workers, options.seed)
    if rb is not None:
        obj_bound = min(obj_bound, rb)
        if exact_bonus:
            weight_bound = min(weight_bound, rb - kept_bonus)
    else:  # not solved in time (large instances): the LP relaxation bound, before CP-SAT takes the time
        left = clock.left() - lp_cost
        lb = lp_bound(core, left * 0.5, bonus) if left > 0.1 else None
        if lb is not None:
            obj_bound = min(obj_bound, lb)
    if bonus == 0:
        weight_bound = min(weight_bound, obj_bound)
    # 2. slots: the relaxation's pairs placed (chains, then CP-SAT), else the greedy placement;
    # with a start (re-planning with moves: every present meeting kept) that start
    track(Phase.PLACEMENT)
    best: list[tuple[int, int]] | None = start
    if edges is not None and start is None:
        # slots for the chosen pairs: alternating-chain heuristic, then CP-SAT for the last few;
        # failing both, the chosen pairs that got a slot plus other pairs where room is left
        on = set(edges)
        others = [i for i, p in enumerate(core.pairs) if p.allowed and i not in on]
        exact = rb is not None and sum(pair_value(core, i, bonus) for i in edges) >= rb
        placed, missing = place_pairs(
            core, edges, others, extra_if_missing=exact, deadline=time.perf_counter() + max(0.0, clock.left()) * _PLACE_SHARE,
        )
        if missing:
            left = clock.left()
            if left > 0.05:
                full = assign(core, edges, left * _ASSIGN_SHARE, placed, options.num_workers, options.seed)
                if full is not None:
                    placed, missing = full, []
        if not any(core.pairs[i].must for i in missing):
            best = placed
    heuristic = False
    if best is None or (start is None and _objective(core, best) < obj_bound):  # not proven: the greedy may do better
        hint = greedy_hint()
        if best is None or _objective(core, hint) >= _objective(core, best):
            best, heuristic = hint, True
    proven = _objective(core, best) >= obj_bound
    m: _Model | None = None
    build = 0.005 + _SEC_PER_VAR * n_vars  # estimate until measured
    # 3. the full model, unless the relaxation's answer is already proven optimal
    if not proven:
        track(Phase.CP_SAT)
        # each later phase builds its part of the model, then CP-SAT loads the whole model again
        # within its time limit; but the primary objective comes first: it takes its share
        # (primary_share) of all that is left, the later phases run in the rest, or not at all
        if clock.left() * options.primary_share > (1 + _LOAD_PER_BUILD + _LATE_PER_BUILD) * build + 0.04:
            m, build = _timed_model(core)
            limit = clock.left() * options.primary_share - _LATE_PER_BUILD * build
            if limit > _LOAD_PER_BUILD * build + 0.02:
                chosen, bound = m.primary(best, limit)
                if bound is not None:
                    obj_bound = min(obj_bound, bound)
                    if bonus == 0:
                        weight_bound = min(weight_bound, obj_bound)
                if chosen is not None and _objective(core, chosen) > _objective(core, best):
                    best, heuristic = chosen, False
                proven = _objective(core, best) >= obj_bound
    if not proven:
        # CP-SAT's bound is often weak when tables are ample: the LP relaxation is a proven one
        reserve = n_later * ((1 + _LOAD_PER_BUILD + _LATE_PER_BUILD) * build + _PHASE_MIN)
        left = clock.left() - reserve - lp_cost
        if left > 0.05:
            lb = lp_bound(core, left * 0.85, bonus)
            if lb is not None:
                obj_bound = min(obj_bound, lb)
                if bonus == 0:
                    weight_bound = min(weight_bound, obj_bound)
        proven = _objective(core, best) >= obj_bound
    weight_bound = min(weight_bound, obj_bound)  # the keep bonus is never negative
    return Found(best, heuristic, obj_bound, weight_bound, proven, m, build, n_vars)


def _done(track: Tracker, sched: Schedule) -> Schedule:
    track(Phase.DONE)
    return sched


def _timed_model(core: Core) -> tuple["_Model", float]:
    t = time.perf_counter()
    m = _Model(core)
    return m, time.perf_counter() - t


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
    """The full model, written straight into the CpModelProto with proto indices as variables.

    Creating one Python ``IntVar`` per (pair, slot) and one expression per constraint costs
    ~10 µs each, most of the time of the later phases on large instances: here variables are
    parsed from text in one call and constraints are filled with bulk ``extend`` calls. ``keys[k]``
    is the (pair, slot) of variable ``k``. The later phases add their variables and constraints
    to the same proto: nothing of the primary model is built twice.
    """

    def __init__(self, core: Core) -> None:
        self.core = core
        self.model = cp_model.CpModel()
        self.proto = self.model.proto
        self.n_vars = 0
        self.keys: list[tuple[int, int]] = []
        self.by_ps: dict[tuple[int, int], list[int]] = {}
        by_ps = self.by_ps
        self.by_p: dict[int, list[int]] = defaultdict(list)
        by_s: dict[int, list[int]] = defaultdict(list)
        self.obj_vars: list[int] = []
        self.obj_coeffs: list[int] = []
        self.fair_value: int | None = None  # the fairness phase's optimum or best value, once run
        self.later: list[tuple[str, list]] = []  # variables of the later phases, for the hints
        bonus = _keep_bonus(core)
        keys, by_p = self.keys, self.by_p
        ns = core.n_slots
        cells: list[list[int]] = [[] for _ in range(len(core.pids) * ns)]  # by participant * ns + slot
        groups: list[tuple[bool, range]] = []
        obj_vars, obj_coeffs = self.obj_vars, self.obj_coeffs
        for i, p in enumerate(core.pairs):
            allowed = p.allowed
            if not allowed:
                continue
            first = len(keys)
            own = range(first, first + len(allowed))
            keys.extend([(i, s) for s in allowed])
            base_a, base_b = p.a * ns, p.b * ns
            for k, s in zip(own, allowed):
                cells[base_a + s].append(k)
                cells[base_b + s].append(k)
                by_s[s].append(k)
            keep = p.preferred[0] if p.preferred is not None and bonus else None
            if keep is None:
                if p.weight:
                    obj_vars.extend(own)
                    obj_coeffs.extend([p.weight] * len(own))
            else:
                for k, s in zip(own, allowed):
                    w = p.weight + (bonus if keep == s else 0)
                    if w:
                        obj_vars.append(k)
                        obj_coeffs.append(w)
            by_p[p.a].extend(own)
            by_p[p.b].extend(own)
            groups.append((p.must, own))
        for c, vs in enumerate(cells):
            if vs:
                by_ps[divmod(c, ns)] = vs
        self._new_vars(len(keys))
        add = self.proto.constraints.add
        for must, own in groups:
            if must:
                add().exactly_one.literals.extend(own)
            elif len(own) > 1:
                add().at_most_one.literals.extend(own)
        for vs in by_ps.values():
            if len(vs) > 1:
                add().at_most_one.literals.extend(vs)
        for s, vs in by_s.items():
            if len(vs) > core.tables[s]:
                self._linear(vs, [1] * len(vs), 0, core.tables[s])
        for q, vs in by_p.items():
            if len(vs) > core.cap[q]:
                self._linear(vs, [1] * len(vs), 0, core.cap[q])

    def _new_vars(self, count: int) -> range:
        """``count`` new booleans (copies of one proto in one call: ~0.4 µs each instead of ~10)."""
        first = self.n_vars
        if count:
            add_bool_vars(self.proto, count)
        self.n_vars += count
        return range(first, self.n_vars)

    def _linear(self, vs, cs, lo: int, hi: int) -> None:
        """``lo <= sum(c * x) <= hi``."""
        lin = self.proto.constraints.add().linear
        lin.vars.extend(vs)
        lin.coeffs.extend(cs)
        lin.domain.extend((lo, hi))

    def _objective(self, vs: list[int], cs: list[int], maximize: bool) -> None:
        self.proto.clear_objective()
        obj = self.proto.objective
        obj.vars.extend(vs)
        obj.coeffs.extend([-c for c in cs] if maximize else cs)
        obj.scaling_factor = -1.0 if maximize else 1.0

    def _solver(self, limit: float) -> cp_model.CpSolver:
        solver = cp_model.CpSolver()
        o = self.core.options
        solver.parameters.max_time_in_seconds = max(0.01, limit)
        solver.parameters.num_workers = max(1, o.num_workers)
        solver.parameters.random_seed = o.seed
        return solver

    def _hint(self, chosen: list[tuple[int, int]]) -> None:
        """Hint every variable: the x of ``chosen``, and the later phases' ones that follow.

        A complete hint is a solution CP-SAT has at once; a partial one must be completed by
        search, which can take a large model's whole time limit and give nothing.
        """
        self.proto.clear_solution_hint()
        on = set(chosen)
        xs = [1 if key in on else 0 for key in self.keys]
        values = xs + self._later_values(xs)
        hint = self.proto.solution_hint
        hint.vars.extend(range(len(values)))
        hint.values.extend(values)

    def _later_values(self, xs: list[int]) -> list[int]:
        """Values of the fairness / compactness variables (in creation order) implied by ``xs``."""
        out: list[int] = []
        for kind, data in self.later:
            if kind == "fair":  # y_q,k = 1 for the participant's first meetings
                for top, vs in data:
                    c = sum(xs[v] for v in vs)
                    out += [1] * min(c, top) + [0] * (top - min(c, top))
            else:  # st = 1 where a busy stretch opens
                for vs, cs, lo in data:
                    out.append(1 if sum(xs[v] * c for v, c in zip(vs, cs)) < lo else 0)
        return out

    def _solve(self, limit: float, presolve: bool = True):
        solver = self._solver(limit)
        # the later phases start from a complete hint: presolving their larger model costs more
        # than their search (measured: with it, 0.8 s often returned nothing, not even the hint)
        solver.parameters.cp_model_presolve = presolve
        res = solver.solve(self.model)
        if res in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            keys = self.keys
            sol = list(solver.response_proto.solution)[: len(keys)]
            return solver, res, sorted(keys[k] for k, v in enumerate(sol) if v)
        return solver, res, None

    def primary(self, hint: list[tuple[int, int]], limit: float):
        self._objective(self.obj_vars, self.obj_coeffs, maximize=True)
        self._hint(hint)
        solver, res, chosen = self._solve(limit)
        if chosen is not None:
            return chosen, math.floor(solver.best_objective_bound + 1e-6)
        # UNKNOWN (nothing found in time): best_objective_bound means nothing (it reads 0), so
        # no bound; INFEASIBLE cannot happen (the hint is feasible): no bound either
        return None, None

    def build_fairness(self, primary_value: int) -> bool:
        """The fairness phase's variables and constraints; its objective is set by :meth:`fairness`."""
        core = self.core
        self._linear(self.obj_vars, self.obj_coeffs, primary_value, sum(self.obj_coeffs))
        fixed_count: dict[int, int] = defaultdict(int)
        for f in core.fixed:
            fixed_count[f.a] += 1
            fixed_count[f.b] += 1
        tops = {q: min(core.cap[q], len(vs), core.n_slots) for q, vs in self.by_p.items()}
        first = self._new_vars(sum(tops.values())).start
        add = self.proto.constraints.add
        fv: list[int] = []
        fc: list[int] = []
        self.later.append(("fair", [(tops[q], vs) for q, vs in self.by_p.items()]))
        for q, vs in self.by_p.items():
            top = tops[q]
            ys = range(first, first + top)
            first += top
            for a, b in zip(ys, ys[1:]):  # y_k+1 -> y_k
                add().bool_or.literals.extend((-b - 1, a))
            self._linear([*ys, *vs], [1] * top + [-1] * len(vs), -len(vs), 0)  # sum(ys) <= meetings
            base = fixed_count[q]
            for k, y in enumerate(ys):
                fv.append(y)
                fc.append(max(1, _FAIR_TOP // (base + k + 1) ** 2))
        self.fair_terms = (fv, fc)
        return True

    def run_fairness(self, chosen, limit: float):
        self._objective(*self.fair_terms, maximize=True)
        self._hint(chosen)
        solver, res, out = self._solve(limit, presolve=False)
        self.fair_value = int(round(solver.objective_value)) if out is not None else None
        return out

    def build_compact(self, chosen) -> bool:
        """The compactness phase's variables and constraints; False if there is nothing to compact."""
        core = self.core
        rows: list[tuple[list[int], list[int], int]] = []  # (vars with st last, coeffs, lower bound)
        for q in self.by_p:
            # openings of busy stretches along the participant's available slots: st >= cur - prev,
            # each of cur / prev a constant (0 free, 1 fixed meeting) or a sum of x variables
            prev: int | list[int] = 0
            for s in core.seq[q]:
                cur: int | list[int] = 1 if s in core.busy[q] else (self.by_ps.get((q, s)) or 0)
                if isinstance(cur, int) and (isinstance(prev, int) or cur == 0):
                    prev = cur
                    continue
                vs: list[int] = []
                cs: list[int] = []
                const = 0  # st - cur + prev >= 0, constants moved to the bound
                if isinstance(cur, int):
                    const -= cur
                else:
                    vs += cur
                    cs += [-1] * len(cur)
                if isinstance(prev, int):
                    const += prev
                else:
                    vs += prev
                    cs += [1] * len(prev)
                rows.append((vs, cs, -const))
                prev = cur
        if not rows:
            return False
        if self.fair_value is not None:
            fv, fc = self.fair_terms
            self._linear(fv, fc, self.fair_value, sum(fc))
        self._linear(self.obj_vars, self.obj_coeffs, _objective(core, chosen), sum(self.obj_coeffs))
        first = self._new_vars(len(rows)).start
        self.later.append(("compact", rows))
        self.starts = list(range(first, first + len(rows)))
        for st, (vs, cs, lo) in zip(self.starts, rows):
            self._linear([st, *vs], [1, *cs], lo, len(vs) + 1)
        return True

    def run_compact(self, chosen, limit: float):
        self._objective(self.starts, [1] * len(self.starts), maximize=False)
        self._hint(chosen)
        _, _, out = self._solve(limit, presolve=False)
        return out
