"""The store's state machine on a real Redis; the ingest body is called directly, no worker."""

from __future__ import annotations

import time
import uuid

from worker.core.options import DEFAULT_OPTIONS
from worker.ingest import process_submission
from worker.store import Store


def text(title: str, ending: str = "It ends at sea.") -> bytes:
    return f"{title}\nA description.\nThe End\n{ending}\n".encode()


def accept(store: Store, title: str, body: bytes, kind: str = "upsert") -> str:
    article_id = title.lower().replace(" ", "-")
    submission = store.accept(
        kind=kind,  # type: ignore[arg-type]
        article_id=article_id,
        received_at=time.time(),
        raw=body,
        format="text",
    )
    return submission.id


def run(store: Store, submission_id: str) -> str:
    return process_submission(store, submission_id, DEFAULT_OPTIONS, now=time.time()).outcome


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def test_an_older_submission_processed_last_is_superseded_and_status_stays_published(
    store: Store,
) -> None:
    title = unique("Late Letter")
    older = accept(store, title, text(title, "The older ending."))
    newer = accept(store, title, text(title, "The newer ending."))
    assert run(store, newer) == "published"
    assert run(store, older) == "superseded"
    record = store.article(title.lower().replace(" ", "-"))
    assert record is not None
    assert record.status == "published"
    assert record.version == 1
    assert record.article is not None
    assert record.article.sections[0].paragraphs == ("The newer ending.",)


def test_deleting_twice_keeps_the_tombstone(store: Store) -> None:
    title = unique("Gone Twice")
    article_id = title.lower().replace(" ", "-")
    assert run(store, accept(store, title, text(title))) == "published"
    assert run(store, accept(store, title, b"", kind="delete")) == "deleted"
    assert run(store, accept(store, title, b"", kind="delete")) == "unchanged"
    record = store.article(article_id)
    assert record is not None
    assert (record.status, record.deleted, record.version) == ("deleted", True, 2)


def test_running_a_finished_submission_again_changes_nothing(store: Store) -> None:
    title = unique("Run Twice")
    submission_id = accept(store, title, text(title))
    assert run(store, submission_id) == "published"
    assert run(store, submission_id) == "published"
    submission = store.submission(submission_id)
    assert submission is not None
    claimed, started = store.claim(submission_id, now=time.time())
    assert claimed == submission
    assert not started
    assert not store.fail(submission, "late crash")
    after = store.submission(submission_id)
    assert after is not None
    assert (after.status, after.result, after.error) == ("done", "published", None)


def test_claiming_a_submission_marks_it_processing_once(store: Store) -> None:
    title = unique("Claim Once")
    submission_id = accept(store, title, text(title))
    claimed, started = store.claim(submission_id, now=time.time())
    assert claimed is not None and started
    assert claimed.status != "processing"  # the row as it was before the claim
    after = store.submission(submission_id)
    assert after is not None and after.status == "processing"
    assert store.claim("no-such-submission", now=time.time()) == (None, False)


def test_an_older_failure_does_not_mark_a_newer_version_failed(store: Store) -> None:
    title = unique("Broken Older")
    older = accept(store, title, b"Title\n\xc3\x28 broken")
    newer = accept(store, title, text(title))
    assert run(store, newer) == "published"
    assert run(store, older) == "failed"
    record = store.article(title.lower().replace(" ", "-"))
    assert record is not None
    assert (record.status, record.error) == ("published", None)
    failed = store.submission(older)
    assert failed is not None
    assert failed.status == "failed"
    assert failed.raw == b"Title\n\xc3\x28 broken"
