"""Settings of a service, read from environment variables (no prefix), one class for all.

The names are the variables: ``KAFKA_BOOTSTRAP_SERVERS``, ``MONGODB_URI``, ``JWT_SECRET``…
``deploy/`` and ``docker-compose.yml`` set exactly these (``tests/contract/test_deploy.py``).
"""
from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "dev-only-secret-change-me-0123456789abcdef"  # noqa: S105 (development default)
MIN_SECRET_BYTES = 32
DEV_PRIVACY_KEY = "dev-only-privacy-key-change-me-0123456789"  # noqa: S105 (development default)
#: A Fernet key (32 bytes, url-safe base64) everybody can read: development only (runtime.sealing).
DEV_SECRETS_KEY = "ZGV2LW9ubHktc2VjcmV0cy1rZXktY2hhbmdlLW1lLTA="  # noqa: S105 (development default)


class Settings(BaseSettings):
    # hide_input_in_errors: a refused JWT_SECRET is not echoed into the logs.
    model_config = SettingsConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

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
    kafka_group_instance: str | None = Field(
        None, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:@-]+$",
        description="A name for this process that stays the same across its restarts and differs from every other "
                    "running instance of the service (e.g. membership-1): its consumers then join their groups as "
                    "static members (Kafka's group.instance.id, KIP-345), and a process restarted after a crash "
                    "takes its partitions back at once instead of waiting for the dead one's session to expire. "
                    "Two running processes with one name fence each other. Unset: dynamic membership.")
    kafka_session_timeout_ms: int = Field(
        10_000, ge=6_000, le=300_000,
        description="How long a consumer group waits for a silent member (a dead process) before handing its "
                    "partitions to the others (Kafka's session.timeout.ms, within the brokers' 6 s–5 min).")

    mongodb_uri: str = Field("mongodb://127.0.0.1:27017/?directConnection=true")
    mongodb_database: str | None = Field(None, description="Defaults to the service name.")

    environment: Literal["development", "production"] = Field(
        "development", description="`production` refuses a development secret (JWT_SECRET) at start.")
    auth_mode: Literal["dev", "oidc"] = Field(
        "dev", description="How bearer tokens are verified: `dev`, HS256 with JWT_SECRET (make token, the "
                           "tests); `oidc`, RS256/ES256 tokens of the identity provider OIDC_ISSUER.")
    # JWT_SECRET also keys the platform's signed links and badges (runtime.signing), in either mode.
    jwt_secret: str = Field(DEV_JWT_SECRET)
    jwt_algorithm: str = Field("HS256")
    jwt_issuer: str = Field("cress-platform")
    jwt_audience: str = Field("cress-api")
    jwt_leeway_seconds: float = Field(30, ge=0, le=600, description="Clock skew tolerated on exp/nbf/iat.")

    oidc_issuer: str | None = Field(None, description="The identity provider (its discovery document is "
                                                      "<issuer>/.well-known/openid-configuration).")
    oidc_audience: str | None = Field(None, description="The `aud` the identity provider puts in tokens for "
                                                        "the platform (its client id or API identifier).")
    oidc_roles_claim: str = Field("roles", min_length=1, description="The claim holding the platform roles "
                                  "(admin, staff:<team>, partner, reader); a dotted path reaches a nested one, "
                                  "e.g. `realm_access.roles`.")
    oidc_jwks_refresh_seconds: float = Field(300, gt=0, description="Keys older than this are fetched again "
                                                                    "when next needed.")
    oidc_jwks_max_age_seconds: float = Field(86_400, gt=0, description="While the identity provider cannot be "
                                             "reached, cached keys keep verifying tokens up to this age.")
    oidc_jwks_cooldown_seconds: float = Field(30, ge=0, description="At most one fetch of the keys per this "
                                              "period for unknown key ids or after a failed fetch.")
    oidc_http_timeout_seconds: float = Field(5, gt=0, le=60)

    partner_rate_per_second: float = Field(10, gt=0, description="Requests a second a partner-facing route "
                                           "grants one principal (`sub`), on average (a token bucket).")
    partner_rate_burst: int = Field(50, ge=1, description="Requests a principal may send at once.")
    rate_limit_staff: bool = Field(False, description="Also limit admin and staff on partner-facing routes.")
    rate_limit_timeout_seconds: float = Field(
        0.5, gt=0, le=10, description="How long a request waits for its bucket in the service's database (shared "
                                      "by every instance); past it, each instance limits on its own for a second.")

    privacy_key: str = Field(
        DEV_PRIVACY_KEY, min_length=32,
        description="Key of the subject references of personal-data requests (HMAC of an e-mail, "
                    "contracts.privacy): the same in every service, kept secret, never changed while a request "
                    "is under way.")

    idempotency_key_ttl_seconds: int = Field(
        86_400, ge=60, le=30 * 86_400, description="How long the answer of a request sent with an "
        "Idempotency-Key is kept for its retries (runtime.idempotency); 24 h by default.")
    secrets_key: str = Field(
        DEV_SECRETS_KEY,
        description="Keys of the secrets kept encrypted at rest (partners' webhook signing secrets; "
                    "runtime.sealing): Fernet keys, comma-separated, newest first — the first encrypts, every one "
                    "decrypts (rotation: put a new key first, restart, then drop the old one). "
                    "`python -m runtime.sealing new-key` prints one.")

    log_level: str = Field("INFO")
    log_format: str = Field("json", pattern="^(json|console)$")

    outbox_poll_interval_seconds: float = Field(0.2, gt=0)
    outbox_batch_size: int = Field(500, ge=1)
    outbox_lease_seconds: float = Field(
        10.0, gt=0, description="The relay's lease (one relay per service publishes at a time, whatever the number "
                                "of instances): renewed by its holder; when the holder dies another instance takes "
                                "over once it expires (at once if the holder was a process of the same machine).")
    outbox_coalesce_seconds: float = Field(
        0.05, ge=0, description="Shortest period between the starts of two relay rounds, so that commits "
                                "accumulate: fewer, larger rounds on the database, for at most this much "
                                "extra publication latency.")
    consumer_max_attempts: int = Field(5, ge=1, description="Attempts before a message goes to the dead-letter topic.")
    consumer_retry_base_seconds: float = Field(0.2, ge=0)
    consumer_batch_size: int = Field(500, ge=1)

    @field_validator("jwt_secret")
    @classmethod
    def _long_secret(cls, secret: str) -> str:
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"JWT_SECRET (jwt_secret) is shorter than {MIN_SECRET_BYTES} bytes; it keys the "
                             f"development tokens and the platform's signed links: openssl rand -hex 32")
        return secret

    @field_validator("secrets_key")
    @classmethod
    def _fernet_keys(cls, value: str) -> str:
        from runtime.sealing import parse_keys

        parse_keys(value)  # SecretsKeyError (a ValueError) names the bad key by position, never its value
        return value

    @model_validator(mode="after")
    def _safe_authentication(self) -> Settings:
        if self.environment == "production" and self.jwt_secret == DEV_JWT_SECRET:
            raise ValueError("ENVIRONMENT=production: JWT_SECRET is the development default; set a random "
                             f"secret of at least {MIN_SECRET_BYTES} bytes (openssl rand -hex 32)")
        if self.environment == "production" and self.privacy_key == DEV_PRIVACY_KEY:
            raise ValueError("ENVIRONMENT=production: PRIVACY_KEY is the development default; set a random key "
                             "of at least 32 characters, the same in every service (openssl rand -hex 32)")
        if self.environment == "production" and DEV_SECRETS_KEY in [k.strip() for k in self.secrets_key.split(",")]:
            raise ValueError("ENVIRONMENT=production: SECRETS_KEY holds the development key; set your own "
                             "(python -m runtime.sealing new-key)")
        if self.auth_mode == "oidc":
            missing = [name for name, value in (("OIDC_ISSUER", self.oidc_issuer),
                                                ("OIDC_AUDIENCE", self.oidc_audience)) if not value]
            if missing:
                raise ValueError(f"AUTH_MODE=oidc needs {' and '.join(missing)}")
            scheme = self.oidc_issuer.split("://", 1)[0].lower() if "://" in self.oidc_issuer else ""
            if scheme not in ("http", "https"):
                raise ValueError(f"OIDC_ISSUER must be an http(s) URL, not {self.oidc_issuer!r}")
            if self.environment == "production" and scheme != "https":
                raise ValueError("ENVIRONMENT=production: OIDC_ISSUER must be an https URL")
        return self

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
