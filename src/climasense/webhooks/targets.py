"""Webhook targets outside the private network (CONTRACT §8).

A webhook URL is refused (422 on `url`) when it carries `user:password@`, when its host is a
name for this machine (`localhost`, `*.localhost`), or when its host is — or resolves to — an
address that is not globally routable: loopback, private, link-local, unique-local, shared
(CGNAT), multicast, reserved or unspecified, IPv4-mapped IPv6 forms included. IPv4 literals are
read the way a C resolver reads them, so `2130706433`, `0x7f.0.0.1`, `0177.1` and `127.1` are
all 127.0.0.1. At delivery the host is resolved again and every address checked (a name can
be re-pointed after registration: DNS rebinding), and the connection goes to the address that
was checked, not to a second resolution.

`CLIMASENSE_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true` lifts the address rule (on-premises receivers,
tests); the userinfo rule stays.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from climasense.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.IGNORECASE)
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")

# Webhook hosts are looked up on threads of their own. getaddrinfo blocks its thread for as
# long as the resolver takes (seconds per server and try when DNS does not answer), and a
# caller's timeout cannot stop it. On the event loop's default executor a handful of webhooks
# on such names held every thread, and everything else the process runs there (the local
# firmware store's file I/O) queued behind them: a firmware upload got no answer in CI. A
# lookup still queued when its caller gives up is dropped, so the queue cannot outgrow the
# deliveries waiting on it. The system resolver stays (not c-ares): it reads /etc/hosts and
# nsswitch the way every other program on the machine does.
NAME_LOOKUP_THREADS = 4
name_lookups = ThreadPoolExecutor(NAME_LOOKUP_THREADS, thread_name_prefix="webhook-dns")


class TargetRefused(ValueError):
    """The URL or the address it leads to is not an allowed webhook target."""


def refusal(message: str) -> ValidationFailed:
    return ValidationFailed("Invalid webhook", details=[{"field": "url", "message": message}])


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an IP literal means (legacy IPv4 forms included)."""
    text = host.strip("[]")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text.rstrip(".")))
        except OSError:
            raise TargetRefused("is not a valid IP address") from None
    return None


def is_public(address: IPAddress) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        return is_public(mapped)
    if isinstance(address, ipaddress.IPv6Address) and address.sixtofour is not None:
        return is_public(address.sixtofour)
    return address.is_global and not address.is_multicast


def _is_local_name(host: str) -> bool:
    name = host.rstrip(".").lower()
    return name in _LOCAL_NAMES or name.endswith(".localhost")


@dataclass(frozen=True, slots=True)
class Target:
    parts: SplitResult
    host: str
    port: int


def parse_target(url: str) -> Target:
    """The URL's parts; TargetRefused for anything but a plain absolute http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused("must be an absolute http:// or https:// URL") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise TargetRefused("must be an absolute http:// or https:// URL")
    if "@" in parts.netloc:
        raise TargetRefused("may not carry user:password@ (put credentials in the secret)")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise TargetRefused("may not contain spaces or control characters")
    default = 443 if parts.scheme == "https" else 80
    return Target(parts, parts.hostname, port or default)


def check_host(target: Target, allow_private: bool) -> IPAddress | None:
    """Refuse a host that names this machine or a non-public address; the address if the
    host is an IP literal."""
    address = literal_address(target.host)
    if allow_private:
        return address
    if address is not None:
        if not is_public(address):
            raise TargetRefused(f"{address} is not a public address")
        return address
    if _is_local_name(target.host):
        raise TargetRefused(f"{target.host} names this machine")
    return None


async def resolve(host: str, port: int) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    lookup = functools.partial(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    infos = await loop.run_in_executor(name_lookups, lookup)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


async def check_url(url: str, *, allow_private: bool) -> None:
    """Registration: 422 on `url` for a refused target. A name that does not resolve (yet)
    is accepted; delivery checks it again."""
    try:
        target = parse_target(url)
        if check_host(target, allow_private) is not None or allow_private:
            return
        try:
            addresses = await asyncio.wait_for(resolve(target.host, target.port), 3.0)
        except (OSError, TimeoutError, UnicodeError):
            return
        for address in addresses:
            if not is_public(address):
                raise TargetRefused(f"{target.host} resolves to {address}, not a public address")
    except TargetRefused as exc:
        raise refusal(str(exc)) from None


async def pin(url: str, *, allow_private: bool) -> tuple[str, str, str | None]:
    """Delivery: (URL to connect to, with the checked address in place of the name; the Host
    header; the TLS server name) — or TargetRefused."""
    target = parse_target(url)
    literal = check_host(target, allow_private)
    if literal is not None:
        return url, target.parts.netloc, None
    try:
        addresses = await resolve(target.host, target.port)
    except (OSError, UnicodeError) as exc:
        raise TargetRefused(f"{target.host} does not resolve") from exc
    if not addresses:
        raise TargetRefused(f"{target.host} does not resolve")
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise TargetRefused(f"{target.host} resolves to a non-public address")
    chosen = addresses[0]
    host = f"[{chosen}]" if chosen.version == 6 else str(chosen)
    netloc = f"{host}:{target.port}"
    pinned = target.parts._replace(netloc=netloc).geturl()
    sni = target.host if target.parts.scheme == "https" else None
    return pinned, target.parts.netloc, sni
