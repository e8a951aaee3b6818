"""Operations routes: ``/metrics`` (Prometheus) and ``/readyz`` (readiness).

``/healthz`` (liveness, no dependencies) lives with the other routes in :mod:`feeds.api`.
"""

from __future__ import annotations

import time
from typing import Any

import redis
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from feeds.metrics import CONTENT_TYPE, render_metrics
from worker.broker_queues import BROKER_TROUBLE
from worker.database.connect import DATABASE_TROUBLE, Database
from worker.keys import Keys
from worker.status import QUEUES, live_consumers
from worker.store import Store

_QUEUE_TROUBLE: tuple[type[Exception], ...] = (redis.RedisError, *BROKER_TROUBLE)


def install_ops_routes(app: FastAPI, store: Store, broker: str | None = None) -> None:
    """``broker``: Celery's RabbitMQ URL, when it is not the Redis."""
    client, keys = store.client, store.keys

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Prometheus exposition format; figures shared by every worker, read from the stores."""
        return Response(render_metrics(client, store, broker), media_type=CONTENT_TYPE)

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        """Ready: PostgreSQL, Redis and the broker answer, and each queue has a consumer
        (else 503)."""
        body = readiness(client, keys, time.time(), store.db, broker)
        return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503)


def readiness(
    client: redis.Redis, keys: Keys, now: float, db: Database | None = None,
    broker: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    postgres = "ok"
    if db is not None:
        try:
            with db.connection() as conn:
                conn.execute("SELECT 1")
        except DATABASE_TROUBLE as error:
            postgres = f"unavailable: {type(error).__name__}"
    try:
        client.ping()
    except redis.RedisError as error:
        return {"status": "not_ready", "redis": f"unavailable: {type(error).__name__}",
                "postgres": postgres, "queues": {}}  # fmt: skip
    try:
        consumers = live_consumers(client, keys, now, broker)
    except _QUEUE_TROUBLE as error:
        return {"status": "not_ready", "redis": "ok", "postgres": postgres,
                "broker": f"unavailable: {type(error).__name__}", "queues": {}}  # fmt: skip
    ready = postgres == "ok" and all(consumers[queue] for queue in QUEUES)
    return {
        "status": "ready" if ready else "not_ready",
        "redis": "ok",
        "broker": "ok",
        "postgres": postgres,
        "queues": {queue: {"consumers": count} for queue, count in consumers.items()},
    }
