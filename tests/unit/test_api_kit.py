"""The service kit of ``runtime.api`` called while the tests run, not only at import: services build
their PATCH bodies, error tables and routers at import time, before any mutant or fault is switched on
(mutmut 3 forks its test runs from a process that imported everything), so those calls test nothing."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Optional, get_args

import pytest
from pydantic import Field, ValidationError

from runtime.api import _DESCRIPTIONS, Body, Problem, _allows_none, commands, errors, expected, partial, router
from runtime.errors import InvalidInput
from runtime.http import GuardedRoute


class Stand(Body):
    id: str
    name: str = Field(min_length=1)
    size: int = Field(5, ge=1)
    note: str | None = None
    tags: list[str] = Field(default_factory=list)


def test_a_patch_body_makes_every_field_optional_and_defaults_to_nothing():
    patch = partial(Stand, exclude=("id",))
    assert patch.__name__ == "StandPatch" and issubclass(patch, Body)
    assert set(patch.model_fields) == {"name", "size", "note", "tags"}, "the excluded field is not in it"
    empty = patch()
    assert (empty.name, empty.size, empty.note, empty.tags) == (None, None, None, None), "no default value kept"
    assert patch(size=3).model_dump(exclude_unset=True) == {"size": 3}
    assert patch.__doc__ == ("Only the fields given change (send `If-Match` with the ETag you read); null is "
                             "refused for a field that cannot be empty.")
    assert partial(Stand, name="StandChange").__name__ == "StandChange"
    assert "id" in partial(Stand).model_fields


def test_a_patch_body_keeps_the_constraints_and_refuses_unknown_fields():
    patch = partial(Stand)
    for bad, field, kind in (({"size": 0}, "size", "greater_than_equal"), ({"name": ""}, "name", "string_too_short"),
                             ({"colour": "red"}, "colour", "extra_forbidden")):
        with pytest.raises(ValidationError) as caught:
            patch.model_validate(bad)
        assert [(e["loc"], e["type"]) for e in caught.value.errors()] == [((field,), kind)], bad


def test_null_is_refused_for_a_required_field_and_kept_for_a_nullable_one():
    patch = partial(Stand)
    assert patch.model_validate({"note": None}).model_dump(exclude_unset=True) == {"note": None}
    for field in ("name", "size", "tags"):
        with pytest.raises(ValidationError) as caught:
            patch.model_validate({field: None})
        [error] = caught.value.errors()
        assert error["loc"] == (field,)
        assert error["msg"] == f"Value error, {field} cannot be null; leave it out to keep its value"


def test_a_patch_body_shows_its_examples_only_when_given():
    assert partial(Stand, examples=[{"size": 3}]).model_json_schema()["examples"] == [{"size": 3}]
    assert "examples" not in partial(Stand).model_json_schema()


@pytest.mark.parametrize(("annotation", "allows"), [
    (None, True), (str | None, True), (Optional[int], True), (str, False), (list[int], False), (int | str, False)])
def test_what_allows_null(annotation, allows):
    assert _allows_none(annotation) is allows


def test_the_errors_of_an_operation_are_documented_with_the_problem_schema():
    assert errors(401, 409, 418, c409="The stand is taken") == {
        401: {"model": Problem, "description": _DESCRIPTIONS[401]},
        409: {"model": Problem, "description": "The stand is taken"},
        418: {"model": Problem, "description": "Error"}}
    assert errors() == {}


def test_a_router_guards_its_routes_and_passes_the_rest_on():
    plain = router()
    assert (plain.prefix, plain.tags, plain.route_class) == ("", [], GuardedRoute)
    tagged = router("/stands", tags=["stands"], deprecated=True)
    assert (tagged.prefix, tagged.tags, tagged.deprecated) == ("/stands", ["stands"], True)


class StandCommands:
    pass


def test_the_commands_dependency_gives_the_services_handlers_of_the_kind_asked():
    dependency = get_args(commands(StandCommands))[1].dependency
    handlers = StandCommands()

    def request(commands):
        return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(platform=SimpleNamespace(commands=commands))))

    assert dependency(request(handlers)) is handlers
    with pytest.raises(TypeError) as caught:
        dependency(request(object()))
    assert str(caught.value) == "the service's commands are a object, not a StandCommands"


def test_an_if_match_that_is_no_etag_is_refused_in_words():
    with pytest.raises(InvalidInput) as caught:
        expected("version 3")
    assert (caught.value.field, caught.value.detail) == (
        "header.If-Match", "If-Match must be an ETag such as \"3\", not 'version 3'")
