"""The identity provider's signing keys: OIDC discovery and JWKS, fetched over HTTP and cached.

:class:`IssuerKeys` reads ``<issuer>/.well-known/openid-configuration`` (its ``issuer`` must be
the configured one), then the ``jwks_uri`` it names, and keeps the keys usable for signatures
(``use`` sig or absent, a ``kid``, an algorithm of :data:`ALGORITHMS`) by key id. The JWKs are
parsed by PyJWT (:class:`jwt.PyJWKSet`); only the fetching and caching policy is here:

- keys older than ``refresh_seconds`` are fetched again when next needed; an unknown ``kid`` (the
  provider rotated its keys) triggers one fetch;
- at most one fetch per ``cooldown_seconds`` after the previous attempt, successful or not: a flood
  of tokens with made-up key ids, or a provider that is down, costs the provider one request per
  period, and concurrent requests share one fetch (a lock);
- while the provider cannot be reached, the cached keys keep verifying tokens up to
  ``max_age_seconds`` after their last successful fetch; with no keys at all (or only older ones),
  :class:`IdentityProviderUnavailable` (503, naming the provider).

Why not PyJWT's ``PyJWKClient``: it fetches with blocking ``urllib`` (a thread per request on an
async server), its cache drops the keys once their lifespan ends even when the provider is down,
and its cooldown counts only successful fetches, so a provider that is down is asked again on
every request.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

import httpx
import jwt

from runtime.errors import DomainError

log = logging.getLogger(__name__)

#: The signature algorithms accepted from the identity provider (asymmetric only: never HS*).
ALGORITHMS: tuple[str, ...] = ("RS256", "ES256")
DISCOVERY_PATH = "/.well-known/openid-configuration"


class IdentityProviderUnavailable(DomainError):
    """No usable key of the identity provider: it cannot be reached and nothing recent is cached."""

    status = 503
    title = "Identity provider unavailable"


class UnknownKey(Exception):
    """The token names a key id that the identity provider does not publish."""


class IssuerKeys:
    """The signing keys of one OIDC issuer, by key id (see the module's documentation)."""

    def __init__(self, issuer: str, *, algorithms: Iterable[str] = ALGORITHMS, refresh_seconds: float = 300,
                 max_age_seconds: float = 86_400, cooldown_seconds: float = 30, timeout_seconds: float = 5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.issuer = issuer
        self.algorithms = frozenset(algorithms)
        self.refresh_seconds = refresh_seconds
        self.max_age_seconds = max_age_seconds
        self.cooldown_seconds = cooldown_seconds
        self.timeout_seconds = timeout_seconds
        self._clock = clock
        self._jwks_uri: str | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last attempt, successful or not
        self._error: str | None = None  # why the last attempt failed
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings) -> IssuerKeys:
        return cls(settings.oidc_issuer, refresh_seconds=settings.oidc_jwks_refresh_seconds,
                   max_age_seconds=settings.oidc_jwks_max_age_seconds,
                   cooldown_seconds=settings.oidc_jwks_cooldown_seconds,
                   timeout_seconds=settings.oidc_http_timeout_seconds)

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + DISCOVERY_PATH

    async def key(self, kid: str) -> jwt.PyJWK:
        """The key ``kid``; :class:`UnknownKey` if the provider does not publish it (after one fetch
        when the cooldown allows), :class:`IdentityProviderUnavailable` if no usable keys are known."""
        now = self._clock()
        fresh = self._fetched_at is not None and now - self._fetched_at < self.refresh_seconds
        if fresh and kid in self._keys:
            return self._keys[kid]
        await self._refresh()
        now = self._clock()
        if self._fetched_at is None or now - self._fetched_at >= self.max_age_seconds:
            why = self._error or "its keys are too old"
            raise IdentityProviderUnavailable(
                f"the identity provider {self.issuer} cannot be reached and no keys of it are cached ({why}); "
                f"try again later", issuer=self.issuer)
        if kid in self._keys:
            return self._keys[kid]
        raise UnknownKey(f"the identity provider {self.issuer} publishes no key {kid!r} "
                         f"(known: {', '.join(sorted(self._keys))})")

    async def _refresh(self) -> None:
        """One fetch of the keys, unless one was attempted less than ``cooldown_seconds`` ago."""
        async with self._lock:  # concurrent requests wait for one fetch rather than each making one
            now = self._clock()
            if self._attempted_at is not None and now - self._attempted_at < self.cooldown_seconds:
                return
            self._attempted_at = now
            try:
                keys = await self._fetch()
            except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
                self._error = f"{type(exc).__name__}: {exc}"
                self._jwks_uri = None  # discover again next time: the provider may have moved its keys
                log.warning("cannot fetch the keys of the identity provider %s: %s (cached: %s)", self.issuer,
                            self._error, ", ".join(sorted(self._keys)) or "none")
                return
            self._keys, self._fetched_at, self._error = keys, self._clock(), None
            log.info("keys of the identity provider %s: %s", self.issuer, ", ".join(sorted(keys)))

    async def _fetch(self) -> dict[str, jwt.PyJWK]:
        async with httpx.AsyncClient(timeout=self.timeout_seconds, follow_redirects=False) as http:
            if self._jwks_uri is None:
                discovery = await _json(http, self.discovery_url)
                if discovery.get("issuer") != self.issuer:
                    raise ValueError(f"the discovery document names the issuer {discovery.get('issuer')!r}, "
                                     f"not {self.issuer!r} (OIDC_ISSUER)")
                uri = discovery.get("jwks_uri")
                if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
                    raise ValueError(f"the discovery document has no http(s) jwks_uri: {uri!r}")
                self._jwks_uri = uri
            jwks = jwt.PyJWKSet.from_dict(await _json(http, self._jwks_uri))
        keys = {k.key_id: k for k in jwks.keys
                if k.key_id and k.public_key_use in ("sig", None) and k.algorithm_name in self.algorithms}
        if not keys:
            raise ValueError(f"the JWKS at {self._jwks_uri} has no signing key with a kid for "
                             f"{', '.join(sorted(self.algorithms))}")
        return keys


async def _json(http: httpx.AsyncClient, url: str) -> dict:
    response = await http.get(url, headers={"Accept": "application/json"})
    response.raise_for_status()
    body = response.json()
    if not isinstance(body, dict):
        raise ValueError(f"{url} did not answer a JSON object")
    return body
