"""Where a webhook may be sent (SSRF): the URL's rules and the classification of the addresses
its host resolves to. Private, loopback, link-local, multicast, reserved, unspecified and
otherwise non-global addresses are refused, unless the configuration allows them (a host by name,
or a network): the tests' own receivers on 127.0.0.1. Checked when an endpoint is registered and
again before every delivery (DNS may have changed)."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from runtime.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_URL_LENGTH = 2048


@dataclass(frozen=True)
class AllowList:
    """Hosts (lower-case names) and networks exempt from the HTTPS rule and the address refusal."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, entries: list[str] | tuple[str, ...]) -> AllowList:
        hosts, networks = set(), []
        for entry in entries:
            entry = entry.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        """The host is listed by name, or is an address literal within an allowed network."""
        host = host.lower().rstrip(".")
        if host in self.hosts:
            return True
        address = literal(host)
        return address is not None and self.allows_address(address)

    def allows_address(self, address: IPAddress) -> bool:
        address = unmapped(address)
        return any(address in n for n in self.networks if n.version == address.version)


def literal(host: str) -> IPAddress | None:
    """The address a host names literally (``10.0.0.1``, ``[::1]`` → ``::1``), or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def unmapped(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address (``::ffff:10.0.0.1``) as the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def refusal(address: IPAddress | str, allow: AllowList = AllowList()) -> str | None:
    """Why ``address`` may not receive webhooks (``loopback``, ``private``…), or None if it may."""
    if isinstance(address, str):
        address = ipaddress.ip_address(address)
    address = unmapped(address)
    if allow.allows_address(address):
        return None
    for kind in ("unspecified", "loopback", "link_local", "multicast", "reserved", "private", "site_local"):
        if getattr(address, f"is_{kind}", False):
            return kind
    if not address.is_global:  # shared address space (100.64.0.0/10), documentation ranges…
        return "not_global"
    return None


@dataclass(frozen=True)
class Target:
    """An endpoint URL taken apart: what a delivery connects to."""

    url: str
    scheme: str
    host: str
    port: int


def endpoint_url(value: object, allow: AllowList, field: str = "url") -> Target:
    """The URL of an endpoint, checked (syntax only; the addresses are checked after resolution):
    absolute ``https`` (``http`` for an allowed host), a host, no user information, no fragment."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, f"{field} is required")
    url = value.strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(field, f"{field} is longer than {MAX_URL_LENGTH} characters")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise InvalidInput(field, f"{field} contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        raise InvalidInput(field, f"{field} is not a valid URL: {exc}") from None
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidInput(field, f"{field} must be an absolute https:// URL")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput(field, f"{field} must not carry credentials (user:password@): use custom headers")
    if parts.fragment:
        raise InvalidInput(field, f"{field} must not have a #fragment")
    if parts.scheme == "http" and not allow.allows_host(host):
        raise InvalidInput(field, f"{field} must use https")
    address = literal(host)
    if address is not None:
        why = refusal(address, allow)
        if why is not None:
            raise InvalidInput(field, f"{field} points at a {why.replace('_', '-')} address ({address}): refused")
    return Target(url=url, scheme=parts.scheme, host=host, port=port or (443 if parts.scheme == "https" else 80))
