"""The command line, run as a real process: JSON out, one-line errors, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES

SYNDICATE = [sys.executable, "-c", "from worker.cli import main; main()"]
EXAMPLE = EXAMPLES / "everwinter-2019-ending-explained.txt"


def run(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*SYNDICATE, *args],
        input=stdin,
        capture_output=True,
        check=False,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_parse_prints_the_article_json() -> None:
    done = run("parse", str(EXAMPLE))
    assert done.returncode == 0, done.stderr
    article = json.loads(done.stdout)
    assert article["id"] == "everwinter-2019-ending-explained"
    assert article["metadata"]["rating"] == {"value": 7.4, "scale": 10.0}
    assert done.stderr == b""


def test_parse_from_stdin_with_an_explicit_format() -> None:
    done = run(
        "parse", "-", "--format", "markdown", "--compact", stdin=b"# Hello\n\n## Part\n\nText.\n"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sections"][0]["heading"] == "Part"
    assert done.stdout.count(b"\n") == 1


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (b"", b"empty"),
        (b"  \n \t\n", b"whitespace"),
        (b"\x00\x01\x02binary\x00\x00", b"binary"),
        (b"Title\nok\n\xc3\x28", b"line 3: not valid UTF-8"),
        (b"word " * 200, b"line 1: no title"),
    ],
)
def test_bad_input_exits_2_with_one_line(stdin: bytes, message: bytes) -> None:
    done = run("parse", "-", stdin=stdin)
    assert done.returncode == 2
    assert done.stdout == b""
    assert done.stderr.count(b"\n") == 1
    assert message in done.stderr
    assert b"Traceback" not in done.stderr


def test_the_size_limit_is_configurable() -> None:
    done = run("parse", "-", stdin=b"Title\n" + b"x" * 100, env={"SYNDICATE_MAX_INPUT_BYTES": "50"})
    assert done.returncode == 2
    assert b"limit of 50 bytes" in done.stderr


def test_a_bad_setting_is_a_one_line_error() -> None:
    done = run("parse", str(EXAMPLE), env={"SYNDICATE_MAX_INPUT_BYTES": "lots"})
    assert done.returncode == 2
    assert b"SYNDICATE_MAX_INPUT_BYTES must be an integer" in done.stderr


def test_a_missing_file_is_a_one_line_error(tmp_path: Path) -> None:
    done = run("parse", str(tmp_path / "nope.txt"))
    assert done.returncode == 2
    assert done.stderr.count(b"\n") == 1 and b"Traceback" not in done.stderr


def test_odd_input_parses_with_warnings_on_stderr() -> None:
    done = run("parse", "-", stdin=b"Only A Title\n")
    assert done.returncode == 0
    assert b"warning" in done.stderr and b"no description" in done.stderr
    assert json.loads(done.stdout)["title"] == "Only A Title"


def test_summarize_prints_one_sentence_per_line() -> None:
    text = (
        "The ferry left at dawn. Nobody on board knew the captain. "
        "By noon the fog had closed in. The radio went silent at two. "
        "Dr. Amadi kept a log of every hour."
    )
    done = run("summarize", "--sentences", "2", stdin=text.encode())
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 2
    assert all(line in text for line in lines)


def test_summarize_jsonl_batch_mode() -> None:
    requests = [
        {"id": "a", "text": "One sentence here. Another one there. A third at last."},
        {"id": 7, "text": "Short text."},
    ]
    stdin = "\n".join(json.dumps(item) for item in requests).encode()
    done = run("summarize", "--jsonl", "--sentences", "1", stdin=stdin)
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert [result["id"] for result in results] == ["a", 7]
    assert results[1]["sentences"] == ["Short text."]


def test_summarize_jsonl_reports_bad_lines_and_keeps_the_good_ones() -> None:
    stdin = b'{"id": "a", "text": "Fine text."}\nnot json\n{"id": "b"}\n'
    done = run("summarize", "--jsonl", stdin=stdin)
    assert done.returncode == 2
    assert json.loads(done.stdout)["id"] == "a"
    errors = done.stderr.decode().splitlines()
    assert errors[0].startswith("syndicate: error: line 2:")
    assert errors[1].startswith("syndicate: error: line 3:")


def test_summarize_rejects_invalid_utf8() -> None:
    done = run("summarize", stdin=b"ok\n\xff\n")
    assert done.returncode == 2 and b"line 2" in done.stderr


def test_usage_errors_exit_2_without_traceback() -> None:
    done = run("parse", "--format", "docx", "-")
    assert done.returncode == 2
    assert b"Traceback" not in done.stderr


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "syndicate"
    assert script.exists()
    done = subprocess.run([str(script), "--help"], capture_output=True, check=False, timeout=60)
    assert done.returncode == 0
    assert b"parse" in done.stdout and b"summarize" in done.stdout
