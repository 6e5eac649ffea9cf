"""A service's process loads its own service's modules, not the others': importing every bootstrap (and
their repositories, domains and contracts) cost 0.3–0.8 s of CPU at each start, and a service restarted
after a SIGKILL must answer again quickly (issue 12)."""
import os
import subprocess
import sys

import pytest

from runtime.service import discover, service

PROBE = """
import sys
from runtime.http import app_from_environment
app_from_environment()
print(sorted({name.split(".")[1] for name in sys.modules if name.startswith("services.") and name.count(".") >= 1}))
"""


@pytest.mark.parametrize("name", ["webhooks", "membership"])
def test_a_services_app_imports_no_other_service(name):
    # A fresh interpreter: the test session has long imported everything.
    out = subprocess.run([sys.executable, "-c", PROBE], check=True, capture_output=True, text=True,
                         env={**os.environ, "SERVICE_NAME": name}).stdout
    assert out.strip() == repr([name])


def test_an_unknown_service_is_named_with_the_known_ones():
    with pytest.raises(KeyError) as caught:
        service("nope")
    assert "'nope'" in str(caught.value) and all(known in str(caught.value) for known in discover())
