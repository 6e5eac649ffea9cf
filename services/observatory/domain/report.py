"""The activity report's figures, computed from ledger rows as of a date — pure.

Membership ("Vie interne") for the year ``Y`` as of the date ``A``; with ``cut(Y) = min(31/12/Y, A)``:

- ``members_at_year_end``: organisations whose membership was in good standing (``active`` or
  ``grace_period``) at the end of ``cut(Y)``, from the status events (activated, grace period,
  lapsed, renewed, withdrawn) dated up to then, applied in (business date, event time) order;
- ``members_previous_year_end``: the same at ``cut(Y-1)``; ``members_growth_percent``: the change
  from one to the other, in percent (one decimal, half up; none when there were no members);
- ``new_members``, ``withdrawals``, ``lapses``, ``applications_submitted``: events whose business
  date lies in ``Y`` and is not after ``A``;
- ``dues_invoiced_cents`` / ``dues_collected_cents``: invoices and payments **of the dues of
  year Y** (their ``year``), issued / paid on or before ``A``;
- ``dues_from_new_members_cents`` and ``dues_from_new_members_share_percent``: of the dues of
  year ``Y`` invoiced, those invoiced to organisations that became members in ``Y``.

Each figure says where it comes from: the event types read and how many of those events it counted.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from contracts.membership import (ApplicationSubmitted, DuesInvoiced, DuesPaymentRecorded, MemberActivated,
                                  MembershipEnteredGracePeriod, MembershipLapsed, MembershipRenewed,
                                  MembershipWithdrawn, MemberStatus)
from services.observatory.domain.ledger import LedgerRow

GOOD = {MemberStatus.ACTIVE.value, MemberStatus.GRACE_PERIOD.value}
STATUS_EVENTS = (MemberActivated, MembershipEnteredGracePeriod, MembershipLapsed, MembershipRenewed,
                 MembershipWithdrawn)
_FIXED_STATUS = {MemberActivated.event_type: MemberStatus.ACTIVE.value,
                 MembershipEnteredGracePeriod.event_type: MemberStatus.GRACE_PERIOD.value,
                 MembershipLapsed.event_type: MemberStatus.LAPSED.value,
                 MembershipWithdrawn.event_type: MemberStatus.WITHDRAWN.value}

# Events of one command share their time (entering the grace period and lapsing on the same day):
# within one instant, they apply in the order the lifecycle gives them.
_PRECEDENCE = {MemberActivated.event_type: 0, MembershipEnteredGracePeriod.event_type: 1,
               MembershipLapsed.event_type: 2, MembershipRenewed.event_type: 3, MembershipWithdrawn.event_type: 4}


@dataclass(frozen=True, slots=True)
class Source:
    """Where a figure comes from: events of the platform (their types, how many were counted), or a
    recorded fact (its id and the source staff gave)."""

    kind: str  # "events" or "recorded"
    event_types: tuple[str, ...] = ()
    events: int = 0
    fact_id: str | None = None
    detail: str | None = None
    recorded_on: date | None = None


@dataclass(frozen=True, slots=True)
class Figure:
    indicator: str
    label: str
    value: int | float | None
    unit: str
    source: Source = field(default_factory=lambda: Source("events"))


def year_end(year: int, as_of: date) -> date:
    """The last day a year's figures count as of ``as_of``: 31 December, or ``as_of`` if earlier."""
    end = date(year, 12, 31)
    return as_of if as_of < end else end


def percent(part: int, whole: int) -> float | None:
    """``part / whole`` in percent, one decimal rounded half up; None when ``whole`` is 0."""
    if whole == 0:
        return None
    return float((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def members_on(rows: Iterable[LedgerRow], day: date) -> tuple[set[str], int]:
    """The organisations in good standing at the end of ``day``, and how many status events said so."""
    types = {cls.event_type for cls in STATUS_EVENTS}
    relevant = sorted((r for r in rows if r.type in types and r.on <= day),
                      key=lambda r: (r.on, r.at, _PRECEDENCE[r.type], r.id))
    status: dict[str, str] = {}
    for row in relevant:
        status[row.subject] = _FIXED_STATUS.get(row.type) or row.data.get("status", MemberStatus.ACTIVE.value)
    return {org for org, s in status.items() if s in GOOD}, len(relevant)


def _in_year(row: LedgerRow, year: int, as_of: date) -> bool:
    return row.on.year == year and row.on <= as_of


def membership_figures(rows: Iterable[LedgerRow], year: int, as_of: date) -> list[Figure]:
    """The membership team's figures of the activity report for ``year``, as of ``as_of``."""
    rows = list(rows)
    status_types = tuple(cls.event_type for cls in STATUS_EVENTS)
    end, previous_end = year_end(year, as_of), year_end(year - 1, as_of)
    members, n_now = members_on(rows, end)
    before, n_before = members_on(rows, previous_end)

    def counted(event: type, kind: str) -> tuple[list[LedgerRow], Source]:
        found = [r for r in rows if r.type == event.event_type and _in_year(r, year, as_of)]
        return found, Source("events", (event.event_type,), len(found), detail=kind)

    activated, activated_src = counted(MemberActivated, "adhésions ayant débuté dans l'année")
    withdrawn, withdrawn_src = counted(MembershipWithdrawn, "adhésions ayant pris fin dans l'année")
    lapsed, lapsed_src = counted(MembershipLapsed, "adhésions échues dans l'année")
    applied, applied_src = counted(ApplicationSubmitted, "demandes d'adhésion déposées dans l'année")
    newcomers = {r.subject for r in activated}

    invoices = [r for r in rows if r.type == DuesInvoiced.event_type and r.data.get("year") == year
                and r.on <= as_of]
    payments = [r for r in rows if r.type == DuesPaymentRecorded.event_type and r.data.get("year") == year
                and r.on <= as_of]
    invoiced = sum(r.data["amount_cents"] for r in invoices)
    collected = sum(r.data["amount_cents"] for r in payments)
    new_invoices = [r for r in invoices if r.subject in newcomers]
    from_new = sum(r.data["amount_cents"] for r in new_invoices)

    status_src = Source("events", status_types, n_now,
                        detail=f"statut d'adhésion à la fin de la journée du {end.isoformat()}")
    growth_src = Source("events", status_types, max(n_now, n_before),
                        detail=f"nombre d'adhérent·e·s au {end.isoformat()} comparé à celui du "
                               f"{previous_end.isoformat()}")
    return [
        Figure("members_at_year_end", "Adhérent·e·s en fin d'année", len(members), "adhérents", status_src),
        Figure("members_previous_year_end", "Adhérent·e·s en fin d'année précédente", len(before), "adhérents",
               Source("events", status_types, n_before,
                      detail=f"statut d'adhésion à la fin de la journée du {previous_end.isoformat()}")),
        Figure("members_growth_percent", "Évolution du nombre d'adhérent·e·s", percent(len(members) - len(before),
                                                                                       len(before)), "%",
               growth_src),
        Figure("new_members", "Nouvelles adhésions", len(activated), "adhérents", activated_src),
        Figure("withdrawals", "Départs (démissions, dissolutions, radiations)", len(withdrawn), "adhérents",
               withdrawn_src),
        Figure("lapses", "Adhésions échues (cotisation impayée)", len(lapsed), "adhérents", lapsed_src),
        Figure("applications_submitted", "Demandes d'adhésion", len(applied), "demandes", applied_src),
        Figure("dues_invoiced_cents", "Cotisations appelées", invoiced, "centimes",
               Source("events", (DuesInvoiced.event_type,), len(invoices),
                      detail=f"cotisations de l'année {year} appelées")),
        Figure("dues_collected_cents", "Cotisations encaissées", collected, "centimes",
               Source("events", (DuesPaymentRecorded.event_type,), len(payments),
                      detail=f"paiements des cotisations de l'année {year}")),
        Figure("dues_from_new_members_cents", "Cotisations des nouvelles adhésions", from_new, "centimes",
               Source("events", (DuesInvoiced.event_type, MemberActivated.event_type),
                      len(new_invoices) + len(activated),
                      detail=f"cotisations de l'année {year} appelées auprès des structures devenues adhérentes en "
                             f"{year}")),
        Figure("dues_from_new_members_share_percent", "Part des cotisations venant des nouvelles adhésions",
               percent(from_new, invoiced), "%",
               Source("events", (DuesInvoiced.event_type, MemberActivated.event_type),
                      len(invoices) + len(activated),
                      detail="cotisations des nouvelles adhésions rapportées à l'ensemble des cotisations appelées")),
    ]
