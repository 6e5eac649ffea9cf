"""Greedy fallback: pairs by weight, each in the slot that keeps afternoons compact, then one
round of single moves that frees a slot for a waiting pair. Also the CP-SAT hint."""
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
    # neighbours along each participant's available slots, for compactness
    nb: list[dict[int, tuple[int, ...]]] = []
    for q in range(n):
        seq = core.seq[q]
        nb.append({s: tuple(seq[j] for j in (k - 1, k + 1) if 0 <= j < len(seq)) for k, s in enumerate(seq)})

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

    def score(p, s: int) -> tuple[int, int]:
        adj = sum(1 for q in (p.a, p.b) for t in nb[q].get(s, ()) if at[q][t] != -1)
        return (adj, tables[s])

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
        if left[p.a] <= 0 or left[p.b] <= 0:
            waiting.append(i)
            continue
        cands = [s for s in p.allowed if tables[s] > 0 and at[p.a][s] == -1 and at[p.b][s] == -1]
        if not cands:
            waiting.append(i)
            continue
        place(i, max(cands, key=lambda s: (score(p, s), -s)))
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
