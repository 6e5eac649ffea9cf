"""Reading spend files: headers, every kind of bad line, encodings, separators, spreadsheets, and
files that cannot be imported at all."""
from __future__ import annotations

import io
import re
import os
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from runtime.errors import InvalidInput
from runtime.siret import with_check_digit
from services.procurement.adapters.spend_files import TooManyLines, read_spend_file
from services.procurement.domain.spend import (Field, Reason, SpendLine, category_key, map_columns, parse_amount,
                                               parse_date, parse_line, parse_lines, parse_siret)

SIRET = with_check_digit("1234567800012")
OTHER = with_check_digit("9876543210001")
BAD_CHECKSUM = SIRET[:-1] + str((int(SIRET[-1]) + 1) % 10)


def read(text: str, encoding: str = "utf-8", max_lines: int = 100_000):
    return read_spend_file(text.encode(encoding), max_lines=max_lines)


# -- cells ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, cents", [
    ("1 234,56", 123456), ("1234.56", 123456), ("1234,5", 123450), ("1\u00a0234,56 €", 123456),
    ("1.234,56", 123456), ("1,234.56", 123456), ("1.234.567", 123456700), ("12", 1200), ("0", 0),
    ("0,005", 1), ("10,004", 1000), (" 42 EUR ", 4200), (1234.56, 123456), (5, 500), (5.0, 500),
    ("1 000 000 000,00", 10**11),
])
def test_amounts_in_french_and_english_forms(value, cents):
    assert parse_amount(value) == cents


@pytest.mark.parametrize("value, reason", [
    ("douze", Reason.AMOUNT_NOT_A_NUMBER), ("1,2,3", Reason.AMOUNT_NOT_A_NUMBER), ("12abc", Reason.AMOUNT_NOT_A_NUMBER),
    (float("nan"), Reason.AMOUNT_NOT_A_NUMBER), (float("inf"), Reason.AMOUNT_NOT_A_NUMBER),
    (True, Reason.AMOUNT_NOT_A_NUMBER), ("-5", Reason.AMOUNT_NEGATIVE), ("(12,00)", Reason.AMOUNT_NEGATIVE),
    (-0.01, Reason.AMOUNT_NEGATIVE), ("1 000 000 000,01", Reason.AMOUNT_ABSURD), (10**12, Reason.AMOUNT_ABSURD),
    ("", Reason.AMOUNT_MISSING), (None, Reason.AMOUNT_MISSING),
])
def test_bad_amounts(value, reason):
    result = parse_line(7, [SIRET, value, "Nettoyage", "2011-03-15"], map_columns(["SIRET", "Montant", "Catégorie",
                                                                                     "Date"]))
    assert [(f.line, f.field, f.reason, f.column) for f in result] == [(7, Field.AMOUNT, reason, "Montant")]


@pytest.mark.parametrize("value, day", [
    ("2011-03-15", date(2011, 3, 15)), ("15/03/2011", date(2011, 3, 15)), ("5/3/2011", date(2011, 3, 5)),
    ("15-03-2011", date(2011, 3, 15)), ("15.03.2011", date(2011, 3, 15)), ("2011-03-15T10:00:00", date(2011, 3, 15)),
    ("2011-03-15 00:00:00", date(2011, 3, 15)), (date(2012, 1, 1), date(2012, 1, 1)),
    (datetime(2010, 12, 31, 23, 0), date(2010, 12, 31)), ("1900-01-01", date(1900, 1, 1)),
    ("31/12/2200", date(2200, 12, 31)),
])
def test_dates(value, day):
    assert parse_date(value) == day


@pytest.mark.parametrize("value, reason", [
    ("1899-12-31", Reason.DATE_OUT_OF_RANGE), ("01/01/2201", Reason.DATE_OUT_OF_RANGE),
    ("9999-01-01", Reason.DATE_OUT_OF_RANGE), (date(1850, 1, 1), Reason.DATE_OUT_OF_RANGE),
    ("2011-02-30", Reason.DATE_UNPARSABLE), ("31/04/2011", Reason.DATE_UNPARSABLE), ("March 2011", Reason.DATE_UNPARSABLE),
    ("2011/03/15", Reason.DATE_UNPARSABLE), ("15/03/11", Reason.DATE_UNPARSABLE), (" ", Reason.DATE_MISSING),
])
def test_bad_dates(value, reason):
    result = parse_line(3, [SIRET, "1", "x", value], map_columns(["SIRET", "Montant", "Catégorie", "Date"]))
    assert [(f.field, f.reason) for f in result] == [(Field.DATE, reason)]


@pytest.mark.parametrize("value, reason", [
    ("123", Reason.SIRET_MALFORMED), ("1234567890123A", Reason.SIRET_MALFORMED), ("١٢٣٤٥٦٧٨٩٠١٢٣٤", Reason.SIRET_MALFORMED),
    (BAD_CHECKSUM, Reason.SIRET_CHECKSUM), ("", Reason.SIRET_MISSING), (None, Reason.SIRET_MISSING),
])
def test_bad_sirets(value, reason):
    result = parse_line(9, [value, "1", "x", "2011-01-01"], map_columns(["SIRET fournisseur", "Montant", "Catégorie",
                                                                          "Date"]))
    assert [(f.field, f.reason, f.column) for f in result] == [(Field.SIRET, reason, "SIRET fournisseur")]


def test_sirets_are_normalised_and_spreadsheet_numbers_get_their_leading_zeros_back():
    assert parse_siret(f"{SIRET[:3]} {SIRET[3:6]} {SIRET[6:9]} {SIRET[9:]}") == SIRET
    leading_zero = with_check_digit("0123456780001")
    assert parse_siret(int(leading_zero)) == leading_zero
    assert parse_siret(float(int(SIRET))) == SIRET


def test_missing_and_overlong_categories_and_several_faults_on_one_line():
    columns = map_columns(["Date", "Famille d'achat", "Montant TTC", "N° SIRET"])
    faults = parse_line(4, ["2011-13-01", "   ", "-3", "42"], columns)
    assert {(f.field, f.reason) for f in faults} == {(Field.DATE, Reason.DATE_UNPARSABLE),
                                                     (Field.CATEGORY, Reason.CATEGORY_MISSING),
                                                     (Field.AMOUNT, Reason.AMOUNT_NEGATIVE),
                                                     (Field.SIRET, Reason.SIRET_MALFORMED)}
    assert {f.line for f in faults} == {4}
    long = parse_line(5, ["2011-01-01", "x" * 201, "1", SIRET], columns)
    assert long[0].reason is Reason.CATEGORY_TOO_LONG and len(long[0].value) <= 100


def test_a_good_line():
    columns = map_columns(["Catégorie", "SIRET fournisseur", "Montant", "Date", "Commentaire"])
    assert parse_line(2, ["  Nettoyage   des locaux ", SIRET, "1 234,56", "15/03/2011", "x"], columns) == SpendLine(
        2, SIRET, 123456, "Nettoyage des locaux", date(2011, 3, 15))
    assert category_key("Nettoyage des Locaux ") == category_key("nettoyage  des locaux") == "nettoyage des locaux"


def test_headers_are_recognised_in_common_forms_and_a_missing_one_is_named():
    for header in (["SIRET fournisseur", "Montant", "Catégorie", "Date"],
                   ["siret", "MONTANT (€)", "Famille d'achat", "Date de paiement"],
                   ["N° SIRET du fournisseur", "Montant HT", "Categorie", "date facture"],
                   ["Supplier SIRET", "Amount", "Category", "Date"]):
        assert set(map_columns(header).index) == set(Field)
    with pytest.raises(InvalidInput) as caught:
        map_columns(["SIRET", "Libellé", "Date"])
    assert caught.value.field == "file" and "amount" in caught.value.detail and "category" in caught.value.detail
    assert "'Libellé'" in caught.value.detail


# -- files ------------------------------------------------------------------------------------------
CSV = (f"SIRET fournisseur;Montant;Catégorie;Date\n{SIRET};1 234,56;Épicerie;15/03/2011\n\n"
       f"{OTHER};12;Nettoyage;2012-01-02\n")


@pytest.mark.parametrize("encoding, expected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8"), ("cp1252", "cp1252"),
                                                ("utf-16", "utf-16")])
def test_encodings(encoding, expected):
    read_file = read(CSV, encoding)
    assert read_file.encoding == expected and read_file.format == "csv"
    assert read_file.rows[0] == (2, [SIRET, "1 234,56", "Épicerie", "15/03/2011"])
    assert read_file.rows[1][0] == 4  # the blank line keeps its number
    assert read_file.columns.headers[Field.CATEGORY] == "Catégorie"


@pytest.mark.parametrize("separator", [";", ",", "\t"])
def test_separators(separator):
    text = separator.join(["SIRET", "Montant", "Catégorie", "Date"]) + "\n" + separator.join(
        [SIRET, '"1 234,56"' if separator == "," else "1 234,56", "Nettoyage, vitrerie" if separator != ","
         else '"Nettoyage, vitrerie"', "2011-03-15"]) + "\r\n"
    read_file = read(text)
    assert read_file.separator == separator
    assert read_file.rows == [(2, [SIRET, "1 234,56", "Nettoyage, vitrerie", "2011-03-15"])]


def test_a_quoted_cell_over_two_lines_keeps_the_numbering():
    text = f'SIRET;Montant;Catégorie;Date\n{SIRET};1;"Nettoyage\nvitres";2011-01-01\n{OTHER};2;x;2011-01-02\n'
    assert [n for n, _ in read(text).rows] == [2, 4]


def xlsx(rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Dépenses"
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_xlsx_with_typed_cells_and_title_rows():
    content = xlsx([["Achats 2011"], [], ["SIRET fournisseur", "Montant", "Famille d'achat", "Date"],
                    [int(SIRET), 1234.56, "Nettoyage", date(2011, 3, 15)],
                    [OTHER, "12,50", "Restauration", "15/03/2012"], [None, None, None, None],
                    ["oops", -1, None, "2011-99-01"]])
    read_file = read_spend_file(content, max_lines=100)
    assert (read_file.format, read_file.sheet) == ("xlsx", "Dépenses")
    assert [n for n, _ in read_file.rows] == [4, 5, 7]
    lines = [parse_line(n, row, read_file.columns) for n, row in read_file.rows]
    assert lines[0] == SpendLine(4, SIRET, 123456, "Nettoyage", date(2011, 3, 15))
    assert lines[1] == SpendLine(5, OTHER, 1250, "Restauration", date(2012, 3, 15))
    assert {(f.line, f.reason) for f in lines[2]} == {(7, Reason.SIRET_MALFORMED), (7, Reason.AMOUNT_NEGATIVE),
                                                      (7, Reason.CATEGORY_MISSING), (7, Reason.DATE_UNPARSABLE)}


@pytest.mark.parametrize("content, words", [
    (b"", "empty"), (b"   \n\n", "empty"), ("SIRET;Montant;Catégorie;Date\n".encode(), "no data line"),
    ("SIRET;Montant;Catégorie;Date\n\n;;;\n".encode(), "no data line"), (os.urandom(4096) + b"\x00", "binary"),
    (bytes(range(256)) * 20, "binary"), (b"PK\x03\x04" + os.urandom(500), "not a readable spreadsheet"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(500), "not a readable spreadsheet"),
    ("Nom;Prénom\nDupont;Jean\n".encode(), "no column for siret"),
    (xlsx([]), "empty"), (xlsx([["SIRET", "Montant", "Catégorie", "Date"]]), "no data line"),
])
def test_files_that_cannot_be_imported_are_refused_naming_the_file(content, words):
    with pytest.raises(InvalidInput) as caught:
        read_spend_file(content, max_lines=100)
    assert caught.value.field == "file" and words in caught.value.detail


def test_more_lines_than_the_limit_is_refused_naming_the_limit():
    header = "SIRET;Montant;Catégorie;Date\n"
    line = f"{SIRET};1;x;2011-01-01\n"
    assert len(read(header + line * 100, max_lines=100).rows) == 100
    with pytest.raises(TooManyLines) as caught:
        read(header + line * 101, max_lines=100)
    assert caught.value.field == "file" and "100 data lines" in caught.value.detail
    with pytest.raises(TooManyLines):
        read_spend_file(xlsx([["SIRET", "Montant", "Catégorie", "Date"]] + [[SIRET, 1, "x", "2011-01-01"]] * 101),
                        max_lines=100)


# -- amounts written with their unit -------------------------------------------------------------------
@pytest.mark.parametrize("value, cents", [
    ("12 euros", 1200), ("12,50 euros", 1250), ("1 234,56 EUROS", 123456), ("12 Euros", 1200), ("12 EUR", 1200),
    ("12 eur", 1200), ("12,5 €", 1250), ("12.5 €", 1250), ("1 000 000 000,00 €", 10**11),
])
def test_an_amount_may_carry_its_unit_in_any_case(value, cents):
    """"euros" was read as "eur" followed by "os" (the units were taken off shortest first): a file
    writing "12 euros" had every line rejected as "not an amount in euros"."""
    assert parse_amount(value) == cents


# -- what a rejected line says: each bad cell's reason, sentence and value as shown --------------------
COLUMNS = map_columns(["SIRET", "Montant", "Catégorie", "Date"])
GOOD = [SIRET, "1", "x", "2011-01-01"]


def faults(**cells) -> list[tuple]:
    row = list(GOOD)
    for name, value in cells.items():
        row[["siret", "amount", "category", "date"].index(name)] = value
    return [(f.field.value, f.reason.value, f.message, f.value) for f in parse_line(5, row, COLUMNS)]


@pytest.mark.parametrize("cells, expected", [
    ({"siret": None}, ("siret", "siret_missing", "the supplier's SIRET is missing", "")),
    ({"siret": True}, ("siret", "siret_malformed", "True is not a SIRET", "True")),
    ({"siret": 0}, ("siret", "siret_malformed", "'0' is not a SIRET (14 digits)", "0")),
    ({"siret": 1}, ("siret", "siret_checksum", "SIRET 00000000000001 fails its checksum", "1")),
    ({"siret": -5}, ("siret", "siret_malformed", "'-5' is not a SIRET (14 digits)", "-5")),
    ({"siret": 0.0}, ("siret", "siret_malformed", "'0.0' is not a SIRET (14 digits)", "0.0")),
    ({"siret": 1.0}, ("siret", "siret_checksum", "SIRET 00000000000001 fails its checksum", "1.0")),
    ({"siret": 1e14}, ("siret", "siret_malformed", "'100000000000000.0' is not a SIRET (14 digits)",
                       "100000000000000.0")),
    ({"amount": None}, ("amount", "amount_missing", "the amount is missing", "")),
    ({"amount": " "}, ("amount", "amount_missing", "the amount is missing", " ")),
    ({"amount": True}, ("amount", "amount_not_a_number", "True is not an amount", "True")),
    ({"amount": float("nan")}, ("amount", "amount_not_a_number", "nan is not an amount", "nan")),
    ({"amount": "douze"}, ("amount", "amount_not_a_number", "'douze' is not an amount in euros", "douze")),
    ({"amount": "1,2,3"}, ("amount", "amount_not_a_number", "'1,2,3' is not an amount in euros", "1,2,3")),
    ({"amount": "12)"}, ("amount", "amount_not_a_number", "'12)' is not an amount in euros", "12)")),
    ({"amount": "(12"}, ("amount", "amount_not_a_number", "'(12' is not an amount in euros", "(12")),
    ({"amount": "1,234.567,89"}, ("amount", "amount_not_a_number", "'1,234.567,89' is not an amount in euros",
                                  "1,234.567,89")),
    ({"amount": "1.234,567.89"}, ("amount", "amount_not_a_number", "'1.234,567.89' is not an amount in euros",
                                  "1.234,567.89")),
    ({"amount": "(5)"}, ("amount", "amount_negative", "the amount (5) is negative (credit notes are not imported)",
                         "(5)")),
    ({"amount": "-5"}, ("amount", "amount_negative", "the amount -5 is negative (credit notes are not imported)",
                        "-5")),
    ({"amount": "1 000 000 000,01"}, ("amount", "amount_absurd",
                                      "the amount 1 000 000 000,01 is over 1,000,000,000 euros", "1 000 000 000,01")),
    ({"amount": "1 000 000 000,01 €"}, ("amount", "amount_absurd",
                                        "the amount 1 000 000 000,01 € is over 1,000,000,000 euros",
                                        "1 000 000 000,01 €")),
    ({"amount": 10**12}, ("amount", "amount_absurd", "the amount 1000000000000 is over 1,000,000,000 euros",
                          "1000000000000")),
    ({"amount": "x" * 101}, ("amount", "amount_not_a_number", f"'{'x' * 99}…' is not an amount in euros",
                             "x" * 99 + "…")),
    ({"category": None}, ("category", "category_missing", "the category is missing", "")),
    ({"category": "x" * 201}, ("category", "category_too_long", "the category has 201 characters (at most 200)",
                               "x" * 99 + "…")),
    ({"date": None}, ("date", "date_missing", "the date is missing", "")),
    ({"date": " "}, ("date", "date_missing", "the date is missing", " ")),
    ({"date": date(1850, 1, 1)}, ("date", "date_out_of_range", "1850-01-01 is outside the years 1900–2200",
                                  "1850-01-01")),
    ({"date": datetime(1850, 1, 1, 12, 0)}, ("date", "date_out_of_range", "1850-01-01 is outside the years 1900–2200",
                                             "1850-01-01T12:00:00")),
    ({"date": "x" * 100}, ("date", "date_unparsable", f"'{'x' * 100}' is not a date (2024-03-15 or 15/03/2024)",
                           "x" * 100)),
])
def test_a_bad_cell_says_why_and_shows_its_value(cells, expected):
    assert faults(**cells) == [expected]


def test_a_row_shorter_than_the_header_lacks_its_last_cells():
    assert [(f.field, f.reason, f.value) for f in parse_line(6, [SIRET, "1"], COLUMNS)] == [
        (Field.CATEGORY, Reason.CATEGORY_MISSING, ""), (Field.DATE, Reason.DATE_MISSING, "")]


@pytest.mark.parametrize("value, cents", [
    (0, 0), (0.0, 0), ("0", 0), (10**9, 10**11), (999_999_999, 99_999_999_900), ("+12.5", 1250), ("12.", 1200),
])
def test_amounts_at_their_bounds(value, cents):
    assert parse_amount(value) == cents


def test_dates_of_the_first_and_last_years_are_taken_as_dates_too():
    assert parse_date(date(1900, 1, 1)) == date(1900, 1, 1)
    assert parse_date(datetime(2200, 12, 31, 23, 59)) == date(2200, 12, 31)


def test_a_category_given_as_a_number_is_its_text():
    assert parse_line(2, [SIRET, "1", 12, "2011-01-01"], COLUMNS) == SpendLine(2, SIRET, 100, "12", date(2011, 1, 1))


def test_headers_of_every_listed_word_and_the_first_column_of_a_field_wins():
    columns = map_columns(["Commentaire", "Somme HT", "Somme TTC", "SIRET", "Nature d'achat", "Date", "Note"])
    assert columns.index == {Field.AMOUNT: 1, Field.SIRET: 3, Field.CATEGORY: 4, Field.DATE: 5}
    assert columns.headers[Field.AMOUNT] == "Somme HT" and columns.width == 6
    for word in ("Rubrique", "Segment", "Famille", "Category"):
        assert map_columns([word, "Montant", "SIRET", "Date"]).index[Field.CATEGORY] == 0


def test_a_header_row_missing_columns_says_which_and_what_it_found():
    with pytest.raises(InvalidInput, match="^" + re.escape(
            "the header row has no column for amount (e.g. 'Montant'), category (e.g. 'Catégorie'); "
            "columns found: 'SIRET', 'Libellé', 'Date'") + "$") as caught:
        map_columns(["SIRET", None, " ", "Libellé", "Date"])
    assert caught.value.field == "file"
    long = "Une très longue colonne de commentaires libres"
    with pytest.raises(InvalidInput, match=re.escape(f"columns found: {long[:40]!r}, 'Date'") + "$"):
        map_columns([long, "Date"])
    with pytest.raises(InvalidInput, match="columns found: none$"):
        map_columns([None, ""])
    many = [f"Colonne numéro {n:02d} du fichier" for n in range(20)]  # 20 × 30 characters, quoted and separated
    with pytest.raises(InvalidInput) as caught:
        map_columns(many)
    assert caught.value.detail.endswith("columns found: " + ", ".join(repr(h) for h in many)[:400])


def test_a_category_s_key_ignores_case_accents_and_punctuation():
    assert category_key("Nettoyage/Vitrerie — Élagage") == "nettoyage vitrerie elagage"


def test_good_and_bad_lines_are_told_apart_in_order():
    good, bad = parse_lines([(2, GOOD), (3, [SIRET, "-1", "x", "2011-01-01"]), (4, [OTHER, "2", "y", "2011-01-02"]),
                             (6, [None, "1", "x", "2011-01-01"])], COLUMNS)
    assert good == [SpendLine(2, SIRET, 100, "x", date(2011, 1, 1)), SpendLine(4, OTHER, 200, "y", date(2011, 1, 2))]
    assert [[(f.line, f.reason) for f in line] for line in bad] == [[(3, Reason.AMOUNT_NEGATIVE)],
                                                                    [(6, Reason.SIRET_MISSING)]]
