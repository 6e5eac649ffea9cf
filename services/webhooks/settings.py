"""The webhooks service's own settings (environment variables with the prefix ``WEBHOOKS_``).

Read when the service starts (:func:`services.webhooks.bootstrap._commands`), so a test sets the
variables before it starts the service (the tests shorten the retry schedule and allow their
local receivers). Lists are JSON: ``WEBHOOKS_RETRY_SCHEDULE_SECONDS='[0, 0.2, 0.5]'``,
``WEBHOOKS_ALLOW_HOSTS='["127.0.0.1/32", "receiver.internal"]'``.
"""
from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DAY = 86_400.0


class WebhooksSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WEBHOOKS_", extra="ignore", frozen=True)

    # -- retries -----------------------------------------------------------------------------------
    retry_schedule_seconds: list[float] = Field(
        [0, 5, 300, 1800, 7200, 18000, 36000, 36000], min_length=1, max_length=50,
        description="Delay before each attempt of a message: the first (0: at once), then after each failure. "
                    "After the last attempt fails the message is `failed`. Default: immediately, 5 s, 5 min, "
                    "30 min, 2 h, 5 h, 10 h, 10 h (Svix's schedule).")
    retry_jitter: float = Field(0.2, ge=0, le=0.5, description="Each delay is drawn in ±this fraction of itself.")
    retry_after_cap_seconds: float = Field(
        3600.0, ge=0, description="A receiver's Retry-After (429, 503) is honoured up to this long.")
    disable_after_failing_seconds: float = Field(
        5 * DAY, gt=0, description="An endpoint whose every attempt failed for this long is disabled.")
    # -- one delivery ---------------------------------------------------------------------------------
    request_timeout_seconds: float = Field(15.0, gt=0, le=300, description="Whole request, connection to last "
                                                                           "byte read.")
    response_excerpt_bytes: int = Field(4096, ge=0, le=65_536, description="Start of the response body kept in "
                                                                            "the attempts log.")
    response_max_bytes: int = Field(65_536, ge=1024, description="Reading stops beyond this: the attempt fails as "
                                                                 "`too_large`.")
    # -- the worker -----------------------------------------------------------------------------------
    max_concurrency: int = Field(128, ge=1, le=10_000, description="Deliveries in flight at once, all endpoints.")
    per_endpoint_concurrency: int = Field(8, ge=1, le=100, description="Deliveries in flight at once to one "
                                                                       "endpoint: a hanging endpoint holds at "
                                                                       "most this many of the pool.")
    fetch_batch: int = Field(500, ge=1, le=10_000, description="Due messages of one endpoint fetched in one query "
                                                             "(kept in memory until their slot is free).")
    record_batch_size: int = Field(250, ge=1, le=10_000, description="Attempts written in one transaction at most.")
    record_linger_seconds: float = Field(0.05, ge=0, le=5, description="An attempt waits at most this long for "
                                                                      "others to be written with it.")
    poll_interval_seconds: float = Field(0.25, gt=0, le=60, description="How often due messages are looked for "
                                                                        "(new events wake the worker at once).")
    lease_seconds: float = Field(15.0, ge=1, description="The delivering process renews its lease within this; "
                                                          "another takes over once it lapses.")
    # -- endpoints -------------------------------------------------------------------------------------
    secret_grace_seconds: float = Field(DAY, ge=0, description="After a rotation, the previous secret also "
                                                                "signs for this long.")
    max_endpoints_per_partner: int = Field(20, ge=1, le=1000)
    allow_hosts: list[str] = Field(
        [], description="Hosts (names) or networks (CIDR) exempt from the HTTPS requirement and from the refusal "
                        "of private, loopback and link-local addresses: the tests' own receivers, an internal "
                        "partner. Empty in production.")
    # -- retention ------------------------------------------------------------------------------------
    retention_days: int = Field(30, ge=1, le=3650, description="Attempts and finished messages are kept this long.")

    @field_validator("retry_schedule_seconds")
    @classmethod
    def _non_negative(cls, value: list[float]) -> list[float]:
        if any(d < 0 for d in value):
            raise ValueError("retry delays cannot be negative")
        return value
