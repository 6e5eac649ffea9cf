"""The events service's own settings (prefix ``EVENTS_``)."""
from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class EventsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVENTS_", extra="ignore", frozen=True)

    offer_sweep_seconds: float = Field(30.0, gt=0, description="How often expired waiting-list offers are passed on.")
    survey_sweep_seconds: float = Field(60.0, gt=0, description="How often surveys past their closing time are "
                                                                "recorded as closed.")
