"""Bearer JWT authentication, role checks and the partner routes' rate limit (PyJWT).

Two ways to verify a token (``AUTH_MODE``), the same claims checked (``iss``, ``aud``, ``exp``,
``sub`` required, ``nbf``/``iat`` when present, ``JWT_LEEWAY_SECONDS`` of clock skew):

- ``oidc`` (production): tokens of the chamber's identity provider ``OIDC_ISSUER``, signed RS256 or
  ES256 with one of the keys its discovery document's JWKS publishes (:mod:`runtime.oidc`: cached,
  fetched again on an unknown ``kid``), for the audience ``OIDC_AUDIENCE``; the roles in the claim
  ``OIDC_ROLES_CLAIM`` (a dotted path reaches a nested claim). Any other algorithm (``none``, HS256
  signed with a public key) is refused before a key is looked at.
- ``dev`` (development, the tests): HS256 with the shared secret ``JWT_SECRET``, issuer
  ``JWT_ISSUER``, audience ``JWT_AUDIENCE``, roles in ``roles``. ``python -m runtime.auth token``
  (``make token``) prints one for the local stack.

The roles:

- ``admin``            everything;
- ``staff:<team>``     staff of a team (pôle), e.g. ``staff:membership``: reads and writes
                       of the service that team runs;
- ``partner``          a partner (financing body, local authority, network): the partner
                       endpoints (e.g. who is a member in good standing);
- ``reader``           read-only access to every read endpoint;
- ``privacy``          the chamber's data protection officer: a person's data, exported or
                       erased (``/personal-data``, erasure requests), and nothing else.

No or invalid token: 401 with ``WWW-Authenticate: Bearer`` and the reason. Valid token, wrong
role: 403. Identity provider unreachable and no keys cached: 503 naming it. A route admitting
``partner`` is rate-limited per subject (:mod:`runtime.ratelimit`): 429 with ``Retry-After``.
Who may call which operation of which service is one table: :mod:`runtime.authorization`.
``python -m runtime.auth token`` prints a development token for the local stack.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Protocol

import jwt
import typer
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from runtime import ratelimit
from runtime.errors import DomainError
from runtime.oidc import ALGORITHMS, IssuerKeys, UnknownKey
from runtime.settings import Settings

ADMIN, PARTNER, READER, PRIVACY = "admin", "partner", "reader", "privacy"


def staff(team: str) -> str:
    return f"staff:{team}"


class Unauthenticated(DomainError):
    status = 401
    title = "Unauthenticated"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class Principal(BaseModel):
    subject: str
    roles: frozenset[str]

    def has_any(self, roles: set[str]) -> bool:
        return ADMIN in self.roles or bool(self.roles & roles)

    def is_staff(self) -> bool:
        """``admin`` or staff of some team (``staff:<team>``)."""
        return ADMIN in self.roles or any(role.startswith("staff:") for role in self.roles)


def issue_token(settings: Settings, subject: str, roles: list[str], *, ttl: timedelta = timedelta(hours=12),
                now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    claims = {"sub": subject, "roles": roles, "iss": settings.jwt_issuer, "aud": settings.jwt_audience,
              "iat": now, "nbf": now, "exp": now + ttl}
    return jwt.encode(claims, settings.jwt_secret, algorithm=settings.jwt_algorithm)


def _verified_claims(token: str, key: Any, *, algorithms: list[str], issuer: str, audience: str,
                     leeway: float) -> dict[str, Any]:
    try:
        return jwt.decode(token, key, algorithms=algorithms, audience=audience, issuer=issuer, leeway=leeway,
                          options={"require": ["exp", "iss", "aud", "sub"]})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the bearer token has expired") from None
    except jwt.ImmatureSignatureError:
        raise Unauthenticated("the bearer token is not valid yet (nbf or iat is in the future)") from None
    except jwt.InvalidIssuerError:
        raise Unauthenticated(f"invalid bearer token: its issuer (iss) is not {issuer}") from None
    except jwt.InvalidAudienceError:
        raise Unauthenticated(f"invalid bearer token: its audience (aud) is not {audience}") from None
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"invalid bearer token: {exc}") from None


def _principal(claims: dict[str, Any], roles_claim: str) -> Principal:
    roles: Any = claims
    for part in roles_claim.split("."):
        roles = roles.get(part) if isinstance(roles, dict) else None
    roles = [] if roles is None else roles
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthenticated(f"invalid bearer token: {roles_claim!r} must be a list of strings")
    return Principal(subject=str(claims["sub"]), roles=frozenset(roles))


def decode_token(settings: Settings, token: str) -> Principal:
    """The principal of a development token (HS256, ``JWT_SECRET``)."""
    claims = _verified_claims(token, settings.jwt_secret, algorithms=[settings.jwt_algorithm],
                              issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                              leeway=settings.jwt_leeway_seconds)
    return _principal(claims, "roles")


class Authenticator(Protocol):
    async def principal(self, token: str) -> Principal: ...


class SharedSecret:
    """``AUTH_MODE=dev``: HS256 tokens signed with ``JWT_SECRET`` (:func:`issue_token`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def principal(self, token: str) -> Principal:
        return decode_token(self.settings, token)


class OpenIDConnect:
    """``AUTH_MODE=oidc``: tokens of the identity provider ``OIDC_ISSUER`` (RS256 / ES256)."""

    def __init__(self, settings: Settings, keys: IssuerKeys | None = None) -> None:
        self.settings = settings
        self.keys = keys or IssuerKeys.from_settings(settings)

    async def principal(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid bearer token: {exc}") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:  # none, HS256 signed with a public key…: refused before any key is used
            raise Unauthenticated(f"invalid bearer token: algorithm {alg!r} is not accepted "
                                  f"(accepted: {', '.join(ALGORITHMS)})")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("invalid bearer token: its header names no key (kid)")
        try:
            key = await self.keys.key(kid)
        except UnknownKey as exc:
            raise Unauthenticated(f"invalid bearer token: {exc}") from None
        claims = _verified_claims(token, key, algorithms=list(ALGORITHMS), issuer=self.settings.oidc_issuer,
                                  audience=self.settings.oidc_audience, leeway=self.settings.jwt_leeway_seconds)
        return _principal(claims, self.settings.oidc_roles_claim)


def authenticator(settings: Settings) -> Authenticator:
    """How this service verifies bearer tokens (``AUTH_MODE``)."""
    return OpenIDConnect(settings) if settings.auth_mode == "oidc" else SharedSecret(settings)


_bearer = HTTPBearer(auto_error=False, description="OAuth2 access token (JWT). `make token` prints one.")


async def current_principal(request: Request,
                            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    """The caller, from its bearer token (401 without a valid one); verified once per request."""
    known = getattr(request.state, "principal", None)
    if known is not None:  # verified already (by the door, runtime.http.GuardedRoute, or another gate)
        return known
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("a bearer token is required (Authorization: Bearer <token>)")
    state = request.app.state
    if getattr(state, "authenticator", None) is None:  # an app not built by runtime.http.create_app
        state.authenticator = authenticator(state.settings)
    principal = await state.authenticator.principal(credentials.credentials)
    request.state.principal = principal  # also whose Idempotency-Key it is (runtime.idempotency)
    return principal


async def authenticate(request: Request) -> Principal:
    """:func:`current_principal` outside FastAPI's dependency resolution: the door of a protected
    route (:class:`runtime.http.GuardedRoute`) calls it before reading the request's input."""
    return await current_principal(request, await _bearer(request))


def allow(*roles: str):
    """A FastAPI dependency admitting ``admin`` and any of ``roles``; 403 for other principals.
    A route admitting ``partner`` is rate-limited per subject (:func:`runtime.ratelimit.limit`).

    Its ``admit(request, principal)`` is the check itself: the door of a route
    (:class:`runtime.http.GuardedRoute`) runs it, authentication first, before the route's input is
    read or validated, so that a caller without the right learns nothing of the request's shape;
    the dependency then finds the principal verified and the token taken (both once per request)."""
    wanted = set(roles)
    limited = PARTNER in wanted

    async def admit(request: Request, principal: Principal) -> None:
        if not principal.has_any(wanted):
            needed = ", ".join(sorted(wanted | {ADMIN}))
            raise Forbidden(f"this operation needs one of the roles: {needed}", needed=sorted(wanted | {ADMIN}))
        if limited:
            await ratelimit.limit(request, principal)

    async def dependency(request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        await admit(request, principal)
        return principal

    dependency.__cress_rate_limited__ = limited  # type: ignore[attr-defined]  (runtime.http documents its 429)
    dependency.roles = frozenset(wanted)  # type: ignore[attr-defined]  # what runtime.authorization checks
    dependency.admit = admit  # type: ignore[attr-defined]  # what the door runs first (runtime.http)
    return dependency


cli = typer.Typer(help="Development tokens for the local stack.", add_completion=False)


@cli.command()
def token(role: Annotated[list[str], typer.Option("--role", "-r", help="Role(s) to grant.")] = [ADMIN],  # noqa: B006
          subject: str = typer.Option("dev-admin", "--sub", help="The token's subject."),
          hours: float = typer.Option(12.0, help="Validity in hours.")) -> None:
    """Print a signed bearer token valid for the local stack (AUTH_MODE=dev; uses JWT_SECRET)."""
    typer.echo(issue_token(Settings(), subject, list(role), ttl=timedelta(hours=hours)))


if __name__ == "__main__":
    cli()
