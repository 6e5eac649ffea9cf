"""The webhooks service's commands and workers, grouped as the bootstrap builds them (``platform.commands``)."""
from __future__ import annotations

from dataclasses import dataclass

from services.webhooks.service_layer.delivery import Deliverer
from services.webhooks.service_layer.endpoints import EndpointsService
from services.webhooks.settings import WebhooksSettings


@dataclass(frozen=True)
class WebhooksCommands:
    """Every command handler of the webhooks service, its delivery worker and its settings."""

    endpoints: EndpointsService
    deliverer: Deliverer
    settings: WebhooksSettings
