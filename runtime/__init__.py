"""The shared runtime of the CRESS platform's services.

One place per concern; services import from here and never copy it:

- :mod:`runtime.service`     what a service is (``services/<name>/bootstrap.py``) and discovery
- :mod:`runtime.platform`    a service's lifecycle (database, producer, relay, consumers, jobs), no HTTP
- :mod:`runtime.settings`    settings from environment variables
- :mod:`runtime.errors`      domain error classes (pure: domains may import them)
- :mod:`runtime.aggregate`   base class of aggregates that record domain events (pure)
- :mod:`runtime.mongo`       the MongoDB client (PyMongo async) and the unit of work
- :mod:`runtime.outbox`      the transactional outbox and its relay to Kafka
- :mod:`runtime.kafka`       producer, topic creation from the catalogue
- :mod:`runtime.consumer`    idempotent at-least-once consumers, retries, dead letters
- :mod:`runtime.deadletters` the dead-letter CLI (list, replay)
- :mod:`runtime.metrics`     Prometheus metrics
- :mod:`runtime.auth`        bearer JWT and roles
- :mod:`runtime.http`        the FastAPI app factory: health, readiness, metrics, problem details, the door
- :mod:`runtime.api`         API helpers: guarded routers, pages, ETags, PATCH bodies, problem schema
- :mod:`runtime.logging`     structured logs with event and correlation ids
- :mod:`runtime.stack`       the embedded local stack (Kafka or Tansu, SecantusDB, services)
"""
