"""Greedy fallback: pairs by weight, each in the slot that keeps afternoons compact, then one
round of single moves that frees a slot for a waiting pair. Also the CP-SAT hint.

:func:`compact`: fewer idle gaps for the same pairs, by alternating-chain swaps (any answer)."""
from __future__ import annotations

from .core import Core


def greedy(core: Core) -> list[tuple[int, int]]:
    n_slots = core.n_slots
    n = len(core.pids)
    at: list[list[int]] = [[-1] * n_slots for _ in range(n)]  # pair index per participant/slot
    for q in range(n):
        for s in core.busy[q]:
            at[q][s] = -2  # fixed meeting
    left = list(core.cap)
    tables = list(core.tables)
    slot_of: dict[int, int] = {}
    # neighbours along each participant's available slots, for compactness (by slot index)
    nb: list[list[tuple[int, ...]]] = []
    for q in range(n):
        seq = core.seq[q]
        row: list[tuple[int, ...]] = [()] * n_slots
        for k, s in enumerate(seq):
            row[s] = tuple(seq[j] for j in (k - 1, k + 1) if 0 <= j < len(seq))
        nb.append(row)

    def place(i: int, s: int) -> None:
        p = core.pairs[i]
        at[p.a][s] = at[p.b][s] = i
        left[p.a] -= 1
        left[p.b] -= 1
        tables[s] -= 1
        slot_of[i] = s

    def unplace(i: int) -> int:
        p = core.pairs[i]
        s = slot_of.pop(i)
        at[p.a][s] = at[p.b][s] = -1
        left[p.a] += 1
        left[p.b] += 1
        tables[s] += 1
        return s

    # must pairs keep their previous place
    for i, p in enumerate(core.pairs):
        if p.must and p.preferred is not None:
            s = p.preferred[0]
            if at[p.a][s] == -1 and at[p.b][s] == -1 and tables[s] > 0:
                place(i, s)
    order = sorted(
        (i for i, p in enumerate(core.pairs) if p.allowed and i not in slot_of),
        key=lambda i: (not core.pairs[i].must, -core.pairs[i].weight, len(core.pairs[i].allowed), i),
    )
    waiting: list[int] = []
    for i in order:
        p = core.pairs[i]
        a, b = p.a, p.b
        if left[a] <= 0 or left[b] <= 0:
            waiting.append(i)
            continue
        # the slot with most busy neighbours (compact afternoons), then most tables left, then earliest
        at_a, at_b, nb_a, nb_b = at[a], at[b], nb[a], nb[b]
        best, best_key = -1, (-1, -1)
        for s in p.allowed:
            if tables[s] > 0 and at_a[s] == -1 and at_b[s] == -1:
                adj = 0
                for t in nb_a[s]:
                    if at_a[t] != -1:
                        adj += 1
                for t in nb_b[s]:
                    if at_b[t] != -1:
                        adj += 1
                if (adj, tables[s]) > best_key:
                    best, best_key = s, (adj, tables[s])
        if best < 0:
            waiting.append(i)
            continue
        place(i, best)
    # one round of repairs: move a blocking meeting elsewhere to make room for a waiting pair
    for i in sorted(waiting, key=lambda i: -core.pairs[i].weight):
        p = core.pairs[i]
        if i in slot_of or left[p.a] <= 0 or left[p.b] <= 0:
            continue
        done = False
        for s in p.allowed:
            if tables[s] <= 0:
                continue
            blockers = [at[q][s] for q in (p.a, p.b) if at[q][s] != -1]
            if len(blockers) != 1 or blockers[0] < 0 or core.pairs[blockers[0]].must:
                continue
            j = blockers[0]
            o = core.pairs[j]
            for t in o.allowed:
                if t != s and tables[t] > 0 and at[o.a][t] == -1 and at[o.b][t] == -1:
                    unplace(j)
                    place(j, t)
                    place(i, s)
                    done = True
                    break
            if done:
                break
    return sorted((i, s) for i, s in slot_of.items())


def compact(core: Core, chosen: list[tuple[int, int]], deadline: float | None = None) -> list[tuple[int, int]]:
    """Fewer idle gaps, the same pairs: swaps along alternating chains, kept while they help.

    For a participant ``q`` with a meeting in slot α and β free, the α/β chain from that meeting
    (its other side's meeting in β, that one's other side's meeting in α, …) swaps slots as a
    whole: everyone inside the chain stays busy in both slots, only its two ends change (each
    moves one meeting between α and β), so the change in idle gaps is counted on them alone.
    A chain of one meeting is a plain move (a free table needed). Tables are checked; locked
    and fixed meetings, and re-planned meetings in their previous slot, never move. Stops at
    ``deadline`` (``time.perf_counter()``). Pairs and meeting counts are unchanged.
    """
    import time

    n, ns = len(core.pids), core.n_slots
    at = [[-1] * ns for _ in range(n)]  # pair index per participant and slot; -2 fixed
    for q in range(n):
        for s in core.busy[q]:
            at[q][s] = -2
    count = [0] * ns
    slot_of: dict[int, int] = {}
    for i, s in chosen:
        p = core.pairs[i]
        at[p.a][s] = at[p.b][s] = i
        count[s] += 1
        slot_of[i] = s
    prev = [[-1] * ns for _ in range(n)]
    nxt = [[-1] * ns for _ in range(n)]
    for q in range(n):
        seq = core.seq[q]
        for k, s in enumerate(seq):
            if k:
                prev[q][s] = seq[k - 1]
            if k + 1 < len(seq):
                nxt[q][s] = seq[k + 1]
    allowed: dict[int, set[int]] = {}
    tables = core.tables

    keep = {i: p.preferred[0] for i, p in enumerate(core.pairs) if p.must and p.preferred is not None}

    def pinned(i: int) -> bool:
        return bool(keep) and keep.get(i) == slot_of[i]

    def move_delta(q: int, src: int, dst: int) -> int:
        """Change in q's busy stretches when its meeting in ``src`` goes to ``dst`` (free)."""
        row = at[q]
        lo, hi = prev[q][src], nxt[q][src]
        c = (lo >= 0 and row[lo] != -1) + (hi >= 0 and row[hi] != -1)
        d = 1 if c == 2 else (-1 if c == 0 else 0)
        lo, hi = prev[q][dst], nxt[q][dst]
        c = (lo >= 0 and lo != src and row[lo] != -1) + (hi >= 0 and hi != src and row[hi] != -1)
        return d + (-1 if c == 2 else (1 if c == 0 else 0))

    def chain(q: int, i: int, alpha: int, beta: int) -> tuple[list[int], int, int, int] | None:
        """(meetings after ``i``, far end, its meeting's slot before and after) of the α/β
        chain that moves q's meeting ``i`` from α to β: the partner's meeting in β goes to α,
        that one's other side's meeting in α goes to β, … until a side is free."""
        path: list[int] = []
        p = core.pairs[i]
        x, c, other = (p.b if p.a == q else p.a), beta, alpha
        while True:
            j = at[x][c]
            if j == -1:
                return path, x, other, c  # x is free in c: its meeting moves from ``other`` to c
            if j < 0 or len(path) >= 60 or (keep and keep.get(j) == slot_of[j]):
                return None
            aj = allowed.get(j)
            if aj is None:
                aj = allowed[j] = set(core.pairs[j].allowed)
            if alpha not in aj or beta not in aj:
                return None
            p = core.pairs[j]
            x = p.b if p.a == x else p.a
            if x == q:
                return None  # back at q: not a simple chain
            path.append(j)
            c, other = other, c

    improved = True
    passes = 0
    while improved and passes < 20:
        improved = False
        passes += 1
        for q in range(n):
            if deadline is not None and time.perf_counter() > deadline:
                return sorted(slot_of.items())
            row = at[q]
            seq = core.seq[q]
            busy = [s for s in seq if row[s] != -1]
            if len(busy) < 2:
                continue
            # only worth trying where q has idle gaps: free slots between its first and last meeting
            first, last = busy[0], busy[-1]
            holes = [s for s in seq if first < s < last and row[s] == -1]
            if not holes:
                continue
            for alpha in busy:
                i = row[alpha]
                if i < 0 or pinned(i):
                    continue
                for beta in holes + [s for s in seq if row[s] == -1 and not first < s < last]:
                    if row[alpha] != i or row[beta] != -1:
                        break
                    # a chain helps only if one of its ends gains: try it from that end
                    d_q = move_delta(q, alpha, beta)
                    if d_q >= 0:
                        continue
                    if beta not in (allowed.get(i) or allowed.setdefault(i, set(core.pairs[i].allowed))):
                        continue
                    got = chain(q, i, alpha, beta)
                    if got is None:
                        continue
                    path, z, src, dst = got
                    path = [i, *path]
                    n_alpha = sum(1 for j in path if slot_of[j] == alpha)
                    n_beta = len(path) - n_alpha
                    if count[beta] + n_alpha - n_beta > tables[beta] or count[alpha] + n_beta - n_alpha > tables[alpha]:
                        continue
                    delta = d_q + move_delta(z, src, dst)
                    if delta >= 0:
                        continue
                    for j in path:  # swap the chain's slots
                        p = core.pairs[j]
                        s = slot_of[j]
                        if at[p.a][s] == j:
                            at[p.a][s] = -1
                        if at[p.b][s] == j:
                            at[p.b][s] = -1
                    for j in path:
                        p = core.pairs[j]
                        s = beta if slot_of[j] == alpha else alpha
                        at[p.a][s] = at[p.b][s] = j
                        count[slot_of[j]] -= 1
                        count[s] += 1
                        slot_of[j] = s
                    improved = True
                    break
    return sorted(slot_of.items())
