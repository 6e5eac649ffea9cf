"""AUTH_MODE=oidc against a real identity provider (tests/oidc_issuer.py: discovery and JWKS over
HTTP, keys generated here), through a small app guarded by runtime.auth's ``allow``: accepted
tokens, every refusal with its reason, key rotation, the refetch limit, the provider down.

The keys' clock (refresh, cooldown, maximum age) is a fake one the tests move: no sleeps.
"""
from __future__ import annotations

import asyncio
import json
import re
import socket
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import jwt
import pytest
from fastapi import Depends, FastAPI
from pytest_httpserver import HTTPServer
from werkzeug import Response

from runtime.auth import READER, OpenIDConnect, Principal, allow, issue_token, staff
from runtime.http import install_error_handlers
from runtime.oidc import IdentityProviderUnavailable, IssuerKeys, UnknownKey
from runtime.settings import Settings
from tests.oidc_issuer import AUDIENCE, Issuer

COOLDOWN, REFRESH, MAX_AGE = 30.0, 300.0, 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0  # time.monotonic() starts anywhere: here far above every period of the cache

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def issuer():
    provider = Issuer().start()
    yield provider
    provider.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def oidc_settings(issuer: Issuer, **overrides) -> Settings:
    return Settings(auth_mode="oidc", oidc_issuer=issuer.issuer, oidc_audience=AUDIENCE, jwt_leeway_seconds=30,
                    **overrides)


def guarded_app(settings: Settings, keys: IssuerKeys) -> FastAPI:
    app = FastAPI()
    app.state.settings = settings
    app.state.authenticator = OpenIDConnect(settings, keys)
    install_error_handlers(app)

    @app.get("/me")
    async def me(principal: Principal = Depends(allow(READER))) -> dict:
        return {"subject": principal.subject, "roles": sorted(principal.roles)}

    @app.get("/membership")
    async def membership(principal: Principal = Depends(allow(staff("membership")))) -> dict:
        return {"subject": principal.subject}

    return app


@pytest.fixture
async def call(issuer: Issuer, clock: Clock):
    """``call(token, path="/me", settings=None)``: the response of the guarded app (one app, one key
    cache, per test)."""
    apps: dict[str, tuple[FastAPI, IssuerKeys]] = {}

    async def request(token: str, path: str = "/me", settings: Settings | None = None) -> httpx.Response:
        settings = settings or oidc_settings(issuer)
        if settings.oidc_roles_claim not in apps:
            apps[settings.oidc_roles_claim] = _build(settings)
        app, _ = apps[settings.oidc_roles_claim]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return await client.get(path, headers={"Authorization": f"Bearer {token}"})

    def _build(settings: Settings) -> tuple[FastAPI, IssuerKeys]:
        keys = IssuerKeys(settings.oidc_issuer, refresh_seconds=REFRESH, max_age_seconds=MAX_AGE,
                          cooldown_seconds=COOLDOWN, timeout_seconds=2, clock=clock)
        return guarded_app(settings, keys), keys

    return request


def refused(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert reason in response.json()["detail"], response.json()["detail"]


# -- accepted ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("alg", ["RS256", "ES256"])
async def test_a_token_of_the_identity_provider_is_accepted(issuer, call, alg):
    kid = issuer.add_key(alg)
    r = await call(issuer.token("camille", ["reader", "staff:membership"], kid=kid))
    assert r.status_code == 200, r.text
    assert r.json() == {"subject": "camille", "roles": ["reader", "staff:membership"]}
    assert (await call(issuer.token("camille", ["staff:membership"], kid=kid), "/membership")).status_code == 200
    assert issuer.discovery_requests == 1 and issuer.jwks_requests == 1  # cached: one fetch for both requests


async def test_roles_come_from_the_configured_claim(issuer, call):
    kid = issuer.add_key("RS256")
    nested = oidc_settings(issuer, oidc_roles_claim="realm_access.roles")
    token = issuer.token("dominique", ["staff:membership"], kid=kid, roles_claim="realm_access.roles")
    assert (await call(token, "/membership", settings=nested)).status_code == 200
    # the same token read with the default claim (`roles`): no roles, so no access
    r = await call(token, "/membership")
    assert r.status_code == 403 and "staff:membership" in r.json()["detail"]
    r = await call(issuer.token("x", None, kid=kid, realm_access={"roles": "admin"}), settings=nested)
    refused(r, "'realm_access.roles' must be a list of strings")
    # a path through a claim that is not an object holds no roles (refused as any caller without them)
    r = await call(issuer.token("x", None, kid=kid, realm_access=["admin"]), settings=nested)
    assert r.status_code == 403 and "admin, reader" in r.json()["detail"], r.text


async def test_clock_skew_within_the_leeway_is_tolerated(issuer, call):
    kid = issuer.add_key("ES256")
    now = datetime.now(timezone.utc)
    just_expired = issuer.token(kid=kid, now=now - timedelta(minutes=10, seconds=10))  # exp 10 s ago
    assert (await call(just_expired)).status_code == 200
    almost_valid = issuer.token(kid=kid, now=now + timedelta(seconds=10))  # nbf and iat 10 s ahead
    assert (await call(almost_valid)).status_code == 200


# -- refused -------------------------------------------------------------------------------------------------
async def test_expired_and_not_yet_valid_tokens_beyond_the_leeway_are_refused(issuer, call):
    kid = issuer.add_key("RS256")
    now = datetime.now(timezone.utc)
    refused(await call(issuer.token(kid=kid, now=now - timedelta(minutes=11))), "expired")  # exp 60 s ago
    future = issuer.token(kid=kid, now=now + timedelta(seconds=120), iat=now)  # nbf 120 s ahead
    refused(await call(future), "not valid yet")


async def test_another_issuer_or_audience_is_refused(issuer, call):
    kid = issuer.add_key("RS256")
    refused(await call(issuer.token(kid=kid, iss="https://idp.example.org/realms/other")),
            f"issuer (iss) is not {issuer.issuer}")
    refused(await call(issuer.token(kid=kid, aud="another-client")), f"audience (aud) is not {AUDIENCE}")
    refused(await call(issuer.token(kid=kid, sub=None)), "sub")


async def test_unsigned_and_algorithm_confusion_tokens_are_refused(issuer, call):
    kid = issuer.add_key("RS256")
    refused(await call(issuer.unsigned_token(kid=kid)), "algorithm 'none' is not accepted (accepted: RS256, ES256)")
    refused(await call(issuer.hmac_with_public_key_token(kid=kid)), "algorithm 'HS256' is not accepted")
    dev = Settings(jwt_issuer=issuer.issuer, jwt_audience=AUDIENCE)  # a development token, otherwise right
    refused(await call(issuer_token_of(dev)), "algorithm 'HS256' is not accepted")
    refused(await call("not-a-jwt"), "invalid bearer token")


def issuer_token_of(settings: Settings) -> str:
    return issue_token(settings, "mallory", ["admin"])


async def test_a_token_signed_with_another_key_under_a_known_kid_is_refused(issuer, call):
    kid = issuer.add_key("RS256")
    impostor = Issuer()  # same kid, another private key
    impostor.add_key("RS256", kid=kid)
    token = impostor.token("mallory", ["admin"], kid=kid, iss=issuer.issuer)
    refused(await call(token), "Signature verification failed")
    other_alg = Issuer()  # an ES256 token claiming the RS256 key's kid
    other_alg.add_key("ES256", kid=kid)
    refused(await call(other_alg.token("mallory", ["admin"], kid=kid, iss=issuer.issuer)),
            "does not match the key's algorithm")


async def test_only_rs256_and_es256_signing_keys_are_taken_from_the_jwks(issuer, call):
    kid = issuer.add_key("RS256")
    other = issuer.add_key("ES256")
    issuer.extra_jwks += [{"kty": "oct", "kid": "shared-1", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", "alg": "HS256"},
                          {**issuer.jwk(issuer.add_key("RS256", publish=False)), "kid": "enc-1", "use": "enc"}]
    assert (await call(issuer.token(kid=kid))).status_code == 200
    known = ", ".join(sorted((kid, other)))
    refused(await call(issuer.token(kid=kid, header_kid="shared-1")), f"publishes no key 'shared-1' (known: {known})")
    refused(await call(issuer.token(kid=kid, header_kid="enc-1")), f"publishes no key 'enc-1' (known: {known})")


async def test_a_token_without_a_key_id_is_refused(issuer, call):
    kid = issuer.add_key("RS256")
    key, _ = issuer._keys[kid]
    for header in ({}, {"kid": ""}):  # none, empty (one that is not a string PyJWT refuses as it reads the header)
        token = jwt.encode(issuer.claims("camille", ["reader"]), key, algorithm="RS256", headers=header)
        r = await call(token)
        refused(r, "names no key (kid)")
        assert r.json()["detail"] == "invalid bearer token: its header names no key (kid)"


# -- rotation and the refetch limit ----------------------------------------------------------------------
async def test_known_keys_are_fetched_again_only_once_older_than_the_refresh_period(issuer, call, clock):
    kid = issuer.add_key("RS256")
    assert (await call(issuer.token(kid=kid))).status_code == 200
    clock.advance(REFRESH - 1)  # well past the cooldown, not yet the refresh period
    assert (await call(issuer.token(kid=kid))).status_code == 200
    assert issuer.jwks_requests == 1
    clock.advance(2)
    assert (await call(issuer.token(kid=kid))).status_code == 200
    assert issuer.jwks_requests == 2


async def test_a_rotated_key_is_accepted_after_one_refetch(issuer, call, clock):
    old = issuer.add_key("RS256")
    assert (await call(issuer.token(kid=old))).status_code == 200
    assert issuer.jwks_requests == 1
    new = issuer.add_key("ES256")  # the provider rotates: the new key is published after the service cached
    clock.advance(COOLDOWN + 1)
    r = await call(issuer.token("camille", ["reader"], kid=new))
    assert r.status_code == 200, r.text
    assert issuer.jwks_requests == 2  # exactly one refetch
    assert (await call(issuer.token(kid=old))).status_code == 200  # still published: still accepted
    assert issuer.jwks_requests == 2


async def test_unknown_key_ids_cost_the_provider_one_fetch_per_cooldown(issuer, call, clock):
    kid = issuer.add_key("RS256")
    assert (await call(issuer.token(kid=kid))).status_code == 200
    clock.advance(COOLDOWN + 1)
    for _ in range(25):  # a flood of tokens naming made-up keys
        made_up = f"made-up-{uuid.uuid4().hex[:6]}"
        refused(await call(issuer.token(kid=kid, header_kid=made_up)), f"publishes no key '{made_up}'")
    assert issuer.jwks_requests == 2  # one refetch for the whole flood
    clock.advance(COOLDOWN + 1)
    refused(await call(issuer.token(kid=kid, header_kid="made-up-again")), "publishes no key")
    assert issuer.jwks_requests == 3


async def test_a_withdrawn_key_is_refused_once_the_keys_are_refreshed(issuer, call, clock):
    old = issuer.add_key("RS256")
    new = issuer.add_key("RS256")
    assert (await call(issuer.token(kid=old))).status_code == 200
    issuer.withdraw(old)
    clock.advance(REFRESH + 1)  # the cached keys are old: fetched again on the next request
    assert (await call(issuer.token(kid=new))).status_code == 200
    refused(await call(issuer.token(kid=old)), f"publishes no key '{old}'")


# -- the provider down ---------------------------------------------------------------------------------------
async def test_cached_keys_keep_working_while_the_provider_is_down_up_to_their_maximum_age(issuer, call, clock):
    kid = issuer.add_key("ES256")
    assert (await call(issuer.token(kid=kid))).status_code == 200
    token = issuer.token(kid=kid, ttl=timedelta(hours=2))
    issuer.stop()  # connections refused from now on
    clock.advance(REFRESH + 1)  # due for a refresh, which fails: the cached key still verifies
    assert (await call(token)).status_code == 200
    assert (await call(token)).status_code == 200  # (and the provider is not asked again within the cooldown)
    clock.advance(MAX_AGE)  # the cached keys are now too old to trust
    r = await call(token)
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert issuer.issuer in r.json()["detail"] and "cannot be reached" in r.json()["detail"]


async def test_no_keys_at_all_is_a_503_naming_the_provider(clock):
    provider = Issuer().start()
    kid = provider.add_key("RS256")
    token = provider.token(kid=kid)
    settings = oidc_settings(provider)
    provider.stop()
    keys = IssuerKeys(settings.oidc_issuer, cooldown_seconds=COOLDOWN, timeout_seconds=2, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guarded_app(settings, keys)),
                                 base_url="http://test", headers={"Authorization": f"Bearer {token}"}) as client:
        r = await client.get("/me")
        assert r.status_code == 503, r.text
        assert r.json()["title"] == "Identity provider unavailable" and r.json()["issuer"] == provider.issuer
        assert provider.issuer in r.json()["detail"] and "ConnectError" in r.json()["detail"]
        assert (await client.get("/me")).status_code == 503


async def test_a_discovery_document_of_another_issuer_is_not_trusted(clock):
    provider = Issuer(discovered_issuer="https://evil.example.org/realms/cress").start()
    try:
        kid = provider.add_key("RS256")
        settings = oidc_settings(provider)
        keys = IssuerKeys(settings.oidc_issuer, cooldown_seconds=COOLDOWN, timeout_seconds=2, clock=clock)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guarded_app(settings, keys)),
                                     base_url="http://test") as client:
            r = await client.get("/me", headers={"Authorization": f"Bearer {provider.token(kid=kid)}"})
        assert r.status_code == 503 and "names the issuer 'https://evil.example.org/realms/cress'" in r.json()["detail"]
        assert provider.jwks_requests == 0
    finally:
        provider.stop()


# -- settings -----------------------------------------------------------------------------------------------
def test_oidc_mode_needs_its_issuer_and_audience(monkeypatch):
    for name in ("OIDC_ISSUER", "OIDC_AUDIENCE", "AUTH_MODE", "ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="AUTH_MODE=oidc needs OIDC_ISSUER and OIDC_AUDIENCE"):
        Settings(auth_mode="oidc")
    with pytest.raises(ValueError, match="OIDC_ISSUER must be an http"):
        Settings(auth_mode="oidc", oidc_issuer="idp.example.org", oidc_audience="api")
    with pytest.raises(ValueError, match="production: OIDC_ISSUER must be an https URL"):
        Settings(auth_mode="oidc", oidc_issuer="http://idp.example.org", oidc_audience="api",
                 environment="production", jwt_secret="p" * 40, privacy_key="k" * 32,
                 secrets_key="dGVzdC1vbmx5LXNlY3JldHMta2V5LW9mLTMyLWJ5dGU=")


def test_production_refuses_the_development_secret_and_a_short_one(monkeypatch):
    monkeypatch.delenv("JWT_SECRET", raising=False)
    monkeypatch.setenv("ENVIRONMENT", "production")
    with pytest.raises(ValueError, match="ENVIRONMENT=production: JWT_SECRET is the development default") as err:
        Settings()
    monkeypatch.setenv("JWT_SECRET", "s3cr3t-of-31-bytes-0123456789ab")
    with pytest.raises(ValueError, match="JWT_SECRET .* shorter than 32 bytes") as err:
        Settings()
    assert "s3cr3t" not in str(err.value)  # a refused secret is not echoed into the logs
    monkeypatch.setenv("JWT_SECRET", "é" * 16)  # 16 characters, 32 bytes
    monkeypatch.delenv("PRIVACY_KEY", raising=False)
    with pytest.raises(ValueError, match="ENVIRONMENT=production: PRIVACY_KEY is the development default"):
        Settings()
    monkeypatch.setenv("PRIVACY_KEY", "k" * 32)
    monkeypatch.delenv("SECRETS_KEY", raising=False)
    with pytest.raises(ValueError, match="ENVIRONMENT=production: SECRETS_KEY holds the development key"):
        Settings()
    monkeypatch.setenv("SECRETS_KEY", "dGVzdC1vbmx5LXNlY3JldHMta2V5LW9mLTMyLWJ5dGU=")
    assert Settings().environment == "production"
    monkeypatch.setenv("ENVIRONMENT", "development")
    monkeypatch.delenv("JWT_SECRET")
    assert Settings().jwt_secret  # the development default is fine on a laptop


async def test_concurrent_requests_with_a_rotated_key_share_one_refetch(issuer, call, clock):
    old = issuer.add_key("RS256")
    assert (await call(issuer.token(kid=old))).status_code == 200
    new = issuer.add_key("RS256")
    clock.advance(COOLDOWN + 1)
    token = issuer.token(kid=new)
    responses = await asyncio.gather(*(call(token) for _ in range(10)))
    assert [r.status_code for r in responses] == [200] * 10  # each waited for the one fetch, none refused
    assert issuer.jwks_requests == 2


# -- documents the provider answers that cannot be trusted -------------------------------------------------
class Documents:
    """A provider whose discovery document and JWKS the test writes by hand (pytest-httpserver)."""

    def __init__(self) -> None:
        self.server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        self.answers: dict[str, Response] = {}
        self.server.expect_request(re.compile(".*")).respond_with_handler(self._answer)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/realms/cress"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.port}{path}"

    def discovery(self, **document) -> None:
        self.json("/realms/cress/.well-known/openid-configuration", {"issuer": self.issuer, **document})

    def json(self, path: str, body, status: int = 200) -> None:
        self.answers[path] = Response(json.dumps(body), status=status, content_type="application/json")

    def _answer(self, request) -> Response:
        return self.answers.get(request.path) or Response("not here", status=404)


@pytest.fixture
def documents():
    provider = Documents()
    provider.server.start()
    yield provider
    provider.server.clear()
    provider.server.stop()


def keys_of(documents: Documents, clock: Clock) -> IssuerKeys:
    return IssuerKeys(documents.issuer, refresh_seconds=REFRESH, max_age_seconds=MAX_AGE, cooldown_seconds=COOLDOWN,
                      timeout_seconds=2, clock=clock)


async def unavailable(keys: IssuerKeys, why: str) -> None:
    with pytest.raises(IdentityProviderUnavailable, match="cannot be reached") as err:
        await keys.key("any")
    assert why in str(err.value), str(err.value)


@pytest.mark.parametrize("jwks_uri", [None, "file:///etc/passwd", 42])
async def test_a_discovery_document_without_an_http_jwks_uri_is_not_followed(documents, clock, jwks_uri):
    documents.discovery(jwks_uri=jwks_uri)
    await unavailable(keys_of(documents, clock), f"the discovery document has no http(s) jwks_uri: {jwks_uri!r}")


async def test_an_https_jwks_uri_is_followed(documents, clock):
    documents.discovery(jwks_uri=documents.url("/certs").replace("http://", "https://"))  # no TLS here: it fails
    with pytest.raises(IdentityProviderUnavailable) as err:
        await keys_of(documents, clock).key("any")
    assert "ConnectError" in str(err.value) and "jwks_uri" not in str(err.value), str(err.value)


async def test_a_jwks_that_is_no_json_object_or_holds_no_signing_key_is_refused(documents, clock):
    documents.discovery(jwks_uri=documents.url("/certs"))
    documents.json("/certs", [{"kty": "RSA"}])
    await unavailable(keys_of(documents, clock), f"ValueError: {documents.url('/certs')} did not answer a JSON object")
    signer = Issuer()
    unusable = [{**signer.jwk(signer.add_key("RS256")), "use": "enc"},          # for encryption
                {"kty": "oct", "kid": "shared-1", "k": "c2VjcmV0LXNlY3JldA", "alg": "HS256"},  # symmetric
                {k: v for k, v in signer.jwk(signer.add_key("ES256")).items() if k != "kid"}]  # no kid
    documents.json("/certs", {"keys": unusable})
    await unavailable(keys_of(documents, clock), "has no signing key with a kid for ES256, RS256")


async def test_a_provider_answering_an_error_status_or_a_redirect_is_unavailable(documents, clock):
    documents.answers["/realms/cress/.well-known/openid-configuration"] = Response(
        json.dumps({"issuer": documents.issuer, "jwks_uri": documents.url("/certs")}), status=500,
        content_type="application/json")
    await unavailable(keys_of(documents, clock), "HTTPStatusError")
    # a redirect is not followed, even to a document that would be right
    documents.discovery(jwks_uri=documents.url("/certs"))
    signer = Issuer()
    documents.json("/certs", {"keys": [signer.jwk(signer.add_key("RS256"))]})
    documents.answers["/moved"] = Response("", status=302, headers={"Location": documents.url("/certs")})
    documents.discovery(jwks_uri=documents.url("/moved"))
    await unavailable(keys_of(documents, clock), "302")


async def test_keys_moved_by_the_provider_are_found_by_discovering_again(documents, clock):
    signer = Issuer()
    old, new = signer.add_key("RS256"), signer.add_key("RS256")
    documents.discovery(jwks_uri=documents.url("/certs-1"))
    documents.json("/certs-1", {"keys": [signer.jwk(old)]})
    keys = keys_of(documents, clock)
    assert (await keys.key(old)).key_id == old
    # the provider moves its keys: the old address answers 404, the discovery document names the new one
    del documents.answers["/certs-1"]
    documents.discovery(jwks_uri=documents.url("/certs-2"))
    documents.json("/certs-2", {"keys": [signer.jwk(old), signer.jwk(new)]})
    clock.advance(COOLDOWN + 1)
    with pytest.raises(UnknownKey):  # the fetch at the known address failed: the cached keys still answer
        await keys.key(new)
    clock.advance(COOLDOWN + 1)
    assert (await keys.key(new)).key_id == new  # discovered again after the failure


def test_the_service_settings_configure_the_key_cache():
    settings = Settings(auth_mode="oidc", oidc_issuer="https://idp.example.org/realms/cress", oidc_audience="api",
                        oidc_jwks_refresh_seconds=111, oidc_jwks_max_age_seconds=2222,
                        oidc_jwks_cooldown_seconds=33, oidc_http_timeout_seconds=4)
    keys = IssuerKeys.from_settings(settings)
    assert (keys.issuer, keys.refresh_seconds, keys.max_age_seconds, keys.cooldown_seconds, keys.timeout_seconds) \
        == ("https://idp.example.org/realms/cress", 111, 2222, 33, 4)
    assert keys.algorithms == {"RS256", "ES256"}
    assert keys.discovery_url == "https://idp.example.org/realms/cress/.well-known/openid-configuration"


async def test_a_provider_that_accepts_but_never_answers_is_given_up_after_the_timeout(clock):
    with socket.socket() as silent:  # connections are accepted (the backlog), nothing is ever answered
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        keys = IssuerKeys(f"http://127.0.0.1:{silent.getsockname()[1]}/realms/cress", cooldown_seconds=COOLDOWN,
                          timeout_seconds=0.2, clock=clock)
        # (the outer bound only turns a wait without end into a failure)
        await unavailable_within(keys, "ReadTimeout", seconds=30)


async def unavailable_within(keys: IssuerKeys, why: str, seconds: float) -> None:
    with pytest.raises(IdentityProviderUnavailable, match="cannot be reached") as err:
        await asyncio.wait_for(keys.key("any"), seconds)
    assert why in str(err.value), str(err.value)
