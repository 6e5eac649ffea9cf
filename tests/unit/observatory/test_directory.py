"""The directory's pure parts: CSV reading and line checks, the legal family mapping, moderation
rules, and how entries merge from membership, procurement and imports as of a date."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from contracts.membership import LegalForm
from contracts.observatory.directory import (DirectoryChangeAccepted, DirectoryChangeProposed,
                                             DirectoryChangeRejected, LegalFamily, StructureImported,
                                             StructureImportUpdated)
from runtime.errors import Conflict, InvalidInput
from runtime.siret import with_check_digit
from services.observatory.domain.directory import (DirectoryProposal, DirectoryStructure, Filters, Sources,
                                                   build_entries, check_changes, facets, family_of_legal_form,
                                                   legal_family_of_text, live, select, territories, year_counts)
from services.observatory.domain.directory_csv import RowFault, StructureRow, check_row, decode, read_csv

AT = datetime(2033, 3, 1, 10, tzinfo=timezone.utc)
SIRET_A = with_check_digit("9000000010001")
SIRET_B = with_check_digit("9000000020001")
HEADER = "nom;siret;famille;secteur;commune;departement;site;E-mail du contact;Téléphone"


def csv_bytes(*lines: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return "\n".join([header, *lines]).encode(encoding)


def rows(content: bytes, source: str = "Test") -> list[StructureRow | list[RowFault]]:
    f = read_csv(content, max_lines=100)
    return [check_row(line, cells, f.columns, default_source=source) for line, cells in f.rows]


# -- CSV ----------------------------------------------------------------------------------------
def test_encodings_are_detected_and_said():
    text = "nom;famille;commune\nCoopérative Éole;coopérative;93048\n"
    assert decode(text.encode("utf-8")) == (text, "utf-8")
    assert decode(b"\xef\xbb\xbf" + text.encode("utf-8")) == (text, "utf-8-sig")
    assert decode(text.encode("cp1252")) == (text, "cp1252")
    for content in (text.encode("utf-16"), b"\x00\x01binary"):
        with pytest.raises(InvalidInput) as err:
            decode(content)
        assert err.value.field == "file"


def test_both_separators_and_a_good_line():
    for sep in (";", ","):
        f = read_csv(f"nom{sep}siret{sep}famille{sep}secteur{sep}commune\nRecyclerie{sep}{SIRET_A}{sep}SCOP{sep}"
                     f"réemploi|textile{sep}93048\n".encode(), max_lines=10)
        assert f.separator == sep
        (row,) = [check_row(line, cells, f.columns, default_source="Carteco") for line, cells in f.rows]
        assert row == StructureRow(line=2, key=f"siret:{SIRET_A}", siret=SIRET_A, name="Recyclerie",
                                   legal_family=LegalFamily.COOPERATIVE, sectors=("réemploi", "textile"),
                                   commune="93048", departement="93", website=None, source="Carteco")


def test_personal_data_columns_are_never_read():
    f = read_csv(csv_bytes("A;;association;;93048;;;jean@exemple.fr;0601020304"), max_lines=10)
    assert f.ignored == [("E-mail du contact", "personal data: never imported"),
                         ("Téléphone", "personal data: never imported")]
    assert set(f.columns) == {"name", "siret", "legal_family", "sector", "commune", "departement", "website"}
    (row,) = rows(csv_bytes("A;;association;;93048;;;jean@exemple.fr;0601020304"))
    assert "jean" not in repr(row) and "0601" not in repr(row)


def test_bad_lines_name_their_line_field_and_value():
    got = rows(csv_bytes(
        "Bon;;association;;93048;;;;",
        "Mauvais SIRET;12345678901234;association;;93048;;;;",
        ";;inconnue;;Montreuil;;;;",
        "Commune inconnue;;fondation;;Nulle-Part;93;;;",
        "Mauvais site;;mutuelle;;75056;;pas un site;;",
        "Dep faux;;mutuelle;;93048;94;;;",
        "jean@exemple.fr;;association;;93048;;;;"))
    assert isinstance(got[0], StructureRow)
    assert [(f.line, f.field) for f in got[1]] == [(3, "siret")]
    assert [(f.line, f.field) for f in got[2]] == [(4, "name"), (4, "legal_family"), (4, "commune")]
    assert got[3] == [RowFault(5, "commune", "no commune named 'Nulle-Part' in département 93", "Nulle-Part")]
    assert [f.field for f in got[4]] == ["website"] and [f.field for f in got[5]] == ["departement"]
    assert [f.field for f in got[6]] == ["name"]


def test_a_commune_by_name_and_departement_and_the_key_without_siret():
    (row,) = rows(csv_bytes("Atelier;;asso;;Saint-Denis;93;atelier.example.org;;"))
    assert (row.commune, row.departement, row.website) == ("93066", "93", "https://atelier.example.org")
    assert row.key == "src:test:atelier:93066"


@pytest.mark.parametrize("content, says", [
    (b"", "empty"), (b"   \n\n", "empty"), (b"nom;famille;commune\n", "no data line"),
    (b"nom;siret\nA;1\n", "legal_family, commune"), (b"just one column\nA\n", "no header")])
def test_files_that_cannot_be_imported(content, says):
    with pytest.raises(InvalidInput) as err:
        read_csv(content, max_lines=10)
    assert err.value.field == "file" and says in err.value.detail


def test_too_many_lines():
    with pytest.raises(InvalidInput, match="more than 2"):
        read_csv(csv_bytes(*["A;;association;;93048;;;;"] * 3), max_lines=2)


def test_line_numbers_count_quoted_multiline_cells():
    content = 'nom;famille;commune\n"Deux\nlignes";association;93048\nB;xx;93048\n'.encode()
    got = rows(content)
    assert got[1][0].line == 4 and got[1][0].field == "legal_family"


# -- legal families -------------------------------------------------------------------------------
def test_every_legal_form_has_a_family():
    assert {f: family_of_legal_form(f) for f in LegalForm} == {
        LegalForm.ASSOCIATION: LegalFamily.ASSOCIATION, LegalForm.FOUNDATION: LegalFamily.FOUNDATION,
        LegalForm.MUTUAL: LegalFamily.MUTUAL, LegalForm.SCOP: LegalFamily.COOPERATIVE,
        LegalForm.SCIC: LegalFamily.COOPERATIVE, LegalForm.CAE: LegalFamily.COOPERATIVE,
        LegalForm.COOPERATIVE: LegalFamily.COOPERATIVE, LegalForm.SCESS: LegalFamily.ESS_COMPANY}
    assert family_of_legal_form("nonsense") is None


@pytest.mark.parametrize("word, family", [("Coopérative", LegalFamily.COOPERATIVE), ("SCIC", LegalFamily.COOPERATIVE),
                                          ("Entreprise commerciale de l'ESS", LegalFamily.ESS_COMPANY),
                                          ("FONDATION", LegalFamily.FOUNDATION), ("mutuelle", LegalFamily.MUTUAL),
                                          ("ess_company", LegalFamily.ESS_COMPANY), ("sarl", None), ("", None)])
def test_families_from_words(word, family):
    assert legal_family_of_text(word) == family


# -- moderation -----------------------------------------------------------------------------------
def proposal(**changes) -> DirectoryProposal:
    return DirectoryProposal.propose("dprp-1", entry_id="org-1", changes=changes or {"website": "ateliers.org"},
                                     at=AT, channel="email")


def test_a_proposal_is_checked_and_evented():
    p = proposal(website="ateliers.org", legal_family="SCOP", commune="93048")
    assert p.changes == {"website": "https://ateliers.org", "legal_family": "cooperative", "commune": "93048"}
    (event,) = p.pull_events()
    assert isinstance(event, DirectoryChangeProposed) and event.fields == ["website", "legal_family", "commune"]
    for changes, field in (({}, "changes"), ({"siret": SIRET_A}, "changes.siret"),
                           ({"commune": "99999"}, "changes.commune"), ({"legal_family": "sarl"}, "changes.legal_family"),
                           ({"sectors": []}, "changes.sectors"), ({"sectors": ["ok", " "]}, "changes.sectors.1"),
                           ({"website": "not a site"}, "website"), ({"name": ""}, "changes.name")):
        with pytest.raises(InvalidInput) as err:
            check_changes(changes)
        assert err.value.field == field, changes
    with pytest.raises(InvalidInput) as err:
        DirectoryProposal.propose("dprp-2", entry_id="org-1", changes={"name": "X"}, at=AT, channel="pigeon")
    assert err.value.field == "channel"


def test_accept_or_reject_only_once():
    p = proposal()
    p.accept(at=AT, note="ok")
    assert p.status == "accepted" and p.decided_on == date(2033, 3, 1)
    assert isinstance(p.pull_events()[-1], DirectoryChangeAccepted)
    with pytest.raises(Conflict):
        p.reject(at=AT, reason="non")
    with pytest.raises(Conflict):
        p.accept(at=AT)
    r = proposal()
    with pytest.raises(InvalidInput) as err:
        r.reject(at=AT, reason=" ")
    assert err.value.field == "reason" and r.status == "pending"
    r.reject(at=AT, reason="pas vérifiable")
    assert isinstance(r.pull_events()[-1], DirectoryChangeRejected) and [d.status for d in r.history] == \
        ["pending", "rejected"]
    with pytest.raises(InvalidInput):
        proposal().accept(at=datetime(2033, 3, 1))  # naive


# -- imported structures --------------------------------------------------------------------------
def row(name="Recyclerie", siret=SIRET_A, commune="93048", source="Carteco", website=None, sectors=("réemploi",),
        family=LegalFamily.ASSOCIATION) -> StructureRow:
    key = f"siret:{siret}" if siret else f"src:{source}:{name}:{commune}"
    return StructureRow(line=2, key=key, siret=siret, name=name, legal_family=family, sectors=sectors,
                        commune=commune, departement=commune[:2], website=website, source=source)


def test_reimporting_the_same_line_changes_nothing_and_a_change_is_evented():
    s = DirectoryStructure.imported(row(), import_id="dimp-1", on=date(2033, 1, 10))
    assert isinstance(s.pull_events()[0], StructureImported)
    assert s.reimported(row(), import_id="dimp-2", on=date(2033, 2, 1)) is False and not s.pending_events
    assert s.reimported(row(website="https://r.org"), import_id="dimp-3", on=date(2033, 3, 1)) is True
    (event,) = s.pull_events()
    assert isinstance(event, StructureImportUpdated) and event.changed_fields == ["website"]
    assert s.version_on(date(2033, 2, 15)).website is None and s.version_on(date(2033, 3, 1)).website == "https://r.org"
    assert s.version_on(date(2033, 1, 9)) is None


# -- entries --------------------------------------------------------------------------------------
def org(oid, siret, *, on="2033-01-05", form="association", commune="Montreuil", dep="93", sector="alimentation"):
    return {"_id": oid, "siret": siret, "name": f"Org {oid}", "legal_form": form, "departement": dep,
            "commune": commune, "sector": sector, "registered_on": on}


def sources() -> Sources:
    a = DirectoryStructure.imported(row(siret=SIRET_A, name="Nom importé", website="https://a.org"),
                                    import_id="dimp-1", on=date(2032, 6, 1))
    b = DirectoryStructure.imported(row(siret=None, name="Sans SIRET", commune="77288",
                                        family=LegalFamily.FOUNDATION), import_id="dimp-1", on=date(2033, 6, 1))
    return Sources(
        organisations=[org("org-a", SIRET_A), org("org-b", SIRET_B, on="2034-02-01", form="scop", commune="Créteil",
                                                  dep="94", sector="bâtiment")],
        standing={"org-a": {"history": [{"on": "2033-02-01", "status": "active", "in_good_standing": True},
                                        {"on": "2034-03-01", "status": "lapsed", "in_good_standing": False}]}},
        suppliers=[{"_id": "sup-a", "organisation_id": "org-a", "sectors": ["food", "logistics"], "kinds": ["ei"],
                    "labels": ["lucie"], "base_commune": "93048", "profiled_on": "2033-03-01"}],
        structures=[a, b])


def test_sources_merge_into_one_entry_per_structure():
    entries = {e.id: e for e in build_entries(sources(), date(2034, 12, 31))}
    assert set(entries) == {"org-a", "org-b", next(i for i in entries if i.startswith("str-"))}
    a = entries["org-a"]
    assert a.name == "Org org-a" and a.website == "https://a.org"  # membership's name, the import's website
    assert [s.kind for s in a.sources] == ["membership", "procurement", "import"]
    assert a.sectors == ["alimentation", "Logistique", "réemploi"]  # food is alimentation's label: one sector
    assert a.added_on == date(2032, 6, 1)  # the import knew it before membership
    assert a.supplier.kinds == ["ei"] and a.commune.code == "93048" and a.epci.name == "Métropole du Grand Paris"
    assert a.ept.name == "Est Ensemble" and a.member is False and a.membership.status == "lapsed"
    assert entries["org-b"].legal_family == LegalFamily.COOPERATIVE and entries["org-b"].departement.code == "94"


def test_as_of_a_date():
    early = {e.id: e for e in build_entries(sources(), date(2033, 2, 15))}
    assert set(early) == {"org-a"}  # the import without SIRET came in June, org-b in 2034
    a = early["org-a"]
    assert a.member is True and a.supplier is None and a.sectors == ["alimentation", "réemploi"]
    assert build_entries(sources(), date(2032, 5, 1)) == []


def test_a_moderated_change_wins_over_later_source_data():
    src = sources()
    p = proposal(name="Nouveau nom", sectors=["recyclerie"])
    p.entry_id = "org-a"
    p.accept(at=AT)
    src.accepted = [p]
    a = next(e for e in build_entries(src, date(2034, 1, 1)) if e.id == "org-a")
    assert a.name == "Nouveau nom" and a.sectors == ["recyclerie"]
    assert {m.field: m.source_value for m in a.moderated} == {"name": "Org org-a",
                                                              "sectors": ["alimentation", "Logistique", "réemploi"]}
    before = next(e for e in build_entries(src, date(2033, 2, 28)) if e.id == "org-a")
    assert before.name == "Org org-a" and before.moderated == []


def test_filters_facets_and_counts():
    entries = live(build_entries(sources(), date(2034, 12, 31)))
    assert {e.id for e in select(entries, Filters(departement="93"))} == {"org-a"}
    assert {e.id for e in select(entries, Filters(sector="food"))} == {"org-a"}
    assert {e.id for e in select(entries, Filters(epci="200057875"))} == {"org-a"}
    assert [e.name for e in select(entries, Filters(q="siret sans"))] == ["Sans SIRET"]
    assert [e.name for e in select(entries, Filters(q="melun"))] == ["Sans SIRET"]
    assert {e.id for e in select(entries, Filters(q=SIRET_B[:9]))} == {"org-b"}
    f = facets(entries, Filters(departement="93", legal_family=LegalFamily.ASSOCIATION))
    assert f["departement"] == {"93": 1}  # its own filter left out: association in 93 only
    assert f["legal_family"] == {"association": 1}
    counts = year_counts(entries, 2034, date(2034, 12, 31))
    assert counts["structures"] == 3 and counts["added"] == 1 and counts["members"] == 0
    assert counts["by_departement"]["77"] == {"structures": 1, "added": 0, "members": 0}
    t = territories(entries, "departement")
    assert [(x["code"], x["structures"]) for x in t] == [("77", 1), ("93", 1), ("94", 1)]
    assert 48.5 < t[1]["lat"] < 49.1 and 2.2 < t[1]["lon"] < 2.7
