"""Buyers: identity rules (SIRET, département, commune), corrections, archiving."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from contracts.procurement.buyers import BuyerArchived, BuyerRegistered, BuyerStatus, BuyerUpdated
from contracts.procurement.vocabulary import Programme
from runtime.errors import Conflict, InvalidInput
from runtime.siret import with_check_digit
from services.procurement.domain import buyers as domain
from services.procurement.domain.buyers import Buyer

AT = datetime(2014, 6, 2, 9, 0, tzinfo=timezone.utc)
SIRET = "21930048000015"


def make_buyer(**overrides) -> Buyer:
    fields = dict(kind="commune", siret=SIRET, name="Ville de Montreuil", departement="93", commune="93048")
    fields.update(overrides)
    return Buyer.register("buy-1", at=AT, **fields)


def test_registering_normalises_and_records_the_identity_without_anything_else():
    buyer = make_buyer(siret="219 300 480 00015", departement="93", commune=" 93048 ")
    assert (buyer.siret, buyer.commune, buyer.status) == (SIRET, "93048", BuyerStatus.ACTIVE)
    (event,) = buyer.pending_events
    assert isinstance(event, BuyerRegistered)
    assert event.model_dump() == {"buyer_id": "buy-1", "kind": "commune", "siret": SIRET, "name": "Ville de Montreuil",
                                  "departement": "93", "commune": "93048", "registered_at": AT}


@pytest.mark.parametrize("siret", ["21930048000016", "2193004800001", "abcdefghijklmn", "", None, 21930048000015])
def test_a_malformed_siret_is_refused_naming_siret(siret):
    with pytest.raises(InvalidInput) as caught:
        make_buyer(siret=siret)
    assert caught.value.field == "siret"


@pytest.mark.parametrize("value, expected", [("1", "01"), ("2a", "2A"), (" 974 ", "974"), ("93", "93")])
def test_departement_codes_are_normalised(value, expected):
    assert domain.departement(value) == expected


@pytest.mark.parametrize("value", ["20", "00", "96", "975", "977", "", "9 3", "ABC", None, 93])
def test_departement_codes_outside_france_s_list_are_refused(value):
    with pytest.raises(InvalidInput) as caught:
        domain.departement(value)
    assert caught.value.field == "departement"


@pytest.mark.parametrize("code, dep", [("93048", "93"), ("2A004", "2A"), ("2b033", "2B"), ("97411", "974"),
                                       ("01004", "01")])
def test_commune_codes_of_their_departement_are_accepted(code, dep):
    assert domain.commune(code, dep) == code.upper()


@pytest.mark.parametrize("code, dep", [("9304", "93"), ("930481", "93"), ("2C004", "2B"), ("93O48", "93"),
                                       ("75056", "93"), ("2A004", "2B"), ("97411", "971"), ("<b>1</b>", "93"),
                                       ("93999", "93"), ("2A999", "2A")])
def test_commune_codes_malformed_or_of_another_departement_are_refused(code, dep):
    with pytest.raises(InvalidInput) as caught:
        domain.commune(code, dep)
    assert caught.value.field == "commune"


def test_overseas_communes_absent_from_the_reference_are_checked_by_their_code():
    assert domain.commune("97411", "974") == "97411"  # Saint-Denis (La Réunion): not shipped, code fits
    with pytest.raises(InvalidInput):
        domain.commune("97111", "974")


def test_no_commune_is_none():
    assert domain.commune(None, "93") is None and domain.commune("  ", "93") is None
    assert make_buyer(kind="region", commune=None, departement="75").commune is None


def test_names_are_required_and_bounded():
    with pytest.raises(InvalidInput, match="name"):
        make_buyer(name="   ")
    with pytest.raises(InvalidInput, match="name"):
        make_buyer(name="x" * 201)


def test_an_unknown_kind_names_kind():
    with pytest.raises(InvalidInput) as caught:
        make_buyer(kind="ministry")
    assert caught.value.field == "kind"


def test_a_correction_records_the_whole_state_and_what_changed():
    buyer = make_buyer()
    buyer.pull_events()
    changed = buyer.update(at=AT, name="Commune de Montreuil", commune="93048")
    assert changed == ["name"]
    (event,) = buyer.pending_events
    assert isinstance(event, BuyerUpdated) and event.changed == ["name"] and event.name == "Commune de Montreuil"
    assert (event.kind, event.siret, event.departement, event.commune) == ("commune", SIRET, "93", "93048")


def test_a_correction_that_changes_nothing_records_nothing():
    buyer = make_buyer()
    buyer.pull_events()
    assert buyer.update(at=AT, name=" Ville de Montreuil ", siret="219 300 480 00015") == []
    assert buyer.pending_events == ()


def test_a_correction_is_validated_like_a_registration():
    buyer = make_buyer()
    with pytest.raises(InvalidInput) as caught:
        buyer.update(at=AT, departement="75")  # the commune 93048 is not in Paris
    assert caught.value.field == "commune"
    assert buyer.departement == "93"
    with pytest.raises(InvalidInput) as caught:
        buyer.update(at=AT, status="archived")
    assert caught.value.field == "status"


def test_a_new_kind_must_fit_the_open_engagement_and_the_conventions():
    buyer = make_buyer()
    with pytest.raises(Conflict, match="open pams engagement"):
        buyer.update(at=AT, kind="private_company", open_programmes=[Programme.PAMS])
    with pytest.raises(Conflict, match="conventions"):
        buyer.update(at=AT, kind="other_public", conventions=1)
    assert buyer.update(at=AT, kind="other_public", open_programmes=[Programme.PAMS]) == ["kind"]


def test_archiving_is_refused_while_engaged_or_bound_then_closes_the_buyer():
    buyer = make_buyer()
    with pytest.raises(Conflict) as caught:
        buyer.archive(at=AT, open_engagement="eng-1")
    assert "eng-1" in caught.value.extra["current_state"]
    with pytest.raises(Conflict, match="bcv-1"):
        buyer.archive(at=AT, conventions_in_force=["bcv-1"])
    buyer.pull_events()
    buyer.archive(at=AT)
    assert buyer.status is BuyerStatus.ARCHIVED and isinstance(buyer.pending_events[0], BuyerArchived)
    with pytest.raises(Conflict) as caught:
        buyer.update(at=AT, name="Autre")
    assert caught.value.extra["current_state"] == "archived"
    with pytest.raises(Conflict):
        buyer.archive(at=AT)


def test_naive_instants_are_refused():
    with pytest.raises(InvalidInput):
        Buyer.register("buy-2", kind="commune", siret=with_check_digit("2193004800002"), name="X", departement="93",
                       at=datetime(2014, 6, 2, 9, 0))


def test_fact_days_are_never_in_the_future_in_paris():
    late_evening_utc = datetime(2014, 6, 2, 22, 30, tzinfo=timezone.utc)  # already 3 June in Paris
    assert domain.fact_day(date(2014, 6, 3), "on", at=late_evening_utc) == date(2014, 6, 3)
    with pytest.raises(InvalidInput) as caught:
        domain.fact_day(date(2014, 6, 4), "on", at=late_evening_utc)
    assert caught.value.field == "on"
    with pytest.raises(InvalidInput):
        domain.fact_day("2014-06-01", "on", at=AT)
