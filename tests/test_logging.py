"""Structured logs: the text and JSON formats, context fields, and redaction of secrets."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

from config.logging import (
    CONTEXT_FIELDS,
    REDACTED,
    Redactor,
    celery_process_name,
    make_handler,
)
from feeds.webhooks.signing import generate_secret

ROOT = Path(__file__).resolve().parents[1]
RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
API_TOKEN = "tok-" + uuid.uuid4().hex
WEBHOOK_SECRET = generate_secret()
SECRET_BODY = WEBHOOK_SECRET.removeprefix("whsec_")


class Captured:
    """A logger of its own whose lines go to a string (the root logger is not touched)."""

    def __init__(self, log_format: str, process: str = "worker") -> None:
        self.stream = io.StringIO()
        self.logger = logging.getLogger(f"test.logs.{uuid.uuid4().hex[:8]}")
        self.logger.propagate = False
        self.logger.setLevel(logging.DEBUG)
        self.handler = make_handler(
            log_format, process=process, secrets=[API_TOKEN], stream=self.stream
        )
        self.logger.addHandler(self.handler)

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[str]:
        return self.text.splitlines()

    def entries(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.lines()]

    def close(self) -> None:
        self.logger.removeHandler(self.handler)


@pytest.fixture
def text_log() -> Iterator[Captured]:
    captured = Captured("text")
    yield captured
    captured.close()


@pytest.fixture
def json_log() -> Iterator[Captured]:
    captured = Captured("json")
    yield captured
    captured.close()


# Formats


def test_a_text_line_has_time_level_logger_process_message_and_present_context(
    text_log: Captured,
) -> None:
    text_log.logger.info(
        "article %s: %s", "a-1", "published", extra={"article_id": "a-1", "version": 2}
    )
    (line,) = text_log.lines()
    stamp, level, name, process, rest = line.split(" ", 4)
    assert RFC3339_MS.match(stamp)
    assert (level, name, process) == ("INFO", text_log.logger.name, "[worker]")
    assert rest == "article a-1: published article_id=a-1 version=2"


def test_text_context_values_with_spaces_are_quoted(text_log: Captured) -> None:
    text_log.logger.warning("x", extra={"feed": "tag:new york", "task_name": "syndicate.ingest"})
    assert text_log.lines()[0].endswith(' task_name=syndicate.ingest feed="tag:new york"')


def test_a_json_line_has_the_fields_and_only_the_context_present(json_log: Captured) -> None:
    json_log.logger.info(
        "message %s to %s will be retried", "msg_1", "ep_1",
        extra={"message_id": "msg_1", "endpoint_id": "ep_1", "article_id": "a-1"},
    )  # fmt: skip
    (entry,) = json_log.entries()
    assert RFC3339_MS.match(str(entry.pop("time")))
    assert isinstance(entry.pop("pid"), int)
    assert entry == {
        "level": "INFO",
        "logger": json_log.logger.name,
        "process": "worker",
        "message": "message msg_1 to ep_1 will be retried",
        "article_id": "a-1",
        "message_id": "msg_1",
        "endpoint_id": "ep_1",
    }


def test_json_has_every_context_field_it_is_given(json_log: Captured) -> None:
    context: dict[str, object] = {name: f"v-{name}" for name in CONTEXT_FIELDS}
    context["version"] = 3
    json_log.logger.info("all", extra=context)
    entry = json_log.entries()[0]
    assert {name: entry[name] for name in CONTEXT_FIELDS} == context


def test_json_keeps_serializable_extras_and_drops_the_rest(json_log: Captured) -> None:
    json_log.logger.info(
        "x",
        extra={
            "attempt": 2,
            "outcome": {"status": 503},
            "handle": object(),  # not JSON: left out
            "color_message": "\x1b[1mx\x1b[0m",  # uvicorn's: left out
            "data": {"id": "t-1", "args": "()"},  # Celery's: left out
        },
    )
    entry = json_log.entries()[0]
    assert entry["attempt"] == 2
    assert entry["outcome"] == {"status": 503}
    assert not {"handle", "color_message", "data"} & entry.keys()


def test_json_reports_an_exception_with_its_type_and_traceback(json_log: Captured) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        json_log.logger.exception("failed", extra={"article_id": "a-1"})
    (entry,) = json_log.entries()
    assert entry["level"] == "ERROR"
    assert entry["message"] == "failed"
    assert entry["exc_type"] == "ValueError"
    exc = str(entry["exc"])
    assert exc.startswith("Traceback (most recent call last):")
    assert exc.rstrip().endswith("ValueError: boom")
    assert entry["article_id"] == "a-1"


def test_json_names_the_module_of_a_non_builtin_exception(json_log: Captured) -> None:
    try:
        json.loads("{")
    except json.JSONDecodeError:
        json_log.logger.exception("bad json")
    assert json_log.entries()[0]["exc_type"] == "json.decoder.JSONDecodeError"


def test_text_puts_the_traceback_after_the_line(text_log: Captured) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        text_log.logger.exception("failed", extra={"task_id": "t-1"})
    first, *rest = text_log.lines()
    assert first.endswith("failed task_id=t-1")
    assert rest[0] == "Traceback (most recent call last):"
    assert rest[-1] == "RuntimeError: boom"


def test_a_multiline_message_stays_one_json_line(json_log: Captured) -> None:
    json_log.logger.info("one\ntwo")
    assert len(json_log.lines()) == 1
    assert json_log.entries()[0]["message"] == "one\ntwo"


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="text, json"):
        make_handler("xml", process="worker")


# Celery task context


def test_lines_inside_a_celery_task_carry_its_id_and_name(json_log: Captured) -> None:
    app = Celery("test-logs", set_as_current=False)
    app.conf.task_always_eager = True
    logger = json_log.logger

    @app.task(name="test.logged")
    def logged() -> None:
        logger.info("inside", extra={"article_id": "a-1"})

    result = logged.apply()
    logger.info("outside")
    inside, outside = json_log.entries()
    assert inside["task_id"] == result.id
    assert inside["task_name"] == "test.logged"
    assert inside["article_id"] == "a-1"
    assert "task_id" not in outside and "task_name" not in outside


def test_celerys_own_lines_outside_a_task_take_the_task_from_their_data(
    json_log: Captured,
) -> None:
    context = {"id": "t-9", "name": "syndicate.ingest", "args": "('s-1',)"}
    json_log.logger.info("Task %(name)s[%(id)s] received", context, extra={"data": context})
    entry = json_log.entries()[0]
    assert entry["message"] == "Task syndicate.ingest[t-9] received"
    assert (entry["task_id"], entry["task_name"]) == ("t-9", "syndicate.ingest")


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["-A", "config.celery_app", "worker", "-Q", "ingest"], "worker"),
        (["-A", "config.celery_app", "beat", "-s", "x"], "beat"),
        (["-A", "config.celery_app", "worker", "-B"], "worker"),
        (["-A", "config.celery_app", "inspect", "ping"], "celery"),
    ],
)
def test_the_celery_process_is_named_from_its_command_line(argv: list[str], name: str) -> None:
    assert celery_process_name(argv) == name


# Redaction

SECRET_FORMS = [
    pytest.param(f"webhook secret {WEBHOOK_SECRET} created", WEBHOOK_SECRET, id="whsec"),
    pytest.param("Authorization: Bearer abc.DEF-123_x", "abc.DEF-123_x", id="authorization"),
    pytest.param("{'Authorization': 'Basic dXNlcjpwYXNz'}", "dXNlcjpwYXNz", id="basic-in-repr"),
    pytest.param("got Bearer eyJhbGciOi.x.y from", "eyJhbGciOi.x.y", id="bearer"),
    pytest.param(f"token {API_TOKEN} refused", API_TOKEN, id="api-token"),
    pytest.param(f"GET /v1/x?state={API_TOKEN}&y=1", API_TOKEN, id="api-token-in-url"),
    pytest.param("hub.mode=subscribe&hub.secret=s3cr3t-value&x=1", "s3cr3t-value", id="hub-secret"),
    pytest.param("{'callback': 'http://c', 'secret': 'hub-s3cr3t'}", "hub-s3cr3t", id="secret-key"),
    pytest.param('{"password": "pa ss"}', "pa ss", id="password-json"),
    pytest.param("broker redis://:r3dis-pw@redis:6379/0", "r3dis-pw", id="redis-password"),
    pytest.param("rediss://default:tls-pw@h:6380", "tls-pw", id="rediss-user-password"),
    pytest.param("sentinel://:s-pw@a:26379;sentinel://:s-pw@b:26379", "s-pw", id="sentinel"),
    pytest.param("SYNDICATE_API_TOKENS=one-tok,two-tok", "two-tok", id="env-assignment"),
    pytest.param("GET /hook?token=qs-token-1", "qs-token-1", id="query-token"),
]


@pytest.mark.parametrize(("text", "secret"), SECRET_FORMS)
def test_each_secret_form_is_redacted_from_the_message(
    json_log: Captured, text: str, secret: str
) -> None:
    json_log.logger.warning("%s", text)
    assert secret not in json_log.text
    message = str(json_log.entries()[0]["message"])
    assert REDACTED in message or "***" in message


@pytest.mark.parametrize(("text", "secret"), SECRET_FORMS)
def test_each_secret_form_is_redacted_from_extra_values(
    json_log: Captured, text: str, secret: str
) -> None:
    json_log.logger.info(
        "x", extra={"reason": text, "nested": {"list": [text, (text,)]}, "article_id": text}
    )
    assert secret not in json_log.text


def test_the_webhook_secret_and_its_base64_part_are_both_gone(json_log: Captured) -> None:
    json_log.logger.info("secrets=(Secret(value=%r),)", WEBHOOK_SECRET)
    assert WEBHOOK_SECRET not in json_log.text
    assert SECRET_BODY not in json_log.text
    assert "whsec_[REDACTED]" in json_log.text


def test_fields_named_like_secrets_are_redacted_whatever_their_value(json_log: Captured) -> None:
    json_log.logger.info(
        "x", extra={"secret": "plain", "api_token": "plain2", "headers": {"authorization": "x y"}}
    )
    entry = json_log.entries()[0]
    assert entry["secret"] == entry["api_token"] == REDACTED
    assert entry["headers"] == {"authorization": REDACTED}


def test_secrets_are_redacted_from_a_traceback(json_log: Captured, text_log: Captured) -> None:
    for captured in (json_log, text_log):
        try:
            connect(f"redis://:hunter2@redis:6379 with {WEBHOOK_SECRET}", API_TOKEN)
        except ConnectionError:
            captured.logger.exception("could not connect using %s", API_TOKEN)
        for secret in ("hunter2", WEBHOOK_SECRET, SECRET_BODY, API_TOKEN):
            assert secret not in captured.text, secret
        assert "redis://:***@redis:6379" in captured.text
    assert json_log.entries()[0]["exc_type"] == "ConnectionError"


def connect(url: str, token: str) -> None:
    raise ConnectionError(f"cannot reach {url} (Authorization: Bearer {token})")


def test_secrets_are_redacted_from_stack_info(json_log: Captured) -> None:
    log_with_stack(json_log.logger, "whsec_c3RhY2sgc2VjcmV0IGluIHNvdXJjZQ==")  # shown in the stack
    (entry,) = json_log.entries()
    assert "log_with_stack(json_log.logger, " in str(entry["stack"])
    assert "c3RhY2sgc2VjcmV0IGluIHNvdXJjZQ" not in json_log.text


def log_with_stack(logger: logging.Logger, secret: str) -> None:
    logger.info("and %s", secret, stack_info=True)


@pytest.mark.parametrize(
    "text",
    [
        "webhook endpoint ep_1: secret rotated",
        "API token: development token in var/api-token; Redis: unix:///tmp/x.sock",
        "message msg_1 to ep_1 will be retried: HTTP 503",
        "deliver(msg_1, token=4) claimed",
        "http://127.0.0.1:9/x redis://redis:6379/0",
        'published atom.xml (1087 bytes, etag "c74a5824")',
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert Redactor([API_TOKEN])(text) == text


@pytest.mark.parametrize(("text", "secret"), SECRET_FORMS)
def test_redaction_is_idempotent(text: str, secret: str) -> None:
    redact = Redactor([API_TOKEN])
    once = redact(text)
    assert secret not in once
    assert redact(once) == once


def test_a_record_with_bad_format_arguments_is_still_written_and_redacted(
    json_log: Captured,
) -> None:
    json_log.logger.info("%d items for %s", "not-a-number", API_TOKEN)
    assert API_TOKEN not in json_log.text
    assert "%d items" in str(json_log.entries()[0]["message"])


# The whole process, as a service configures it


def run_python(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_a_configured_process_writes_only_redacted_json_lines_to_stderr() -> None:
    script = f"""
        import logging, logging.config, warnings
        import uvicorn.config
        from config.logging import configure_logging
        from config.settings import Settings

        logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)  # as uvicorn does first
        configure_logging(Settings.from_env(), process="api")
        configure_logging(Settings.from_env(), process="api")  # again: no duplicate lines
        log = logging.getLogger("syndicate.test")
        log.info("subscribed with %s", {WEBHOOK_SECRET!r}, extra={{"endpoint_id": "ep_1"}})
        log.debug("not shown at INFO")
        try:
            raise RuntimeError("token {API_TOKEN} in redis://:pw@redis")
        except RuntimeError:
            log.exception("failed")
        logging.getLogger("uvicorn.error").info("Application startup complete.")
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", "/x?state={API_TOKEN}", "1.1", 200
        )
        warnings.warn("deprecated {API_TOKEN}", UserWarning, stacklevel=1)
    """
    done = run_python(script, SYNDICATE_LOG_FORMAT="json", SYNDICATE_API_TOKENS=API_TOKEN)
    assert done.stdout == ""  # uvicorn's access log went to stdout before; now it is taken over
    entries = [json.loads(line) for line in done.stderr.splitlines()]
    assert [entry["logger"] for entry in entries] == [
        "syndicate.test", "syndicate.test", "uvicorn.error", "uvicorn.access", "py.warnings",
    ]  # fmt: skip
    assert {entry["process"] for entry in entries} == {"api"}
    assert entries[0]["endpoint_id"] == "ep_1"
    assert entries[1]["exc_type"] == "RuntimeError"
    for secret in (WEBHOOK_SECRET, SECRET_BODY, API_TOKEN, ":pw@"):
        assert secret not in done.stderr, secret


def test_text_is_the_default_format() -> None:
    script = """
        import logging
        from config.logging import configure_logging
        from config.settings import Settings

        configure_logging(Settings.from_env(), process="up")
        logging.getLogger("syndicate.up").info("started %s", "api", extra={"feed": "main"})
    """
    done = run_python(script)
    (line,) = done.stderr.splitlines()
    assert re.fullmatch(r"\S+Z INFO syndicate\.up \[up\] started api feed=main", line)
