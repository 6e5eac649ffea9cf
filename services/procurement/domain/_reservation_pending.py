"""TEMPORARY — the lead deletes this module at merge, in favour of
``services/procurement/domain/reservation.py`` (written by the diagnostics helper), whose signature
this copies:

    recommend(eligible_suppliers: int, spend_cents: int, average_turnover_cents: int | None)
        -> Recommendation(kind, articles, why)

Only :mod:`services.procurement.service_layer.needs` imports it (one line to switch).

Le marché de l'inclusion's rule ("inclusive potential", PR #2013): more than 30 eligible suppliers
and an economic dependency under 30 % → reserve the whole contract (L2113-12/13); more than 10 →
a reserved lot; at least 1 → a social clause (L2112-2); else a social award criterion. The
dependency is the amount ÷ the suppliers' average turnover (unknown turnover: not assessed).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RecommendationKind(StrEnum):
    RESERVED_CONTRACT = "reserved_contract"
    RESERVED_LOT = "reserved_lot"
    SOCIAL_CLAUSE = "social_clause"
    SOCIAL_AWARD_CRITERION = "social_award_criterion"


@dataclass(frozen=True)
class Recommendation:
    kind: RecommendationKind
    articles: tuple[str, ...]
    why: str


def recommend(eligible_suppliers: int, spend_cents: int, average_turnover_cents: int | None) -> Recommendation:
    dependency = (spend_cents / average_turnover_cents) if average_turnover_cents else None
    if eligible_suppliers > 30 and (dependency is None or dependency < 0.30):
        said = "not assessed" if dependency is None else f"{dependency:.0%}"
        return Recommendation(RecommendationKind.RESERVED_CONTRACT, ("L2113-12", "L2113-13"),
                              f"{eligible_suppliers} eligible suppliers (> 30) and an economic dependency of {said} "
                              f"(< 30 %): reserve the whole contract")
    if eligible_suppliers > 10:
        return Recommendation(RecommendationKind.RESERVED_LOT, ("L2113-12", "L2113-13"),
                              f"{eligible_suppliers} eligible suppliers (> 10): reserve a lot")
    if eligible_suppliers >= 1:
        return Recommendation(RecommendationKind.SOCIAL_CLAUSE, ("L2112-2",),
                              f"{eligible_suppliers} eligible supplier(s): too few to reserve, add a social clause")
    return Recommendation(RecommendationKind.SOCIAL_AWARD_CRITERION, ("L2152-7",),
                          "no eligible supplier: use a social award criterion")
