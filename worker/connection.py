"""Where Redis is: ``REDIS_URL`` if set, else the embedded server under the data directory.

One function gives each client its URL, so the API, the workers and the CLI always
agree. redis-py and kombu spell Unix sockets differently (``unix://`` and
``redis+socket://``); both are derived from the same setting.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

import redis

from config.settings import Settings
from worker.embedded_redis import EmbeddedRedis


def embedded_for(settings: Settings) -> EmbeddedRedis | None:
    """The embedded server to use, or ``None`` when ``REDIS_URL`` is set."""
    return None if settings.redis_url else EmbeddedRedis(settings.data_dir)


def redis_url(settings: Settings) -> str:
    """URL for redis-py clients."""
    if settings.redis_url:
        return settings.redis_url
    return EmbeddedRedis(settings.data_dir).url


def broker_url(settings: Settings) -> str:
    """URL for Celery's broker (kombu)."""
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


def redis_client(settings: Settings, **options: object) -> redis.Redis:
    """A redis-py client (bytes replies) for the configured server."""
    return redis.Redis.from_url(redis_url(settings), **options)
