"""SecantusDB's daemon with our transaction lifetime (runtime.secantusd): what the daemon's own command line is
given, and the server class it builds through. The daemon itself is not started (the integration tests' job):
``secantus.cli.main`` is replaced by a stand-in that records its arguments and the server class in force."""
from __future__ import annotations

import functools

import pytest
import secantus.cli
from secantus.server import SecantusDBServer

from runtime import secantusd


@pytest.fixture
def daemon(monkeypatch):
    """``secantus.cli.main`` recording what it is given; the daemon's ``SecantusDBServer`` put back after."""
    calls = []

    def main(argv):
        calls.append({"argv": argv, "server": secantus.cli.SecantusDBServer})
        return 7

    monkeypatch.setattr(secantus.cli, "SecantusDBServer", secantus.cli.SecantusDBServer)  # restored after the test
    monkeypatch.setattr(secantus.cli, "main", main)
    return calls


def test_the_daemon_gets_every_other_flag_and_builds_its_server_with_the_lifetime(daemon):
    code = secantusd.main(["--port", "27017", "--transaction-lifetime-seconds", "10", "--storage-path", "data/mongo",
                           "--enable-test-commands"])
    assert code == 7, "the daemon's exit code is returned"
    [call] = daemon
    assert call["argv"] == ["--port", "27017", "--storage-path", "data/mongo", "--enable-test-commands"]
    server = call["server"]
    assert isinstance(server, functools.partial) and server.func is SecantusDBServer
    assert server.args == () and server.keywords == {"transaction_lifetime_seconds": 10.0}
    assert type(server.keywords["transaction_lifetime_seconds"]) is float


def test_without_arguments_the_process_command_line_is_read_without_the_program_name(daemon, monkeypatch):
    monkeypatch.setattr("sys.argv", ["secantusd", "--transaction-lifetime-seconds", "0.5", "--host", "127.0.0.1"])
    assert secantusd.main() == 7
    [call] = daemon
    assert call["argv"] == ["--host", "127.0.0.1"]
    assert call["server"].keywords == {"transaction_lifetime_seconds": 0.5}, "half a second is a lifetime"


def test_the_daemon_s_own_help_flag_is_passed_on(daemon):
    """Our parser has no ``-h``: ``--help`` shows the daemon's flags, not ours alone."""
    secantusd.main(["--transaction-lifetime-seconds", "10", "--help"])
    assert daemon[0]["argv"] == ["--help"]


def test_the_lifetime_is_required(daemon, capsys):
    with pytest.raises(SystemExit) as exit_:
        secantusd.main(["--port", "27017"])
    assert exit_.value.code == 2 and daemon == []
    assert capsys.readouterr().err.rstrip().endswith(
        "error: the following arguments are required: --transaction-lifetime-seconds")


@pytest.mark.parametrize("seconds", ["0", "-1", "0.0"])
def test_a_lifetime_of_zero_or_less_is_refused_naming_the_flag(daemon, capsys, seconds):
    with pytest.raises(SystemExit) as exit_:
        secantusd.main([f"--transaction-lifetime-seconds={seconds}", "--port", "27017"])
    assert exit_.value.code == 2 and daemon == []
    assert capsys.readouterr().err.rstrip().endswith("error: --transaction-lifetime-seconds must be > 0")
    assert secantus.cli.SecantusDBServer is SecantusDBServer, "the daemon's server class is left alone"
