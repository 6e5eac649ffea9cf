"""The platform's AsyncAPI 3.0 document, generated from the topic catalogue and the event models.

Every service serves the same platform-wide document at ``/asyncapi`` (its own channels are
marked with ``x-owner``): a subscriber finds every topic, its key, and the schema of every
event type it carries, whichever service it asks.
"""
from __future__ import annotations

from typing import Any

from contracts.base import registered_events
from contracts.topics import all_topics, is_dead_letter

CE_HEADERS = {
    "type": "object",
    "description": "CloudEvents 1.0 attributes, Kafka binary content mode.",
    "required": ["ce_id", "ce_source", "ce_type", "ce_specversion", "ce_time", "ce_subject", "content-type"],
    "properties": {
        "ce_id": {"type": "string", "description": "Event id (idempotency key)."},
        "ce_source": {"type": "string", "examples": ["/cress/membership"]},
        "ce_type": {"type": "string", "description": "Versioned reverse-DNS event type."},
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_subject": {"type": "string", "description": "The aggregate id (also the Kafka key)."},
        "ce_correlationid": {"type": "string"},
        "ce_causationid": {"type": "string"},
        "content-type": {"type": "string", "const": "application/json"},
    },
}


def _message_name(event_type: str) -> str:
    return event_type.removeprefix("org.cress.").replace(".", "_").replace("-", "_")


def asyncapi_document(settings: Any = None) -> dict[str, Any]:
    events = registered_events()
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for event_type, model in events.items():
        name = _message_name(event_type)
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for def_name, definition in schema.pop("$defs", {}).items():
            schemas[def_name] = definition
        schemas[name] = schema
        messages[name] = {
            "name": event_type,
            "title": model.__name__,
            "summary": (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else event_type,
            "contentType": "application/json",
            "headers": {"$ref": "#/components/schemas/CloudEventHeaders"},
            "payload": {"$ref": f"#/components/schemas/{name}"},
            "bindings": {"kafka": {"key": {"type": "string", "description": f"{model.aggregate_type} id"}}},
        }
    schemas["CloudEventHeaders"] = CE_HEADERS
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in all_topics():
        cid = topic.name.replace(".", "_")
        carried = [] if is_dead_letter(topic.name) else topic.event_types
        channels[cid] = {
            "address": topic.name,
            "description": topic.description,
            "messages": {_message_name(t): {"$ref": f"#/components/messages/{_message_name(t)}"} for t in carried},
            "bindings": {"kafka": {"topic": topic.name, "partitions": topic.partitions,
                                   "topicConfiguration": {"retention.ms": topic.retention_ms,
                                                          "cleanup.policy": ["delete"]}}},
            "x-owner": topic.service,
            "x-key": topic.key,
        }
        if carried:
            operations[f"publish_{cid}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{cid}"},
                "summary": f"{topic.service} publishes through its transactional outbox",
                "messages": [{"$ref": f"#/channels/{cid}/messages/{_message_name(t)}"} for t in carried],
            }
    service = getattr(settings, "service_name", None)
    servers = {}
    if settings is not None:
        servers["kafka"] = {"host": settings.kafka_bootstrap_servers.split(",")[0], "protocol": "kafka",
                            "description": "The broker this service uses."}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "CRESS platform events", "version": "1.0.0",
                 "description": "Domain events exchanged by the CRESS platform's services over Kafka. "
                                "CloudEvents 1.0 in Kafka binary mode; key = aggregate id; each topic has "
                                "a `.dlq` dead-letter sibling." + (f" Served by {service}." if service else "")},
        "defaultContentType": "application/json",
        "servers": servers,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
