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
from .validation import SchedulingInputError, validate


def __getattr__(name: str):
    """``schedule`` and ``replan`` load the solver (OR-Tools, which brings pandas) on first use: about
    a quarter of the events service's start-up, which a restarted service should not pay before it
    answers (issue 12: recovery after a SIGKILL within 15 s). The module is named ``replanning`` so that
    importing it never sets the package's ``replan`` to a module."""
    if name == "schedule":
        from .solver import schedule as found
    elif name == "replan":
        from .replanning import replan as found
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = found
    return found


__all__ = [
    "MAX_PRIORITY", "AgendaEntry", "LockedMeeting", "Meeting", "MeetingRequest", "Participant",
    "Phase", "Progress", "Quality", "ReplanFigures", "ReplanResult", "RequestStatus", "Role", "Schedule",
    "SchedulingInputError", "SchedulingOptions", "SchedulingProblem", "Slot", "Status",
    "Unscheduled", "UnscheduledReason", "replan", "schedule", "validate",
]
