"""Every service's OpenAPI document: every endpoint documented, with examples and errors."""
from __future__ import annotations

import pytest

from runtime.http import create_app
from runtime.service import discover

SPECS = {name: create_app(definition).openapi() for name, definition in discover().items()}
OPERATIONS = [(name, path, method, op) for name, spec in SPECS.items() for path, item in spec["paths"].items()
              for method, op in item.items()]
GUARDED = [(s, p, m, op) for s, p, m, op in OPERATIONS if p not in ("/healthz", "/readyz", "/metrics", "/asyncapi")]
IDS = [f"{s} {m.upper()} {p}" for s, p, m, _ in OPERATIONS]
GUARDED_IDS = [f"{s} {m.upper()} {p}" for s, p, m, _ in GUARDED]


def _resolve(schema: dict, spec: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return schema


def _has_examples(schema: dict, spec: dict) -> bool:
    schema = _resolve(schema, spec)
    if schema.get("examples") or schema.get("example"):
        return True
    props = schema.get("properties", {})
    return bool(props) and any(_resolve(p, spec).get("examples") or p.get("examples") for p in props.values())


@pytest.mark.parametrize("service, path, method, op", OPERATIONS, ids=IDS)
def test_every_endpoint_has_a_summary(service, path, method, op):
    assert op.get("summary"), f"{method.upper()} {path} has no summary"


def _public(op: dict) -> bool:
    """An operation that declares it takes no bearer token (OpenAPI ``security: []``), e.g. a
    respondent's survey answers, where a signed token in the path is the credential."""
    return op.get("security") == []


@pytest.mark.parametrize("service, path, method, op", GUARDED, ids=GUARDED_IDS)
def test_guarded_endpoints_declare_bearer_auth_and_their_errors(service, path, method, op):
    if _public(op):
        assert "no bearer token" in op["summary"].lower(), f"{method.upper()} {path}: say it in the summary"
        assert "422" in op["responses"] and not {"401", "403"} & set(op["responses"]), f"{method.upper()} {path}"
        return
    assert {"401", "403", "422"} <= set(op["responses"]), f"{method.upper()} {path}"
    assert any("HTTPBearer" in s for s in op.get("security", [])), f"{method.upper()} {path} has no bearer auth"


def test_only_the_signed_links_take_no_bearer_token():
    public = sorted(f"{s} {m.upper()} {p}" for s, p, m, op in GUARDED if _public(op))
    assert public == ["events GET /survey-answers/{token}", "events PUT /survey-answers/{token}",
                      "procurement GET /impact-answers/{token}", "procurement GET /need-links/{token}",
                      "procurement POST /need-links/{token}/questions", "procurement POST /need-links/{token}/steps",
                      "procurement PUT /impact-answers/{token}"]


@pytest.mark.parametrize("service, path, method, op", GUARDED, ids=GUARDED_IDS)
def test_errors_are_documented_as_problem_details(service, path, method, op):
    for code, response in op["responses"].items():
        if int(code) >= 400:
            content = response.get("content", {})
            assert list(content) == ["application/problem+json"], f"{method.upper()} {path} {code}: {list(content)}"
            assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    if "requestBody" in op:
        assert {"400", "413"} <= set(op["responses"]), f"{method.upper()} {path}: malformed / too large body"


@pytest.mark.parametrize("service, path, method, op", [o for o in GUARDED if "requestBody" in o[3]],
                         ids=[i for i, o in zip(GUARDED_IDS, GUARDED) if "requestBody" in o[3]])
def test_request_bodies_carry_examples(service, path, method, op):
    content = op["requestBody"]["content"]
    if "multipart/form-data" in content:  # a file upload: each part is described instead
        schema = _resolve(content["multipart/form-data"]["schema"], SPECS[service])
        assert schema.get("properties") and all(p.get("description") for p in schema["properties"].values()), \
            f"{method.upper()} {path}: describe each part of the upload"
        return
    schema = content["application/json"]["schema"]
    assert _has_examples(schema, SPECS[service]), f"{method.upper()} {path}: no example in its request body"


@pytest.mark.parametrize("service", list(SPECS))
def test_the_problem_schema_and_the_etag_form_are_documented(service):
    spec = SPECS[service]
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["properties"])
    assert "HTTPValidationError" not in spec["components"]["schemas"], "422 is a Problem, not FastAPI's default"
    if_match = [p for item in spec["paths"].values() for op in item.values() for p in op.get("parameters", [])
                if p["name"].lower() == "if-match"]
    for parameter in if_match:
        assert 'e.g. `"3"`' in parameter["description"]


def _partner_facing(service: str) -> set[tuple[str, str]]:
    """(path, method) of the operations whose ``allow`` admits ``partner`` (read from the routes)."""
    from fastapi.routing import APIRoute

    from runtime.http import _rate_limited
    from runtime.service import service as definition

    return {(route.path, method.lower()) for router in definition(service).routers() for route in router.routes
            if isinstance(route, APIRoute) and _rate_limited(route.dependant) for method in route.methods}


def test_partner_facing_operations_document_their_429_and_only_they():
    for name, spec in SPECS.items():
        documented = {(p, m) for p, item in spec["paths"].items() for m, op in item.items() if "429" in op["responses"]}
        assert documented == _partner_facing(name), name
    assert ("/members/in-good-standing", "get") in _partner_facing("membership")
    assert ("/organisations", "get") not in _partner_facing("membership")


@pytest.mark.parametrize("service, path, method, op", GUARDED, ids=GUARDED_IDS)
def test_bearer_operations_document_the_identity_provider_unavailable(service, path, method, op):
    if _public(op):
        assert "503" not in op["responses"], f"{method.upper()} {path}"
        return
    assert "identity provider" in op["responses"]["503"]["description"], f"{method.upper()} {path}"


def test_every_create_documents_the_idempotency_key_and_only_the_creates_do():
    """Every authenticated POST that answers 201 takes ``Idempotency-Key`` (runtime.idempotency), but a
    file upload; the header is optional, bounded, and its 409 and 422 are documented."""
    for name, spec in SPECS.items():
        creates = {(p, m) for p, item in spec["paths"].items() for m, op in item.items()
                   if m == "post" and "201" in op["responses"] and not _public(op)
                   and "multipart/form-data" not in op.get("requestBody", {}).get("content", {})}
        keyed = {(p, m) for p, item in spec["paths"].items() for m, op in item.items()
                 if any(q["name"] == "Idempotency-Key" for q in op.get("parameters", []))}
        assert keyed == creates, name
        for path, method in keyed:
            op = spec["paths"][path][method]
            header = next(q for q in op["parameters"] if q["name"] == "Idempotency-Key")
            assert header["in"] == "header" and not header.get("required")
            assert header["schema"]["maxLength"] <= 257 and header["schema"]["pattern"]
            assert "Idempotency-Key" in op["responses"]["409"]["description"]
            assert "Idempotency-Key" in op["responses"]["422"]["description"]
    assert ("/events", "post") in {(p, m) for p, item in SPECS["events"]["paths"].items() for m in item
                                   if any(q["name"] == "Idempotency-Key"
                                          for q in item[m].get("parameters", []))}
