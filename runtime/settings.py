"""Settings of a service, read from environment variables (no prefix), one class for all.

The names are the variables: ``KAFKA_BOOTSTRAP_SERVERS``, ``MONGODB_URI``, ``JWT_SECRET``…
``deploy/`` and ``docker-compose.yml`` set exactly these (``tests/contract/test_deploy.py``).
"""
from __future__ import annotations

from functools import cached_property

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "dev-only-secret-change-me-0123456789abcdef"  # noqa: S105 (development default)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str = Field("membership", description="Which service this process runs.")
    http_port: int = Field(8001, ge=1, le=65535)
    http_max_body_bytes: int = Field(1_048_576, ge=1024, description="Larger request bodies get 413.")

    kafka_bootstrap_servers: str = Field("127.0.0.1:9092")
    kafka_idempotent_producer: bool = Field(
        True, description="Idempotent producer (exactly-once per partition). Tansu does not support it.")
    kafka_replication_factor: int = Field(1, ge=1, description="Replication factor of the topics created.")
    kafka_min_insync_replicas: int | None = Field(
        None, ge=1, description="min.insync.replicas of the topics created (with acks=all, a write needs that many "
                                "replicas); unset: the brokers' default. At most the replication factor.")

    mongodb_uri: str = Field("mongodb://127.0.0.1:27017/?directConnection=true")
    mongodb_database: str | None = Field(None, description="Defaults to the service name.")

    jwt_secret: str = Field(DEV_JWT_SECRET, min_length=32)
    jwt_algorithm: str = Field("HS256")
    jwt_issuer: str = Field("cress-platform")
    jwt_audience: str = Field("cress-api")

    log_level: str = Field("INFO")
    log_format: str = Field("json", pattern="^(json|console)$")

    outbox_poll_interval_seconds: float = Field(0.2, gt=0)
    outbox_batch_size: int = Field(500, ge=1)
    outbox_coalesce_seconds: float = Field(
        0.05, ge=0, description="Shortest period between the starts of two relay rounds, so that commits "
                                "accumulate: fewer, larger rounds on the database, for at most this much "
                                "extra publication latency.")
    consumer_max_attempts: int = Field(5, ge=1, description="Attempts before a message goes to the dead-letter topic.")
    consumer_retry_base_seconds: float = Field(0.2, ge=0)
    consumer_batch_size: int = Field(500, ge=1)

    @model_validator(mode="after")
    def _min_insync_at_most_replicas(self) -> Settings:
        if self.kafka_min_insync_replicas is not None and self.kafka_min_insync_replicas > self.kafka_replication_factor:
            raise ValueError(f"KAFKA_MIN_INSYNC_REPLICAS ({self.kafka_min_insync_replicas}) exceeds "
                             f"KAFKA_REPLICATION_FACTOR ({self.kafka_replication_factor}): no write could succeed")
        return self

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if self.mongodb_database is None:
            object.__setattr__(self, "mongodb_database", self.service_name)
        return self

    @cached_property
    def source(self) -> str:
        """The CloudEvents ``source`` of the events this service publishes."""
        return f"/cress/{self.service_name}"
