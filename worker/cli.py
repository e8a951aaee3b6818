"""The ``syndicate`` command line.

Exit codes: 0 success, 2 bad input or usage (one line on stderr naming the problem),
70 an internal error (reported in one line; never a traceback).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import BinaryIO, NoReturn

import click
import msgspec

from config.settings import ConfigError, Settings
from worker.core.errors import InputError, SyndicateError
from worker.core.pipeline import FORMATS, parse_article
from worker.core.sentences import split_sentences
from worker.core.summarize import summarize

EXIT_INPUT = 2
EXIT_INTERNAL = 70


class _SummarizeRequest(msgspec.Struct, frozen=True):
    id: str | int
    text: str


class _SummarizeResponse(msgspec.Struct, frozen=True):
    id: str | int
    sentences: list[str]


def _fail(message: str, code: int = EXIT_INPUT) -> NoReturn:
    click.echo(f"syndicate: error: {message}", err=True)
    sys.exit(code)


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as error:
        _fail(str(error))


def _read_limited(stream: BinaryIO, limit: int) -> bytes:
    """Read at most ``limit`` bytes; one byte more means the input is too large."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        _fail(f"the input is larger than the limit of {limit:,} bytes")
    return data


def _read_stdin_text() -> str:
    data = _read_limited(sys.stdin.buffer, _settings().core.max_input_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        _fail(f"line {line}: stdin is not valid UTF-8 (offset {error.start})")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="syndicate", prog_name="syndicate")
def cli() -> None:
    """syndicate: articles in, summarized feeds and signed webhooks out."""


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True, path_type=str))
@click.option(
    "--format", "format_", type=click.Choice(FORMATS), help="Input format (default: sniffed)."
)
@click.option("--compact", is_flag=True, help="One-line JSON instead of indented.")
def parse(path: str, format_: str | None, compact: bool) -> None:
    """Parse one article (PATH, or - for stdin) and print it as JSON."""
    settings = _settings()
    limit = settings.core.max_input_bytes
    if path == "-":
        data = _read_limited(sys.stdin.buffer, limit)
    else:
        try:
            with open(path, "rb") as handle:
                data = _read_limited(handle, limit)
        except OSError as error:
            _fail(f"cannot read {path}: {error.strerror}")
    try:
        result = parse_article(data, format=format_, options=settings.core)
    except InputError as error:
        _fail(f"{path}: {error}")
    for warning in result.warnings:
        click.echo(f"syndicate: warning: {path}: {warning}", err=True)
    document = result.article.to_json()
    click.echo(document if compact else msgspec.json.format(document, indent=2))


@cli.command(name="summarize")
@click.option("--sentences", "-n", type=click.IntRange(min=1), default=3, show_default=True)
@click.option(
    "--jsonl", is_flag=True, help='Batch: {"id","text"} lines in, {"id","sentences"} out.'
)
def summarize_command(sentences: int, jsonl: bool) -> None:
    """Summarize plain text from stdin: one summary sentence per line."""
    text = _read_stdin_text()
    if jsonl:
        _summarize_jsonl(text, sentences)
        return
    if not text.strip():
        _fail("the input is empty")
    for sentence in summarize(text, sentences=sentences):
        click.echo(_one_line(sentence))


def _summarize_jsonl(text: str, sentences: int) -> None:
    decoder = msgspec.json.Decoder(_SummarizeRequest)
    encoder = msgspec.json.Encoder()
    failures = 0
    for number, line in _numbered_lines(text):
        try:
            request = decoder.decode(line)
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            failures += 1
            click.echo(f"syndicate: error: line {number}: {error}", err=True)
            continue
        chosen = [_one_line(item) for item in summarize(request.text, sentences=sentences)]
        response = _SummarizeResponse(request.id, chosen)
        click.echo(encoder.encode(response).decode("utf-8"))
    if failures:
        sys.exit(EXIT_INPUT)


def _one_line(sentence: str) -> str:
    """Summary sentences are substrings of the input and may span a line break."""
    return " ".join(sentence.split())


def _numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            yield number, line


@cli.command()
def sentences() -> None:
    """Split plain text from stdin into sentences, one per line (a debugging aid)."""
    for sentence in split_sentences(_read_stdin_text()):
        click.echo(_one_line(sentence))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="HTTP server address.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--concurrency",
    "-c",
    default=2,
    show_default=True,
    type=click.IntRange(min=1),
    help="Processes of the CPU worker (ingest, publish).",
)
@click.option(
    "--io-threads",
    default=16,
    show_default=True,
    type=click.IntRange(min=1),
    help="Threads of the I/O worker (deliveries).",
)
@click.option(
    "--queues",
    "-Q",
    default="ingest,publish,deliver",
    show_default=True,
    help="Queues this machine's workers consume.",
)
@click.option("--no-beat", is_flag=True, help="Do not run the scheduler (run it on one host only).")
@click.option(
    "--ingest",
    "ingest_paths",
    multiple=True,
    type=click.Path(exists=True),
    help="Files or directories to submit once everything is up.",
)
def up(host: str, port: int, concurrency: int, io_threads: int, queues: str, no_beat: bool,
       ingest_paths: tuple[str, ...]) -> None:  # fmt: skip
    """Run everything: embedded PostgreSQL and Redis (unless DATABASE_URL / REDIS_URL are
    set), workers, beat and the HTTP server."""
    from worker.up import run_up  # noqa: PLC0415 - keeps `syndicate parse` light

    sys.exit(run_up(
        _settings(), host=host, port=port, concurrency=concurrency, io_threads=io_threads,
        queues=[queue.strip() for queue in queues.split(",") if queue.strip()],
        beat=not no_beat, ingest_paths=list(ingest_paths),
    ))  # fmt: skip


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(allow_dash=True))
@click.option(
    "--format", "format_", type=click.Choice(FORMATS), help="Input format (default: sniffed)."
)
@click.option("--wait", is_flag=True, help="Wait until processed; print a result table.")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait with --wait.")
def ingest(paths: tuple[str, ...], format_: str | None, wait: bool, timeout: float) -> None:
    """Submit article files (PATH..., a DIR, or - for stdin) to the queue."""
    from worker.ingest_cli import run_ingest  # noqa: PLC0415 - needs Redis and Celery

    sys.exit(run_ingest(_settings(), list(paths), format_=format_, wait=wait, timeout=timeout))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="The same data as JSON, for scripts.")
@click.option("--watch", type=float, default=None, metavar="SECONDS", help="Refresh every N s.")
def status(as_json: bool, watch: float | None) -> None:
    """Redis, queues, workers, throughput, articles, feeds and deliveries on one screen."""
    from worker.status_cli import run_status  # noqa: PLC0415 - needs Redis

    sys.exit(run_status(_settings(), as_json=as_json, watch=watch))


def _add_webhook_commands() -> None:
    from worker.cli_database import database  # noqa: PLC0415 - heavier imports
    from worker.cli_failures import failures  # noqa: PLC0415 - heavier imports
    from worker.cli_portal import portal  # noqa: PLC0415 - heavier imports
    from worker.cli_webhooks import deliveries, subscriptions  # noqa: PLC0415 - heavier imports

    cli.add_command(subscriptions)
    cli.add_command(deliveries)
    cli.add_command(failures)
    cli.add_command(database)
    cli.add_command(portal)


_add_webhook_commands()


def main() -> None:
    """Entry point of the ``syndicate`` console script."""
    try:
        cli.main(prog_name="syndicate", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(EXIT_INPUT)
    except click.exceptions.Abort:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except SyndicateError as error:
        _fail(str(error))
    except Exception as error:
        _fail(f"internal error: {type(error).__name__}: {error}", EXIT_INTERNAL)
