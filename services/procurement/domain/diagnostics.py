"""Purchase diagnostics: the :class:`Diagnostic` aggregate and its imports.

::

    Diagnostic.open ─▶ open ──close──▶ closed
                        │ start_import ─▶ import running ──complete_import──▶ completed
                        │                        └────────fail_import───────▶ failed
                        └ record_report (after each completed import, or on demand)

- A diagnostic belongs to one buyer (its id; the service checks the buyer exists).
- Imports: each has an id, the file's SHA-256, its format and its state. A file whose SHA-256
  was imported (completed) or is being imported into the same diagnostic is refused (409
  naming that import): re-importing a file would count its spend twice. A failed import does
  not block: the same file can be imported again.
- Only completed imports count (:attr:`Diagnostic.completed_import_ids`): lines of a running or
  failed import are never in a report. Completing an import is one small step (this aggregate
  and the import's state, in one transaction): its lines become visible all at once.
- A closed diagnostic accepts no new import; it cannot be closed while an import runs.

Every step records one event; events carry figures, never a line of a file.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel

from contracts.procurement.diagnostics import (DiagnosticClosed, DiagnosticOpened, DiagnosticReportComputed,
                                               SpendFileImported, SpendImportFailed, SpendImportStarted)
from runtime.aggregate import Aggregate
from runtime.errors import Conflict, InvalidInput

__all__ = ["DiagnosticStatus", "ImportState", "ImportRecord", "ImportFigures", "ReportSummary", "Diagnostic",
           "MAX_IMPORTS"]

MAX_IMPORTS = 200  # per diagnostic, failed ones included


class DiagnosticStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ImportState(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class ImportRecord(BaseModel):
    import_id: str
    file_sha256: str
    file_format: str
    state: ImportState
    started_at: AwareDatetime
    finished_at: AwareDatetime | None = None
    lines_imported: int = 0
    total_spend_cents: int = 0


class ImportFigures(BaseModel):
    """What an import found, as the import job counted it."""

    lines_read: int
    lines_imported: int
    lines_rejected: int
    total_spend_cents: int
    years: list[int]


class ReportSummary(BaseModel):
    """The report's summary figures (what its event carries)."""

    imports: int
    total_spend_cents: int
    ess_spend_cents: int
    ess_share_percent: float
    categories: int
    suppliers: int
    ess_suppliers: int
    years: list[int]


class Diagnostic(Aggregate):
    buyer_id: str
    status: DiagnosticStatus
    opened_at: AwareDatetime
    closed_at: AwareDatetime | None = None
    imports: list[ImportRecord] = []
    report_computed_at: AwareDatetime | None = None

    @classmethod
    def open(cls, diagnostic_id: str, *, buyer_id: str, at: datetime) -> Diagnostic:
        if not isinstance(buyer_id, str) or not buyer_id.strip():
            raise InvalidInput("buyer_id", "buyer_id is required")
        _aware(at)
        diagnostic = cls(id=diagnostic_id, buyer_id=buyer_id, status=DiagnosticStatus.OPEN, opened_at=at)
        diagnostic.record(DiagnosticOpened(diagnostic_id=diagnostic_id, buyer_id=buyer_id, opened_at=at))
        return diagnostic

    # -- imports --------------------------------------------------------------------------------------
    def import_record(self, import_id: str) -> ImportRecord | None:
        return next((i for i in self.imports if i.import_id == import_id), None)

    @property
    def completed_import_ids(self) -> list[str]:
        return [i.import_id for i in self.imports if i.state is ImportState.COMPLETED]

    @property
    def running_import_ids(self) -> list[str]:
        return [i.import_id for i in self.imports if i.state is ImportState.RUNNING]

    def start_import(self, import_id: str, *, file_sha256: str, file_format: str, lines: int,
                     at: datetime) -> ImportRecord:
        self._expect_open("import a spend file")
        same = next((i for i in self.imports if i.file_sha256 == file_sha256 and i.state is not ImportState.FAILED),
                    None)
        if same is not None:
            raise Conflict(f"this file (SHA-256 {file_sha256[:12]}…) was already imported into diagnostic "
                           f"{self.id} (import {same.import_id}, {same.state.value}); importing it again would "
                           f"count its spend twice", import_id=same.import_id, state=same.state.value)
        if len(self.imports) >= MAX_IMPORTS:
            raise Conflict(f"diagnostic {self.id} has {MAX_IMPORTS} imports already (the limit); open another")
        at = self._at(at)
        record = ImportRecord(import_id=import_id, file_sha256=file_sha256, file_format=file_format,
                              state=ImportState.RUNNING, started_at=at)
        self.imports = [*self.imports, record]
        self.record(SpendImportStarted(diagnostic_id=self.id, import_id=import_id, file_sha256=file_sha256,
                                       file_format=file_format, lines=lines, started_at=at))
        return record

    def complete_import(self, import_id: str, figures: ImportFigures, *, at: datetime) -> None:
        record = self._running(import_id, "complete")
        at = max(self._at(at), record.started_at)
        self._replace(record.model_copy(update={"state": ImportState.COMPLETED, "finished_at": at,
                                                "lines_imported": figures.lines_imported,
                                                "total_spend_cents": figures.total_spend_cents}))
        self.record(SpendFileImported(diagnostic_id=self.id, import_id=import_id, file_sha256=record.file_sha256,
                                      imported_at=at, **figures.model_dump()))

    def fail_import(self, import_id: str, reason: str, *, lines_read: int, at: datetime) -> None:
        record = self._running(import_id, "fail")
        at = max(self._at(at), record.started_at)
        self._replace(record.model_copy(update={"state": ImportState.FAILED, "finished_at": at}))
        self.record(SpendImportFailed(diagnostic_id=self.id, import_id=import_id, file_sha256=record.file_sha256,
                                      reason=reason[:300], lines_read=lines_read, failed_at=at))

    # -- the report -------------------------------------------------------------------------------------
    def record_report(self, summary: ReportSummary, *, at: datetime) -> None:
        at = self._at(at)
        self.report_computed_at = at
        self.record(DiagnosticReportComputed(diagnostic_id=self.id, buyer_id=self.buyer_id, computed_at=at,
                                             **summary.model_dump()))

    # -- closing ------------------------------------------------------------------------------------------
    def close(self, *, at: datetime) -> None:
        self._expect_open("close it")
        if self.running_import_ids:
            raise Conflict(f"diagnostic {self.id} has an import running ({', '.join(self.running_import_ids)}); "
                           f"close it once the import has completed or failed", state="importing")
        at = self._at(at)
        self.status, self.closed_at = DiagnosticStatus.CLOSED, at
        self.record(DiagnosticClosed(diagnostic_id=self.id, closed_at=at))

    # -- helpers --------------------------------------------------------------------------------------------
    def _expect_open(self, action: str) -> None:
        if self.status is not DiagnosticStatus.OPEN:
            raise Conflict(f"diagnostic {self.id} is {self.status.value}: cannot {action}", state=self.status.value)

    def _running(self, import_id: str, action: str) -> ImportRecord:
        record = self.import_record(import_id)
        if record is None:
            raise Conflict(f"diagnostic {self.id} has no import {import_id}")
        if record.state is not ImportState.RUNNING:
            raise Conflict(f"import {import_id} is {record.state.value}: cannot {action} it", state=record.state.value)
        return record

    def _replace(self, record: ImportRecord) -> None:
        self.imports = [record if i.import_id == record.import_id else i for i in self.imports]

    def _at(self, at: datetime) -> datetime:
        _aware(at)
        return max(at, self.opened_at)


def _aware(at: datetime) -> None:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput("at", "a timezone-aware instant is required")
