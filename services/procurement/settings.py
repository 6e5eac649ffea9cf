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
