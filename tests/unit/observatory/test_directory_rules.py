"""The directory to the letter: each entry whole (its place, its membership, its supplier, its sources and
their dates, what a moderated change shows beside it), the days that count (a registration, a profile, an
archive, a decision, an import on the day asked), the order moderated changes apply in, the refusals' words
and fields, the filters, facets, counts and centres — what the first tests
(tests/unit/observatory/test_directory.py) left open (mutation testing, `make mutation`)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from contracts.observatory.directory import DirectoryImportCompleted, LegalFamily, StructureImportUpdated
from services.observatory.domain import directory
from services.observatory.domain.directory import (DirectoryImport, DirectoryProposal, DirectoryStructure, Filters,
                                                   Sources, build_entries, centre, check_changes, facets,
                                                   local_day, normalise_website, select, sort_key, structure_id_of,
                                                   territories, year_counts)
from tests.unit.observatory.test_directory import SIRET_A, SIRET_B, org, row
from tests.unit.refusals import NoOffset, conflicted, refused

AT = datetime(2033, 3, 1, 10, tzinfo=timezone.utc)
ON = date(2034, 12, 31)


def accepted(pid: str, entry_id: str, proposed: datetime, decided: datetime, **changes) -> DirectoryProposal:
    p = DirectoryProposal.propose(pid, entry_id=entry_id, changes=changes, at=proposed)
    p.accept(at=decided)
    return p


def scenario() -> Sources:
    """org-a: a member, a supplier and an import merged by SIRET, two moderated changes; org-b: no commune
    membership can resolve, its supplier's base commune; org-c: neither, the import's commune; org-p: in
    Paris 11e (no EPCI of its own), registered on the day asked; a structure of its own; one not imported
    yet."""
    merged = DirectoryStructure.imported(row(siret=SIRET_A, name="Nom importé", website="https://a.org",
                                             sectors=("réemploi", "Alimentation")), import_id="dimp-1",
                                         on=date(2032, 6, 1))
    merged.reimported(row(siret=SIRET_A, name="Nom importé", website="https://a.org",
                          sectors=("réemploi", "Alimentation"), source="Ressourceries"), import_id="dimp-2",
                      on=date(2032, 7, 1))
    later = DirectoryStructure.imported(row(siret=None, name="Pas encore", commune="77288"), import_id="dimp-3",
                                        on=date(2035, 1, 1))
    alone = DirectoryStructure.imported(row(siret=None, name="Sans SIRET", commune="77288",
                                            family=LegalFamily.FOUNDATION), import_id="dimp-1", on=date(2033, 6, 1))
    of_c = DirectoryStructure.imported(row(siret="90000000300010", name="C importé", commune="91228"),
                                       import_id="dimp-1", on=date(2034, 1, 1))
    first = accepted("dprp-1", "org-a", AT, AT + timedelta(days=4), name="Nom modéré", legal_family="mutuelle")
    second = accepted("dprp-2", "org-a", AT + timedelta(days=1), AT + timedelta(days=2), name="Nom remplacé",
                      website="")
    today = accepted("dprp-3", alone.id, AT, datetime(2034, 12, 31, 12, tzinfo=timezone.utc), commune="93048")
    return Sources(
        organisations=[org("org-a", SIRET_A, sector="Textile"),
                       {**org("org-b", SIRET_B, commune="Nulle-Part", form="nonsense"), "name": None,
                        "sector": None},
                       {"_id": "org-c", "siret": "90000000300010", "registered_on": "2033-01-01"},
                       org("org-p", None, on="2034-12-31", commune="Paris 11e Arrondissement", dep="75")],
        standing={"org-a": {"history": [{"on": "2033-02-01", "status": "active", "in_good_standing": True}]},
                  "org-b": {"history": [{"on": "2033-02-01", "status": "lapsed", "in_good_standing": False}]}},
        suppliers=[{"_id": "sup-a", "organisation_id": "org-a", "sectors": ["food", "recyclerie"], "kinds": ["ei"],
                    "labels": ["lucie"], "base_commune": "93048", "profiled_on": "2033-03-01T10:00:00+00:00",
                    "archived_on": "2034-12-31"},
                   {"_id": "sup-b", "organisation_id": "org-b", "base_commune": "93066", "profiled_on": "2034-12-31"},
                   {"_id": "sup-z", "organisation_id": "org-z", "profiled_on": "2033-01-01"}],
        structures=[later, merged, alone, of_c],
        accepted=[first, second, today])


def test_each_entry_whole_as_of_a_day():
    entries = {e.id: e.model_dump() for e in build_entries(scenario(), ON)}
    alone = structure_id_of("src:Carteco:Sans SIRET:77288")
    of_c = structure_id_of("siret:90000000300010")
    merged = structure_id_of(f"siret:{SIRET_A}")
    assert list(entries) == ["org-a", "org-b", "org-c", "org-p", alone]
    assert entries["org-a"] == {
        "id": "org-a", "organisation_id": "org-a", "structure_ids": [merged], "name": "Nom modéré", "siret": SIRET_A,
        "legal_family": LegalFamily.MUTUAL, "legal_family_label": "Mutuelle", "legal_form": "association",
        "sectors": ["Textile", "Alimentation", "recyclerie", "réemploi"],
        "commune": {"code": "93048", "name": "Montreuil"}, "departement": {"code": "93", "name": "Seine-Saint-Denis"},
        "region": "11", "epci": {"code": "200054781", "name": "Métropole du Grand Paris"},
        "ept": {"code": "200057875", "name": "Est Ensemble"}, "lat": 48.86415, "lon": 2.44322, "approximate": False,
        "website": None, "member": True,
        "membership": {"status": "active", "in_good_standing": True, "since": date(2033, 2, 1)},
        "supplier": {"supplier_id": "sup-a", "kinds": ["ei"], "labels": ["lucie"], "sectors": ["food", "recyclerie"],
                     "active": False, "profiled_on": date(2033, 3, 1), "archived_on": date(2034, 12, 31)},
        "sources": [{"kind": "membership", "ref": "org-a", "name": None, "on": date(2033, 1, 5)},
                    {"kind": "procurement", "ref": "sup-a", "name": None, "on": date(2033, 3, 1)},
                    {"kind": "import", "ref": merged, "name": "Carteco, Ressourceries", "on": date(2032, 6, 1)}],
        "added_on": date(2032, 6, 1), "removed_on": None,
        "moderated": [{"field": "name", "value": "Nom modéré", "source_value": "Org org-a", "proposal_id": "dprp-1",
                       "decided_on": date(2033, 3, 5)},
                      {"field": "website", "value": None, "source_value": "https://a.org", "proposal_id": "dprp-2",
                       "decided_on": date(2033, 3, 3)},
                      {"field": "legal_family", "value": LegalFamily.MUTUAL, "source_value": LegalFamily.ASSOCIATION,
                       "proposal_id": "dprp-1", "decided_on": date(2033, 3, 5)}]}
    assert entries["org-b"] == {
        "id": "org-b", "organisation_id": "org-b", "structure_ids": [], "name": "", "siret": SIRET_B,
        "legal_family": None, "legal_family_label": None, "legal_form": "nonsense", "sectors": [],
        "commune": {"code": "93066", "name": "Saint-Denis"}, "departement": {"code": "93", "name": "Seine-Saint-Denis"},
        "region": "11", "epci": {"code": "200054781", "name": "Métropole du Grand Paris"},
        "ept": {"code": "200057867", "name": "Plaine Commune"}, "lat": 48.93564, "lon": 2.35387,
        "approximate": False, "website": None, "member": False,
        "membership": {"status": "lapsed", "in_good_standing": False, "since": date(2033, 2, 1)},
        "supplier": {"supplier_id": "sup-b", "kinds": [], "labels": [], "sectors": [], "active": True,
                     "profiled_on": date(2034, 12, 31), "archived_on": None},
        "sources": [{"kind": "membership", "ref": "org-b", "name": None, "on": date(2033, 1, 5)},
                    {"kind": "procurement", "ref": "sup-b", "name": None, "on": date(2034, 12, 31)}],
        "added_on": date(2033, 1, 5), "removed_on": None, "moderated": []}
    assert entries["org-c"] == {
        "id": "org-c", "organisation_id": "org-c", "structure_ids": [of_c], "name": "", "siret": "90000000300010",
        "legal_family": None, "legal_family_label": None, "legal_form": None, "sectors": ["réemploi"],
        "commune": {"code": "91228", "name": "Évry-Courcouronnes"}, "departement": {"code": "91", "name": "Essonne"},
        "region": "11", "epci": {"code": "200059228", "name": "CA Grand Paris Sud Seine Essonne Sénart"},
        "ept": None, "lat": 48.61219, "lon": 2.5087, "approximate": True, "website": None, "member": False,
        "membership": None, "supplier": None,
        "sources": [{"kind": "membership", "ref": "org-c", "name": None, "on": date(2033, 1, 1)},
                    {"kind": "import", "ref": of_c, "name": "Carteco", "on": date(2034, 1, 1)}],
        "added_on": date(2033, 1, 1), "removed_on": None, "moderated": []}
    assert entries["org-p"]["commune"] == {"code": "75111", "name": "Paris 11e Arrondissement"}
    assert (entries["org-p"]["epci"], entries["org-p"]["ept"], entries["org-p"]["added_on"]) == (None, None, ON)
    assert entries[alone] == {
        "id": alone, "organisation_id": None, "structure_ids": [alone], "name": "Sans SIRET", "siret": None,
        "legal_family": LegalFamily.FOUNDATION, "legal_family_label": "Fondation", "legal_form": None,
        "sectors": ["réemploi"], "commune": {"code": "93048", "name": "Montreuil"},
        "departement": {"code": "93", "name": "Seine-Saint-Denis"}, "region": "11",
        "epci": {"code": "200054781", "name": "Métropole du Grand Paris"},
        "ept": {"code": "200057875", "name": "Est Ensemble"}, "lat": 48.86415, "lon": 2.44322, "approximate": False,
        "website": None, "member": False, "membership": None, "supplier": None,
        "sources": [{"kind": "import", "ref": alone, "name": "Carteco", "on": date(2033, 6, 1)}],
        "added_on": date(2033, 6, 1), "removed_on": None,
        "moderated": [{"field": "commune", "value": "93048", "source_value": "77288", "proposal_id": "dprp-3",
                       "decided_on": ON}]}


def test_the_day_before_the_registration_profile_and_decision_they_do_not_count_yet():
    entries = {e.id: e for e in build_entries(scenario(), ON - timedelta(days=1))}
    assert "org-p" not in entries
    assert entries["org-b"].supplier is None and entries["org-b"].commune is None, "no commune membership resolves"
    assert entries["org-b"].model_dump(include={"departement", "region", "epci", "ept", "lat", "lon", "approximate"}) \
        == {"departement": None, "region": None, "epci": None, "ept": None, "lat": None, "lon": None,
            "approximate": True}
    assert entries["org-a"].supplier.active is True and entries["org-a"].supplier.archived_on is None
    alone = next(e for e in entries.values() if e.name == "Sans SIRET")
    assert alone.commune.code == "77288" and alone.moderated == []


def test_an_entry_without_a_commune_is_still_found_by_its_name():
    entries = build_entries(scenario(), ON - timedelta(days=1))
    assert [e.id for e in select(entries, Filters(q="MODÉRÉ"))] == ["org-a"], "org-b, no name nor commune, is read too"
    assert [e.id for e in select(entries, Filters(q="xx"))] == []
    assert sort_key(entries[0]) == ("nom modere", "org-a")


# -- the refusals' words ------------------------------------------------------------------------------------
@pytest.mark.parametrize("changes, field, detail", [
    ({}, "changes", "propose at least one change: name, legal_family, sectors, commune, website"),
    ({"siret": "1"}, "changes.siret",
     "'siret' cannot be changed here; one of: name, legal_family, sectors, commune, website"),
    ({"name": "n" * 201}, "changes.name", "changes.name is longer than 200 characters"),
    ({"legal_family": 42}, "changes.legal_family",
     "unknown legal family 42; expected one of: association, cooperative, mutual, foundation, ess_company"),
    ({"sectors": ["s"] * 21}, "changes.sectors", "sectors is a list of 1 to 20 sectors"),
    ({"sectors": "textile"}, "changes.sectors", "sectors is a list of 1 to 20 sectors"),
    ({"sectors": ["s" * 101]}, "changes.sectors.0", "changes.sectors.0 is longer than 100 characters"),
    ({"commune": 93048}, "changes.commune", "no commune has the INSEE code 93048"),
    ({"commune": "99999"}, "changes.commune", "no commune has the INSEE code '99999'"),
    ({"website": 42}, "changes.website", "not a website address: 42"),
    ({"website": "not a site"}, "website", "not a website address: 'not a site'")])
def test_each_refused_change_says_why(changes, field, detail):
    refused(lambda: check_changes(changes), field, detail)


def test_the_changes_kept_at_their_bounds():
    nineteen = [f"secteur {i}" for i in range(19)]
    assert check_changes({"name": "n" * 200, "sectors": [*nineteen, " secteur 0 "], "commune": " 2a004 ",
                          "website": None}) == {"name": "n" * 200, "sectors": nineteen, "commune": "2A004",
                                                "website": None}, "20 sectors given, one twice"
    assert check_changes({"sectors": ["s" * 100], "website": ""}) == {"sectors": ["s" * 100], "website": None}


def test_websites_keep_their_scheme_and_are_at_most_300_characters():
    assert normalise_website(" http://x.org ") == "http://x.org"
    site = "https://" + "a" * 288 + ".org"
    assert len(site) == 300 and normalise_website(site) == site
    refused(lambda: normalise_website(site + "/"), "website", f"not a website address: {site + '/'!r}")


def test_a_day_needs_a_time_zone_that_gives_an_offset():
    assert local_day(datetime(2033, 12, 31, 23, 30, tzinfo=timezone.utc)) == date(2034, 1, 1), "Paris's day"
    for at in (datetime(2033, 3, 1, 10), datetime(2033, 3, 1, 10, tzinfo=NoOffset()), date(2033, 3, 1)):
        refused(lambda: local_day(at), "at", f"at must be a timezone-aware date and time (got {at!r})")


def test_a_proposal_keeps_who_why_and_how_and_refuses_in_words():
    p = DirectoryProposal.propose("dprp-9", entry_id="org-a", changes={"name": "X"}, at=AT, note="n" * 4000,
                                  organisation_id="org-a", submitted_by="staff-1")
    assert (p.channel, p.note, p.organisation_id, p.submitted_by) == ("staff", "n" * 4000, "org-a", "staff-1")
    assert [(d.status, d.on, d.by, d.text) for d in p.history] == [("pending", date(2033, 3, 1), "staff-1", None)]
    propose = DirectoryProposal.propose
    refused(lambda: propose("p", entry_id="e", changes={"name": "X"}, at=AT, channel="c" * 21), "channel",
            "channel is longer than 20 characters")
    refused(lambda: propose("p", entry_id="e", changes={"name": "X"}, at=AT, channel="pigeon"), "channel",
            "unknown channel 'pigeon'; expected one of: email, form, phone, meeting, letter, staff")
    refused(lambda: propose("p", entry_id="e", changes={"name": "X"}, at=AT, note="n" * 4001), "note",
            "note is longer than 4000 characters")


def test_decisions_keep_who_and_why_and_a_decided_proposal_says_what_it_was():
    p = DirectoryProposal.propose("dprp-9", entry_id="org-a", changes={"name": "X"}, at=AT)
    p.pull_events()
    refused(lambda: p.accept(at=AT, note="n" * 4001), "note", "note is longer than 4000 characters")
    assert (p.status, p.decided_on, p.decided_at, len(p.history), p.pending_events) == ("pending", None, None, 1, ()), \
        "a refused note leaves the proposal pending"
    p.accept(at=AT, note="n" * 4000, by="staff-2")
    assert [(d.status, d.by, d.text) for d in p.history][1:] == [("accepted", "staff-2", "n" * 4000)]
    conflicted(lambda: p.reject(at=AT, reason="non"),
               "proposal dprp-9 was accepted on 2033-03-01: it cannot be rejected (propose the change again)",
               current_state="accepted", expected="pending")
    conflicted(lambda: p.accept(at=AT),
               "proposal dprp-9 was accepted on 2033-03-01: it cannot be accepted (propose the change again)",
               current_state="accepted", expected="pending")
    r = DirectoryProposal.propose("dprp-8", entry_id="org-a", changes={"name": "X"}, at=AT)
    refused(lambda: r.reject(at=AT, reason="r" * 2001), "reason", "reason is longer than 2000 characters")
    r.reject(at=AT, reason="r" * 2000, by="staff-3")
    assert [(d.status, d.by, d.text) for d in r.history][1:] == [("rejected", "staff-3", "r" * 2000)]


# -- imports --------------------------------------------------------------------------------------------------
def test_an_imported_structure_keeps_its_siret_and_its_sources():
    s = DirectoryStructure.imported(row(), import_id="dimp-1", on=date(2033, 1, 10))
    assert (s.id, s.siret) == (structure_id_of(f"siret:{SIRET_A}"), SIRET_A)
    assert structure_id_of("siret:1") == "str-32d045f42c58"
    s.pull_events()
    assert s.reimported(row(source="Autre"), import_id="dimp-2", on=date(2033, 1, 5)) is True
    (event,) = s.pull_events()
    assert isinstance(event, StructureImportUpdated) and event.changed_fields == ["sources"]
    assert [(v.on, v.import_id, v.sources) for v in s.history] == [(date(2033, 1, 10), "dimp-2", ["Carteco", "Autre"])]
    assert event.updated_on == date(2033, 1, 10), "an import dated before the last one holds from its date"


def test_an_import_completed_is_recorded_with_its_counts():
    done = DirectoryImport.completed("dimp-1", at=AT, on=date(2033, 3, 1), source="Carteco", file_name="a.csv",
                                     file_sha256="ab" * 32, encoding="utf-8", separator=";", lines=12, imported=7,
                                     updated=2, unchanged=1, rejected=2,
                                     ignored_columns=[{"column": "Téléphone", "why": "personal data"}])
    assert (done.imported_at, done.imported_on, done.file_name) == (AT, date(2033, 3, 1), "a.csv")
    (event,) = done.pull_events()
    assert event == DirectoryImportCompleted(
        import_id="dimp-1", source="Carteco", file_sha256="ab" * 32, encoding="utf-8", lines=12, imported=7,
        updated=2, unchanged=1, rejected=2, ignored_columns=["Téléphone"], imported_on=date(2033, 3, 1))


# -- filters, facets, counts, places --------------------------------------------------------------------------
def test_each_filter_has_its_name_and_test():
    every = Filters(sector="s", legal_family=LegalFamily.MUTUAL, departement="93", commune="93048", epci="1",
                    region="11", member=False, q="x")
    assert list(every.tests()) == ["sector", "legal_family", "departement", "commune", "epci", "region", "member",
                                   "q"]
    entries = build_entries(scenario(), ON)
    assert [e.id for e in select(entries, Filters(commune="93048"))] == ["org-a", entries[-1].id]
    assert [e.id for e in select(entries, Filters(region="11", member=True))] == ["org-a"]
    assert [e.id for e in select(entries, Filters(member=False, departement="93"))] == ["org-b", entries[-1].id]
    assert [e.id for e in select(entries, Filters(region="84"))] == []


def test_facets_leave_their_own_filter_out_and_count_each_sector_once_per_entry():
    entries = build_entries(scenario(), ON)
    assert facets(entries, Filters(legal_family=LegalFamily.FOUNDATION, sector="Alimentation", departement="93")) \
        == {"legal_family": {"mutual": 1}, "sector": {"réemploi": 1}, "departement": {}}
    assert facets(entries, Filters(departement="91")) == {"legal_family": {}, "sector": {"réemploi": 1},
                                                          "departement": {"75": 1, "91": 1, "93": 3}}
    assert list(facets(entries, Filters())["sector"].items()) == [
        ("réemploi", 3), ("Alimentation", 2), ("recyclerie", 1), ("Textile", 1)], "by count, then by key; as first seen"
    assert list(facets(entries, Filters(member=True))["sector"].items()) == [
        ("Alimentation", 1), ("recyclerie", 1), ("réemploi", 1), ("Textile", 1)], "not in the entry's order"


def test_year_counts_from_the_first_day_of_the_year_to_the_day_asked():
    entries = build_entries(scenario(), ON)
    assert year_counts(entries, 2034, ON) == {
        "structures": 5, "added": 1, "members": 1,
        "by_legal_family": {"association": {"structures": 1, "added": 1, "members": 0},
                            "foundation": {"structures": 1, "added": 0, "members": 0},
                            "mutual": {"structures": 1, "added": 0, "members": 1},
                            "unknown": {"structures": 2, "added": 0, "members": 0}},
        "by_departement": {"75": {"structures": 1, "added": 1, "members": 0},
                           "91": {"structures": 1, "added": 0, "members": 0},
                           "93": {"structures": 3, "added": 0, "members": 1}}}
    end = date(2033, 12, 31)
    assert year_counts(build_entries(scenario(), end), 2033, end) == {
        "structures": 4, "added": 3, "members": 1,
        "by_legal_family": {"foundation": {"structures": 1, "added": 1, "members": 0},
                            "mutual": {"structures": 1, "added": 0, "members": 1},
                            "unknown": {"structures": 2, "added": 2, "members": 0}},
        "by_departement": {"77": {"structures": 1, "added": 1, "members": 0},
                           "93": {"structures": 1, "added": 0, "members": 1},
                           "unknown": {"structures": 2, "added": 2, "members": 0}}}, "org-c added on 1 January"


def test_territories_per_commune_say_their_departement_and_centre():
    entries = build_entries(scenario(), ON - timedelta(days=1))
    assert territories(entries, "commune") == [
        {"code": "77288", "name": "Melun", "structures": 1, "members": 0, "departement": "77",
         "lat": 48.5457, "lon": 2.65356},
        {"code": "91228", "name": "Évry-Courcouronnes", "structures": 1, "members": 0, "departement": "91",
         "lat": 48.61219, "lon": 2.5087},
        {"code": "93048", "name": "Montreuil", "structures": 1, "members": 1, "departement": "93",
         "lat": 48.86415, "lon": 2.44322}], "org-b has no commune that day"
    assert [(t["code"], t["structures"], t["members"]) for t in territories(entries, "departement")] == [
        ("77", 1, 0), ("91", 1, 0), ("93", 1, 1)]


def test_centres_of_communes_and_departements(monkeypatch):
    monkeypatch.setattr(directory, "_CENTRES", {})  # computed afresh, not from an earlier test
    assert centre("commune", "93048") == (48.86415, 2.44322) and centre("commune", "99999") == (None, None)
    assert centre("departement", "93") == (48.9092, 2.45433), "weighted by population, 5 decimals"
    assert centre("departement", "75") == (48.85341, 2.3488), "Paris, not its arrondissements as well"
    assert centre("departement", "00") == (None, None)
    assert directory._CENTRES == {"93": (48.9092, 2.45433), "75": (48.85341, 2.3488), "00": (None, None)}


def test_an_organisation_without_a_registration_day_and_a_structure_of_its_own_from_two_files():
    alone = DirectoryStructure.imported(row(siret=None, name="Seule", website="https://seule.org"), import_id="dimp-1",
                                        on=date(2033, 6, 1))
    alone.reimported(row(siret=None, name="Seule", website="https://seule.org", source="Ressourceries"),
                     import_id="dimp-2", on=date(2033, 7, 1))
    entries = build_entries(Sources(organisations=[{"_id": "org-x", "name": "Sans date", "commune": "Melun"}],
                                    structures=[alone]), ON)
    assert [(e.id, e.added_on, [s.model_dump() for s in e.sources]) for e in entries] == [
        ("org-x", None, [{"kind": "membership", "ref": "org-x", "name": None, "on": None}]),
        (alone.id, date(2033, 6, 1), [{"kind": "import", "ref": alone.id, "name": "Carteco, Ressourceries",
                                       "on": date(2033, 6, 1)}])], "counted whatever the day asked"
    assert entries[1].website == "https://seule.org"


def test_territories_per_departement_count_every_structure_and_member_there():
    assert territories(build_entries(scenario(), ON), "departement") == [
        {"code": "75", "name": "Paris", "structures": 1, "members": 0, "lat": 48.85341, "lon": 2.3488},
        {"code": "91", "name": "Essonne", "structures": 1, "members": 0, "lat": 48.6396, "lon": 2.33521},
        {"code": "93", "name": "Seine-Saint-Denis", "structures": 3, "members": 1, "lat": 48.9092, "lon": 2.45433}]
