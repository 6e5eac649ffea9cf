"""CloudEvents 1.0, Kafka protocol binding, binary content mode.

The Kafka value is the event's JSON data; the context attributes travel as ``ce_``-prefixed
headers and ``datacontenttype`` as the ``content-type`` header. Correlation and causation ids
are extensions (``ce_correlationid``, ``ce_causationid``). The Kafka key is the aggregate id.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from contracts.base import DomainEvent, event_class

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
_REQUIRED = ("id", "source", "type", "specversion")


class EnvelopeError(ValueError):
    """A Kafka record that is not a valid CloudEvent of a known type (a poison message)."""


@dataclass(frozen=True, slots=True)
class CloudEvent:
    id: str
    source: str
    type: str
    subject: str
    time: datetime
    data: dict[str, Any]
    specversion: str = SPEC_VERSION
    datacontenttype: str = CONTENT_TYPE
    correlationid: str | None = None
    causationid: str | None = None
    extensions: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_domain(cls, event: DomainEvent, *, source: str, correlation_id: str | None = None,
                    causation_id: str | None = None, event_id: str | None = None,
                    time: datetime | None = None) -> CloudEvent:
        event_id = event_id or str(uuid.uuid4())
        return cls(
            id=event_id,
            source=source,
            type=event.event_type,
            subject=event.aggregate_id,
            time=time or datetime.now(timezone.utc),
            data=event.model_dump(mode="json"),
            correlationid=correlation_id or event_id,
            causationid=causation_id,
        )

    # -- Kafka binary mode -------------------------------------------------------------
    def kafka_headers(self) -> list[tuple[str, bytes]]:
        attrs: dict[str, str | None] = {
            "ce_id": self.id,
            "ce_source": self.source,
            "ce_type": self.type,
            "ce_specversion": self.specversion,
            "ce_time": self.time.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
            "ce_subject": self.subject,
            "ce_correlationid": self.correlationid,
            "ce_causationid": self.causationid,
        }
        for name, value in self.extensions.items():
            attrs[f"ce_{name}"] = value
        headers = [(k, v.encode()) for k, v in attrs.items() if v is not None]
        headers.append(("content-type", self.datacontenttype.encode()))
        return headers

    def kafka_value(self) -> bytes:
        return json.dumps(self.data, separators=(",", ":"), ensure_ascii=False).encode()

    def kafka_key(self) -> bytes:
        return self.subject.encode()

    @classmethod
    def from_kafka(cls, headers: list[tuple[str, bytes]] | tuple, value: bytes | None) -> CloudEvent:
        h = {k: (v.decode() if isinstance(v, (bytes, bytearray)) else v) for k, v in headers or ()}
        missing = [a for a in _REQUIRED if f"ce_{a}" not in h]
        if missing:
            raise EnvelopeError(f"missing CloudEvents header(s): {', '.join('ce_' + m for m in missing)}")
        if h["ce_specversion"] != SPEC_VERSION:
            raise EnvelopeError(f"unsupported ce_specversion {h['ce_specversion']!r}")
        try:
            data = json.loads(value or b"null")
        except ValueError as exc:
            raise EnvelopeError(f"value is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise EnvelopeError("value is not a JSON object")
        try:
            time = datetime.fromisoformat(h["ce_time"]) if "ce_time" in h else datetime.now(timezone.utc)
        except ValueError:
            raise EnvelopeError(f"ce_time {h['ce_time']!r} is not RFC 3339") from None
        known = {f"ce_{a}" for a in ("id", "source", "type", "specversion", "time", "subject",
                                       "correlationid", "causationid")}
        ext = {k[3:]: v for k, v in h.items() if k.startswith("ce_") and k not in known}
        return cls(id=h["ce_id"], source=h["ce_source"], type=h["ce_type"], subject=h.get("ce_subject", ""),
                   time=time, data=data, specversion=h["ce_specversion"],
                   datacontenttype=h.get("content-type", CONTENT_TYPE),
                   correlationid=h.get("ce_correlationid"), causationid=h.get("ce_causationid"),
                   extensions=ext)

    def to_domain(self) -> DomainEvent:
        """The typed event; :class:`EnvelopeError` for an unknown type or invalid data."""
        try:
            model = event_class(self.type)
        except KeyError as exc:
            raise EnvelopeError(str(exc.args[0])) from None
        try:
            return model.model_validate(self.data)
        except ValueError as exc:
            raise EnvelopeError(f"{self.type}: invalid data: {exc}") from None
