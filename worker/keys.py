"""Every Redis key syndicate uses, in one place, under one prefix.

    {p}seq                        INCR counter: submission sequence numbers
    {p}submission:{sid}           hash: one accepted submission (raw input, kind, seq, status)
    {p}pending                    zset: submissions not yet committed, by last enqueue time
    {p}rejected                   stream: refused inputs kept with their error (capped)
    {p}failed                     zset: failed submission ids by failure time (the failures view)
    {p}task-failures              stream: tasks that failed for good (dead letters, capped)
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
    {p}publish:lock               string: held by the one publish run in progress
    {p}publish:runs               list: JSON start/end of recent publish runs (newest first)
    {p}feeds:rendering            set: feeds claimed by the publish run in progress
    {p}wh:endpoints               zset: webhook endpoint ids by creation time
    {p}wh:endpoint:{ep}           hash: one endpoint (url, filters, secrets, state)
    {p}wh:msg:{mid}               hash: one message to one endpoint (body, status, token)
    {p}wh:attempts:{mid}          list: JSON record of every attempt of a message
    {p}wh:msgs                    zset: every message id by creation time (retention)
    {p}wh:msgs:{ep}               zset: an endpoint's message ids by creation time
    {p}wh:due                     zset: message id -> due time (the retry schedule)
    {p}wh:due:{ep}                zset: the same, for one endpoint
    {p}wh:inflight:{ep}           zset: message id -> lease end (per-endpoint cap)
    {p}wh:dead                    zset: dead-lettered message ids by time
    {p}wh:dead:{ep}               zset: an endpoint's dead letters
    {p}wh:held:{ep}               zset: messages kept while the endpoint is disabled
    {p}wh:stats                   hash: attempt and outcome counters
    {p}wh:dispatch:scheduled      string: set while a dispatch task is queued
    {p}workers                    hash: worker hostname -> heartbeat JSON
    {p}m:h:{metric}:{label}       hash: one histogram (per-bucket counts, sum, count)
    {p}m:labels:{metric}          set: the labels a histogram has
    {p}m:c:{name}                 hash: counters (field -> count)
    {p}m:done:{bucket}            string: tasks finished in one 10-second bucket

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

    @property
    def failed(self) -> str:
        return f"{self.prefix}failed"

    @property
    def task_failures(self) -> str:
        return f"{self.prefix}task-failures"

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

    @property
    def publish_lock(self) -> str:
        return f"{self.prefix}publish:lock"

    @property
    def publish_runs(self) -> str:
        return f"{self.prefix}publish:runs"

    @property
    def feeds_rendering(self) -> str:
        return f"{self.prefix}feeds:rendering"

    # Webhooks: everything under {prefix}wh:

    @property
    def wh_prefix(self) -> str:
        """The prefix Lua scripts use to name per-message and per-endpoint keys."""
        return f"{self.prefix}wh:"

    @property
    def endpoints(self) -> str:
        return f"{self.prefix}wh:endpoints"

    def endpoint(self, endpoint_id: str) -> str:
        return f"{self.prefix}wh:endpoint:{endpoint_id}"

    def message(self, message_id: str) -> str:
        return f"{self.prefix}wh:msg:{message_id}"

    def attempts(self, message_id: str) -> str:
        return f"{self.prefix}wh:attempts:{message_id}"

    @property
    def messages(self) -> str:
        return f"{self.prefix}wh:msgs"

    def endpoint_messages(self, endpoint_id: str) -> str:
        return f"{self.prefix}wh:msgs:{endpoint_id}"

    @property
    def due(self) -> str:
        return f"{self.prefix}wh:due"

    def endpoint_due(self, endpoint_id: str) -> str:
        return f"{self.prefix}wh:due:{endpoint_id}"

    def inflight(self, endpoint_id: str) -> str:
        return f"{self.prefix}wh:inflight:{endpoint_id}"

    @property
    def dead(self) -> str:
        return f"{self.prefix}wh:dead"

    def endpoint_dead(self, endpoint_id: str) -> str:
        return f"{self.prefix}wh:dead:{endpoint_id}"

    def held(self, endpoint_id: str) -> str:
        return f"{self.prefix}wh:held:{endpoint_id}"

    @property
    def delivery_stats(self) -> str:
        return f"{self.prefix}wh:stats"

    @property
    def dispatch_scheduled(self) -> str:
        return f"{self.prefix}wh:dispatch:scheduled"

    # Telemetry: heartbeats and metrics

    @property
    def workers(self) -> str:
        return f"{self.prefix}workers"

    def histogram(self, metric: str, label: str) -> str:
        return f"{self.prefix}m:h:{metric}:{label}"

    def histogram_labels(self, metric: str) -> str:
        return f"{self.prefix}m:labels:{metric}"

    def counter(self, name: str) -> str:
        return f"{self.prefix}m:c:{name}"

    def throughput(self, bucket: int) -> str:
        return f"{self.prefix}m:done:{bucket}"
