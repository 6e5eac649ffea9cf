"""The register import's rules (issue 10: migrating a real register)."""
from datetime import date as D

import pytest

from contracts.membership import DuesInvoiced, DuesPaymentRecorded, MemberActivated, MembershipRenewed
from runtime.errors import Conflict, InvalidInput
from services.membership.domain import DEFAULT_DUES_TERMS, DuesTerms, MemberStatus, Organisation
from services.membership.domain import register as reg

from .conftest import make_member, make_org

HEADER = ("kind;siret;name;legal_form;departement;commune;sector;headcount;annual_budget_cents;registered_on;"
          "member_since;year;amount_cents;issued_on;fee_bracket;paid_on;method;payment_id\n")
SIRET = "73282932000074"


def lines_of(body: str):
    return reg.read_register((HEADER + body).encode())


def test_reading_a_register_reports_unreadable_lines_and_orders_the_rest():
    lines, faults = lines_of(
        f"payment;{SIRET};;;;;;;;;;2016;100;;;2016-03-01;;\n"
        f"invoice;{SIRET};;;;;;;;;;2016;12000;2016-02-01;B2;;;\n"
        f"membership;{SIRET};;;;;;;;;;;;;;;;\n"
        f"invoice;{SIRET};;;;;;;;;;2015;12000;2015-02-01;B2;;;\n"
        f"organisation;;;;;;;;;;;;;;;;;\n"
        f"organisation;{SIRET};Les Ateliers;association;93;Montreuil;recyclage;12;45000000;2015-01-10;2015-02-01"
        f";;;;;;;\n")
    assert [(f["line"], f["field"]) for f in faults] == [(4, "kind"), (6, "siret")]
    assert [(l.line, l.kind) for l in reg.ordered(lines)] == [(7, "organisation"), (5, "invoice"), (3, "invoice"),
                                                              (2, "payment")]


@pytest.mark.parametrize("content, why", [(b"", "empty"), (b"name;siret\nx;1\n", "kind and siret")])
def test_a_file_that_cannot_be_read_is_refused_naming_the_file(content, why):
    with pytest.raises(InvalidInput) as exc:
        reg.read_register(content)
    assert exc.value.field == "file" and why in exc.value.detail


def test_a_windows_1252_comma_separated_file_is_read():
    text = HEADER.replace(";", ",") + f"organisation,{SIRET},Économie,association,93,Montreuil,x,1,1,2015-01-10,,,,,,,,\n"
    lines, faults = reg.read_register(text.encode("cp1252"))
    assert faults == [] and lines[0].text("name") == "Économie"


def member_since_2015():
    org = make_org(on=D(2015, 1, 10))
    org.pull_events()
    return org, reg.import_member(org, since=D(2015, 2, 1))


def test_a_member_since_2015_comes_in_without_an_application_or_an_invoice_invented():
    org, member = member_since_2015()
    (event,) = member.pull_events()
    assert isinstance(event, MemberActivated) and event.imported and event.since == D(2015, 2, 1)
    assert event.application_id == reg.IMPORTED_APPLICATION and event.dues_cents == 0
    assert member.invoices == [] and member.status is MemberStatus.ACTIVE
    with pytest.raises(InvalidInput) as exc:
        reg.import_member(org, since=D(2014, 12, 31))
    assert exc.value.field == "member_since"


def test_past_invoices_and_payments_keep_their_amounts_and_are_marked_imported():
    org, member = member_since_2015()
    member.pull_events()
    lines, _ = lines_of(f"invoice;{SIRET};;;;;;;;;;2015;12000;2015-02-01;B2;;;\n"
                        f"invoice;{SIRET};;;;;;;;;;2016;12500;2016-01-05;B2;;;\n"
                        f"payment;{SIRET};;;;;;;;;;2015;12000;;;2015-03-01;cheque;CHQ-1\n"
                        f"payment;{SIRET};;;;;;;;;;2016;12500;;;2016-01-20;;\n")
    inv15, inv16, pay15, pay16 = lines
    assert reg.import_invoice(member, inv15, DEFAULT_DUES_TERMS).amount_cents == 12_000
    assert reg.import_invoice(member, inv16, DEFAULT_DUES_TERMS).fee_bracket == "B2"
    assert reg.import_payment(member, pay15) and reg.import_payment(member, pay16)
    events = member.pull_events()
    assert [type(e) for e in events] == [DuesInvoiced, DuesInvoiced, DuesPaymentRecorded, DuesPaymentRecorded,
                                         MembershipRenewed]
    assert all(e.imported for e in events)
    assert member.in_good_standing(D(2016, 6, 1))
    # a second import of the same lines changes nothing
    assert reg.import_invoice(member, inv15, DEFAULT_DUES_TERMS) is None
    assert reg.import_payment(member, pay15) is False and reg.import_payment(member, pay16) is False
    assert member.pull_events() == []


def test_bad_invoice_and_payment_lines_name_their_field():
    org, member = member_since_2015()
    lines, _ = lines_of(f"invoice;{SIRET};;;;;;;;;;2014;12000;2015-02-01;;;;\n"
                        f"invoice;{SIRET};;;;;;;;;;2015;12,5;2015-02-01;;;;\n"
                        f"invoice;{SIRET};;;;;;;;;;2015;12000;01/02/2015;;;;\n"
                        f"payment;{SIRET};;;;;;;;;;2015;100;;;2015-03-01;;\n"
                        f"payment;{SIRET};;;;;;;;;;2015;100;;;2015-03-01;bitcoin;\n")
    for line, field in zip(lines[:3], ("year", "amount_cents", "issued_on")):
        with pytest.raises(InvalidInput) as exc:
            reg.import_invoice(member, line, DEFAULT_DUES_TERMS)
        assert exc.value.field == field
    with pytest.raises(Exception) as exc:  # no 2015 invoice
        reg.import_payment(member, lines[3])
    assert "2015" in str(exc.value.detail)
    reg.import_invoice(member, lines_of(f"invoice;{SIRET};;;;;;;;;;2015;12000;2015-02-01;;;;\n")[0][0],
                       DEFAULT_DUES_TERMS)
    with pytest.raises(InvalidInput) as exc:
        reg.import_payment(member, lines[4])
    assert exc.value.field == "method"
    with pytest.raises((InvalidInput, Conflict)):
        reg.import_payment(member, lines_of(f"payment;{SIRET};;;;;;;;;;2015;99999;;;2015-03-01;;\n")[0][0])


# -- a line's values: dates and numbers --------------------------------------------------------

def line(**values):
    return reg.RegisterLine(line=2, kind="invoice", siret=SIRET, values=values)


def refusal(call, *args) -> tuple[str, str]:
    """The field and the words of the InvalidInput ``call(*args)`` raises."""
    with pytest.raises(InvalidInput) as exc:
        call(*args)
    return exc.value.field, exc.value.detail


def test_a_line_s_dates_are_iso_days_from_1900_to_2200():
    assert line(issued_on=" 1900-01-01 ").day("issued_on") == D(1900, 1, 1)
    assert line(issued_on="2200-12-31").day("issued_on") == D(2200, 12, 31)
    assert line().day("paid_on", required=False) is None
    for value, why in (("1899-12-31", "issued_on: 1899-12-31 is outside the years 1900–2200"),
                       ("2201-01-01", "issued_on: 2201-01-01 is outside the years 1900–2200"),
                       ("01/02/2016", "issued_on: '01/02/2016' is not a date (YYYY-MM-DD)")):
        assert refusal(line(issued_on=value).day, "issued_on") == ("issued_on", why)
    assert refusal(line(issued_on=" ").day, "issued_on") == ("issued_on", "issued_on is required on a invoice line")


def test_a_line_s_numbers_are_whole_from_0_to_2_to_the_53():
    assert line(amount_cents="0").number("amount_cents") == 0
    assert line(amount_cents="12 000").number("amount_cents") == 12_000
    assert line(amount_cents=str(2**53)).number("amount_cents") == 2**53
    assert line().number("headcount", required=False, default=7) == 7
    for value, why in ((str(2**53 + 1), f"amount_cents: {2**53 + 1} is out of range"),
                       ("-1", "amount_cents: -1 is out of range"),
                       ("12,5", "amount_cents: '12,5' is not a whole number")):
        assert refusal(line(amount_cents=value).number, "amount_cents") == ("amount_cents", why)
    assert refusal(line().number, "amount_cents") == ("amount_cents", "amount_cents is required on a invoice line")


# -- reading the file: what is refused, what is normalised, which lines are skipped -------------

def refused_file(content: bytes) -> tuple[str, str]:
    return refusal(reg.read_register, content)


def test_an_empty_or_blank_file_is_refused_as_empty():
    assert refused_file(b"") == ("file", "the file is empty")
    assert refused_file(b" \r\n\t\n") == ("file", "the file is empty")


def test_a_header_without_kind_and_siret_is_refused_naming_the_columns_found():
    assert refused_file(b"Name; SIRET\nx;1\n") == (
        "file", "the header must name the columns kind and siret (found: name, siret)")
    assert refused_file(b"kind;name\norganisation;x\n") == (
        "file", "the header must name the columns kind and siret (found: kind, name)")


def test_a_file_neither_utf8_nor_windows_1252_is_refused():
    """Windows-1252 leaves five bytes undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D): a file with one
    that is not UTF-8 either is not text."""
    assert refused_file(f"kind;siret\norganisation;{SIRET}\x81\n".encode("latin-1")) == (
        "file", "the file is not UTF-8 or Windows-1252 text")


def test_a_file_with_its_header_only_has_no_lines():
    assert reg.read_register(b"kind,siret") == ([], [])
    assert reg.read_register(f"kind;siret\n".encode()) == ([], [])


def test_a_utf8_file_with_a_bom_and_a_header_in_capitals_is_read_with_its_columns_normalised():
    text = f"\ufeffKIND ; Siret ;Name\n Organisation ; {SIRET} ;Économie\n"
    lines, faults = reg.read_register(text.encode("utf-8"))
    assert faults == []
    assert [(l.line, l.kind, l.siret) for l in lines] == [(2, "organisation", SIRET)]
    # the values stay as read (the import strips them when it reads them)
    assert lines[0].values == {"kind": " Organisation ", "siret": f" {SIRET} ", "name": "Économie"}
    assert lines[0].text("name") == "Économie"


def test_a_header_with_as_many_semicolons_as_commas_is_read_with_semicolons():
    lines, faults = reg.read_register(f"kind;siret;a,b,c\norganisation;{SIRET};x,y,z\n".encode())
    assert faults == [] and lines[0].values == {"kind": "organisation", "siret": SIRET, "a,b,c": "x,y,z"}


def test_a_short_row_s_values_are_empty_a_long_row_s_extras_dropped_a_row_of_separators_skipped():
    """A short row's missing values are empty, a long row's extra values are dropped, a row of
    separators only is skipped without a fault (its line number still counts)."""
    lines, faults = reg.read_register(
        (f"kind;siret;name;commune\n"
         f";;;\n"
         f"organisation;{SIRET}\n"
         f"invoice;{SIRET};a;b;extra;more\n"
         f" ; ; ;\n"
         f"Payment;{SIRET};;\n").encode())
    assert faults == []
    assert [(l.line, l.kind) for l in lines] == [(3, "organisation"), (4, "invoice"), (6, "payment")]
    assert lines[0].values == {"kind": "organisation", "siret": SIRET, "name": "", "commune": ""}
    assert lines[0].text("name") is None
    assert lines[1].values == {"kind": "invoice", "siret": SIRET, "name": "a", "commune": "b"}


def test_a_line_s_number_is_its_line_in_the_file_after_empty_lines_and_values_on_several_lines():
    """The number a fault names is the line the user finds in the file: empty lines count (the
    csv reader skips them without a row), and a record whose quoted value spans lines is named
    by its first line."""
    lines, faults = reg.read_register(
        (f"kind;siret;name\r\n"
         f"\r\n"
         f"organisation;{SIRET};\"Les Ateliers\r\nde Montreuil\"\r\n"
         f"\r\n"
         f"\r\n"
         f"membership;{SIRET};\r\n"
         f"invoice;{SIRET};\"a\nb\nc\";extra\r\n"
         f"payment;;\r\n").encode())
    assert [(l.line, l.kind) for l in lines] == [(3, "organisation"), (8, "invoice")]
    assert lines[0].text("name") == "Les Ateliers\r\nde Montreuil"
    assert [(f["line"], f["field"]) for f in faults] == [(7, "kind"), (11, "siret")]


def test_each_unreadable_line_is_reported_with_its_number_field_and_why():
    lines, faults = lines_of(f"membership;{SIRET};;;;;;;;;;;;;;;;\n"
                             f";{SIRET};;;;;;;;;;;;;;;;\n"
                             f"invoice; ;;;;;;;;;;2015;12000;2015-02-01;B2;;;\n"
                             f"invoice;{SIRET};;;;;;;;;;2015;12000;2015-02-01;B2;;;\n")
    assert faults == [
        {"line": 2, "field": "kind", "message": "kind 'membership' is not one of organisation, invoice, payment"},
        {"line": 3, "field": "kind", "message": "kind '' is not one of organisation, invoice, payment"},
        {"line": 4, "field": "siret", "message": "siret is required"},
    ]
    assert [(l.line, l.kind, l.siret) for l in lines] == [(5, "invoice", SIRET)]


# -- the order the lines apply in --------------------------------------------------------------

def test_lines_apply_organisations_first_then_by_date_the_invoice_before_the_payment_then_file_order():
    lines, _ = lines_of(f"payment;{SIRET};;;;;;;;;;2016;100;;;2016-01-05;;\n"        # 2
                        f"invoice;{SIRET};;;;;;;;;;2016;100;2016-01-05;;;;\n"        # 3
                        f"organisation;{SIRET};;;;;;;;;;;;;;;;\n"                      # 4
                        f"payment;{SIRET};;;;;;;;;;2016;100;;;2016-01-05;;\n"        # 5
                        f"invoice;{SIRET};;;;;;;;;;2015;100;2015-12-31;;;;\n"        # 6
                        f"organisation;{SIRET};;;;;;;;;;;;;;;;\n"                      # 7
                        f"payment;{SIRET};;;;;;;;;;2015;100;;;2016-01-04;;\n"        # 8
                        f"invoice;{SIRET};;;;;;;;;;2016;100;2016-01-05;;;;\n")       # 9
    assert [l.line for l in reg.ordered(lines)] == [4, 7, 6, 8, 3, 9, 2, 5]
    assert reg.ordered([]) == []


def test_an_organisation_line_comes_first_whatever_its_other_columns_say():
    lines, _ = lines_of(f"invoice;{SIRET};;;;;;;;;;2015;100;2015-01-05;;;;\n"
                        f"organisation;{SIRET};;;;;;;;2015-01-10;;;;2016-01-01;;2016-02-01;;\n")
    assert [l.line for l in reg.ordered(lines)] == [3, 2]


def test_a_line_without_its_date_is_ordered_among_the_others_not_refused_there():
    lines, _ = lines_of(f"payment;{SIRET};;;;;;;;;;2016;100;;;2016-01-05;;\n"
                        f"invoice;{SIRET};;;;;;;;;;2016;100;;;;;\n"
                        f"payment;{SIRET};;;;;;;;;;2016;100;;;;;\n")
    assert sorted(l.line for l in reg.ordered(lines)) == [2, 3, 4]


# -- an organisation line's profile ------------------------------------------------------------

def org_line(**values):
    return reg.RegisterLine(line=7, kind="organisation", siret=SIRET, values=values)


def test_an_organisation_line_gives_the_whole_profile_and_its_registration_date():
    line = org_line(name=" Les Ateliers ", legal_form="scic", departement="93", commune="Montreuil",
                    sector="recyclage", headcount="12", annual_budget_cents="45 000 000",
                    registered_on="2015-01-10", esus_agreed_on="2014-06-01", member_since="2015-02-01")
    profile, registered_on = reg.organisation_profile(line)
    assert profile == dict(siret=SIRET, name="Les Ateliers", legal_form="scic", departement="93",
                           commune="Montreuil", sector="recyclage", headcount=12, annual_budget_cents=45_000_000,
                           esus_agreed=True, esus_agreed_on=D(2014, 6, 1))
    assert registered_on == D(2015, 1, 10)
    org = Organisation.register("org-9", on=registered_on, **profile)  # the profile register() takes
    assert org.esus_agreed and org.registered_on == D(2015, 1, 10)


def test_an_organisation_line_s_missing_texts_are_empty_and_no_esus_date_means_no_agreement():
    profile, registered_on = reg.organisation_profile(
        org_line(headcount="0", annual_budget_cents="0", registered_on="2015-01-10"))
    assert profile == dict(siret=SIRET, name="", legal_form="", departement="", commune="", sector="",
                           headcount=0, annual_budget_cents=0, esus_agreed=False, esus_agreed_on=None)
    assert registered_on == D(2015, 1, 10)


@pytest.mark.parametrize("missing, field, why", [
    ("headcount", "headcount", "headcount is required on a organisation line"),
    ("annual_budget_cents", "annual_budget_cents", "annual_budget_cents is required on a organisation line"),
    ("registered_on", "registered_on", "registered_on is required on a organisation line"),
])
def test_an_organisation_line_needs_its_size_and_registration_date(missing, field, why):
    values = dict(headcount="1", annual_budget_cents="1", registered_on="2015-01-10")
    del values[missing]
    with pytest.raises(InvalidInput) as exc:
        reg.organisation_profile(org_line(**values))
    assert (exc.value.field, exc.value.detail) == (field, why)
    with pytest.raises(InvalidInput) as exc:
        reg.organisation_profile(org_line(esus_agreed_on="2014-13-01", **values))
    assert (exc.value.field, exc.value.detail) == ("esus_agreed_on",
                                                   "esus_agreed_on: '2014-13-01' is not a date (YYYY-MM-DD)")


# -- marking the events imported ---------------------------------------------------------------

def test_only_the_events_recorded_from_the_start_given_are_marked_imported():
    org = make_org(on=D(2015, 1, 10))
    reg.mark_imported(org)  # from the first event by default
    (registered,) = org.pending_events
    assert registered.imported
    member = make_member()  # a live member: member-activated, then dues-invoiced, not imported
    activated, invoiced = member.pending_events
    reg.mark_imported(member, 1)
    assert member.pending_events == (activated, invoiced.model_copy(update={"imported": True}))
    assert not activated.imported


def test_an_event_without_the_imported_field_is_left_as_it_is():
    org = make_org(on=D(2015, 1, 10))
    org.update(on=D(2015, 2, 1), name="Les Ateliers Réunis")
    registered, updated = org.pending_events
    assert "imported" not in type(updated).model_fields
    reg.mark_imported(org, 0)
    assert org.pending_events == (registered.model_copy(update={"imported": True}), updated)


# -- a member since a date ---------------------------------------------------------------------

def test_an_imported_member_carries_the_organisation_s_profile_from_the_day_given():
    org = make_org("org-7", legal_form="scic", departement="75", sector="alimentation durable", on=D(2015, 1, 10),
                   esus_agreed=True, esus_agreed_on=D(2014, 6, 1))
    member = reg.import_member(org, since=D(2015, 1, 10))  # the day of the registration itself
    assert (member.id, member.application_id, member.since, member.status) == (
        "org-7", "imported", D(2015, 1, 10), MemberStatus.ACTIVE)
    assert [(c.status, c.since) for c in member.status_history] == [(MemberStatus.ACTIVE, D(2015, 1, 10))]
    assert [(p.number, p.application_id, p.start_on) for p in member.periods] == [(1, "imported", D(2015, 1, 10))]
    assert member.pull_events() == [MemberActivated(
        organisation_id="org-7", application_id="imported", legal_form="scic", departement="75",
        sector="alimentation durable", esus_agreed=True, since=D(2015, 1, 10), year=2015, dues_cents=0,
        imported=True)]


def test_a_member_since_before_the_registration_is_refused_saying_so():
    org = make_org(on=D(2015, 1, 10))
    with pytest.raises(InvalidInput) as exc:
        reg.import_member(org, since=D(2015, 1, 9))
    assert (exc.value.field, exc.value.detail) == (
        "member_since", "member_since 2015-01-09 is before the organisation's registration 2015-01-10")


# -- an invoice line ---------------------------------------------------------------------------

def invoice_line(year, issued_on, amount="12000", bracket=""):
    return lines_of(f"invoice;{SIRET};;;;;;;;;;{year};{amount};{issued_on};{bracket};;;\n")[0][0]


def test_an_imported_invoice_is_issued_as_the_register_has_it_with_the_terms_deadlines():
    org, member = member_since_2015()
    member.pull_events()
    terms = DuesTerms(payment_terms_days=10, grace_period_days=20)
    invoice = reg.import_invoice(member, invoice_line(2015, "2015-02-01", bracket="B2"), terms)
    assert (invoice.invoice_id, invoice.year, invoice.amount_cents, invoice.fee_bracket, invoice.issued_on,
            invoice.due_on, invoice.grace_ends_on) == (f"{org.id}-2015", 2015, 12_000, "B2", D(2015, 2, 1),
                                                       D(2015, 2, 11), D(2015, 3, 3))
    assert member.pull_events() == [DuesInvoiced(
        organisation_id=org.id, invoice_id=f"{org.id}-2015", year=2015, amount_cents=12_000, fee_bracket="B2",
        issued_on=D(2015, 2, 1), due_on=D(2015, 2, 11), grace_ends_on=D(2015, 3, 3), imported=True)]
    # a second line for the same year, whatever it says, is left as it is
    assert reg.import_invoice(member, invoice_line(2015, "2016-02-01", amount="1"), terms) is None
    assert member.pull_events() == [] and member.invoices == [invoice]


def test_an_invoice_without_a_bracket_is_labelled_imported_and_a_label_is_at_most_50_characters():
    org, member = member_since_2015()
    assert reg.import_invoice(member, invoice_line(2015, "2015-02-01"), DEFAULT_DUES_TERMS).fee_bracket == "imported"
    assert reg.import_invoice(member, invoice_line(2016, "2016-02-01", bracket="B" * 50),
                              DEFAULT_DUES_TERMS).fee_bracket == "B" * 50
    with pytest.raises(InvalidInput) as exc:
        reg.import_invoice(member, invoice_line(2017, "2017-02-01", bracket="B" * 51), DEFAULT_DUES_TERMS)
    assert (exc.value.field, exc.value.detail) == ("fee_bracket", "fee_bracket is longer than 50 characters")


def test_an_invoice_s_year_runs_from_the_membership_s_first_to_the_year_after_its_issue():
    org, member = member_since_2015()  # since 2015-02-01
    assert reg.import_invoice(member, invoice_line(2015, "2015-02-01"), DEFAULT_DUES_TERMS).year == 2015
    assert reg.import_invoice(member, invoice_line(2017, "2016-12-01"), DEFAULT_DUES_TERMS).year == 2017
    for year, issued_on, why in (
            (2014, "2015-03-01", "year 2014 is outside 2015–2016 (the membership started 2015-02-01)"),
            (2018, "2016-12-01", "year 2018 is outside 2015–2017 (the membership started 2015-02-01)")):
        with pytest.raises(InvalidInput) as exc:
            reg.import_invoice(member, invoice_line(year, issued_on), DEFAULT_DUES_TERMS)
        assert (exc.value.field, exc.value.detail) == ("year", why)


def test_an_invoice_issued_before_the_membership_started_is_refused():
    org, member = member_since_2015()  # since 2015-02-01
    with pytest.raises(InvalidInput) as exc:
        reg.import_invoice(member, invoice_line(2015, "2015-01-31"), DEFAULT_DUES_TERMS)
    assert (exc.value.field, exc.value.detail) == (
        "issued_on", "issued_on 2015-01-31 is before the start of the membership (2015-02-01)")


def test_an_imported_invoice_marks_only_its_own_event():
    member = make_member()  # a live member, its events pending (not imported)
    before = member.pending_events
    reg.import_invoice(member, invoice_line(2025, "2025-01-05"), DEFAULT_DUES_TERMS)
    assert member.pending_events[:len(before)] == before
    assert [e.imported for e in member.pending_events[len(before):]] == [True]


# -- a payment line ----------------------------------------------------------------------------

def payment_line(year, paid_on, amount, method="", payment_id=""):
    return lines_of(f"payment;{SIRET};;;;;;;;;;{year};{amount};;;{paid_on};{method};{payment_id}\n")[0][0]


def test_a_payment_without_method_or_id_is_a_transfer_with_an_id_from_the_line():
    org, member = member_since_2015()
    reg.import_invoice(member, invoice_line(2015, "2015-02-01"), DEFAULT_DUES_TERMS)
    member.pull_events()
    assert reg.import_payment(member, payment_line(2015, "2015-03-01", "5000")) is True
    assert member.pull_events() == [DuesPaymentRecorded(
        organisation_id=org.id, invoice_id=f"{org.id}-2015", payment_id=f"import-{SIRET}-2015-2015-03-01-5000",
        year=2015, amount_cents=5_000, method="transfer", paid_on=D(2015, 3, 1), balance_cents=7_000,
        fully_paid=False, imported=True)]
    # the same line again is the same payment: nothing recorded
    assert reg.import_payment(member, payment_line(2015, "2015-03-01", "5000")) is False
    # the method and the id given are kept
    assert reg.import_payment(member, payment_line(2015, "2015-03-02", "7000", "cheque", "CHQ-9")) is True
    (event,) = member.pull_events()
    assert (event.payment_id, event.method, event.fully_paid, event.imported) == ("CHQ-9", "cheque", True, True)


def test_an_imported_payment_marks_only_its_own_events():
    member = make_member()  # a live member, its events pending (not imported); 2024 dues 150 €
    before = member.pending_events
    assert reg.import_payment(member, payment_line(2024, "2024-02-20", "15000")) is True
    assert member.pending_events[:len(before)] == before
    assert [e.imported for e in member.pending_events[len(before):]] == [True]
