"""How a service is wired: its producer's options, its logs, its settings, its definition's lookup —
called while the tests run (a process's start does it once, before any test could look)."""
from __future__ import annotations

import asyncio
import logging
import sys

import pytest

from runtime.kafka import make_producer
from runtime.logging import ConsoleFormatter, JsonFormatter, configure
from runtime.service import discover, service
from runtime.settings import Settings


def test_a_producer_names_its_service_waits_for_every_replica_and_batches_for_2_ms():
    async def options():
        producer = make_producer(Settings(service_name="events", kafka_bootstrap_servers="broker:9092"))
        return (producer.client._client_id, producer._request_timeout_ms,  # noqa: SLF001
                producer._message_accumulator._linger_time, producer.client._bootstrap_servers)  # noqa: SLF001

    assert asyncio.run(options()) == ("cress-events", 15000, 0.002, "broker:9092")


def test_a_producer_takes_overrides():
    async def linger():
        return make_producer(Settings(), linger_ms=50)._message_accumulator._linger_time  # noqa: SLF001

    assert asyncio.run(linger()) == 0.05


def test_logs_are_json_lines_on_stderr_at_info_by_default(root_logging):
    configure("events")
    [handler] = root_logging.handlers
    assert handler.stream is sys.stderr and isinstance(handler.formatter, JsonFormatter)
    assert handler.formatter.service == "events"
    assert root_logging.level == logging.INFO
    for noisy in ("aiokafka", "pymongo", "kafka"):
        assert logging.getLogger(noisy).level == logging.WARNING, noisy


def test_console_logs_and_a_level_given_in_lower_case(root_logging):
    configure("events", "error", "console")
    [handler] = root_logging.handlers
    assert type(handler.formatter) is ConsoleFormatter
    assert root_logging.level == logging.ERROR
    assert logging.getLogger("aiokafka").level == logging.ERROR, "the libraries are never louder than the service"


def test_a_services_settings_name_it_and_its_port():
    events = service("events")
    settings = events.settings()
    assert (settings.service_name, settings.http_port) == ("events", events.port)
    assert events.settings(http_port=9999).http_port == 9999


def test_an_unknown_service_is_refused_naming_the_known_ones():
    with pytest.raises(KeyError) as caught:
        service("kitchen")
    assert caught.value.args[0] == f"unknown service 'kitchen'; known: {', '.join(discover())}"
    assert ", " in caught.value.args[0]


def record(message: str = "member %s activated", *args, exc_info=None, **extra) -> logging.LogRecord:
    made = logging.LogRecord("membership.dues", logging.WARNING, __file__, 1, message, args or ("org-1",), exc_info)
    made.created = 1_900_000_000.25
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_a_json_line_holds_the_time_level_service_logger_message_and_the_extras():
    import json

    from datetime import date as day

    entry = json.loads(JsonFormatter("membership").format(record(organisation_id="org-1", due_on=day(2031, 2, 1),
                                                                 _private="no")))
    assert entry == {"time": "2030-03-17T17:46:40.250000+00:00", "level": "warning", "service": "membership",
                     "logger": "membership.dues", "message": "member org-1 activated", "organisation_id": "org-1",
                     "due_on": "2031-02-01"}, "an extra JSON cannot hold is written as its text"


def test_a_json_line_carries_the_exception_and_non_ascii_as_it_is():
    import json

    try:
        raise ValueError("boom")
    except ValueError:
        failed = record("échec pour %s", "Ève", exc_info=sys.exc_info())
    line = JsonFormatter("membership").format(failed)
    assert "échec pour Ève" in line, "not escaped"
    entry = json.loads(line)
    assert entry["exception"].startswith("Traceback") and entry["exception"].endswith("ValueError: boom")
    assert "correlation_id" not in entry and "event_id" not in entry


def test_a_console_line_is_level_logger_message_then_the_ids_in_scope():
    from runtime import logging as log_context

    assert ConsoleFormatter().format(record()) == "WARNING membership.dues: member org-1 activated"
    c, e = log_context.correlation_id.set("corr-7"), log_context.event_id.set("evt-9")
    try:
        assert ConsoleFormatter().format(record()) == (
            "WARNING membership.dues: member org-1 activated  [cid=corr-7 eid=evt-9]")
    finally:
        log_context.correlation_id.reset(c)
        log_context.event_id.reset(e)
    e = log_context.event_id.set("evt-9")
    try:
        assert ConsoleFormatter().format(record()).endswith("activated  [eid=evt-9]")
    finally:
        log_context.event_id.reset(e)
    try:
        raise ValueError("boom")
    except ValueError:
        failed = record(exc_info=sys.exc_info())
    lines = ConsoleFormatter().format(failed).split("\n")
    assert lines[0] == "WARNING membership.dues: member org-1 activated" and lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: boom"
