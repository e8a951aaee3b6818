"""Deciding what a commit writes: the pure half of storing a new article version.

Given a submission, the parsed article (``None`` for a withdrawal) and what is stored for
the article id, :func:`plan_commit` returns a :class:`CommitPlan`: the outcome
(published, updated, unchanged, deleted, superseded), the new version, its history entry
and event, and the feeds whose membership changes. The store applies the plan in one
transaction; nothing here touches a database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, TypedDict

import msgspec

from worker.core.diff import compare
from worker.core.model import Article
from worker.core.normalize import slugify

SubmissionKind = Literal["upsert", "delete"]
Outcome = Literal["published", "updated", "unchanged", "deleted", "superseded", "failed"]
EVENT_TYPES: dict[str, str] = {
    "published": "article.published",
    "updated": "article.updated",
    "deleted": "article.deleted",
}


class StoredState(TypedDict, total=False):
    """What the store holds for an article id, as the plan needs it (all text)."""

    seq: str
    version: str
    deleted: str
    doc: str
    error: str
    status: str


@dataclass(frozen=True, slots=True)
class SubmissionRef:
    """The parts of a submission a plan depends on."""

    id: str
    kind: SubmissionKind
    article_id: str
    seq: int
    received_at: float


@dataclass(frozen=True, slots=True)
class CommitPlan:
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


def plan_commit(
    submission: SubmissionRef, article: Article | None, state: StoredState, now: float
) -> CommitPlan:
    stored_seq = int(state.get("seq", 0))
    version = int(state.get("version", 0))
    deleted = state.get("deleted") == "1"
    old = Article.from_json(state["doc"]) if state.get("doc") else None
    if submission.seq < stored_seq:
        return CommitPlan("superseded", version, stored_seq, status=_stored_status(state))
    if submission.kind == "delete":
        if old is None or deleted:
            return CommitPlan("unchanged", version, stored_seq, status=_stored_status(state))
        return _change(
            outcome="deleted", submission=submission, article=old, old=old,
            version=version + 1, now=now, deleted=True,
        )  # fmt: skip
    assert article is not None
    if old is not None and not deleted and old.content_hash == article.content_hash:
        return CommitPlan("unchanged", version, stored_seq)
    stamped = _stamp(article, old, submission.received_at)
    outcome: Outcome = "published" if old is None or deleted else "updated"
    return _change(
        outcome=outcome, submission=submission, article=stamped, old=old,
        version=version + 1, now=now, deleted=False,
    )  # fmt: skip


def _stored_status(state: StoredState) -> str:
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
    submission: SubmissionRef,
    article: Article,
    old: Article | None,
    version: int,
    now: float,
    deleted: bool,
) -> CommitPlan:
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
    return CommitPlan(
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
