"""Events of purchase diagnostics (topic ``procurement.diagnostic``, key ``diagnostic_id``).

A diagnostic is opened for a buyer; the buyer's spend files are imported into it (each import
starts, then completes or fails: its lines count only once it completed); the report is computed
again after each completed import; the diagnostic is closed when the team has presented it. The
observatory counts "purchase diagnostics run" from ``diagnostic-opened`` and
``diagnostic-report-computed``.

Events stay small: figures of a whole file or report, never a line of it. Supplier SIRETs
(legal entities) stay in the service.
"""
from __future__ import annotations

from pydantic import AwareDatetime, Field

from contracts.base import DomainEvent

__all__ = ["DiagnosticOpened", "SpendImportStarted", "SpendFileImported", "SpendImportFailed",
           "DiagnosticReportComputed", "DiagnosticClosed"]


class DiagnosticOpened(DomainEvent, event_type="org.cress.procurement.diagnostic-opened.v1",
                       aggregate_type="diagnostic", aggregate_id_field="diagnostic_id"):
    """A purchase diagnostic was opened for a buyer (its spend files are imported next)."""

    diagnostic_id: str = Field(description="Id of the diagnostic.", examples=["diag-7b1e22"])
    buyer_id: str = Field(description="The buyer whose spend is analysed.", examples=["buy-81d2e0"])
    opened_at: AwareDatetime = Field(description="When the diagnostic was opened.",
                                     examples=["2024-06-10T10:00:00+02:00"])


class SpendImportStarted(DomainEvent, event_type="org.cress.procurement.spend-import-started.v1",
                         aggregate_type="diagnostic", aggregate_id_field="diagnostic_id"):
    """A spend file was accepted for import (its lines are checked and stored next; they count once
    ``spend-file-imported`` says the import completed)."""

    diagnostic_id: str = Field(description="Id of the diagnostic.", examples=["diag-7b1e22"])
    import_id: str = Field(description="Id of the import.", examples=["imp-3c9d01"])
    file_sha256: str = Field(description="SHA-256 of the file's bytes (hex).",
                             examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"])
    file_format: str = Field(description="csv, xlsx, xls or ods.", examples=["csv"])
    lines: int = Field(description="Data lines in the file (blank lines left out).", examples=[12500])
    started_at: AwareDatetime = Field(description="When the import was accepted.",
                                      examples=["2024-06-10T10:05:00+02:00"])


class SpendFileImported(DomainEvent, event_type="org.cress.procurement.spend-file-imported.v1",
                        aggregate_type="diagnostic", aggregate_id_field="diagnostic_id"):
    """An import completed: its good lines now count in the diagnostic, its bad lines are reported."""

    diagnostic_id: str = Field(description="Id of the diagnostic.", examples=["diag-7b1e22"])
    import_id: str = Field(description="Id of the import.", examples=["imp-3c9d01"])
    file_sha256: str = Field(description="SHA-256 of the file's bytes (hex).",
                             examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"])
    lines_read: int = Field(description="Data lines read.", examples=[12500])
    lines_imported: int = Field(description="Good lines imported.", examples=[12377])
    lines_rejected: int = Field(description="Bad lines rejected (see the import's line report).", examples=[123])
    total_spend_cents: int = Field(description="Sum of the imported lines' amounts, in euro cents.",
                                   examples=[1_254_300_000])
    years: list[int] = Field(description="The years the imported lines are dated in.", examples=[[2022, 2023]])
    imported_at: AwareDatetime = Field(description="When the import completed.",
                                       examples=["2024-06-10T10:05:09+02:00"])


class SpendImportFailed(DomainEvent, event_type="org.cress.procurement.spend-import-failed.v1",
                        aggregate_type="diagnostic", aggregate_id_field="diagnostic_id"):
    """An import stopped before completing (its process died, or the database failed): none of
    its lines count; the same file can be imported again."""

    diagnostic_id: str = Field(description="Id of the diagnostic.", examples=["diag-7b1e22"])
    import_id: str = Field(description="Id of the import.", examples=["imp-3c9d01"])
    file_sha256: str = Field(description="SHA-256 of the file's bytes (hex).",
                             examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"])
    reason: str = Field(description="Why, in a sentence (no line of the file).",
                        examples=["abandoned: the process running it stopped"])
    lines_read: int = Field(description="Data lines read before it stopped.", examples=[4000])
    failed_at: AwareDatetime = Field(description="When the import was recorded as failed.",
                                     examples=["2024-06-10T10:07:00+02:00"])


class DiagnosticReportComputed(DomainEvent, event_type="org.cress.procurement.diagnostic-report-computed.v1",
                               aggregate_type="diagnostic", aggregate_id_field="diagnostic_id"):
    """The diagnostic's report was computed from its completed imports (summary figures only)."""

    diagnostic_id: str = Field(description="Id of the diagnostic.", examples=["diag-7b1e22"])
    buyer_id: str = Field(description="The buyer.", examples=["buy-81d2e0"])
    imports: int = Field(description="Completed imports counted.", examples=[2])
    total_spend_cents: int = Field(description="Spend analysed, in euro cents.", examples=[1_254_300_000])
    ess_spend_cents: int = Field(description="Of which with ESS organisations, in euro cents.",
                                 examples=[96_580_000])
    ess_share_percent: float = Field(description="ESS spend ÷ spend, in percent (2 decimals).", examples=[7.7])
    categories: int = Field(description="Distinct spend categories.", examples=[18])
    suppliers: int = Field(description="Distinct supplier SIRETs.", examples=[1480])
    ess_suppliers: int = Field(description="Of which ESS organisations.", examples=[41])
    years: list[int] = Field(description="Years covered.", examples=[[2022, 2023]])
    computed_at: AwareDatetime = Field(description="When the report was computed.",
                                       examples=["2024-06-10T10:05:10+02:00"])


class DiagnosticClosed(DomainEvent, event_type="org.cress.procurement.diagnostic-closed.v1",
                       aggregate_type="diagnostic", aggregate_id_field="diagnostic_id"):
    """The diagnostic was closed: no more imports; its report stays readable."""

    diagnostic_id: str = Field(description="Id of the diagnostic.", examples=["diag-7b1e22"])
    closed_at: AwareDatetime = Field(description="When the diagnostic was closed.",
                                     examples=["2024-07-01T16:00:00+02:00"])
