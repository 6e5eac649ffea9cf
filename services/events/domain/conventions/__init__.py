"""Business conventions ("OpenMap ESS", rencontres d'affaires): the pure domain on top of the
speed-meeting scheduler (:mod:`services.events.domain.scheduling`).

A business convention is an event of the catalogue (kind ``business_convention``) with the same
id: ``convention_id`` = ``event_id``. Three kinds of aggregates, every event on the convention's
topic (key ``convention_id``):

- :class:`Convention` — the organiser's settings (:class:`ConventionSettings`: slots, given or
  :func:`generate_slots` around breaks, tables with per-slot overrides, request expiry, whether
  pending requests are scheduled, default maximum of meetings), locked meetings, scheduling runs
  and the current plan, published agenda versions, meetings held (badges or organiser) and their
  outcomes, figures (:meth:`Convention.figures`).
- :class:`ConventionParticipant` — one per participant (id = its registration id): role, profile
  (sectors, offers, needs as tags), availability, maximum, arrival / no-show on the day.
- :class:`MeetingRequest` — one per request: pending → accepted / declined (changeable),
  expired, withdrawn; forced by the organiser.

Participants and requests are aggregates of their own so that the hundreds of people who edit a
profile or answer a request at the same moment write small documents of their own instead of
all rewriting (and conflicting on) the convention's one.

Scheduling (:mod:`.planning`): :func:`to_problem` and :func:`scheduling_options` build the
scheduler's input from the three; :func:`replan_inputs` gives ``replan`` its inputs on the day;
:func:`agendas` / :func:`agenda_of` give each person's agenda (the service renders JSON,
iCalendar and printable pages from it).

Errors: ``InvalidInput`` (422, names the field), ``Conflict`` (409: out-of-order step or
duplicate, naming the current state), ``NotFound`` (404) — all from :mod:`runtime.errors`.
Time is always passed in (``at``: a timezone-aware datetime, years 1900–2199).
"""
from contracts.events.conventions import (MeetingHeldHow, MeetingOutcome, MeetingRequestStatus, ParticipantRole,
                                          ScheduleMode, ScheduleStatus, UnscheduledReasonCode)

from .convention import (MAX_AMOUNT_CENTS, SCAN_EARLY, STALE_RUN, Convention, ConventionFigures, ConventionMeeting,
                         LockedPair, Outcome, PlanQuality, PublishedAgendas, PublishedMeeting, RunStatus, ScheduleRun,
                         UnscheduledRequest, meeting_id)
from .participant import Availability, ConventionParticipant, ParticipantStatus, Profile
from .planning import (FORCED_PRIORITY, ROLES, AgendaItem, ReplanInputs, agenda_of, agendas, current_schedule,
                       replan_inputs, scheduling_options, to_problem)
from .request import DEFAULT_PRIORITY, MAX_PRIORITY, MIN_PRIORITY, MeetingRequest
from .settings import Break, ConventionSettings, ConventionSlot, generate_slots

__all__ = [
    "Convention", "ConventionSettings", "ConventionSlot", "Break", "generate_slots",
    "ConventionParticipant", "Profile", "Availability", "ParticipantStatus",
    "MeetingRequest", "MIN_PRIORITY", "MAX_PRIORITY", "DEFAULT_PRIORITY",
    "ConventionMeeting", "LockedPair", "Outcome", "PlanQuality", "PublishedAgendas", "PublishedMeeting",
    "RunStatus", "ScheduleRun", "UnscheduledRequest", "ConventionFigures", "meeting_id",
    "STALE_RUN", "SCAN_EARLY", "MAX_AMOUNT_CENTS",
    "to_problem", "scheduling_options", "replan_inputs", "ReplanInputs", "current_schedule",
    "agendas", "agenda_of", "AgendaItem", "ROLES", "FORCED_PRIORITY",
    "ParticipantRole", "MeetingRequestStatus", "ScheduleMode", "ScheduleStatus", "UnscheduledReasonCode",
    "MeetingHeldHow", "MeetingOutcome",
]
