"""``syndicate failures ...``: failed articles, refused inputs and dead-lettered tasks.

Ids name their kind: ``sub_<submission id>`` (a failed article), ``rej_<entry>`` (input
the API refused) and ``task_<entry>`` (a task that failed for good); see
:mod:`worker.failures`. Like the webhook commands these talk to Redis directly (the
embedded one under ``SYNDICATE_DATA_DIR``, or ``REDIS_URL``). Errors are one line on
stderr with exit code 2.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from worker.cli_common import connected_settings, echo_json, fail, since_time
from worker.core.errors import SyndicateError

if TYPE_CHECKING:
    from worker.failures import Failures

_KINDS = ("articles", "rejected", "tasks", "all")
_HEX_BYTES = 64
# Text is printed as it is unless it holds characters that would garble a terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class _Context:
    """The service, connected on first use so ``--help`` needs no Redis."""

    def __init__(self) -> None:
        self._failures: Failures | None = None

    def failures(self) -> Failures:
        # Imported here: `syndicate parse` and friends should not pay for Redis and Celery.
        from worker.failures import Failures  # noqa: PLC0415
        from worker.submit import Submitter  # noqa: PLC0415

        if self._failures is None:
            self._failures = Failures(Submitter.from_settings(connected_settings()))
        return self._failures


pass_context = click.make_pass_decorator(_Context, ensure=True)


def _run(function: Any, *args: object, **kwargs: object) -> Any:
    """Call into the service; its typed errors become one line and exit code 2."""
    import kombu.exceptions  # noqa: PLC0415
    import redis  # noqa: PLC0415

    try:
        return function(*args, **kwargs)
    except SyndicateError as error:  # not found, not failed, input still invalid
        fail(str(error))
    except (redis.ConnectionError, kombu.exceptions.OperationalError) as error:
        fail(f"cannot reach Redis: {error}")


def _when(timestamp: float | None) -> str:
    if not timestamp:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _one_line(text: str | None, width: int = 120) -> str:
    flat = " ".join((text or "-").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


@click.group()
def failures() -> None:
    """Failed articles, refused inputs and failed tasks: list, show, retry, discard."""


@failures.command("list")
@click.option("--kind", type=click.Choice(_KINDS), default="all", show_default=True)
@click.option("--since", default=None, help="A time (RFC 3339) or a duration ago (2h).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_context
def list_(context: _Context, kind: str, since: str | None, limit: int, as_json: bool) -> None:
    """Failures, newest first: id, kind, when, what (article id or task), error."""
    found = _run(
        context.failures().list_failures,
        kind,
        limit=limit,
        since=since_time(since) if since else None,
    )
    if as_json:
        echo_json(found)
        return
    for item in found:
        what = item.get("article_id") or item.get("task_name") or item.get("content_type") or "-"
        click.echo(
            f"{item['id']}\t{item['kind']}\t{_when(item['at'])}\t{what}\t{_one_line(item['error'])}"
        )


@failures.command("show")
@click.argument("failure_id")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def show(context: _Context, failure_id: str, as_json: bool) -> None:
    """One failure: its error and raw input, or a task's arguments and traceback."""
    shown: dict[str, Any] = _run(context.failures().show, failure_id)
    if as_json:
        echo_json(shown)
        return
    details = {
        key: value
        for key, value in shown.items()
        if key not in ("raw_base64", "raw_preview", "traceback", "args", "kwargs")
    }
    for name, value in details.items():
        shown_value = _when(value) if name == "at" or name.endswith("_at") else value
        click.echo(f"{name + ':':22} {'-' if shown_value is None else shown_value}")
    if "args" in shown:
        click.echo(f"{'args:':22} {json.dumps(shown['args'], ensure_ascii=False)}")
        click.echo(f"{'kwargs:':22} {json.dumps(shown['kwargs'], ensure_ascii=False)}")
    if "traceback" in shown:
        click.echo("traceback:")
        click.echo(shown["traceback"].rstrip("\n"))
    if "raw_base64" in shown:
        _show_raw(base64.b64decode(shown["raw_base64"]))


def _show_raw(raw: bytes) -> None:
    try:
        text = raw.decode("utf-8")
        problem = "control characters" if _CONTROL.search(text) else ""
    except UnicodeDecodeError:
        problem = "not UTF-8"
    if problem:
        head = raw[:_HEX_BYTES].hex(" ")
        more = " …" if len(raw) > _HEX_BYTES else ""
        click.echo(f"raw input: {len(raw):,} bytes, {problem}; first bytes (hex): {head}{more}")
        return
    click.echo(f"raw input ({len(raw):,} bytes):")
    click.echo(text.rstrip("\n"))


@failures.command("retry")
@click.argument("failure_id", required=False)
@click.option("--all-articles", is_flag=True, help="Retry every failed article.")
@pass_context
def retry(context: _Context, failure_id: str | None, all_articles: bool) -> None:
    """Try a failure again: reprocess an article, resubmit an input, resend a task."""
    if all_articles == (failure_id is not None):
        fail("give one FAILURE_ID or --all-articles")
    service = context.failures()
    if all_articles:
        retried = _run(service.retry_all_articles)
        click.echo(f"{len(retried)} failed articles queued again")
        return
    assert failure_id is not None
    outcome: dict[str, Any] = _run(service.retry, failure_id)
    if outcome["kind"] == "task":
        click.echo(f"{failure_id}: {outcome['task_name']} sent again as task {outcome['task_id']}")
    else:
        click.echo(f"{failure_id}: submission {outcome['submission']} queued")


@failures.command("discard")
@click.argument("failure_id")
@pass_context
def discard(context: _Context, failure_id: str) -> None:
    """Forget a failure (a failed article's submission is kept, marked discarded)."""
    _run(context.failures().discard, failure_id)
    click.echo(f"{failure_id} discarded")
