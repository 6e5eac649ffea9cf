"""The Diagnostic aggregate (imports: same file twice, completion, failure, closing) and the report's
aggregation against hand counts."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from contracts.procurement.diagnostics import (DiagnosticClosed, DiagnosticOpened, DiagnosticReportComputed,
                                               SpendFileImported, SpendImportFailed, SpendImportStarted)
from runtime.errors import Conflict, InvalidInput
from services.procurement.domain.diagnostic_report import NOTES, EssMatch, SpendCell, SupplierProfile, build_report
from services.procurement.domain.diagnostics import (Diagnostic, DiagnosticStatus, ImportFigures, ImportState,
                                                     ReportSummary)
from services.procurement.domain.reservation import RecommendationKind
from services.procurement.domain.spend_categories import sectors_of
from tests.unit.refusals import NoOffset

AT = datetime(2011, 6, 1, 9, 0, tzinfo=timezone.utc)
FIGURES = ImportFigures(lines_read=10, lines_imported=9, lines_rejected=1, total_spend_cents=900, years=[2011])


def opened() -> Diagnostic:
    d = Diagnostic.open("diag-1", buyer_id="buy-1", at=AT)
    d.pull_events()
    return d


def test_open_records_its_event_and_needs_an_aware_instant_and_a_buyer():
    d = Diagnostic.open("diag-1", buyer_id="buy-1", at=AT)
    assert d.status is DiagnosticStatus.OPEN and isinstance(d.pull_events()[0], DiagnosticOpened)
    with pytest.raises(InvalidInput):
        Diagnostic.open("diag-2", buyer_id="buy-1", at=datetime(2011, 1, 1))
    with pytest.raises(InvalidInput) as caught:
        Diagnostic.open("diag-2", buyer_id=" ", at=AT)
    assert caught.value.field == "buyer_id"


def test_an_import_runs_then_completes_and_only_then_counts():
    d = opened()
    d.start_import("imp-1", file_sha256="a" * 64, file_format="csv", lines=10, at=AT)
    assert d.completed_import_ids == [] and d.running_import_ids == ["imp-1"]
    d.complete_import("imp-1", FIGURES, at=AT + timedelta(seconds=3))
    assert d.completed_import_ids == ["imp-1"]
    events = d.pull_events()
    assert [type(e) for e in events] == [SpendImportStarted, SpendFileImported]
    assert events[1].lines_rejected == 1 and events[1].total_spend_cents == 900 and events[1].years == [2011]
    with pytest.raises(Conflict):
        d.complete_import("imp-1", FIGURES, at=AT)
    with pytest.raises(Conflict):
        d.fail_import("imp-1", "late", lines_read=0, at=AT)


def test_the_same_file_twice_is_refused_unless_the_first_import_failed():
    d = opened()
    d.start_import("imp-1", file_sha256="a" * 64, file_format="csv", lines=10, at=AT)
    with pytest.raises(Conflict) as running:
        d.start_import("imp-2", file_sha256="a" * 64, file_format="csv", lines=10, at=AT)
    assert "imp-1" in running.value.detail and running.value.extra["state"] == "running"
    d.fail_import("imp-1", "the process stopped", lines_read=4, at=AT)
    assert isinstance(d.pull_events()[-1], SpendImportFailed)
    d.start_import("imp-2", file_sha256="a" * 64, file_format="csv", lines=10, at=AT)
    d.complete_import("imp-2", FIGURES, at=AT)
    with pytest.raises(Conflict) as done:
        d.start_import("imp-3", file_sha256="a" * 64, file_format="csv", lines=10, at=AT)
    assert "imp-2" in done.value.detail and "twice" in done.value.detail
    d.start_import("imp-3", file_sha256="b" * 64, file_format="xlsx", lines=10, at=AT)  # another file is fine
    assert [i.state for i in d.imports] == [ImportState.FAILED, ImportState.COMPLETED, ImportState.RUNNING]


def test_closing_waits_for_running_imports_and_then_refuses_imports():
    d = opened()
    d.start_import("imp-1", file_sha256="a" * 64, file_format="csv", lines=1, at=AT)
    with pytest.raises(Conflict):
        d.close(at=AT)
    d.complete_import("imp-1", FIGURES, at=AT)
    d.record_report(ReportSummary(imports=1, total_spend_cents=900, ess_spend_cents=0, ess_share_percent=0,
                                  categories=1, suppliers=1, ess_suppliers=0, years=[2011]), at=AT)
    d.close(at=AT + timedelta(days=1))
    assert [type(e) for e in d.pull_events()][-2:] == [DiagnosticReportComputed, DiagnosticClosed]
    with pytest.raises(Conflict) as caught:
        d.start_import("imp-2", file_sha256="b" * 64, file_format="csv", lines=1, at=AT)
    assert caught.value.extra["state"] == "closed"
    with pytest.raises(Conflict):
        d.close(at=AT)


# -- the report ---------------------------------------------------------------------------------------
def cell(siret, category, year, cents, lines=1):
    return SpendCell(siret, category, category.lower(), year, cents, lines)


def supplier(n, sectors, departement="93", served=(), budget=100_000_00, active=True, org=None):
    return SupplierProfile(f"sup-{n:03d}", org or f"org-s{n}", frozenset(sectors), ("ei",), departement,
                           frozenset(served), budget, active)


def test_report_against_a_hand_count():
    ess_siret, ess_sibling, other = "11111111100011", "11111111100029", "22222222200010"
    cells = [cell(ess_siret, "Nettoyage des locaux", 2010, 10_000), cell(other, "Nettoyage des locaux", 2010, 30_000),
             cell(ess_sibling, "nettoyage des locaux", 2011, 5_000, 2), cell(other, "Restauration", 2011, 55_000, 3),
             cell(other, "F12", 2012, 1_000)]
    ess = {ess_siret: EssMatch("org-a", "Recyclerie", "siret", ("ei",)),
           ess_sibling: EssMatch("org-a", "Recyclerie", "siren", ("ei",))}
    profiles = [supplier(i, ["cleaning"]) for i in range(12)] + [supplier(50, ["food"], departement="75",
                                                                          served=["93"])]
    profiles += [supplier(60, ["food"], departement="75"), supplier(61, ["cleaning"], active=False)]
    report = build_report("diag-1", "buy-1", "93", ["imp-1"], cells, ess, profiles)
    t = report.totals
    assert (t.total_spend_cents, t.ess_spend_cents, t.lines) == (101_000, 15_000, 8)
    assert t.ess_share_percent == round(15_000 * 100 / 101_000, 2) == 14.85
    assert (t.siret_matched_spend_cents, t.siren_matched_spend_cents, t.inclusive_spend_cents) == (10_000, 5_000, 15_000)
    assert (t.suppliers, t.ess_suppliers, t.categories, t.years) == (3, 2, 3, [2010, 2011, 2012])
    years = {y.year: (y.total_spend_cents, y.ess_spend_cents, y.ess_share_percent) for y in report.by_year}
    assert years == {2010: (40_000, 10_000, 25.0), 2011: (60_000, 5_000, 8.33), 2012: (1_000, 0, 0.0)}
    categories = {c.category: (c.total_spend_cents, c.ess_spend_cents, c.suppliers, c.ess_suppliers)
                  for c in report.by_category}
    assert categories == {"Nettoyage des locaux": (45_000, 15_000, 3, 2), "Restauration": (55_000, 0, 1, 0),
                          "F12": (1_000, 0, 1, 0)}
    assert [c.category for c in report.by_category] == ["Restauration", "Nettoyage des locaux", "F12"]
    [top] = report.top_ess_suppliers
    assert (top.organisation_id, top.sirets, top.match, top.spend_cents, top.share_of_ess_percent) == (
        "org-a", [ess_siret, ess_sibling], "siret", 15_000, 100.0)
    potential = {p.category: p for p in report.potential}
    cleaning = potential["Nettoyage des locaux"]
    assert (cleaning.eligible_suppliers, cleaning.non_ess_spend_cents, cleaning.yearly_spend_cents) == (12, 30_000, 15_000)
    assert cleaning.recommendation.kind is RecommendationKind.RESERVED_LOT
    food = potential["Restauration"]  # sup-050 serves 93 from Paris; sup-060 does not
    assert food.eligible_suppliers == 1 and food.eligible_supplier_ids == ["sup-050"]
    assert food.recommendation.kind is RecommendationKind.SOCIAL_CLAUSE
    assert potential["F12"].sectors == [] and potential["F12"].eligible_suppliers == 0
    assert potential["F12"].recommendation.kind is RecommendationKind.SOCIAL_AWARD_CRITERION
    assert [p.category for p in report.potential] == ["Restauration", "Nettoyage des locaux", "F12"]  # by non-ESS spend


def test_dependency_uses_the_yearly_spend_and_the_suppliers_average_budget():
    cells = [cell("33333333300012", "Nettoyage", y, 3_000_000_00) for y in (2010, 2011, 2012)]
    profiles = [supplier(i, ["cleaning"], budget=(10_000_000_00 if i % 2 else None)) for i in range(62)]
    p = build_report("diag-1", "buy-1", "93", [], cells, {}, profiles).potential[0]
    assert p.eligible_suppliers == 62 and p.average_turnover_cents == 10_000_000_00
    assert p.yearly_spend_cents == 3_000_000_00 and p.economic_dependency_percent == 30.0
    assert p.recommendation.kind is RecommendationKind.RESERVED_LOT  # 30 % is not below 30 %
    cheaper = [cell("33333333300012", "Nettoyage", y, 2_999_999_99) for y in (2010, 2011, 2012)]
    assert build_report("d", "b", "93", [], cheaper, {}, profiles).potential[0].recommendation.kind \
        is RecommendationKind.RESERVED_CONTRACT


def test_a_buyer_without_a_departement_has_no_eligible_supplier_and_an_empty_report_is_zeros():
    report = build_report("d", "b", None, [], [cell("44444444400013", "Nettoyage", 2010, 100)], {},
                          [supplier(1, ["cleaning"])])
    assert report.potential[0].eligible_suppliers == 0 and any("no département" in n for n in report.notes)
    empty = build_report("d", "b", "93", [], [], {}, [])
    assert empty.totals.total_spend_cents == 0 and empty.totals.ess_share_percent == 0.0


@pytest.mark.parametrize("category, sectors", [
    ("Nettoyage des locaux", ["cleaning"]), ("Entretien des espaces verts", ["green_spaces"]),
    ("Restauration scolaire", ["food"]), ("Prestations informatiques", ["digital"]),
    ("Collecte et recyclage des déchets", ["circular_economy"]), ("Travaux de rénovation", ["sustainable_construction"]),
    ("F12", []), ("Transporteur", []),
])
def test_category_keywords(category, sectors):
    assert [s.value for s in sectors_of(category)] == sectors


def test_a_file_of_thousands_of_categories_keeps_the_report_bounded():
    cells = [cell("55555555500016", f"Catégorie {i}", 2011, 1_000 + i) for i in range(400)]
    report = build_report("d", "b", "93", [], cells, {}, [supplier(1, ["cleaning"])])
    assert report.totals.categories == 400 and report.totals.total_spend_cents == sum(c.amount_cents for c in cells)
    assert len(report.by_category) == len(report.potential) == 300
    assert report.by_category[0].category == "Catégorie 399" and any("400 categories" in n for n in report.notes)


# -- what each step keeps and says (each refusal's words; the bounds) ----------------------------------
def test_an_instant_is_a_datetime_that_knows_its_offset_and_a_buyer_is_required_in_these_words():
    for at in (datetime(2011, 1, 1), datetime(2011, 1, 1, tzinfo=NoOffset()), "2011-06-01T09:00:00+00:00"):
        with pytest.raises(InvalidInput, match="^a timezone-aware instant is required$") as caught:
            Diagnostic.open("diag-2", buyer_id="buy-1", at=at)
        assert caught.value.field == "at"
    with pytest.raises(InvalidInput, match="^buyer_id is required$"):
        Diagnostic.open("diag-2", buyer_id=" ", at=AT)


def test_a_completed_or_failed_import_keeps_its_end_and_figures():
    d = opened()
    d.start_import("imp-1", file_sha256="a" * 64, file_format="csv", lines=10, at=AT)
    d.complete_import("imp-1", FIGURES, at=AT + timedelta(seconds=3))
    done = d.import_record("imp-1")
    assert (done.state, done.finished_at, done.lines_imported, done.total_spend_cents) == (
        ImportState.COMPLETED, AT + timedelta(seconds=3), 9, 900)
    d.start_import("imp-2", file_sha256="b" * 64, file_format="csv", lines=10, at=AT)
    d.fail_import("imp-2", "é" * 400, lines_read=4, at=AT + timedelta(seconds=5))
    failed = d.import_record("imp-2")
    assert (failed.state, failed.finished_at, failed.lines_imported) == (ImportState.FAILED, AT + timedelta(seconds=5),
                                                                        0)
    assert d.pull_events()[-1].reason == "é" * 300  # a reason of 300 characters at most
    assert d.import_record("imp-9") is None


def test_the_report_s_time_is_kept():
    d = opened()
    d.record_report(ReportSummary(imports=0, total_spend_cents=0, ess_spend_cents=0, ess_share_percent=0,
                                  categories=0, suppliers=0, ess_suppliers=0, years=[]), at=AT + timedelta(hours=1))
    assert d.report_computed_at == AT + timedelta(hours=1)


def test_the_refusals_of_an_import_say_why():
    d = opened()
    d.start_import("imp-1", file_sha256="0123456789abcdef" * 4, file_format="csv", lines=10, at=AT)
    with pytest.raises(Conflict, match="^" + re.escape(
            "this file (SHA-256 0123456789ab…) was already imported into diagnostic diag-1 (import imp-1, running); "
            "importing it again would count its spend twice") + "$") as twice:
        d.start_import("imp-2", file_sha256="0123456789abcdef" * 4, file_format="csv", lines=10, at=AT)
    assert twice.value.extra == {"import_id": "imp-1", "state": "running"}
    with pytest.raises(Conflict, match="^diagnostic diag-1 has no import imp-9$"):
        d.complete_import("imp-9", FIGURES, at=AT)
    d.complete_import("imp-1", FIGURES, at=AT)
    for step, call in (("complete", lambda: d.complete_import("imp-1", FIGURES, at=AT)),
                       ("fail", lambda: d.fail_import("imp-1", "late", lines_read=0, at=AT))):
        with pytest.raises(Conflict, match=f"^import imp-1 is completed: cannot {step} it$") as caught:
            call()
        assert caught.value.extra == {"state": "completed"}


def test_a_diagnostic_takes_200_imports_and_refuses_the_201st():
    d = opened()
    for n in range(200):
        d.start_import(f"imp-{n}", file_sha256=f"{n:064x}", file_format="csv", lines=1, at=AT)
        d.fail_import(f"imp-{n}", "stopped", lines_read=0, at=AT)  # failed ones count too
    with pytest.raises(Conflict, match="^diagnostic diag-1 has 200 imports already \\(the limit\\); open another$"):
        d.start_import("imp-200", file_sha256="f" * 64, file_format="csv", lines=1, at=AT)


def test_the_refusals_to_close_say_why():
    d = opened()
    d.start_import("imp-1", file_sha256="a" * 64, file_format="csv", lines=1, at=AT)
    d.start_import("imp-2", file_sha256="b" * 64, file_format="csv", lines=1, at=AT)
    with pytest.raises(Conflict, match="^" + re.escape(
            "diagnostic diag-1 has an import running (imp-1, imp-2); close it once the import has completed or "
            "failed") + "$") as running:
        d.close(at=AT)
    assert running.value.extra == {"state": "importing"}
    d.fail_import("imp-1", "stopped", lines_read=0, at=AT)
    d.fail_import("imp-2", "stopped", lines_read=0, at=AT)
    d.close(at=AT)
    for action, call in (("close it", lambda: d.close(at=AT)),
                         ("import a spend file", lambda: d.start_import("imp-3", file_sha256="c" * 64,
                                                                        file_format="csv", lines=1, at=AT))):
        with pytest.raises(Conflict, match=f"^diagnostic diag-1 is closed: cannot {action}$") as closed:
            call()
        assert closed.value.extra == {"state": "closed"}


def test_the_report_s_parts_each_counted_as_by_hand():
    a, b, c = "11111111100011", "11111111100029", "22222222200010"  # a and b: one ESS entity (siret, siren)
    d, e = "33333333300012", "44444444400013"  # ESS organisations that are no insertion structures
    cells = [cell(a, "Nettoyage", 2011, 1_000), cell(a, "Nettoyage", 2012, 2_000), cell(b, "Nettoyage", 2011, 500),
             cell(b, "Restauration", 2011, 700), cell(c, "Nettoyage", 2011, 9_000),
             cell(d, "Restauration", 2011, 3_200), cell(e, "Restauration", 2011, 3_200)]
    ess = {a: EssMatch("org-m", "Recyclerie", "siret", ("aci",)), b: EssMatch("org-m", "Recyclerie", "siren", ("aci",)),
           d: EssMatch("org-d", "Scop", "siren", ()), e: EssMatch("org-c", "Mutuelle", "siren", ("scop",))}
    report = build_report("diag-1", "buy-1", "93", ["imp-2", "imp-1"], cells, ess, [])
    assert (report.buyer_departement, report.import_ids) == ("93", ["imp-1", "imp-2"])
    t = report.totals
    assert (t.siret_matched_spend_cents, t.siren_matched_spend_cents, t.inclusive_spend_cents) == (3_000, 7_600, 4_200)
    assert [(y.year, y.suppliers, y.ess_suppliers) for y in report.by_year] == [(2011, 5, 4), (2012, 1, 1)]
    assert [(c.category, c.ess_share_percent) for c in report.by_category] == [("Nettoyage", 28.0),
                                                                            ("Restauration", 100.0)]
    # the top ESS suppliers: most spend first, a tie by organisation id; "siren" when no SIRET is the organisation's
    assert [(s.organisation_id, s.match, s.spend_cents) for s in report.top_ess_suppliers] == [
        ("org-m", "siret", 4_200), ("org-c", "siren", 3_200), ("org-d", "siren", 3_200)]


def test_a_single_year_is_the_yearly_spend_and_the_dependency_shows_2_decimals():
    profiles = [supplier(i, ["cleaning"], budget=3_000_000) for i in range(51)]
    p = build_report("d", "b", "93", [], [cell("33333333300012", "Nettoyage", 2011, 1_000_000)], {},
                     profiles).potential[0]
    assert (p.total_spend_cents, p.yearly_spend_cents) == (1_000_000, 1_000_000)
    assert p.economic_dependency_percent == 33.33
    assert p.eligible_suppliers == 51 and p.eligible_supplier_ids == [f"sup-{i:03d}" for i in range(50)]


def test_300_categories_need_no_note_and_a_buyer_without_departement_gets_its_own():
    cells = [cell("55555555500016", f"Catégorie {i}", 2011, 1_000 + i) for i in range(300)]
    report = build_report("d", "b", "93", [], cells, {}, [])
    assert len(report.by_category) == 300 and report.notes == NOTES
    lost = build_report("d", "b", None, [], cells[:1], {}, [])
    assert lost.buyer_departement is None
    assert lost.notes == [*NOTES, "The buyer has no département: no supplier can be counted as serving its territory."]
