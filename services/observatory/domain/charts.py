"""The activity report's charts and maps as data: Vega-Lite specifications with French labels — pure.

Built once from the report (a :class:`~services.observatory.entrypoints.schemas.ReportView` as a
JSON-like dict) and a few series; the same specifications are drawn by the web page (vega-embed, in
the browser) and by the PDF export (SVG rendered on the server with ``vl-convert``). Every spec
carries its data inline (``data.values``): nothing is fetched while drawing, no tile server, no
network.

- ``events_by_kind``: events held, participants and check-ins per kind of event (all teams);
- ``members_over_time``: members in good standing at the previous year end and at each month end
  of the year (up to the report's date);
- ``business_conventions``: business conventions' participants, meetings held, contracts signed;
- ``dues``: dues of the year invoiced and collected, in euros;
- ``map_structures`` / ``map_members``: the region's départements shaded by the ESS structures
  (members) there, with communes as proportional circles.
"""
from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from contracts.events.registrations import EventKind
from services.observatory.domain.report import year_end

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
REGION = "11"  # the chamber: CRESS Île-de-France
MONTHS = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.")
BLUE, ORANGE, GREEN, GREY = "#1f5f8b", "#e07b39", "#4a9b6e", "#8c8c8c"

# French number formats (narrow no-break space between thousands, decimal comma) for the browser and
# for vl-convert alike; month names for any date axis.
LOCALE = {
    "number": {"decimal": ",", "thousands": "\u202f", "grouping": [3], "currency": ["", "\u00a0€"]},
    "time": {"dateTime": "%A %e %B %Y à %X", "date": "%d/%m/%Y", "time": "%H:%M:%S",
             "periods": ["AM", "PM"],
             "days": ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
             "shortDays": ["dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."],
             "months": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
                        "octobre", "novembre", "décembre"],
             "shortMonths": list(MONTHS)},
}
CONFIG = {
    "locale": LOCALE,
    "font": "DejaVu Sans, Helvetica, Arial, sans-serif",
    "title": {"anchor": "start", "fontSize": 14, "fontWeight": 600, "subtitleColor": "#555", "subtitleFontSize": 11},
    "axis": {"labelFontSize": 11, "titleFontSize": 11, "titleFontWeight": 500, "gridColor": "#e6e6e6"},
    "legend": {"labelFontSize": 11, "titleFontSize": 11},
    "header": {"labelFontSize": 12, "labelFontWeight": 600},
    "view": {"stroke": None},
    "bar": {"color": BLUE},
}

_MEASURES = (("events_held", "Événements organisés"), ("participants", "Participant·e·s"),
             ("check_ins", "Présent·e·s (émargements)"))
_CONVENTIONS = (("convention_participants", "Participant·e·s"), ("convention_meetings_held", "Rendez-vous tenus"),
                ("convention_contracts_signed", "Contrats signés"))


def _spec(title: str, subtitle: str | None = None, **body: Any) -> dict[str, Any]:
    heading: dict[str, Any] = {"text": title}
    if subtitle:
        heading["subtitle"] = subtitle
    return {"$schema": SCHEMA, "title": heading, "config": CONFIG, **body}


def _chart(name: str, title: str, spec: dict[str, Any], empty: bool) -> dict[str, Any]:
    return {"name": name, "title": title, "empty": empty, "spec": spec}


def _figures(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [f for team in report.get("teams", []) for f in team.get("figures", [])]


def _total(report: Mapping[str, Any], indicator: str) -> int | float:
    """The sum of a figure over every team that reports it (0 when none does)."""
    return sum(f["value"] or 0 for f in _figures(report) if f["indicator"] == indicator)


def euros(cents: int | float) -> float:
    return round(cents / 100, 2)


def french_number(value: int | float | None, decimals: int | None = None) -> str:
    """``12345.5`` → ``12 345,5`` (narrow no-break space between thousands, decimal comma)."""
    if value is None:
        return "—"
    if decimals is None:
        decimals = 0 if float(value).is_integer() else 1
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u202f").replace(".", ",")


FULL_MONTHS = LOCALE["time"]["months"]


def day_label(day: date) -> str:
    """``2030-12-31`` → ``31 décembre 2030`` (``1er`` for the first of a month)."""
    return f"{'1er' if day.day == 1 else day.day} {FULL_MONTHS[day.month - 1]} {day.year}"


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


# -- the events' figures ------------------------------------------------------------------------------
def events_by_kind(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows ``{kind, label, measure, value}``: events held, participants, check-ins per kind of event,
    summed over the teams, kinds in the catalogue's order, kinds with no event held left out."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for figure in _figures(report):
        for prefix, _ in _MEASURES:
            kind = figure["indicator"].removeprefix(prefix + "_")
            if kind != figure["indicator"] and kind in EventKind.__members__.values():
                totals[(kind, prefix)] += figure["value"] or 0
    kinds = [k for k in EventKind if totals.get((k.value, "events_held"), 0) > 0]
    return [{"kind": k.value, "label": k.label, "measure": label, "value": totals.get((k.value, prefix), 0)}
            for k in kinds for prefix, label in _MEASURES]


def events_chart(report: Mapping[str, Any]) -> dict[str, Any]:
    rows = events_by_kind(report)
    order = [label for _, label in _MEASURES]
    kinds = list(dict.fromkeys(r["label"] for r in rows))
    bar = {"mark": {"type": "bar", "cornerRadiusEnd": 2},
           "encoding": {"color": {"field": "measure", "type": "nominal", "legend": None, "sort": order,
                                  "scale": {"domain": order, "range": [BLUE, ORANGE, GREEN]}}}}
    label = {"mark": {"type": "text", "align": "left", "dx": 3, "fontSize": 10, "color": "#333"},
             "encoding": {"text": {"field": "value", "type": "quantitative", "format": ",d"}}}
    spec = _spec(
        "Événements organisés, participant·e·s et présent·e·s par type d'événement",
        None if rows else "Aucun événement tenu à cette date",
        data={"values": rows},
        facet={"column": {"field": "measure", "type": "nominal", "sort": order, "title": None}},
        spec={"width": 170, "height": {"step": 22},
              "encoding": {"y": {"field": "label", "type": "nominal", "sort": kinds, "title": None,
                                 "axis": {"labelLimit": 220}},
                           "x": {"field": "value", "type": "quantitative", "title": None,
                                 "axis": {"format": ",d", "tickMinStep": 1}},
                           "tooltip": [{"field": "label", "title": "Type d'événement"},
                                       {"field": "measure", "title": "Mesure"},
                                       {"field": "value", "title": "Nombre", "format": ",d"}]},
              "layer": [bar, label]},
        resolve={"scale": {"x": "independent"}})
    return _chart("events_by_kind", "Événements par type", spec, not rows)


# -- members over time --------------------------------------------------------------------------------
def month_ends(year: int, as_of: date) -> list[date]:
    """The previous year end, then each month end of ``year`` up to ``as_of`` (and ``as_of`` itself
    when the year is still running and it is not a month end)."""
    ends = [date(year - 1, 12, 31)]
    for month in range(1, 13):
        end = month_end(date(year, month, 1))
        if end > as_of:
            if as_of > ends[-1]:
                ends.append(as_of)
            break
        ends.append(end)
    return [d for d in ends if d <= as_of]


def members_chart(year: int, series: Sequence[tuple[date, int]]) -> dict[str, Any]:
    rows = [{"day": d.isoformat(), "label": (str(d.year) if (d.month, d.day) == (12, 31) and d.year < year
                                             else f"{d.day} {MONTHS[d.month - 1]}" if _mid_month(d)
                                             else MONTHS[d.month - 1]),
             "members": n} for d, n in series]
    order = [r["label"] for r in rows]
    spec = _spec(
        f"Adhérent·e·s à jour de cotisation en {year}", f"Fin {year - 1}, puis à chaque fin de mois",
        data={"values": rows}, width=470, height=220,
        encoding={"x": {"field": "label", "type": "ordinal", "sort": order, "title": None,
                        "axis": {"labelAngle": 0}},
                  "y": {"field": "members", "type": "quantitative", "title": "Adhérent·e·s",
                        "axis": {"format": ",d", "tickMinStep": 1}, "scale": {"zero": True}},
                  "tooltip": [{"field": "day", "title": "Date", "type": "temporal", "format": "%d/%m/%Y"},
                              {"field": "members", "title": "Adhérent·e·s", "format": ",d"}]},
        layer=[{"mark": {"type": "line", "color": BLUE, "strokeWidth": 2}},
               {"mark": {"type": "point", "filled": True, "color": BLUE, "size": 45}},
               {"mark": {"type": "text", "dy": -10, "fontSize": 10, "color": "#333"},
                "encoding": {"text": {"field": "members", "type": "quantitative", "format": ",d"}}}])
    return _chart("members_over_time", "Adhérent·e·s au fil de l'année", spec, not rows)


def _mid_month(day: date) -> bool:
    return day != month_end(day)


# -- business conventions, dues ------------------------------------------------------------------------
def _bars(name: str, title: str, subtitle: str | None, rows: list[dict[str, Any]], *, value_title: str,
          value_format: str, colors: Sequence[str]) -> dict[str, Any]:
    order = [r["label"] for r in rows]
    spec = _spec(title, subtitle, data={"values": rows}, width=360, height={"step": 30},
                 encoding={"y": {"field": "label", "type": "nominal", "sort": order, "title": None,
                                 "axis": {"labelLimit": 200}},
                           "x": {"field": "value", "type": "quantitative", "title": value_title,
                                 "axis": {"format": value_format, "tickMinStep": 1}},
                           "tooltip": [{"field": "label", "title": "Mesure"},
                                       {"field": "value", "title": value_title, "format": value_format}]},
                 layer=[{"mark": {"type": "bar", "cornerRadiusEnd": 2},
                         "encoding": {"color": {"field": "label", "type": "nominal", "legend": None,
                                                "scale": {"domain": order, "range": list(colors)}}}},
                        {"mark": {"type": "text", "align": "left", "dx": 3, "fontSize": 10, "color": "#333"},
                         "encoding": {"text": {"field": "value", "type": "quantitative", "format": value_format}}}])
    return _chart(name, title, spec, not any(r["value"] for r in rows))


def conventions_chart(report: Mapping[str, Any]) -> dict[str, Any]:
    rows = [{"label": label, "value": _total(report, indicator)} for indicator, label in _CONVENTIONS]
    amount = _total(report, "convention_contracts_cents")
    subtitle = f"Montant des contrats signés : {french_number(euros(amount), 0)} €" if amount else \
        "Aucun contrat signé à cette date"
    return _bars("business_conventions", "Conventions d'affaires : participant·e·s et rendez-vous", subtitle, rows,
                 value_title="Nombre", value_format=",d", colors=(BLUE, ORANGE, GREEN))


def dues_chart(report: Mapping[str, Any]) -> dict[str, Any]:
    invoiced, collected = _total(report, "dues_invoiced_cents"), _total(report, "dues_collected_cents")
    rows = [{"label": "Cotisations appelées", "value": euros(invoiced)},
            {"label": "Cotisations encaissées", "value": euros(collected)}]
    rate = f"Taux d'encaissement : {french_number(round(collected * 100 / invoiced, 1), 1)} %" if invoiced else \
        "Aucune cotisation appelée à cette date"
    return _bars("dues", f"Cotisations {report['year']} appelées et encaissées", rate, rows,
                 value_title="Euros", value_format="$,.0f", colors=(GREY, BLUE))


# -- the map -----------------------------------------------------------------------------------------------
def _centre(geometry: Mapping[str, Any]) -> tuple[float, float]:
    """The centre of a geometry's bounding box (lon, lat): where its code is written."""
    def positions(coords: Any) -> Iterable[Sequence[float]]:
        if coords and isinstance(coords[0], (int, float)):
            yield coords
        else:
            for part in coords:
                yield from positions(part)
    points = list(positions(geometry["coordinates"]))
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return (min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2


def legend_values(top: int, *, zero: bool = False) -> list[int]:
    """Whole numbers for a legend up to ``top`` (a legend of counts has no "1,5 structure")."""
    if top <= 0:
        return [0] if zero else [1]
    values = {top, max(1, round(top / 2)), max(1, round(top / 4))} if top > 2 else set(range(1, top + 1))
    return sorted(values | ({0} if zero else set()))


def _signed_area(ring: Sequence[Sequence[float]]) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0, *_), (x1, y1, *_) in zip(ring, ring[1:])) / 2


def rewind(geometry: Mapping[str, Any]) -> dict[str, Any]:
    """The geometry with its rings wound as d3-geo (Vega) wants them: exterior rings clockwise, holes
    counter-clockwise. (GeoJSON's RFC 7946 winds them the other way; d3 would then shade the whole
    sphere but the département.)"""
    def polygon(rings: Sequence[Sequence[Sequence[float]]]) -> list:
        return [list(ring) if (_signed_area(ring) < 0) == (i == 0) else list(reversed(ring))
                for i, ring in enumerate(rings)]
    if geometry["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": polygon(geometry["coordinates"])}
    if geometry["type"] == "MultiPolygon":
        return {"type": "MultiPolygon", "coordinates": [polygon(p) for p in geometry["coordinates"]]}
    return dict(geometry)


_LABEL_NUDGE = {"92": (-0.06, 0.0), "93": (0.03, 0.03), "94": (0.03, -0.03), "75": (0.0, 0.0)}


def map_chart(measure: str, shapes: Mapping[str, Any], departements: Sequence[Mapping[str, Any]],
              communes: Sequence[Mapping[str, Any]], on: date) -> dict[str, Any]:
    """The region's départements shaded by ``measure`` (``structures`` or ``members``), communes as
    circles whose area is that count there. ``shapes`` is the region's FeatureCollection
    (:func:`reference.shapes.region_shapes`); counts of other regions are left out."""
    what = {"structures": ("Structures de l'ESS", "structures", ORANGE, "blues"),
            "members": ("Adhérent·e·s à jour de cotisation", "adhérent·e·s", BLUE, "oranges")}
    title, unit, dot, scheme = what[measure]
    counts = {d["code"]: d.get(measure, 0) for d in departements}
    features, labels = [], []
    for feature in shapes.get("features", []):
        props = feature["properties"]
        value = counts.get(props["code"], 0)
        features.append({"type": "Feature", "geometry": rewind(feature["geometry"]),
                         "properties": {"code": props["code"], "name": props["name"], "value": value}})
        lon, lat = _centre(feature["geometry"])
        dx, dy = _LABEL_NUDGE.get(props["code"], (0.0, 0.0))
        labels.append({"code": props["code"], "lon": lon + dx, "lat": lat + dy})
    codes = {f["properties"]["code"] for f in features}
    points = [{"name": c["name"], "departement": c["departement"], "lon": c["lon"], "lat": c["lat"],
               "value": c.get(measure, 0)} for c in communes
              if c.get("departement") in codes and c.get(measure, 0) > 0 and c.get("lat") is not None]
    total = sum(counts.get(code, 0) for code in codes)
    shade_values = legend_values(max((f["properties"]["value"] for f in features), default=0), zero=True)
    size_values = legend_values(max((p["value"] for p in points), default=0))
    spec = _spec(
        title, f"Au {day_label(on)} : {french_number(total)} {unit} en Île-de-France",
        width=380, height=330, projection={"type": "mercator"},
        layer=[
            {"data": {"values": features},
             "mark": {"type": "geoshape", "stroke": "#ffffff", "strokeWidth": 1.2},
             "encoding": {"color": {"field": "properties.value", "type": "quantitative",
                                    "title": ["Par département", f"({unit})"],
                                    "scale": {"scheme": scheme, "zero": True, "domainMin": 0},
                                    "legend": {"format": ",d", "values": shade_values, "orient": "right",
                                               "gradientLength": 140}},
                          "tooltip": [{"field": "properties.name", "title": "Département"},
                                      {"field": "properties.value", "title": title, "format": ",d"}]}},
            {"data": {"values": labels},
             "mark": {"type": "text", "fontSize": 10, "fontWeight": 600, "color": "#222", "opacity": 0.75},
             "encoding": {"longitude": {"field": "lon", "type": "quantitative"},
                          "latitude": {"field": "lat", "type": "quantitative"},
                          "text": {"field": "code", "type": "nominal"}}},
            {"data": {"values": points},
             "mark": {"type": "circle", "color": dot, "opacity": 0.8, "stroke": "#ffffff", "strokeWidth": 0.8},
             "encoding": {"longitude": {"field": "lon", "type": "quantitative"},
                          "latitude": {"field": "lat", "type": "quantitative"},
                          "size": {"field": "value", "type": "quantitative", "title": ["Par commune", f"({unit})"],
                                   "scale": {"range": [30, 700], "zero": True},
                                   "legend": {"format": ",d", "values": size_values, "orient": "right",
                                              "symbolFillColor": dot, "symbolStrokeColor": "#ffffff"}},
                          "tooltip": [{"field": "name", "title": "Commune"},
                                      {"field": "value", "title": title, "format": ",d"}]}},
        ])
    return _chart(f"map_{measure}", title, spec, total == 0)


# -- all of them ---------------------------------------------------------------------------------------------
def report_charts(report: Mapping[str, Any], members: Sequence[tuple[date, int]], shapes: Mapping[str, Any],
                  departements: Sequence[Mapping[str, Any]], communes: Sequence[Mapping[str, Any]]
                  ) -> list[dict[str, Any]]:
    """Every chart of the report (``report``: a ReportView as a JSON-like dict, ``as_of`` a date or
    its ISO form), in the order the page and the PDF show them."""
    as_of = report["as_of"] if isinstance(report["as_of"], date) else date.fromisoformat(report["as_of"])
    on = year_end(report["year"], as_of)  # the map of a past year: at its end
    return [members_chart(report["year"], members), dues_chart(report), events_chart(report),
            conventions_chart(report),
            map_chart("structures", shapes, departements, communes, on),
            map_chart("members", shapes, departements, communes, on)]
