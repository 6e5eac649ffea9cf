"""The events service's commands, grouped as the bootstrap builds them (``platform.commands``)."""
from __future__ import annotations

from dataclasses import dataclass

from services.events.service_layer.conventions import ConventionsService
from services.events.service_layer.handlers import EventsService
from services.events.service_layer.surveys import SurveysService


@dataclass(frozen=True)
class EventsCommands:
    """Every command handler of the events service."""

    events: EventsService  # catalogue, registrations, waiting list, check-in
    surveys: SurveysService  # surveys: invitations, tokens, answers, reminders, closing
    conventions: ConventionsService  # business conventions: participants, requests, scheduling, agendas, meetings
