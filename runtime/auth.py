"""Bearer JWT authentication and role checks (PyJWT).

Tokens are OAuth2 access tokens signed with the configured key (``JWT_SECRET``,
``JWT_ALGORITHM``), with ``iss``, ``aud``, ``exp`` and ``sub`` required, and the
roles in a ``roles`` claim:

- ``admin``            everything;
- ``staff:<team>``     staff of a team (pôle), e.g. ``staff:membership``: reads and writes
                       of the service that team runs;
- ``partner``          a partner (financing body, local authority, network): the partner
                       endpoints (e.g. who is a member in good standing);
- ``reader``           read-only access to every read endpoint.

No or invalid token: 401 with ``WWW-Authenticate: Bearer``. Valid token, wrong role: 403.
Who may call which operation of which service is one table: :mod:`runtime.authorization`.
``python -m runtime.auth token`` prints a development token for the local stack.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated

import jwt
import typer
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from runtime.errors import DomainError
from runtime.settings import Settings

ADMIN, PARTNER, READER = "admin", "partner", "reader"


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


def issue_token(settings: Settings, subject: str, roles: list[str], *, ttl: timedelta = timedelta(hours=12),
                now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    claims = {"sub": subject, "roles": roles, "iss": settings.jwt_issuer, "aud": settings.jwt_audience,
              "iat": now, "nbf": now, "exp": now + ttl}
    return jwt.encode(claims, settings.jwt_secret, algorithm=settings.jwt_algorithm)


def decode_token(settings: Settings, token: str) -> Principal:
    try:
        claims = jwt.decode(token, settings.jwt_secret, algorithms=[settings.jwt_algorithm],
                            audience=settings.jwt_audience, issuer=settings.jwt_issuer,
                            options={"require": ["exp", "iss", "aud", "sub"]})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the bearer token has expired") from None
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"invalid bearer token: {exc}") from None
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthenticated("invalid bearer token: 'roles' must be a list of strings")
    return Principal(subject=str(claims["sub"]), roles=frozenset(roles))


_bearer = HTTPBearer(auto_error=False, description="OAuth2 access token (JWT). `make token` prints one.")


async def current_principal(request: Request,
                            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("a bearer token is required (Authorization: Bearer <token>)")
    return decode_token(request.app.state.settings, credentials.credentials)


def allow(*roles: str):
    """A FastAPI dependency admitting ``admin`` and any of ``roles``; 403 for other principals."""
    wanted = set(roles)

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.has_any(wanted):
            needed = ", ".join(sorted(wanted | {ADMIN}))
            raise Forbidden(f"this operation needs one of the roles: {needed}", needed=sorted(wanted | {ADMIN}))
        return principal

    dependency.roles = frozenset(wanted)  # type: ignore[attr-defined]  # what runtime.authorization checks
    return dependency


cli = typer.Typer(help="Development tokens for the local stack.", add_completion=False)


@cli.command()
def token(role: Annotated[list[str], typer.Option("--role", "-r", help="Role(s) to grant.")] = [ADMIN],  # noqa: B006
          subject: str = typer.Option("dev-admin", "--sub", help="The token's subject."),
          hours: float = typer.Option(12.0, help="Validity in hours.")) -> None:
    """Print a signed bearer token valid for the local stack (uses JWT_SECRET)."""
    typer.echo(issue_token(Settings(), subject, list(role), ttl=timedelta(hours=hours)))


if __name__ == "__main__":
    cli()
