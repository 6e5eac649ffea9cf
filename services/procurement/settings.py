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
