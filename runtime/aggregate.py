"""Base class of aggregates: a pydantic model with a version that records its domain events.

Pure (pydantic only). Repositories store ``model_dump(mode="json")`` and read back with
``model_validate``; ``version`` is the optimistic-concurrency token (the HTTP ETag).
The unit of work collects ``pull_events()`` and writes them to the outbox in the same
transaction as the state.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, PrivateAttr

from contracts.base import DomainEvent


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
