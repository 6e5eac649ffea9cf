"""The register import's rules (issue 10: migrating a real register)."""
from datetime import date as D

import pytest

from contracts.membership import DuesInvoiced, DuesPaymentRecorded, MemberActivated, MembershipRenewed
from runtime.errors import Conflict, InvalidInput
from services.membership.domain import DEFAULT_DUES_TERMS, MemberStatus
from services.membership.domain import register as reg

from .conftest import make_org

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


def test_a_line_s_dates_are_iso_days_from_1900_to_2200():
    assert line(issued_on=" 1900-01-01 ").day("issued_on") == D(1900, 1, 1)
    assert line(issued_on="2200-12-31").day("issued_on") == D(2200, 12, 31)
    assert line().day("paid_on", required=False) is None
    for value, why in (("1899-12-31", "issued_on: 1899-12-31 is outside the years 1900–2200"),
                       ("2201-01-01", "issued_on: 2201-01-01 is outside the years 1900–2200"),
                       ("01/02/2016", "issued_on: '01/02/2016' is not a date (YYYY-MM-DD)")):
        with pytest.raises(InvalidInput) as exc:
            line(issued_on=value).day("issued_on")
        assert (exc.value.field, exc.value.detail) == ("issued_on", why)
    with pytest.raises(InvalidInput) as exc:
        line(issued_on=" ").day("issued_on")
    assert (exc.value.field, exc.value.detail) == ("issued_on", "issued_on is required on a invoice line")


def test_a_line_s_numbers_are_whole_from_0_to_2_to_the_53():
    assert line(amount_cents="0").number("amount_cents") == 0
    assert line(amount_cents="12 000").number("amount_cents") == 12_000
    assert line(amount_cents=str(2**53)).number("amount_cents") == 2**53
    assert line().number("headcount", required=False, default=7) == 7
    for value, why in ((str(2**53 + 1), f"amount_cents: {2**53 + 1} is out of range"),
                       ("-1", "amount_cents: -1 is out of range"),
                       ("12,5", "amount_cents: '12,5' is not a whole number")):
        with pytest.raises(InvalidInput) as exc:
            line(amount_cents=value).number("amount_cents")
        assert (exc.value.field, exc.value.detail) == ("amount_cents", why)
    with pytest.raises(InvalidInput) as exc:
        line().number("amount_cents")
    assert (exc.value.field, exc.value.detail) == ("amount_cents", "amount_cents is required on a invoice line")


# -- reading the file: what is refused, what is normalised, which lines are skipped -------------

def refused_file(content: bytes) -> tuple[str, str]:
    with pytest.raises(InvalidInput) as exc:
        reg.read_register(content)
    return exc.value.field, exc.value.detail


def test_a_file_neither_utf8_nor_windows_1252_is_refused():
    """Windows-1252 leaves five bytes undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D): a file with one
    that is not UTF-8 either is not text."""
    assert refused_file(f"kind;siret\norganisation;{SIRET}\x81\n".encode("latin-1")) == (
        "file", "the file is not UTF-8 or Windows-1252 text")


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
