"""Signed links of the needs area: a supplier's link to one need (its funnel, its questions), and a
respondent's link to one impact survey. No login: the token in the path is the credential.

The scheme is the events service's (``services/events/service_layer/signing.py``, survey tokens):
``<base64url(payload)>.<base64url(first 128 bits of HMAC-SHA256)>``, under a key derived from
the platform's secret (``JWT_SECRET``) and a label per use (``cress-need-supplier-v1``,
``cress-need-impact-v1``), so that one kind of token is worth nothing as another. It is copied
here rather than imported from another service (a candidate for ``runtime/``: say so at merge).
A token that does not check out is a 422 naming ``token``, before the database is read.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from runtime.errors import InvalidInput

MAX_TOKEN_LENGTH = 400
_SUPPLIER = b"cress-need-supplier-v1"
_IMPACT = b"cress-need-impact-v1"
_SEP = "\x1f"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:  # one token, one spelling
        raise ValueError("not canonical base64url")
    return data


class _Signer:
    def __init__(self, secret: str, label: bytes) -> None:
        self._key = hmac.new(secret.encode(), label, hashlib.sha256).digest()

    def sign(self, *parts: str) -> str:
        payload = _SEP.join(parts).encode()
        return f"{_b64(payload)}.{_b64(self._tag(payload))}"

    def read(self, token: object, field: str, parts: int, what: str) -> list[str]:
        refused = InvalidInput(field, f"this is not a valid {what} (mistyped, cut, or not issued by the CRESS)")
        if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH or token.count(".") != 1:
            raise refused
        encoded, _, mac = token.partition(".")
        try:
            payload, tag = _unb64(encoded), _unb64(mac)
        except ValueError:  # binascii.Error is one
            raise refused from None
        if not hmac.compare_digest(tag, self._tag(payload)):
            raise refused
        try:
            values = payload.decode().split(_SEP)
        except UnicodeDecodeError:
            raise refused from None
        if len(values) != parts:
            raise refused
        return values

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:16]


class NeedTokens:
    """Suppliers' links to a need and respondents' links to an impact survey."""

    def __init__(self, secret: str) -> None:
        self._supplier = _Signer(secret, _SUPPLIER)
        self._impact = _Signer(secret, _IMPACT)

    def supplier_link(self, need_id: str, supplier_id: str) -> str:
        return self._supplier.sign(need_id, supplier_id)

    def read_supplier_link(self, token: object, field: str = "token") -> tuple[str, str]:
        """``(need_id, supplier_id)`` of a valid supplier link (422 naming ``field`` otherwise)."""
        need_id, supplier_id = self._supplier.read(token, field, 2, "supplier link")
        return need_id, supplier_id

    def impact_link(self, survey_id: str) -> str:
        return self._impact.sign(survey_id)

    def read_impact_link(self, token: object, field: str = "token") -> str:
        """The survey id of a valid impact-survey link (422 naming ``field`` otherwise)."""
        (survey_id,) = self._impact.read(token, field, 1, "impact survey link")
        return survey_id
