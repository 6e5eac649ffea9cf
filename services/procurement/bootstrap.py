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
from runtime.service import Job, ServiceDefinition
from services.procurement.adapters.repository import ensure_indexes
from services.procurement.settings import ProcurementSettings

SETTINGS = ProcurementSettings()


def _commands(platform):
    from services.procurement.service_layer import ProcurementCommands
    from services.procurement.service_layer.groupings import GroupingsService
    from services.procurement.service_layer.suppliers import SuppliersService

    return ProcurementCommands(suppliers=SuppliersService(platform.db), groupings=GroupingsService(platform.db))


def _routers():
    from services.procurement.entrypoints.organisations import ROUTERS as ORGANISATION_ROUTERS
    from services.procurement.entrypoints.suppliers import ROUTERS as SUPPLIER_ROUTERS

    return (*ORGANISATION_ROUTERS, *SUPPLIER_ROUTERS)


def _consumers() -> list[Consumer]:
    from services.procurement.service_layer.suppliers import consumers as supplier_consumers

    return [
        membership_view("membership-view"),  # ESS organisations' profiles, member standing with its history
        *supplier_consumers(),  # supplier-identity, supplier-standing: identity copies, the search's standing
    ]


async def _supplier_search(platform) -> None:
    await platform.commands.suppliers.search_index.fresh()


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
    jobs=[Job("supplier-search", 2.0, _supplier_search)],  # loads the search index, keeps it warm
    openapi_tags=[
        {"name": "ESS organisations", "description": "ESS organisations and their member standing (on any date), "
                                                     "as membership's events gave them"},
        {"name": "suppliers", "description": "Supplier profiles of ESS organisations (identity from membership's "
                                             "events) and the sourcing search with facets and relevance"},
        {"name": "groupings", "description": "Suppliers forming a group (a lead and members) to answer one need "
                                             "together"},
    ],
)
