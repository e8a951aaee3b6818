"""PostgreSQL as the record: the embedded server, migrations, and the store on a real server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import feedparser
import psycopg
import pytest

from config.settings import Settings
from feeds.publish import Publisher
from tests.integration.conftest import ROOT
from tests.postgres import ScratchDatabases, database_url_named
from worker.core.pipeline import parse_article
from worker.database.connect import Database, redacted
from worker.database.embedded import EmbeddedPostgres
from worker.database.migrate import SchemaError, check_schema, migrations, pending, upgrade
from worker.ingest import process_submission
from worker.store import Store

REAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def fresh_database(databases: ScratchDatabases) -> str:
    """An empty database (no schema) on the session's server."""
    name = f"bare_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(databases.admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    databases.created.append(name)
    return database_url_named(databases.admin_url, name)


def test_migrations_apply_once_even_from_two_processes_at_once(
    databases: ScratchDatabases,
) -> None:
    url = fresh_database(databases)
    applied: list[int] = []

    def run() -> None:
        applied.extend(migration.version for migration in upgrade(url))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(applied) == [migration.version for migration in migrations()]
    with psycopg.connect(url) as connection:
        assert pending(connection) == []
        rows = connection.execute("SELECT version FROM schema_migrations").fetchall()
    assert len(rows) == len(migrations())
    assert upgrade(url) == []


def test_an_edited_migration_is_reported(databases: ScratchDatabases) -> None:
    url = databases.create("edited")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("UPDATE schema_migrations SET checksum = 'x' WHERE version = 1")
        with pytest.raises(SchemaError, match="append-only"):
            pending(connection)


def test_an_unmigrated_database_gets_one_line_naming_the_command(
    databases: ScratchDatabases, tmp_path: Path
) -> None:
    url = fresh_database(databases)
    settings = Settings.from_env({"DATABASE_URL": url, "SYNDICATE_DATA_DIR": str(tmp_path)})
    with pytest.raises(SchemaError) as caught:
        check_schema(settings)
    assert "run `syndicate db upgrade`" in str(caught.value)
    assert "\n" not in str(caught.value)

    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    status = subprocess.run(
        [sys.executable, "-c", "from worker.cli import main; main()", "db", "status"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert status.returncode == 1
    assert "0001_articles\tpending" in status.stdout
    done = subprocess.run(
        [sys.executable, "-c", "from worker.cli import main; main()", "db", "upgrade"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "applied 0001_articles" in done.stdout
    check_schema(settings)


def test_a_database_that_is_down_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://nobody:secret@127.0.0.1:{port}/none"
    settings = Settings.from_env({"DATABASE_URL": url, "SYNDICATE_DATA_DIR": str(tmp_path)})
    with pytest.raises(SchemaError, match="PostgreSQL is unreachable") as caught:
        check_schema(settings)
    assert "\n" not in str(caught.value)
    assert redacted(url) == f"postgresql://nobody:***@127.0.0.1:{port}/none"


def test_the_embedded_server_starts_keeps_data_and_is_reused() -> None:
    directory = Path(f"/tmp/syn-pgt-{uuid.uuid4().hex[:8]}")  # noqa: S108 - short socket path
    try:
        server = EmbeddedPostgres(directory)
        started = time.monotonic()
        server.start()
        first_start = time.monotonic() - started
        upgrade(server.url)
        with psycopg.connect(server.url, autocommit=True) as connection:
            connection.execute("CREATE TABLE kept (word text)")
            connection.execute("INSERT INTO kept VALUES ('still here')")
        again = EmbeddedPostgres(directory).start()  # a second process: reuses the server
        assert not again.owned
        server.stop()
        assert not server.ping()
        server = EmbeddedPostgres(directory).start()  # a restart finds the data
        with psycopg.connect(server.url) as connection:
            row = connection.execute("SELECT word FROM kept").fetchone()
        assert row == ("still here",)
        server.stop()
        assert first_start < 60
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_an_accepted_submission_is_committed_before_accept_returns(
    databases: ScratchDatabases, store: Store
) -> None:
    url = store.db.url
    raw = b"Committed Before Answer\nA description.\nPart\nIt is stored.\n"
    submission = store.accept(
        kind="upsert", article_id="committed-before-answer-" + uuid.uuid4().hex[:6],
        received_at=time.time(), raw=raw, format="text",
    )  # fmt: skip
    # A separate connection (another process, after a crash) sees the row and its input.
    with psycopg.connect(url) as connection:
        row = connection.execute(
            "SELECT raw, status FROM submissions WHERE id = %s", (submission.id,)
        ).fetchone()
    assert row == (raw, "queued")


def real_postgres_reachable() -> bool:
    try:
        with psycopg.connect(REAL_POSTGRES, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def test_the_store_on_a_real_postgresql_server() -> None:
    """The optional backend: the machine's own PostgreSQL, when one answers on :5432."""
    if not real_postgres_reachable():
        pytest.skip(f"no PostgreSQL at {REAL_POSTGRES} (optional backend)")
    name = f"syndicate_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(REAL_POSTGRES, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = database_url_named(REAL_POSTGRES, name)
    database = Database(url)
    try:
        upgrade(url)
        store = Store(database, client=None)  # type: ignore[arg-type] - no Redis needed here
        raw = b"Real Server Story\nA description.\nAuthor: Ada Vale\nPart\nIt is stored.\n"
        article_id = parse_article(raw).article.id
        submission = store.accept(
            kind="upsert", article_id=article_id, received_at=time.time(), raw=raw
        )
        result = process_submission(
            store, submission.id, Settings.from_env({}).core, now=time.time()
        )
        assert result.outcome == "published"
        record = store.article(article_id)
        assert record is not None and record.version == 1
        assert record.article is not None and record.article.authors == ("Ada Vale",)
    finally:
        database.close()
        with psycopg.connect(REAL_POSTGRES, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_raw_inputs_are_kept_for_the_retention_period_and_failed_ones_until_handled(
    store: Store,
) -> None:
    tag = uuid.uuid4().hex[:8]
    raw = f"Kept For A While {tag}\nA description.\nPart\nIt is stored.\n".encode()
    done = store.accept(kind="upsert", article_id=f"kept-{tag}", received_at=time.time(), raw=raw)
    process_submission(store, done.id, Settings.from_env({}).core, now=time.time())
    failed = store.accept(kind="upsert", article_id=f"failed-{tag}", received_at=time.time(),
                          raw=b"still needed")  # fmt: skip
    assert store.fail(failed, "simulated")
    recent = store.accept(kind="upsert", article_id=f"recent-{tag}", received_at=time.time(),
                          raw=raw.replace(b"Kept", b"Recent"))  # fmt: skip
    process_submission(store, recent.id, Settings.from_env({}).core, now=time.time())
    with store.db.connection() as conn:
        conn.execute(
            "UPDATE submissions SET done_at = now() - interval '31 days', "
            "failed_at = now() - interval '31 days' WHERE id = ANY(%s)",
            ([done.id, failed.id],),
        )
    forgotten = store.forget_raw_inputs(older_than=time.time() - 30 * 86400, batch=1)
    assert forgotten >= 1

    def raw_of(submission_id: str) -> bytes | None:
        found = store.failed_submission(submission_id)
        assert found is not None
        return found.raw or None

    assert raw_of(done.id) is None  # past retention: dropped
    assert raw_of(failed.id) == b"still needed"  # failed: kept until retried or discarded
    assert raw_of(recent.id) is not None  # within retention
    record = store.article(f"kept-{tag}")
    assert record is not None and record.version == 1  # the article itself is kept


def test_an_article_entering_late_with_an_old_date_is_in_the_current_document(
    store: Store, tmp_path: Path
) -> None:
    """Archives hold complete pages only; the page still filling is in the current feed."""
    tag = uuid.uuid4().hex[:8]
    settings = Settings.from_env({
        "SYNDICATE_FEED_ENTRIES": "2", "SYNDICATE_PUBLIC_DIR": str(tmp_path),
        "DATABASE_URL": store.db.url,
    })  # fmt: skip
    dates = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "1999-01-01"]
    for index, date in enumerate(dates):
        raw = (f"Late Entry {tag} {index}\nA description.\nTags: late-{tag}\n"
               f"Published: {date}T00:00:00Z\nPart\nWords.\n").encode()  # fmt: skip
        submission = store.accept(kind="upsert", article_id=f"late-{tag}-{index}",
                                  received_at=time.time(), raw=raw)  # fmt: skip
        process_submission(store, submission.id, settings.core, now=time.time())
    publisher = Publisher(store, settings)
    assert publisher.publish_feed(f"tag:late-{tag}")
    current = publisher.read(f"tags/late-{tag}/atom.xml", body="body")
    assert current is not None
    titles = [entry.title for entry in feedparser.parse(current[1]).entries]
    # The two newest, and the old one that sits alone on the page still filling.
    assert titles == [f"Late Entry {tag} 3", f"Late Entry {tag} 2", f"Late Entry {tag} 4"]
    archived = set()
    for page in (0, 1):
        document = publisher.read(f"tags/late-{tag}/archive/{page}/atom.xml", body="body")
        assert document is not None
        archived |= {entry.title for entry in feedparser.parse(document[1]).entries}
    assert archived | set(titles) == {f"Late Entry {tag} {index}" for index in range(5)}
