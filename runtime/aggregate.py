"""Base class of aggregates: a pydantic model with a version that records its domain events.

Pure (pydantic only). Repositories store ``model_dump(mode="json")`` and read back with
``model_validate``; ``version`` is the optimistic-concurrency token (the HTTP ETag).
The unit of work collects ``pull_events()`` and writes them to the outbox in the same
transaction as the state.
"""
from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, PrivateAttr

from contracts.base import DomainEvent
from runtime.errors import PreconditionFailed


def new_id(prefix: str) -> str:
    """A new aggregate id, ``<prefix>-<12 hex digits>`` (e.g. ``org-5f1c2a9b3d7e``)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class Aggregate(BaseModel):
    model_config = ConfigDict(validate_assignment=True)

    id: str
    version: int = 0

    _events: list[DomainEvent] = PrivateAttr(default_factory=list)

    def record(self, event: DomainEvent) -> None:
        self._events.append(event)

    def pull_events(self) -> list[DomainEvent]:
        events, self._events = self._events, []
        return events

    @property
    def pending_events(self) -> tuple[DomainEvent, ...]:
        return tuple(self._events)


def check_version(aggregate: Aggregate, expected_version: int | None) -> None:
    """Raise :class:`PreconditionFailed` (412) when ``If-Match`` named another version."""
    if expected_version is not None and aggregate.version != expected_version:
        raise PreconditionFailed(
            f"{type(aggregate).__name__} {aggregate.id!r} is at version {aggregate.version}, "
            f"not {expected_version} (If-Match); read it again", current_version=aggregate.version)
