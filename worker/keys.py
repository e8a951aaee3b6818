"""Every Redis key syndicate uses, in one place, under one prefix.

    {p}seq                        INCR counter: submission sequence numbers
    {p}submission:{sid}           hash: one accepted submission (raw input, kind, seq, status)
    {p}pending                    zset: submissions not yet committed, by last enqueue time
    {p}rejected                   stream: refused inputs kept with their error (capped)
    {p}article:{id}               hash: current stored version of an article
    {p}article:{id}:versions      hash: version number -> article JSON
    {p}article:{id}:history       list: JSON summaries of each version, oldest first
    {p}articles                   zset: live article ids by published time
    {p}events                     stream: article.published / .updated / .deleted
    {p}feeds:dirty                set: feeds that need rendering (coalesces bursts)
    {p}feed:{key}                 zset: live article ids of one feed by published time
    {p}feed-ord:{key}             zset: article id -> ordinal in the feed (archive pages)
    {p}feed-count:{key}           string: ordinals handed out so far in the feed
    {p}feed-changed:{key}         set: ordinals changed since the feed was last published
    {p}feed-pages:{key}           string: complete archive pages at the last publish
    {p}feed-renders               hash: feed key -> renders so far (coalescing is visible)
    {p}feed-names                 hash: feed key -> display name (author or tag as written)
    {p}feed-doc:{path}            hash: one rendered document (body, gzip, etag, dates)
    {p}websub:{path}              hash: WebSub subscribers of a document (callback -> lease)
    {p}publish:scheduled          string: set while a publish task is queued (coalescing)

Celery's own keys (queues, unacked) live beside these with kombu's names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Keys:
    """Key names under a prefix (default ``syn:``)."""

    prefix: str = "syn:"

    @property
    def seq(self) -> str:
        return f"{self.prefix}seq"

    def submission(self, submission_id: str) -> str:
        return f"{self.prefix}submission:{submission_id}"

    @property
    def pending(self) -> str:
        return f"{self.prefix}pending"

    @property
    def rejected(self) -> str:
        return f"{self.prefix}rejected"

    def article(self, article_id: str) -> str:
        return f"{self.prefix}article:{article_id}"

    def versions(self, article_id: str) -> str:
        return f"{self.prefix}article:{article_id}:versions"

    def history(self, article_id: str) -> str:
        return f"{self.prefix}article:{article_id}:history"

    @property
    def articles(self) -> str:
        return f"{self.prefix}articles"

    @property
    def events(self) -> str:
        return f"{self.prefix}events"

    @property
    def feeds_dirty(self) -> str:
        return f"{self.prefix}feeds:dirty"

    def feed_index(self, feed: str) -> str:
        return f"{self.prefix}feed:{feed}"

    def feed_ordinals(self, feed: str) -> str:
        return f"{self.prefix}feed-ord:{feed}"

    def feed_count(self, feed: str) -> str:
        return f"{self.prefix}feed-count:{feed}"

    def feed_changed(self, feed: str) -> str:
        return f"{self.prefix}feed-changed:{feed}"

    def feed_pages(self, feed: str) -> str:
        return f"{self.prefix}feed-pages:{feed}"

    @property
    def feed_renders(self) -> str:
        return f"{self.prefix}feed-renders"

    @property
    def feed_names(self) -> str:
        return f"{self.prefix}feed-names"

    def feed_document(self, path: str) -> str:
        return f"{self.prefix}feed-doc:{path}"

    def websub_subscribers(self, path: str) -> str:
        return f"{self.prefix}websub:{path}"

    @property
    def publish_scheduled(self) -> str:
        return f"{self.prefix}publish:scheduled"
