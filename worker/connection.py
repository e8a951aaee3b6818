"""Where Redis is: ``REDIS_URL`` if set, else the embedded server under the data directory.

One function gives each client its URL, so the API, the workers and the CLI always
agree. Redis is always the coordination store; Celery's broker is the same Redis unless
``CELERY_BROKER_URL`` names a RabbitMQ (``amqp://``), see :func:`celery_broker_url`.
redis-py and kombu spell Unix sockets differently (``unix://`` and
``redis+socket://``); both are derived from the same setting.

Sentinel: ``REDIS_URL=sentinel://host1:26379;sentinel://host2:26379/0`` (kombu's
spelling: sentinels separated by ``;``, an optional ``/db`` on the last one) with the
monitored master's name in ``SYNDICATE_REDIS_SENTINEL_MASTER`` (default ``mymaster``).
Both the broker and the store then follow the current master through failovers.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import redis
import redis.sentinel

from config.settings import ConfigError, Settings
from worker.embedded_redis import EmbeddedRedis


def embedded_for(settings: Settings) -> EmbeddedRedis | None:
    """The embedded server to use, or ``None`` when ``REDIS_URL`` is set."""
    return None if settings.redis_url else EmbeddedRedis(settings.data_dir)


def redis_url(settings: Settings) -> str:
    """URL for redis-py clients."""
    if settings.redis_url:
        return settings.redis_url
    return EmbeddedRedis(settings.data_dir).url


AMQP_SCHEMES = ("amqp", "amqps", "pyamqp")


def is_amqp(url: str) -> bool:
    """Whether ``url`` names a RabbitMQ (AMQP 0-9-1) broker."""
    return urlsplit(url).scheme in AMQP_SCHEMES


def celery_broker_url(settings: Settings) -> str:
    """Celery's broker: ``CELERY_BROKER_URL`` when set (RabbitMQ), else the Redis server."""
    return settings.broker_url or broker_url(settings)


def broker_url(settings: Settings) -> str:
    """URL of the Redis server as Celery's broker (kombu's spelling)."""
    url = redis_url(settings)
    parts = urlsplit(url)
    if parts.scheme == "unix":
        # kombu takes the database of a socket connection from ``virtual_host``.
        pairs = [
            ("virtual_host" if key == "db" else key, value) for key, value in parse_qsl(parts.query)
        ]
        query = f"?{urlencode(pairs)}" if pairs else ""
        return f"redis+socket://{parts.path}{query}"
    return url


def is_sentinel(url: str) -> bool:
    """Whether ``url`` names Sentinels rather than a Redis server."""
    return url.startswith("sentinel://")


def sentinel_addresses(url: str) -> tuple[list[tuple[str, int]], int, str | None]:
    """Sentinel (host, port) pairs, the database and the password of a sentinel:// URL."""
    addresses: list[tuple[str, int]] = []
    database, password = 0, None
    for part in url.split(";"):
        parts = urlsplit(part.strip())
        if parts.scheme != "sentinel" or not parts.hostname:
            raise ConfigError(f"REDIS_URL: {part!r} is not sentinel://host:port")
        addresses.append((parts.hostname, parts.port or 26379))
        password = parts.password or password
        if parts.path.strip("/"):
            database = int(parts.path.strip("/"))
    return addresses, database, password


def broker_transport_sentinel(settings: Settings) -> dict[str, object]:
    """Extra broker transport options for a Sentinel URL (none otherwise)."""
    url = redis_url(settings)
    return {"master_name": settings.sentinel_master} if is_sentinel(url) else {}


def redis_client(settings: Settings, **options: Any) -> redis.Redis:
    """A redis-py client (bytes replies) for the configured server."""
    url = redis_url(settings)
    if not is_sentinel(url):
        return redis.Redis.from_url(url, **options)
    addresses, database, password = sentinel_addresses(url)
    sentinels = redis.sentinel.Sentinel(  # type: ignore[no-untyped-call]
        addresses, sentinel_kwargs={"password": password}
    )
    client: redis.Redis = sentinels.master_for(  # type: ignore[no-untyped-call]
        settings.sentinel_master, db=database, password=password, **options
    )
    return client
