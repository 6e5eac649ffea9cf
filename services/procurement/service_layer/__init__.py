"""The procurement service's commands, grouped as the bootstrap builds them (``platform.commands``)."""
from __future__ import annotations

from dataclasses import dataclass

from services.procurement.service_layer.groupings import GroupingsService
from services.procurement.service_layer.suppliers import SuppliersService


@dataclass(frozen=True)
class ProcurementCommands:
    """Every command handler of the procurement service."""

    suppliers: SuppliersService  # supplier profiles and the sourcing search
    groupings: GroupingsService  # groupings of suppliers answering a need together
