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
from worker.database.connect import Database
from worker.keys import Keys
from worker.status import QUEUES, live_consumers


def install_ops_routes(
    app: FastAPI, client: redis.Redis, keys: Keys | None = None, database: Database | None = None
) -> None:
    keys = keys or Keys()

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Prometheus exposition format; figures shared by every worker, read from Redis
        (and webhook delivery figures from PostgreSQL)."""
        return Response(render_metrics(client, database), media_type=CONTENT_TYPE)

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        """Ready: Redis answers and at least one live worker consumes each queue (else 503)."""
        body = readiness(client, keys, time.time())
        return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503)


def readiness(client: redis.Redis, keys: Keys, now: float) -> dict[str, Any]:
    try:
        client.ping()
        consumers = live_consumers(client, keys, now)
    except redis.RedisError as error:
        return {"status": "not_ready", "redis": f"unavailable: {type(error).__name__}",
                "queues": {}}  # fmt: skip
    ready = all(consumers[queue] for queue in QUEUES)
    return {
        "status": "ready" if ready else "not_ready",
        "redis": "ok",
        "queues": {queue: {"consumers": count} for queue, count in consumers.items()},
    }
