"""Which social consideration a purchase can carry: reserve the whole contract, reserve a lot,
write a social clause, or add a social award criterion — from how many eligible suppliers there
are and how dependent on the contract they would be.

The rule is le marché de l'inclusion's "inclusive potential" analysis (ANCHORS.md section 3),
as the business-development team applies it:

==========================================================  ===================================
eligible suppliers                                          recommendation
==========================================================  ===================================
more than 30, and economic dependency below 30 %            reserve the whole contract
                                                            (L2113-12 / L2113-13)
more than 30 with a dependency of 30 % or more (or          a reserved lot (L2113-12 / L2113-13)
unknown), or more than 10
1 or more                                                   a social clause (L2112-2)
none                                                        a social award criterion (R2152-7)
==========================================================  ===================================

*Economic dependency* = the contract's amount ÷ the average yearly turnover of the eligible
suppliers: what share of a typical supplier's business the contract would be. Above 30 % a
supplier winning it would depend on one buyer, so the whole contract is not reserved even with
many suppliers; a lot is. The comparison is exact (integer arithmetic, no rounding): 29.99 % is
below 30 %, 30 % is not.

One difference with le marché's code, on purpose: it recommends a social clause from *two*
eligible suppliers (``> 1``); the team's rule (issue 7) starts at one (``≥ 1``): a social clause
does not exclude anyone, one local supplier able to carry it is enough.

Callers: the purchase diagnostic (per spend category: ``spend_cents`` is the category's yearly
spend) and the reserved-contract assistant of a need (``spend_cents`` is the need's amount).
Pure: no I/O, no clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contracts.procurement.vocabulary import ReservedArticle
from runtime.errors import InvalidInput

__all__ = ["RecommendationKind", "Recommendation", "recommend", "economic_dependency_percent",
           "WHOLE_CONTRACT_MIN_SUPPLIERS", "RESERVED_LOT_MIN_SUPPLIERS", "SOCIAL_CLAUSE_MIN_SUPPLIERS",
           "MAX_DEPENDENCY_PERCENT"]

WHOLE_CONTRACT_MIN_SUPPLIERS = 31  # "more than 30"
RESERVED_LOT_MIN_SUPPLIERS = 11  # "more than 10"
SOCIAL_CLAUSE_MIN_SUPPLIERS = 1  # "1 or more"
MAX_DEPENDENCY_PERCENT = 30  # the whole contract only below this dependency


class RecommendationKind(StrEnum):
    """The social consideration recommended for a purchase (DECP's ``considerationsSociales``)."""

    RESERVED_CONTRACT = "reserved_contract"
    """Marché réservé: the whole contract reserved to SIAE, EA and ESAT (and equivalents)."""
    RESERVED_LOT = "reserved_lot"
    """Un lot réservé: one lot of the contract reserved to them."""
    SOCIAL_CLAUSE = "social_clause"
    """Clause sociale d'exécution: the holder commits to insertion hours."""
    SOCIAL_AWARD_CRITERION = "social_award_criterion"
    """Critère social d'attribution: social performance weighs in the choice of the offer."""


@dataclass(frozen=True)
class Recommendation:
    """What to do, under which article(s) of the Code de la commande publique, and why (a sentence
    the report shows as it is)."""

    kind: RecommendationKind
    articles: tuple[str, ...]
    why: str
    economic_dependency_percent: float | None = None

    @property
    def reserved_articles(self) -> tuple[ReservedArticle, ...]:
        """The articles as :class:`ReservedArticle` codes (reserved contract or lot only)."""
        return tuple(ReservedArticle(a.lower().replace("-", "_")) for a in self.articles
                     if a.lower().replace("-", "_") in ReservedArticle._value2member_map_)


def _whole(value: object, field: str, *, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(field, f"{field} must be a whole number, 0 or more (got {value!r})")
    return value


def economic_dependency_percent(spend_cents: int, average_turnover_cents: int | None) -> float | None:
    """``spend ÷ average turnover`` in percent (None when the turnover is unknown or zero)."""
    if not average_turnover_cents:
        return None
    return spend_cents * 100 / average_turnover_cents


def recommend(eligible_suppliers: int, spend_cents: int, average_turnover_cents: int | None) -> Recommendation:
    """The recommendation for a purchase of ``spend_cents`` (a yearly amount) with
    ``eligible_suppliers`` suppliers able to answer in its territory, whose average yearly
    turnover is ``average_turnover_cents`` (None or 0: unknown).

    Raises :class:`InvalidInput` naming the argument for a negative or non-integer value.
    """
    eligible = _whole(eligible_suppliers, "eligible_suppliers")
    spend = _whole(spend_cents, "spend_cents")
    turnover = _whole(average_turnover_cents, "average_turnover_cents", allow_none=True) or None
    dependency = economic_dependency_percent(spend, turnover)
    shown = f"{dependency:.1f} %" if dependency is not None else "unknown"
    plural = "s" if eligible != 1 else ""
    if eligible >= WHOLE_CONTRACT_MIN_SUPPLIERS:
        # exact: spend / turnover < 30 % ⇔ 100 × spend < 30 × turnover
        if turnover is not None and 100 * spend < MAX_DEPENDENCY_PERCENT * turnover:
            return Recommendation(
                RecommendationKind.RESERVED_CONTRACT, ("L2113-12", "L2113-13"),
                f"{eligible} eligible suppliers (more than 30) and an economic dependency of {shown} (below "
                f"{MAX_DEPENDENCY_PERCENT} %): local supply is large enough to reserve the whole contract.",
                dependency)
        reason = ("their turnover is unknown" if turnover is None
                  else f"the economic dependency would be {shown} ({MAX_DEPENDENCY_PERCENT} % or more)")
        return Recommendation(
            RecommendationKind.RESERVED_LOT, ("L2113-12", "L2113-13"),
            f"{eligible} eligible suppliers (more than 30), but {reason}: reserve a lot rather than the whole "
            f"contract.", dependency)
    if eligible >= RESERVED_LOT_MIN_SUPPLIERS:
        return Recommendation(
            RecommendationKind.RESERVED_LOT, ("L2113-12", "L2113-13"),
            f"{eligible} eligible suppliers (more than 10, at most 30): enough to reserve a lot.", dependency)
    if eligible >= SOCIAL_CLAUSE_MIN_SUPPLIERS:
        return Recommendation(
            RecommendationKind.SOCIAL_CLAUSE, ("L2112-2",),
            f"{eligible} eligible supplier{plural} (10 or fewer): too few to reserve, enough to carry a social "
            f"clause in the contract.", dependency)
    return Recommendation(
        RecommendationKind.SOCIAL_AWARD_CRITERION, ("R2152-7",),
        "No eligible supplier in the territory: add a social award criterion so that social performance "
        "still weighs in the choice.", dependency)
