"""What ``runtime.http.create_app`` makes of a service's definition, built while the test runs: its
OpenAPI document (every error a problem+json, the 400 / 413 / 503 every operation may answer), the
metrics' series at 0 from the start, the partner routes' 429, the warnings about development secrets."""
from __future__ import annotations

import dataclasses
import logging
import uuid

import pytest
from fastapi import Depends, FastAPI
from prometheus_client import REGISTRY
from pydantic import Field

from runtime.api import Body, Problem, errors, router
from runtime.auth import PARTNER, allow, staff
from runtime.logging import ConsoleFormatter, JsonFormatter
from runtime.http import _TOO_MANY, PROBLEM, BodyLimitMiddleware, ObservabilityMiddleware, _problem_openapi, create_app
from runtime.service import service
from runtime.settings import DEV_JWT_SECRET, DEV_PRIVACY_KEY, DEV_SECRETS_KEY, Settings

REF = {"$ref": "#/components/schemas/Problem"}
OWN = {"jwt_secret": "j" * 40, "privacy_key": "p" * 40,
       "secrets_key": "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="}


class Stand(Body):
    name: str = Field(min_length=1)


def stands_router():
    stands = router("/stands", tags=["stands"])

    @stands.post("", status_code=201, dependencies=[Depends(allow(staff("events")))], responses=errors(401, 403, 409))
    async def create(body: Stand) -> dict:
        return {}

    @stands.get("/{stand_id}", dependencies=[Depends(allow(staff("events"), PARTNER))], responses=errors(401, 404))
    async def read(stand_id: str) -> dict:
        return {}

    @stands.put("/{stand_id}", dependencies=[Depends(allow(staff("events")))], responses=errors(401, 403, 404))
    async def replace(stand_id: str, body: Stand) -> dict:
        return {}

    @stands.patch("/{stand_id}", dependencies=[Depends(allow(staff("events")))], responses=errors(401, 403, 404))
    async def change(stand_id: str, body: Stand) -> dict:
        return {}

    @stands.delete("/{stand_id}", status_code=204, dependencies=[Depends(allow(staff("events")))],
                   responses=errors(401, 403, 404))
    async def remove(stand_id: str) -> None:
        return None

    @stands.get("/open/{stand_id}", responses={404: {"description": "Unknown"}, 503: {"description": "Busy"}})
    async def signed(stand_id: str) -> dict:  # a signed link: no bearer token, so no 401
        return {}

    return stands


def app_of(**settings):
    name = f"kit-{uuid.uuid4().hex[:8]}"  # its own metric series
    definition = dataclasses.replace(service("events"), routers=lambda: [stands_router()],
                                     openapi_tags=[{"name": "stands", "description": "The stands"}])
    return create_app(definition, Settings(service_name=name, **settings)), name


def test_every_error_is_a_problem_and_operations_with_a_body_or_a_token_say_what_else_they_may_answer():
    app, _ = app_of(**OWN)
    schema = app.openapi()
    assert app.openapi() is schema, "built once"
    assert (schema["info"]["title"], schema["info"]["version"], schema["info"]["description"]) == (
        service("events").title, service("events").version, service("events").description)
    assert schema["tags"][-2:] == [{"name": "stands", "description": "The stands"},
                                   {"name": "operations", "description": "Health, metrics, docs"}]
    components = schema["components"]["schemas"]
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    assert components["ProblemError"] == problem["$defs"]["ProblemError"]
    assert components["Problem"] == {k: v for k, v in problem.items() if k != "$defs"}
    assert "HTTPValidationError" not in components and "ValidationError" not in components

    create = schema["paths"]["/stands"]["post"]["responses"]
    assert create["400"]["description"] == "Malformed request (the body is not valid JSON)"
    assert create["413"]["description"] == "Request body too large"
    assert create["503"]["description"] == ("The identity provider cannot be reached and no keys of it are cached "
                                            "(AUTH_MODE=oidc)")
    for code in ("400", "401", "403", "409", "413", "422", "503"):
        assert create[code]["content"] == {PROBLEM: {"schema": REF}}, code
    assert PROBLEM not in create["201"].get("content", {})

    read = schema["paths"]["/stands/{stand_id}"]["get"]["responses"]
    assert "400" not in read and "413" not in read, "no body, neither malformed nor too large"
    assert read["503"]["content"] == {PROBLEM: {"schema": REF}} and read["404"]["content"] == {PROBLEM: {"schema": REF}}
    assert read["429"]["description"] == _TOO_MANY, "a partner route documents its rate limit"
    assert "429" not in create

    signed = schema["paths"]["/stands/open/{stand_id}"]["get"]["responses"]
    assert signed["404"]["content"] == {PROBLEM: {"schema": REF}}
    assert signed["503"] == {"description": "Busy"}, "its own 503 (no token: not the identity provider's) is left"


def test_an_app_with_no_model_of_its_own_still_gets_the_problem_schema():
    app = FastAPI(title="bare", version="0")

    @app.get("/x", responses={404: {"description": "Unknown"}})
    async def x() -> dict:
        return {}

    schema = _problem_openapi(app)()
    components = schema["components"]["schemas"]
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    assert set(components) == {"Problem", "ProblemError"}
    assert components["ProblemError"] == problem["$defs"]["ProblemError"]
    assert components["Problem"]["properties"]["errors"]["anyOf"][0]["items"] == {
        "$ref": "#/components/schemas/ProblemError"}
    assert schema["paths"]["/x"]["get"]["responses"]["404"]["content"] == {PROBLEM: {"schema": REF}}


def test_each_route_and_each_counter_has_its_series_at_0_from_the_start():
    app, name = app_of(**OWN)

    def sample(metric: str, **labels) -> float | None:
        return REGISTRY.get_sample_value(metric, {"service": name, **labels})

    assert sample("cress_http_requests_total", method="POST", route="/stands", status="500") == 0
    assert sample("cress_http_requests_total", method="GET", route="/stands/{stand_id}", status="500") == 0
    assert sample("cress_http_requests_total", method="GET", route="/healthz", status="500") is None
    assert sample("cress_rate_limited_total", route="/stands/{stand_id}") == 0
    assert sample("cress_rate_limited_total", route="/stands") is None
    assert sample("cress_rate_limit_fallbacks_total") == 0
    assert sample("cress_transaction_retries_total") == 0
    middleware = {m.cls: m.kwargs for m in app.user_middleware}
    assert middleware[ObservabilityMiddleware] == {"service": name}
    assert middleware[BodyLimitMiddleware]["limit"] == Settings().http_max_body_bytes
    assert app.state.rate_limits is not None and app.state.settings.service_name == name


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def words(self) -> list[str]:
        found = [r.getMessage() for r in self.records]
        self.records.clear()
        return found


@pytest.fixture
def warnings(root_logging):
    """runtime.http's warnings (create_app configures the root logger: ``root_logging`` puts it back after)."""
    records = Records()
    logging.getLogger("runtime.http").addHandler(records)
    yield records
    logging.getLogger("runtime.http").removeHandler(records)


def test_the_service_logs_under_its_name_in_the_format_and_level_it_is_given(warnings):
    _, name = app_of(**OWN)
    [handler] = logging.getLogger().handlers
    assert isinstance(handler.formatter, JsonFormatter) and handler.formatter.service == name
    app_of(**OWN, log_format="console", log_level="WARNING")
    [handler] = logging.getLogger().handlers
    assert type(handler.formatter) is ConsoleFormatter and logging.getLogger().level == logging.WARNING


def test_development_secrets_are_named_in_warnings_and_own_ones_are_not(warnings):
    app_of(jwt_secret=DEV_JWT_SECRET, privacy_key=DEV_PRIVACY_KEY, secrets_key=DEV_SECRETS_KEY)
    assert [w.split(" ")[0] for w in warnings.words()] == ["JWT_SECRET", "PRIVACY_KEY", "SECRETS_KEY"]
    app_of(**{**OWN, "secrets_key": f"{OWN['secrets_key']},{DEV_SECRETS_KEY}"})
    assert [w.split(" ")[0] for w in warnings.words()] == ["SECRETS_KEY"], "the development key beside another"
    app_of(**OWN)
    app_of(**OWN, environment="production", auth_mode="oidc", oidc_issuer="https://id.example.org",
           oidc_audience="cress")
    assert warnings.words() == []


def test_production_with_development_sign_in_is_warned_about(warnings):
    app_of(**OWN, environment="production")
    [words] = warnings.words()
    assert words.startswith("ENVIRONMENT=production with AUTH_MODE=dev: staff should sign in")
    app_of(**OWN, environment="development", auth_mode="dev")
    assert warnings.words() == []
