"""``syndicate ingest``: submit files to the queue, optionally wait and print results."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click

from config.settings import Settings
from worker.cli_common import require_redis
from worker.core.errors import InputError
from worker.store import Store
from worker.submit import Submitter

ARTICLE_SUFFIXES = {".txt", ".text", ".md", ".markdown", ".html", ".htm", ".json"}
_POLL = 0.1


@dataclass(slots=True)
class Row:
    """One submitted file and what became of it."""

    source: str
    article_id: str = ""
    submission_id: str = ""
    outcome: str = "queued"
    version: int = 0
    error: str = ""


def expand(paths: list[Path]) -> Iterator[Path]:
    """Files named, and article files found (sorted) in directories named."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                child for child in path.rglob("*")
                if child.is_file() and child.suffix.lower() in ARTICLE_SUFFIXES
            )  # fmt: skip
        else:
            yield path


def submit_paths(settings: Settings, paths: list[Path], *, format_: str | None) -> list[Row]:
    """Submit every file; bad ones get an error row, the others a submission id."""
    submitter = Submitter.from_settings(settings)
    files = list(expand(paths))
    rows: list[Row] = []
    with click.progressbar(
        files, label="submitting", file=sys.stderr, show_pos=True, hidden=len(files) < 10
    ) as progress:
        for path in progress:
            rows.append(_submit_one(submitter, path, format_))
    return rows


def _submit_one(submitter: Submitter, path: Path, format_: str | None) -> Row:
    row = Row(source=str(path))
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
        accepted = submitter.submit(data, format=format_)
    except OSError as error:
        row.outcome, row.error = "failed", f"cannot read: {error.strerror}"
    except InputError as error:
        row.outcome, row.error = "refused", str(error)
    else:
        row.article_id, row.submission_id = accepted.article_id, accepted.submission_id
    return row


def wait_for(store: Store, rows: list[Row], timeout: float) -> bool:
    """Poll until every queued row is done or failed; False on timeout."""
    deadline = time.monotonic() + timeout
    waiting = [row for row in rows if row.submission_id]
    while waiting and time.monotonic() < deadline:
        still: list[Row] = []
        for row in waiting:
            submission = store.submission(row.submission_id)
            if submission is not None and submission.status in ("done", "failed"):
                row.outcome = submission.result or submission.status
                row.version = submission.version
                row.error = submission.error or ""
            else:
                still.append(row)
        waiting = still
        if waiting:
            time.sleep(_POLL)
    return not waiting


def print_table(rows: list[Row]) -> None:
    """A per-article result table on stdout."""
    headers = ("source", "article id", "outcome", "version", "error")
    cells = [
        (row.source, row.article_id, row.outcome, str(row.version or ""), row.error) for row in rows
    ]
    widths = [
        max(len(header), *(len(cell[index]) for cell in cells))
        for index, header in enumerate(headers)
    ]
    widths[-1] = len(headers[-1])
    for line in (headers, *cells):
        click.echo(
            "  ".join(
                value.ljust(width) for value, width in zip(line, widths, strict=True)
            ).rstrip()
        )


def run_ingest(
    settings: Settings, paths: list[str], *, format_: str | None, wait: bool, timeout: float
) -> int:
    """The ``ingest`` command; exit code 2 if any file was refused or failed."""
    require_redis(settings)
    rows = submit_paths(settings, [Path(path) for path in paths], format_=format_)
    if wait:
        finished = wait_for(Submitter.from_settings(settings).store, rows, timeout)
        print_table(rows)
        if not finished:
            click.echo(
                f"syndicate: error: timed out after {timeout:.0f}s; is a worker running?",
                err=True,
            )
            return 1
    else:
        for row in rows:
            click.echo(
                f"{row.source}\t{row.article_id or '-'}\t{row.outcome}\t{row.error}".rstrip()
            )
    return 2 if any(row.outcome in ("refused", "failed") for row in rows) else 0
