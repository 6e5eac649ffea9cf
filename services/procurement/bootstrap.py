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
from services.procurement.adapters.convention_meetings import convention_meetings_view
from services.procurement.adapters.repository import ensure_indexes
from services.procurement.settings import ProcurementSettings

SETTINGS = ProcurementSettings()


def _commands(platform):
    from services.procurement.service_layer import ProcurementCommands
    from services.procurement.service_layer.need_tokens import NeedTokens
    from services.procurement.service_layer.needs import NeedsService

    needs = NeedsService(platform.db, NeedTokens(platform.settings.jwt_secret), SETTINGS)
    return ProcurementCommands(needs=needs)


def _routers():
    from services.procurement.entrypoints.needs import ROUTERS as NEED_ROUTERS
    from services.procurement.entrypoints.organisations import ROUTERS as ORGANISATION_ROUTERS

    return (*ORGANISATION_ROUTERS, *NEED_ROUTERS)


def _consumers() -> list[Consumer]:
    return [
        membership_view("membership-view"),  # ESS organisations' profiles, member standing with its history
        convention_meetings_view("need-convention-meetings"),  # business meetings held at conventions (events)
    ]


async def _run_dispatches(platform) -> int:
    # waits up to the sweep period, or until a dispatch starts in this process (then runs it at once)
    return await platform.commands.needs.run_dispatches(wait=SETTINGS.need_dispatch_sweep_seconds)


async def _send_need_reminders(platform) -> int:
    return await platform.commands.needs.send_reminders()


async def _open_impact_surveys(platform) -> int:
    return await platform.commands.needs.open_impact_surveys()


DESCRIPTION = """
Business development ("Développement d'affaires") of the CRESS: PAMS for public buyers (Measure →
Train → Act), OSER for private companies, Prom'ESS Europe for ESS organisations seeking European
funds. Supplier profiles of ESS organisations and their search by sector, territory, kind and
label; buyers, engagements, conventions and interventions; buyers' needs from draft to award,
dispatched to matching suppliers with each supplier's funnel; purchase diagnostics of spend
files; quotes with the member discount.

Organisations and membership are known from membership's events only. Every state change
publishes its event (CloudEvents over Kafka; see `/asyncapi`). Authenticate with
`Authorization: Bearer <token>` (except `/need-links/{token}` and `/impact-answers/{token}`, where
the signed token in the path is the credential). The platform sends no e-mail: notifications,
reminders and surveys are events a notifier consumes. Errors are RFC 9457 problem details.
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
    jobs=[Job("need-dispatches", 0.02, _run_dispatches),
          Job("need-reminders", SETTINGS.need_reminder_sweep_seconds, _send_need_reminders),
          Job("need-impact-surveys", SETTINGS.need_impact_sweep_seconds, _open_impact_surveys)],
    openapi_tags=[
        {"name": "ESS organisations", "description": "ESS organisations and their member standing (on any date), "
                                                     "as membership's events gave them"},
        {"name": "needs", "description": "Buyers' needs from draft to award: submission, validation or sending "
                                         "back, closing, award or abandonment, each step logged; links to business "
                                         "meetings; the reserved-contract assistant; the year's figures. A buyer's "
                                         "app acts with staff:procurement on the buyer's behalf"},
        {"name": "need dispatch and funnel", "description": "Dispatch to the matching suppliers (background, in "
                                                            "batches, with a cap), each supplier's funnel, "
                                                            "questions and answers, impact surveys. Reminders and "
                                                            "surveys are events a notifier app consumes: the "
                                                            "platform sends no e-mail"},
        {"name": "need links (no login)", "description": "Suppliers and impact-survey respondents act through the "
                                                         "signed token of their link: no bearer token"},
    ],
)
