"""What people look at: the report's web page, its charts and map as data, and its exports.

- ``GET /reports/{year}/page`` — the page (HTML). The shell and its static files
  (``/static/observatory/…``: the vendored Vega builds, the page's script and style) hold NO data:
  they are public, like ``/docs``, and left out of OpenAPI. The page's script reads a bearer token
  from the URL fragment (``#token=…``, never sent to the server) or a small form, keeps it in
  ``sessionStorage``, and fetches the DATA from the authenticated JSON API below; a missing or
  refused token shows a French message. A strict Content-Security-Policy: scripts and styles from
  the service only, no inline script, no ``eval`` (charts run Vega's CSP-safe interpreter).
- ``GET /reports/{year}/charts`` — the charts and maps as Vega-Lite specs with their data (the
  page draws them; the PDF renders the same specs as SVG).
- ``GET /reports/{year}/territories`` — structures and members per département or commune.
- ``GET /maps/departements.geojson`` — the boundaries of a region's départements (reference data).
- ``GET /reports/{year}/export?format=csv|xlsx|pdf`` — the report as a file.

Every data endpoint needs a bearer token (``staff:observatory`` or ``reader``): the boundaries are
public-domain reference data, but keeping ONE rule ("everything in OpenAPI needs a token; only the
data-free shell and assets do not") keeps the public surface to files that cannot leak anything.
"""
from __future__ import annotations

import asyncio
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Path, Query
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from contracts.base import EARLIEST_YEAR, LATEST_YEAR
from reference import geo, shapes
from runtime.api import ONE, READ, PlatformDep, router, today
from runtime.auth import READER, allow, staff
from runtime.errors import NotFound
from services.observatory.domain.charts import REGION
from services.observatory.entrypoints import exports
from services.observatory.entrypoints.assets import MEDIA_TYPES as ASSET_TYPES
from services.observatory.entrypoints.assets import SERVED
from services.observatory.service_layer.charts import report_charts
from services.observatory.service_layer.report import build_report
from services.observatory.adapters.directory import territory_counts

reads = Depends(allow(staff("observatory"), READER))
Year = Annotated[int, Path(ge=EARLIEST_YEAR, le=LATEST_YEAR, description="The report's year.")]
AsOf = Annotated[date | None, Query(description="What was true on this date (YYYY-MM-DD; default today).")]

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
       "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}

page = router(tags=["activity report"])
data = router(tags=["activity report"])


# -- the page and its files (public: no data) ---------------------------------------------------------------
def shell(year: int) -> str:
    """The page's HTML: a frame the script fills with the data it fetches (nothing inline)."""
    asset = "/static/observatory/"
    return f"""<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>Rapport d'activité {year} — CRESS Île-de-France</title>
<link rel="stylesheet" href="{asset}report-page.css">
<script src="{asset}vega.min.js" defer></script>
<script src="{asset}vega-lite.min.js" defer></script>
<script src="{asset}vega-embed.min.js" defer></script>
<script src="{asset}report-page.js" defer></script>
</head>
<body>
<header class="banner">
  <p class="org">CRESS Île-de-France · Observatoire régional de l'ESS</p>
  <h1>Rapport d'activité {year}</h1>
  <p id="as-of" class="as-of">Chargement…</p>
  <nav id="downloads" class="downloads" hidden>
    <span>Télécharger :</span>
    <button type="button" data-format="pdf">PDF</button>
    <button type="button" data-format="xlsx">Excel</button>
    <button type="button" data-format="csv">CSV</button>
  </nav>
</header>
<main id="report" data-year="{year}">
  <div id="message" class="message" role="alert" hidden></div>
  <form id="token-form" class="token-form" hidden>
    <label for="token">Jeton d'accès (rôle <code>reader</code> ou <code>staff:observatory</code>)</label>
    <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required>
    <button type="submit">Afficher le rapport</button>
  </form>
  <section id="charts" class="charts" hidden>
    <h2>L'année en graphiques</h2>
    <div class="grid">
      <figure class="chart" data-chart="members_over_time"></figure>
      <figure class="chart" data-chart="dues"></figure>
      <figure class="chart wide" data-chart="events_by_kind"></figure>
      <figure class="chart" data-chart="business_conventions"></figure>
    </div>
  </section>
  <section id="map" class="charts" hidden>
    <h2>Carte de la région : structures et adhérent·e·s</h2>
    <div class="grid">
      <figure class="chart map" data-chart="map_structures"></figure>
      <figure class="chart map" data-chart="map_members"></figure>
    </div>
  </section>
  <section id="teams" hidden></section>
  <section id="objectives" hidden>
    <h2>Objectifs du plan stratégique</h2>
    <table class="objectives"><thead><tr><th>Code</th><th>Objectif</th><th>Pôle</th><th>Échéance</th>
      <th>Statut</th></tr></thead><tbody></tbody></table>
  </section>
</main>
<footer><p>Chiffres calculés à partir des événements de la plateforme ; chaque chiffre indique sa source.</p></footer>
</body>
</html>
"""


@page.get("/reports/{year}/page", response_class=HTMLResponse, include_in_schema=False,
          summary="The report's web page (no data in it: its script fetches the report with a bearer token)")
async def report_page(year: Year, as_of: Annotated[date | None, Query(
        description="The report as of this date (YYYY-MM-DD): read by the page's script, which asks the API "
                    "for it")] = None) -> HTMLResponse:
    return HTMLResponse(shell(year), headers=SECURITY_HEADERS)  # the shell is the same for every date


@page.get("/static/observatory/{name}", include_in_schema=False, summary="The page's static files (no data)")
async def static_file(name: Annotated[str, Path(max_length=64)]) -> FileResponse:
    served = SERVED.get(name)
    if served is None or not served.is_file():
        raise NotFound(f"no static file {name!r}")
    return FileResponse(served, media_type=ASSET_TYPES[served.suffix],
                        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})


# -- the data (bearer token) ---------------------------------------------------------------------------------
class ChartView(BaseModel):
    name: str = Field(description="`members_over_time`, `dues`, `events_by_kind`, `business_conventions`, "
                                  "`map_structures`, `map_members`.")
    title: str = Field(description="The chart's title (French).")
    empty: bool = Field(description="True when there is nothing to draw yet (no event, no member…).")
    spec: dict[str, Any] = Field(description="A Vega-Lite v6 specification with its data inline.")


class ChartsView(BaseModel):
    year: int
    as_of: date
    charts: list[ChartView]


class Level(StrEnum):
    DEPARTEMENT = "departement"
    COMMUNE = "commune"


class TerritoryCount(BaseModel):
    code: str = Field(description="INSEE code of the département or commune.", examples=["93048"])
    name: str = Field(examples=["Montreuil"])
    departement: str | None = Field(None, description="The commune's département (level `commune`).")
    lat: float | None = Field(None, description="Where to draw it: a commune's coordinates, a département's "
                                                "population-weighted centre.")
    lon: float | None = Field(None, description="Longitude (as `lat`).")
    structures: int = Field(description="ESS structures of the directory there on the date (membership's "
                                        "organisations, procurement's suppliers, imported structures).")
    members: int = Field(description="Of them, members in good standing on the date.")


class Format(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    PDF = "pdf"


@data.get("/reports/{year}/charts", response_model=ChartsView, dependencies=[reads], responses=READ,
          summary="The report's charts and maps as Vega-Lite specifications with their data (French labels), as "
                  "of a date")
async def charts(year: Year, platform: PlatformDep, as_of: AsOf = None) -> ChartsView:
    report, specs = await report_charts(platform.db, year, as_of or today())
    return ChartsView(year=year, as_of=report.as_of, charts=[ChartView(**c) for c in specs])


@data.get("/reports/{year}/territories", response_model=list[TerritoryCount], dependencies=[reads],
          responses=READ, summary="ESS structures and members in good standing per département or commune, at the "
                                  "end of the year (or on the date asked, if earlier)")
async def territories(year: Year, platform: PlatformDep, as_of: AsOf = None,
                      level: Annotated[Level, Query(description="`departement` or `commune`.")] = Level.DEPARTEMENT
                      ) -> list[dict[str, Any]]:
    day = as_of or today()
    end = date(year, 12, 31)
    return await territory_counts(platform.db, min(day, end), level.value)


@data.get("/maps/departements.geojson", response_class=JSONResponse, dependencies=[reads],
          responses={**ONE, 200: {"content": {"application/geo+json": {}},
                                   "description": "A GeoJSON FeatureCollection (WGS84; properties code, name, "
                                                  "region)"}},
          summary="The boundaries of a region's départements (Natural Earth, shipped with the platform)")
async def departements_geojson(region: Annotated[str, Query(pattern=r"^\d{2}$", description="INSEE region code.",
                                                            examples=["11"])] = REGION) -> JSONResponse:
    if geo.region(region) is None:
        raise NotFound(f"no region {region!r}")
    return JSONResponse(shapes.region_shapes(region), media_type="application/geo+json",
                        headers={"Cache-Control": "private, max-age=86400"})


@data.get("/reports/{year}/export", response_class=Response, dependencies=[reads],
          responses={**READ, 200: {"description": "The report as a file: CSV (`;`, UTF-8 with BOM, for Excel), XLSX "
                                                  "(a sheet « Rapport », a sheet « Objectifs ») or PDF (A4, with the "
                                                  "charts and the map)",
                                   "content": {exports.MEDIA_TYPES["csv"]: {}, exports.MEDIA_TYPES["xlsx"]: {},
                                               exports.MEDIA_TYPES["pdf"]: {}}}},
          summary="The report of a year as of a date as a file: CSV, XLSX or PDF (French labels)")
async def export(year: Year, platform: PlatformDep, as_of: AsOf = None,
                 format: Annotated[Format, Query(description="`csv`, `xlsx` or `pdf`.")] = Format.PDF) -> Response:
    day = as_of or today()
    if format is Format.PDF:
        report, specs = await report_charts(platform.db, year, day)
        content = await asyncio.to_thread(exports.report_pdf, report, specs)
    else:
        report = await build_report(platform.db, year, day)
        content = exports.report_csv(report) if format is Format.CSV else \
            await asyncio.to_thread(exports.report_xlsx, report)
    name = exports.file_name(year, format.value, day)
    return Response(content, media_type=exports.MEDIA_TYPES[format.value],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


ROUTERS = (page, data)
