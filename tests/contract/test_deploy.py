"""Static checks of the deployment files: nothing here starts a container.

``docker compose config`` is not available everywhere (no compose plugin, no engine), so this
module checks by reading the files what compose, Docker, Prometheus and Grafana would reject or
silently get wrong:

- docker-compose.yml parses; every build context, Dockerfile, bind-mounted file or directory
  exists and every named volume is declared;
- every service of the repository (``services/<name>/bootstrap.py``) has its compose entry, on
  its bootstrap's port; each app service (one with ``build``) is built from ``deploy/Dockerfile``
  for an existing ``services/<SERVICE>/bootstrap.py``, sets exactly variables that ``runtime.settings.Settings`` reads
  (and all of its required ones), with values that Settings accepts, publishes its HTTP_PORT and
  waits for healthy kafka and mongo (which have health checks);
- deploy/Dockerfile: python:3.11-slim, non-root, no extras installed, health check on /healthz,
  COPY sources present in the build context and not excluded by .dockerignore;
- Prometheus scrapes every app service on its HTTP_PORT and loads the mounted alert rules; its
  configuration is the one generated from the bootstraps;
- alert rules and the Grafana dashboard use only known metric names (``runtime.metrics``);
- Grafana provisioning points at the mounted dashboards and at the datasource the panels use;
- docker-compose.production.yml (the checks above that hold for both files run on both): three
  KRaft brokers with distinct node ids and one controller quorum, replication 3 and
  min.insync.replicas 2 on the brokers and in every service's settings, a three-member replica
  set rs0 initiated by a one-shot container, every service replicated without host ports behind
  the gateway (deploy/production/caddy.json) that spreads each port over the service's instances,
  Prometheus discovering every instance, and no service with more replicas than a topic its
  consumer groups read has partitions (deploy/README.md's table says the same).
"""
from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
PRODUCTION_FILE = ROOT / "docker-compose.production.yml"
PRODUCTION_DIR = ROOT / "deploy" / "production"
COMPOSE_FILES = {"single-node": COMPOSE_FILE, "production": PRODUCTION_FILE}
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
PROMETHEUS_FILE = ROOT / "deploy" / "prometheus" / "prometheus.yml"
ALERTS_FILE = ROOT / "deploy" / "prometheus" / "alerts.yml"
GRAFANA_DIR = ROOT / "deploy" / "grafana"
DASHBOARD_FILE = GRAFANA_DIR / "dashboards" / "platform.json"

# The metric names of the platform (final). runtime.metrics.METRIC_NAMES is the source when it exists.
DOCUMENTED_METRIC_NAMES = (
    "cress_http_requests_total",
    "cress_http_request_duration_seconds",
    "cress_messages_published_total",
    "cress_messages_consumed_total",
    "cress_messages_failed_total",
    "cress_message_handler_duration_seconds",
    "cress_outbox_backlog_records",
    "cress_outbox_oldest_pending_age_seconds",
    "cress_dead_letters_total",
    "cress_dependency_up",
    "cress_job_runs_total",
)
# The variables every service is documented to take (runtime/settings.py may read more).
DOCUMENTED_SERVICE_ENV = {
    "SERVICE_NAME", "HTTP_PORT", "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_IDEMPOTENT_PRODUCER",
    "MONGODB_URI", "MONGODB_DATABASE", "JWT_SECRET", "JWT_ALGORITHM", "JWT_ISSUER", "JWT_AUDIENCE",
    "ENVIRONMENT", "AUTH_MODE", "OIDC_ISSUER", "OIDC_AUDIENCE", "OIDC_ROLES_CLAIM", "JWT_LEEWAY_SECONDS",
    "PARTNER_RATE_PER_SECOND", "PARTNER_RATE_BURST",
    "PRIVACY_KEY", "SECRETS_KEY", "LOG_LEVEL", "LOG_FORMAT",
}
# Values given to required compose variables (${VAR:?...}) when checking the environment.
TEST_COMPOSE_VARIABLES = {"JWT_SECRET": "test-only-secret-of-at-least-32-characters!",
                          "PRIVACY_KEY": "test-only-privacy-key-of-at-least-32-chars",
                          "SECRETS_KEY": "dGVzdC1vbmx5LXNlY3JldHMta2V5LW9mLTMyLWJ5dGU=",  # a Fernet key
                          # required by the production file (AUTH_MODE=oidc there; unused in dev mode)
                          "OIDC_ISSUER": "https://idp.example.org/realms/cress", "OIDC_AUDIENCE": "cress-api"}
# The same stack in production, its staff signing in through the identity provider.
PRODUCTION_COMPOSE_VARIABLES = {**TEST_COMPOSE_VARIABLES, "ENVIRONMENT": "production", "AUTH_MODE": "oidc",
                                "OIDC_ISSUER": "https://idp.example.org/realms/cress", "OIDC_AUDIENCE": "cress-api",
                                "OIDC_ROLES_CLAIM": "realm_access.roles"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
PROMTOOL = shutil.which("promtool") or "promtool"  # `make install` installs it where it is missing: no skip


# --------------------------------------------------------------------------------------------
# helpers


def _known_metric_names() -> set[str]:
    try:
        from runtime.metrics import METRIC_NAMES  # type: ignore[attr-defined]
    except ImportError:
        names = set(DOCUMENTED_METRIC_NAMES)
    else:
        names = set(METRIC_NAMES)
    # Tolerate counters listed without their exposition suffix (prometheus_client style).
    names |= {n + "_total" for n in names if n + "_total" in DOCUMENTED_METRIC_NAMES}
    return names


KNOWN_METRIC_NAMES = _known_metric_names()


def _base_metric(name: str) -> str:
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def cress_identifiers(text: str) -> set[str]:
    """Identifiers starting with ``cress_``, histogram suffixes stripped."""
    return {_base_metric(m) for m in re.findall(r"(?<![\w-])cress_[A-Za-z0-9_:]+", text)}


_PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool",
                    "and", "or", "unless", "offset", "inf", "nan"}


def promql_metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (a lexical approximation, enough for our rules).

    Strings, label matchers, ranges and grouping clauses are removed; what is left that is an
    identifier, neither a keyword nor followed by ``(`` (a function), is a metric name.
    Grafana variables (``$service``, ``$__rate_interval``) only appear in the removed parts.
    """
    s = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`', '""', expr)
    s = re.sub(r"\{[^{}]*\}", " ", s)
    s = re.sub(r"\[[^\[\]]*\]", " ", s)
    s = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", s)
    names: set[str] = set()
    for match in re.finditer(r"(?<![\w.$])([A-Za-z_:][\w:]*)(\s*\()?", s):
        ident, call = match.group(1), match.group(2)
        if call or ident.lower() in _PROMQL_KEYWORDS:
            continue
        names.add(_base_metric(ident))
    return names


def interpolate(value: Any, variables: dict[str, str]) -> str:
    """Compose interpolation of one value: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, $$."""
    text = str(value)

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg") or ""
        if name in variables:
            return variables[name]
        if op in (":-", "-"):
            return arg
        if op in (":?", "?"):
            pytest.fail(f"compose requires ${name} ({arg}); give it a value in TEST_COMPOSE_VARIABLES")
        return ""

    pattern = r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|-|:\?|\?)(?P<arg>[^}]*))?\}"
    return re.sub(pattern, substitute, text)


def environment_of(service: dict[str, Any]) -> dict[str, Any]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return dict(env)


def mounts_of(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(type, source, target) of each volume entry: type is "bind" or "volume"."""
    result = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, str):
            parts = entry.split(":")
            source, target = (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])
            kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        else:
            kind, source, target = entry.get("type", "volume"), entry.get("source", ""), entry["target"]
        result.append((kind, source, target))
    return result


def host_path(service: dict[str, Any], container_path: str) -> Path | None:
    """The repository path that a bind mount of ``service`` puts at ``container_path``."""
    wanted = PurePosixPath(container_path)
    for kind, source, target in mounts_of(service):
        target_path = PurePosixPath(target)
        if kind == "bind" and (wanted == target_path or target_path in wanted.parents):
            return (ROOT / source / wanted.relative_to(target_path)).resolve()
    return None


def container_port(spec: Any) -> int:
    if isinstance(spec, dict):
        return int(spec["target"])
    return int(str(spec).split("/")[0].rsplit(":", 1)[-1])


def settings_env_names() -> tuple[dict[str, str], set[str], bool]:
    """(env name -> field name, required env names, case sensitive) of runtime.settings.Settings."""
    from pydantic import AliasChoices

    from runtime.settings import Settings

    config = Settings.model_config
    prefix = config.get("env_prefix", "") or ""
    case_sensitive = bool(config.get("case_sensitive", False))
    names: dict[str, str] = {}
    required: set[str] = set()
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias or field.alias
        if isinstance(alias, str):
            envs = [alias]
        elif isinstance(alias, AliasChoices):
            envs = [c for c in alias.choices if isinstance(c, str)]
        else:
            envs = [prefix + field_name]
        for env in envs:
            names[env if case_sensitive else env.upper()] = field_name
        if field.is_required():
            required.add((envs[0] if case_sensitive else envs[0].upper()))
    return names, required, case_sensitive


def all_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    panels = []
    for panel in dashboard.get("panels", []):
        panels.append(panel)
        panels.extend(panel.get("panels", []))  # collapsed rows keep their panels inside
    return panels


# --------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


def _app_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    apps = {name: svc for name, svc in compose["services"].items() if "build" in svc}
    assert apps, "no service is built from the repository"
    return apps


@pytest.fixture(scope="module")
def app_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return _app_services(compose)


@pytest.fixture(scope="module", params=sorted(COMPOSE_FILES))
def any_compose(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Each compose file in turn: what holds for both (builds, mounts, settings) is checked on both."""
    data = yaml.safe_load(COMPOSE_FILES[request.param].read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


@pytest.fixture(scope="module")
def any_app_services(any_compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return _app_services(any_compose)


@pytest.fixture(scope="module")
def prometheus_config() -> dict[str, Any]:
    return yaml.safe_load(PROMETHEUS_FILE.read_text())


@pytest.fixture(scope="module")
def alert_rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(ALERTS_FILE.read_text())
    rules = [rule for group in data["groups"] for rule in group["rules"]]
    assert rules
    return rules


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD_FILE.read_text())


# --------------------------------------------------------------------------------------------
# docker-compose.yml


def test_compose_has_the_platform_services(compose: dict[str, Any]) -> None:
    assert {"kafka", "mongo", "membership", "prometheus", "grafana"} <= set(compose["services"])


def test_compose_build_contexts_and_dockerfiles_exist(any_app_services: dict[str, dict[str, Any]]) -> None:
    for name, svc in any_app_services.items():
        build = svc["build"] if isinstance(svc["build"], dict) else {"context": svc["build"]}
        context = (ROOT / build.get("context", ".")).resolve()
        assert context.is_dir(), f"{name}: build context {context} missing"
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name}: {dockerfile} missing"
        assert dockerfile.resolve() == DOCKERFILE.resolve(), f"{name}: every service uses deploy/Dockerfile"
        package = (build.get("args") or {}).get("SERVICE")
        assert package == name, f"{name}: build arg SERVICE must name the service package"
        assert (ROOT / "services" / package / "bootstrap.py").is_file(), f"services/{package}/bootstrap.py missing"


def test_every_service_has_its_compose_entry(any_app_services: dict[str, dict[str, Any]]) -> None:
    from runtime.service import discover

    app_services = any_app_services

    services = discover()
    assert set(app_services) == set(services), (
        f"compose app services {sorted(app_services)} differ from the bootstraps {sorted(services)}: "
        "copy an existing block for the new service")
    for name, definition in services.items():
        env = environment_of(app_services[name])
        assert env["SERVICE_NAME"] == name and int(env["HTTP_PORT"]) == definition.port, name
        assert env["MONGODB_DATABASE"] == name, f"{name}: one database per service"
        assert int((app_services[name]["build"].get("args") or {})["HTTP_PORT"]) == definition.port, name


def test_compose_mounts_exist_and_volumes_are_declared(any_compose: dict[str, Any]) -> None:
    declared = set(any_compose.get("volumes") or {})
    for name, svc in any_compose["services"].items():
        for kind, source, target in mounts_of(svc):
            if kind == "bind":
                assert (ROOT / source).exists(), f"{name}: mounted {source} does not exist"
            elif source:
                assert source in declared, f"{name}: volume {source} is not declared"
            assert target.startswith("/"), f"{name}: mount target {target} is not absolute"


def test_app_service_environment_is_read_by_settings(any_app_services: dict[str, dict[str, Any]]) -> None:
    env_names, required, case_sensitive = settings_env_names()
    for name, svc in any_app_services.items():
        keys = {k if case_sensitive else k.upper() for k in environment_of(svc)}
        unknown = keys - set(env_names)
        assert not unknown, f"{name}: variables no setting reads: {sorted(unknown)}"
        missing = required - keys
        assert not missing, f"{name}: required settings not set: {sorted(missing)}"
        undocumented = DOCUMENTED_SERVICE_ENV - keys
        assert not undocumented, f"{name}: documented variables not set: {sorted(undocumented)}"


def settings_of(service: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                variables: dict[str, str] = TEST_COMPOSE_VARIABLES):
    """``runtime.settings.Settings`` as a service's compose environment gives them (nothing else), the
    required variables given ``variables``."""
    from runtime.settings import Settings

    env_names, _, _ = settings_env_names()
    with monkeypatch.context() as patch:
        for env_name in env_names:  # nothing from the machine running the tests leaks in
            patch.delenv(env_name, raising=False)
            patch.delenv(env_name.lower(), raising=False)
        for key, value in environment_of(service).items():
            patch.setenv(key, interpolate(value, variables))
        return Settings()


def test_app_services_run_in_production_with_the_identity_provider(app_services: dict[str, dict[str, Any]],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.settings import DEV_JWT_SECRET

    for name, svc in app_services.items():
        settings = settings_of(svc, monkeypatch, PRODUCTION_COMPOSE_VARIABLES)
        assert (settings.environment, settings.auth_mode) == ("production", "oidc"), name
        assert settings.oidc_issuer == "https://idp.example.org/realms/cress", name
        assert (settings.oidc_audience, settings.oidc_roles_claim) == ("cress-api", "realm_access.roles"), name
    with pytest.raises(ValueError, match="JWT_SECRET is the development default"):
        settings_of(next(iter(app_services.values())), monkeypatch,
                    {**PRODUCTION_COMPOSE_VARIABLES, "JWT_SECRET": DEV_JWT_SECRET})


def test_app_service_environment_values_are_valid(any_app_services: dict[str, dict[str, Any]],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    for name, svc in any_app_services.items():
        env = environment_of(svc)
        jwt = str(env.get("JWT_SECRET", ""))
        assert jwt.startswith("${JWT_SECRET"), f"{name}: JWT_SECRET must come from the environment, not the file"
        key = str(env.get("PRIVACY_KEY", ""))
        assert key.startswith("${PRIVACY_KEY"), f"{name}: PRIVACY_KEY must come from the environment, not the file"
        sealing = str(env.get("SECRETS_KEY", ""))
        assert sealing.startswith("${SECRETS_KEY:?"), f"{name}: SECRETS_KEY must come from the environment, required"
        settings = settings_of(svc, monkeypatch)
        assert settings.service_name == name, f"{name}: SERVICE_NAME must be the compose service name"
        published = {container_port(p) for p in svc.get("ports") or []} | {
            int(p) for p in svc.get("expose") or []}
        assert settings.http_port in published, f"{name}: HTTP_PORT {settings.http_port} is not published"
        build_port = (svc["build"].get("args") or {}).get("HTTP_PORT")
        if build_port is not None:
            assert int(build_port) == settings.http_port, f"{name}: build arg HTTP_PORT differs"


def test_app_services_wait_for_healthy_kafka_and_mongo(compose: dict[str, Any],
                                                       app_services: dict[str, dict[str, Any]]) -> None:
    for name, svc in app_services.items():
        depends = svc.get("depends_on")
        assert isinstance(depends, dict), f"{name}: depends_on must give conditions"
        for dependency in ("kafka", "mongo"):
            assert (depends.get(dependency) or {}).get("condition") == "service_healthy", (
                f"{name} must wait for {dependency} to be healthy")
    for dependency in ("kafka", "mongo"):
        test = (compose["services"][dependency].get("healthcheck") or {}).get("test")
        assert test, f"{dependency} needs a healthcheck for condition service_healthy"


def test_kafka_is_a_single_kraft_node_without_topic_auto_creation(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    env = environment_of(kafka)
    assert kafka["image"].startswith("apache/kafka")
    assert set(str(env["KAFKA_PROCESS_ROLES"]).split(",")) == {"broker", "controller"}
    assert str(env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"]).lower() == "false"
    assert "PLAINTEXT://kafka:9092" in str(env["KAFKA_ADVERTISED_LISTENERS"])
    assert str(env["KAFKA_CONTROLLER_QUORUM_VOTERS"]) == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    for key, value in env.items():
        if key.endswith(("REPLICATION_FACTOR", "MIN_ISR")):
            assert int(value) == 1, key
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", str(env["CLUSTER_ID"])), "CLUSTER_ID must be a base64 UUID"
    assert "kafka-broker-api-versions.sh" in " ".join(map(str, kafka["healthcheck"]["test"]))
    for service in compose["services"].values():
        if "build" in service:
            assert environment_of(service)["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"


# mongod aborts a transaction this many seconds after it started (transactionLifetimeLimitSeconds; 60 by
# default): a service killed inside a transaction must not hold its documents for a minute (issue 12; the
# embedded stack's SecantusDB has runtime.stack.TRANSACTION_LIFETIME_SECONDS, counted from the last use).
MONGO_TRANSACTION_LIFETIME_S = 15


def transaction_lifetime(command: list[str]) -> int | None:
    """mongod's ``transactionLifetimeLimitSeconds`` in a command line (None: its default, 60 s)."""
    for flag, value in zip(command, command[1:]):
        if flag == "--setParameter" and value.startswith("transactionLifetimeLimitSeconds="):
            return int(value.partition("=")[2])
    return None


def test_mongo_is_a_single_node_replica_set(compose: dict[str, Any],
                                            app_services: dict[str, dict[str, Any]]) -> None:
    mongo = compose["services"]["mongo"]
    command = mongo["command"] if isinstance(mongo["command"], list) else shlex.split(mongo["command"])
    assert command[command.index("--replSet") + 1] == "rs0"
    assert "--bind_ip_all" in command
    assert transaction_lifetime(command) == MONGO_TRANSACTION_LIFETIME_S
    check = " ".join(map(str, mongo["healthcheck"]["test"]))
    assert "rs.initiate" in check and "_id:'rs0'" in check and "mongo:27017" in check
    for name, svc in app_services.items():
        assert "replicaSet=rs0" in environment_of(svc)["MONGODB_URI"], name


# --------------------------------------------------------------------------------------------
# docker-compose.production.yml: three brokers, a three-member replica set, replicated services


BROKER_PORT, CONTROLLER_PORT, MONGO_PORT = 9092, 9093, 27017
REPLICATION_FACTOR, MIN_INSYNC_REPLICAS, KAFKA_BROKERS, MONGO_MEMBERS = 3, 2, 3, 3


@pytest.fixture(scope="module")
def production() -> dict[str, Any]:
    data = yaml.safe_load(PRODUCTION_FILE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


@pytest.fixture(scope="module")
def production_apps(production: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return _app_services(production)


def brokers_of(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in compose["services"].items()
            if str(svc.get("image", "")).startswith("apache/kafka")}


def command_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return [str(c) for c in command] if isinstance(command, list) else shlex.split(command)


def mongo_members_of(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The mongod services: a mongo image started with ``--replSet``."""
    return {name: svc for name, svc in compose["services"].items()
            if str(svc.get("image", "")).startswith("mongo:") and "--replSet" in command_of(svc)}


def address_of(name: str, service: dict[str, Any]) -> str:
    """The host name other containers reach a service by (its hostname, else its service name)."""
    return str(service.get("hostname") or name)


def listener_port(listeners: str, name: str) -> int:
    (port,) = [int(item.rsplit(":", 1)[1]) for item in str(listeners).split(",") if item.split("://")[0] == name]
    return port


def test_production_has_three_kraft_brokers_with_one_quorum(production: dict[str, Any]) -> None:
    brokers = brokers_of(production)
    assert len(brokers) == KAFKA_BROKERS, f"brokers: {sorted(brokers)}"
    envs = {name: environment_of(svc) for name, svc in brokers.items()}
    ids = {name: int(env["KAFKA_NODE_ID"]) for name, env in envs.items()}
    assert len(set(ids.values())) == KAFKA_BROKERS, f"node ids must be distinct: {ids}"
    # every broker votes in the same quorum, which names each broker by its id and controller listener
    expected_voters = {f"{ids[name]}@{address_of(name, svc)}:{listener_port(envs[name]['KAFKA_LISTENERS'], 'CONTROLLER')}"
                       for name, svc in brokers.items()}
    for name, env in envs.items():
        assert brokers[name]["image"] == "apache/kafka:4.1.1", name
        assert set(str(env["KAFKA_PROCESS_ROLES"]).split(",")) == {"broker", "controller"}, name
        voters = str(env["KAFKA_CONTROLLER_QUORUM_VOTERS"]).split(",")
        assert len(voters) == len(set(voters)) and set(voters) == expected_voters, (
            f"{name}: controller quorum voters {voters} differ from the brokers {sorted(expected_voters)}")
        assert str(env["CLUSTER_ID"]) == str(envs[next(iter(envs))]["CLUSTER_ID"]), f"{name}: another CLUSTER_ID"
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", str(env["CLUSTER_ID"])), "CLUSTER_ID must be a base64 UUID"
        assert str(env["KAFKA_ADVERTISED_LISTENERS"]) == (
            f"PLAINTEXT://{address_of(name, brokers[name])}:{listener_port(env['KAFKA_LISTENERS'], 'PLAINTEXT')}"), name
        assert str(env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"]).lower() == "false", name
        assert str(env.get("KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE", "false")).lower() == "false", name
        assert "kafka-broker-api-versions.sh" in " ".join(map(str, brokers[name]["healthcheck"]["test"])), name
    data = {name: [source for kind, source, target in mounts_of(svc) if target == envs[name]["KAFKA_LOG_DIRS"]]
            for name, svc in brokers.items()}
    volumes = [v for sources in data.values() for v in sources]
    assert len(volumes) == KAFKA_BROKERS and len(set(volumes)) == KAFKA_BROKERS, f"one log volume each: {data}"


def test_production_brokers_replicate_three_times_and_need_two_in_sync(production: dict[str, Any]) -> None:
    for name, svc in brokers_of(production).items():
        env = environment_of(svc)
        for key in ("KAFKA_DEFAULT_REPLICATION_FACTOR", "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
                    "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "KAFKA_MIN_INSYNC_REPLICAS",
                    "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"):
            assert key in env, f"{name}: {key} not set"
        for key, value in env.items():
            if key.endswith("REPLICATION_FACTOR"):
                assert int(value) == REPLICATION_FACTOR, f"{name}: {key}={value}"
            if key.endswith(("MIN_ISR", "MIN_INSYNC_REPLICAS")):
                assert int(value) == MIN_INSYNC_REPLICAS, f"{name}: {key}={value}"


def test_production_mongo_is_a_three_member_replica_set_initiated_once(production: dict[str, Any]) -> None:
    members = mongo_members_of(production)
    assert len(members) == MONGO_MEMBERS, f"mongod services: {sorted(members)}"
    for name, svc in members.items():
        command = command_of(svc)
        assert command[command.index("--replSet") + 1] == "rs0" and "--bind_ip_all" in command, name
        assert transaction_lifetime(command) == MONGO_TRANSACTION_LIFETIME_S, name
        assert svc["image"] == "mongo:7", name
        assert (svc.get("healthcheck") or {}).get("test"), f"{name}: the init container waits for its health"
    inits = {name: svc for name, svc in production["services"].items()
             if "rs.initiate" in " ".join(command_of(svc) + [str(svc.get("entrypoint", ""))])}
    assert len(inits) == 1, f"one init container initiates rs0: {sorted(inits)}"
    (init_name, init), = inits.items()
    assert str(init.get("restart", "no")) == "no", "the init container is a one-shot"
    assert init["image"] == "mongo:7"
    script = " ".join(command_of(init))
    config = re.search(r"rs\.initiate\((.*?)\)\s*\}", script, re.S)
    assert config, "rs.initiate(...) not found"
    assert re.search(r"_id\s*:\s*'rs0'", config.group(1)), "the replica set is rs0"
    hosts = re.findall(r"host\s*:\s*'([^']+)'", config.group(1))
    ids = re.findall(r"\{\s*_id\s*:\s*(\d+)", config.group(1))
    assert sorted(hosts) == sorted(f"{address_of(n, s)}:{MONGO_PORT}" for n, s in members.items()), hosts
    assert len(ids) == MONGO_MEMBERS and len(set(ids)) == MONGO_MEMBERS, f"member _ids must be distinct: {ids}"
    host_flag = command_of(init)[command_of(init).index("--host") + 1]
    assert host_flag in hosts, "the init container talks to a member"
    depends = init.get("depends_on") or {}
    assert {n: (depends.get(n) or {}).get("condition") for n in members} == dict.fromkeys(members, "service_healthy")
    assert "PRIMARY" in script and "quit(1)" in script, "it waits for a primary and fails without one"
    data = [source for svc in members.values() for kind, source, target in mounts_of(svc) if target == "/data/db"]
    assert len(set(data)) == MONGO_MEMBERS, f"one data volume per member: {data}"


def test_production_services_have_the_production_settings(production: dict[str, Any],
                                                          production_apps: dict[str, dict[str, Any]],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    brokers = brokers_of(production)
    bootstrap = {f"{address_of(n, s)}:{listener_port(environment_of(s)['KAFKA_LISTENERS'], 'PLAINTEXT')}"
                 for n, s in brokers.items()}
    members = {f"{address_of(n, s)}:{MONGO_PORT}" for n, s in mongo_members_of(production).items()}
    (init_name,) = [n for n, s in production["services"].items() if "rs.initiate" in " ".join(command_of(s))]
    for name, svc in production_apps.items():
        settings = settings_of(svc, monkeypatch)
        assert set(settings.kafka_bootstrap_servers.split(",")) == bootstrap, f"{name}: not every broker"
        assert settings.kafka_replication_factor == REPLICATION_FACTOR, name
        assert settings.kafka_min_insync_replicas == MIN_INSYNC_REPLICAS, name
        assert settings.kafka_idempotent_producer is True, name
        uri = settings.mongodb_uri
        assert uri.startswith("mongodb://") and "directConnection" not in uri, name
        hosts, _, query = uri.removeprefix("mongodb://").partition("/")
        assert set(hosts.split(",")) == members, f"{name}: MONGODB_URI must list every member"
        params = dict(p.split("=", 1) for p in query.lstrip("?").split("&") if p)
        assert params.get("replicaSet") == "rs0" and params.get("w") == "majority", f"{name}: {params}"
        depends = svc.get("depends_on") or {}
        for broker in brokers:
            assert (depends.get(broker) or {}).get("condition") == "service_healthy", f"{name} waits for {broker}"
        assert (depends.get(init_name) or {}).get("condition") == "service_completed_successfully", (
            f"{name} waits for rs0 to be initiated")


def replicas_of(service: dict[str, Any]) -> int:
    return int(((service.get("deploy") or {}).get("replicas")) or 1)


def test_production_services_are_replicated_without_host_ports(production_apps: dict[str, dict[str, Any]]) -> None:
    for name, svc in production_apps.items():
        assert replicas_of(svc) >= 2, f"{name}: deploy.replicas must be 2 or more"
        assert not svc.get("ports"), f"{name}: replicas cannot share a host port (the gateway publishes it)"
        assert "container_name" not in svc and "hostname" not in svc, f"{name}: replicas need their own names"
        assert int(environment_of(svc)["HTTP_PORT"]) in {int(p) for p in svc.get("expose") or []}, name


def test_partitions_let_every_consumer_instance_work(production_apps: dict[str, dict[str, Any]]) -> None:
    """A consumer group has work for as many instances as the partitions of each topic it reads."""
    from contracts.topics import topic_by_name
    from runtime.service import discover

    for name, definition in discover().items():
        replicas = replicas_of(production_apps[name])
        for consumer in definition.consumers():
            for topic in consumer.topics:
                partitions = topic_by_name(topic).partitions
                assert partitions >= replicas, (
                    f"{name}: {replicas} instances but {topic}, read by {consumer.name}, has {partitions} partitions")


def test_deploy_readme_writes_down_each_group_and_its_partitions() -> None:
    """deploy/README.md's table: one row per consumer group, with how far it scales out."""
    from contracts.topics import topic_by_name
    from runtime.service import discover

    text = (ROOT / "deploy" / "README.md").read_text()
    rows = {}
    for line in text.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 5 and cells[4].isdigit():
            rows[cells[0], cells[1]] = int(cells[4])
    expected = {(name, consumer.name): min(topic_by_name(t).partitions for t in consumer.topics)
                for name, definition in discover().items() for consumer in definition.consumers()}
    assert rows == expected, "deploy/README.md's scale-out table differs from the bootstraps and the catalogue"


def test_gateway_spreads_each_service_over_its_instances(production: dict[str, Any],
                                                        production_apps: dict[str, dict[str, Any]]) -> None:
    gateways = {n: s for n, s in production["services"].items() if str(s.get("image", "")).startswith("caddy:")}
    assert len(gateways) == 1, f"one gateway: {sorted(gateways)}"
    (gateway,) = gateways.values()
    command = command_of(gateway)
    config_path = host_path(gateway, command[command.index("--config") + 1])
    assert config_path == (PRODUCTION_DIR / "caddy.json").resolve(), "the gateway must load deploy/production/caddy.json"
    config = json.loads(config_path.read_text())
    published = {container_port(p) for p in gateway.get("ports") or []}
    routes = {}
    for server in config["apps"]["http"]["servers"].values():
        ports = {int(addr.rsplit(":", 1)[1]) for addr in server["listen"]}
        for route in server["routes"]:
            for handler in route["handle"]:
                if handler["handler"] == "reverse_proxy":
                    for port in ports:
                        routes[port] = handler
    for name, svc in production_apps.items():
        port = int(environment_of(svc)["HTTP_PORT"])
        assert port in published, f"the gateway does not publish {name}'s port {port}"
        handler = routes.get(port)
        assert handler is not None, f"the gateway does not listen on {name}'s port {port}"
        assert not handler.get("upstreams"), f"{port}: a fixed upstream reaches one instance only"
        upstreams = handler.get("dynamic_upstreams") or {}
        assert upstreams.get("source") == "a" and upstreams.get("name") == name, (
            f"port {port}: must proxy to every address of {name}, not {upstreams}")
        assert int(upstreams["port"]) == port, f"port {port}: upstream port {upstreams['port']}"
        assert handler.get("load_balancing", {}).get("try_duration"), f"{port}: no retry on a dead instance"
    assert (gateway.get("depends_on") and set(production_apps) <= set(gateway["depends_on"])), "gateway depends_on"


def test_production_prometheus_scrapes_every_instance(production: dict[str, Any],
                                                      production_apps: dict[str, dict[str, Any]],
                                                      prometheus_config: dict[str, Any]) -> None:
    prometheus = production["services"]["prometheus"]
    flags = dict(f.split("=", 1) for f in prometheus.get("command", []) if "=" in f)
    config_file = host_path(prometheus, flags["--config.file"])
    assert config_file == (PRODUCTION_DIR / "prometheus.yml").resolve()
    config = yaml.safe_load(config_file.read_text())
    assert {host_path(prometheus, p) for p in config["rule_files"]} == {ALERTS_FILE.resolve()}
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "cress-services"]  # the alerts' job
    assert job.get("metrics_path", "/metrics") == "/metrics" and not job.get("static_configs")
    discovered = {(name, int(sd["port"])) for sd in job["dns_sd_configs"] if sd.get("type", "SRV") == "A"
                  for name in sd["names"]}
    for name, svc in production_apps.items():
        assert (name, int(environment_of(svc)["HTTP_PORT"])) in discovered, f"Prometheus misses instances of {name}"
    assert config["global"] == prometheus_config["global"], "same intervals as the single-node stack"


def test_promtool_accepts_the_production_prometheus_config(tmp_path: Path) -> None:
    config = yaml.safe_load((PRODUCTION_DIR / "prometheus.yml").read_text())
    config["rule_files"] = [str(ALERTS_FILE)]  # the path it has in the container
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    result = subprocess.run([PROMTOOL, "check", "config", str(tmp_path / "prometheus.yml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------------------------
# deploy/Dockerfile and .dockerignore


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_dockerfile() -> None:
    instructions = _dockerfile_instructions()
    by_keyword: dict[str, list[str]] = {}
    for keyword, rest in instructions:
        by_keyword.setdefault(keyword, []).append(rest)
    assert by_keyword["FROM"] == ["python:3.11-slim"]
    assert any(arg.split("=")[0] == "SERVICE" for arg in by_keyword["ARG"])
    assert any("SERVICE_NAME=" in env for env in by_keyword["ENV"])
    assert by_keyword["USER"][-1] not in ("root", "0"), "the image must run as a non-root user"
    assert [k for k, _ in instructions].index("USER") < [k for k, _ in instructions].index("CMD")
    installs = [run for run in by_keyword["RUN"] if "pip install" in run]
    assert installs and all(".[" not in run and "-e " not in run for run in installs), "no extras, no editable"
    assert any("--no-cache-dir ." in run for run in installs)
    assert by_keyword.get("EXPOSE")
    (healthcheck,) = by_keyword["HEALTHCHECK"]
    assert "/healthz" in healthcheck and "python" in healthcheck and "curl" not in healthcheck
    (cmd,) = by_keyword["CMD"]
    assert not cmd.startswith("["), "CMD must be in shell form so that the variables expand"
    assert "uvicorn" in cmd and "--factory runtime.http:app_from_environment" in cmd and "${HTTP_PORT}" in cmd
    assert "0.0.0.0" in cmd


@pytest.mark.parametrize(("env", "expected"), [
    ({"HOSTNAME": "3f2a9c1d7b4e"}, "3f2a9c1d7b4e"),  # Docker: the container's id, kept across its restarts
    ({"HOSTNAME": "3f2a9c1d7b4e", "KAFKA_GROUP_INSTANCE": "membership-2"}, "membership-2"),  # set: kept
    ({}, None),  # no host name: dynamic membership (an empty name would be refused by the settings)
])
def test_the_image_names_its_consumers_after_the_container(tmp_path: Path, env: dict[str, str],
                                                           expected: str | None) -> None:
    """The image's CMD, run by a real shell with a stand-in uvicorn that prints what it was given: the
    consumers' static membership name is the container's host name unless one is set."""
    (cmd,) = [rest for keyword, rest in _dockerfile_instructions() if keyword == "CMD"]
    stand_in = tmp_path / "uvicorn"
    stand_in.write_text('#!/bin/sh\nprintf "%s|%s" "${KAFKA_GROUP_INSTANCE-unset}" "$*"\n')
    stand_in.chmod(0o755)
    shell = shutil.which("sh")
    result = subprocess.run([shell, "-c", cmd], env={"PATH": f"{tmp_path}:/usr/bin:/bin", "HTTP_PORT": "8003", **env},
                            capture_output=True, text=True, check=True)
    name, _, args = result.stdout.partition("|")
    assert name == (expected if expected is not None else "unset")
    assert args == "--factory runtime.http:app_from_environment --host 0.0.0.0 --port 8003"


def test_dockerfile_copies_exist_and_are_not_ignored() -> None:
    ignore = ROOT / ".dockerignore"
    assert ignore.is_file()
    patterns = [line.strip().rstrip("/") for line in ignore.read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for keyword, rest in _dockerfile_instructions():
        if keyword not in ("COPY", "ADD"):
            continue
        args = [a for a in shlex.split(rest) if not a.startswith("--")]
        assert not any(a.startswith("--from") for a in shlex.split(rest))
        for source in args[:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: not in the build context"
            parts = PurePosixPath(source).parts
            for pattern in patterns:
                assert not any(pattern == "/".join(parts[: i + 1]) for i in range(len(parts))), (
                    f"COPY {source} is excluded by .dockerignore ({pattern})")
    for excluded in (".venv", ".git", ".data", "tests"):
        assert excluded in patterns, f".dockerignore should exclude {excluded}"


# --------------------------------------------------------------------------------------------
# Prometheus


def test_prometheus_is_mounted_and_loads_the_alert_rules(compose: dict[str, Any],
                                                         prometheus_config: dict[str, Any]) -> None:
    prometheus = compose["services"]["prometheus"]
    flags = dict(f.split("=", 1) for f in prometheus.get("command", []) if "=" in f)
    config_path = flags.get("--config.file", "/etc/prometheus/prometheus.yml")
    assert host_path(prometheus, config_path) == PROMETHEUS_FILE.resolve()
    rule_files = prometheus_config.get("rule_files") or []
    assert rule_files, "no rule_files"
    mounted = {host_path(prometheus, path) for path in rule_files}
    assert None not in mounted, f"rule files not mounted: {rule_files}"
    assert ALERTS_FILE.resolve() in mounted


def test_prometheus_configuration_is_generated_from_the_bootstraps() -> None:
    from runtime.stack import compose_prometheus_config

    assert PROMETHEUS_FILE.read_text() == compose_prometheus_config(), (
        "deploy/prometheus/prometheus.yml is stale: run `python -m runtime.stack prometheus-config --write`")


def test_prometheus_scrapes_every_app_service(app_services: dict[str, dict[str, Any]],
                                              prometheus_config: dict[str, Any]) -> None:
    targets = set()
    for job in prometheus_config["scrape_configs"]:
        if job.get("metrics_path", "/metrics") != "/metrics":
            continue
        assert job.get("scrape_interval", prometheus_config["global"]["scrape_interval"]) == "15s"
        for static in job.get("static_configs", []):
            assert "service" not in (static.get("labels") or {}), (
                "a target label `service` would clash with the metrics' own label")
            targets.update(static.get("targets", []))
    for name, svc in app_services.items():
        port = environment_of(svc)["HTTP_PORT"]
        assert f"{name}:{port}" in targets, f"Prometheus does not scrape {name}:{port}"


def test_no_metric_carries_a_label_prometheus_sets_itself() -> None:
    from runtime import metrics

    collectors = [v for v in vars(metrics).values() if hasattr(v, "_labelnames")]
    assert collectors
    for collector in collectors:
        assert not {"job", "instance"} & set(collector._labelnames), (
            f"{collector._name}: `job`/`instance` would be renamed exported_* by the scrape")


def test_alert_rules_use_known_metrics(alert_rules: list[dict[str, Any]]) -> None:
    used: set[str] = set()
    for rule in alert_rules:
        assert rule.get("alert") and rule.get("expr"), rule
        assert rule.get("labels", {}).get("severity"), rule["alert"]
        assert rule.get("annotations", {}).get("summary"), rule["alert"]
        names = promql_metric_names(rule["expr"]) | cress_identifiers(rule["expr"])
        unknown = names - KNOWN_METRIC_NAMES - {"up"}
        assert not unknown, f"{rule['alert']}: unknown metrics {sorted(unknown)}"
        used |= names
    expected = {"up", "cress_dependency_up", "cress_outbox_oldest_pending_age_seconds",
                "cress_dead_letters_total", "cress_http_requests_total", "cress_messages_failed_total",
                "cress_job_runs_total", "cress_webhook_backlog_messages", "cress_webhook_deliveries_total",
                "cress_webhook_endpoints_disabled_total", "cress_webhook_delivery_lease_held"}
    assert expected <= used, f"no alert on {sorted(expected - used)}"


ALERTS_TESTS = sorted((ROOT / "tests" / "contract" / "prometheus").glob("*_test.yml"))


def test_promtool_accepts_the_alert_rules() -> None:
    result = subprocess.run([PROMTOOL, "check", "rules", str(ALERTS_FILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("tests_file", ALERTS_TESTS, ids=lambda p: p.name)
def test_alerts_fire_as_their_unit_tests_say(tests_file: Path) -> None:
    """``promtool test rules``: synthetic series in, the alerts (labels and annotations) that must fire out."""
    result = subprocess.run([PROMTOOL, "test", "rules", tests_file.name], capture_output=True, text=True,
                            cwd=tests_file.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promql_metric_extraction() -> None:
    expr = ('histogram_quantile(0.95, sum by (le, route) (rate(cress_http_request_duration_seconds_bucket'
            '{service=~"$service", route!="/x"}[$__rate_interval]))) / on(service) up offset 5m > 0.01')
    assert promql_metric_names(expr) == {"cress_http_request_duration_seconds", "up"}
    assert cress_identifiers("label_values(cress_http_requests_total, service)") == {"cress_http_requests_total"}


# --------------------------------------------------------------------------------------------
# Grafana


def test_grafana_provisioning(compose: dict[str, Any], dashboard: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    provisioning = host_path(grafana, "/etc/grafana/provisioning")
    assert provisioning == (GRAFANA_DIR / "provisioning").resolve()

    datasources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    uids = {ds["uid"] for ds in datasources["datasources"]}
    assert any(ds["type"] == "prometheus" and ds["url"] == "http://prometheus:9090"
               for ds in datasources["datasources"])

    providers = yaml.safe_load((provisioning / "dashboards" / "dashboards.yml").read_text())["providers"]
    dashboard_dirs = {host_path(grafana, p["options"]["path"]) for p in providers}
    assert DASHBOARD_FILE.parent.resolve() in dashboard_dirs, "the dashboards directory is not provisioned"

    home = environment_of(grafana).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:
        home_path = host_path(grafana, home)
        assert home_path is not None and home_path.is_file(), f"home dashboard {home} not mounted"

    for panel in all_panels(dashboard):
        if panel["type"] == "row":
            continue
        sources = [panel.get("datasource")] + [t.get("datasource") for t in panel["targets"]]
        for source in filter(None, sources):
            assert source["uid"] in uids, f"panel {panel['title']!r}: unknown datasource {source['uid']}"


def test_dashboard_is_well_formed(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] and dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 36
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    service = variables["service"]
    query = service["query"]["query"] if isinstance(service["query"], dict) else service["query"]
    assert re.sub(r"\s", "", query) == "label_values(cress_http_requests_total,service)"
    panels = all_panels(dashboard)
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels:
        assert "gridPos" in panel, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel.get("targets"), f"panel {panel['title']!r} has no targets"
        for target in panel["targets"]:
            assert target.get("expr") and target.get("refId"), panel["title"]


def test_dashboard_uses_known_metrics_and_all_of_them(dashboard: dict[str, Any]) -> None:
    used: set[str] = set()
    for panel in all_panels(dashboard):
        for target in panel.get("targets", []):
            names = promql_metric_names(target["expr"]) | cress_identifiers(target["expr"])
            unknown = names - KNOWN_METRIC_NAMES - {"up"}
            assert not unknown, f"panel {panel['title']!r}: unknown metrics {sorted(unknown)}"
            used |= names
    for variable in dashboard["templating"]["list"]:
        unknown = cress_identifiers(json.dumps(variable.get("query", ""))) - KNOWN_METRIC_NAMES
        assert not unknown, f"variable {variable['name']}: unknown metrics {sorted(unknown)}"
    missing = (set(DOCUMENTED_METRIC_NAMES) | {n for n in KNOWN_METRIC_NAMES if n.startswith("cress_webhook_")}) - used
    assert not missing, f"no panel shows {sorted(missing)}"
    titles = " ".join(p["title"].lower() for p in all_panels(dashboard))
    for word in ("request rate", "5xx", "p99", "published", "consumed", "handler duration", "failed",
                 "backlog", "oldest", "dead letters", "dependencies", "job runs", "webhook deliveries by outcome",
                 "webhook delivery latency", "webhook backlog per endpoint", "endpoints disabled", "lease holder"):
        assert word in titles, f"no panel about {word}"
