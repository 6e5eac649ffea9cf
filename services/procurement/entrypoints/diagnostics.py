"""The purchase diagnostics HTTP API: open a diagnostic for a buyer, upload spend files (CSV or
XLSX, multipart/form-data) and follow their import, read the report as JSON, as a page with
charts or as a spreadsheet, and each import's rejected lines as CSV.

Roles: writes need ``staff:procurement`` (or ``admin``); reads ``staff:procurement`` or
``reader``. An upload answers 202 at once with the import's id (``Location``: its progress);
the lines are checked and stored in the background and count only once the import completed.
Large files can also be imported by operators with ``python -m services.procurement.diagnostics_cli``.
"""
from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Depends, File, Query, Response, UploadFile, status
from fastapi.responses import HTMLResponse, StreamingResponse

from runtime.api import ONE, READ, WRITE, IfMatch, Limit, Offset, Page, PlatformDep, body_limit, errors, expected, \
    router, tagged
from runtime.auth import READER, allow, staff
from runtime.errors import InvalidInput
from services.procurement.adapters import diagnostics as store
from services.procurement.adapters.diagnostics import DIAGNOSTICS, IMPORTS
from services.procurement.bootstrap import SETTINGS
from services.procurement.domain.diagnostics import Diagnostic, DiagnosticStatus
from services.procurement.entrypoints import diagnostic_exports as exports
from services.procurement.entrypoints.diagnostics_schemas import (DiagnosticIn, DiagnosticView, ImportSummary,
                                                                  ImportView, ReportView, import_view)
from services.procurement.service_layer.diagnostics import DiagnosticsService

TEAM = "procurement"
writes = Depends(allow(staff(TEAM)))
reads = Depends(allow(staff(TEAM), READER))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def commands(platform: PlatformDep) -> DiagnosticsService:
    return platform.commands.diagnostics


Service = Annotated[DiagnosticsService, Depends(commands)]
diagnostics = router("/diagnostics", tags=["purchase diagnostics"])


def _view(diagnostic: Diagnostic, response: Response | None = None) -> DiagnosticView:
    if response is not None:
        tagged(response, diagnostic)
    base = f"/diagnostics/{diagnostic.id}"
    return DiagnosticView(
        id=diagnostic.id, version=diagnostic.version, buyer_id=diagnostic.buyer_id, status=diagnostic.status,
        opened_at=diagnostic.opened_at, closed_at=diagnostic.closed_at,
        imports=[ImportSummary(**i.model_dump()) for i in diagnostic.imports],
        report_computed_at=diagnostic.report_computed_at,
        links={"imports": f"{base}/imports", "report": f"{base}/report", "report_html": f"{base}/report.html",
               "report_xlsx": f"{base}/report.xlsx"})


# -- the diagnostic -------------------------------------------------------------------------------------
@diagnostics.post("", status_code=status.HTTP_201_CREATED, response_model=DiagnosticView, dependencies=[writes],
                  responses=errors(401, 403, 422), summary="Open a purchase diagnostic for a buyer (422 naming "
                                                           "buyer_id when the buyer is unknown)")
async def open_diagnostic(body: DiagnosticIn, response: Response, svc: Service) -> DiagnosticView:
    diagnostic = await svc.open_diagnostic(body.buyer_id)
    response.headers["Location"] = f"/diagnostics/{diagnostic.id}"
    return _view(diagnostic, response)


@diagnostics.get("", response_model=Page[DiagnosticView], dependencies=[reads], responses=READ,
                 summary="Purchase diagnostics, newest first, optionally of one buyer or in one status")
async def list_diagnostics(platform: PlatformDep, limit: Limit = 50, offset: Offset = 0,
                           buyer_id: Annotated[str | None, Query(max_length=100)] = None,
                           status_: Annotated[DiagnosticStatus | None, Query(alias="status")] = None
                           ) -> Page[DiagnosticView]:
    query: dict[str, Any] = {}
    if buyer_id:
        query["buyer_id"] = buyer_id
    if status_:
        query["status"] = status_.value
    items, total = await platform.db.page(DIAGNOSTICS, query, sort=[("opened_at", -1), ("_id", 1)], limit=limit,
                                          offset=offset, model=Diagnostic)
    return Page(items=[_view(d) for d in items], total=total, limit=limit, offset=offset)


@diagnostics.get("/{diagnostic_id}", response_model=DiagnosticView, dependencies=[reads], responses=ONE,
                 summary="One diagnostic: its buyer, status and imports")
async def get_diagnostic(diagnostic_id: str, response: Response, platform: PlatformDep) -> DiagnosticView:
    return _view(await platform.db.get(DIAGNOSTICS, Diagnostic, diagnostic_id), response)


@diagnostics.post("/{diagnostic_id}/closing", response_model=DiagnosticView, dependencies=[writes],
                  responses=errors(401, 403, 404, 409, 412, 422, c409="Closed already, or an import is running"),
                  summary="Close the diagnostic (no more imports; the report stays readable)")
async def close_diagnostic(diagnostic_id: str, response: Response, svc: Service,
                           if_match: IfMatch = None) -> DiagnosticView:
    return _view(await svc.close_diagnostic(diagnostic_id, expected_version=expected(if_match)), response)


# -- imports ----------------------------------------------------------------------------------------------
@diagnostics.post(
    "/{diagnostic_id}/imports", status_code=status.HTTP_202_ACCEPTED, response_model=ImportView,
    dependencies=[writes],
    responses=errors(401, 403, 404, 409, 413, 422,
                     c409="The diagnostic is closed, or this file (same SHA-256) was imported into it already "
                          "(the detail names that import)",
                     c413=f"The file is over {SETTINGS.diagnostic_max_upload_bytes:,} bytes (use the CLI)",
                     c422="The file cannot be imported (field `file`): empty, no data line, not CSV nor a "
                          f"spreadsheet, a missing column, more than {SETTINGS.diagnostic_max_lines:,} lines"),
    summary="Upload a spend file (CSV or XLSX) to import: 202 with the import's id, its progress at Location")
@body_limit(SETTINGS.diagnostic_max_upload_bytes)
async def upload_spend_file(
        diagnostic_id: str, response: Response, svc: Service,
        file: Annotated[UploadFile, File(description="The spend file: CSV (; or , separated; UTF-8 or Windows-1252) "
                                                     "or XLSX, with a header row naming the supplier's SIRET, the "
                                                     "amount in euros, the category and the date "
                                                     "(e.g. `SIRET fournisseur;Montant;Catégorie;Date`).")]
) -> ImportView:
    content = await file.read()
    if len(content) > SETTINGS.diagnostic_max_upload_bytes:
        raise InvalidInput("file", f"the file is over {SETTINGS.diagnostic_max_upload_bytes:,} bytes")
    doc = await svc.start_import(diagnostic_id, content, file_name=file.filename)
    response.headers["Location"] = f"/diagnostics/{diagnostic_id}/imports/{doc['_id']}"
    return import_view(doc, [])


@diagnostics.get("/{diagnostic_id}/imports", response_model=list[ImportView], dependencies=[reads], responses=ONE,
                 summary="The diagnostic's imports and their progress, oldest first")
async def list_imports(diagnostic_id: str, platform: PlatformDep) -> list[ImportView]:
    await platform.db.get(DIAGNOSTICS, Diagnostic, diagnostic_id)
    docs = await platform.db[IMPORTS].find({"diagnostic_id": diagnostic_id}).sort("started_at", 1).to_list()
    return [import_view(d, []) for d in docs]


@diagnostics.get("/{diagnostic_id}/imports/{import_id}", response_model=ImportView, dependencies=[reads],
                 responses=ONE, summary="An import's progress: state, lines read, imported and rejected, the first "
                                        "rejected lines")
async def get_import(diagnostic_id: str, import_id: str, svc: Service) -> ImportView:
    doc = await svc.import_progress(import_id, diagnostic_id)
    first = [f async for f in store.rejections(svc.db, import_id, limit=20)]
    return import_view(doc, first)


@diagnostics.get("/{diagnostic_id}/imports/{import_id}/rejections.csv", response_class=StreamingResponse,
                 dependencies=[reads], responses={**ONE, 200: {"content": {"text/csv": {}},
                                                               "description": "line;column;field;reason;message;value"}},
                 summary="An import's rejected lines as CSV: line number, column, reason, message, value")
async def rejections_csv(diagnostic_id: str, import_id: str, svc: Service) -> StreamingResponse:
    await svc.import_progress(import_id, diagnostic_id)

    async def rows():
        yield exports.rejections_csv_header()
        batch: list[dict] = []
        async for fault in store.rejections(svc.db, import_id):
            batch.append(fault)
            if len(batch) >= 1000:
                yield exports.rejections_csv_rows(batch)
                batch = []
        if batch:
            yield exports.rejections_csv_rows(batch)

    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{import_id}-rejections.csv"'})


# -- the report ---------------------------------------------------------------------------------------------
@diagnostics.get("/{diagnostic_id}/report", response_model=ReportView, dependencies=[reads], responses=ONE,
                 summary="The report: ESS share per year and category, top ESS suppliers, potential and "
                         "recommendations (404 until an import completed)")
async def report(diagnostic_id: str, svc: Service) -> dict[str, Any]:
    return await svc.report(diagnostic_id)


@diagnostics.post("/{diagnostic_id}/report/computation", response_model=ReportView, dependencies=[writes],
                  responses=errors(401, 403, 404, 409, 422, c409="No import has completed yet"),
                  summary="Compute the report again (with what procurement knows now of ESS organisations and "
                          "supplier profiles)")
async def compute_report(diagnostic_id: str, svc: Service) -> dict[str, Any]:
    return await svc.compute_report(diagnostic_id)


async def _buyer_name(svc: DiagnosticsService, buyer_id: str) -> str | None:
    buyer = await store.buyer(svc.db, buyer_id)
    return (buyer or {}).get("name")


@diagnostics.get("/{diagnostic_id}/report.html", response_class=HTMLResponse, dependencies=[reads],
                 responses={**ONE, 200: {"content": {"text/html": {}}, "description": "A printable page"}},
                 summary="The report as a page with charts (printable; no script, nothing loaded from elsewhere)")
async def report_html(diagnostic_id: str, svc: Service) -> HTMLResponse:
    doc = await svc.report(diagnostic_id)
    page = exports.report_html(doc, await _buyer_name(svc, doc["buyer_id"]))
    return HTMLResponse(page, headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                                                  "img-src data:"})


@diagnostics.get("/{diagnostic_id}/report.xlsx", response_class=Response, dependencies=[reads],
                 responses={**ONE, 200: {"content": {XLSX: {}}, "description": "A workbook, a sheet per breakdown"}},
                 summary="The report as a spreadsheet: summary, by year, by category, top ESS suppliers, potential")
async def report_xlsx(diagnostic_id: str, svc: Service) -> Response:
    doc = await svc.report(diagnostic_id)
    content = await asyncio.to_thread(exports.report_xlsx, doc, await _buyer_name(svc, doc["buyer_id"]))
    return Response(content, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{diagnostic_id}-report.xlsx"'})


ROUTERS = (diagnostics,)
