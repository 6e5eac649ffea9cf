"""Signed tokens of the platform (badges, survey answers, suppliers' need links, impact surveys): one
HMAC scheme, one key per use.

A :class:`Signer` derives its key from the platform's secret (``JWT_SECRET``) and a label naming
the use (``cress-badge-v1``, ``cress-survey-v1``): a badge's signature is worth nothing as a
survey token and the other way round. Tags are the first 128 bits of HMAC-SHA256, in base64url
without padding: short enough for a QR code, far beyond guessing.
"""
from __future__ import annotations

import base64
import hashlib
import hmac


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    """The bytes ``text`` encodes in canonical unpadded base64url (what :func:`b64` writes).

    :raises ValueError: (``binascii.Error`` included) for anything else: stray characters, padding,
        non-canonical trailing bits — one token, one spelling.
    """
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64(data) != text:
        raise ValueError("not canonical base64url")
    return data


class Signer:
    def __init__(self, secret: str, label: bytes) -> None:
        self._key = hmac.new(secret.encode(), label, hashlib.sha256).digest()

    def tag(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:16]

    def verify(self, payload: bytes, tag: bytes) -> bool:
        """Whether ``tag`` is ``payload``'s (compared in constant time)."""
        return hmac.compare_digest(tag, self.tag(payload))
