"""The authorization table (runtime/authorization.py) against the services' code, without a broker:
every route of every service has its line, every line its route, and each route's
``allow(...)`` gate admits exactly the roles its line says. (The cells finer than a role — admin
refused a partner's secret, another partner's resources — are called for real by
tests/integration/test_authorization.py.)"""
from __future__ import annotations

import pytest

from runtime import authorization
from runtime.authorization import ANY_SERVICE, Caller, Decision, gate, rule, rules
from runtime.http import create_app
from runtime.service import discover


@pytest.fixture(autouse=True)
def table_read_afresh():
    """Each test reads the table itself: ``rules()`` is cached per process, and a process that read it
    before (a mutation-testing worker forked after a clean run) must not answer for this test."""
    rules.cache_clear()


@pytest.fixture(scope="module")
def routes() -> dict[str, dict[tuple[str, str], frozenset[str] | None]]:
    return {name: authorization.routes(create_app(d, d.settings())) for name, d in discover().items()}


def test_every_route_has_its_line_and_every_line_its_route(routes):
    missing = [f"{name} {m} {p}" for name, found in routes.items() for (m, p) in sorted(found)
               if rule(name, m, p) is None]
    assert not missing, "operations missing from runtime/authorization.py's table:\n" + "\n".join(missing)
    unknown = [f"{s} {m} {p}" for (s, m, p) in rules()
               if not any((m, p) in found for name, found in routes.items() if s in (name, ANY_SERVICE))]
    unknown += [f"* {m} {p} (absent from {name})" for (s, m, p) in rules() if s == ANY_SERVICE
                for name, found in routes.items() if (m, p) not in found]
    assert not unknown, "lines of the table naming no route:\n" + "\n".join(unknown)
    assert set(authorization.teams()) == set(routes), "every service has its section (and team)"


def test_each_gate_admits_the_roles_of_its_line(routes):
    wrong = [f"{name} {m} {p}: the table admits {sorted(gate(rule(name, m, p)) or ['everyone'])}, "
             f"the route {sorted(found[(m, p)] or ['everyone'])}"
             for name, found in routes.items() for (m, p) in sorted(found)
             if rule(name, m, p) is not None and gate(rule(name, m, p)) != found[(m, p)]]
    assert not wrong, "\n".join(wrong)


def test_the_table_says_what_staff_agreed():
    """A few decisions pinned by name (the integration test calls every cell)."""
    secret = rule("webhooks", "GET", "/endpoints/{endpoint_id}/secret")
    assert secret[Caller.ADMIN] is Decision.REFUSE and secret[Caller.OTHER_PARTNER] is Decision.HIDE
    assert rule("events", "GET", "/registrations/{registration_id}/badge")[Caller.READER] is Decision.REFUSE
    assert rule("membership", "GET", "/members/in-good-standing")[Caller.PARTNER] is Decision.ALLOW
    assert all(r[Caller.OTHER_STAFF] is Decision.ALLOW for r in rules().values() if r.public)
    assert not any(r[Caller.OTHER_STAFF] is Decision.ALLOW for r in rules().values() if not r.public), \
        "staff of another team get nothing from a service that is not theirs (they get `reader` too)"


@pytest.mark.parametrize("table, complaint", [
    ("[events]  staff:events\nGET /x yes yes no yes no yes no no",
     "line 2: events holds no partner's resources: 'part' and 'p-oth' must agree"),
    ("[webhooks]  staff:partnerships\nGET /x yes yes no no no yes 404 no",
     "line 2: 404 is for another partner's resource only"),
    ("[webhooks]  staff:partnerships\nGET /endpoints/{endpoint_id} yes yes no no no no 404 no",
     "line 2: 404 is for another partner's resource only"),  # hidden from a partner refused its own
    ("[events]  staff:events\nGET /x yes yes no maybe no no no no",
     "line 2: cells are yes, no or 404: 'GET /x yes yes no maybe no no no no'"),
    ("[events]  staff:events\nGET /x yes yes no no no no no",
     "line 2: method, path and 8 cells under a [service] header: 'GET /x yes yes no no no no no'"),
    ("\nGET /x yes yes no no no no no no", "line 2: method, path and 8 cells under a [service] header: 'GET /x yes yes no no no no no no'"),
    ("[events]  staff:events\nGET /x yes yes no no no no no no\n\nGET /x yes yes no no no no no no",
     "line 4: GET /x of events twice"),
    ("[events]\nGET /x yes yes no no no no no no", "line 1: a section is '[service]  staff:<team>'"),
])
def test_a_malformed_table_is_refused_by_line(table, complaint):
    with pytest.raises(ValueError) as refused:
        authorization._parse(table)
    assert str(refused.value) == f"authorization table, {complaint}"
