"""Standard Webhooks signatures (https://www.standardwebhooks.com), made with the ``standardwebhooks``
library: ``webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``, one
signature per secret in force, separated by spaces (the previous secret signs too during the
grace period after a rotation: receivers accept a message if any signature matches).

Secrets are ``whsec_`` followed by the base64 of 24 to 64 random bytes."""
from __future__ import annotations

import base64
import binascii
import secrets as _random
from collections.abc import Sequence
from datetime import datetime, timezone

from standardwebhooks import Webhook

from runtime.errors import InvalidInput

PREFIX = "whsec_"
MIN_BYTES, MAX_BYTES, DEFAULT_BYTES = 24, 64, 32


def new_secret(size: int = DEFAULT_BYTES) -> str:
    return PREFIX + base64.b64encode(_random.token_bytes(size)).decode()


def signing_secret(value: object, field: str = "secret") -> str:
    """A secret a partner chose, checked: ``whsec_`` + base64 of 24 to 64 bytes."""
    if not isinstance(value, str) or not value.startswith(PREFIX):
        raise InvalidInput(field, f"{field} must start with {PREFIX}")
    try:
        raw = base64.b64decode(value[len(PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(field, f"{field} must be {PREFIX} followed by base64") from None
    if not MIN_BYTES <= len(raw) <= MAX_BYTES:
        raise InvalidInput(field, f"{field} must encode {MIN_BYTES} to {MAX_BYTES} bytes (got {len(raw)})")
    return value


def signature(secrets: Sequence[str], msg_id: str, at: datetime, body: str) -> str:
    """The ``webhook-signature`` header: one ``v1,…`` per secret, newest first, space-separated."""
    if not secrets:
        raise ValueError("no secret to sign with")
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    utc = at.astimezone(timezone.utc)  # the library reads the wall clock as UTC
    return " ".join(Webhook(s).sign(msg_id, utc, body) for s in secrets)


def webhook_headers(secrets: Sequence[str], msg_id: str, at: datetime, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt sent at ``at``."""
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature(secrets, msg_id, at, body)}
