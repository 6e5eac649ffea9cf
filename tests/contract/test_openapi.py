"""The membership API's OpenAPI document: every endpoint documented, with examples and errors."""
from __future__ import annotations

import pytest

from services.membership.app import create_app

SPEC = create_app().openapi()
OPERATIONS = [(path, method, op) for path, item in SPEC["paths"].items() for method, op in item.items()]
GUARDED = [(p, m, op) for p, m, op in OPERATIONS if p not in ("/healthz", "/readyz", "/metrics", "/asyncapi")]


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return schema


def _has_examples(schema: dict) -> bool:
    schema = _resolve(schema)
    if schema.get("examples") or schema.get("example"):
        return True
    props = schema.get("properties", {})
    return bool(props) and any(_resolve(p).get("examples") or p.get("examples") for p in props.values())


@pytest.mark.parametrize("path, method, op", OPERATIONS, ids=[f"{m.upper()} {p}" for p, m, _ in OPERATIONS])
def test_every_endpoint_has_a_summary(path, method, op):
    assert op.get("summary"), f"{method.upper()} {path} has no summary"


@pytest.mark.parametrize("path, method, op", GUARDED, ids=[f"{m.upper()} {p}" for p, m, _ in GUARDED])
def test_guarded_endpoints_declare_bearer_auth_and_their_errors(path, method, op):
    assert {"401", "403", "422"} <= set(op["responses"]), f"{method.upper()} {path}"
    assert any("HTTPBearer" in s for s in op.get("security", [])), f"{method.upper()} {path} has no bearer auth"


@pytest.mark.parametrize("path, method, op", [o for o in GUARDED if "requestBody" in o[2]],
                         ids=[f"{m.upper()} {p}" for p, m, op in GUARDED if "requestBody" in op])
def test_request_bodies_carry_examples(path, method, op):
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert _has_examples(schema), f"{method.upper()} {path}: no example in its request body"
