"""A requests session that connects only to addresses :mod:`feeds.addresses` allows.

Checking a URL before sending is not enough: the name can resolve differently when the
connection is made (DNS rebinding). Here each new connection resolves its host once,
judges every address, and connects the socket to a checked address, so what was judged
is what is reached. TLS still verifies the certificate and sends SNI for the host name
of the URL, because urllib3 takes those from the connection's ``host``, not the socket.

A refusal raises :class:`~feeds.addresses.AddressRefusedError` out of ``session.get``/
``session.post`` unwrapped (neither urllib3 nor requests catch it), so callers can tell
it from a ``requests.ConnectionError``. Proxies are refused: a proxy would connect on
our behalf, out of reach of the check. Redirects are the caller's business
(``allow_redirects=False``).
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import requests
from requests.adapters import HTTPAdapter
from urllib3 import PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection

from feeds.addresses import (
    AddressRefusedError,
    IPAddress,
    Network,
    Resolver,
    check_addresses,
    resolve_host,
    system_resolver,
)


@dataclass(frozen=True, slots=True)
class Guard:
    """The address rules of one session: the allow-list and the resolver."""

    allowed: tuple[Network, ...]
    resolve: Resolver = system_resolver


class GuardedHTTPConnection(HTTPConnection):
    """An HTTP connection whose socket goes only to an address its guard allows."""

    def __init__(self, *args: Any, guard: Guard, **kwargs: Any) -> None:
        self.guard = guard
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        addresses = self._checked_addresses()
        try:
            sock = _connect_first(self, addresses)
        except TimeoutError as error:
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            ) from error
        except OSError as error:
            raise NewConnectionError(
                self, f"Failed to establish a new connection: {error}"
            ) from error
        sys.audit("http.client.connect", self, self.host, self.port)
        return sock

    def _checked_addresses(self) -> list[IPAddress]:
        # _dns_host keeps a trailing dot (an absolute name); host drops it.
        try:
            texts = resolve_host(self._dns_host, self.port, self.guard.resolve)
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error
        except (OSError, ValueError) as error:
            raise NewConnectionError(self, f"Failed to resolve {self.host}: {error}") from error
        if not texts:
            no_address = socket.gaierror(socket.EAI_NONAME, "no address")
            raise NameResolutionError(self.host, self, no_address)
        return check_addresses(self.host, texts, self.guard.allowed)


class GuardedHTTPSConnection(GuardedHTTPConnection, HTTPSConnection):
    """An HTTPS connection whose socket goes only to an address its guard allows."""


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    """A pool of :class:`GuardedHTTPConnection` (the guard comes in ``conn_kw``)."""

    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    """A pool of :class:`GuardedHTTPSConnection` (the guard comes in ``conn_kw``)."""

    ConnectionCls = GuardedHTTPSConnection


class GuardedPoolManager(PoolManager):
    """A pool manager that hands its guard to every pool it creates."""

    def __init__(self, guard: Guard, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.guard = guard
        self.pool_classes_by_scheme = {
            "http": GuardedHTTPConnectionPool,
            "https": GuardedHTTPSConnectionPool,
        }

    def _new_pool(
        self,
        scheme: str,
        host: str,
        port: int,
        request_context: dict[str, Any] | None = None,
    ) -> HTTPConnectionPool:
        # Added here, after the pool key was made: the key has a fixed set of fields.
        context = dict(self.connection_pool_kw if request_context is None else request_context)
        context["guard"] = self.guard
        return super()._new_pool(scheme, host, port, context)


class GuardedAdapter(HTTPAdapter):
    """A transport adapter whose connections obey a :class:`Guard` and never use proxies."""

    def __init__(self, guard: Guard, *, pool_maxsize: int = 10) -> None:
        self.guard = guard  # init_poolmanager, called by HTTPAdapter.__init__, needs it
        super().__init__(pool_maxsize=pool_maxsize)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        """Set up the guarded pool manager (called by ``HTTPAdapter``)."""
        self._pool_connections = connections
        self._pool_maxsize = maxsize
        self._pool_block = block
        self.poolmanager = GuardedPoolManager(
            self.guard, num_pools=connections, maxsize=maxsize, block=block, **pool_kwargs
        )

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> NoReturn:
        """Refuse: a proxy would connect where the guard cannot check."""
        raise AddressRefusedError(f"proxies are not allowed (asked to use {proxy})")


def safe_session(
    allowed: Sequence[Network],
    *,
    resolve: Resolver = system_resolver,
    user_agent: str,
    pool_maxsize: int = 10,
) -> requests.Session:
    """A session that reaches only public addresses and those in ``allowed``."""
    session = requests.Session()
    session.trust_env = False  # no proxies (nor netrc, nor CA bundle) from the environment
    session.headers["User-Agent"] = user_agent
    guard = Guard(tuple(allowed), resolve)
    session.mount("http://", GuardedAdapter(guard, pool_maxsize=pool_maxsize))
    session.mount("https://", GuardedAdapter(guard, pool_maxsize=pool_maxsize))
    return session


class ThreadSessions:
    """One guarded session per thread: a ``requests.Session`` is not meant to be shared."""

    def __init__(self, allowed: Sequence[Network], *, user_agent: str, pool_maxsize: int = 4):
        self.allowed = tuple(allowed)
        self.user_agent = user_agent
        self.pool_maxsize = pool_maxsize
        self._local = threading.local()

    def get(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = safe_session(
                self.allowed, user_agent=self.user_agent, pool_maxsize=self.pool_maxsize
            )
            self._local.session = session
        return session


def _connect_first(conn: HTTPConnection, addresses: Sequence[IPAddress]) -> socket.socket:
    """A socket to the first address that accepts, as urllib3 tries getaddrinfo's answers."""
    error: OSError | None = None
    for address in addresses:
        try:
            return connection.create_connection(
                (str(address), conn.port),
                conn.timeout,
                source_address=conn.source_address,
                socket_options=conn.socket_options,
            )
        except OSError as failure:
            error = failure
    assert error is not None  # check_addresses never returns an empty list
    raise error
