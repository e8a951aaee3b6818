"""``syndicate ingest`` against the real Redis and worker."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

from tests.integration.conftest import ROOT, RedisService, WorkerProcess, service_env


def run_ingest(redis_service: RedisService, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from worker.cli import main; main()", "ingest", *args],
        env=service_env(redis_service),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_ingest_a_directory_and_wait_for_the_table(
    redis_service: RedisService, worker: WorkerProcess, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    for index in range(12):
        body = "A description.\n\n## The Climb\n\nThey climb at night.\n"
        (tmp_path / f"article-{index}.md").write_text(f"# Ridge Line {tag} {index}\n\n{body}")
    (tmp_path / "notes.bin").write_bytes(b"\x00\x01 not an article")  # not an article suffix
    done = run_ingest(redis_service, str(tmp_path), "--wait")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["source", "article", "id", "outcome", "version", "error"]
    assert len(lines) == 13
    assert all(" published " in line and line.rstrip().endswith("1") for line in lines[1:])
    assert "submitting" in done.stderr  # the progress bar, shown for 10 files or more


def test_refused_files_are_reported_and_exit_2(
    redis_service: RedisService, worker: WorkerProcess, tmp_path: Path
) -> None:
    good = tmp_path / "good.txt"
    good.write_text(f"Good One {uuid.uuid4().hex[:6]}\nA description.\nPart\nText here.\n")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"Title\n\xff\xfe")
    done = run_ingest(redis_service, str(good), str(bad), "--wait")
    assert done.returncode == 2
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[1:]}
    assert " published " in rows[str(good)]
    assert "refused" in rows[str(bad)] and "not valid UTF-8" in rows[str(bad)]
    assert "Traceback" not in done.stderr
