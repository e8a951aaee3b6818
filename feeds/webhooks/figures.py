"""Figures of the webhook store: counters, message and endpoint counts (for status,
metrics and benchmarks)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from worker.database.connect import Connection, Database
from worker.database.times import ts


class StoreFigures:
    """Read-only counts over the webhook tables; a base of
    :class:`feeds.webhooks.store.WebhookStore`."""

    db: Database

    @contextmanager
    def _connection(self, conn: Connection | None = None) -> Iterator[Connection]:
        """``conn`` if given (the caller's transaction), else a pooled connection."""
        if conn is not None:
            yield conn
        else:
            with self.db.connection() as pooled:
                yield pooled

    def counters(self, *, conn: Connection | None = None) -> dict[str, int]:
        """Attempt and outcome counters: attempts_delivered, attempts_failed,
        dead_letters, endpoints_disabled (only those counted so far)."""
        with self._connection(conn) as c:
            found = c.execute(
                "SELECT name, sum(value) FROM webhook_counters GROUP BY name ORDER BY name"
            ).fetchall()
        return {str(name): int(total) for name, total in found}

    def stats(self) -> dict[str, int]:
        """The counters, with the number of pending (scheduled) and dead messages and of
        all messages."""
        with self.db.connection() as conn:
            counters = self.counters(conn=conn)
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE status IN ('s', 'q')), "
                "count(*) FILTER (WHERE status = 'x'), count(*) FROM webhook_messages"
            ).fetchone()
        assert row is not None
        scheduled, dead, total = (int(value) for value in row)
        return counters | {"scheduled": scheduled, "dead": dead, "messages": total}

    def endpoint_states(self, *, conn: Connection | None = None) -> dict[str, int]:
        """Endpoints by state: disabled, failing (enabled, but failing), healthy."""
        with self._connection(conn) as c:
            row = c.execute(
                "SELECT count(*) FILTER (WHERE NOT enabled), "
                "count(*) FILTER (WHERE enabled AND failing_since IS NOT NULL), "
                "count(*) FILTER (WHERE enabled AND failing_since IS NULL) FROM webhook_endpoints"
            ).fetchone()
        assert row is not None
        return {"disabled": int(row[0]), "failing": int(row[1]), "healthy": int(row[2])}

    def schedule_sizes(self, *, now: float, conn: Connection | None = None) -> dict[str, int]:
        """Pending messages (``scheduled``), those due now, and dead letters."""
        with self._connection(conn) as c:
            pending = c.execute(
                # One count per state, each over the partial index of that state.
                "SELECT (SELECT count(*) FROM webhook_messages WHERE status = 's') "
                "+ (SELECT count(*) FROM webhook_messages WHERE status = 'q'), "
                "(SELECT count(*) FROM webhook_messages WHERE status = 's' "
                "AND next_due <= %(now)s) + (SELECT count(*) FROM webhook_messages "
                "WHERE status = 'q' AND lease_until <= %(now)s)",
                {"now": ts(now)},
            ).fetchone()
            dead = c.execute("SELECT count(*) FROM webhook_messages WHERE status = 'x'").fetchone()
        assert pending is not None and dead is not None
        return {"scheduled": int(pending[0]), "due_now": int(pending[1]), "dead": int(dead[0])}
