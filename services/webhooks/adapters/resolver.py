"""Resolving an endpoint's host, and the address check (SSRF) on what it resolves to — when an
endpoint is registered and again before each delivery (a name may start pointing inward)."""
from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

from services.webhooks.domain.addresses import AllowList, literal, refusal

Resolver = Callable[[str, int], Awaitable[list[str]]]


class Unresolvable(Exception):
    """The host has no address (or the resolver failed)."""


class Refused(Exception):
    """The host resolves to an address webhooks may not go to."""

    def __init__(self, address: str, kind: str) -> None:
        super().__init__(f"{address} is a {kind.replace('_', '-')} address")
        self.address, self.kind = address, kind


async def resolve(host: str, port: int, timeout: float = 5.0) -> list[str]:
    """The addresses of ``host`` (the literal itself for an address)."""
    address = literal(host)
    if address is not None:
        return [str(address)]
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout)
    except (OSError, asyncio.TimeoutError, UnicodeError) as exc:
        raise Unresolvable(f"{host} does not resolve ({type(exc).__name__})") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise Unresolvable(f"{host} has no address")
    return addresses


async def checked_addresses(host: str, port: int, allow: AllowList, resolver: Resolver = resolve) -> list[str]:
    """The addresses of ``host``, every one of them allowed; :class:`Refused` names the first that is not.
    A host allowed by name is not checked."""
    addresses = await resolver(host, port)
    if allow.allows_host(host):
        return addresses
    for address in addresses:
        kind = refusal(address.split("%")[0], allow)  # drop an IPv6 zone id
        if kind is not None:
            raise Refused(address, kind)
    return addresses
