"""Storage at the asked scale: 100,000 articles and 1,000,000 delivered messages.

``storage_footprint.py`` drives articles and deliveries through real Celery workers
and a real receiver, which takes hours at this scale on two cores. This bench calls
the same store functions the workers call, in-process and in parallel, so the rows
written are the ones the workers write; only the broker and the HTTP request are left
out (each delivery is recorded as a 204 answered in 5 ms).

1. K webhook endpoints, subscribed first;
2. N copies of the shared sample article, each with its own title: validated,
   accepted (raw input kept), processed (parsed, summarized, committed, placed in
   feeds), with the feeds published every 2,000 articles;
3. every article event becomes K messages (``dispatch``), each promoted, taken and
   finished as delivered with its attempt; this runs after every wave of 200
   articles, as the workers do while articles arrive, so the schedule's partial index
   holds what it holds in running (not a backlog of every message at once); after a
   wave, a message table is vacuumed when autovacuum's default rule would have done it
   by then (dead rows over 50 + 20% of live ones): at a real delivery rate a wave takes
   minutes, longer than autovacuum's one-minute nap, while here it takes seconds;
4. PostgreSQL bytes (tables + indexes + TOAST, after VACUUM) per article and per
   message, and Redis ``used_memory`` before and after.

    .venv/bin/python bench/storage_at_scale.py [--articles 100000] [--endpoints 10]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench._common import private_redis  # noqa: E402
from bench.storage_footprint import (  # noqa: E402
    ARTICLE_TABLES,
    DOCUMENT_TABLES,
    MESSAGE_TABLES,
    MIB,
    PAYLOAD_TABLES,
    SAMPLE,
    SUBMISSION_TABLES,
    copies,
    relation_bytes,
    used_memory,
)
from config.settings import Settings  # noqa: E402
from feeds import feed_store  # noqa: E402
from feeds.publish import Publisher  # noqa: E402
from feeds.webhooks.records import Attempt  # noqa: E402
from feeds.webhooks.service import Webhooks  # noqa: E402
from feeds.webhooks.spec import MAX_IN_FLIGHT, parse_subscription  # noqa: E402
from worker.ingest import process_submission  # noqa: E402
from worker.store import Store  # noqa: E402
from worker.submit import Submitter  # noqa: E402

PROCESSES = 2
PUBLISH_EVERY = 2000
#: Articles ingested between two rounds of dispatching and delivering what is due.
WAVE = 200


def ingest_share(env: dict[str, str], bodies: list[bytes], publisher: bool) -> None:
    """What the API and the CPU worker do for each article, in this process (the
    publisher then publishes the feeds)."""
    settings = Settings.from_env(env)
    store = Store.for_workers(settings)
    submitter = Submitter(Store.from_settings(settings), settings, lambda _: None)
    for body in bodies:
        accepted = submitter.submit(body)
        process_submission(store, accepted.submission_id, settings.core, now=time.time())
    if publisher:
        publish(store, settings)


def publish(store: Store, settings: Settings) -> None:
    with feed_store.publish_lock(store.db) as taken:
        if taken:
            Publisher(store, settings).publish_dirty()


def dispatch_share(env: dict[str, str]) -> None:
    """What the dispatch task does: events to messages (concurrent dispatchers take
    different events)."""
    settings = Settings.from_env(env)
    Webhooks(Store.for_workers(settings), settings).dispatch()


def deliver_share(env: dict[str, str], endpoints: list[str]) -> int:
    """What the I/O worker writes for each delivery (promote, take, finish), for some
    endpoints, with a 204 in place of the request."""
    settings = Settings.from_env(env)
    webhooks = Webhooks(Store.for_workers(settings), settings)
    delivered = 0
    while True:
        now = time.time()
        due = webhooks.store.promote(now=now, lease=60, limit=1000, endpoints=endpoints)
        if not due:
            return delivered
        for message_id, token in due:
            taken = webhooks.store.take(message_id, token, now=now, guard=30)
            assert taken is not None
            attempt = Attempt(at=now, status=204, latency_ms=5.0, outcome="delivered")
            webhooks.store.finish(taken[0], token, "delivered", now=now, attempt=attempt,
                                  status=204)  # fmt: skip
            delivered += 1


def in_parallel(target: object, shares: list[tuple[object, ...]]) -> float:
    started = time.perf_counter()
    processes = [multiprocessing.Process(target=target, args=share) for share in shares]  # type: ignore[arg-type]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"a {process.name} failed with exit code {process.exitcode}")
    return time.perf_counter() - started


def autovacuum(database_url: str) -> None:
    """Vacuum the message tables autovacuum's default rule would vacuum now."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        due = conn.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(%s) "
            "AND n_dead_tup > 50 + 0.2 * n_live_tup",
            (list(MESSAGE_TABLES),),
        ).fetchall()
        for (table,) in due:
            conn.execute(f'VACUUM "{table}"')


def in_waves(env: dict[str, str], bodies: list[bytes], ids: list[str]) -> list[float]:
    """Ingest, dispatch and deliver a wave at a time; seconds spent in each step."""
    spent = [0.0, 0.0, 0.0]
    for start in range(0, len(bodies), WAVE):
        wave = bodies[start : start + WAVE]
        end = start + len(wave)
        publishes = end % PUBLISH_EVERY < WAVE or end == len(bodies)
        shares = [(env, wave[i::PROCESSES], publishes and i == 0) for i in range(PROCESSES)]
        spent[0] += in_parallel(ingest_share, shares)  # type: ignore[arg-type]
        spent[1] += in_parallel(dispatch_share, [(env,)] * PROCESSES)
        shares = [(env, ids[i::PROCESSES]) for i in range(PROCESSES)]
        spent[2] += in_parallel(deliver_share, shares)  # type: ignore[arg-type]
        autovacuum(env["DATABASE_URL"])
    return spent


def sizes(database_url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM")  # dead row versions of updated rows are not the footprint
    groups = {"article": ARTICLE_TABLES, "submission": SUBMISSION_TABLES,
              "documents": DOCUMENT_TABLES, "messages": MESSAGE_TABLES,
              "payloads": PAYLOAD_TABLES}  # fmt: skip
    return {name: relation_bytes(database_url, tables) for name, tables in groups.items()}


def relations(database_url: str) -> dict[str, int]:
    """Bytes of each relation of the message tables (heap, TOAST, each index)."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c WHERE c.oid = ANY("
            "SELECT t.oid FROM unnest(%s::text[]) AS name, LATERAL (SELECT name::regclass::oid"
            " AS oid UNION SELECT indexrelid FROM pg_index WHERE indrelid = name::regclass"
            " UNION SELECT reltoastrelid FROM pg_class WHERE oid = name::regclass) t) "
            "ORDER BY 2 DESC",
            (list(MESSAGE_TABLES),),
        ).fetchall()
    return {str(name): int(size) for name, size in rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--sample", type=Path, default=SAMPLE)
    parser.add_argument(
        "--relations", action="store_true", help="also each message relation's bytes per message"
    )
    options = parser.parse_args(argv)
    if not options.sample.exists():
        raise SystemExit(f"no sample article at {options.sample} (--sample PATH)")
    sample = options.sample.read_bytes()
    stack, env = private_redis("scale")
    env["SYNDICATE_WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.0/8"
    try:
        settings = Settings.from_env(env)
        webhooks = Webhooks(Store.from_settings(settings), settings)
        client = webhooks.articles.client
        baseline = used_memory(client)
        before = sizes(stack.database_url)
        ids = []
        for index in range(options.endpoints):
            request = {"url": f"http://127.0.0.1:9/ep/{index}", "max_in_flight": MAX_IN_FLIGHT}
            ids.append(webhooks.subscribe(parse_subscription(request, creating=True))[0].id)
        bodies = copies(sample, options.articles, "scale")
        ingest_seconds, dispatch_seconds, deliver_seconds = in_waves(env, bodies, ids)
        made = webhooks.store.stats()["messages"]
        delivered = webhooks.store.stats().get("attempts_delivered", 0)
        after_memory = used_memory(client)
        after = sizes(stack.database_url)
        parts = relations(stack.database_url) if options.relations else {}
    finally:
        stack.stop()
    n, raw = options.articles, len(sample)
    per = {name: (after[name] - before[name]) / n for name in after}
    print(f"{n:,} copies of {options.sample.name} ({raw:,} bytes each) in "
          f"{ingest_seconds:.0f} s; {made:,} messages made in {dispatch_seconds:.0f} s, "
          f"{delivered:,} delivered in {deliver_seconds:.0f} s "
          f"({PROCESSES} processes)")  # fmt: skip
    growth = (after_memory - baseline) / MIB
    print(f"Redis used_memory: {baseline / MIB:.1f} MiB before, {after_memory / MIB:.1f} MiB "
          f"after ({growth:+.1f} MiB; target <= 50; no broker traffic in this bench)")  # fmt: skip
    ratio = per["article"] / raw
    print(f"PostgreSQL per article: {per['article']:,.0f} bytes = {ratio:.2f}x raw (target "
          f"<= 3)  {'met' if ratio <= 3 else 'MISSED'}; + {per['submission']:,.0f} "
          f"submission with raw input; + {per['documents']:,.0f} feed documents")  # fmt: skip
    if made:
        per_message = (after["messages"] - before["messages"]) / made
        verdict = "met" if per_message <= 300 else "MISSED"
        payload = (after["payloads"] - before["payloads"]) / n
        print(f"PostgreSQL per delivered message (its row and its attempt, payload excluded): "
              f"{per_message:,.0f} bytes (target <= 300)  {verdict}; payload "
              f"{payload:,.0f} bytes once per event")  # fmt: skip
    for name, size in parts.items():
        print(f"  {name}: {size / max(made, 1):,.0f} bytes per message")
    print(f"PostgreSQL in all: {sum(after.values()) / MIB:,.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
