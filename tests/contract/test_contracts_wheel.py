"""The contracts wheel (packaging/contracts, ``make contracts-wheel``) installs and works on its own.

It is built as the make target builds it, installed with ``--no-deps`` into a fresh virtual
environment that has pydantic and nothing else of the platform (pydantic and its own
dependencies are made visible through a ``.pth`` to links, so the test needs no network), and run
from a directory outside the repository: the event models, the catalogue and the envelope import
and work there; ``runtime`` and ``services`` are not in it; the FastStream kit says which extra
it needs.
"""
from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

from contracts.base import registered_events
from contracts.topics import catalogue

ROOT = Path(__file__).resolve().parents[2]
PYDANTIC = ("pydantic", "pydantic_core", "typing_extensions", "annotated_types", "typing_inspection")

CHECK = """
import importlib.util, json
import contracts, contracts.envelope, contracts.membership
from contracts.base import registered_events
from contracts.topics import catalogue, topic_for
from contracts.envelope import CloudEvent
from contracts.membership import OrganisationRegistered
event = OrganisationRegistered(organisation_id="org-1", siret="73282932000074", name="Les Ateliers",
    legal_form="association", esus_agreed=False, esus_agreed_on=None, departement="93", commune="Montreuil",
    sector="réemploi", headcount=3, annual_budget_cents=100, registered_on="2026-11-01")
envelope = CloudEvent.from_domain(event, source="/cress/membership")
back = CloudEvent.from_kafka(envelope.kafka_headers(), envelope.kafka_value()).to_domain()
try:
    import contracts.faststream
    kit = "imported"
except ImportError as exc:
    kit = str(exc)
print(json.dumps({"file": contracts.__file__, "events": len(registered_events()), "topics": len(catalogue()),
                  "round_trip": back == event, "topic": topic_for(event.event_type).name,
                  "runtime": importlib.util.find_spec("runtime") is not None,
                  "services": importlib.util.find_spec("services") is not None, "kit": kit}))
"""


def build_wheel(out: Path) -> Path:
    isolation = [] if importlib.util.find_spec("wheel") and importlib.util.find_spec("setuptools") else None
    args = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out)]
    if isolation is not None:
        args.append("--no-build-isolation")  # offline, with this environment's setuptools and wheel
    try:
        subprocess.run([*args, str(ROOT / "packaging/contracts")], check=True, cwd=ROOT, timeout=300)
    finally:
        shutil.rmtree(ROOT / "packaging/contracts/build", ignore_errors=True)
        shutil.rmtree(ROOT / "cress_contracts.egg-info", ignore_errors=True)
    (wheel,) = out.glob("cress_contracts-*.whl")
    return wheel


def test_the_contracts_wheel_installs_alone_with_pydantic(tmp_path: Path):
    wheel = build_wheel(tmp_path / "dist")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        metadata = z.read(next(n for n in names if n.endswith("dist-info/METADATA"))).decode()
    assert {n.split("/")[0] for n in names} == {"contracts", wheel.name.split("-")[0] + "-0.1.0.dist-info"}
    assert "contracts/faststream.py" in names and "contracts/schemas/org.cress.membership.member-activated.v1.json" \
        in names
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert [r for r in requires if "extra ==" not in r] == ["Requires-Dist: pydantic>=2.7"]

    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env)
    python = env / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet",
                    str(wheel)], check=True, timeout=300)
    # pydantic and its own dependencies, and nothing else of this environment
    links = tmp_path / "pydantic-only"
    links.mkdir()
    for name in PYDANTIC:
        spec = importlib.util.find_spec(name)
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (links / source.name).symlink_to(source)
    site = next((env / "lib").glob("python3*/site-packages"))
    (site / "pydantic-only.pth").write_text(f"{links}\n")

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    run = subprocess.run([str(python), "-I", "-c", CHECK], cwd=outside, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout)
    assert found["file"].startswith(str(site)), found["file"]
    assert found["events"] == len(registered_events()) and found["topics"] == len(catalogue())
    assert found["round_trip"] and found["topic"] == "membership.organisation"
    assert (found["runtime"], found["services"]) == (False, False)
    assert "cress-contracts[faststream]" in found["kit"]
