"""Shared schema contracts of the CRESS platform.

- :mod:`contracts.base` — the base class of every domain event and the type registry;
- :mod:`contracts.envelope` — CloudEvents 1.0 in Kafka binary mode;
- :mod:`contracts.topics` — the topic catalogue (which event goes where);
- :mod:`contracts.membership` — the membership service's events;
- :mod:`contracts.schemas` — generation and compatibility check of the committed JSON Schemas;
- :mod:`contracts.asyncapi` — the platform's AsyncAPI 3.0 document.

Pure pydantic: nothing here imports FastAPI, Kafka or MongoDB, so domains may use these models.
"""
from contracts.base import DomainEvent, event_class, registered_events

__all__ = ["DomainEvent", "event_class", "registered_events"]
