"""The report's charts as data, to the letter: each Vega-Lite spec whole (its words, marks, encodings,
scales and legends), what an empty chart says, the month ends and the French forms of numbers and days,
the map's centres, legends and rings — what the first tests (tests/unit/observatory/test_charts.py, which
mostly look at the SVG drawn) left open (mutation testing, `make mutation`).

The shared ``config`` (French locale, fonts) is a module constant: checked once to be the one given."""
from __future__ import annotations

from datetime import date

import pytest

from services.observatory.domain import charts

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
BLUE, ORANGE, GREEN, GREY = "#1f5f8b", "#e07b39", "#4a9b6e", "#8c8c8c"
TEXT_MARK = {"type": "text", "align": "left", "dx": 3, "fontSize": 10, "color": "#333"}


def fig(indicator: str, value) -> dict:
    return {"indicator": indicator, "value": value}


REPORT = {"year": 2030, "as_of": "2031-02-01", "teams": [
    {"figures": [fig("dues_invoiced_cents", 300_000), fig("dues_collected_cents", 100_050),
                 fig("convention_participants", 3), fig("convention_contracts_cents", 1_234_567),
                 fig("events_held_webinar", 1), fig("participants_webinar", None)]},
    {"figures": [fig("convention_participants", 2), fig("convention_meetings_held", None),
                 fig("events_held_training", 2), fig("check_ins_training", 5), fig("participants_training", 7),
                 fig("events_held_nonsense", 4), fig("school_session", 9)]},
    {}]}


def plain(chart: dict) -> dict:
    """The chart with its spec's shared config taken out (checked to be :data:`charts.CONFIG`)."""
    spec = dict(chart["spec"])
    assert spec.pop("config") is charts.CONFIG
    return {**chart, "spec": spec}


def test_the_dues_chart_whole():
    assert plain(charts.dues_chart(REPORT)) == {
        "name": "dues", "title": "Cotisations 2030 appelées et encaissées", "empty": False,
        "spec": {"$schema": SCHEMA,
                 "title": {"text": "Cotisations 2030 appelées et encaissées",
                           "subtitle": "Taux d'encaissement : 33,4 %"},
                 "data": {"values": [{"label": "Cotisations appelées", "value": 3000.0},
                                     {"label": "Cotisations encaissées", "value": 1000.5}]},
                 "width": 360, "height": {"step": 30},
                 "encoding": {"y": {"field": "label", "type": "nominal",
                                    "sort": ["Cotisations appelées", "Cotisations encaissées"], "title": None,
                                    "axis": {"labelLimit": 200}},
                              "x": {"field": "value", "type": "quantitative", "title": "Euros",
                                    "axis": {"format": "$,.0f", "tickMinStep": 1}},
                              "tooltip": [{"field": "label", "title": "Mesure"},
                                          {"field": "value", "title": "Euros", "format": "$,.0f"}]},
                 "layer": [{"mark": {"type": "bar", "cornerRadiusEnd": 2},
                            "encoding": {"color": {"field": "label", "type": "nominal", "legend": None,
                                                   "scale": {"domain": ["Cotisations appelées",
                                                                        "Cotisations encaissées"],
                                                             "range": [GREY, BLUE]}}}},
                           {"mark": TEXT_MARK,
                            "encoding": {"text": {"field": "value", "type": "quantitative", "format": "$,.0f"}}}]}}


def test_the_conventions_chart_sums_the_teams_and_says_the_contracts_amount():
    chart = plain(charts.conventions_chart(REPORT))
    assert (chart["name"], chart["title"], chart["empty"]) == (
        "business_conventions", "Conventions d'affaires : participant·e·s et rendez-vous", False)
    spec = chart["spec"]
    assert spec["title"] == {"text": "Conventions d'affaires : participant·e·s et rendez-vous",
                             "subtitle": "Montant des contrats signés : 12\u202f346 €"}
    assert spec["data"]["values"] == [{"label": "Participant·e·s", "value": 5},
                                      {"label": "Rendez-vous tenus", "value": 0},
                                      {"label": "Contrats signés", "value": 0}]
    assert spec["encoding"]["x"] == {"field": "value", "type": "quantitative", "title": "Nombre",
                                     "axis": {"format": ",d", "tickMinStep": 1}}
    assert spec["encoding"]["tooltip"][1] == {"field": "value", "title": "Nombre", "format": ",d"}
    assert spec["layer"][0]["encoding"]["color"]["scale"]["range"] == [BLUE, ORANGE, GREEN]
    assert spec["layer"][1]["encoding"]["text"]["format"] == ",d"


def test_charts_with_nothing_to_show_say_so():
    nothing = {"year": 2030, "as_of": "2030-06-30", "teams": [{"figures": [fig("dues_invoiced_cents", 0),
                                                                            fig("convention_participants", 0)]}]}
    dues, conventions, events = (charts.dues_chart(nothing), charts.conventions_chart(nothing),
                                 charts.events_chart(nothing))
    assert (dues["empty"], dues["spec"]["title"]["subtitle"]) == (True, "Aucune cotisation appelée à cette date")
    assert (conventions["empty"], conventions["spec"]["title"]["subtitle"]) == (
        True, "Aucun contrat signé à cette date")
    assert (events["empty"], events["spec"]["title"]) == (
        True, {"text": "Événements organisés, participant·e·s et présent·e·s par type d'événement",
               "subtitle": "Aucun événement tenu à cette date"})
    assert events["spec"]["data"]["values"] == []
    collected_only = {"year": 2030, "teams": [{"figures": [fig("dues_collected_cents", 5)]}]}
    assert charts.dues_chart(collected_only)["empty"] is False, "something collected is something to show"
    members = charts.members_chart(2030, [])
    assert (members["empty"], members["spec"]["data"]["values"]) == (True, [])


def test_the_events_chart_whole():
    measures = ["Événements organisés", "Participant·e·s", "Présent·e·s (émargements)"]

    def rows(kind, label, *values):
        return [{"kind": kind, "label": label, "measure": m, "value": v} for m, v in zip(measures, values)]
    assert plain(charts.events_chart(REPORT)) == {
        "name": "events_by_kind", "title": "Événements par type", "empty": False,
        "spec": {"$schema": SCHEMA,
                 "title": {"text": "Événements organisés, participant·e·s et présent·e·s par type d'événement"},
                 "data": {"values": [*rows("webinar", "Webinaire", 1, 0, 0), *rows("training", "Formation", 2, 7, 5)]},
                 "facet": {"column": {"field": "measure", "type": "nominal", "sort": measures, "title": None}},
                 "spec": {"width": 170, "height": {"step": 22},
                          "encoding": {"y": {"field": "label", "type": "nominal", "sort": ["Webinaire", "Formation"],
                                             "title": None, "axis": {"labelLimit": 220}},
                                       "x": {"field": "value", "type": "quantitative", "title": None,
                                             "axis": {"format": ",d", "tickMinStep": 1}},
                                       "tooltip": [{"field": "label", "title": "Type d'événement"},
                                                   {"field": "measure", "title": "Mesure"},
                                                   {"field": "value", "title": "Nombre", "format": ",d"}]},
                          "layer": [{"mark": {"type": "bar", "cornerRadiusEnd": 2},
                                     "encoding": {"color": {"field": "measure", "type": "nominal", "legend": None,
                                                            "sort": measures,
                                                            "scale": {"domain": measures,
                                                                      "range": [BLUE, ORANGE, GREEN]}}}},
                                    {"mark": TEXT_MARK,
                                     "encoding": {"text": {"field": "value", "type": "quantitative",
                                                           "format": ",d"}}}]},
                 "resolve": {"scale": {"x": "independent"}}}}


def test_the_members_chart_whole():
    series = [(date(2029, 12, 31), 3), (date(2030, 1, 31), 1200), (date(2030, 2, 14), 5), (date(2030, 12, 31), 4)]
    assert plain(charts.members_chart(2030, series)) == {
        "name": "members_over_time", "title": "Adhérent·e·s au fil de l'année", "empty": False,
        "spec": {"$schema": SCHEMA,
                 "title": {"text": "Adhérent·e·s à jour de cotisation en 2030",
                           "subtitle": "Fin 2029, puis à chaque fin de mois"},
                 "data": {"values": [{"day": "2029-12-31", "label": "2029", "members": 3},
                                     {"day": "2030-01-31", "label": "janv.", "members": 1200},
                                     {"day": "2030-02-14", "label": "14 févr.", "members": 5},
                                     {"day": "2030-12-31", "label": "déc.", "members": 4}]},
                 "width": 470, "height": 220,
                 "encoding": {"x": {"field": "label", "type": "ordinal", "sort": ["2029", "janv.", "14 févr.", "déc."],
                                    "title": None, "axis": {"labelAngle": 0}},
                              "y": {"field": "members", "type": "quantitative", "title": "Adhérent·e·s",
                                    "axis": {"format": ",d", "tickMinStep": 1}, "scale": {"zero": True}},
                              "tooltip": [{"field": "day", "title": "Date", "type": "temporal", "format": "%d/%m/%Y"},
                                          {"field": "members", "title": "Adhérent·e·s", "format": ",d"}]},
                 "layer": [{"mark": {"type": "line", "color": BLUE, "strokeWidth": 2}},
                           {"mark": {"type": "point", "filled": True, "color": BLUE, "size": 45}},
                           {"mark": {"type": "text", "dy": -10, "fontSize": 10, "color": "#333"},
                            "encoding": {"text": {"field": "members", "type": "quantitative", "format": ",d"}}}]}}


SHAPES = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"code": "93", "name": "Seine-Saint-Denis"},
     "geometry": {"type": "Polygon",
                  "coordinates": [[[2.0, 48.0], [3.0, 48.0], [3.0, 49.0], [2.0, 49.0], [2.0, 48.0]]]}},
    {"type": "Feature", "properties": {"code": "77", "name": "Seine-et-Marne"},
     "geometry": {"type": "MultiPolygon", "coordinates": [[[[2.0, 48.0], [2.0, 47.0], [4.0, 47.0], [2.0, 48.0]]]]}}]}
DEPS = [{"code": "93", "structures": 7, "members": 2}, {"code": "69", "structures": 40}]
COMMUNES = [{"name": "Montreuil", "departement": "93", "lat": 48.86, "lon": 2.44, "structures": 5, "members": 2},
            {"name": "Bobigny", "departement": "93", "lat": None, "lon": None, "structures": 2},
            {"name": "Melun", "departement": "77", "lat": 48.54, "lon": 2.65, "structures": 0},
            {"name": "Lyon", "departement": "69", "lat": 45.7, "lon": 4.8, "structures": 40}]


def test_the_map_whole():
    assert plain(charts.map_chart("structures", SHAPES, DEPS, COMMUNES, date(2030, 12, 1))) == {
        "name": "map_structures", "title": "Structures de l'ESS", "empty": False,
        "spec": {"$schema": SCHEMA,
                 "title": {"text": "Structures de l'ESS",
                           "subtitle": "Au 1er décembre 2030 : 7 structures en Île-de-France"},
                 "width": 380, "height": 330, "projection": {"type": "mercator"},
                 "layer": [
                     {"data": {"values": [
                         {"type": "Feature",
                          "geometry": {"type": "Polygon",
                                       "coordinates": [[[2.0, 48.0], [2.0, 49.0], [3.0, 49.0], [3.0, 48.0],
                                                        [2.0, 48.0]]]},
                          "properties": {"code": "93", "name": "Seine-Saint-Denis", "value": 7}},
                         {"type": "Feature",
                          "geometry": {"type": "MultiPolygon",
                                       "coordinates": [[[[2.0, 48.0], [4.0, 47.0], [2.0, 47.0], [2.0, 48.0]]]]},
                          "properties": {"code": "77", "name": "Seine-et-Marne", "value": 0}}]},
                      "mark": {"type": "geoshape", "stroke": "#ffffff", "strokeWidth": 1.2},
                      "encoding": {"color": {"field": "properties.value", "type": "quantitative",
                                             "title": ["Par département", "(structures)"],
                                             "scale": {"scheme": "blues", "zero": True, "domainMin": 0},
                                             "legend": {"format": ",d", "values": [0, 2, 4, 7], "orient": "right",
                                                        "gradientLength": 140}},
                                   "tooltip": [{"field": "properties.name", "title": "Département"},
                                               {"field": "properties.value", "title": "Structures de l'ESS",
                                                "format": ",d"}]}},
                     {"data": {"values": [{"code": "93", "lon": 2.53, "lat": 48.53},
                                          {"code": "77", "lon": 3.0, "lat": 47.5}]},
                      "mark": {"type": "text", "fontSize": 10, "fontWeight": 600, "color": "#222", "opacity": 0.75},
                      "encoding": {"longitude": {"field": "lon", "type": "quantitative"},
                                   "latitude": {"field": "lat", "type": "quantitative"},
                                   "text": {"field": "code", "type": "nominal"}}},
                     {"data": {"values": [{"name": "Montreuil", "departement": "93", "lon": 2.44, "lat": 48.86,
                                           "value": 5}]},
                      "mark": {"type": "circle", "color": ORANGE, "opacity": 0.8, "stroke": "#ffffff",
                               "strokeWidth": 0.8},
                      "encoding": {"longitude": {"field": "lon", "type": "quantitative"},
                                   "latitude": {"field": "lat", "type": "quantitative"},
                                   "size": {"field": "value", "type": "quantitative",
                                            "title": ["Par commune", "(structures)"],
                                            "scale": {"range": [30, 700], "zero": True},
                                            "legend": {"format": ",d", "values": [1, 2, 5], "orient": "right",
                                                       "symbolFillColor": ORANGE, "symbolStrokeColor": "#ffffff"}},
                                   "tooltip": [{"field": "name", "title": "Commune"},
                                               {"field": "value", "title": "Structures de l'ESS",
                                                "format": ",d"}]}}]}}


def test_the_members_map_has_its_own_words_colours_and_counts():
    chart = plain(charts.map_chart("members", SHAPES, DEPS, COMMUNES, date(2030, 12, 31)))
    assert (chart["name"], chart["title"], chart["empty"]) == (
        "map_members", "Adhérent·e·s à jour de cotisation", False)
    spec = chart["spec"]
    assert spec["title"]["subtitle"] == "Au 31 décembre 2030 : 2 adhérent·e·s en Île-de-France"
    shade, _, dots = spec["layer"]
    assert [f["properties"]["value"] for f in shade["data"]["values"]] == [2, 0]
    assert shade["encoding"]["color"]["scale"]["scheme"] == "oranges"
    assert shade["encoding"]["color"]["title"] == ["Par département", "(adhérent·e·s)"]
    assert shade["encoding"]["color"]["legend"]["values"] == [0, 1, 2]
    assert dots["data"]["values"] == [{"name": "Montreuil", "departement": "93", "lon": 2.44, "lat": 48.86,
                                       "value": 2}], "Bobigny and Melun have no member"
    assert (dots["mark"]["color"], dots["encoding"]["size"]["legend"]["symbolFillColor"]) == (BLUE, BLUE)
    assert charts.map_chart("members", SHAPES, [{"code": "69", "members": 3}], [], date(2030, 12, 31))["empty"]


def test_every_chart_in_the_page_s_order_with_the_maps_at_the_year_s_end():
    every = charts.report_charts(REPORT, [(date(2029, 12, 31), 1)], SHAPES, DEPS, COMMUNES)
    assert [c["name"] for c in every] == ["members_over_time", "dues", "events_by_kind", "business_conventions",
                                          "map_structures", "map_members"]
    assert every[0]["spec"]["title"]["text"] == "Adhérent·e·s à jour de cotisation en 2030"
    assert [c["spec"]["title"]["subtitle"] for c in every[4:]] == [
        "Au 31 décembre 2030 : 7 structures en Île-de-France", "Au 31 décembre 2030 : 2 adhérent·e·s en Île-de-France"]
    running = charts.report_charts({**REPORT, "as_of": date(2030, 3, 1)}, [], SHAPES, DEPS, COMMUNES)
    assert running[4]["spec"]["title"]["subtitle"] == "Au 1er mars 2030 : 7 structures en Île-de-France"


def test_events_per_kind_read_only_the_three_measures_of_known_kinds():
    report = {"teams": [{"figures": [fig("events_held_webinar", 2), fig("events_held", 9), fig("webinar", 4),
                                     fig("participants_webinar", 3), fig("check_ins_webinar", 1),
                                     fig("participants_training", 5)]},
                        {"figures": [fig("events_held_webinar", 1), fig("check_ins_webinar", 2)]}]}
    assert charts.events_by_kind(report) == [
        {"kind": "webinar", "label": "Webinaire", "measure": "Événements organisés", "value": 3},
        {"kind": "webinar", "label": "Webinaire", "measure": "Participant·e·s", "value": 3},
        {"kind": "webinar", "label": "Webinaire", "measure": "Présent·e·s (émargements)", "value": 3}], \
        "training held nowhere: left out"
    assert charts.events_by_kind({}) == []


@pytest.mark.parametrize("as_of, ends", [
    (date(2030, 1, 1), [date(2029, 12, 31), date(2030, 1, 1)]),
    (date(2030, 1, 31), [date(2029, 12, 31), date(2030, 1, 31)]),
    (date(2029, 12, 31), [date(2029, 12, 31)]),
    (date(2030, 12, 31), [date(2029, 12, 31), *[charts.month_end(date(2030, m, 1)) for m in range(1, 13)]])])
def test_month_ends_on_the_year_s_bounds(as_of, ends):
    assert charts.month_ends(2030, as_of) == ends


def test_french_forms_of_numbers_amounts_and_days():
    assert [charts.french_number(v) for v in (0, 12.0, 1234.56, -1234567)] == [
        "0", "12", "1\u202f234,6", "-1\u202f234\u202f567"]
    assert charts.french_number(1234.5, 2) == "1\u202f234,50" and charts.french_number(2.6, 0) == "3"
    assert [charts.euros(c) for c in (12345, 1, 0, 99_999_999)] == [123.45, 0.01, 0, 999_999.99]
    assert [charts.day_label(date(2030, m, d)) for m, d in ((1, 1), (2, 2), (8, 15))] == [
        "1er janvier 2030", "2 février 2030", "15 août 2030"]
    assert charts.month_end(date(2030, 12, 5)) == date(2030, 12, 31)


def test_legends_count_in_whole_numbers():
    assert [charts.legend_values(top) for top in (0, -1, 1, 2, 3, 4, 10)] == [
        [1], [1], [1], [1, 2], [1, 2, 3], [1, 2, 4], [2, 5, 10]]
    assert [charts.legend_values(top, zero=True) for top in (0, 2, 3)] == [[0], [0, 1, 2], [0, 1, 2, 3]]


def test_rings_and_centres_of_any_geometry():
    ring = [[0, 0], [0, 2], [4, 2], [4, 0], [0, 0]]  # clockwise
    hole = [[1, 1], [2, 1], [2, 1.5], [1, 1]]  # counter-clockwise
    assert charts._signed_area(ring) == -8 and charts._signed_area(hole) == 0.25
    polygon = {"type": "Polygon", "coordinates": [ring, hole]}
    assert charts.rewind(polygon) == polygon, "already as d3 wants it"
    flipped = {"type": "Polygon", "coordinates": [ring[::-1], hole[::-1]]}
    assert charts.rewind(flipped) == polygon
    assert charts.rewind({"type": "MultiPolygon", "coordinates": [[ring[::-1]], [ring]]}) == {
        "type": "MultiPolygon", "coordinates": [[ring], [ring]]}
    point = {"type": "Point", "coordinates": [2.5, 48.5]}
    assert charts.rewind(point) == point and charts.rewind(point) is not point
    assert charts._centre(point) == (2.5, 48.5)
    assert charts._centre({"type": "MultiPolygon", "coordinates": [[ring], [[[10, -4], [12, -4], [10, 0]]]]}) == \
        (6.0, -1.0)


def test_the_collection_rate_is_rounded_once_to_a_tenth():
    report = {"year": 2030, "teams": [{"figures": [fig("dues_invoiced_cents", 100_000),
                                                   fig("dues_collected_cents", 33_346)]}]}
    assert charts.dues_chart(report)["spec"]["title"]["subtitle"] == "Taux d'encaissement : 33,3 %", "not 33,35 → 33,4"
    assert charts.euros(0.7) == 0.01, "to the cent"


def test_a_map_with_departements_and_communes_missing_their_counts_or_no_shapes_at_all():
    deps = [{"code": "93", "structures": 1}, {"code": "77"}]
    communes = [{"name": "Montreuil", "departement": "93", "lat": 48.86, "lon": 2.44, "structures": 1}]
    chart = charts.map_chart("structures", SHAPES, deps, communes, date(2030, 12, 31))
    shade, _, dots = chart["spec"]["layer"]
    assert [f["properties"]["value"] for f in shade["data"]["values"]] == [1, 0], "no count: 0"
    assert shade["encoding"]["color"]["legend"]["values"] == [0, 1]
    assert [p["name"] for p in dots["data"]["values"]] == ["Montreuil"], "one structure is one to show"
    for shapes in ({}, {"features": []}):
        empty = charts.map_chart("members", shapes, deps, communes, date(2030, 12, 31))
        assert empty["empty"] and empty["spec"]["layer"][0]["data"]["values"] == []
        assert empty["spec"]["layer"][0]["encoding"]["color"]["legend"]["values"] == [0]
        assert empty["spec"]["title"]["subtitle"] == "Au 31 décembre 2030 : 0 adhérent·e·s en Île-de-France"
    assert charts.legend_values(1, zero=True) == [0, 1]
