"""The observatory service's commands, grouped as the bootstrap builds them (``platform.commands``)."""
from __future__ import annotations

from dataclasses import dataclass

from services.observatory.service_layer.directory import DirectoryService
from services.observatory.service_layer.records import RecordsService


@dataclass(frozen=True)
class ObservatoryCommands:
    """Every command handler of the observatory service."""

    records: RecordsService  # recorded facts, strategic objectives
    directory: DirectoryService | None = None  # the directory's imports and moderation
