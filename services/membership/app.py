"""The membership service ("Vie interne"): organisations, applications, members and dues.

Wiring only (the service's bootstrap): settings → the shared runtime's app factory, with the
service's routers, its consumers (one line per subscription, in ``service_layer/projections``)
and its indexes. Run: ``uvicorn services.membership.app:app`` (``make run`` does it).
"""
from __future__ import annotations

from fastapi import FastAPI

from runtime.http import Platform, create_service_app
from runtime.settings import Settings
from services.membership.adapters.repository import ensure_indexes
from services.membership.entrypoints.api import ROUTERS
from services.membership.service_layer.handlers import MembershipService
from services.membership.service_layer.projections import yearly_statistics_consumer
from services.membership.settings import DuesSettings

DESCRIPTION = """
Membership ("Vie interne") of the CRESS: the ESS organisations the chamber knows, their
applications (submission → welcome meeting → statutes review for commercial companies →
board decision), the members and their yearly dues (fee scale, invoices, payments,
reminders, grace period, lapse, renewal, withdrawal), and the figures of the activity report.

Every state change publishes its event (CloudEvents over Kafka; see `/asyncapi`).
Authenticate with `Authorization: Bearer <token>` (`make token` prints a development one).
Errors are RFC 9457 problem details.
"""

TAGS = [
    {"name": "organisations", "description": "ESS organisations and their contacts"},
    {"name": "applications", "description": "The joining workflow"},
    {"name": "members", "description": "Members, good standing, dues invoices and payments"},
    {"name": "dues", "description": "Yearly invoicing, deadlines, fee scale"},
    {"name": "statistics", "description": "Figures per year (from the yearly-statistics read model)"},
]


def create_app(settings: Settings | None = None, dues: DuesSettings | None = None) -> FastAPI:
    settings = settings or Settings(service_name="membership")
    dues = dues or DuesSettings()
    fee_scale, terms = dues.fee_scale(), dues.terms()  # a bad barème file stops the start-up, named

    def bind(app: FastAPI, platform: Platform) -> None:
        app.state.membership = MembershipService(platform.db, fee_scale, terms)

    return create_service_app(settings, title="CRESS — membership", description=DESCRIPTION, routers=ROUTERS,
                              consumers=[yearly_statistics_consumer()], indexes=ensure_indexes,
                              on_started=bind, openapi_tags=TAGS)


app = create_app()
