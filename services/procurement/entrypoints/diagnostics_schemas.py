"""Bodies and views of the purchase diagnostics API."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from runtime.api import Body
from services.procurement.domain.diagnostic_report import DiagnosticReport
from services.procurement.domain.diagnostics import DiagnosticStatus, ImportState


class DiagnosticIn(Body):
    """Open a purchase diagnostic for a buyer."""

    buyer_id: str = Field(min_length=1, max_length=100, description="The buyer whose spend is analysed.",
                          examples=["buy-81d2e0"])

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"buyer_id": "buy-81d2e0"}]})


class ImportSummary(BaseModel):
    import_id: str
    file_sha256: str
    file_format: str
    state: ImportState
    started_at: datetime
    finished_at: datetime | None
    lines_imported: int
    total_spend_cents: int


class DiagnosticView(BaseModel):
    id: str
    version: int
    buyer_id: str
    status: DiagnosticStatus
    opened_at: datetime
    closed_at: datetime | None
    imports: list[ImportSummary]
    report_computed_at: datetime | None
    links: dict[str, str] = Field(description="Where to upload files and read the report.")


class Rejection(BaseModel):
    line: int = Field(description="Line number in the file (the header is line 1).", examples=[17])
    column: str = Field(description="The column's header, as the file spells it.", examples=["Montant"])
    field: str = Field(description="siret, amount, category or date.", examples=["amount"])
    reason: str = Field(description="A code: siret_missing, siret_malformed, siret_checksum, amount_missing, "
                                    "amount_not_a_number, amount_negative, amount_absurd, date_missing, "
                                    "date_unparsable, date_out_of_range, category_missing, category_too_long.",
                        examples=["amount_not_a_number"])
    message: str = Field(examples=["'douze' is not an amount in euros"])
    value: str = Field(description="The cell as read (cut to 100 characters).", examples=["douze"])


class ImportView(BaseModel):
    """An import's progress: lines read, imported, rejected; its state; the first faults."""

    import_id: str
    diagnostic_id: str
    state: ImportState = Field(description="running → completed, or failed (none of its lines count).")
    file_name: str | None
    file_sha256: str
    file_format: str
    file_size: int
    encoding: str | None = Field(description="CSV: utf-8, utf-16 or cp1252.")
    separator: str | None = Field(description="CSV: the column separator found.")
    sheet: str | None = Field(description="Spreadsheets: the sheet read.")
    columns: dict[str, str] = Field(description="The header read for each field.")
    lines_total: int = Field(description="Data lines in the file.")
    lines_read: int
    lines_imported: int
    lines_rejected: int
    fraction: float = Field(description="lines_read ÷ lines_total.")
    total_spend_cents: int = Field(description="Sum of the lines imported so far.")
    years: list[int]
    started_at: datetime
    finished_at: datetime | None
    error: str | None = Field(description="Why it failed.")
    first_rejections: list[Rejection] = Field(description="The first 20 faults (all of them: rejections.csv).")
    links: dict[str, str]


def import_view(doc: dict[str, Any], first: list[dict[str, Any]]) -> ImportView:
    total = doc.get("lines_total") or 0
    base = f"/diagnostics/{doc['diagnostic_id']}/imports/{doc['_id']}"
    return ImportView(
        import_id=doc["_id"], diagnostic_id=doc["diagnostic_id"], state=doc["state"], file_name=doc.get("file_name"),
        file_sha256=doc["file_sha256"], file_format=doc["file_format"], file_size=doc.get("file_size", 0),
        encoding=doc.get("encoding"), separator=doc.get("separator"), sheet=doc.get("sheet"),
        columns=doc.get("columns") or {}, lines_total=total, lines_read=doc["lines_read"],
        lines_imported=doc["lines_imported"], lines_rejected=doc["lines_rejected"],
        fraction=round(doc["lines_read"] / total, 4) if total else 0.0, total_spend_cents=doc["total_spend_cents"],
        years=doc.get("years") or [], started_at=doc["started_at"], finished_at=doc.get("finished_at"),
        error=doc.get("error"), first_rejections=[Rejection(**f) for f in first],
        links={"self": base, "rejections_csv": f"{base}/rejections.csv"})


class ReportView(DiagnosticReport):
    """The diagnostic's report, as computed after its last completed import (or on demand)."""

    computed_at: datetime
    diagnostic_version: int = Field(description="The diagnostic's version when the report was computed.")
