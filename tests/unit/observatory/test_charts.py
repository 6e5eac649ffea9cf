"""The report's charts and maps as Vega-Lite specs (pure), and the exports' formatting."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import date

import pytest

from reference import shapes
from services.observatory.domain import charts
from services.observatory.entrypoints import assets, exports
from services.observatory.entrypoints.schemas import ReportView


def _figure(indicator: str, value, unit: str = "événements", **source) -> dict:
    return {"indicator": indicator, "label": indicator, "value": value, "unit": unit, "recorded": False,
            "source": {"kind": "events", "event_types": ["org.cress.events.event-held.v1"], "events": 1, **source}}


REPORT = {"year": 2030, "as_of": "2030-12-31", "objectives": [], "teams": [
    {"team": "membership", "label": "Vie interne", "figures": [
        _figure("dues_invoiced_cents", 123_456_78, "centimes"), _figure("dues_collected_cents", 100_000_00, "centimes"),
        _figure("new_members", 1, "adhérents")]},
    {"team": "territories", "label": "Territoires", "figures": [
        _figure("events_held_webinar", 2), _figure("participants_webinar", 50), _figure("check_ins_webinar", 40),
        _figure("events_held_training", 0), _figure("participants_training", 0),
        _figure("convention_participants", 30), _figure("convention_meetings_held", 120)]},
    {"team": "education", "label": "Éducation", "figures": [
        _figure("events_held_webinar", 1), _figure("participants_webinar", 20), _figure("check_ins_webinar", 15),
        _figure("events_held_school_session", 3), _figure("participants_school_session", 75)]}]}


def test_events_per_kind_are_summed_over_teams_in_the_catalogue_order_and_kinds_not_held_left_out():
    rows = charts.events_by_kind(REPORT)
    table = {(r["kind"], r["measure"]): r["value"] for r in rows}
    assert table[("webinar", "Événements organisés")] == 3
    assert table[("webinar", "Participant·e·s")] == 70 and table[("webinar", "Présent·e·s (émargements)")] == 55
    assert table[("school_session", "Présent·e·s (émargements)")] == 0
    assert "training" not in {r["kind"] for r in rows}, "no training held"
    assert [r["kind"] for r in rows][::3] == ["webinar", "school_session"], "the catalogue's order"
    assert {r["label"] for r in rows} == {"Webinaire", "Intervention scolaire (Mon ESS à l'École)"}, "French"


def test_month_ends_run_from_the_previous_year_end_to_the_report_date():
    assert charts.month_ends(2030, date(2031, 3, 1)) == [date(2029, 12, 31)] + [
        charts.month_end(date(2030, m, 1)) for m in range(1, 13)]
    assert charts.month_ends(2030, date(2030, 3, 15)) == [date(2029, 12, 31), date(2030, 1, 31), date(2030, 2, 28),
                                                          date(2030, 3, 15)]
    assert charts.month_ends(2030, date(2030, 3, 31))[-1] == date(2030, 3, 31)
    assert charts.month_ends(2030, date(2029, 6, 1)) == []
    assert charts.month_end(date(2032, 2, 3)) == date(2032, 2, 29)


def test_members_over_time_labels_months_in_french():
    spec = charts.members_chart(2030, [(date(2029, 12, 31), 10), (date(2030, 1, 31), 12),
                                       (date(2030, 2, 14), 13)])["spec"]
    assert [v["label"] for v in spec["data"]["values"]] == ["2029", "janv.", "14 févr."]
    assert [v["members"] for v in spec["data"]["values"]] == [10, 12, 13]


def test_french_numbers_and_dates():
    assert charts.french_number(1234567.5) == "1\u202f234\u202f567,5"
    assert charts.french_number(12) == "12" and charts.french_number(None) == "—"
    assert charts.day_label(date(2030, 3, 1)) == "1er mars 2030"
    assert charts.day_label(date(2030, 12, 31)) == "31 décembre 2030"
    assert charts.CONFIG["locale"]["number"]["decimal"] == ","


def test_rings_are_wound_the_way_d3_wants_them():
    for feature in shapes.region_shapes("11")["features"]:
        geometry = charts.rewind(feature["geometry"])
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        for polygon in polygons:
            assert charts._signed_area(polygon[0]) < 0, f"{feature['properties']['code']}: exterior clockwise"
            assert all(charts._signed_area(hole) > 0 for hole in polygon[1:])
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}  # counter-clockwise
    assert charts.rewind(square)["coordinates"][0] == [[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]


def test_the_map_shows_the_region_only_with_zeros_where_nothing_is():
    region = shapes.region_shapes("11")
    deps = [{"code": "93", "structures": 5, "members": 3}, {"code": "69", "structures": 40, "members": 40}]
    communes = [{"name": "Montreuil", "departement": "93", "lat": 48.86, "lon": 2.44, "structures": 5, "members": 3},
                {"name": "Lyon", "departement": "69", "lat": 45.76, "lon": 4.83, "structures": 40, "members": 40}]
    chart = charts.map_chart("members", region, deps, communes, date(2030, 12, 31))
    layers = chart["spec"]["layer"]
    values = {f["properties"]["code"]: f["properties"]["value"] for f in layers[0]["data"]["values"]}
    assert values == {"75": 0, "77": 0, "78": 0, "91": 0, "92": 0, "93": 3, "94": 0, "95": 0}
    assert [p["name"] for p in layers[2]["data"]["values"]] == ["Montreuil"], "Lyon is not in Île-de-France"
    assert all(charts._signed_area(f["geometry"]["coordinates"][0] if f["geometry"]["type"] == "Polygon"
                                   else f["geometry"]["coordinates"][0][0]) < 0 for f in layers[0]["data"]["values"]), \
        "rewound for d3: else the whole sphere is shaded"
    assert "3 adhérent·e·s en Île-de-France" in chart["spec"]["title"]["subtitle"] and not chart["empty"]
    assert layers[0]["encoding"]["color"]["legend"]["values"] == [0, 1, 2, 3], "whole numbers: no 1,5 member"
    assert charts.legend_values(1) == [1] and charts.legend_values(0, zero=True) == [0]
    assert charts.legend_values(40) == [10, 20, 40]
    assert charts.map_chart("structures", region, [], [], date(2030, 1, 1))["empty"]


# vl-convert draws in threads it starts on first use; a process forked after that (mutmut's workers are
# forked from one that ran the whole suite) has none of them, and its first call waits forever. So the specs
# are drawn by a fresh interpreter, as JSON in and out.
_DRAW = "import json, sys, vl_convert; print(json.dumps([vl_convert.vegalite_to_svg(s) for s in json.load(sys.stdin)]))"


def _svgs(specs: list[dict]) -> list[str]:
    drawn = subprocess.run([sys.executable, "-c", _DRAW], input=json.dumps(specs), capture_output=True, text=True,
                           check=True, timeout=120)
    return json.loads(drawn.stdout)


def test_the_specs_draw_as_svg_with_french_labels():
    pytest.importorskip("vl_convert")
    region = shapes.region_shapes("11")
    all_charts = charts.report_charts(REPORT, [(date(2029, 12, 31), 10), (date(2030, 1, 31), 1234)], region,
                                      [{"code": "75", "structures": 2, "members": 1}],
                                      [{"name": "Paris", "departement": "75", "lat": 48.85, "lon": 2.35,
                                        "structures": 2, "members": 1}])
    assert [c["name"] for c in all_charts] == ["members_over_time", "dues", "events_by_kind", "business_conventions",
                                               "map_structures", "map_members"]
    svgs = dict(zip([c["name"] for c in all_charts], _svgs([c["spec"] for c in all_charts])))
    assert "1\u202f234" in svgs["members_over_time"], "thousands as in French"
    assert "123\u202f457\u00a0€" in svgs["dues"] and "Taux d'encaissement : 81,0 %" in svgs["dues"]
    assert "Webinaire" in svgs["events_by_kind"] and "Rendez-vous tenus" in svgs["business_conventions"]
    assert svgs["map_members"].count("<path") >= 8 and "Par département" in svgs["map_members"]


def _view() -> ReportView:
    return ReportView.model_validate({**REPORT, "teams": [
        {**REPORT["teams"][0], "figures": [*REPORT["teams"][0]["figures"], {
            "indicator": "school_sessions", "label": "Séances", "value": 12.5, "unit": "séances", "recorded": True,
            "source": {"kind": "recorded", "event_types": [], "events": 0, "fact_id": "fct-1", "detail": "Bilan",
                       "recorded_on": "2030-05-02"}}]}]})


def test_the_csv_opens_in_excel_fr():
    content = exports.report_csv(_view())
    assert content.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert tuple(lines[0]) == exports.CSV_HEADERS == ("pôle", "indicateur", "libellé", "valeur", "unité", "source",
                                                      "enregistré")
    rows = {line[1]: line for line in lines[1:]}
    assert rows["dues_invoiced_cents"][3:5] == ["123456,78", "€"]
    assert rows["school_sessions"][3] == "12,5" and rows["school_sessions"][6] == "oui"
    assert rows["school_sessions"][5] == "Chiffre saisi le 02/05/2030 : Bilan"
    assert rows["new_members"][5].startswith("1 événement(s) de la plateforme lus (events.event-held)")


def test_figures_read_the_french_way():
    figures = {f.indicator: f for f in _view().teams[0].figures}
    assert exports.display(figures["dues_invoiced_cents"]) == "123\u202f456,78\u00a0€"
    assert exports.display(figures["new_members"]) == "1\u00a0adhérent"
    assert exports.unit_for(2, "adhérents") == "adhérents" and exports.unit_for(0, "devis") == "devis"
    assert exports.file_name(2030, "pdf", date(2031, 1, 5)) == "rapport-activite-2030.pdf"
    assert exports.file_name(2030, "csv", date(2030, 6, 30)) == "rapport-activite-2030-au-2030-06-30.csv"


def test_the_xlsx_has_the_report_and_the_objectives():
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(exports.report_xlsx(_view())))
    assert book.sheetnames == ["Rapport", "Objectifs"]
    rows = {r[1]: r for r in book["Rapport"].iter_rows(min_row=4, values_only=True)}
    assert rows["dues_invoiced_cents"][3] == 123456.78 and rows["dues_invoiced_cents"][0] == "Vie interne"


def test_only_the_listed_static_files_are_served_and_they_exist():
    assert set(assets.SERVED) == {"vega.min.js", "vega-lite.min.js", "vega-embed.min.js", "report-page.js",
                                  "report-page.css"}
    for path in assets.SERVED.values():
        assert path.is_file() and path.stat().st_size > 1000, path
    readme = (assets.STATIC / "README.md").read_text()
    for name, (package, version, _) in assets.VENDORED.items():
        assert f"| `{name}` |" in readme and version in readme, f"{name}: record {package}@{version} in the README"
