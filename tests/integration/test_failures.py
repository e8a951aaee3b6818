"""Failures are kept, visible and recoverable: failed articles, refused inputs, dead tasks.

Everything runs for real: a Redis, a Celery worker process, the HTTP server and the
``syndicate`` command line. Failures are made real too: bytes that do not parse reach a
worker (accepted through the store, past the API's validation), a corrupted stored
article makes the ingest task crash, and tasks are sent with arguments that make them
raise in the worker.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx
import pytest

from config.settings import Settings
from tests.integration.conftest import (
    ROOT,
    RedisService,
    WorkerProcess,
    auth,
    service_env,
    wait_until,
)
from worker import task_failures as failures_module
from worker.core.options import DEFAULT_OPTIONS
from worker.failures import FailureNotFoundError, celery_sender, parse_failure_id
from worker.ingest import process_submission
from worker.store import FailedSubmission, Store, Submission
from worker.submit import Submitter
from worker.task_failures import (
    ARGS_LIMIT,
    TRACEBACK_LIMIT,
    on_task_failure,
    scrub,
    task_failure_entry,
    task_failures,
    truncate,
)

# -- helpers -------------------------------------------------------------------------


def syndicate(redis_service: RedisService, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from worker.cli import main; main()", *args],
        env=service_env(redis_service), cwd=ROOT, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip


def valid_article(title: str) -> bytes:
    return f"{title}\nA description.\nThe End\nIt ends at sea.\n".encode()


def accept(store: Store, article_id: str, raw: bytes) -> Submission:
    """A submission stored as the API would, but without its validation."""
    return store.accept(
        kind="upsert", article_id=article_id, received_at=time.time(), raw=raw, format="text"
    )


def listed(api: httpx.Client, kind: str) -> dict[str, dict[str, Any]]:
    response = api.get("/v1/failures", params={"kind": kind, "limit": 1000}, headers=auth())
    assert response.status_code == 200, response.text
    return {item["id"]: item for item in response.json()["failures"]}


def failed_record(store: Store, submission_id: str) -> FailedSubmission:
    record = store.failed_submission(submission_id)
    assert record is not None
    return record


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# -- failed articles -----------------------------------------------------------------


def test_bad_input_is_kept_listed_shown_retried_and_discarded(
    store: Store, submitter: Submitter, worker: WorkerProcess, api: httpx.Client,
    redis_service: RedisService,
) -> None:  # fmt: skip
    article_id = unique("broken")
    raw = f"Broken {article_id}\n".encode() + b"\xc3\x28 not UTF-8\n"
    submission = accept(store, article_id, raw)
    submitter.enqueue_task("syndicate.ingest", submission.id)
    wait_until(lambda: failed_record(store, submission.id).status == "failed")
    failure_id = f"sub_{submission.id}"

    item = listed(api, "articles")[failure_id]
    assert item["kind"] == "article" and item["article_id"] == article_id
    assert item["size"] == len(raw) and item["error"] and item["failures"] == 1
    assert failure_id in listed(api, "all")
    assert api.get("/v1/failures").status_code == 401
    table = syndicate(redis_service, "failures", "list", "--kind", "articles", "--limit", "1000")
    assert table.returncode == 0, table.stderr
    assert failure_id in table.stdout and article_id in table.stdout

    shown = api.get(f"/v1/failures/{failure_id}", headers=auth()).json()
    assert base64.b64decode(shown["raw_base64"]) == raw
    assert shown["raw_preview"] is None  # not UTF-8
    assert shown["error"] == item["error"]
    printed = syndicate(redis_service, "failures", "show", failure_id)
    assert printed.returncode == 0, printed.stderr
    assert "not UTF-8" in printed.stdout and raw[:8].hex(" ") in printed.stdout

    # The same bytes fail again: the second attempt is recorded.
    retried = api.post(f"/v1/failures/{failure_id}/retry", headers=auth())
    assert retried.status_code == 202, retried.text
    assert retried.json()["status_url"] == f"/v1/submissions/{submission.id}"

    def failed_twice() -> bool:
        record = failed_record(store, submission.id)
        return record.status == "failed" and record.failures == 2

    wait_until(failed_twice)
    assert failed_record(store, submission.id).retries == 1
    assert listed(api, "articles")[failure_id]["failures"] == 2

    assert api.delete(f"/v1/failures/{failure_id}", headers=auth()).status_code == 204
    assert failure_id not in listed(api, "articles")
    # Discarded, not deleted: the submission and its raw input stay for audit.
    assert api.get(f"/v1/submissions/{submission.id}").json()["status"] == "discarded"
    assert failed_record(store, submission.id).raw == raw
    again = api.post(f"/v1/failures/{failure_id}/retry", headers=auth())
    assert again.status_code == 409
    assert api.delete(f"/v1/failures/{failure_id}", headers=auth()).status_code == 409
    missing = syndicate(redis_service, "failures", "discard", f"sub_{uuid.uuid4().hex}")
    assert missing.returncode == 2 and missing.stderr.startswith("syndicate: error: no submission")
    # A stale ingest message for a discarded submission changes nothing.
    outcome = process_submission(store, submission.id, DEFAULT_OPTIONS, now=time.time())
    assert outcome.outcome == "failed"  # its recorded result
    assert failed_record(store, submission.id).status == "discarded"


def test_a_crash_is_kept_in_both_views_and_a_retry_publishes(
    store: Store, submitter: Submitter, worker: WorkerProcess, api: httpx.Client,
    redis_service: RedisService,
) -> None:  # fmt: skip
    article_id = unique("crash")
    submission = accept(store, article_id, valid_article(f"Crash {article_id}"))
    # A corrupted stored article: committing over it raises inside the ingest task.
    with store.db.connection() as conn:
        conn.execute(
            "INSERT INTO article_versions (article_id, version, event, content_hash, at, "
            "submission_id, document) VALUES (%s, 1, 'article.published', '', now(), '', "
            "'{not json')",
            (article_id,),
        )
        conn.execute("UPDATE articles SET version = 1 WHERE id = %s", (article_id,))
    submitter.enqueue_task("syndicate.ingest", submission.id)
    wait_until(lambda: failed_record(store, submission.id).status == "failed")
    record = failed_record(store, submission.id)
    assert record.error is not None and record.error.startswith("internal error: ")
    assert f"sub_{submission.id}" in listed(api, "articles")

    # The task raised, so it is a dead letter as well, with its traceback.
    def dead_letter() -> dict[str, Any] | None:
        for item in listed(api, "tasks").values():
            shown = api.get(f"/v1/failures/{item['id']}", headers=auth()).json()
            if item["task_name"] == "syndicate.ingest" and shown["args"] == [submission.id]:
                return shown
        return None

    wait_until(lambda: dead_letter() is not None)
    letter = dead_letter()
    assert letter is not None and "Traceback" in letter["traceback"]
    assert letter["error"].startswith("msgspec.DecodeError")
    assert api.delete(f"/v1/failures/{letter['id']}", headers=auth()).status_code == 204

    with store.db.connection() as conn:  # the cause is fixed
        conn.execute("UPDATE articles SET version = 0 WHERE id = %s", (article_id,))
        conn.execute("DELETE FROM article_versions WHERE article_id = %s", (article_id,))
    retried = api.post(f"/v1/failures/sub_{submission.id}/retry", headers=auth())
    assert retried.status_code == 202, retried.text

    def published() -> bool:
        state = api.get(f"/v1/submissions/{submission.id}").json()
        return state["status"] == "done" and state["result"] == "published"

    wait_until(published)
    assert f"sub_{submission.id}" not in listed(api, "articles")
    assert store.failed_submission(submission.id).status == "done"  # type: ignore[union-attr]
    assert submission.id not in {failed.id for failed in store.failures(limit=10_000)}


def test_the_cli_retries_a_failed_article_with_valid_input(
    store: Store, worker: WorkerProcess, api: httpx.Client, redis_service: RedisService
) -> None:
    article_id = unique("simulated")
    submission = accept(store, article_id, valid_article(f"Simulated {article_id}"))
    assert store.fail(submission, "internal error: RuntimeError: simulated crash")
    assert f"sub_{submission.id}" in listed(api, "articles")

    retried = syndicate(redis_service, "failures", "retry", f"sub_{submission.id}")
    assert retried.returncode == 0, retried.stderr
    assert "queued" in retried.stdout
    wait_until(lambda: api.get(f"/v1/articles/{article_id}").json().get("status") == "published")
    state = api.get(f"/v1/submissions/{submission.id}").json()
    assert (state["status"], state["result"], state["error"]) == ("done", "published", None)
    table = syndicate(redis_service, "failures", "list", "--kind", "articles", "--limit", "1000")
    assert f"sub_{submission.id}" not in table.stdout
    not_failed = syndicate(redis_service, "failures", "retry", f"sub_{submission.id}")
    assert not_failed.returncode == 2 and "is not failed" in not_failed.stderr
    assert "Traceback" not in not_failed.stderr


# -- refused inputs ------------------------------------------------------------------


def test_an_api_rejected_input_is_listed_with_its_raw_bytes(
    api: httpx.Client, store: Store, redis_service: RedisService
) -> None:
    garbage = b"\x00\x01\x02 garbage " + uuid.uuid4().hex.encode() + b" \xff\xfe"
    response = api.post(
        "/v1/articles", content=garbage, headers={**auth(), "Content-Type": "text/plain"}
    )
    assert response.status_code == 422
    entry = next(r for r in store.rejected_inputs(limit=1000) if r.raw == garbage)
    failure_id = f"rej_{entry.entry_id}"

    item = listed(api, "rejected")[failure_id]
    assert item["size"] == len(garbage) and item["error"] == entry.error
    assert item["content_type"] == "text/plain"
    shown = api.get(f"/v1/failures/{failure_id}", headers=auth()).json()
    assert base64.b64decode(shown["raw_base64"]) == garbage
    table = syndicate(redis_service, "failures", "list", "--kind", "rejected", "--limit", "1000")
    assert failure_id in table.stdout

    # Still invalid: reported, and the entry is kept (not recorded a second time).
    still = api.post(f"/v1/failures/{failure_id}/retry", headers=auth())
    assert still.status_code == 422 and still.json()["error"]["code"] == "invalid_input"
    assert [r.raw for r in store.rejected_inputs(limit=1000)].count(garbage) == 1
    cli_retry = syndicate(redis_service, "failures", "retry", failure_id)
    assert cli_retry.returncode == 2 and cli_retry.stderr.startswith("syndicate: error:")

    gone = syndicate(redis_service, "failures", "discard", failure_id)
    assert gone.returncode == 0, gone.stderr
    assert failure_id not in listed(api, "rejected")
    assert api.get(f"/v1/failures/{failure_id}", headers=auth()).status_code == 404
    assert api.delete(f"/v1/failures/{failure_id}", headers=auth()).status_code == 404


def test_a_rejected_input_that_is_valid_now_is_submitted_on_retry(
    api: httpx.Client, store: Store, worker: WorkerProcess
) -> None:
    title = f"Second Chance {uuid.uuid4().hex[:8]}"
    entry_id = store.record_rejected(
        raw=valid_article(title), error="simulated: over a limit since raised",
        content_type="text/plain", at=time.time(),
    )  # fmt: skip
    retried = api.post(f"/v1/failures/rej_{entry_id}/retry", headers=auth())
    assert retried.status_code == 202, retried.text
    body = retried.json()
    assert f"rej_{entry_id}" not in listed(api, "rejected")
    wait_until(lambda: api.get(f"/v1/submissions/{body['submission']}").json()["status"] == "done")
    article = api.get(f"/v1/articles/{body['article_id']}").json()
    assert article["article"]["title"] == title


# -- dead-lettered tasks -------------------------------------------------------------


def test_a_task_that_fails_is_dead_lettered_and_retry_resends_it(
    api: httpx.Client, settings: Settings, worker: WorkerProcess, redis_service: RedisService
) -> None:
    client = redis_service.client()
    counter = unique("test:ping-counter")
    client.set(counter, "not a number")  # INCR fails: the task raises in the worker
    send = celery_sender(settings)
    task_id = send("syndicate.ping", [counter], {})

    def letter_for(sent_id: str) -> dict[str, Any] | None:
        return next((i for i in listed(api, "tasks").values() if i["task_id"] == sent_id), None)

    wait_until(lambda: letter_for(task_id) is not None)
    item = letter_for(task_id)
    assert item is not None
    assert item["task_name"] == "syndicate.ping" and item["hostname"]
    assert item["error"].startswith("redis.exceptions.ResponseError")
    shown = api.get(f"/v1/failures/{item['id']}", headers=auth()).json()
    assert shown["args"] == [counter] and shown["kwargs"] == {}
    assert "ResponseError" in shown["traceback"] and not shown["arguments_truncated"]
    table = syndicate(redis_service, "failures", "list", "--kind", "tasks", "--limit", "1000")
    assert item["id"] in table.stdout and "syndicate.ping" in table.stdout
    printed = syndicate(redis_service, "failures", "show", item["id"])
    assert "traceback:" in printed.stdout and "ResponseError" in printed.stdout

    client.delete(counter)  # the cause is fixed: the same task now succeeds
    retried = api.post(f"/v1/failures/{item['id']}/retry", headers=auth())
    assert retried.status_code == 202, retried.text
    assert retried.json()["task_id"] != task_id
    wait_until(lambda: client.get(counter) == b"1")
    assert item["id"] not in listed(api, "tasks")


def test_a_task_sent_with_wrong_arguments_is_dead_lettered_and_discarded(
    api: httpx.Client, settings: Settings, worker: WorkerProcess, redis_service: RedisService
) -> None:
    marker = uuid.uuid4().hex
    task_id = celery_sender(settings)("syndicate.ping", [], {"unexpected": marker})

    def letter() -> dict[str, Any] | None:
        return next((i for i in listed(api, "tasks").values() if i["task_id"] == task_id), None)

    wait_until(lambda: letter() is not None)
    item = letter()
    assert item is not None and item["error"].startswith("TypeError")
    printed = syndicate(redis_service, "failures", "show", item["id"], "--json")
    assert json.loads(printed.stdout)["kwargs"] == {"unexpected": marker}

    discarded = syndicate(redis_service, "failures", "discard", item["id"])
    assert discarded.returncode == 0, discarded.stderr
    assert letter() is None
    shown = syndicate(redis_service, "failures", "show", item["id"])
    assert shown.returncode == 2 and "no task failure" in shown.stderr
    bad = syndicate(redis_service, "failures", "show", "nonsense")
    assert bad.returncode == 2 and "sub_" in bad.stderr


def test_the_receiver_records_scrubbed_and_never_raises(
    redis_service: RedisService, monkeypatch: pytest.MonkeyPatch
) -> None:
    class FakeTask:  # the signal's sender: only its name and request are read
        name = "syndicate.example"
        request = None

    task_id = uuid.uuid4().hex
    monkeypatch.setenv("DATABASE_URL", redis_service.database_url)
    failures_module._recorder.cache_clear()
    try:
        on_task_failure(
            sender=FakeTask(), task_id=task_id, args=["x" * 3000], kwargs={},
            exception=ValueError("signing with whsec_c2VjcmV0LXZhbHVl failed"),
            traceback=None, einfo=None,
        )  # fmt: skip
        entries = task_failures(redis_service.database(), limit=50)
        failure = next(f for f in entries if f.task_id == task_id)
        assert "c2VjcmV0LXZhbHVl" not in failure.exception_message
        assert failure.arguments_truncated
        assert len(failure.args.encode()) <= ARGS_LIMIT

        # The database unreachable: the failure to record is logged, never raised.
        monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
        failures_module._recorder.cache_clear()
        on_task_failure(sender=FakeTask(), task_id="t", exception=RuntimeError("x"))
    finally:
        failures_module._recorder.cache_clear()


# -- the scrubbing and truncation helpers --------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (
            "secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw rejected",
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ),
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
        ("Error connecting to redis://:hunter2@redis:6379/0", "hunter2"),
        ("redis://user:pa55word@host/0", "pa55word"),
        ('{"secret": "s3cr3t-value", "id": 1}', "s3cr3t-value"),
        ("SYNDICATE_API_TOKENS=tok-one,tok-two", "tok-one"),
        ("password='opensesame'", "opensesame"),
    ],
)
def test_scrub_removes_secrets(text: str, secret: str) -> None:
    scrubbed = scrub(text)
    assert secret not in scrubbed
    assert "***" in scrubbed


def test_scrub_keeps_ordinary_text() -> None:
    text = 'File "worker/tasks.py", line 12, in ingest\nValueError: no title on line 1'
    assert scrub(text) == text


def test_truncate_keeps_the_head_or_the_tail_within_the_byte_limit() -> None:
    assert truncate("short", 10) == ("short", False)
    head, cut = truncate("a" * 100, 40)
    assert cut and head.startswith("a") and len(head.encode()) <= 40
    tail, cut = truncate("first line\n" + "x" * 100 + "\nValueError: last", 40, keep="tail")
    assert cut and tail.endswith("ValueError: last") and len(tail.encode()) <= 40
    multibyte, cut = truncate("é" * 100, 41)  # never half a character
    assert cut and len(multibyte.encode()) <= 41
    multibyte.encode("utf-8")


def test_an_entry_is_scrubbed_and_truncated() -> None:
    traceback_text = "Traceback (most recent call last):\n" + "  frame\n" * 2000
    traceback_text += "RuntimeError: whsec_abcdef0123456789\n"
    entry = task_failure_entry(
        task_name="syndicate.deliver", task_id="t1", args=["m" * 5000, 3],
        kwargs={"k": "v"}, exception=RuntimeError("key whsec_abcdef0123456789"),
        traceback_text=traceback_text, hostname="w1", retries=2, at=1.5,
    )  # fmt: skip
    assert len(entry["traceback"].encode()) <= TRACEBACK_LIMIT
    assert entry["traceback"].rstrip().endswith("RuntimeError: whsec_***")
    assert "abcdef0123456789" not in entry["exception_message"]
    assert len(entry["args"].encode()) <= ARGS_LIMIT
    assert entry["arguments_truncated"] == "1"
    assert json.loads(entry["kwargs"]) == {"k": "v"}
    assert (entry["exception_type"], entry["retries"], entry["hostname"]) == (
        "RuntimeError", "2", "w1",
    )  # fmt: skip


def test_failure_ids_name_their_kind() -> None:
    submission_id = uuid.uuid4().hex
    assert parse_failure_id(f"sub_{submission_id}") == ("sub", submission_id)
    assert parse_failure_id(submission_id) == ("sub", submission_id)
    assert parse_failure_id("rej_17") == ("rej", "17")
    assert parse_failure_id("task_1718000000000") == ("task", "1718000000000")
    for bad in ("task_abc", "rej_", "sub_xyz", "task_1-0", "rej_" + "9" * 19, "17", ""):
        with pytest.raises(FailureNotFoundError):
            parse_failure_id(bad)
