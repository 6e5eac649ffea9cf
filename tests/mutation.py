"""``make mutation``: mutmut over runtime/ and each service's domain, then a summary per module.

    python -m tests.mutation run [PATH_OR_MUTANT ...] [--jobs N]   # mutate, test, summarise
    python -m tests.mutation summary [PATH ...] [--markdown]        # the last results, per module
    python -m tests.mutation survivors [PATH ...]                   # the surviving mutants' diffs

A PATH narrows the run to a module (``runtime/outbox.py``) or a package (``services/membership/domain``);
anything else (``runtime.lease.x_abandoned__mutmut_3``, ``runtime.lease.*``) is given to mutmut as a
mutant name or glob. Without one, the whole scope of ``[tool.mutmut]`` in pyproject.toml (hours).

mutmut 3 keeps its work in ``mutants/`` (a copy of the sources with every mutant behind a trampoline,
and a ``.meta`` file per module with each mutant's exit code and duration): a later run reuses the
test-coverage map it collected the first time, and re-runs the mutants it is asked for.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "mutants"

# mutmut's exit codes (mutmut.stats.status_by_exit_code), grouped as the README counts them
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped",
          36: "timeout", -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout", None: "not checked"}


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]


def scope() -> list[Path]:
    """Every module mutmut mutates, relative to the repository."""
    config = _config()
    found = []
    for source in config["source_paths"]:
        for path in sorted((ROOT / source).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if any(fnmatch(str(relative), pattern) for pattern in config["only_mutate"]):
                found.append(relative)
    return found


def _module(path: Path) -> str:
    dotted = ".".join(path.with_suffix("").parts)
    return dotted.removesuffix(".__init__")


def _is_path(arg: str) -> bool:
    return "/" in arg or arg.endswith(".py")


def selected(args: list[str]) -> list[Path]:
    """The modules of scope() that ``args`` (paths) name; all of them without paths."""
    paths = [Path(a.rstrip("/")) for a in args if _is_path(a)]
    every = scope()
    if not paths:
        return every
    chosen = [m for m in every if any(m == p or p in m.parents for p in paths)]
    unknown = [p for p in paths if not any(m == p or p in m.parents for m in every)]
    if unknown:
        raise SystemExit(f"not in the mutation scope ([tool.mutmut] only_mutate): {', '.join(map(str, unknown))}")
    return chosen


def mutant_globs(args: list[str]) -> list[str]:
    """mutmut's mutant-name globs for ``args``: a module's mutants are ``<dotted module>.x…__mutmut_N``."""
    globs = []
    for arg in args:
        if not _is_path(arg):
            globs.append(arg)
            continue
        globs.append(f"{_module(Path(arg.rstrip('/')))}.*")
    return globs


def results(path: Path) -> tuple[dict[str, int | None], dict[str, float]]:
    meta = MUTANTS / f"{path}.meta"
    if not meta.exists():
        return {}, {}
    data = json.loads(meta.read_text())
    return data["exit_code_by_key"], data.get("durations_by_key", {})


def summary(modules: list[Path], *, markdown: bool = False) -> list[str]:
    rows = []
    totals: Counter[str] = Counter()
    seconds_total = 0.0
    for path in modules:
        codes, durations = results(path)
        if not codes:
            continue
        counts = Counter(STATUS.get(code, "suspicious") for code in codes.values())
        seconds = sum(durations.values())
        totals.update(counts)
        totals["total"] += len(codes)
        seconds_total += seconds
        rows.append((str(path), len(codes), counts, seconds))
    columns = ("killed", "survived", "no tests", "timeout", "suspicious", "not checked")
    lines = []
    if markdown:
        lines.append("| module | mutants | " + " | ".join(columns) + " | test time (s) |")
        lines.append("|---|---:|" + "---:|" * len(columns) + "---:|")
        for name, total, counts, seconds in rows:
            lines.append(f"| `{name}` | {total} | " + " | ".join(str(counts[c]) for c in columns)
                         + f" | {seconds:.0f} |")
        return lines
    header = f"{'module':55} {'mutants':>7} " + " ".join(f"{c:>11}" for c in columns) + f" {'seconds':>8}"
    lines.append(header)
    for name, total, counts, seconds in rows:
        lines.append(f"{name:55} {total:7} " + " ".join(f"{counts[c]:11}" for c in columns) + f" {seconds:8.0f}")
    lines.append(f"{'all':55} {totals['total']:7} " + " ".join(f"{totals[c]:11}" for c in columns)
                 + f" {seconds_total:8.0f}")
    return lines


def survivors(modules: list[Path]) -> list[str]:
    names = []
    for path in modules:
        codes, _ = results(path)
        names += sorted((k for k, v in codes.items() if STATUS.get(v) == "survived"),
                        key=lambda k: (k.rpartition("__mutmut_")[0], int(k.rpartition("__mutmut_")[2])))
    return names


def _mutmut() -> str:
    return str(Path(sys.executable).parent / "mutmut")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("run", "summary", "survivors"))
    parser.add_argument("targets", nargs="*", help="modules, packages (paths) or mutant names / globs")
    parser.add_argument("--jobs", type=int, default=1, help="mutants tested at once (default 1)")
    parser.add_argument("--markdown", action="store_true", help="the summary as a README table")
    args = parser.parse_args(argv)
    modules = selected(args.targets)
    if args.command == "run":
        command = [_mutmut(), "run", "--max-children", str(args.jobs), *mutant_globs(args.targets)]
        print("$", " ".join(command), flush=True)
        done = subprocess.run(command, cwd=ROOT)
        print("\n".join(summary(modules)))
        return done.returncode
    if args.command == "summary":
        print("\n".join(summary(modules, markdown=args.markdown)))
        return 0
    for name in survivors(modules):
        shown = subprocess.run([_mutmut(), "show", name], cwd=ROOT, capture_output=True, text=True)
        print(shown.stdout.rstrip())
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
