"""Prometheus metrics of every service, declared once.

Naming follows Prometheus conventions: base units, ``_total`` counters, no ids in labels.
RED for HTTP and for consumers, plus the outbox backlog and the dead letters.
"""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

HTTP_REQUESTS = Counter("cress_http_requests_total", "HTTP requests handled.",
                        ["service", "method", "route", "status"])
HTTP_DURATION = Histogram("cress_http_request_duration_seconds", "HTTP request duration.",
                          ["service", "method", "route"], buckets=_LATENCY_BUCKETS)
MESSAGES_PUBLISHED = Counter("cress_messages_published_total", "Events published to Kafka by the outbox relay.",
                             ["service", "topic"])
MESSAGES_CONSUMED = Counter("cress_messages_consumed_total", "Messages a consumer finished with, by outcome.",
                            ["service", "consumer", "topic", "outcome"])
MESSAGES_FAILED = Counter("cress_messages_failed_total", "Failed handler attempts (each retry counts).",
                          ["service", "consumer", "topic"])
HANDLER_DURATION = Histogram("cress_message_handler_duration_seconds",
                             "Time to handle one message, its writes included.",
                             ["service", "consumer", "topic"], buckets=_LATENCY_BUCKETS)
TRANSACTION_RETRIES = Counter("cress_transaction_retries_total", "Runs of a MongoDB transaction's work again after "
                              "a write conflict with a concurrent transaction (PyMongo's with_transaction).",
                              ["service"])
OUTBOX_BACKLOG = Gauge("cress_outbox_backlog_records", "Outbox records not yet published.", ["service"])
OUTBOX_OLDEST_AGE = Gauge("cress_outbox_oldest_pending_age_seconds",
                          "Age of the oldest outbox record not yet published (0 when none).", ["service"])
CONSUMER_LAG = Gauge("cress_consumer_lag_messages", "Messages at a partition's end not yet committed by the "
                     "consumer group (exported by the instance the partition is assigned to).",
                     ["service", "consumer", "topic", "partition"])
DEAD_LETTERS = Counter("cress_dead_letters_total", "Messages sent to a dead-letter topic.",
                       ["service", "consumer", "topic"])
# The job's name is the `task` label: `job` (and `instance`) are Prometheus' own target labels.
JOB_RUNS = Counter("cress_job_runs_total", "Runs of a service's periodic jobs (sweepers), by outcome.",
                   ["service", "task", "outcome"])
DEPENDENCY_UP = Gauge("cress_dependency_up", "Whether a dependency answered the last readiness check.",
                      ["service", "dependency"])
RATE_LIMITED = Counter("cress_rate_limited_total", "Requests refused with 429 by the partner routes' rate limit "
                       "(runtime.ratelimit).", ["service", "route"])
RATE_LIMIT_FALLBACKS = Counter("cress_rate_limit_fallbacks_total", "Partner requests whose bucket the process "
                               "decided alone: the database holding the shared buckets did not answer in time "
                               "(runtime.ratelimit).", ["service"])
# Webhooks (the webhooks service's delivery worker). The backlog is per endpoint: an endpoint id is a
# label there, the one exception to "no ids in labels" (endpoints are few: tens per partner at most).
WEBHOOK_DELIVERIES = Counter("cress_webhook_deliveries_total", "Webhook delivery attempts, by outcome (delivered, "
                             "http_error, redirect, gone, throttled, timeout, connection_error, ssrf_refused, "
                             "too_large).", ["service", "outcome"])
WEBHOOK_LATENCY = Histogram("cress_webhook_delivery_latency_seconds",
                            "From the event's commit to the receiver's 2xx (first round of a message only).",
                            ["service"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
                                                  1800, 7200))
WEBHOOK_BACKLOG = Gauge("cress_webhook_backlog_messages", "Messages waiting for delivery, per endpoint.",
                        ["service", "endpoint"])
WEBHOOK_ENDPOINTS_DISABLED = Counter("cress_webhook_endpoints_disabled_total",
                                     "Endpoints the platform disabled, by reason (gone, failing).",
                                     ["service", "reason"])
WEBHOOK_LEASE_HELD = Gauge("cress_webhook_delivery_lease_held", "1 if this process holds the delivery lease.",
                           ["service"])

METRIC_NAMES: tuple[str, ...] = (
    "cress_http_requests_total", "cress_http_request_duration_seconds", "cress_messages_published_total",
    "cress_messages_consumed_total", "cress_messages_failed_total", "cress_message_handler_duration_seconds",
    "cress_outbox_backlog_records", "cress_outbox_oldest_pending_age_seconds", "cress_consumer_lag_messages",
    "cress_dead_letters_total",
    "cress_dependency_up", "cress_job_runs_total", "cress_rate_limited_total", "cress_rate_limit_fallbacks_total",
    "cress_webhook_deliveries_total", "cress_webhook_delivery_latency_seconds", "cress_webhook_backlog_messages",
    "cress_webhook_endpoints_disabled_total", "cress_webhook_delivery_lease_held",
)
