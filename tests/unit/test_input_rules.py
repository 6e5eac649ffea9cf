"""The input rules every domain shares (``runtime.rules``): each limit at its boundary, the defaults of
the keyword arguments, and the words of each refusal (a 422 names the field and says what is wrong)."""
from __future__ import annotations

from runtime.rules import identifier, optional_identifier, optional_text, text
from tests.unit.refusals import refusal


def test_a_text_holds_200_characters_by_default_and_not_201():
    assert text("x" * 200, "name") == "x" * 200
    assert refusal(text, "x" * 201, "name") == ("name", "name is longer than 200 characters")
    assert text(f"  {'x' * 200}  ", "name") == "x" * 200, "the limit counts the stripped text"


def test_an_optional_text_holds_4000_characters_by_default_and_not_4001():
    assert optional_text("x" * 4000, "notes") == "x" * 4000
    assert refusal(optional_text, "x" * 4001, "notes") == ("notes", "notes is longer than 4000 characters")
    assert optional_text("   ", "notes") is None and optional_text(None, "notes") is None


def test_an_identifier_may_hold_spaces_unless_told_otherwise():
    assert identifier("stand 12 B", "stand_id") == "stand 12 B"
    assert optional_identifier("stand 12 B", "stand_id") == "stand 12 B"
    assert refusal(identifier, "org 1", "organisation_id", spaces=False) == (
        "organisation_id", "organisation_id must be an id (no spaces)")
    assert refusal(optional_identifier, "org 1", "organisation_id", spaces=False) == (
        "organisation_id", "organisation_id must be an id (no spaces)")
    assert optional_identifier(None, "organisation_id", spaces=False) is None


def test_an_identifier_with_a_control_character_is_refused_in_words():
    assert refusal(identifier, "org\x07", "organisation_id") == (
        "organisation_id", "organisation_id contains control characters")
    assert refusal(identifier, "x" * 101, "organisation_id") == (
        "organisation_id", "organisation_id is longer than 100 characters")
