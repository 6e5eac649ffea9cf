"""A purchase diagnostic's report, from the spend of its completed imports.

Inputs (the service layer reads them; this module only computes):

- the spend, summed per (supplier SIRET, category, year): :class:`SpendCell`;
- the ESS match of each SIRET (:class:`EssMatch`): an organisation of membership's projection
  whose SIRET is the supplier's (``siret``: the same establishment), or, failing that, one whose
  SIREN — the first 9 digits — is the supplier's (``siren``: another establishment of the same
  legal entity). ESS status belongs to the legal entity, so both count as ESS spend; the report
  shows how much came from each kind of match;
- the supplier profiles (:class:`SupplierProfile`) and the buyer's département, for the
  potential: a profile is *eligible* for a category when it is active, works in one of the
  category's sectors (:func:`~services.procurement.domain.spend_categories.sectors_of`) and
  serves the buyer's département (listed in ``serves.departements``, or its base is there).

What it says:

- totals: spend, ESS spend and share, lines, distinct suppliers and ESS suppliers, years;
- the ESS share per year and per category (amounts and percentages);
- the top ESS suppliers (per organisation: several SIRETs of one entity add up);
- per category, its potential and the recommendation of
  :func:`~services.procurement.domain.reservation.recommend`: eligible suppliers, their average
  turnover (``annual_budget_cents`` of their organisations, where known), the category's
  non-ESS spend, and its *yearly* spend (total ÷ the number of years the diagnostic covers: a
  contract is compared to a supplier's yearly turnover). Categories are ranked by potential:
  those with eligible suppliers first, then by non-ESS spend.

Percentages are rounded to 2 decimals for display; amounts stay exact integers of cents.
Pure: no I/O, no clock.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from contracts.procurement.vocabulary import Sector, SupplierKind
from services.procurement.domain.reservation import RecommendationKind, recommend
from services.procurement.domain.spend_categories import sectors_of

__all__ = ["SpendCell", "EssMatch", "SupplierProfile", "DiagnosticReport", "build_report", "share_percent",
           "INCLUSIVE_KINDS", "TOP_SUPPLIERS"]

TOP_SUPPLIERS = 10
MAX_CATEGORIES = 300  # rows of the breakdown and of the potential (the largest categories; the report says so)
INCLUSIVE_KINDS = frozenset({SupplierKind.EI, SupplierKind.AI, SupplierKind.ACI, SupplierKind.ETTI, SupplierKind.EITI,
                             SupplierKind.GEIQ, SupplierKind.EA, SupplierKind.ESAT})
"""Insertion (SIAE, GEIQ) and disability (EA, ESAT) kinds: the suppliers reserved contracts are for."""


@dataclass(frozen=True)
class SpendCell:
    siret: str
    category: str  # the label as first seen in the files
    category_key: str  # what spellings of one category share
    year: int
    amount_cents: int
    lines: int


@dataclass(frozen=True)
class EssMatch:
    organisation_id: str
    name: str
    match: str  # "siret" (same establishment) or "siren" (same legal entity)
    kinds: tuple[str, ...] = ()  # of its supplier profile, when it has one


@dataclass(frozen=True)
class SupplierProfile:
    supplier_id: str
    organisation_id: str
    sectors: frozenset[str]
    kinds: tuple[str, ...]
    base_departement: str | None
    departements_served: frozenset[str]
    annual_budget_cents: int | None  # of its organisation, when known
    active: bool = True

    def serves(self, departement: str | None) -> bool:
        return departement is not None and (departement in self.departements_served
                                            or self.base_departement == departement)


# -- the report, as stored and served -----------------------------------------------------------------
class Totals(BaseModel):
    total_spend_cents: int
    ess_spend_cents: int
    ess_share_percent: float = Field(description="ESS spend ÷ spend, in percent (2 decimals).")
    siret_matched_spend_cents: int = Field(description="ESS spend whose SIRET is an ESS organisation's.")
    siren_matched_spend_cents: int = Field(description="ESS spend of another establishment (same SIREN) of an ESS "
                                                       "organisation.")
    inclusive_spend_cents: int = Field(description="Spend with suppliers of an insertion or disability kind (SIAE, "
                                                   "GEIQ, EA, ESAT), as their supplier profiles say.")
    lines: int
    suppliers: int = Field(description="Distinct supplier SIRETs.")
    ess_suppliers: int = Field(description="Distinct supplier SIRETs matched to an ESS organisation.")
    categories: int
    years: list[int]


class YearShare(BaseModel):
    year: int
    total_spend_cents: int
    ess_spend_cents: int
    ess_share_percent: float
    suppliers: int
    ess_suppliers: int


class CategoryShare(BaseModel):
    category: str
    sectors: list[Sector]
    total_spend_cents: int
    ess_spend_cents: int
    ess_share_percent: float
    suppliers: int
    ess_suppliers: int


class TopSupplier(BaseModel):
    organisation_id: str
    name: str
    sirets: list[str]
    match: str = Field(description="`siret` when one of its SIRETs is the organisation's, else `siren`.")
    kinds: list[str]
    spend_cents: int
    share_of_ess_percent: float


class RecommendationView(BaseModel):
    kind: RecommendationKind
    articles: list[str]
    why: str


class CategoryPotential(BaseModel):
    category: str
    sectors: list[Sector]
    eligible_suppliers: int = Field(description="Active supplier profiles of the category's sectors serving the "
                                                "buyer's département.")
    eligible_supplier_ids: list[str] = Field(description="The first 50 of them.")
    average_turnover_cents: int | None = Field(description="Average yearly budget of their organisations, where "
                                                           "known.")
    total_spend_cents: int
    yearly_spend_cents: int = Field(description="Total ÷ the years the diagnostic covers.")
    non_ess_spend_cents: int
    economic_dependency_percent: float | None
    recommendation: RecommendationView


class DiagnosticReport(BaseModel):
    """What a diagnostic found, from its completed imports."""

    diagnostic_id: str
    buyer_id: str
    buyer_departement: str | None
    import_ids: list[str] = Field(description="The completed imports the report counts.")
    totals: Totals
    by_year: list[YearShare]
    by_category: list[CategoryShare] = Field(description="Largest spend first (at most 300 categories).")
    top_ess_suppliers: list[TopSupplier]
    potential: list[CategoryPotential] = Field(description="Most potential first: categories with eligible "
                                                           "suppliers, by non-ESS spend.")
    notes: list[str]


def share_percent(part: int, whole: int) -> float:
    return round(part * 100 / whole, 2) if whole else 0.0


@dataclass
class _Acc:
    total: int = 0
    ess: int = 0
    suppliers: set[str] = field(default_factory=set)
    ess_suppliers: set[str] = field(default_factory=set)

    def add(self, siret: str, amount: int, is_ess: bool) -> None:
        self.total += amount
        self.suppliers.add(siret)
        if is_ess:
            self.ess += amount
            self.ess_suppliers.add(siret)


NOTES = [
    "ESS organisations are those the chamber's membership register knows (members or not). ESS spend counts "
    "suppliers whose SIRET is an ESS organisation's (same establishment) and those sharing an ESS organisation's "
    "SIREN (another establishment of the same legal entity).",
    "Categories are mapped to sectors by keywords in their names; a category no keyword matches has no eligible "
    "supplier and gets a social award criterion by default.",
    "Economic dependency = the category's yearly spend ÷ the eligible suppliers' average yearly budget.",
]


def build_report(diagnostic_id: str, buyer_id: str, buyer_departement: str | None, import_ids: Iterable[str],
                 cells: Iterable[SpendCell], ess: dict[str, EssMatch],
                 suppliers: Iterable[SupplierProfile]) -> DiagnosticReport:
    """The report of the spend ``cells`` (see the module's docstring)."""
    overall = _Acc()
    by_year: dict[int, _Acc] = defaultdict(_Acc)
    by_category: dict[str, _Acc] = defaultdict(_Acc)
    labels: dict[str, str] = {}
    per_org: dict[str, dict] = {}
    lines = siret_spend = siren_spend = inclusive = 0
    for cell in cells:
        match = ess.get(cell.siret)
        is_ess = match is not None
        overall.add(cell.siret, cell.amount_cents, is_ess)
        by_year[cell.year].add(cell.siret, cell.amount_cents, is_ess)
        by_category[cell.category_key].add(cell.siret, cell.amount_cents, is_ess)
        labels.setdefault(cell.category_key, cell.category)
        lines += cell.lines
        if match is None:
            continue
        if match.match == "siret":
            siret_spend += cell.amount_cents
        else:
            siren_spend += cell.amount_cents
        if INCLUSIVE_KINDS & set(match.kinds):
            inclusive += cell.amount_cents
        org = per_org.setdefault(match.organisation_id, {"name": match.name, "sirets": set(), "kinds": match.kinds,
                                                         "matches": set(), "spend": 0})
        org["sirets"].add(cell.siret)
        org["matches"].add(match.match)
        org["spend"] += cell.amount_cents
    years = sorted(by_year)
    totals = Totals(total_spend_cents=overall.total, ess_spend_cents=overall.ess,
                    ess_share_percent=share_percent(overall.ess, overall.total),
                    siret_matched_spend_cents=siret_spend, siren_matched_spend_cents=siren_spend,
                    inclusive_spend_cents=inclusive, lines=lines, suppliers=len(overall.suppliers),
                    ess_suppliers=len(overall.ess_suppliers), categories=len(by_category), years=years)
    year_rows = [YearShare(year=y, total_spend_cents=a.total, ess_spend_cents=a.ess,
                           ess_share_percent=share_percent(a.ess, a.total), suppliers=len(a.suppliers),
                           ess_suppliers=len(a.ess_suppliers)) for y, a in sorted(by_year.items())]
    largest = sorted(by_category, key=lambda k: (-by_category[k].total, labels[k]))[:MAX_CATEGORIES]
    sectors = {key: sectors_of(labels[key]) for key in largest}
    category_rows = [CategoryShare(category=labels[k], sectors=list(sectors[k]), total_spend_cents=a.total,
                                   ess_spend_cents=a.ess, ess_share_percent=share_percent(a.ess, a.total),
                                   suppliers=len(a.suppliers), ess_suppliers=len(a.ess_suppliers))
                     for k, a in ((k, by_category[k]) for k in largest)]
    top = sorted(per_org.items(), key=lambda item: (-item[1]["spend"], item[0]))[:TOP_SUPPLIERS]
    top_rows = [TopSupplier(organisation_id=org_id, name=o["name"], sirets=sorted(o["sirets"]),
                            match="siret" if "siret" in o["matches"] else "siren", kinds=list(o["kinds"]),
                            spend_cents=o["spend"], share_of_ess_percent=share_percent(o["spend"], overall.ess))
                for org_id, o in top]
    profiles = [p for p in suppliers if p.active and p.serves(buyer_departement)]
    eligible_for: dict[tuple[Sector, ...], list[SupplierProfile]] = {}
    for key in largest:
        if sectors[key] not in eligible_for:
            wanted = {s.value for s in sectors[key]}
            eligible_for[sectors[key]] = sorted((p for p in profiles if p.sectors & wanted),
                                                key=lambda p: p.supplier_id)
    potential = [_potential(labels[k], sectors[k], by_category[k], len(years), eligible_for[sectors[k]])
                 for k in largest]
    potential.sort(key=lambda p: (p.eligible_suppliers == 0, -p.non_ess_spend_cents, p.category))
    notes = list(NOTES)
    if len(by_category) > MAX_CATEGORIES:
        notes.append(f"{len(by_category)} categories: the breakdown and the potential show the {MAX_CATEGORIES} with "
                     f"the largest spend (the totals count them all).")
    if buyer_departement is None:
        notes.append("The buyer has no département: no supplier can be counted as serving its territory.")
    return DiagnosticReport(diagnostic_id=diagnostic_id, buyer_id=buyer_id, buyer_departement=buyer_departement,
                            import_ids=sorted(import_ids), totals=totals, by_year=year_rows, by_category=category_rows,
                            top_ess_suppliers=top_rows, potential=potential, notes=notes)


def _potential(label: str, sectors: tuple[Sector, ...], acc: _Acc, years: int,
               eligible: list[SupplierProfile]) -> CategoryPotential:
    budgets = [p.annual_budget_cents for p in eligible if p.annual_budget_cents]
    average = sum(budgets) // len(budgets) if budgets else None
    yearly = acc.total // max(1, years)
    advice = recommend(len(eligible), yearly, average)
    return CategoryPotential(
        category=label, sectors=list(sectors), eligible_suppliers=len(eligible),
        eligible_supplier_ids=[p.supplier_id for p in eligible[:50]], average_turnover_cents=average,
        total_spend_cents=acc.total, yearly_spend_cents=yearly, non_ess_spend_cents=acc.total - acc.ess,
        economic_dependency_percent=(round(advice.economic_dependency_percent, 2)
                                     if advice.economic_dependency_percent is not None else None),
        recommendation=RecommendationView(kind=advice.kind, articles=list(advice.articles), why=advice.why))
