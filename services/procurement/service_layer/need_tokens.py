"""Signed links of the needs area: a supplier's link to one need (its funnel, its questions), and a
respondent's link to one impact survey. No login: the token in the path is the credential.

The platform's scheme (:mod:`runtime.signing`, as the events service's survey tokens):
``<base64url(payload)>.<base64url(first 128 bits of HMAC-SHA256)>``, under a key derived from
the platform's secret (``JWT_SECRET``) and a label per use (``cress-need-supplier-v1``,
``cress-need-impact-v1``), so that one kind of token is worth nothing as another.
A token that does not check out is a 422 naming ``token``, before the database is read.
"""
from __future__ import annotations

from runtime.errors import InvalidInput
from runtime.signing import Signer, b64, unb64

MAX_TOKEN_LENGTH = 400
_SUPPLIER = b"cress-need-supplier-v1"
_IMPACT = b"cress-need-impact-v1"
_SEP = "\x1f"


class _Signer(Signer):
    """Tokens carrying a few string parts."""

    def sign(self, *parts: str) -> str:
        payload = _SEP.join(parts).encode()
        return f"{b64(payload)}.{b64(self.tag(payload))}"

    def read(self, token: object, field: str, parts: int, what: str) -> list[str]:
        refused = InvalidInput(field, f"this is not a valid {what} (mistyped, cut, or not issued by the CRESS)")
        if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH or token.count(".") != 1:
            raise refused
        encoded, _, mac = token.partition(".")
        try:
            payload, tag = unb64(encoded), unb64(mac)
        except ValueError:  # binascii.Error is one
            raise refused from None
        if not self.verify(payload, tag):
            raise refused
        try:
            values = payload.decode().split(_SEP)
        except UnicodeDecodeError:
            raise refused from None
        if len(values) != parts:
            raise refused
        return values


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
