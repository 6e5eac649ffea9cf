"""Reading a CSV file of ESS structures, to the letter: each refusal of a file (its words), the columns
found and ignored, the line numbers, and each fault of a line (line, field, words, the value cut to 200
characters) with the bounds it checks — what the first tests (tests/unit/observatory/test_directory.py)
left open (mutation testing, `make mutation`)."""
from __future__ import annotations

import csv
import hashlib
import re

import pytest

from contracts.observatory.directory import LegalFamily
from runtime.errors import InvalidInput
from runtime.siret import with_check_digit
from services.observatory.domain.directory_csv import (MAX_CELL, RowFault, StructureRow, check_row, decode, read_csv,
                                                       resolve_commune)

SIRET = with_check_digit("9000000010001")
COLUMNS = {"name": 0, "siret": 1, "legal_family": 2, "sector": 3, "commune": 4, "departement": 5, "website": 6,
           "source": 7}


def file_refused(content: bytes, detail: str, *, max_lines: int = 10) -> None:
    with pytest.raises(InvalidInput, match=f"^{re.escape(detail)}$") as error:
        read_csv(content, max_lines=max_lines)
    assert error.value.field == "file"


def line(name="Recyclerie", siret="", family="association", sector="", commune="93048", departement="",
         website="", source="") -> list[str]:
    return [name, siret, family, sector, commune, departement, website, source]


def faults(cells: list[str], at: int = 7) -> list[tuple[str, str, str | None]]:
    got = check_row(at, cells, COLUMNS, default_source="Carteco")
    assert isinstance(got, list) and {f.line for f in got} == {at}
    return [(f.field, f.message, f.value) for f in got]


# -- the file ---------------------------------------------------------------------------------------

def test_what_cannot_be_decoded_is_refused_in_words():
    for content, detail in (
            (b"\xef\xbb\xbfnom\xff", "the file starts with a UTF-8 BOM but is not UTF-8"),
            (b"\xff\xfen\x00o\x00m\x00", "the file is not text in UTF-8 or Windows-1252 (UTF-16 or binary content); "
                                         "save it as CSV UTF-8"),
            (b"\xfe\xff\x00n\x00o", "the file is not text in UTF-8 or Windows-1252 (UTF-16 or binary content); "
                                    "save it as CSV UTF-8"),
            (b"nom;\x81\x8d", "the file is neither UTF-8 nor Windows-1252 text")):
        with pytest.raises(InvalidInput, match=f"^{re.escape(detail)}$") as error:
            decode(content)
        assert error.value.field == "file"
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):  # no NUL byte in these words
        with pytest.raises(InvalidInput, match="UTF-16 or binary content"):
            decode(bom + "中文".encode(codec))
    assert decode(b"a" * 4096 + b"\x00") == ("a" * 4096 + "\x00", "utf-8")  # only the first 4 KiB are looked at
    with pytest.raises(InvalidInput):
        decode(b"a" * 4095 + b"\x00")


def test_files_that_cannot_be_imported_say_why():
    file_refused(b"", "the file is empty")
    file_refused(b" \n\t\n", "the file is empty")
    file_refused(b";;\n", "the file is empty")  # a header of blank cells
    file_refused("\u00a0\n".encode(), "no header row separated by ';' or ',' (name;siret;legal family;sector;"
                                      "commune\u2026)")  # blank for Python, not for bytes
    file_refused(b"just one column\nA\n", "no header row separated by ';' or ',' (name;siret;legal family;sector;"
                                          "commune\u2026)")
    file_refused(b"nom;siret\nA;1\n", "the header row lacks the column(s): legal_family, commune (found: nom, siret)")
    file_refused(b"nom ; commune\nA;1\n", "the header row lacks the column(s): legal_family (found: nom, commune)")
    file_refused(b"nom;famille;commune\n;;\n", "the file has a header row but no data line")
    limit = csv.field_size_limit()  # process-wide: procurement's spend files raise it when imported
    file_refused(b'nom;famille;commune\n"A' + b"x" * limit + b'";b;c\n',
                 f"the file is not valid CSV: field larger than field limit ({limit})")


def test_at_most_max_lines_data_lines():
    content = b"nom;famille;commune\n" + b"A;association;93048\n" * 3
    assert len(read_csv(content, max_lines=3).rows) == 3
    file_refused(content, "the file has more than 2 data lines (the limit): split it", max_lines=2)
    file_refused(b"nom;famille;commune\n" + b"A;association;93048\n" * 1001,
                 "the file has more than 1,000 data lines (the limit): split it", max_lines=1000)


def test_the_header_s_columns_are_found_whatever_their_case_accents_and_underscores():
    content = ("\n \nRaison_Sociale,N° SIRET,Forme Juridique,Filière,Code INSEE,Dép,Site Web,Source,Nom,Divers,"
               "Prénom\n\nA,,SCOP,,93048,93,,,B,x,Jean\n").encode("cp1252")
    f = read_csv(content, max_lines=10)
    assert (f.encoding, f.separator, f.sha256) == ("cp1252", ",", hashlib.sha256(content).hexdigest())
    assert f.columns == {"name": 0, "siret": 1, "legal_family": 2, "sector": 3, "commune": 4, "departement": 5,
                         "website": 6, "source": 7}
    assert f.ignored == [("Nom", "duplicate column"), ("Divers", "unknown column"),
                         ("Prénom", "personal data: never imported")]
    assert f.rows == [(5, ["A", "", "SCOP", "", "93048", "93", "", "", "B", "x", "Jean"])]


def test_line_numbers_follow_cells_quoted_over_several_lines_in_any_column_kept_as_written():
    content = 'nom;famille;commune\r\nA;"asso\r\nciation";93048\r\nB;association;93048\r\n'.encode()
    f = read_csv(content, max_lines=10)
    assert f.rows == [(2, ["A", "asso\r\nciation", "93048"]), (4, ["B", "association", "93048"])]


def test_a_file_with_old_mac_line_endings_is_read_line_by_line():
    f = read_csv(b"nom;famille;commune\rA;association;93048\r\rB;association;93048\r", max_lines=10)
    assert f.rows == [(2, ["A", "association", "93048"]), (4, ["B", "association", "93048"])]


def test_the_separator_is_the_one_the_header_uses_most():
    f = read_csv("nom;famille;commune,code\nA,B;association;93048\n".encode(), max_lines=10)
    assert f.separator == ";" and f.rows == [(2, ["A,B", "association", "93048"])]


# -- a line -----------------------------------------------------------------------------------------

def test_a_good_line_is_a_structure_with_its_key():
    got = check_row(3, line(name=" Atelier ", siret=SIRET, family="SCIC", sector="réemploi | textile|réemploi||",
                            website="atelier.example.org", source=""), COLUMNS, default_source="Carteco")
    assert got == StructureRow(line=3, key=f"siret:{SIRET}", siret=SIRET, name="Atelier",
                               legal_family=LegalFamily.COOPERATIVE, sectors=("réemploi", "textile"), commune="93048",
                               departement="93", website="https://atelier.example.org", source="Carteco")
    keyed = check_row(3, line(name="L'Atelier Vélo", source="Répertoire ESS"), COLUMNS, default_source="Carteco")
    assert (keyed.key, keyed.siret, keyed.source) == ("src:repertoire ess:l atelier velo:93048", None,
                                                      "Répertoire ESS")


def test_a_cell_over_the_limit_is_the_only_fault_said_with_its_value_cut():
    long = "x" * (MAX_CELL + 1)
    assert faults(line(family="", commune="", website=long)) == [
        ("website", f"longer than {MAX_CELL} characters", "x" * 200)]
    assert faults(line(name="", source="y" * MAX_CELL)) == [("name", "the name is missing", "")] + [
        ("source", "the source is longer than 100 characters", "y" * 200)]


def test_each_fault_of_a_line_is_said_with_its_field_words_and_value():
    family_words = ("association, coopérative (SCOP, SCIC, CAE), mutuelle, fondation, entreprise commerciale de "
                    "l'ESS")
    assert faults(line(name="n" * 201, siret="12345678901234", family="SARL", sector="s" * 101 + "|ok",
                       website="pas un site", source="s" * 101)) == [
        ("name", "the name is longer than 200 characters", "n" * 200),
        ("siret", "SIRET 12345678901234 fails its checksum", "12345678901234"),
        ("legal_family", f"unknown legal family 'SARL'; expected one of: {family_words}", "SARL"),
        ("sector", "a sector is longer than 100 characters", "s" * 101 + "|ok"),
        ("website", "not a website address: 'pas un site'", "pas un site"),
        ("source", "the source is longer than 100 characters", "s" * 101)]
    assert faults(line(name="jean.dupont@exemple.fr", family="")) == [
        ("name", "an e-mail address is not a structure's name (personal data are not imported)",
         "jean.dupont@exemple.fr"),
        ("legal_family", "the legal family is missing", "")]
    assert check_row(1, line(name="n" * 200, sector="s" * 100, source="s" * 100), COLUMNS,
                     default_source="x").name == "n" * 200


def test_a_line_shorter_than_the_header_reads_its_missing_cells_as_blank():
    got = check_row(2, ["Atelier", "", "association", "", "93048"], COLUMNS, default_source="Carteco")
    assert (got.website, got.source, got.sectors) == (None, "Carteco", ())


# -- the commune --------------------------------------------------------------------------------------

def commune(value: str, departement: str = "") -> tuple:
    said: list[tuple] = []
    found = resolve_commune(value, departement, lambda *fault: said.append(fault))
    return found, said


def test_a_commune_by_its_insee_code_checked_against_the_departement():
    assert commune("93048") == (("93048", "93"), [])
    assert commune("2a004") == (("2A004", "2A"), [])
    assert commune("01053", "1") == (("01053", "01"), [])
    assert commune("93048", "94") == ((None, None), [
        ("departement", "commune 93048 (Montreuil) is in département 93, not 94", "94")])
    assert commune("99999") == ((None, None), [("commune", "no commune has the INSEE code 99999", "99999")])
    assert commune("") == ((None, None), [("commune", "the commune is missing", "")])


def test_a_commune_by_its_name_needs_its_departement():
    assert commune("Bourg-en-Bresse", "1") == (("01053", "01"), [])
    assert commune("Ajaccio", "2a") == (("2A004", "2A"), [])
    assert commune("Montreuil") == ((None, None), [
        ("commune", "commune 'Montreuil' is a name: give its département too (or its INSEE code)", "Montreuil")])
    assert commune("Montreuil", "99") == ((None, None), [("departement", "unknown département '99'", "99")])
    assert commune("Nulle-Part", "1") == ((None, None), [
        ("commune", "no commune named 'Nulle-Part' in département 01", "Nulle-Part")])


def test_a_line_s_commune_fault_names_its_line():
    assert check_row(4, line(commune="Montreuil", departement="99"), COLUMNS, default_source="x") == [
        RowFault(4, "departement", "unknown département '99'", "99")]
