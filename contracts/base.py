"""Base class of every domain event, and the registry of event types.

An event type is a versioned reverse-DNS name (``org.cress.membership.member-admitted.v1``).
Each (type, version) has exactly one pydantic model. A model says which of its fields is the
aggregate id (the Kafka key: ordering per aggregate).
"""
from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

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

    @property
    def service(self) -> str:
        """The owning service, read from the type name (``org.cress.<service>.…``)."""
        return self.event_type.split(".")[2]


def event_class(event_type: str) -> type[DomainEvent]:
    """The model of an event type; ``KeyError`` names the unknown type."""
    try:
        return _REGISTRY[event_type]
    except KeyError:
        raise KeyError(f"unknown event type {event_type!r}") from None


def registered_events() -> dict[str, type[DomainEvent]]:
    """Every event type known to the platform (import the service modules first)."""
    import contracts.membership  # noqa: F401  (importing registers the membership events)

    return dict(sorted(_REGISTRY.items()))
