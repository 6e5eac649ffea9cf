"""What a service is, declared once in ``services/<name>/bootstrap.py``, and where to find them all.

A service's bootstrap module defines ``SERVICE = ServiceDefinition(...)``: its name and port, its
contracts module, its HTTP routers, its indexes, its consumers (one line per subscription),
its periodic jobs and its command-service factory. Everything else reads it:

- :func:`runtime.platform.running` starts its lifecycle (database, producer, relay, consumers,
  jobs) without HTTP; :func:`runtime.http.create_app` serves it over HTTP;
- :mod:`runtime.stack` (``make run``) starts every service :func:`discover` finds, and writes
  Prometheus' scrape list from them; the benchmarks and the test fixtures start them the same way;
- the AsyncAPI document lists their contracts' topics.

A new service is a new folder with a ``bootstrap.py`` (and its compose entry, which the tests
check).
"""
from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the definition itself stays importable without FastAPI, Kafka or MongoDB loaded
    from fastapi import APIRouter

    from runtime.consumer import Consumer
    from runtime.mongo import Database, StoredForm
    from runtime.platform import Platform
    from runtime.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def _no_stored_forms(settings: Settings) -> dict[str, StoredForm]:
    return {}


@dataclass(frozen=True)
class Job:
    """A periodic job of a service (a sweeper: expired offers, deadlines…): ``run(platform)`` every
    ``every`` seconds, while the process runs. It must be idempotent: several instances of a
    service may run it at the same time, and a run may be cut short by a crash."""

    name: str
    every: float
    run: Callable[[Platform], Awaitable[Any]]
    #: A cache loader (the observatory's in-memory ledger, procurement's search index): its first run waits
    #: until the process's consumers have caught up with what was published while it was down (at most
    #: ``runtime.platform.WARM_UP_WAIT`` s). Loading thousands of documents at once slows every transaction
    #: of the shared database: after a restart, the projections' writes come first (``make chaos``).
    warm_up: bool = False


@dataclass(frozen=True)
class ServiceDefinition:
    """One service of the platform, as its bootstrap declares it."""

    name: str
    port: int
    title: str
    description: str
    contracts: str  # the module of its event contracts, e.g. "contracts.membership"
    commands: Callable[[Platform], Any]  # builds the service's command handlers (``platform.commands``)
    routers: Callable[[], Sequence[APIRouter]] = tuple  # its HTTP routers (imported lazily: no FastAPI for workers)
    indexes: Callable[[Database], Awaitable[None]] | None = None
    consumers: Callable[[], Sequence[Consumer]] = tuple  # one Consumer per group, one line per subscription
    jobs: Sequence[Job] = ()
    projections: Callable[[], Sequence[Any]] = tuple  # runtime.rebuild.Projection: what `make rebuild` replays
    # collections stored in another form than their aggregates' dump (runtime.mongo.StoredForm: e-mails'
    # keyed hashes beside them, secrets encrypted), built from the settings (the keys)
    stored_forms: Callable[[Settings], dict[str, StoredForm]] = _no_stored_forms
    openapi_tags: Sequence[dict[str, Any]] = ()
    version: str = "1.0.0"

    def contracts_module(self) -> ModuleType:
        return importlib.import_module(self.contracts)

    def database(self, settings: Settings | None = None) -> Database:
        """This service's database (not opened), with its stored forms."""
        from runtime.mongo import Database

        settings = settings or self.settings()
        return Database(settings, self.stored_forms(settings))

    def settings(self, **overrides: Any) -> Settings:
        """This service's settings: the environment, with ``service_name`` and ``http_port`` set."""
        from runtime.settings import Settings

        return Settings(**{"service_name": self.name, "http_port": self.port, **overrides})


@cache
def _definition(name: str) -> ServiceDefinition:
    """The ``SERVICE`` of ``services/<name>/bootstrap.py`` (imported: its routers' and consumers' modules
    are still imported lazily, by the definition's callables)."""
    module = importlib.import_module(f"services.{name}.bootstrap")
    definition = getattr(module, "SERVICE", None)
    if not isinstance(definition, ServiceDefinition):
        raise ImportError(f"services/{name}/bootstrap.py must define SERVICE = ServiceDefinition(...)")
    if definition.name != name:
        raise ImportError(f"services/{name}/bootstrap.py: SERVICE.name is {definition.name!r}, not {name!r}")
    return definition


def _names() -> list[str]:
    return [bootstrap.parent.name for bootstrap in sorted((ROOT / "services").glob("*/bootstrap.py"))]


@cache
def discover() -> dict[str, ServiceDefinition]:
    """Every service of the repository (``services/<name>/bootstrap.py``), by port."""
    found = {name: _definition(name) for name in _names()}
    ports = [d.port for d in found.values()]
    if len(ports) != len(set(ports)):
        raise ImportError(f"two services share a port: {sorted(ports)}")
    return dict(sorted(found.items(), key=lambda item: item[1].port))


def service(name: str) -> ServiceDefinition:
    """One service's definition; ``KeyError`` names the known ones. Only that service's bootstrap is
    imported: a service's process does not load the others' modules (a second or more of its start)."""
    if name not in _names():
        raise KeyError(f"unknown service {name!r}; known: {', '.join(discover())}")
    return _definition(name)
