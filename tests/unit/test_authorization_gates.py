"""runtime/authorization.py's reading of a table and of an app's gates, on small hand-made ones (no
service built): what a line's cells let through, which roles a route's ``allow`` gates admit when
there are several or they sit in an included router or a sub-dependency, and which line answers for
an operation. (The platform's own table against the services' routes: test_authorization_table.py.)"""
from __future__ import annotations

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from runtime.auth import PARTNER, PRIVACY, READER, allow, staff
from runtime.authorization import ANY_SERVICE, Caller, Decision, _parse, gate, routes, rule, rules, teams

TABLE = """
[*]  every service
#      path                 admin own   other read  dpo   part  p-oth anon
GET    /healthz             yes   yes   yes   yes   yes   yes   yes   yes

[events]  staff:events
#      path                 admin own   other read  dpo   part  p-oth anon
       # readers: without contacts
GET    /registrations       yes   yes   no    yes   no    no    no    no
POST   /registrations       yes   yes   no    no    no    no    no    no
GET    /personal-data       yes   no    no    no    yes   no    no    no
GET    /catalogue           yes   yes   no    yes   no    yes   yes   no

[webhooks]  staff:partnerships
GET    /endpoints/{endpoint_id}/secret  no    no    no    no    no    yes   404   no
"""


@pytest.fixture(autouse=True)
def table_read_afresh():
    rules.cache_clear()  # rule() and teams() read the platform's table in this test (see test_authorization_table.py)


def line(service: str, method: str, path: str):
    return _parse(TABLE)[(service, method, path)]


def test_each_column_of_a_line_is_its_caller():
    secret = line("webhooks", "GET", "/endpoints/{endpoint_id}/secret")
    assert [secret[c] for c in Caller] == [Decision.REFUSE] * 5 + [Decision.ALLOW, Decision.HIDE, Decision.REFUSE]
    assert (secret.service, secret.team, secret.method, secret.path) == \
        ("webhooks", "partnerships", "GET", "/endpoints/{endpoint_id}/secret")
    assert line(ANY_SERVICE, "GET", "/healthz").team is None and line(ANY_SERVICE, "GET", "/healthz").public


def test_a_comment_indented_under_a_header_is_the_note_of_the_next_line_only():
    assert line("events", "GET", "/registrations").note == "readers: without contacts"
    assert line("events", "POST", "/registrations").note == ""
    assert line(ANY_SERVICE, "GET", "/healthz").note == ""  # the column header is no note
    assert line("webhooks", "GET", "/endpoints/{endpoint_id}/secret").note == ""  # nor a section's header


def test_a_line_admits_the_roles_its_cells_allow():
    assert gate(line(ANY_SERVICE, "GET", "/healthz")) is None  # public: no gate
    assert gate(line("events", "GET", "/registrations")) == {staff("events"), READER}
    assert gate(line("events", "POST", "/registrations")) == {staff("events")}  # a write: its team only
    assert gate(line("events", "GET", "/personal-data")) == {PRIVACY}
    assert gate(line("events", "GET", "/catalogue")) == {staff("events"), READER, PARTNER}
    # admin refused, the partner on its own resource only: finer than a role, checked in the operation
    assert gate(line("webhooks", "GET", "/endpoints/{endpoint_id}/secret")) == {PARTNER}


def test_a_service_line_comes_before_the_line_every_service_shares():
    assert rule("membership", "GET", "/healthz").service == ANY_SERVICE
    assert rule("membership", "GET", "/organisations").service == "membership"
    assert rule("membership", "GET", "/nowhere") is None
    assert rule("events", "POST", "/organisations") is None  # another service's operation
    assert teams() == {"membership": "membership", "events": "events", "observatory": "observatory",
                       "procurement": "procurement", "webhooks": "partnerships"}


def test_the_roles_of_a_route_are_those_every_one_of_its_gates_admits(tmp_path):
    app = FastAPI()
    app.host("docs.example.org", FastAPI())  # a host and a mount: no operation of the app, nothing listed
    app.mount("/static", StaticFiles(directory=tmp_path))

    @app.get("/open")
    async def open_() -> None: ...

    @app.post("/both", dependencies=[Depends(allow(staff("events"), READER)), Depends(allow(staff("events")))])
    async def both() -> None: ...

    async def needs_a_reader(principal=Depends(allow(READER, PARTNER))) -> None: ...

    @app.api_route("/deep", methods=["GET", "HEAD"])
    async def deep(_=Depends(needs_a_reader)) -> None: ...

    router = APIRouter(prefix="/team", dependencies=[Depends(allow(staff("events")))])

    @router.delete("/{item_id}")
    async def remove(item_id: str) -> None: ...

    app.include_router(router)
    found = routes(app)
    assert found[("GET", "/open")] is None
    assert found[("POST", "/both")] == {staff("events")}  # both gates must let the caller through
    assert found[("GET", "/deep")] == {READER, PARTNER}  # a gate inside a dependency
    assert ("HEAD", "/deep") not in found  # HEAD is GET's
    assert found[("DELETE", "/team/{item_id}")] == {staff("events")}  # an included router's gate
    assert found[("GET", "/openapi.json")] is None  # FastAPI's own routes: no gate
    assert not [key for key in found if key[1].startswith("/static")]
