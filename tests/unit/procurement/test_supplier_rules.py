"""The supplier profile's input rules, each on its own: what passes (normalised), what is refused, and
the refusal's field and words — the aggregate's tests reach them through a profile and mostly read the
field only."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo

from contracts.procurement.vocabulary import Sector, SupplierKind, SupplierLabel
from services.procurement.domain import suppliers as rules
from services.procurement.domain.suppliers import Base, Capacity, Identity, PastContract, Reference, Serves
from tests.unit.refusals import refused

AT = datetime(2006, 3, 1, 10, tzinfo=timezone.utc)


def test_identity_is_copied_from_an_organisation_document():
    doc = {"name": "Recyclerie du Val", "siret": "73282932000074", "legal_form": "association", "esus_agreed": 1,
           "departement": "93", "commune": "Montreuil", "as_of": AT, "ignored": "x"}
    assert Identity.of(doc) == Identity(name="Recyclerie du Val", siret="73282932000074", legal_form="association",
                                        esus_agreed=True, departement="93", commune_name="Montreuil", as_of=AT)
    assert Identity.of({**doc, "esus_agreed": 0}).esus_agreed is False


def test_a_base_is_the_communes_reference_data():
    base = Base.at(" 93048 ")
    assert base.model_dump() == {"commune": "93048", "commune_name": "Montreuil", "departement": "93",
                                 "lat": base.lat, "lon": base.lon, "approximate": base.approximate}
    assert 48.8 < base.lat < 48.9 and 2.4 < base.lon < 2.5 and base.approximate is False
    refused(lambda: Base.at("99999"), "base_commune", "'99999' is not the INSEE code of a French commune")
    refused(lambda: Base.at(93048, "serves.communes.0"), "serves.communes.0",
            "93048 is not the INSEE code of a French commune")


def test_a_departement_code_is_normalised_or_refused_with_its_words():
    assert rules.departement_code(" 2a ", "f") == "2A"
    assert rules.departement_code("1", "f") == "01" and rules.departement_code("974", "f") == "974"
    for bad in ("20", "001", 1, None, "", "x"):
        refused(lambda: rules.departement_code(bad, "serves.departements.0"), "serves.departements.0",
                f"{bad!r} is not a French département code (01–95, 2A, 2B, 971–976…)")


def test_lists_their_type_their_minimum_and_maximum():
    assert rules._list((1, 2), "f", max_items=2) == [1, 2]
    refused(lambda: rules._list("ab", "kinds", max_items=5), "kinds", "kinds must be a list")
    refused(lambda: rules._list({"a": 1}, "kinds", max_items=5), "kinds", "kinds must be a list")
    refused(lambda: rules._list([], "sectors", max_items=5, at_least=1), "sectors", "sectors needs at least 1 item")
    refused(lambda: rules._list([1], "x", max_items=5, at_least=2), "x", "x needs at least 2 items")
    assert rules._list([1, 2], "x", max_items=5, at_least=2) == [1, 2]
    refused(lambda: rules._list([1, 2, 3], "kinds", max_items=2), "kinds", "kinds has more than 2 items")


def test_codes_are_unique_and_at_most_twice_the_vocabulary():
    # twice the vocabulary's size, duplicates included, reaches the uniqueness check (its words: the
    # code's repr, as the enum spells it)
    refused(lambda: rules.check_kinds(["ei"] * (2 * len(SupplierKind))), "kinds.1",
            "<SupplierKind.EI: 'ei'> is given twice in kinds")
    refused(lambda: rules.check_kinds(["ei"] * (2 * len(SupplierKind) + 1)), "kinds",
            f"kinds has more than {2 * len(SupplierKind)} items")
    assert rules.check_kinds([k.value for k in SupplierKind]) == list(SupplierKind)
    assert rules.check_sectors(["food", Sector.LOGISTICS]) == [Sector.FOOD, Sector.LOGISTICS]
    refused(lambda: rules.check_sectors([]), "sectors", "sectors needs at least 1 item")
    refused(lambda: rules.check_sectors("food"), "sectors", "sectors must be a list")
    assert rules.check_kinds([]) == [] and rules.check_labels([]) == []


def test_the_esus_label_is_refused_with_its_reason():
    assert rules.check_labels(["rge", "lucie"]) == [SupplierLabel.RGE, SupplierLabel.LUCIE]
    refused(lambda: rules.check_labels("rge"), "labels", "labels must be a list")
    refused(lambda: rules.check_labels(["rge", "rge"]), "labels.1",
            "<SupplierLabel.RGE: 'rge'> is given twice in labels")
    refused(lambda: rules.check_labels(["rge", "eco"]), "labels.1",
            "unknown labels.1 'eco'; expected one of: esus, rge, ecocert, lucie, b_corp, qualiopi")
    refused(lambda: rules.check_labels(["rge", "esus"]), "labels.1",
            "the esus label comes from the organisation's ESUS agreement (membership's events): it cannot be set here")


def test_services_are_texts_of_200_characters_30_at_most_unique_whatever_their_case():
    assert rules.check_services([" Collecte ", "x" * 200]) == ["Collecte", "x" * 200]
    refused(lambda: rules.check_services(["x" * 201]), "services.0", "services.0 is longer than 200 characters")
    assert len(rules.check_services([f"s{i}" for i in range(30)])) == 30
    refused(lambda: rules.check_services([f"s{i}" for i in range(31)]), "services", "services has more than 30 items")
    refused(lambda: rules.check_services(["Collecte", "COLLECTE"]), "services.1",
            "'COLLECTE' is given twice in services")


def test_serves_normalises_and_refuses_with_its_words():
    assert rules.check_serves({"departements": ["1", "2b"], "communes": [" 93048"], "radius_km": 0}) == \
        Serves(departements=["01", "2B"], communes=["93048"], radius_km=0)
    assert rules.check_serves({"departements": None, "communes": None}) == Serves()
    assert rules.check_serves(Serves(radius_km=300)).radius_km == 300
    refused(lambda: rules.check_serves([]), "serves", "serves must be an object")
    refused(lambda: rules.check_serves({"zone": 1, "area": 2}), "serves.area", "unknown field")
    for radius in (-1, 301, 2.5, True, "30"):
        refused(lambda: rules.check_serves({"radius_km": radius}), "serves.radius_km",
                "serves.radius_km must be a whole number of km from 0 to 300, or null")
    refused(lambda: rules.check_serves({"departements": ["93", "93"]}), "serves.departements.1",
            "'93' is given twice in serves.departements")
    refused(lambda: rules.check_serves({"communes": ["93048", "93048"]}), "serves.communes.1",
            "'93048' is given twice in serves.communes")
    refused(lambda: rules.check_serves({"departements": ["93"] * 121}), "serves.departements",
            "serves.departements has more than 120 items")
    refused(lambda: rules.check_serves({"departements": ["93"] * 120}), "serves.departements.1",
            "'93' is given twice in serves.departements")
    refused(lambda: rules.check_serves({"communes": ["93048"] * 1001}), "serves.communes",
            "serves.communes has more than 1000 items")
    refused(lambda: rules.check_serves({"communes": ["93048"] * 1000}), "serves.communes.1",
            "'93048' is given twice in serves.communes")


def test_capacity_its_bounds_and_words():
    top = rules.MAX_CENTS
    assert rules.check_capacity({"max_contract_cents": top, "annual_capacity_cents": 0,
                                 "headcount_available": 1_000_000}) == \
        Capacity(max_contract_cents=top, annual_capacity_cents=0, headcount_available=1_000_000)
    assert rules.check_capacity({"headcount_available": 0}).headcount_available == 0
    assert rules.check_capacity(Capacity(annual_capacity_cents=5)) == Capacity(annual_capacity_cents=5)
    assert rules.check_capacity({}) == Capacity()
    refused(lambda: rules.check_capacity("x"), "capacity", "capacity must be an object")
    refused(lambda: rules.check_capacity({"staff": 1, "budget": 2}), "capacity.budget", "unknown field")
    for headcount in (-1, 1_000_001, True, 2.0):
        refused(lambda: rules.check_capacity({"headcount_available": headcount}), "capacity.headcount_available",
                "capacity.headcount_available must be a whole number from 0 to 1000000")
    for name in ("max_contract_cents", "annual_capacity_cents"):
        for amount in (-1, top + 1, True, 1.0, "1"):
            refused(lambda: rules.check_capacity({name: amount}), f"capacity.{name}",
                    f"capacity.{name} must be a whole number of euro cents from 0 to {top}")


def test_an_amount_may_be_required():
    assert rules._amount(None, "a") is None
    refused(lambda: rules._amount(None, "a", required=True), "a",
            f"a must be a whole number of euro cents from 0 to {rules.MAX_CENTS}")
    assert rules._amount(0, "a", required=True) == 0


def test_a_year_from_1900_to_the_year_of_the_change():
    assert rules._year(1900, "y", AT) == 1900 and rules._year(2006, "y", AT) == 2006
    for year in (1899, 2007, True, 2000.0, "2000"):
        refused(lambda: rules._year(year, "references.0.year", AT), "references.0.year",
                "references.0.year must be a year from 1900 to 2006 (not in the future)")


def test_references_keep_what_was_given_with_their_limits():
    given = [{"client_name": " Ville de Montreuil ", "year": 2005, "amount_cents": 50_000,
              "description": "x" * 2000},
             Reference(client_name="Ville", year=2004)]
    assert rules.check_references(given, AT) == [
        Reference(client_name="Ville de Montreuil", year=2005, amount_cents=50_000, description="x" * 2000),
        Reference(client_name="Ville", year=2004)]
    refused(lambda: rules.check_references([{**given[0], "description": "x" * 2001}], AT),
            "references.0.description", "references.0.description is longer than 2000 characters")
    refused(lambda: rules.check_references([given[1], {**given[0], "amount_cents": -1}], AT),
            "references.1.amount_cents",
            f"references.1.amount_cents must be a whole number of euro cents from 0 to {rules.MAX_CENTS}")
    refused(lambda: rules.check_references([given[1], "x"], AT), "references.1", "references.1 must be an object")
    refused(lambda: rules.check_references([{"year": 2005}], AT), "references.0.client_name",
            "references.0.client_name is required")
    assert len(rules.check_references([given[1]] * 50, AT)) == 50
    refused(lambda: rules.check_references([given[1]] * 51, AT), "references", "references has more than 50 items")


def test_past_contracts_keep_what_was_given_and_are_unique_by_their_decp_id_only():
    one = {"buyer_name": " Département 93 ", "year": 2004, "amount_cents": 1_200_000, "reserved_article": "l2113_13",
           "decp_id": " d-1 "}
    plain = {"buyer_name": "Ville", "year": 2005, "amount_cents": 0}
    assert rules.check_past_contracts([one, plain, plain], AT) == [
        PastContract(buyer_name="Département 93", year=2004, amount_cents=1_200_000, reserved_article="l2113_13",
                     decp_id="d-1"),
        PastContract(buyer_name="Ville", year=2005, amount_cents=0),
        PastContract(buyer_name="Ville", year=2005, amount_cents=0)]
    again = PastContract(buyer_name="Département 93", year=2003, amount_cents=1_200_000,
                         reserved_article="l2113_13", decp_id="d-1")
    refused(lambda: rules.check_past_contracts([plain, one, {**one, "year": 2003}], AT), "past_contracts.2",
            f"{again!r} is given twice in past_contracts")
    assert rules.check_past_contracts([{**one, "decp_id": "d" * 100}], AT)[0].decp_id == "d" * 100
    refused(lambda: rules.check_past_contracts([{**one, "decp_id": "d" * 101}], AT), "past_contracts.0.decp_id",
            "past_contracts.0.decp_id is longer than 100 characters")
    refused(lambda: rules.check_past_contracts([plain, {**plain, "amount_cents": None}], AT),
            "past_contracts.1.amount_cents",
            f"past_contracts.1.amount_cents must be a whole number of euro cents from 0 to {rules.MAX_CENTS}")
    refused(lambda: rules.check_past_contracts([plain, 1], AT), "past_contracts.1",
            "past_contracts.1 must be an object")
    refused(lambda: rules.check_past_contracts([{**plain, "buyer_name": " "}], AT), "past_contracts.0.buyer_name",
            "past_contracts.0.buyer_name is required")
    refused(lambda: rules.check_past_contracts([{**plain, "year": 2007}], AT), "past_contracts.0.year",
            "past_contracts.0.year must be a year from 1900 to 2006 (not in the future)")
    assert len(rules.check_past_contracts([plain] * 100, AT)) == 100
    refused(lambda: rules.check_past_contracts([plain] * 101, AT), "past_contracts",
            "past_contracts has more than 100 items")


class _NoOffset(tzinfo):
    def utcoffset(self, dt):
        return None


def test_a_change_needs_an_aware_time():
    assert rules._aware(AT) is AT
    for at in (datetime(2006, 3, 1), datetime(2006, 3, 1, tzinfo=_NoOffset()), "2006-03-01T10:00:00Z", None):
        refused(lambda: rules._aware(at), "at", "the time of a change must be a timezone-aware datetime")
    assert rules._aware(AT.astimezone(timezone(timedelta(hours=2)))) == AT
