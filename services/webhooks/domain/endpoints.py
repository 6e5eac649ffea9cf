"""A partner's webhook endpoint, pure: its settings, its signing secrets, enabled or not.

Rules (each refusal an :class:`InvalidInput` naming the field, or a :class:`Conflict` naming the
state):

- ``url``: https (http only for a host the configuration allows), no credentials, not an address
  literal of a private / loopback / link-local… network (:mod:`.addresses`; names are resolved
  and checked by the service layer);
- ``event_types``: at least one filter, each matching an event type the platform sends
  (:mod:`.filters`);
- ``headers``: at most 20, names of token characters, values without control characters; no
  hop-by-hop header, none the platform sets itself (``host``, ``content-type``, ``content-length``,
  ``user-agent``) and no ``webhook-*``;
- ``rate_limit_per_second``: 1 to 10,000, or none;
- the secrets: the newest signs; after a rotation the previous one also signs until its
  ``expires_at`` (the grace period), then it is dropped.

Each state change records one event (:mod:`contracts.webhooks`); time is passed in.
"""
from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator

from contracts.webhooks import (DisabledReason, EndpointCreated, EndpointDeleted, EndpointDisabled, EndpointEnabled,
                                EndpointSecretRotated, EndpointUpdated)
from runtime.aggregate import Aggregate
from runtime.errors import Conflict, InvalidInput
from runtime.rules import identifier, optional_text
from services.webhooks.domain.addresses import AllowList, endpoint_url
from services.webhooks.domain.filters import event_type_filters
from services.webhooks.domain.signing import PREFIX, new_secret, signing_secret

MAX_HEADERS = 20
MAX_RATE = 10_000
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}")
#: Headers a partner cannot set: hop-by-hop (RFC 9110 §7.6.1) and those the platform sets itself.
REFUSED_HEADERS = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer",
    "trailers", "transfer-encoding", "upgrade", "host", "content-length", "content-type", "content-encoding",
    "user-agent", "expect",
})


@dataclass(frozen=True)
class EndpointRules:
    """What the configuration decides: the event types the platform sends, the hosts allowed
    despite the address rules, the secrets' grace period."""

    event_types: Collection[str]
    allow: AllowList = AllowList()
    secret_grace: timedelta = timedelta(hours=24)


class SigningSecret(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    created_at: AwareDatetime
    expires_at: AwareDatetime | None = None  # set when a newer secret replaced it

    @field_validator("key")
    @classmethod
    def _clear(cls, key: str) -> str:
        # stored encrypted (the adapters open it): a key read without opening it must not sign in silence
        if not key.startswith(PREFIX):
            raise ValueError(f"a signing secret starts with {PREFIX} (an encrypted one is opened first)")
        return key


def _aware(at: datetime) -> datetime:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput("at", f"at must be a timezone-aware date and time (got {at!r})")
    return at


def custom_headers(value: object, field: str = "headers") -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(field, f"{field} must be an object of header names to values")
    if len(value) > MAX_HEADERS:
        raise InvalidInput(field, f"{field} has {len(value)} entries; at most {MAX_HEADERS}")
    out: dict[str, str] = {}
    seen: set[str] = set()
    for name, val in value.items():
        where = f"{field}.{name}"
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise InvalidInput(where, f"{name!r} is not a valid header name")
        low = name.lower()
        if low in REFUSED_HEADERS or low.startswith("webhook-"):
            raise InvalidInput(where, f"the header {name!r} cannot be set: hop-by-hop, set by the platform, or "
                                      "a webhook-* header")
        if low in seen:
            raise InvalidInput(where, f"the header {name!r} is given twice")
        if not isinstance(val, str) or len(val) > 1000 or any(ord(c) < 32 and c != "\t" or ord(c) == 127
                                                               for c in val):
            raise InvalidInput(where, f"the value of {name!r} must be text of at most 1000 characters without "
                                      "control characters")
        seen.add(low)
        out[name] = val
    return out


def rate_limit(value: object, field: str = "rate_limit_per_second") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_RATE:
        raise InvalidInput(field, f"{field} must be a whole number from 1 to {MAX_RATE}, or null (got {value!r})")
    return value


class Endpoint(Aggregate):
    """A partner's endpoint. ``secrets``: newest first; never shown but to its partner."""

    partner_id: str
    url: str
    event_types: list[str]
    description: str | None = None
    headers: dict[str, str] = {}
    rate_limit_per_second: int | None = None
    enabled: bool = True
    disabled_reason: DisabledReason | None = None
    disabled_at: AwareDatetime | None = None
    secrets: list[SigningSecret]
    created_at: AwareDatetime
    updated_at: AwareDatetime
    deleted_at: AwareDatetime | None = None

    # -- creation and settings ----------------------------------------------------------------------
    @classmethod
    def create(cls, endpoint_id: str, *, partner_id: object, url: object, event_types: object, rules: EndpointRules,
               at: datetime, description: object = None, headers: object = None, rate_limit_per_second: object = None,
               enabled: object = True, secret: object = None) -> Endpoint:
        at = _aware(at)
        if not isinstance(enabled, bool):
            raise InvalidInput("enabled", "enabled must be true or false")
        endpoint = cls(
            id=endpoint_id, partner_id=identifier(partner_id, "partner_id"),
            url=endpoint_url(url, rules.allow).url,
            event_types=event_type_filters(event_types, rules.event_types),
            description=optional_text(description, "description", max_length=500),
            headers=custom_headers(headers), rate_limit_per_second=rate_limit(rate_limit_per_second),
            enabled=enabled, disabled_reason=None if enabled else DisabledReason.BY_PARTNER,
            disabled_at=None if enabled else at,
            secrets=[SigningSecret(key=new_secret() if secret is None else signing_secret(secret), created_at=at)],
            created_at=at, updated_at=at)
        endpoint.record(EndpointCreated(endpoint_id=endpoint.id, partner_id=endpoint.partner_id,
                                        event_types=endpoint.event_types, enabled=enabled,
                                        rate_limit_per_second=endpoint.rate_limit_per_second, created_at=at))
        return endpoint

    def _live(self) -> None:
        if self.deleted_at is not None:
            raise Conflict(f"endpoint {self.id} was deleted", current_state="deleted")

    def update(self, *, at: datetime, rules: EndpointRules, **changes: object) -> list[str]:
        """Change some settings (``url``, ``event_types``, ``description``, ``headers``,
        ``rate_limit_per_second``); return the names of those that changed (none: no event)."""
        at = _aware(at)
        self._live()
        checks = {"url": lambda v: endpoint_url(v, rules.allow).url,
                  "event_types": lambda v: event_type_filters(v, rules.event_types),
                  "description": lambda v: optional_text(v, "description", max_length=500),
                  "headers": custom_headers, "rate_limit_per_second": rate_limit}
        unknown = set(changes) - set(checks)
        if unknown:
            raise InvalidInput(sorted(unknown)[0], f"{sorted(unknown)[0]} cannot be changed here")
        new = {name: checks[name](value) for name, value in changes.items()}
        changed = [name for name, value in new.items() if getattr(self, name) != value]
        if not changed:
            return []
        for name in changed:
            setattr(self, name, new[name])
        self.updated_at = at
        self.record(EndpointUpdated(endpoint_id=self.id, partner_id=self.partner_id, changed=changed,
                                    event_types=self.event_types, updated_at=at))
        return changed

    # -- enabled or not --------------------------------------------------------------------------------
    def disable(self, *, reason: DisabledReason, at: datetime, failing_since: datetime | None = None) -> None:
        at = _aware(at)
        self._live()
        if not self.enabled:
            raise Conflict(f"endpoint {self.id} is already disabled ({self.disabled_reason})",
                           current_state="disabled", expected="enable it first")
        self.enabled, self.disabled_reason, self.disabled_at, self.updated_at = False, reason, at, at
        self.record(EndpointDisabled(endpoint_id=self.id, partner_id=self.partner_id, reason=reason,
                                     failing_since=failing_since if reason is DisabledReason.FAILING else None,
                                     disabled_at=at))

    def enable(self, *, at: datetime) -> None:
        at = _aware(at)
        self._live()
        if self.enabled:
            raise Conflict(f"endpoint {self.id} is already enabled", current_state="enabled")
        self.enabled, self.disabled_reason, self.disabled_at, self.updated_at = True, None, None, at
        self.record(EndpointEnabled(endpoint_id=self.id, partner_id=self.partner_id, enabled_at=at))

    def delete(self, *, at: datetime) -> None:
        at = _aware(at)
        self._live()
        self.enabled, self.deleted_at, self.updated_at = False, at, at
        self.record(EndpointDeleted(endpoint_id=self.id, partner_id=self.partner_id, deleted_at=at))

    # -- secrets ------------------------------------------------------------------------------------------
    def rotate_secret(self, *, at: datetime, grace: timedelta, secret: object = None) -> str:
        """A new secret signs from now; the current one also signs until ``at + grace``; older ones that
        expired are dropped. Return the new secret."""
        at = _aware(at)
        self._live()
        key = new_secret() if secret is None else signing_secret(secret)
        if any(s.key == key for s in self.secrets):
            raise InvalidInput("secret", "secret must differ from the secrets in force")
        until = at + grace
        previous = [s if s.expires_at is not None else s.model_copy(update={"expires_at": until})
                    for s in self.secrets if s.expires_at is None or s.expires_at > at]
        self.secrets = [SigningSecret(key=key, created_at=at), *previous]
        self.updated_at = at
        self.record(EndpointSecretRotated(endpoint_id=self.id, partner_id=self.partner_id, rotated_at=at,
                                          previous_valid_until=until))
        return key

    def signing_keys(self, at: datetime) -> list[str]:
        """The secrets that sign a message sent at ``at``, newest first."""
        return [s.key for s in self.secrets if s.expires_at is None or s.expires_at > at]
