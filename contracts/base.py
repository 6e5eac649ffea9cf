"""Base class of every domain event, the registry of event types, and the service contracts.

An event type is a versioned reverse-DNS name (``org.cress.membership.member-admitted.v1``).
Each (type, version) has exactly one pydantic model. A model says which of its fields is the
aggregate id (the Kafka key: ordering per aggregate).

A service's contracts are one module (or package) of this package, found by
:func:`service_contracts` without being named here: it declares ``SERVICE`` (the owning
service's name), ``TOPICS`` (its topics, :class:`contracts.topics.Topic`) and its event models.
Adding ``contracts/<service>.py`` is all it takes for its events to be registered, catalogued,
given JSON Schemas and listed in the AsyncAPI document.
"""
from __future__ import annotations

import importlib
import pkgutil
import re
from datetime import date
from functools import cache
from types import ModuleType
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

#: The years the platform's contracts accept (dates and ``year`` fields): wide enough to migrate a
#: member that joined in 1985, narrow enough that every date a client sends is one a consumer can
#: read. The HTTP door refuses dates outside this range (422 naming the field).
EARLIEST_YEAR, LATEST_YEAR = 1900, 2200
EARLIEST_DATE, LATEST_DATE = date(EARLIEST_YEAR, 1, 1), date(LATEST_YEAR, 12, 31)

# Modules of this package that are infrastructure, not a service's contracts.
_INFRASTRUCTURE = frozenset({"base", "envelope", "topics", "schemas", "asyncapi", "deadletter", "faststream",
                             "privacy"})

_TYPE_RE = re.compile(r"^org\.cress\.[a-z]+\.[a-z0-9]+(-[a-z0-9]+)*\.v[0-9]+$")
_REGISTRY: dict[str, type[DomainEvent]] = {}


class DomainEvent(BaseModel):
    """A fact that happened, named in the past tense.

    Subclasses declare ``event_type`` (versioned reverse-DNS), ``aggregate_type`` and
    ``aggregate_id_field`` as class keywords::

        class MemberAdmitted(DomainEvent, event_type="org.cress.membership.member-admitted.v1",
                             aggregate_type="application", aggregate_id_field="application_id"):
            application_id: str
    """

    # Unknown fields are ignored so that a consumer still reads a newer minor revision of the
    # same version (only optional fields may be added within a version).
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    aggregate_type: ClassVar[str]
    aggregate_id_field: ClassVar[str]

    def __init_subclass__(cls, *, event_type: str | None = None, aggregate_type: str | None = None,
                          aggregate_id_field: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if event_type is None:
            return  # an intermediate base class
        if not _TYPE_RE.match(event_type):
            raise ValueError(f"event type {event_type!r} is not org.cress.<service>.<name>.v<N>")
        if event_type in _REGISTRY:
            raise ValueError(f"event type {event_type!r} is declared twice")
        if not aggregate_type or not aggregate_id_field:
            raise ValueError(f"{cls.__name__}: aggregate_type and aggregate_id_field are required")
        cls.event_type = event_type
        cls.aggregate_type = aggregate_type
        cls.aggregate_id_field = aggregate_id_field
        _REGISTRY[event_type] = cls

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        field = getattr(cls, "aggregate_id_field", None)
        if field is not None and field not in cls.model_fields:
            raise ValueError(f"{cls.__name__}: aggregate id field {field!r} is not a field")

    @property
    def aggregate_id(self) -> str:
        return str(getattr(self, self.aggregate_id_field))


def event_class(event_type: str) -> type[DomainEvent]:
    """The model of an event type; ``KeyError`` names the unknown type."""
    try:
        return _REGISTRY[event_type]
    except KeyError:
        raise KeyError(f"unknown event type {event_type!r}") from None


@cache
def service_contracts() -> dict[str, ModuleType]:
    """The contracts module of every service, by service name (importing one registers its events)."""
    import contracts

    found: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(contracts.__path__):
        if info.name in _INFRASTRUCTURE or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"contracts.{info.name}")
        service = getattr(module, "SERVICE", None)
        if service is None or not hasattr(module, "TOPICS"):
            raise ImportError(f"contracts.{info.name} must declare SERVICE and TOPICS (a service's contracts)")
        if service in found:
            raise ImportError(f"two contracts modules declare the service {service!r}")
        found[service] = module
    return dict(sorted(found.items()))


def registered_events() -> dict[str, type[DomainEvent]]:
    """Every event type known to the platform (every service's contracts imported)."""
    service_contracts()
    return dict(sorted(_REGISTRY.items()))
