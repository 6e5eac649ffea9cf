"""A small OpenID Connect identity provider for the tests, on real HTTP (pytest-httpserver: werkzeug
in a thread, on 127.0.0.1): its discovery document and its JWKS, with keys generated here
(cryptography), and tokens it signs with them.

    issuer = Issuer().start()
    kid = issuer.add_key("RS256")           # published in the JWKS
    token = issuer.token("camille", ["staff:membership"], kid=kid)
    issuer.stop()                           # the provider is down: connections are refused

Keys can be added (published or not) and withdrawn while it runs (rotation); ``jwks_requests``
counts the JWKS fetches it answered.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

AUDIENCE = "cress-platform-api"
REALM = "/realms/cress"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Issuer:
    def __init__(self, *, audience: str = AUDIENCE, discovered_issuer: str | None = None) -> None:
        self.server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        self.audience = audience
        self._discovered_issuer = discovered_issuer  # what the discovery document claims (default: the truth)
        self._keys: dict[str, tuple[Any, str]] = {}  # kid -> (private key, alg)
        self.published: list[str] = []
        self.extra_jwks: list[dict[str, Any]] = []  # published as given (keys the platform must not take)
        self.jwks_requests = 0
        self.discovery_requests = 0
        self._lock = threading.Lock()
        self.server.expect_request(f"{REALM}/.well-known/openid-configuration").respond_with_handler(self._discovery)
        self.server.expect_request(f"{REALM}/protocol/openid-connect/certs").respond_with_handler(self._jwks)

    def start(self) -> Issuer:
        self.server.start()
        return self

    def stop(self) -> None:
        if self.server.is_running():
            self.server.clear()
            self.server.stop()

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.server.port}{REALM}"

    # -- keys ------------------------------------------------------------------------------------------
    def add_key(self, alg: str = "RS256", *, kid: str | None = None, publish: bool = True) -> str:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if alg == "RS256" \
            else ec.generate_private_key(ec.SECP256R1())
        kid = kid or f"{alg.lower()}-{uuid.uuid4().hex[:8]}"
        with self._lock:
            self._keys[kid] = (key, alg)
            if publish:
                self.published.append(kid)
        return kid

    def publish(self, kid: str) -> None:
        with self._lock:
            self.published.append(kid)

    def withdraw(self, kid: str) -> None:
        with self._lock:
            self.published.remove(kid)

    def public_pem(self, kid: str) -> bytes:
        return self._keys[kid][0].public_key().public_bytes(serialization.Encoding.PEM,
                                                            serialization.PublicFormat.SubjectPublicKeyInfo)

    # -- tokens ----------------------------------------------------------------------------------------
    def claims(self, subject: str, roles: list[str] | None, *, ttl: timedelta = timedelta(minutes=10),
               now: datetime | None = None, roles_claim: str = "roles", **extra: Any) -> dict[str, Any]:
        now = now or datetime.now(timezone.utc)
        claims: dict[str, Any] = {"iss": self.issuer, "aud": self.audience, "sub": subject, "iat": now, "nbf": now,
                                  "exp": now + ttl, "azp": "cress-back-office", "preferred_username": subject}
        if roles is not None:
            target = claims
            *path, last = roles_claim.split(".")
            for part in path:
                target = target.setdefault(part, {})
            target[last] = roles
        claims.update(extra)
        return claims

    def token(self, subject: str = "camille", roles: list[str] | None = ("reader",), *, kid: str,
              header_kid: str | None | type[Ellipsis] = ..., **claims: Any) -> str:
        """A token signed with key ``kid``; ``header_kid`` names another key id in its header (None: none)."""
        key, alg = self._keys[kid]
        header_kid = kid if header_kid is ... else header_kid
        return jwt.encode(self.claims(subject, None if roles is None else list(roles), **claims), key,
                          algorithm=alg, headers={"kid": header_kid} if header_kid else None)

    def unsigned_token(self, subject: str = "mallory", roles: list[str] = ("admin",), *, kid: str) -> str:
        """``alg: none``, no signature."""
        header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
        body = _b64(json.dumps(self.claims(subject, list(roles)), default=lambda d: int(d.timestamp())).encode())
        return f"{header}.{body}."

    def hmac_with_public_key_token(self, subject: str = "mallory", roles: list[str] = ("admin",), *,
                                   kid: str) -> str:
        """HS256 "signed" with the provider's public key (PEM) as the secret: algorithm confusion.
        (PyJWT itself refuses to make one, hence by hand.)"""
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
        body = _b64(json.dumps(self.claims(subject, list(roles)), default=lambda d: int(d.timestamp())).encode())
        signature = hmac.new(self.public_pem(kid), f"{header}.{body}".encode(), hashlib.sha256).digest()
        return f"{header}.{body}.{_b64(signature)}"

    def jwk(self, kid: str) -> dict[str, Any]:
        key, alg = self._keys[kid]
        exporter = RSAAlgorithm if alg == "RS256" else ECAlgorithm
        return {**exporter.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig", "alg": alg}

    # -- HTTP ------------------------------------------------------------------------------------------
    def _discovery(self, request: Request) -> Response:
        with self._lock:
            self.discovery_requests += 1
        base = f"http://127.0.0.1:{self.server.port}{REALM}"
        document = {"issuer": self._discovered_issuer or self.issuer, "jwks_uri": f"{base}/protocol/openid-connect/certs",
                    "authorization_endpoint": f"{base}/protocol/openid-connect/auth",
                    "token_endpoint": f"{base}/protocol/openid-connect/token",
                    "response_types_supported": ["code"], "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256", "ES256"]}
        return Response(json.dumps(document), content_type="application/json")

    def _jwks(self, request: Request) -> Response:
        with self._lock:
            self.jwks_requests += 1
            keys = [self.jwk(kid) for kid in self.published]
        return Response(json.dumps({"keys": keys + self.extra_jwks}), content_type="application/json")
