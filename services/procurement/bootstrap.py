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
    from services.procurement.domain.quotes import rate_bp
    from services.procurement.service_layer import ProcurementCommands
    from services.procurement.service_layer.buyers import BuyersService
    from services.procurement.service_layer.diagnostics import DiagnosticsService
    from services.procurement.service_layer.need_tokens import NeedTokens
    from services.procurement.service_layer.needs import NeedsService
    from services.procurement.service_layer.quotes import QuotesService
    from services.procurement.service_layer.groupings import GroupingsService
    from services.procurement.service_layer.suppliers import SuppliersService

    return ProcurementCommands(
        buyers=BuyersService(platform.db),
        quotes=QuotesService(platform.db, vat_rate_bp=rate_bp(SETTINGS.vat_percent, "PROCUREMENT_VAT_PERCENT"),
                             validity_days=SETTINGS.quote_validity_days),
        diagnostics=DiagnosticsService(platform.db, max_lines=SETTINGS.diagnostic_max_lines,
                                       chunk_lines=SETTINGS.diagnostic_chunk_lines,
                                       stale_after=SETTINGS.diagnostic_stale_import_seconds),
        needs=NeedsService(platform.db, NeedTokens(platform.settings.jwt_secret), SETTINGS),
        suppliers=SuppliersService(platform.db),
        groupings=GroupingsService(platform.db),
    )


def _routers():
    from services.procurement.entrypoints.buyers import ROUTERS as BUYER_ROUTERS
    from services.procurement.entrypoints.diagnostics import ROUTERS as DIAGNOSTIC_ROUTERS
    from services.procurement.entrypoints.needs import ROUTERS as NEED_ROUTERS
    from services.procurement.entrypoints.organisations import ROUTERS as ORGANISATION_ROUTERS
    from services.procurement.entrypoints.quotes import ROUTERS as QUOTE_ROUTERS
    from services.procurement.entrypoints.suppliers import ROUTERS as SUPPLIER_ROUTERS

    return (*ORGANISATION_ROUTERS, *BUYER_ROUTERS, *NEED_ROUTERS, *DIAGNOSTIC_ROUTERS, *QUOTE_ROUTERS,
            *SUPPLIER_ROUTERS)


def _consumers() -> list[Consumer]:
    from services.procurement.service_layer.suppliers import consumers as supplier_consumers

    return [
        # ESS organisations' profiles; member standing (with its history) is applied by supplier-standing,
        # in the same transaction as the search's change marks
        membership_view("membership-view", standing=False),
        convention_meetings_view("need-convention-meetings"),  # business meetings held at conventions (events)
        *supplier_consumers(),  # supplier-identity, supplier-standing: identity copies, the search's standing
    ]


async def _expire_quotes(platform) -> int:
    return await platform.commands.quotes.expire_due()


async def _reap_stale_imports(platform) -> int:
    return await platform.commands.diagnostics.reap_stale_imports()


async def _run_dispatches(platform) -> int:
    # waits up to the sweep period, or until a dispatch starts in this process (then runs it at once)
    return await platform.commands.needs.run_dispatches(wait=SETTINGS.need_dispatch_sweep_seconds)


async def _send_need_reminders(platform) -> int:
    return await platform.commands.needs.send_reminders()


async def _open_impact_surveys(platform) -> int:
    return await platform.commands.needs.open_impact_surveys()


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
    jobs=[Job("expire-quotes", SETTINGS.quote_sweep_seconds, _expire_quotes),
          Job("diagnostic-imports-reaper", SETTINGS.diagnostic_reaper_seconds, _reap_stale_imports),
          Job("need-dispatches", 0.02, _run_dispatches),
          Job("need-reminders", SETTINGS.need_reminder_sweep_seconds, _send_need_reminders),
          Job("need-impact-surveys", SETTINGS.need_impact_sweep_seconds, _open_impact_surveys),
          Job("supplier-search", 2.0, _supplier_search, warm_up=True)],  # loads the search index, keeps it warm
    openapi_tags=[
        {"name": "ESS organisations", "description": "ESS organisations and their member standing (on any date), "
                                                     "as membership's events gave them"},
        {"name": "suppliers", "description": "Supplier profiles of ESS organisations (identity from membership's "
                                             "events) and the sourcing search with facets and relevance"},
        {"name": "groupings", "description": "Suppliers forming a group (a lead and members) to answer one need "
                                             "together"},
        {"name": "buyers", "description": "Public and private buyers (local authorities, other public buyers, "
                                          "private companies); the activity report's figures"},
        {"name": "buyer engagements", "description": "PAMS (Measure → Train → Act) and OSER engagements, phase by "
                                                     "phase"},
        {"name": "buyer conventions", "description": "Conventions signed with local authorities, in force or not"},
        {"name": "interventions", "description": "The team's interventions with buyers: logged, corrected, "
                                                 "withdrawn"},
        {"name": "quotes", "description": "Prom'ESS Europe's paid offers by quote: draft → sent → accepted / "
                                          "declined / expired, with the 20 % member discount fixed when sent; "
                                          "printable quotes"},
        {"name": "individual diagnostics", "description": "Prom'ESS Europe's free individual diagnostics"},
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
        {"name": "purchase diagnostics", "description": "A buyer's spend files (CSV, XLSX) imported and matched "
                                                        "against ESS organisations: ESS share per year and category, "
                                                        "potential per category with reserved-contract "
                                                        "recommendations, as JSON, a page with charts or a "
                                                        "spreadsheet"},
    ],
)
