"""Webhook delivery: subscriptions, turning events into messages, attempts, replay.

The Celery tasks, the HTTP API and the CLI are thin adapters over :class:`Webhooks`.
Events come from the article store's ``events`` table (written in the same transaction
as the article version): an event is marked dispatched only in the transaction that
follows the storing of its messages, so no event is lost between the commit of an
article and its messages.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from config.settings import Settings
from feeds.addresses import Resolver, check_url, parse_networks, system_resolver
from feeds.publish import feed_folder
from feeds.webhooks.delivery import AttemptReport, Deliveries
from feeds.webhooks.pacing import RateBudgets
from feeds.webhooks.payload import TEST_EVENT, build_article_payload, build_test_payload
from feeds.webhooks.signing import generate_secret
from feeds.webhooks.spec import EVENT_TYPES, SubscriptionChanges, matches
from feeds.webhooks.store import (
    Endpoint,
    Listener,
    Message,
    NewMessage,
    Secret,
    WebhookStore,
    event_message_id,
    new_endpoint_id,
    new_message_id,
)
from worker.core.errors import SyndicateError
from worker.core.model import Article
from worker.store import Store, feed_names

log = logging.getLogger(__name__)

_DISPATCH_BATCH = 200
#: Messages a dispatch stores first, on their own, so their attempts start at once.
_FIRST_MESSAGES = 20


class NotFoundError(SyndicateError):
    """No endpoint or message with that id (HTTP 404, CLI exit 2)."""


class ConflictError(SyndicateError):
    """The request does not fit the current state (HTTP 409, CLI exit 2)."""


class Webhooks:
    """Everything webhook delivery does, over the PostgreSQL store."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        resolve: Resolver = system_resolver,
        unit_random: Callable[[], float] = random.random,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.articles = store
        self.store = WebhookStore(store.db)
        self.settings = settings
        self.allowed = parse_networks(settings.allowed_networks)
        self.resolve = resolve
        self.unit_random = unit_random
        self.clock = clock or time.time
        self.consumer = f"{socket.gethostname()}-{os.getpid()}"
        self.deliveries = Deliveries(
            self.store, settings, allowed=self.allowed, resolve=resolve,
            unit_random=unit_random, clock=self.clock,
            budgets=RateBudgets(store.client, store.keys),
        )  # fmt: skip

    # Subscriptions

    def subscribe(self, changes: SubscriptionChanges) -> tuple[Endpoint, str]:
        """Create an endpoint; returns it with its secret (shown this once)."""
        assert changes.url is not None
        check_url(changes.url, self.allowed, self.resolve)
        now = self.clock()
        secret = generate_secret()
        endpoint = Endpoint(
            id=new_endpoint_id(),
            url=changes.url,
            events=changes.events or EVENT_TYPES,
            authors=changes.authors or (),
            tags=changes.tags or (),
            description=changes.description or "",
            created_at=now,
            updated_at=now,
            max_in_flight=changes.max_in_flight or self.settings.webhook_max_in_flight,
            rate_limit=changes.rate_limit or None,
            ordering=changes.ordering or "none",
            secrets=(Secret(secret),),
        )
        self.store.save_endpoint(endpoint)
        log.info("webhook endpoint %s created for %s", endpoint.id, endpoint.url)
        return endpoint, secret

    def endpoint(self, endpoint_id: str) -> Endpoint:
        found = self.store.endpoint(endpoint_id)
        if found is None:
            raise NotFoundError(f"no webhook endpoint with id {endpoint_id!r}")
        return found

    def update(self, endpoint_id: str, changes: SubscriptionChanges) -> Endpoint:
        """Change the given fields of an endpoint."""
        current = self.endpoint(endpoint_id)
        if changes.url is not None:
            check_url(changes.url, self.allowed, self.resolve)
        given = {
            name: value
            for name in ("url", "events", "authors", "tags", "description", "max_in_flight",
                         "rate_limit", "ordering")
            if (value := getattr(changes, name)) is not None
        }  # fmt: skip
        self.store.update_endpoint(endpoint_id, given | {"updated_at": self.clock()})
        if "rate_limit" in given:
            given["rate_limit"] = given["rate_limit"] or None
        return replace(current, **given)

    def delete(self, endpoint_id: str) -> None:
        if not self.store.delete_endpoint(endpoint_id):
            raise NotFoundError(f"no webhook endpoint with id {endpoint_id!r}")
        log.info("webhook endpoint %s deleted", endpoint_id)

    def set_enabled(self, endpoint_id: str, enabled: bool) -> int:
        """Enable (rescheduling held messages; returns how many) or disable an endpoint."""
        self.endpoint(endpoint_id)
        rescheduled = self.store.set_enabled(
            endpoint_id, enabled, now=self.clock(), reason="disabled by an operator"
        )
        log.warning(
            "webhook endpoint %s %s", endpoint_id,
            f"enabled; {rescheduled} held messages rescheduled" if enabled else "disabled",
        )  # fmt: skip
        return rescheduled

    def rotate_secret(self, endpoint_id: str, grace: float | None = None) -> tuple[str, float]:
        """A new secret; the current ones keep signing for ``grace`` seconds (default 24 h).

        Returns the new secret and when the previous one stops being sent."""
        endpoint = self.endpoint(endpoint_id)
        now = self.clock()
        until = now + (self.settings.webhook_rotation_grace if grace is None else grace)
        kept = tuple(
            Secret(s.value, until if s.expires is None else min(s.expires, until))
            for s in endpoint.secrets
            if s.expires is None or s.expires > now
        )
        secret = generate_secret()
        self.store.set_secrets(endpoint_id, (Secret(secret), *kept))
        log.info("webhook endpoint %s: secret rotated", endpoint_id)
        return secret, until

    def send_test(self, endpoint_id: str) -> str:
        """Queue a ``webhook.test`` message to one endpoint; returns its id."""
        endpoint = self.endpoint(endpoint_id)
        if not endpoint.enabled:
            raise ConflictError(f"endpoint {endpoint_id} is disabled; enable it first")
        now = self.clock()
        message_id = new_message_id()
        body = build_test_payload(endpoint.id, timestamp=datetime.fromtimestamp(now, UTC))
        self.store.create_messages([NewMessage(message_id, endpoint.id, TEST_EVENT, body)], now=now)
        return message_id

    # From events to messages

    def dispatch(self, *, first: Callable[[list[str]], None] | None = None) -> int:
        """Turn new events into messages for the matching endpoints; returns messages made.

        Events are rows of the article store's ``events`` table; a batch is claimed with
        ``FOR UPDATE SKIP LOCKED`` and marked dispatched in the same transaction, after
        its messages are stored, so a dispatcher that dies leaves its events to the
        next one and concurrent dispatchers never take the same event.

        With ``first``, the first few messages are committed on their own, before the
        rest, and ``first`` is called with their endpoints: their attempts can start
        while the others are stored (an event for thousands of endpoints takes a while).
        If the dispatch then fails, its events stay undispatched and the next dispatch
        makes the missing messages (message ids are derived from the event and the
        endpoint, so none is made twice).
        """
        created = 0
        while True:
            with self.articles.db.connection() as conn, conn.transaction():
                rows = conn.execute(
                    "SELECT id, type, article_id, version, at, changed_sections FROM events "
                    "WHERE dispatched_at IS NULL ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                    (_DISPATCH_BATCH,),
                ).fetchall()
                if not rows:
                    return created
                endpoints = self.store.listeners(conn=conn)
                streams = []
                for _, event_type, article_id, version, when, changed in rows:
                    # Endpoints hear of events from their creation on, not of earlier ones.
                    listening = [e for e in endpoints if e.created_at <= when.timestamp()]
                    event = {
                        "type": event_type, "article_id": article_id, "version": str(version),
                        "at": when.astimezone(UTC).isoformat(),
                        "changed_sections": json.dumps(list(changed), ensure_ascii=False),
                    }  # fmt: skip
                    streams.append(self._messages_for(event, listening))
                # Lazily: the first messages are stored and sent before the others are made.
                messages = itertools.chain.from_iterable(streams)
                now, head = self.clock(), []
                if first is not None:
                    head = list(itertools.islice(messages, _FIRST_MESSAGES))
                    if head:
                        created += self.store.create_messages(head, now=now)
                        first([message.endpoint for message in head])
                        first = None
                # In the same transaction: the events are dispatched only once all their
                # messages are stored.
                created += self.store.create_messages(
                    list(messages), now=now, conn=conn, position=len(head)
                )
                conn.execute(
                    "UPDATE events SET dispatched_at = now() WHERE id = ANY(%s)",
                    ([row[0] for row in rows],),
                )
            if len(rows) < _DISPATCH_BATCH:
                return created

    def _messages_for(
        self, event: dict[str, str], endpoints: Sequence[Listener]
    ) -> Iterator[NewMessage]:
        """The event's messages for the endpoints whose filters it passes (made as they
        are asked for: a dispatch stores its first ones before making the others)."""
        event_type = event.get("type", "")
        article_id, version = event.get("article_id", ""), int(event.get("version", 0))
        article = self.articles.article_version(article_id, version)
        if article is None:
            log.error("event %s of %s v%d: the version is missing; no message", event_type,
                      article_id, version)  # fmt: skip
            return
        targets = [
            endpoint
            for endpoint in endpoints
            if matches(endpoint.events, endpoint.authors, endpoint.tags, event_type=event_type,
                       article_authors=article.authors, article_tags=article.tags)
        ]  # fmt: skip
        if not targets:
            return
        body = build_article_payload(
            event_type, article, version=version,
            timestamp=_event_time(event.get("at"), self.clock()),
            changed_sections=json.loads(event.get("changed_sections") or "[]"),
            feeds=self.feed_links(article),
        )  # fmt: skip
        for endpoint in targets:
            yield NewMessage(
                event_message_id(endpoint.id, event_type, article_id, version),
                endpoint.id,
                event_type,
                body,
                article_id,
                version,
            )

    def feed_links(self, article: Article) -> list[dict[str, str]]:
        """The feeds an article appears in, with the URL of each format."""
        links = []
        for key, name in feed_names(article).items():
            kind = key.partition(":")[0]
            if (kind == "author" and not self.settings.author_feeds) or (
                kind == "tag" and not self.settings.tag_feeds
            ):
                continue
            base = self.settings.feeds_url + feed_folder(key)
            links.append({"name": key, "title": name or self.settings.site_title,
                          "atom": base + "atom.xml", "rss": base + "rss.xml",
                          "json": base + "feed.json"})  # fmt: skip
        return links

    # Sending

    def promote(
        self, endpoint_id: str | None = None, *, endpoints: Sequence[str] | None = None
    ) -> list[tuple[str, int]]:
        """Due messages to send now, as (message id, token) pairs for deliver tasks: of
        every endpoint, or only of ``endpoint_id`` / ``endpoints``."""
        return self.store.promote(
            now=self.clock(), lease=self.settings.delivery_lease, endpoint_id=endpoint_id,
            endpoints=endpoints,
        )  # fmt: skip

    def attempt_many(
        self,
        attempts: Sequence[tuple[str, int]],
        *,
        wait: float | None = None,
        task: dict[str, str] | None = None,
    ) -> list[AttemptReport]:
        """Make the attempts promotions asked for, all at once (see
        :class:`feeds.webhooks.delivery.Deliveries`); at most once per (message, token)."""
        return self.deliveries.attempt_many(attempts, wait=wait, task=task)

    def attempt(self, message_id: str, token: int) -> AttemptReport:
        """Make one attempt a promotion asked for and wait until it is recorded."""
        return self.attempt_many([(message_id, token)])[0]

    # Recovery and housekeeping

    def message(self, message_id: str) -> Message:
        found = self.store.message(message_id, with_attempts=True)
        if found is None:
            raise NotFoundError(f"no message with id {message_id!r}")
        return found

    def replay(self, message_id: str, *, force: bool = False) -> bool:
        """Send a failed message again (same webhook-id); a delivered one only with ``force``.

        False when it is already pending (e.g. a concurrent replay got there first)."""
        result = self.store.replay(message_id, now=self.clock(), force=force)
        if result < 0:
            raise NotFoundError(f"no message with id {message_id!r}")
        if result == 2:
            raise ConflictError(
                f"message {message_id} was delivered; replay it with force to send it again"
            )
        return result == 1

    def replay_dead(self, endpoint_id: str) -> int:
        self.endpoint(endpoint_id)
        return self.store.replay_dead(endpoint_id, now=self.clock())

    def recover(self, endpoint_id: str, since: float) -> int:
        """Send again every failed message of an endpoint created since ``since``."""
        self.endpoint(endpoint_id)
        return self.store.recover(endpoint_id, since=since, now=self.clock())

    def trim(self) -> int:
        """Forget finished messages older than the retention period."""
        return self.store.trim(older_than=self.clock() - self.settings.delivery_retention)


def _event_time(text: str | None, fallback: float) -> datetime:
    try:
        return datetime.fromisoformat(text) if text else datetime.fromtimestamp(fallback, UTC)
    except ValueError:
        return datetime.fromtimestamp(fallback, UTC)
