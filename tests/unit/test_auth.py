"""runtime/auth.py without a server: the development tokens' claims (issuer, audience, required
claims, clock skew), the principal's roles, and which verifier a service's settings choose.
(AUTH_MODE=oidc against a real identity provider: tests/unit/test_oidc.py.)"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import jwt
import pytest

from runtime.auth import (ADMIN, OpenIDConnect, Principal, SharedSecret, Unauthenticated, authenticator, decode_token,
                          issue_token)
from runtime.settings import Settings

SECRET = "unit-test-secret-unit-test-secret-0123"


@pytest.fixture
def settings() -> Settings:
    return Settings(jwt_secret=SECRET, jwt_leeway_seconds=30)


def signed(settings: Settings, **claims) -> str:
    """A development token with exactly ``claims`` (a claim given as None is left out)."""
    now = datetime.now(timezone.utc)
    full = {"sub": "camille", "roles": ["reader"], "iss": settings.jwt_issuer, "aud": settings.jwt_audience,
            "iat": now, "nbf": now, "exp": now + timedelta(minutes=5)}
    full.update(claims)
    return jwt.encode({k: v for k, v in full.items() if v is not None}, SECRET, algorithm="HS256")


def test_a_development_token_of_another_issuer_is_refused(settings):
    """The audit's "JWT from another issuer": same secret, same audience, another ``iss``."""
    assert decode_token(settings, signed(settings)).subject == "camille"
    with pytest.raises(Unauthenticated, match=f"its issuer \\(iss\\) is not {settings.jwt_issuer}$"):
        decode_token(settings, signed(settings, iss="https://idp.elsewhere.example.org"))
    other = settings.model_copy(update={"jwt_issuer": "another-platform"})
    with pytest.raises(Unauthenticated, match="issuer"):
        decode_token(settings, issue_token(other, "mallory", [ADMIN]))


def test_a_development_token_for_another_audience_is_refused(settings):
    with pytest.raises(Unauthenticated, match=f"its audience \\(aud\\) is not {settings.jwt_audience}$"):
        decode_token(settings, signed(settings, aud="another-api"))


@pytest.mark.parametrize("claim", ["exp", "iss", "aud", "sub"])
def test_a_token_without_a_required_claim_is_refused(settings, claim):
    with pytest.raises(Unauthenticated, match=f'missing the "{claim}" claim'):
        decode_token(settings, signed(settings, **{claim: None}))


def test_clock_skew_within_the_leeway_is_tolerated_and_beyond_it_refused(settings):
    now = datetime.now(timezone.utc)
    assert decode_token(settings, signed(settings, exp=now - timedelta(seconds=10))).subject == "camille"
    assert decode_token(settings, signed(settings, nbf=now + timedelta(seconds=10))).subject == "camille"
    with pytest.raises(Unauthenticated) as expired:
        decode_token(settings, signed(settings, exp=now - timedelta(seconds=60)))
    assert str(expired.value) == "the bearer token has expired"
    with pytest.raises(Unauthenticated) as early:
        decode_token(settings, signed(settings, nbf=now + timedelta(seconds=60)))
    assert str(early.value) == "the bearer token is not valid yet (nbf or iat is in the future)"
    strict = settings.model_copy(update={"jwt_leeway_seconds": 0})
    with pytest.raises(Unauthenticated, match="expired"):
        decode_token(strict, signed(settings, exp=now - timedelta(seconds=10)))


def test_issued_tokens_carry_their_claims_and_lifetime(settings):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    token = issue_token(settings, "camille", ["staff:events"], ttl=timedelta(hours=2), now=now)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience=settings.jwt_audience)
    assert claims == {"sub": "camille", "roles": ["staff:events"], "iss": settings.jwt_issuer,
                      "aud": settings.jwt_audience, "iat": int(now.timestamp()), "nbf": int(now.timestamp()),
                      "exp": int((now + timedelta(hours=2)).timestamp())}
    default = jwt.decode(issue_token(settings, "x", [], now=now), SECRET, algorithms=["HS256"],
                         audience=settings.jwt_audience)
    assert default["exp"] - default["iat"] == 12 * 3600  # `make token`'s tokens last a working day
    hs512 = settings.model_copy(update={"jwt_algorithm": "HS512", "jwt_secret": "s" * 64})
    token = issue_token(hs512, "camille", ["reader"])
    assert jwt.get_unverified_header(token)["alg"] == "HS512" and decode_token(hs512, token).subject == "camille"


def test_tokens_issued_on_a_machine_off_utc_are_valid_now(settings, monkeypatch):
    """``iat``/``nbf``/``exp`` are instants: a token made where the local time is UTC+9 is valid at once."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        claims = jwt.decode(issue_token(settings, "camille", ["reader"]), SECRET, algorithms=["HS256"],
                            audience=settings.jwt_audience)
        assert abs(claims["iat"] - time.time()) < 60
        assert decode_token(settings, issue_token(settings, "camille", ["reader"])).subject == "camille"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_roles_must_be_a_list_of_strings(settings):
    assert decode_token(settings, signed(settings, roles=None)).roles == frozenset()  # no roles: no access
    for wrong in ("admin", ["admin", 1], {"admin": True}):
        with pytest.raises(Unauthenticated, match="'roles' must be a list of strings"):
            decode_token(settings, signed(settings, roles=wrong))


def test_admin_and_staff_of_any_team_are_staff():
    assert Principal(subject="a", roles=frozenset({ADMIN})).is_staff()
    assert Principal(subject="s", roles=frozenset({"reader", "staff:events"})).is_staff()
    assert not Principal(subject="r", roles=frozenset({"reader", "partner", "privacy"})).is_staff()
    assert not Principal(subject="n", roles=frozenset()).has_any({"reader"})


def test_the_settings_choose_the_verifier():
    assert isinstance(authenticator(Settings(auth_mode="dev")), SharedSecret)
    oidc = authenticator(Settings(auth_mode="oidc", oidc_issuer="https://idp.example.org/realms/cress",
                                  oidc_audience="cress-api"))
    assert isinstance(oidc, OpenIDConnect) and oidc.keys.issuer == "https://idp.example.org/realms/cress"
