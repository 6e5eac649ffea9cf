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
