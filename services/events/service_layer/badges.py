"""Signed check-in badges: the QR code of a registration carries ``<registration id>.<signature>``.

The signature is an HMAC-SHA256 of the event and registration ids under a key derived from the
platform's secret (``JWT_SECRET``, label ``cress-badge-v1``: :mod:`.signing`): a gate that scans a badge knows it
was issued by this service for this event, offline too (the gate's app may hold the key), and a
badge cannot be forged by changing an id. 128 bits of the MAC are kept: short enough for a QR
code that prints small and scans fast.
"""
from __future__ import annotations

import segno

from runtime.errors import InvalidInput
from runtime.signing import Signer, b64, unb64


class BadgeSigner:
    def __init__(self, secret: str) -> None:
        self._signer = Signer(secret, b"cress-badge-v1")

    @staticmethod
    def _payload(event_id: str, registration_id: str) -> bytes:
        return f"{event_id}\x1f{registration_id}".encode()

    def token(self, event_id: str, registration_id: str) -> str:
        return f"{registration_id}.{b64(self._signer.tag(self._payload(event_id, registration_id)))}"

    def registration_of(self, event_id: str, token: str, field: str = "token") -> str:
        """The registration id a badge token names, once its signature checks out for ``event_id``."""
        registration_id, _, mac = (token or "").strip().rpartition(".")
        try:
            tag = unb64(mac)
        except ValueError:  # not base64url (non-ASCII included)
            tag = b""
        if not registration_id or not tag or not self._signer.verify(self._payload(event_id, registration_id), tag):
            raise InvalidInput(field, "this badge was not issued for this event (invalid signature)")
        return registration_id


def qr_svg(token: str) -> bytes:
    """The badge's QR code as SVG (error correction M: survives a crease or a smudge)."""
    return segno.make(token, error="m", micro=False).svg_inline(scale=6, border=2).encode()
