"""The events service ("Temps forts"), declared once: everything that starts it reads this.

The events catalogue, registrations with quotas and a waiting list, check-in, surveys and
business conventions. Who may register for a member-only event is learnt from membership's
events (a local projection), never from the membership API.
"""
from __future__ import annotations

from contracts.events import EventsPersonalDataErased
from runtime.consumer import Consumer
from runtime.members import membership_view
from runtime.privacy import ErasureConsumer
from runtime.service import Job, ServiceDefinition
from services.events.adapters.repository import ensure_indexes, stored_forms
from services.events.service_layer.privacy import erase_people
from services.events.settings import EventsSettings

SETTINGS = EventsSettings()


def _commands(platform):
    from services.events.service_layer import EventsCommands
    from services.events.service_layer.badges import BadgeSigner
    from services.events.service_layer.conventions import ConventionsService
    from services.events.service_layer.handlers import EventsService
    from services.events.service_layer.surveys import SurveysService, SurveyTokens

    badges = BadgeSigner(platform.settings.jwt_secret)
    conventions = ConventionsService(platform.db, badges)
    # a check-in at the event's door is a convention participant's arrival (same transaction)
    events = EventsService(platform.db, badges, on_check_in=conventions.arrival_from_check_in)
    surveys = SurveysService(platform.db, SurveyTokens(platform.settings.jwt_secret))
    return EventsCommands(events=events, surveys=surveys, conventions=conventions)


def _routers():
    from services.events.entrypoints.api import ROUTERS
    from services.events.entrypoints.conventions import ROUTERS as CONVENTION_ROUTERS
    from services.events.entrypoints.surveys import ROUTERS as SURVEY_ROUTERS
    from services.events.service_layer.privacy import collect
    from runtime.privacy import personal_data_router

    return (*ROUTERS, *SURVEY_ROUTERS, *CONVENTION_ROUTERS, personal_data_router(collect))


def _consumers() -> list[Consumer]:
    return [
        membership_view("member-standing", organisations=False),  # who is a member in good standing
        # GDPR: registered people and invited partners, anonymised on an erasure request
        ErasureConsumer("events", erase_people, EventsPersonalDataErased),
    ]


async def _expire_offers(platform) -> None:
    await platform.commands.events.expire_offers()


async def _close_surveys(platform) -> int:
    return await platform.commands.surveys.close_due_surveys()


async def _expire_meeting_requests(platform) -> None:
    await platform.commands.conventions.expire_requests()


async def _reap_schedule_runs(platform) -> None:
    await platform.commands.conventions.reap_stale_runs()


DESCRIPTION = """
Events ("Temps forts") of the CRESS: the catalogue (Club des collectivités, seminars, webinars,
general assembly, hackathons, trainings, youth and school events, EXPLORE courses, awards,
business conventions…), registrations with per-category quotas and member-only access, a
waiting list that offers freed places in turn for a limited time, signed badges and check-in
at several gates (offline scans reconciled later), iCalendar exports, yearly figures, and
satisfaction surveys (participants and partners answer with a signed token, no login).

Every state change publishes its event (CloudEvents over Kafka; see `/asyncapi`); personal
data (names, e-mails, phones) stay here. Authenticate with `Authorization: Bearer <token>`
(except `/survey-answers/{token}`, where the signed token in the path is the credential).
Errors are RFC 9457 problem details.
"""

SERVICE = ServiceDefinition(
    name="events",
    port=8002,
    title="CRESS — events",
    description=DESCRIPTION,
    contracts="contracts.events",
    commands=_commands,
    routers=_routers,
    indexes=ensure_indexes,
    stored_forms=stored_forms,  # people's e-mails with their subject references
    consumers=_consumers,
    jobs=[Job("expire-offers", SETTINGS.offer_sweep_seconds, _expire_offers),
          Job("close-surveys", SETTINGS.survey_sweep_seconds, _close_surveys),
          Job("expire-meeting-requests", SETTINGS.offer_sweep_seconds, _expire_meeting_requests),
          Job("schedule-runs-reaper", 30.0, _reap_schedule_runs)],
    openapi_tags=[
        {"name": "events", "description": "The catalogue: create, publish, close, hold, archive, cancel; calendars"},
        {"name": "registrations", "description": "Registrations, approval, cancellation, waiting-list offers, badges"},
        {"name": "check-in", "description": "Check-in lists, badge scans (online and offline), attendance"},
        {"name": "calendars and figures", "description": "A person's calendar, member standing, yearly figures"},
        {"name": "surveys", "description": "Satisfaction surveys per event and audience: questions, invitations, "
                                           "reminders to non-respondents, results"},
        {"name": "survey answers (no login)", "description": "Respondents answer with the signed token of their "
                                                             "invitation: no bearer token"},
        {"name": "conventions", "description": "Business conventions (OpenMap ESS, rencontres d'affaires): settings, "
                                               "participants with their role and profile, figures. Participants have "
                                               "no login: staff, or an app on their behalf with staff:events, act "
                                               "for them"},
        {"name": "convention requests", "description": "Meeting requests: send, accept, decline, withdraw, force; "
                                                       "unanswered ones expire"},
        {"name": "convention scheduling and agendas", "description": "Locked meetings, scheduling runs in the "
                                                                     "background, published agendas (JSON, "
                                                                     "iCalendar, printable pages)"},
        {"name": "convention day and follow-up", "description": "Arrivals and no-shows, meetings held (badges at "
                                                                "the tables, or the organiser), outcomes"},
        {"name": "personal data", "description": "What the service holds about a person, by e-mail (GDPR export; "
                                                 "privacy officer only)"},
    ],
)
