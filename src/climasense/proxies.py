"""The client's address and scheme behind trusted reverse proxies (CONTRACT §8).

Only a request whose TCP peer is one of `CLIMASENSE_TRUSTED_PROXIES` has its forwarding
headers read. `X-Forwarded-For` is read right to left: each proxy appends the address it saw,
so the right-most entry that is not itself a trusted proxy is the client (anything to its left
was written by the client and can be forged). `X-Forwarded-Proto` is the scheme the client used.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import Scope

from climasense.errors import ConfigurationError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    networks: list[Network] = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ConfigurationError(
                f"CLIMASENSE_TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR"
            ) from None
    return tuple(networks)


def _header(scope: Scope, name: bytes) -> list[str]:
    return [v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == name]


class ProxyResolver:
    def __init__(self, trusted: Iterable[str]) -> None:
        self.networks = parse_networks(trusted)

    def is_trusted(self, address: str | None) -> bool:
        if not self.networks or not address:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def _peer(self, scope: Scope) -> str | None:
        client = scope.get("client")
        return client[0] if client else None

    def client_address(self, scope: Scope) -> str:
        peer = self._peer(scope)
        if peer is None:
            return "unknown"
        if not self.is_trusted(peer):
            return peer
        hops = [h.strip() for line in _header(scope, b"x-forwarded-for") for h in line.split(",")]
        for hop in reversed(hops):
            if not hop:
                continue
            if not self.is_trusted(hop):
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    return peer  # garbage from a client: the proxy is the last we know
        return peer

    def scheme(self, scope: Scope) -> str:
        scheme = str(scope.get("scheme", "http"))
        if self.is_trusted(self._peer(scope)):
            values = _header(scope, b"x-forwarded-proto")
            if values:
                # A chain of proxies may list several: the first was written by the proxy
                # that faced the client.
                proto = values[0].split(",")[0].strip().lower()
                if proto in {"http", "https"}:
                    return proto
        return scheme
