"""Commissions and members' seminars: each refusal names its field and says why in full (the
words a member of staff reads), and a commission's name may hold 200 characters, no more."""
from __future__ import annotations

from datetime import date

import pytest

from runtime.errors import Conflict, InvalidInput
from services.membership.domain.governance import Commission

D = date


def commission() -> Commission:
    c = Commission.create("com-1", name="Commission transition", kind="seminar", on=D(2051, 1, 1))
    c.pull_events()
    return c


def test_a_commission_s_name_is_required_and_holds_200_characters_at_most():
    assert Commission.create("com-1", name="n" * 200, kind="commission", on=D(2051, 1, 1)).name == "n" * 200
    with pytest.raises(InvalidInput) as e:
        Commission.create("com-1", name="n" * 201, kind="commission", on=D(2051, 1, 1))
    assert (e.value.field, e.value.detail) == ("name", "name is longer than 200 characters")
    with pytest.raises(InvalidInput) as e:
        Commission.create("com-1", name="  ", kind="commission", on=D(2051, 1, 1))
    assert (e.value.field, e.value.detail) == ("name", "name is required")


def test_joining_needs_an_organisation_and_a_date_from_the_creation():
    c = commission()
    with pytest.raises(InvalidInput) as e:
        c.join(" ", on=D(2051, 2, 1))
    assert (e.value.field, e.value.detail) == ("organisation_id", "organisation_id is required")
    with pytest.raises(InvalidInput) as e:
        c.join("org-1", on=D(2050, 12, 31))
    assert (e.value.field, e.value.detail) == (
        "on", "on 2050-12-31 is before the creation of the commission (2051-01-01)")
    assert c.pull_events() == []


def test_joining_twice_says_since_when_and_until_when_it_is_in():
    c = commission()
    c.join("org-1", on=D(2051, 2, 1))
    with pytest.raises(Conflict) as e:
        c.join("org-1", on=D(2051, 4, 1))
    assert e.value.detail == "org-1 is already in Commission transition since 2051-02-01"
    assert e.value.extra == {"current_state": "member"}
    c.leave("org-1", on=D(2051, 6, 30))
    with pytest.raises(Conflict) as e:
        c.join("org-1", on=D(2051, 6, 30))  # still in on its last day
    assert e.value.detail == "org-1 is already in Commission transition since 2051-02-01 (until 2051-06-30)"
    assert e.value.extra == {"current_state": "member"}


def test_leaving_needs_to_be_in_and_a_date_from_the_day_it_joined():
    c = commission()
    with pytest.raises(Conflict) as e:
        c.leave("org-1", on=D(2051, 2, 1))
    assert (e.value.detail, e.value.extra) == ("org-1 is not in Commission transition",
                                               {"current_state": "not_member"})
    c.join("org-1", on=D(2051, 2, 1))
    with pytest.raises(InvalidInput) as e:
        c.leave("org-1", on=D(2051, 1, 31))
    assert (e.value.field, e.value.detail) == ("on", "on 2051-01-31 is before the day org-1 joined (2051-02-01)")
    c.leave("org-1", on=D(2051, 2, 1))  # a one-day participation
    with pytest.raises(Conflict) as e:
        c.leave("org-1", on=D(2051, 3, 1))
    assert (e.value.detail, e.value.extra) == ("org-1 is not in Commission transition",
                                               {"current_state": "not_member"})
    assert [(type(ev).__name__, ev.model_dump(include={"organisation_id", "joined_on", "left_on"}))
            for ev in c.pull_events()] == [
        ("CommissionMemberJoined", {"organisation_id": "org-1", "joined_on": D(2051, 2, 1)}),
        ("CommissionMemberLeft", {"organisation_id": "org-1", "left_on": D(2051, 2, 1)})]
