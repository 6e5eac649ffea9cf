"""The procurement service ("Développement d'affaires"), declared once: everything that starts it
reads this.

PAMS (public buyers), OSER (private companies) and Prom'ESS Europe: supplier profiles and
sourcing, buyers and their engagements, buyers' needs and their dispatch, purchase diagnostics
and quotes. Who is an ESS organisation and who is a member in good standing (on any date) is
learnt from membership's events (local projections, :mod:`runtime.members`), never from the
membership API.
"""
from __future__ import annotations

from runtime.consumer import Consumer
from runtime.members import membership_view
from runtime.service import ServiceDefinition
from services.procurement.adapters.repository import ensure_indexes
from services.procurement.settings import ProcurementSettings

SETTINGS = ProcurementSettings()


def _commands(platform):
    from services.procurement.service_layer import ProcurementCommands

    return ProcurementCommands()


def _routers():
    from services.procurement.entrypoints.organisations import ROUTERS as ORGANISATION_ROUTERS

    return (*ORGANISATION_ROUTERS,)


def _consumers() -> list[Consumer]:
    return [
        membership_view("membership-view"),  # ESS organisations' profiles, member standing with its history
    ]


DESCRIPTION = """
Business development ("Développement d'affaires") of the CRESS: PAMS for public buyers (Measure →
Train → Act), OSER for private companies, Prom'ESS Europe for ESS organisations seeking European
funds. Supplier profiles of ESS organisations and their search by sector, territory, kind and
label; buyers, engagements, conventions and interventions; buyers' needs from draft to award,
dispatched to matching suppliers with each supplier's funnel; purchase diagnostics of spend
files; quotes with the member discount.

Organisations and membership are known from membership's events only. Every state change
publishes its event (CloudEvents over Kafka; see `/asyncapi`). Authenticate with
`Authorization: Bearer <token>`. Errors are RFC 9457 problem details.
"""

SERVICE = ServiceDefinition(
    name="procurement",
    port=8004,
    title="CRESS — procurement",
    description=DESCRIPTION,
    contracts="contracts.procurement",
    commands=_commands,
    routers=_routers,
    indexes=ensure_indexes,
    consumers=_consumers,
    jobs=[],
    openapi_tags=[
        {"name": "ESS organisations", "description": "ESS organisations and their member standing (on any date), "
                                                     "as membership's events gave them"},
    ],
)
