"""Committed JSON Schemas of the event types, and the compatibility check.

``python -m contracts.schemas write`` regenerates ``contracts/schemas/<type>.json``;
``python -m contracts.schemas check`` (run by the tests) fails when

- a committed schema differs from what the models generate (regenerate and commit), or
- a change within a version is not backward compatible: only *optional* fields may be
  added, and a bound may only be widened (a lower ``minimum`` or ``minLength``, a higher
  ``maximum`` or ``maxLength``: a reader of the new schema still reads every old event);
  removing a field, making one required, narrowing a bound or changing a field's schema
  needs a new type version (``….v2``), published beside the old one during a migration.
  (Consumers share the contracts package, so they read a widened range as soon as they
  are deployed with it: deploy consumers first.)
- a committed type has disappeared (its consumers would break).

The compatibility rule compares the working tree's generated schemas with the committed
files of ``git HEAD`` (or any directory passed as ``--against``).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer

from contracts.base import registered_events

SCHEMA_DIR = Path(__file__).parent / "schemas"


def generate() -> dict[str, dict[str, Any]]:
    out = {}
    for event_type, model in registered_events().items():
        schema = model.model_json_schema()
        schema["$id"] = f"urn:cress:event:{event_type}"
        schema["x-aggregate-type"] = model.aggregate_type
        schema["x-aggregate-id-field"] = model.aggregate_id_field
        out[event_type] = schema
    return out


def dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        schema = root.get("$defs", {}).get(name, {})
    return schema


_DOC_KEYS = {"description", "title", "examples", "default"}


def _shape(schema: Any, root: dict[str, Any]) -> Any:
    """A schema without documentation keys, references resolved (what a reader depends on)."""
    if isinstance(schema, dict):
        schema = _resolve(schema, root)
        return {k: _shape(v, root) for k, v in schema.items() if k not in _DOC_KEYS and k != "$defs"}
    if isinstance(schema, list):
        return [_shape(v, root) for v in schema]
    return schema


_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems")


def _widened(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether ``new`` differs from ``old`` only by bounds it widens (or drops)."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return False
    for key in _LOWER_BOUNDS + _UPPER_BOUNDS:
        if key in new and key not in old:
            return False  # a new bound narrows
        if key in old and key in new and (new[key] > old[key] if key in _LOWER_BOUNDS else new[key] < old[key]):
            return False
    strip = lambda s: {k: v for k, v in s.items() if k not in _LOWER_BOUNDS + _UPPER_BOUNDS}  # noqa: E731
    return strip(old) == strip(new)


def incompatibilities(old: dict[str, Any], new: dict[str, Any], path: str = "",
                      old_root: dict | None = None, new_root: dict | None = None) -> list[str]:
    """Why ``new`` cannot replace ``old`` within one version (empty when it can)."""
    old_root, new_root = old_root or old, new_root or new
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    problems: list[str] = []
    old_props, new_props = old.get("properties"), new.get("properties")
    if old_props is not None or new_props is not None:
        old_props, new_props = old_props or {}, new_props or {}
        old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
        for name in old_props:
            where = f"{path}.{name}" if path else name
            if name not in new_props:
                problems.append(f"field {where!r} was removed")
                continue
            if name in new_req and name not in old_req:
                problems.append(f"field {where!r} became required")
            problems += incompatibilities(old_props[name], new_props[name], where, old_root, new_root)
        for name in new_props:
            if name not in old_props and name in new_req:
                where = f"{path}.{name}" if path else name
                problems.append(f"new field {where!r} is required (only optional fields may be added)")
        rest_old = {k: v for k, v in old.items() if k not in ("properties", "required")}
        rest_new = {k: v for k, v in new.items() if k not in ("properties", "required")}
        if _shape(rest_old, old_root) != _shape(rest_new, new_root):
            problems.append(f"the object {path or '<root>'!r} changed shape")
        return problems
    old_shape, new_shape = _shape(old, old_root), _shape(new, new_root)
    if old_shape != new_shape and not _widened(old_shape, new_shape):
        problems.append(f"field {path or '<root>'!r} changed its schema")
    return problems


def _committed_at_head() -> dict[str, dict[str, Any]]:
    rel = SCHEMA_DIR.relative_to(Path(__file__).resolve().parent.parent)
    try:
        names = subprocess.run(["git", "ls-tree", "--name-only", "HEAD", f"{rel}/"], check=True,
                               capture_output=True, text=True, cwd=SCHEMA_DIR.parent.parent).stdout.split()
    except (subprocess.CalledProcessError, FileNotFoundError):
        return {}
    out = {}
    for name in names:
        if name.endswith(".json"):
            text = subprocess.run(["git", "show", f"HEAD:{name}"], check=True, capture_output=True, text=True,
                                  cwd=SCHEMA_DIR.parent.parent).stdout
            out[Path(name).stem] = json.loads(text)
    return out


def _read_dir(directory: Path) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))}


def check(against: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """Every problem with the committed schemas (empty when all is well)."""
    generated = generate()
    on_disk = _read_dir(SCHEMA_DIR)
    problems = []
    for event_type, schema in generated.items():
        if event_type not in on_disk:
            problems.append(f"{event_type}: no committed schema (run `make schemas` and commit)")
        elif on_disk[event_type] != json.loads(dump(schema)):
            problems.append(f"{event_type}: committed schema is stale (run `make schemas` and commit)")
    previous = _committed_at_head() if against is None else against
    previous = {**previous, **{k: v for k, v in on_disk.items() if k not in previous}}
    for event_type, old in previous.items():
        if event_type not in generated:
            problems.append(f"{event_type}: event type removed (publish it until its consumers migrate)")
            continue
        problems += [f"{event_type}: {p}" for p in incompatibilities(old, generated[event_type])]
    return problems


cli = typer.Typer(help="Event JSON Schemas: write them, or check them.", add_completion=False)


@cli.command()
def write() -> None:
    """Regenerate contracts/schemas/*.json from the event models."""
    SCHEMA_DIR.mkdir(exist_ok=True)
    generated = generate()
    for event_type, schema in generated.items():
        (SCHEMA_DIR / f"{event_type}.json").write_text(dump(schema))
    typer.echo(f"{len(generated)} schemas written to {SCHEMA_DIR}")


@cli.command("check")
def check_cmd(against: Path | None = typer.Option(None, help="Directory of previous schemas (default: git HEAD).")) -> None:
    """Fail on stale or incompatible schemas."""
    problems = check(_read_dir(against) if against else None)
    for p in problems:
        typer.echo(p, err=True)
    if problems:
        sys.exit(1)
    typer.echo("schemas up to date and compatible")


if __name__ == "__main__":
    cli()
