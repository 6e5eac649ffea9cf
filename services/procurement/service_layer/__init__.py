"""The procurement service's commands, grouped as the bootstrap builds them (``platform.commands``)."""
from __future__ import annotations

from dataclasses import dataclass

from services.procurement.service_layer.buyers import BuyersService
from services.procurement.service_layer.quotes import QuotesService
from services.procurement.service_layer.diagnostics import DiagnosticsService
from services.procurement.service_layer.needs import NeedsService
from services.procurement.service_layer.groupings import GroupingsService
from services.procurement.service_layer.suppliers import SuppliersService


@dataclass(frozen=True)
class ProcurementCommands:
    """Every command handler of the procurement service."""

    buyers: BuyersService  # buyers, engagements, conventions, interventions
    quotes: QuotesService  # Prom'ESS Europe: quotes with the member discount, individual diagnostics
    diagnostics: DiagnosticsService  # purchase diagnostics: spend file imports, reports
    needs: NeedsService  # buyers' needs, dispatch, funnels, questions, reminders, impact surveys, meetings
    suppliers: SuppliersService  # supplier profiles and the sourcing search
    groupings: GroupingsService  # groupings of suppliers answering a need together
