"""The procurement service's own settings (prefix ``PROCUREMENT_``)."""
from __future__ import annotations

from decimal import Decimal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ProcurementSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROCUREMENT_", extra="ignore", frozen=True)

    # -- Prom'ESS Europe quotes --
    vat_percent: Decimal = Field(Decimal("20"), ge=0, le=100, decimal_places=2,
                                 description="VAT rate on quotes, in percent (at most two decimals).")
    quote_validity_days: int = Field(30, ge=1, le=365, description="How long a sent quote may be accepted, in days.")
    quote_sweep_seconds: float = Field(3600.0, gt=0, description="How often sent quotes past their validity are "
                                                                 "recorded as expired.")
    # -- purchase diagnostics ----------------------------------------------------------------------
    diagnostic_max_upload_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="Largest spend file the API accepts (the request body of an upload; "
                                               "larger: 413). The CLI has no such limit.")
    diagnostic_max_lines: int = Field(100_000, ge=1, description="Most data lines of a spend file (more: 422 naming "
                                                                 "the limit).")
    diagnostic_chunk_lines: int = Field(1000, ge=10, le=10_000, description="Lines checked and stored together (one "
                                                                            "stored document per chunk).")
    diagnostic_reaper_seconds: float = Field(30.0, gt=0, description="How often imports whose process stopped are "
                                                                     "marked failed.")
    diagnostic_stale_import_seconds: float = Field(60.0, gt=0, description="An import without a heartbeat for this "
                                                                           "long is failed by the reaper.")
    # -- buyers' needs and their dispatch --------------------------------------------------------
    need_dispatch_batch_size: int = Field(250, ge=1, le=5000, description="Suppliers notified per batch (one "
                                                                          "transaction each).")
    need_dispatch_cap: int = Field(5000, ge=1, le=1_000_000, description="At most this many suppliers are "
                                                                         "notified of one need.")
    need_dispatch_sweep_seconds: float = Field(1.0, gt=0, description="How often dispatches waiting to run (new, "
                                                                      "or left by a crashed process) are run.")
    need_dispatch_lease_seconds: float = Field(30.0, gt=0, description="A dispatch whose process gave no sign of "
                                                                       "life for this long is taken over.")
    need_reminder_sweep_seconds: float = Field(900.0, gt=0, description="How often needs past their deadline are "
                                                                        "closed and due reminders recorded.")
    need_reminder_first_after_hours: float = Field(48.0, ge=0, description="First reminder, this long after the "
                                                                           "notification.")
    need_reminder_interval_hours: float = Field(72.0, ge=0, description="Between two reminders of one supplier.")
    need_reminder_max: int = Field(2, ge=0, le=20, description="At most this many reminders per supplier and need.")
    need_impact_delay_days: float = Field(7.0, ge=0, description="The impact survey opens this long after the "
                                                                 "need's deadline.")
    need_impact_sweep_seconds: float = Field(3600.0, gt=0, description="How often due impact surveys are opened.")
