"""The procurement service's own settings (prefix ``PROCUREMENT_``)."""
from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class ProcurementSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROCUREMENT_", extra="ignore", frozen=True)
