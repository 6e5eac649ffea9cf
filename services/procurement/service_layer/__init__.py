"""The procurement service's commands, grouped as the bootstrap builds them (``platform.commands``)."""
from __future__ import annotations

from dataclasses import dataclass

from services.procurement.service_layer.needs import NeedsService


@dataclass(frozen=True)
class ProcurementCommands:
    """Every command handler of the procurement service."""

    needs: NeedsService  # buyers' needs, dispatch, funnels, questions, reminders, impact surveys, meetings
