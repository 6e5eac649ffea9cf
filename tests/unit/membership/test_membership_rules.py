"""Membership's own input rules (``domain/_rules.py``): each bound at its edge, booleans never taken for
numbers, and the words of each refusal."""
from __future__ import annotations

import pytest

from services.membership.domain import _rules
from tests.unit.refusals import refusal


def test_counts_and_amounts_are_whole_numbers_and_never_booleans():
    assert _rules.non_negative(0, "headcount") == 0 and _rules.positive(1, "amount_cents") == 1
    assert refusal(_rules.non_negative, -1, "headcount") == (
        "headcount", "headcount must be a whole number, 0 or more (got -1)")
    assert refusal(_rules.positive, 0, "amount_cents") == (
        "amount_cents", "amount_cents must be a whole number above 0 (got 0)")
    for rule in (_rules.non_negative, _rules.positive):
        assert refusal(rule, True, "n")[0] == "n"
        assert refusal(rule, 2.5, "n")[0] == "n"


@pytest.mark.parametrize(("given", "code"), [("1", "01"), ("2a", "2A"), (" 93 ", "93"), ("976", "976")])
def test_a_departement_code_is_normalised(given, code):
    assert _rules.departement(given) == code


@pytest.mark.parametrize("given", ["20", "975", "96", "0", ""])
def test_anything_else_is_no_departement(given):
    assert refusal(_rules.departement, given, "organisation.departement") == (
        "organisation.departement", f"{given!r} is not a French département code (01–95, 2A, 2B, 971–976)")


def test_an_email_address_holds_254_characters_at_most():
    longest = "a" * 242 + "@example.org"
    assert len(longest) == 254 and _rules.email(f" {longest} ") == longest
    assert refusal(_rules.email, "a" + longest) == ("email", f"'a{longest}' is not an e-mail address")
    assert refusal(_rules.email, "amina@", "contact.email") == ("contact.email", "'amina@' is not an e-mail address")
    assert _rules.email("  ") is None and _rules.email(None) is None


def test_a_phone_number_is_digits_and_separators():
    assert _rules.phone(" +33 1 23 45 67 89 ") == "+33 1 23 45 67 89"
    assert refusal(_rules.phone, "call me") == ("phone", "'call me' is not a phone number")
    assert _rules.phone("") is None and _rules.phone(None) is None
