"""Which network addresses outgoing requests (WebSub callbacks, webhooks) may reach.

Only public addresses, unless a network is in the allow-list
(``SYNDICATE_WEBHOOK_ALLOWED_NETWORKS``): loopback, private (RFC 1918, fc00::/7),
link-local (including 169.254.169.254, cloud metadata), CGNAT, multicast, reserved
and unspecified addresses are refused, and IPv4-mapped IPv6 addresses are judged by
the IPv4 address they carry. A host name is judged by every address it resolves to.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from worker.core.errors import SyndicateError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

_CGNAT = ipaddress.ip_network("100.64.0.0/10")


class AddressRefusedError(SyndicateError):
    """A URL points where syndicate may not send requests."""


def parse_networks(text: str) -> tuple[Network, ...]:
    """Comma-separated CIDRs, e.g. ``127.0.0.0/8,::1/128``."""
    try:
        return tuple(
            ipaddress.ip_network(item.strip(), strict=False)
            for item in text.split(",")
            if item.strip()
        )
    except ValueError as error:
        raise AddressRefusedError(f"not a network list: {error}") from None


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to."""
    return sorted(
        {str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
    )


def is_public(address: IPAddress) -> bool:
    """Whether an address is globally routable and not special-purpose."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public(address.ipv4_mapped)
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return False
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified
    )


def check_url(
    url: str, allowed: Sequence[Network], resolve: Resolver = system_resolver
) -> list[str]:
    """The addresses ``url`` may be reached at; raises :class:`AddressRefusedError` otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise AddressRefusedError("only http and https URLs are allowed")
    if not parts.hostname:
        raise AddressRefusedError("the URL has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = resolve(parts.hostname, port)
    except (OSError, ValueError, UnicodeError) as error:
        raise AddressRefusedError(f"cannot resolve {parts.hostname}: {error}") from None
    if not addresses:
        raise AddressRefusedError(f"{parts.hostname} has no address")
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not (is_public(address) or any(address in network for network in allowed)):
            raise AddressRefusedError(
                f"{parts.hostname} resolves to {address}, which is not public"
            )
    return addresses
