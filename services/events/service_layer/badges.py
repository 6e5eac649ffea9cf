"""Signed check-in badges: the QR code of a registration carries ``<registration id>.<signature>``.

The signature is an HMAC-SHA256 of the event and registration ids under a key derived from the
platform's secret (``JWT_SECRET``, label ``cress-badge-v1``): a gate that scans a badge knows it
was issued by this service for this event, offline too (the gate's app may hold the key), and a
badge cannot be forged by changing an id. 128 bits of the MAC are kept: short enough for a QR
code that prints small and scans fast.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

import segno

from runtime.errors import InvalidInput

_LABEL = b"cress-badge-v1"


class BadgeSigner:
    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), _LABEL, hashlib.sha256).digest()

    def _mac(self, event_id: str, registration_id: str) -> str:
        digest = hmac.new(self._key, f"{event_id}\x1f{registration_id}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")

    def token(self, event_id: str, registration_id: str) -> str:
        return f"{registration_id}.{self._mac(event_id, registration_id)}"

    def registration_of(self, event_id: str, token: str, field: str = "token") -> str:
        """The registration id a badge token names, once its signature checks out for ``event_id``."""
        registration_id, _, mac = (token or "").strip().rpartition(".")
        expected = self._mac(event_id, registration_id).encode()
        if not registration_id or not mac or not hmac.compare_digest(mac.encode(), expected):  # bytes: any text
            raise InvalidInput(field, "this badge was not issued for this event (invalid signature)")
        return registration_id


def qr_svg(token: str) -> bytes:
    """The badge's QR code as SVG (error correction M: survives a crease or a smudge)."""
    return segno.make(token, error="m", micro=False).svg_inline(scale=6, border=2).encode()
