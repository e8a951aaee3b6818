"""Settings, read once from the environment into one frozen object.

Every variable is optional; the defaults run syndicate on one machine with an
embedded Redis under ``./var``. A malformed value raises :class:`ConfigError`
naming the variable, instead of failing later in a worker.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from worker.core.durations import parse_duration, parse_schedule
from worker.core.errors import SyndicateError
from worker.core.options import MIB, CoreOptions


class ConfigError(SyndicateError):
    """An environment variable has a value syndicate cannot use."""


@dataclass(frozen=True, slots=True)
class Settings:
    """All of syndicate's configuration."""

    redis_url: str | None
    data_dir: Path
    api_tokens: tuple[str, ...]
    site_url: str
    public_dir: Path
    log_format: str
    core: CoreOptions
    max_request_bytes: int = 2 * MIB
    visibility_timeout: int = 90
    unacked_restore_interval: int = 5
    task_time_limit: int = 60
    requeue_interval: int = 5
    sentinel_master: str = "mymaster"
    site_title: str = "syndicate"
    feeds_url: str = "http://127.0.0.1:8080/feeds/"
    feed_entries: int = 50
    author_feeds: bool = True
    tag_feeds: bool = True
    feed_max_age: int = 300
    publish_delay: float = 1.0
    allowed_networks: str = ""
    hub_url: str | None = None
    webhook_schedule: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    webhook_connect_timeout: float = 5.0
    webhook_timeout: float = 15.0
    webhook_retry_after_min: float = 60.0
    webhook_disable_after: float = 5 * 86400.0
    webhook_rotation_grace: float = 86400.0
    webhook_max_in_flight: int = 1
    delivery_retention: float = 30 * 86400.0
    delivery_tick: float = 1.0
    database_url: str | None = None
    broker_url: str | None = None
    database_pool_size: int = 8
    submission_retention: float = 30 * 86400.0
    ingest_lease: float = 15.0
    portal_key: str = ""

    def __post_init__(self) -> None:
        if self.task_time_limit >= self.visibility_timeout:
            raise ConfigError(
                "SYNDICATE_TASK_TIME_LIMIT must be below SYNDICATE_VISIBILITY_TIMEOUT, or a "
                "running task would be handed to a second worker"
            )
        if self.webhook_timeout + self.webhook_connect_timeout >= self.task_time_limit:
            raise ConfigError(
                "SYNDICATE_WEBHOOK_TIMEOUT plus SYNDICATE_WEBHOOK_CONNECT_TIMEOUT must be below "
                "SYNDICATE_TASK_TIME_LIMIT, or an attempt could be cut off mid-request"
            )
        if self.attempt_guard >= self.visibility_timeout:
            raise ConfigError(
                "SYNDICATE_WEBHOOK_CONNECT_TIMEOUT + SYNDICATE_WEBHOOK_TIMEOUT + 2 s must be "
                "below SYNDICATE_VISIBILITY_TIMEOUT, so a killed attempt is retried on redelivery"
            )

    @property
    def delivery_lease(self) -> float:
        """How long a promoted message waits before it is promoted again (its task was lost:
        a killed worker, a wiped Redis). Longer than any attempt can last, so a live attempt
        is never doubled (a second claim within the attempt guard is refused anyway), and
        short, so a lost one comes back in seconds, not after the broker's visibility
        timeout; a stale task message that comes back later finds its token changed."""
        return self.attempt_guard + 3.0

    @property
    def soft_time_limit(self) -> float:
        """When a task is asked to stop (it is killed at ``task_time_limit``)."""
        return max(0.8 * self.task_time_limit, self.task_time_limit - 10.0)

    @property
    def redis_patience(self) -> float:
        """How long a task waits for Redis to come back before it gives up (well within
        the soft time limit): a Redis restart then costs a pause, not a failed task."""
        return max(0.5, min(30.0, self.soft_time_limit - 1.0))

    @property
    def attempt_guard(self) -> float:
        """Longer than any attempt can last: a claim older than this is a dead worker's."""
        return self.webhook_connect_timeout + self.webhook_timeout + 2.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``environ`` (default: ``os.environ``)."""
        env = _Reader(os.environ if environ is None else environ)
        data_dir = Path(env.text("SYNDICATE_DATA_DIR", "var"))
        site_url = env.text("SYNDICATE_SITE_URL", "http://127.0.0.1:8080").rstrip("/")
        return cls(
            redis_url=env.text("REDIS_URL", "") or None,
            database_url=env.text("DATABASE_URL", "") or None,
            broker_url=env.text("CELERY_BROKER_URL", "") or None,
            database_pool_size=env.integer("SYNDICATE_DATABASE_POOL_SIZE", 8, minimum=1),
            data_dir=data_dir,
            api_tokens=env.items("SYNDICATE_API_TOKENS"),
            site_url=site_url,
            public_dir=Path(env.text("SYNDICATE_PUBLIC_DIR", str(data_dir / "public"))),
            log_format=env.choice("SYNDICATE_LOG_FORMAT", ("text", "json"), "text"),
            max_request_bytes=env.integer("SYNDICATE_MAX_REQUEST_BYTES", 2 * MIB, minimum=1024),
            visibility_timeout=env.integer("SYNDICATE_VISIBILITY_TIMEOUT", 90, minimum=2),
            unacked_restore_interval=env.integer(
                "SYNDICATE_UNACKED_RESTORE_INTERVAL", 5, minimum=1
            ),
            task_time_limit=env.integer("SYNDICATE_TASK_TIME_LIMIT", 60, minimum=1),
            requeue_interval=env.integer("SYNDICATE_REQUEUE_INTERVAL", 5, minimum=1),
            ingest_lease=env.duration("SYNDICATE_INGEST_LEASE", "15s"),
            portal_key=env.text("SYNDICATE_PORTAL_KEY", ""),
            sentinel_master=env.text("SYNDICATE_REDIS_SENTINEL_MASTER", "mymaster"),
            site_title=env.text("SYNDICATE_SITE_TITLE", "syndicate"),
            feeds_url=_folder(env.text("SYNDICATE_FEEDS_URL", "") or f"{site_url}/feeds/"),
            feed_entries=env.integer("SYNDICATE_FEED_ENTRIES", 50, minimum=1),
            author_feeds=env.flag("SYNDICATE_FEED_AUTHORS", default=True),
            tag_feeds=env.flag("SYNDICATE_FEED_TAGS", default=True),
            feed_max_age=env.integer("SYNDICATE_FEED_MAX_AGE", 300, minimum=0),
            publish_delay=env.integer("SYNDICATE_PUBLISH_DELAY_MS", 1000, minimum=0) / 1000,
            allowed_networks=env.text("SYNDICATE_WEBHOOK_ALLOWED_NETWORKS", ""),
            hub_url=_hub_url(env, site_url),
            webhook_schedule=env.schedule(
                "SYNDICATE_WEBHOOK_RETRY_SCHEDULE", "0,5s,5m,30m,2h,5h,10h,10h"
            ),
            webhook_connect_timeout=env.duration("SYNDICATE_WEBHOOK_CONNECT_TIMEOUT", "5s"),
            webhook_timeout=env.duration("SYNDICATE_WEBHOOK_TIMEOUT", "15s"),
            webhook_retry_after_min=env.duration("SYNDICATE_WEBHOOK_RETRY_AFTER_MIN", "60s"),
            webhook_disable_after=env.duration("SYNDICATE_WEBHOOK_DISABLE_AFTER", "5d"),
            webhook_rotation_grace=env.duration("SYNDICATE_WEBHOOK_ROTATION_GRACE", "24h"),
            webhook_max_in_flight=env.integer("SYNDICATE_WEBHOOK_MAX_IN_FLIGHT", 1, minimum=1),
            delivery_retention=env.duration("SYNDICATE_DELIVERY_RETENTION", "30d"),
            submission_retention=env.duration("SYNDICATE_SUBMISSION_RETENTION", "30d"),
            delivery_tick=env.duration("SYNDICATE_DELIVERY_TICK", "1s"),
            core=CoreOptions(
                max_input_bytes=env.integer("SYNDICATE_MAX_INPUT_BYTES", MIB, minimum=1),
                max_sections=env.integer("SYNDICATE_MAX_SECTIONS", 10_000, minimum=1),
                section_summary_chars=env.integer("SYNDICATE_SUMMARY_MAX_CHARS", 320, minimum=40),
                section_summary_sentences=env.integer(
                    "SYNDICATE_SECTION_SUMMARY_SENTENCES", 2, minimum=1
                ),
                article_summary_sentences=env.integer("SYNDICATE_SUMMARY_SENTENCES", 3, minimum=1),
                article_summary_chars=env.integer(
                    "SYNDICATE_ARTICLE_SUMMARY_MAX_CHARS", 1_000, minimum=40
                ),
                default_language=env.text("SYNDICATE_DEFAULT_LANGUAGE", "en"),
            ),
        )


def _hub_url(env: _Reader, site_url: str) -> str | None:
    """The public URL of the built-in WebSub hub; None when switched off."""
    if not env.flag("SYNDICATE_WEBSUB", default=True):
        return None
    return env.text("SYNDICATE_HUB_URL", "") or f"{site_url}/websub"


def _folder(url: str) -> str:
    return url if url.endswith("/") else url + "/"


class _Reader:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str, default: str) -> str:
        return self._environ.get(name, default).strip()

    def items(self, name: str) -> tuple[str, ...]:
        return tuple(item.strip() for item in self.text(name, "").split(",") if item.strip())

    def integer(self, name: str, default: int, *, minimum: int) -> int:
        raw = self.text(name, "")
        if not raw:
            return default
        try:
            value = int(raw.replace("_", ""))
        except ValueError:
            raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
        if value < minimum:
            raise ConfigError(f"{name} must be at least {minimum}, got {value}")
        return value

    def duration(self, name: str, default: str) -> float:
        raw = self.text(name, "") or default
        try:
            return parse_duration(raw)
        except ValueError as error:
            raise ConfigError(f"{name}: {error}") from None

    def schedule(self, name: str, default: str) -> tuple[float, ...]:
        raw = self.text(name, "") or default
        try:
            return parse_schedule(raw)
        except ValueError as error:
            raise ConfigError(f"{name}: {error}") from None

    def flag(self, name: str, *, default: bool) -> bool:
        raw = self.text(name, "").lower()
        if not raw:
            return default
        if raw in ("1", "true", "yes", "on"):
            return True
        if raw in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, got {raw!r}")

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.text(name, default).lower()
        if value not in allowed:
            raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        return value
