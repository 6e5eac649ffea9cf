"""The events service starts without loading the scheduler's solver: OR-Tools (and the pandas it
brings) cost about a quarter of its start-up, and a service restarted after a SIGKILL must answer again
quickly (issue 12). The first scheduling run loads it."""
import subprocess
import sys

PROBE = """
import sys
import services.events.bootstrap
print(sorted(name for name in ("ortools", "pandas") if name in sys.modules))
from services.events.domain import scheduling
print(callable(scheduling.schedule), callable(scheduling.replan), "ortools" in sys.modules)
"""


def test_the_solver_is_loaded_on_first_use_not_at_start():
    # A fresh interpreter: the test session has long imported everything.
    out = subprocess.run([sys.executable, "-c", PROBE], check=True, capture_output=True, text=True).stdout
    assert out.split("\n")[:2] == ["[]", "True True True"]
