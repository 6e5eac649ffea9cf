"""Events of the events service ("Temps forts"): the events catalogue, registrations and the
waiting list, check-in, surveys, and business conventions.

Five aggregates, five topics (key = the aggregate id, so each aggregate's events keep their
order):

- ``event`` (key ``event_id``): an event of the catalogue and its lifecycle
  (draft → published → closed → held → archived, or cancelled with a reason);
- ``registration`` (key ``registration_id``): a person's registration for an event, the
  waiting list and its offers, approval, cancellation, check-in and check-out;
- ``survey`` (key ``survey_id``): satisfaction surveys, their answers and reminders;
- ``convention`` (key ``convention_id``): business conventions (speed-meetings): participants'
  profiles, meeting requests, scheduling runs, published agendas, meetings held, outcomes;
- and ``erasure_request`` (key ``request_id``, :mod:`contracts.events.privacy`): the service's
  confirmations of membership's personal-data erasure requests (counts only).

Personal data (names, e-mails, phones) stay in the events service's database: events carry ids.
Conventions: dates are ``date`` named ``*_on``; instants are timezone-aware ``datetime`` named
``*_at``; money is an integer number of euro cents named ``*_cents``; enumerations travel as
their lower-case code.
"""
from __future__ import annotations

from contracts.events.conventions import *  # noqa: F401,F403
from contracts.events.privacy import TOPIC as _ERASURE_TOPIC
from contracts.events.privacy import *  # noqa: F401,F403
from contracts.events.registrations import *  # noqa: F401,F403
from contracts.topics import Topic

SERVICE = "events"

TOPICS: tuple[Topic, ...] = (
    Topic("events.event", SERVICE, "event",
          description="The events catalogue: drafts, publication, closing, held, archived, cancelled."),
    Topic("events.registration", SERVICE, "registration",
          description="Registrations, approval, waiting list and place offers, cancellations, check-ins "
                      "(ids only: no personal data)."),
    Topic("events.survey", SERVICE, "survey",
          description="Satisfaction surveys: opened, answered, reminders, closed."),
    Topic("events.convention", SERVICE, "convention",
          description="Business conventions: participants, meeting requests, scheduling, agendas, meetings "
                      "held and their outcomes."),
    _ERASURE_TOPIC,
)
