"""The procurement service's commands, grouped as the bootstrap builds them (``platform.commands``)."""
from __future__ import annotations

from dataclasses import dataclass

from services.procurement.service_layer.buyers import BuyersService
from services.procurement.service_layer.quotes import QuotesService
from services.procurement.service_layer.diagnostics import DiagnosticsService
from services.procurement.service_layer.needs import NeedsService


@dataclass(frozen=True)
class ProcurementCommands:
    """Every command handler of the procurement service."""

    buyers: BuyersService  # buyers, engagements, conventions, interventions
    quotes: QuotesService  # Prom'ESS Europe: quotes with the member discount, individual diagnostics
    diagnostics: DiagnosticsService  # purchase diagnostics: spend file imports, reports
    needs: NeedsService  # buyers' needs, dispatch, funnels, questions, reminders, impact surveys, meetings
