"""The membership service ("Vie interne"), declared once: everything that starts it reads this.

Organisations, applications (submission → welcome meeting → statutes review for commercial
companies → board decision), members and their yearly dues, and the yearly figures. Its
consumers are listed here, one line per subscription.
"""
from __future__ import annotations

from contracts.membership import (ApplicationAdmitted, ApplicationRefused, ApplicationSubmitted,
                                  ApplicationWithdrawn, DuesInvoiced,
                                  DuesPaymentRecorded, MemberActivated, MembershipLapsed, MembershipRenewed,
                                  MembershipPersonalDataErased, MembershipWithdrawn)
from runtime.consumer import Consumer, Subscription
from runtime.privacy import ErasureConsumer, confirmations
from runtime.service import Job, ServiceDefinition
from services.membership.adapters.repository import ensure_indexes, stored_forms
from services.membership.service_layer import projections as p
from services.membership.service_layer.runner import run_dues
from services.membership.settings import DuesSettings
from services.membership.service_layer.governance import on_membership_ended
from services.membership.service_layer.privacy import erase_contacts, on_erased


def _commands(platform):
    from services.membership.service_layer.governance import GovernanceService
    from services.membership.service_layer.handlers import MembershipService
    from services.membership.service_layer.privacy import PrivacyService
    from services.membership.settings import DuesSettings, GovernanceSettings

    dues = DuesSettings()  # a bad barème file stops the start-up, named
    commands = MembershipService(platform.db, dues.fee_scale(), dues.terms())
    # governance (AG, board, colleges, commissions): its own commands, beside the others'
    commands.governance = GovernanceService(platform.db, GovernanceSettings().statutes())  # bad statutes: no start
    commands.privacy = PrivacyService(platform.db, platform.settings.privacy_key)  # erasure requests (GDPR)
    return commands


def _routers():
    from services.membership.entrypoints.api import ROUTERS
    from services.membership.entrypoints.governance_api import ROUTERS as GOVERNANCE_ROUTERS
    from services.membership.entrypoints.privacy_api import ROUTERS as PRIVACY_ROUTERS

    return (*ROUTERS, *GOVERNANCE_ROUTERS, *PRIVACY_ROUTERS)


async def _indexes(db) -> None:
    from services.membership.adapters.governance import ensure_governance_indexes

    await ensure_indexes(db)
    await ensure_governance_indexes(db)


def _consumers() -> list[Consumer]:
    return [
        Consumer("yearly-statistics", [
            Subscription(ApplicationSubmitted, p.on_application_submitted),
            Subscription(ApplicationAdmitted, p.on_application_admitted),
            Subscription(ApplicationRefused, p.on_application_refused),
            Subscription(ApplicationWithdrawn, p.on_application_withdrawn),
            Subscription(MemberActivated, p.on_member_activated),
            Subscription(DuesInvoiced, p.on_dues_invoiced),
            Subscription(DuesPaymentRecorded, p.on_dues_payment_recorded),
            Subscription(MembershipLapsed, p.on_membership_lapsed),
            Subscription(MembershipRenewed, p.on_membership_renewed),
            Subscription(MembershipWithdrawn, p.on_membership_withdrawn),
        ]),
        Consumer("board-seats", [  # a member that lapses or withdraws leaves the board
            Subscription(MembershipLapsed, on_membership_ended),
            Subscription(MembershipWithdrawn, on_membership_ended),
        ]),
        # GDPR: membership holds contacts (it erases them on request), and keeps the requests' audit
        # record, where every holder's confirmation lands
        ErasureConsumer("membership", erase_contacts, MembershipPersonalDataErased),
        Consumer("erasure-confirmations", [Subscription(event, on_erased) for event in confirmations()]),
    ]


DESCRIPTION = """
Membership ("Vie interne") of the CRESS: the ESS organisations the chamber knows, their
applications (submission → welcome meeting → statutes review for commercial companies →
board decision), the members and their yearly dues (fee scale, invoices, payments,
reminders, grace period, lapse, renewal, withdrawal), and the figures of the activity report.

Every state change publishes its event (CloudEvents over Kafka; see `/asyncapi`).
Authenticate with `Authorization: Bearer <token>` (`make token` prints a development one).
Errors are RFC 9457 problem details.
"""

SERVICE = ServiceDefinition(
    name="membership",
    port=8001,
    title="CRESS — membership",
    description=DESCRIPTION,
    contracts="contracts.membership",
    commands=_commands,
    routers=_routers,
    indexes=_indexes,
    stored_forms=stored_forms,  # contacts' e-mails with their subject references
    consumers=_consumers,
    jobs=[Job("dues-runner", DuesSettings().runner_seconds, run_dues)],  # deadlines daily, invoicing yearly
    openapi_tags=[
        {"name": "organisations", "description": "ESS organisations and their contacts"},
        {"name": "applications", "description": "The joining workflow"},
        {"name": "members", "description": "Members, good standing, dues invoices and payments"},
        {"name": "dues", "description": "Yearly invoicing, deadlines, fee scale"},
        {"name": "statistics", "description": "Figures per year (from the yearly-statistics read model)"},
        {"name": "register", "description": "Bringing a chamber's past register in (organisations, members, "
                                            "invoices, payments)"},
        {"name": "governance", "description": "Statutes, colleges, voting rights on a date"},
        {"name": "assemblies", "description": "General assemblies: convocation, attendance, proxies, quorum, votes"},
        {"name": "board", "description": "The board (CA): mandates, who sits on it on a date"},
        {"name": "commissions", "description": "Commissions and members' seminars, who takes part"},
        {"name": "personal data", "description": "A person's data (GDPR): export, erasure requests and their "
                                                 "confirmations (privacy officer only)"},
    ],
)
