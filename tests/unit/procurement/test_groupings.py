"""The Grouping aggregate: forming, members joining and leaving, submission, dissolution."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from contracts.procurement.suppliers import (GroupingDissolved, GroupingFormed, GroupingMemberJoined,
                                             GroupingMemberLeft, GroupingStatus, GroupingSubmitted)
from runtime.errors import Conflict, InvalidInput
from services.procurement.domain.groupings import Grouping, SupplierRef
from tests.unit.refusals import conflicted as conflict, NoOffset, refused

AT = datetime(2006, 5, 6, 9, tzinfo=timezone.utc)
LEAD, A, B, C = (SupplierRef(f"sup-{x}", True) for x in "labc")
ARCHIVED = SupplierRef("sup-old", False)


def formed(*members: SupplierRef) -> Grouping:
    g = Grouping.form("grp-1", need_id="need-1", lead=LEAD, members=list(members or (A,)), at=AT)
    g.pull_events()
    return g


def test_forming_records_the_lead_as_key_and_the_members():
    g = Grouping.form("grp-1", need_id="need-1", lead=LEAD, members=[A, B], at=AT)
    (event,) = g.pull_events()
    assert isinstance(event, GroupingFormed)
    assert (event.supplier_id, event.grouping_id, event.need_id, event.member_supplier_ids) == \
        ("sup-l", "grp-1", "need-1", ["sup-a", "sup-b"])
    assert g.status is GroupingStatus.FORMING and g.supplier_ids == ["sup-l", "sup-a", "sup-b"]


@pytest.mark.parametrize("members, field", [
    ([], "members"),
    ([A, A], "members.1"),
    ([A, LEAD], "members.1"),
])
def test_members_at_least_one_no_duplicate_not_the_lead(members, field):
    with pytest.raises(InvalidInput) as err:
        Grouping.form("grp-1", need_id="need-1", lead=LEAD, members=members, at=AT)
    assert err.value.field == field


@pytest.mark.parametrize("need", ["", " ", "need 1", "x" * 101, None, 12])
def test_a_need_id_is_a_plain_id(need):
    with pytest.raises(InvalidInput) as err:
        Grouping.form("grp-1", need_id=need, lead=LEAD, members=[A], at=AT)
    assert err.value.field == "need_id"


def test_archived_suppliers_cannot_form_join_or_be_submitted():
    with pytest.raises(Conflict) as err:
        Grouping.form("grp-1", need_id="need-1", lead=LEAD, members=[A, ARCHIVED], at=AT)
    assert err.value.extra["field"] == "members.1" and err.value.extra["supplier_id"] == "sup-old"
    with pytest.raises(Conflict):
        Grouping.form("grp-1", need_id="need-1", lead=ARCHIVED, members=[A], at=AT)
    g = formed()
    with pytest.raises(Conflict):
        g.join(ARCHIVED, at=AT)
    with pytest.raises(Conflict):
        g.submit({"sup-l": LEAD, "sup-a": SupplierRef("sup-a", False)}, at=AT)
    with pytest.raises(Conflict):
        g.submit({"sup-l": LEAD}, at=AT)  # a member not found any more counts as unusable


def test_join_and_leave_while_forming():
    g = formed()
    g.join(B, at=AT + timedelta(hours=1))
    g.join(C, at=AT + timedelta(hours=2))
    g.leave("sup-a", at=AT + timedelta(hours=3))
    joined, joined2, left = g.pull_events()
    assert isinstance(joined, GroupingMemberJoined) and joined.member_supplier_id == "sup-b"
    assert isinstance(left, GroupingMemberLeft) and left.member_supplier_id == "sup-a" and left.supplier_id == "sup-l"
    assert g.member_supplier_ids == ["sup-b", "sup-c"]
    for wrong in (B, LEAD):
        with pytest.raises(Conflict):
            g.join(wrong, at=AT)
    for wrong in ("sup-a", "sup-l"):
        with pytest.raises(Conflict):
            g.leave(wrong, at=AT)


def test_the_last_member_cannot_leave():
    g = formed()
    with pytest.raises(Conflict, match="last member"):
        g.leave("sup-a", at=AT)


def test_submit_freezes_then_dissolve():
    g = formed(A, B)
    g.submit({"sup-l": LEAD, "sup-a": A, "sup-b": B}, at=AT + timedelta(days=1))
    (submitted,) = g.pull_events()
    assert isinstance(submitted, GroupingSubmitted) and submitted.member_supplier_ids == ["sup-a", "sup-b"]
    for step in (lambda: g.join(C, at=AT), lambda: g.leave("sup-a", at=AT),
                 lambda: g.submit({"sup-l": LEAD, "sup-a": A, "sup-b": B}, at=AT)):
        with pytest.raises(Conflict) as err:
            step()
        assert err.value.extra["current_state"] == "submitted"
    g.dissolve(at=AT + timedelta(days=2), reason="Lot attribué à un autre titulaire")
    (dissolved,) = g.pull_events()
    assert isinstance(dissolved, GroupingDissolved) and dissolved.previous_status is GroupingStatus.SUBMITTED
    assert "Lot" not in dissolved.model_dump_json()
    with pytest.raises(Conflict):
        g.dissolve(at=AT + timedelta(days=3))


def test_a_clock_gone_back_never_dates_a_step_before_the_forming():
    g = formed()
    g.join(B, at=AT - timedelta(hours=1))
    assert g.pull_events()[0].joined_at == AT


# -- what each refusal says, and the bounds --------------------------------------------------------------
def test_a_change_s_time_knows_its_offset():
    for at in (datetime(2006, 5, 6, 9), datetime(2006, 5, 6, 9, tzinfo=NoOffset()), "2006-05-06T09:00:00+00:00"):
        refused(lambda: Grouping.form("grp-1", need_id="need-1", lead=LEAD, members=[A], at=at), "at",
                "the time of a change must be a timezone-aware datetime")


def test_the_refusals_to_form_say_why():
    def form(members, lead=LEAD, need="need-1"):
        return lambda: Grouping.form("grp-1", need_id=need, lead=lead, members=members, at=AT)

    refused(form([]), "members", "a grouping needs at least one member besides its lead")
    refused(form([A, LEAD]), "members.1", "sup-l is the lead: it cannot also be a member")
    refused(form([A, B, A]), "members.2", "sup-a is given twice")
    refused(form([A], need="need 1"), "need_id",
            "need_id must be a need's id (letters, digits, '.', '_', ':', '-'; at most 100 characters), not 'need 1'")
    fifty = [SupplierRef(f"sup-{n}", True) for n in range(50)]
    assert form(fifty)().member_supplier_ids == [m.id for m in fifty]
    refused(form([*fifty, C]), "members", "a grouping has at most 50 members")
    conflict(form([A], lead=ARCHIVED), "supplier sup-old is archived: it cannot be part of a grouping",
             field="lead_supplier_id", supplier_id="sup-old", current_state="archived")
    conflict(form([A, ARCHIVED]), "supplier sup-old is archived: it cannot be part of a grouping",
             field="members.1", supplier_id="sup-old", current_state="archived")


def test_the_refusals_to_join_or_leave_say_why():
    g = formed()
    conflict(lambda: g.join(LEAD, at=AT), "sup-l leads grouping grp-1: it cannot also be a member",
             field="supplier_id", supplier_id="sup-l")
    conflict(lambda: g.join(A, at=AT), "sup-a is a member of grouping grp-1 already", field="supplier_id",
             supplier_id="sup-a")
    conflict(lambda: g.join(ARCHIVED, at=AT), "supplier sup-old is archived: it cannot be part of a grouping",
             field="supplier_id", supplier_id="sup-old", current_state="archived")
    conflict(lambda: g.leave("sup-l", at=AT), "sup-l leads grouping grp-1: dissolve the grouping instead",
             supplier_id="sup-l")
    conflict(lambda: g.leave("sup-b", at=AT), "sup-b is not a member of grouping grp-1", supplier_id="sup-b")
    conflict(lambda: g.leave("sup-a", at=AT),
             "sup-a is the last member of grouping grp-1 besides its lead: dissolve the grouping instead",
             supplier_id="sup-a")
    full = formed(*(SupplierRef(f"sup-{n}", True) for n in range(49)))
    full.join(A, at=AT)
    assert len(full.member_supplier_ids) == 50
    conflict(lambda: full.join(B, at=AT), "grouping grp-1 has 50 members, the most it can have")


def test_a_grouping_not_forming_says_what_it_cannot_do():
    g = formed(A, B)
    g.submit({"sup-l": LEAD, "sup-a": A, "sup-b": B}, at=AT)
    for action, call in (("take a new member", lambda: g.join(C, at=AT)),
                         ("let a member leave", lambda: g.leave("sup-a", at=AT)),
                         ("submit it", lambda: g.submit({"sup-l": LEAD, "sup-a": A, "sup-b": B}, at=AT))):
        conflict(call, f"grouping grp-1 is submitted: only a forming grouping can {action}",
                 current_state="submitted", expected_state="forming")


def test_a_supplier_archived_or_gone_since_is_named_when_submitting():
    g = formed(A, B)
    conflict(lambda: g.submit({"sup-l": LEAD, "sup-a": A}, at=AT),
             "supplier sup-b is archived: it cannot be part of a grouping", field="supplier_id", supplier_id="sup-b",
             current_state="archived")
    assert g.status is GroupingStatus.FORMING


def test_a_dissolution_keeps_its_reason_up_to_2000_characters():
    g = formed()
    refused(lambda: g.dissolve(at=AT, reason="x" * 2001), "reason", "reason is longer than 2000 characters")
    g.dissolve(at=AT, reason=" " + "x" * 2000 + " ")
    assert (g.status, g.dissolution_reason, g.dissolved_at) == (GroupingStatus.DISSOLVED, "x" * 2000, AT)
    conflict(lambda: g.dissolve(at=AT), "grouping grp-1 is dissolved already", current_state="dissolved")
    quiet = formed()
    quiet.dissolve(at=AT)
    assert quiet.dissolution_reason is None
