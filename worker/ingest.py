"""Processing one submission: load it, run the pure pipeline, commit the result.

This is the body of the ``syndicate.ingest`` task, kept free of Celery so it can be
called and tested directly. Bad input is not an exception here: it is recorded as a
failed submission (with its raw input kept) and reported as the outcome.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis

from worker.core.errors import InputError
from worker.core.options import CoreOptions
from worker.core.pipeline import parse_article
from worker.database.connect import DATABASE_TROUBLE
from worker.store import Store, Submission

log = logging.getLogger(__name__)

TRANSIENT: tuple[type[Exception], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    *DATABASE_TROUBLE,
)


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What became of a submission."""

    submission_id: str
    article_id: str
    outcome: str
    version: int
    changed_sections: tuple[str, ...] = ()
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "submission": self.submission_id,
            "article_id": self.article_id,
            "outcome": self.outcome,
            "version": self.version,
            "changed_sections": list(self.changed_sections),
            "error": self.error,
        }


def process_submission(
    store: Store, submission_id: str, options: CoreOptions, *, now: float
) -> IngestResult:
    """Parse and commit one submission; idempotent (a second run changes nothing)."""
    submission, claimed = store.claim(submission_id, now=now)
    if submission is None:
        log.warning("submission %s not found; nothing to do", submission_id)
        return IngestResult(submission_id, "", "missing", 0)
    if not claimed:
        return _finished(store, submission_id)
    try:
        return _process(store, submission, options, now=now)
    except TRANSIENT:
        raise  # transient: the task is retried and the submission stays pending
    except Exception as error:
        # A crash must not leave the submission "processing" forever: record it as
        # failed (raw input kept for inspection) and let Celery log the traceback.
        store.fail(submission, f"internal error: {type(error).__name__}: {error}")
        raise


def _finished(store: Store, submission_id: str) -> IngestResult:
    """The recorded result of a submission another run has already finished."""
    submission = store.submission(submission_id)
    assert submission is not None
    return IngestResult(
        submission.id, submission.article_id, submission.result or submission.status,
        submission.version, error=submission.error,
    )  # fmt: skip


def _process(
    store: Store, submission: Submission, options: CoreOptions, *, now: float
) -> IngestResult:
    article = None
    if submission.kind == "upsert":
        try:
            result = parse_article(
                submission.raw,
                format=submission.format,
                content_type=submission.content_type,
                options=options,
            )
        except InputError as error:
            store.fail(submission, str(error))
            log.info(
                "submission %s refused: %s", submission.id, error,
                extra={"article_id": submission.article_id, "version": submission.version,
                       "submission_id": submission.id},
            )  # fmt: skip
            return IngestResult(submission.id, submission.article_id, "failed", 0, error=str(error))
        article = result.article
    committed = store.commit(submission, article, now=now)
    log.info(
        "article %s: %s (version %d, submission %s)",
        submission.article_id, committed.outcome, committed.version, submission.id,
        extra={"article_id": submission.article_id, "version": committed.version,
               "submission_id": submission.id},
    )  # fmt: skip
    return IngestResult(
        submission.id,
        submission.article_id,
        committed.outcome,
        committed.version,
        committed.changed_sections,
    )
