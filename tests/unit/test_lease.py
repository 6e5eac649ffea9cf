"""runtime.lease: a lease holder on this machine whose process is gone is dead; no other is."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

from runtime.lease import abandoned, owner_id


def test_a_holder_whose_process_is_gone_is_dead_and_no_other():
    host = socket.gethostname()
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    gone = int(done.stdout)  # that process has exited
    assert abandoned(f"{host}:{gone}:ab12")
    assert not abandoned(owner_id())  # this process
    assert not abandoned(f"{host}:{os.getppid()}:ab12")  # a live process
    assert not abandoned(f"elsewhere.example:{gone}:ab12")  # another machine: its lease lapses instead
    assert not abandoned(None) and not abandoned("") and not abandoned("no-pid-here")
    assert owner_id().startswith(f"{host}:{os.getpid()}:")


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class _Collection:
    """A lease collection that grants every request (its queries are the integration tests' concern:
    tests/integration/test_lease.py), counting them; a request takes ``delay`` monotonic seconds."""

    def __init__(self, clock: _Clock, owner: str, delay: float = 0.0) -> None:
        self.clock, self.owner, self.delay, self.requests = clock, owner, delay, 0

    async def find_one_and_update(self, *args, **kwargs):
        self.requests += 1
        self.clock.now += self.delay
        return {"_id": "relay", "owner": self.owner}


async def test_a_holder_counts_its_lease_on_the_monotonic_clock_from_before_its_request():
    from runtime.lease import Lease
    clock = _Clock()
    lease = Lease(None, "relay", seconds=9.0, owner="me", monotonic=clock)
    lease.collection = _Collection(clock, "me", delay=2.0)  # a slow answer: 2 s of the lease are gone
    assert not lease.held and lease.remaining == 0.0
    assert await lease.acquire()
    assert lease.held and lease.remaining == 7.0, "counted from the request's start, not its answer"
    clock.now += 6.9
    assert lease.held
    clock.now += 0.2
    assert not lease.held, "9 s after the request started, whatever the wall clock says"


async def test_hold_renews_after_a_third_of_the_lease_and_not_before():
    from runtime.lease import Lease
    clock = _Clock()
    lease = Lease(None, "relay", seconds=9.0, owner="me", monotonic=clock)
    lease.collection = store = _Collection(clock, "me")
    assert await lease.hold() and store.requests == 1
    clock.now += 2.9
    assert await lease.hold() and store.requests == 1, "more than two thirds left: no query"
    clock.now += 0.2
    assert await lease.hold() and store.requests == 2, "a third gone: renewed"


async def test_a_lease_held_by_another_is_not_held():
    from runtime.lease import Lease
    clock = _Clock()
    lease = Lease(None, "relay", seconds=9.0, owner="me", monotonic=clock)
    lease.collection = _Collection(clock, "someone else")
    assert not await lease.acquire() and not lease.held


def test_asking_whether_a_process_runs_does_not_signal_it():
    import signal
    host = socket.gethostname()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],  # any signal's default: it ends
                             preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL))  # (nohup ignores it)
    try:
        assert not abandoned(f"{host}:{alive.pid}:ab12")
    finally:
        alive.terminate()
    assert alive.wait() == -signal.SIGTERM, "it ran until terminated: no other signal reached it"


def test_a_holder_running_as_another_user_is_alive(monkeypatch):
    def refused(pid, signal):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr("runtime.lease.os.kill", refused)
    assert not abandoned(f"{socket.gethostname()}:4242:ab12")


def test_a_lease_may_last_less_than_a_second():
    from runtime.lease import Lease
    assert Lease(None, "relay", seconds=0.5).seconds == 0.5
