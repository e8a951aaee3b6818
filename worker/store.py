"""The Redis store: submissions, versioned articles, events for the publishers.

Every change to an article is one MULTI/EXEC transaction guarded by WATCH on the
article's key, so a version, its history entry, its event and the feed "dirty"
marks are written together or not at all; a concurrent writer makes the
transaction retry. Committing a submission twice is a no-op the second time (the
submission records its result in the same transaction), which makes the ingest
task idempotent. Submissions carry a sequence number given at acceptance: an older
submission never overwrites a newer one.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
import redis

from worker.core.diff import compare
from worker.core.model import Article
from worker.core.normalize import slugify
from worker.keys import Keys

SubmissionKind = Literal["upsert", "delete"]
Outcome = Literal["published", "updated", "unchanged", "deleted", "superseded", "failed"]
EVENT_TYPES: dict[str, str] = {
    "published": "article.published",
    "updated": "article.updated",
    "deleted": "article.deleted",
}
#: Field mappings as redis-py accepts them.
RedisFields = dict[Any, Any]
_EVENTS_MAXLEN = 100_000
_REJECTED_MAXLEN = 10_000
_STREAM_ID = re.compile(r"\d{1,19}-\d{1,19}")  # within Redis's 64-bit parts


def as_text_fields(data: Mapping[Any, Any]) -> dict[str, str]:
    """A Redis hash reply as text (keys and values decoded as UTF-8)."""
    return {as_text(key): as_text(value) for key, value in data.items()}


def as_text(value: object) -> str:
    """A Redis reply (bytes, or anything else) as text; bytes are decoded as UTF-8."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


@dataclass(frozen=True, slots=True)
class Submission:
    """One accepted request to store or withdraw an article."""

    id: str
    kind: SubmissionKind
    article_id: str
    seq: int
    received_at: float
    raw: bytes = b""
    format: str | None = None
    content_type: str | None = None
    status: str = "queued"
    result: str | None = None
    version: int = 0
    error: str | None = None
    done_at: float | None = None


@dataclass(frozen=True, slots=True)
class FailedSubmission:
    """A submission that could not be processed, as the failures view shows it.

    ``failures`` counts the attempts that failed, ``retries`` the operator retries;
    ``raw`` is loaded only for one submission (:meth:`Store.failed_submission`).
    """

    id: str
    article_id: str
    kind: str
    status: str
    error: str | None
    received_at: float
    failed_at: float | None
    size: int
    format: str | None
    content_type: str | None
    failures: int = 0
    retries: int = 0
    discarded_at: float | None = None
    raw: bytes | None = None


@dataclass(frozen=True, slots=True)
class RejectedInput:
    """Input the API refused before it became a submission (the ``rejected`` stream)."""

    entry_id: str
    at: float
    error: str
    content_type: str | None
    size: int
    raw: bytes


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    """What the store holds for one article id."""

    id: str
    version: int
    status: str
    article: Article | None
    deleted: bool = False
    error: str | None = None
    history: list[dict[str, object]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CommitResult:
    """The outcome of committing a submission."""

    outcome: Outcome
    version: int
    changed_sections: tuple[str, ...] = ()
    event_id: str | None = None


class Store:
    """Articles and submissions in Redis."""

    def __init__(self, client: redis.Redis, keys: Keys | None = None) -> None:
        self.client = client
        self.keys = keys or Keys()
        self._mark_processing = client.register_script(_MARK_PROCESSING)
        self._fail = client.register_script(_FAIL)
        self._retry_failure = client.register_script(_RETRY_FAILURE)
        self._discard_failure = client.register_script(_DISCARD_FAILURE)
        self._place_in_feed = client.register_script(_PLACE_IN_FEED)

    # -- submissions -------------------------------------------------------------

    def accept(
        self,
        *,
        kind: SubmissionKind,
        article_id: str,
        received_at: float,
        raw: bytes = b"",
        format: str | None = None,
        content_type: str | None = None,
    ) -> Submission:
        """Record a submission (raw input kept) and mark the article queued."""
        seq = int(self.client.incr(self.keys.seq))
        submission = Submission(
            id=uuid.uuid4().hex,
            kind=kind,
            article_id=article_id,
            seq=seq,
            received_at=received_at,
            raw=raw,
            format=format,
            content_type=content_type,
        )
        mapping: RedisFields = {
            "kind": kind,
            "article_id": article_id,
            "seq": seq,
            "received_at": repr(received_at),
            "raw": raw,
            "format": format or "",
            "content_type": content_type or "",
            "status": "queued",
        }
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(self.keys.submission(submission.id), mapping=mapping)
        pipe.zadd(self.keys.pending, {submission.id: received_at})
        pipe.hset(self.keys.article(article_id), "status", "queued")
        pipe.execute()
        return submission

    def submission(self, submission_id: str) -> Submission | None:
        """Load a submission, or ``None`` if unknown."""
        data = self.client.hgetall(self.keys.submission(submission_id))
        if not data:
            return None
        text: dict[str, Any] = {as_text(key): value for key, value in data.items()}
        raw = text.pop("raw", b"")

        def get(name: str) -> str:
            return as_text(text.get(name, b""))

        return Submission(
            id=submission_id,
            kind="delete" if get("kind") == "delete" else "upsert",
            article_id=get("article_id"),
            seq=int(get("seq") or 0),
            received_at=float(get("received_at") or 0),
            raw=raw if isinstance(raw, bytes) else raw.encode(),
            format=get("format") or None,
            content_type=get("content_type") or None,
            status=get("status") or "queued",
            result=get("result") or None,
            version=int(get("version") or 0),
            error=get("error") or None,
            done_at=float(get("done_at")) if get("done_at") else None,
        )

    def mark_processing(self, submission: Submission, *, now: float) -> bool:
        """Mark a submission as being worked on; False if it is already finished.

        The article's status changes only for a submission at least as new as the
        stored version, and the stalled-submission clock restarts.
        """
        started = self._mark_processing(
            keys=[
                self.keys.submission(submission.id),
                self.keys.article(submission.article_id),
                self.keys.pending,
            ],
            args=[submission.seq, now, submission.id],
        )
        return bool(started)

    def record_rejected(
        self, *, raw: bytes, error: str, content_type: str | None, at: float
    ) -> str:
        """Keep refused input with its error for inspection; returns the entry id."""
        entry: RedisFields = {
            "raw": raw,
            "error": error,
            "content_type": content_type or "",
            "at": repr(at),
        }
        entry_id = self.client.xadd(
            self.keys.rejected,
            entry,
            maxlen=_REJECTED_MAXLEN,
            approximate=True,
        )
        return as_text(entry_id)

    def stalled(self, *, older_than: float, now: float, limit: int = 1000) -> list[str]:
        """Submissions pending since before ``older_than``; their clock restarts at ``now``."""
        found = self.client.zrangebyscore(self.keys.pending, "-inf", older_than, start=0, num=limit)
        ids = [as_text(item) for item in found]
        if ids:
            self.client.zadd(self.keys.pending, dict.fromkeys(ids, now), xx=True)
        return ids

    # -- articles ----------------------------------------------------------------

    def article(self, article_id: str) -> ArticleRecord | None:
        """The stored state of an article, with its version history."""
        data = self.client.hgetall(self.keys.article(article_id))
        if not data:
            return None
        text = as_text_fields(data)
        history = [
            json.loads(item) for item in self.client.lrange(self.keys.history(article_id), 0, -1)
        ]
        document = text.get("doc")
        return ArticleRecord(
            id=article_id,
            version=int(text.get("version", 0)),
            status=text.get("status", "queued"),
            article=Article.from_json(document) if document else None,
            deleted=text.get("deleted") == "1",
            error=text.get("error") or None,
            history=history,
        )

    def article_version(self, article_id: str, version: int) -> Article | None:
        """One stored version of an article."""
        document = self.client.hget(self.keys.versions(article_id), str(version))
        return Article.from_json(document) if document else None

    def fail(self, submission: Submission, error: str, *, now: float | None = None) -> bool:
        """Record that a submission could not be processed; its raw input is kept.

        A submission already committed (or discarded) stays so (False is returned), and
        the article shows the failure only if no newer submission has been stored. The
        submission enters the failures view (``failed``), newest first.
        """
        failed = self._fail(
            keys=[
                self.keys.submission(submission.id),
                self.keys.article(submission.article_id),
                self.keys.pending,
                self.keys.failed,
            ],
            args=[submission.seq, error, submission.id, repr(time.time() if now is None else now)],
        )
        return bool(failed)

    # -- the failures view ---------------------------------------------------------

    def failures(self, limit: int = 50, since: float | None = None) -> list[FailedSubmission]:
        """Failed submissions, newest failure first (``since``: failed at or after)."""
        found = self.client.zrevrangebyscore(
            self.keys.failed, "+inf", "-inf" if since is None else since, start=0, num=limit
        )
        ids = [as_text(item) for item in found]
        pipe = self.client.pipeline(transaction=False)
        for submission_id in ids:
            pipe.hmget(self.keys.submission(submission_id), _FAILURE_FIELDS)
            pipe.hstrlen(self.keys.submission(submission_id), "raw")
        replies = pipe.execute()
        listed = []
        for index, submission_id in enumerate(ids):
            values, size = replies[2 * index], replies[2 * index + 1]
            if values[0] is None:  # the hash is gone: nothing to show
                continue
            listed.append(_failed_submission(submission_id, values, int(size)))
        return listed

    def failed_submission(self, submission_id: str) -> FailedSubmission | None:
        """One submission with its failure details and raw input (any status)."""
        key = self.keys.submission(submission_id)
        pipe = self.client.pipeline(transaction=False)
        pipe.hmget(key, _FAILURE_FIELDS)
        pipe.hget(key, "raw")
        values, raw = pipe.execute()
        if values[0] is None:
            return None
        raw = raw or b""
        return replace(_failed_submission(submission_id, values, len(raw)), raw=raw)

    def retry_failure(self, submission_id: str, *, now: float) -> bool:
        """Put a failed submission back in the queue's hands; False if it is not failed.

        Atomically: status ``queued`` (error and result cleared), back in ``pending``
        (so the stalled sweep re-sends it if the caller's enqueue is lost), out of the
        failures view. The caller enqueues ``syndicate.ingest`` with the id.
        """
        article_id = self.client.hget(self.keys.submission(submission_id), "article_id")
        if article_id is None:
            return False
        retried = self._retry_failure(
            keys=[
                self.keys.submission(submission_id),
                self.keys.article(as_text(article_id)),
                self.keys.pending,
                self.keys.failed,
            ],
            args=[repr(now), submission_id],
        )
        return bool(retried)

    def discard_failure(self, submission_id: str, *, now: float) -> bool:
        """Drop a failed submission from the failures view; False if it is not failed.

        The submission's hash is kept, marked ``discarded`` (raw input and error stay for
        audit, like every finished submission's); a discarded submission is never
        processed again.
        """
        discarded = self._discard_failure(
            keys=[self.keys.submission(submission_id), self.keys.failed],
            args=[submission_id, repr(now)],
        )
        return bool(discarded)

    def rejected_inputs(self, limit: int = 50, since: float | None = None) -> list[RejectedInput]:
        """Inputs the API refused, newest first (``since``: refused at or after)."""
        low = "-" if since is None else f"{max(0, int(since * 1000))}-0"
        entries = self.client.xrevrange(self.keys.rejected, "+", low, count=limit) or []
        return [_rejected(as_text(entry_id), fields or {}) for entry_id, fields in entries]

    def rejected_input(self, entry_id: str) -> RejectedInput | None:
        """One refused input by its stream entry id."""
        if not _STREAM_ID.fullmatch(entry_id):
            return None
        entries = self.client.xrange(self.keys.rejected, entry_id, entry_id, count=1) or []
        return _rejected(as_text(entries[0][0]), entries[0][1] or {}) if entries else None

    def discard_rejected(self, entry_id: str) -> bool:
        """Forget one refused input; False if there is no such entry."""
        if not _STREAM_ID.fullmatch(entry_id):
            return False
        return bool(self.client.xdel(self.keys.rejected, entry_id))

    def commit(
        self, submission: Submission, article: Article | None, *, now: float
    ) -> CommitResult:
        """Apply a processed submission atomically; idempotent per submission."""
        article_key = self.keys.article(submission.article_id)
        submission_key = self.keys.submission(submission.id)
        with self.client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(article_key, submission_key)  # type: ignore[no-untyped-call]
                    done = _already_committed(pipe, submission_key)
                    if done is not None:
                        pipe.reset()
                        return done
                    current = as_text_fields(pipe.hgetall(article_key))
                    plan = _plan(submission, article, current, now)
                    pipe.multi()
                    event_index = self._write(pipe, submission, plan, now)
                    results = pipe.execute()
                    event_id = results[event_index] if event_index is not None else None
                    return CommitResult(
                        plan.outcome,
                        plan.version,
                        plan.changed,
                        None if event_id is None else as_text(event_id),
                    )
                except redis.WatchError:
                    continue

    def _write(
        self, pipe: redis.client.Pipeline, submission: Submission, plan: _Plan, now: float
    ) -> int | None:
        keys = self.keys
        article_id = submission.article_id
        article_key = keys.article(article_id)
        fields: RedisFields = {
            "seq": max(submission.seq, plan.stored_seq),
            "status": plan.status,
            "error": "",
        }
        pipe.hset(
            keys.submission(submission.id),
            mapping={
                "status": "done",
                "result": plan.outcome,
                "version": plan.version,
                "done_at": repr(now),
            },
        )
        pipe.zrem(keys.pending, submission.id)
        pipe.zrem(keys.failed, submission.id)
        if plan.outcome == "superseded":
            pipe.hset(article_key, mapping={"status": plan.status})
            return None
        if plan.outcome == "unchanged":
            pipe.hset(article_key, mapping=fields)
            return None
        assert plan.document is not None or plan.outcome == "deleted"
        fields |= {
            "version": plan.version,
            "content_hash": plan.content_hash,
            "deleted": int(plan.deleted),
        }
        if plan.document is not None:
            fields["doc"] = plan.document
            pipe.hset(keys.versions(article_id), str(plan.version), plan.document)
        pipe.hset(article_key, mapping=fields)
        pipe.rpush(keys.history(article_id), json.dumps(plan.history_entry))
        if plan.deleted:
            pipe.zrem(keys.articles, article_id)
        else:
            pipe.zadd(keys.articles, {article_id: plan.published_ts})
        for feed in plan.dirty_feeds:
            present = feed in plan.feed_names
            if present:
                pipe.zadd(keys.feed_index(feed), {article_id: plan.published_ts})
            else:
                pipe.zrem(keys.feed_index(feed), article_id)
            self._place_in_feed(
                keys=[keys.feed_ordinals(feed), keys.feed_count(feed), keys.feed_changed(feed)],
                args=[article_id, int(present)],
                client=pipe,
            )
        if plan.feed_names:
            names: RedisFields = dict(plan.feed_names)
            pipe.hset(keys.feed_names, mapping=names)
        if plan.dirty_feeds:
            pipe.sadd(keys.feeds_dirty, *plan.dirty_feeds)
        event: RedisFields = dict(plan.event)
        pipe.xadd(keys.events, event, maxlen=_EVENTS_MAXLEN, approximate=True)
        return len(pipe.command_stack) - 1


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a commit will write, decided from the current state."""

    outcome: Outcome
    version: int
    stored_seq: int
    status: str = "published"
    changed: tuple[str, ...] = ()
    document: str | None = None
    content_hash: str = ""
    deleted: bool = False
    published_ts: float = 0.0
    dirty_feeds: tuple[str, ...] = ()
    feed_names: dict[str, str] = field(default_factory=dict)
    history_entry: dict[str, object] = field(default_factory=dict)
    event: dict[str, str | int] = field(default_factory=dict)


# KEYS: submission, article, pending. ARGV: seq, now, submission id.
_MARK_PROCESSING = """
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'done' or status == 'failed' or status == 'discarded' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'processing')
local stored = tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')
if tonumber(ARGV[1]) >= stored then redis.call('HSET', KEYS[2], 'status', 'processing') end
redis.call('ZADD', KEYS[3], 'XX', ARGV[2], ARGV[3])
return 1
"""

# KEYS: submission, article, pending, failed. ARGV: seq, error, submission id, now.
_FAIL = """
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'done' or status == 'discarded' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'failed', 'result', 'failed', 'error', ARGV[2],
           'failed_at', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'failures', 1)
redis.call('ZREM', KEYS[3], ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[3])
local stored = tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')
if tonumber(ARGV[1]) >= stored then
  redis.call('HSET', KEYS[2], 'status', 'failed', 'error', ARGV[2])
end
return 1
"""

# KEYS: submission, article, pending, failed. ARGV: now, submission id.
_RETRY_FAILURE = """
if redis.call('HGET', KEYS[1], 'status') ~= 'failed' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'queued', 'retried_at', ARGV[1])
redis.call('HDEL', KEYS[1], 'result', 'error', 'done_at')
redis.call('HINCRBY', KEYS[1], 'retries', 1)
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[2])
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local stored = tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')
if seq >= stored and redis.call('HGET', KEYS[2], 'status') == 'failed' then
  redis.call('HSET', KEYS[2], 'status', 'queued', 'error', '')
end
return 1
"""

# KEYS: submission, failed. ARGV: submission id, now.
_DISCARD_FAILURE = """
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[1], 'status') ~= 'failed' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'discarded', 'discarded_at', ARGV[2])
return 1
"""

_FAILURE_FIELDS = (
    "kind", "article_id", "status", "error", "received_at", "failed_at", "format",
    "content_type", "failures", "retries", "discarded_at",
)  # fmt: skip


def _failed_submission(submission_id: str, values: list[Any], size: int) -> FailedSubmission:
    text = ["" if value is None else as_text(value) for value in values]
    (kind, article_id, status, error, received_at, failed_at, format_, content_type,
     failures, retries, discarded_at) = text  # fmt: skip
    return FailedSubmission(
        id=submission_id,
        article_id=article_id,
        kind=kind or "upsert",
        status=status or "queued",
        error=error or None,
        received_at=float(received_at or 0),
        failed_at=float(failed_at) if failed_at else None,
        size=size,
        format=format_ or None,
        content_type=content_type or None,
        failures=int(failures or 0),
        retries=int(retries or 0),
        discarded_at=float(discarded_at) if discarded_at else None,
    )


def _rejected(entry_id: str, fields: Mapping[Any, Any]) -> RejectedInput:
    data = {as_text(key): value for key, value in fields.items()}
    raw = data.get("raw", b"")
    raw = raw if isinstance(raw, bytes) else str(raw).encode()
    at = as_text(data.get("at", b"")) or str(int(entry_id.partition("-")[0]) / 1000)
    return RejectedInput(
        entry_id=entry_id,
        at=float(at),
        error=as_text(data.get("error", b"")),
        content_type=as_text(data.get("content_type", b"")) or None,
        size=len(raw),
        raw=raw,
    )


# An article's ordinal in a feed is handed out once, when it first enters the feed,
# and freed when it leaves: archive pages are ranges of ordinals, so they never shift.
# KEYS: ordinals, counter, changed. ARGV: article id, present (1/0).
_PLACE_IN_FEED = """
local ordinal = redis.call('ZSCORE', KEYS[1], ARGV[1])
if ARGV[2] == '1' then
  if not ordinal then
    ordinal = redis.call('INCR', KEYS[2]) - 1
    redis.call('ZADD', KEYS[1], ordinal, ARGV[1])
  end
elseif ordinal then
  redis.call('ZREM', KEYS[1], ARGV[1])
end
if ordinal then redis.call('SADD', KEYS[3], ordinal) end
return 1
"""


def _already_committed(pipe: redis.client.Pipeline, submission_key: str) -> CommitResult | None:
    status, result, version = pipe.hmget(submission_key, ["status", "result", "version"])
    if status not in (b"done", b"failed") or result is None:
        return None
    outcome: Outcome = as_text(result)  # type: ignore[assignment]
    return CommitResult(outcome, int(version or 0))


def _plan(
    submission: Submission, article: Article | None, state: dict[str, str], now: float
) -> _Plan:
    stored_seq = int(state.get("seq", 0))
    version = int(state.get("version", 0))
    deleted = state.get("deleted") == "1"
    old = Article.from_json(state["doc"]) if state.get("doc") else None
    if submission.seq < stored_seq:
        return _Plan("superseded", version, stored_seq, status=_stored_status(state))
    if submission.kind == "delete":
        if old is None or deleted:
            return _Plan("unchanged", version, stored_seq, status=_stored_status(state))
        return _change(
            outcome="deleted", submission=submission, article=old, old=old,
            version=version + 1, now=now, deleted=True,
        )  # fmt: skip
    assert article is not None
    if old is not None and not deleted and old.content_hash == article.content_hash:
        return _Plan("unchanged", version, stored_seq)
    stamped = _stamp(article, old, submission.received_at)
    outcome: Outcome = "published" if old is None or deleted else "updated"
    return _change(
        outcome=outcome, submission=submission, article=stamped, old=old,
        version=version + 1, now=now, deleted=False,
    )  # fmt: skip


def _stored_status(state: dict[str, str]) -> str:
    """The status that describes what is stored, for outcomes that store nothing."""
    if state.get("deleted") == "1":
        return "deleted"
    if state.get("doc"):
        return "published"
    return "failed" if state.get("error") else "queued"


def _stamp(article: Article, old: Article | None, received_at: float) -> Article:
    """Fill published/updated from the submission time when the input did not give them."""
    received = datetime.fromtimestamp(received_at, UTC)
    published = article.published or (old.published if old else None) or received
    updated = article.updated or (received if old is not None else published)
    return msgspec.structs.replace(article, published=published, updated=max(updated, published))


def _change(
    *,
    outcome: Outcome,
    submission: Submission,
    article: Article,
    old: Article | None,
    version: int,
    now: float,
    deleted: bool,
) -> _Plan:
    changed = compare(old, article).changed_sections if outcome == "updated" and old else ()
    at = datetime.fromtimestamp(now, UTC).isoformat()
    event_type = EVENT_TYPES[outcome]
    history_entry: dict[str, object] = {
        "version": version,
        "event": event_type,
        "content_hash": article.content_hash,
        "at": at,
        "changed_sections": list(changed),
        "submission": submission.id,
    }
    event: dict[str, str | int] = {
        "type": event_type,
        "article_id": submission.article_id,
        "version": version,
        "seq": submission.seq,
        "submission": submission.id,
        "at": at,
        "changed_sections": json.dumps(list(changed), ensure_ascii=False),
    }
    published = article.published or datetime.fromtimestamp(submission.received_at, UTC)
    return _Plan(
        outcome=outcome,
        version=version,
        stored_seq=submission.seq,
        changed=changed,
        document=article.to_json(),
        content_hash=article.content_hash,
        deleted=deleted,
        published_ts=published.timestamp(),
        status="deleted" if deleted else "published",
        dirty_feeds=feeds_of(article, old),
        feed_names={} if deleted else feed_names(article),
        history_entry=history_entry,
        event=event,
    )


def feed_names(article: Article) -> dict[str, str]:
    """The feeds this version of an article belongs in, with their display names."""
    names = {"main": ""}
    names |= {f"author:{slug}": author for author in article.authors if (slug := slugify(author))}
    names |= {f"tag:{slug}": tag for tag in article.tags if (slug := slugify(tag))}
    return names


def feeds_of(*articles: Article | None) -> tuple[str, ...]:
    """The feeds an article (in any of its versions) appears in."""
    found = {"main"}
    for article in articles:
        if article is None:
            continue
        found.update(f"author:{slugify(author)}" for author in article.authors if slugify(author))
        found.update(f"tag:{slugify(tag)}" for tag in article.tags if slugify(tag))
    return tuple(sorted(found))
