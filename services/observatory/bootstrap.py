"""The observatory service ("Observatoire régional de l'ESS", ORESS), declared once: everything that
starts it reads this.

The activity report of any year, as of any date, computed from the other services' events (a
compact ledger kept by a consumer: :mod:`services.observatory.adapters.ledger`), never from their
APIs; figures of activity outside the platform recorded by staff with their source; the strategic
plan's objectives with the history of their status.
"""
from __future__ import annotations

from runtime.consumer import Consumer
from runtime.members import membership_view
from runtime.service import Job, ServiceDefinition
from services.observatory.adapters.repository import ensure_indexes


def _commands(platform):
    from services.observatory.service_layer import ObservatoryCommands
    from services.observatory.service_layer.directory import DirectoryService
    from services.observatory.service_layer.records import RecordsService

    return ObservatoryCommands(records=RecordsService(platform.db),
                               directory=DirectoryService(platform.db))


def _routers():
    from services.observatory.entrypoints.api import ROUTERS
    from services.observatory.entrypoints.directory_api import ROUTERS as DIRECTORY

    return (*ROUTERS, *DIRECTORY)


def _consumers() -> list[Consumer]:
    from services.observatory.adapters.directory import directory_consumer
    from services.observatory.adapters.ledger import ledger_consumers

    return [*ledger_consumers(),  # one group per source service: membership, events, procurement
            membership_view("observatory-members"),  # organisations' profiles, member standing with history
            directory_consumer()]  # procurement's supplier profiles, for the directory


async def _ledger_memory(platform) -> None:
    from services.observatory.adapters.ledger_memory import MEMORY

    await MEMORY.fresh(platform.db)  # loads the ledger's rows once the consumers caught up, then tops them up


def _projections():
    from services.observatory.projections import projections

    return projections()


DESCRIPTION = """
The regional observatory of the ESS (ORESS): the chamber's activity report for any year, **as of
any date**, computed from the platform's own events (membership, events, procurement); figures of activity
outside the platform recorded by staff with their source; the strategic plan's objectives and
their status. Every figure says where it comes from (`source`: the events it counted, or the
recorded fact).

Other services are known from their events only. Every state change publishes its event
(CloudEvents over Kafka; see `/asyncapi`). Authenticate with `Authorization: Bearer <token>`.
Errors are RFC 9457 problem details.
"""

SERVICE = ServiceDefinition(
    name="observatory",
    port=8003,
    title="CRESS — observatory",
    description=DESCRIPTION,
    contracts="contracts.observatory",
    commands=_commands,
    routers=_routers,
    indexes=ensure_indexes,
    consumers=_consumers,
    jobs=[Job("ledger-memory", 2.0, _ledger_memory, warm_up=True)],
    projections=_projections,
    openapi_tags=[
        {"name": "activity report", "description": "The activity report per team (pôle), for any year, as of any "
                                                   "date, each figure with its source"},
        {"name": "recorded facts", "description": "Figures of activity outside the platform, recorded with their "
                                                  "source; corrected or withdrawn with history"},
        {"name": "territories", "description": "Territorial diagnostics (commune, EPCI, EPT, département) and one "
                                               "timeline per organisation, as of any date"},
        {"name": "strategic objectives", "description": "The strategic plan's objectives and their status, with "
                                                        "history"},
        {"name": "directory", "description": "The directory of the region's ESS structures (membership, procurement "
                                             "suppliers, CSV imports), its counts and map, moderated changes"},
    ],
)
