"""Speed-meeting scheduling of business conventions (OpenMap ESS, Rencontres d'affaires).

Pure domain code: CP-SAT (OR-Tools) with a greedy fallback; no Kafka, MongoDB or FastAPI.

    schedule(problem, options, progress=None) -> Schedule
    replan(problem, previous, no_shows=..., checked_in=..., from_slot=..., options=..., progress=None) -> ReplanResult
    validate(problem) -> None (raises SchedulingInputError naming the bad item)
"""
from .model import (
    MAX_PRIORITY,
    AgendaEntry,
    LockedMeeting,
    Meeting,
    MeetingRequest,
    Participant,
    Phase,
    Progress,
    Quality,
    ReplanFigures,
    ReplanResult,
    RequestStatus,
    Role,
    Schedule,
    SchedulingOptions,
    SchedulingProblem,
    Slot,
    Status,
    Unscheduled,
    UnscheduledReason,
)
from .replan import replan
from .solver import schedule
from .validation import SchedulingInputError, validate

__all__ = [
    "MAX_PRIORITY", "AgendaEntry", "LockedMeeting", "Meeting", "MeetingRequest", "Participant",
    "Phase", "Progress", "Quality", "ReplanFigures", "ReplanResult", "RequestStatus", "Role", "Schedule",
    "SchedulingInputError", "SchedulingOptions", "SchedulingProblem", "Slot", "Status",
    "Unscheduled", "UnscheduledReason", "replan", "schedule", "validate",
]
