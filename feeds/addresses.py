"""Which network addresses outgoing requests (WebSub callbacks, webhooks) may reach.

Only public addresses, unless a network is in the allow-list
(``SYNDICATE_WEBHOOK_ALLOWED_NETWORKS``): loopback, private (RFC 1918, fc00::/7),
link-local (including 169.254.169.254, cloud metadata), CGNAT, multicast, reserved,
unspecified and site-local addresses are refused. A host name is judged by every
address it resolves to.

Hosts are judged by the address they mean, the way ``inet_aton``/``getaddrinfo`` read
them: ``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1`` and ``127.0.0.1.`` are all
127.0.0.1, and never reach the resolver. A host whose last label is a number but which
is no valid IPv4 address (``08.1``, ``256.0.0.1``, ``a.1``) is refused.
Non-ASCII hosts are IDNA-encoded as requests does (``１２７。０。０。１`` is 127.0.0.1).

IPv6 addresses that carry an IPv4 address are judged by it: IPv4-mapped
(``::ffff:0:0/96``) and NAT64 (``64:ff9b::/96``). 6to4 (``2002::/16``), Teredo
(``2001::/32``) and local NAT64 (``64:ff9b:1::/48``) are refused outright; so are
IPv4-compatible addresses (``::/96``, inside the reserved ``::/8``).

:func:`check_url` judges a URL once (at subscription time); :mod:`feeds.safe_http`
applies the same rules to the address each connection is actually made to.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import string
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

import idna

from worker.core.errors import SyndicateError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_REFUSED_V6 = tuple(
    ipaddress.ip_network(cidr) for cidr in ("2002::/16", "2001::/32", "64:ff9b:1::/48")
)
_NUMBER = re.compile(r"0x[0-9a-f]*|[0-9]+")
_NAME = re.compile(r"[a-z0-9_.-]+")
# RFC 3986 authority characters; a backslash in particular ends the authority for
# urllib3 but not for urlsplit, so ``http://10.0.0.1\@example.com/`` would be judged
# as example.com and sent to 10.0.0.1.
_AUTHORITY = frozenset(string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@[]%")


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
    """Every address ``host`` resolves to, in the order ``getaddrinfo`` prefers."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped or NAT64 IPv6 address reaches, if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """Whether an address is globally routable and not special-purpose."""
    address = _without_scope(address)
    embedded = embedded_ipv4(address)
    if embedded is not None:
        return is_public(embedded)
    if isinstance(address, ipaddress.IPv4Address):
        if address in _CGNAT:
            return False
    elif address.is_site_local or any(address in network for network in _REFUSED_V6):
        return False
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified
    )


def check_address(text: str, allowed: Sequence[Network]) -> IPAddress:
    """The address ``text`` (as a resolver writes it) if it may be reached; raises otherwise."""
    address = _resolved_address(text)
    if not _may_reach(address, allowed):
        raise AddressRefusedError(f"{address} is not public")
    return address


def check_addresses(host: str, texts: Sequence[str], allowed: Sequence[Network]) -> list[IPAddress]:
    """Every address of ``host``, each checked; raises if any is refused or there is none."""
    if not texts:
        raise AddressRefusedError(f"{host} has no address")
    addresses = [_resolved_address(text) for text in texts]
    for address in addresses:
        if not _may_reach(address, allowed):
            raise AddressRefusedError(f"{host} resolves to {address}, which is not public")
    return addresses


def parse_host(host: str) -> IPAddress | str:
    """What a URL host means: the IP address it spells, or a host name to resolve."""
    if ":" in host:  # only IPv6 literals contain colons
        return _ipv6_literal(host.removeprefix("[").removesuffix("]"))
    name = _ascii_name(host)
    number = _ipv4_number(name)
    return name if number is None else number


def resolve_host(host: str, port: int, resolve: Resolver) -> list[str]:
    """The addresses a URL host stands for; only real names are given to ``resolve``."""
    target = parse_host(host)
    if isinstance(target, str):
        return resolve(target, port)
    return [str(target)]


def check_url(
    url: str, allowed: Sequence[Network], resolve: Resolver = system_resolver
) -> list[str]:
    """The addresses ``url`` may be reached at; raises :class:`AddressRefusedError` otherwise."""
    host, port = _url_host(url)
    try:
        texts = resolve_host(host, port, resolve)
    except (OSError, ValueError) as error:
        raise AddressRefusedError(f"cannot resolve {host}: {error}") from None
    return [str(address) for address in check_addresses(host, texts, allowed)]


def _url_host(url: str) -> tuple[str, int]:
    if any(char.isspace() or not char.isprintable() for char in url):
        raise AddressRefusedError("the URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise AddressRefusedError(f"not a valid URL: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise AddressRefusedError("only http and https URLs are allowed")
    if any(char.isascii() and char not in _AUTHORITY for char in parts.netloc):
        raise AddressRefusedError("the URL's host part contains unexpected characters")
    if not parts.hostname:
        raise AddressRefusedError("the URL has no host")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _ascii_name(host: str) -> str:
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (UnicodeError, ValueError):
            raise AddressRefusedError(f"{host!r} is not a valid host name") from None
    host = host.lower()
    if not _NAME.fullmatch(host) or "" in host.removesuffix(".").split("."):
        raise AddressRefusedError(f"{host!r} is not a valid host name")
    return host


def _ipv4_number(name: str) -> ipaddress.IPv4Address | None:
    """``name`` read as inet_aton would (1-4 parts, octal/hex/decimal); None for a name."""
    labels = name.removesuffix(".").split(".")
    if not _NUMBER.fullmatch(labels[-1]):
        return None
    try:
        *head, last = (_number(label) for label in labels)
    except ValueError:
        raise AddressRefusedError(f"{name!r} is not a valid IPv4 address") from None
    if len(head) > 3 or any(part > 0xFF for part in head) or last >= 1 << (8 * (4 - len(head))):
        raise AddressRefusedError(f"{name!r} is not a valid IPv4 address")
    value = last
    for index, part in enumerate(head):
        value |= part << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _number(label: str) -> int:
    if not _NUMBER.fullmatch(label) or label == "0x":
        raise ValueError(label)
    if label.startswith("0x"):
        return int(label[2:], 16)
    if label.startswith("0"):
        return int(label, 8)
    return int(label)


def _ipv6_literal(text: str) -> ipaddress.IPv6Address:
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        raise AddressRefusedError(f"{text!r} is not a valid IPv6 address") from None


def _without_scope(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        return ipaddress.IPv6Address(int(address))
    return address


def _resolved_address(text: str) -> IPAddress:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise AddressRefusedError(f"{text!r} is not an IP address") from None


def _may_reach(address: IPAddress, allowed: Sequence[Network]) -> bool:
    bare = _without_scope(address)
    embedded = embedded_ipv4(bare)
    meant = [bare] if embedded is None else [bare, embedded]
    return is_public(bare) or any(item in network for item in meant for network in allowed)
