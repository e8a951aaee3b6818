"""Ingest throughput with Redis as Celery's broker and with RabbitMQ (quorum queues).

In one run, against a private embedded Redis and PostgreSQL and one prefork worker
(``-c`` = cores), N articles are submitted as fast as possible and timed until the last
is stored: with the Redis broker, with a RabbitMQ vhost of the run's own as the broker
(``CELERY_BROKER_URL``; Redis then only coordinates), and with Redis again. Needs a
RabbitMQ on ``SYNDICATE_BENCH_RABBITMQ`` (default ``amqp://guest:guest@127.0.0.1:5672``)
and ``rabbitmqctl`` to create the vhost.

    .venv/bin/python bench/broker_throughput.py [--articles 500]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench._common import private_redis  # noqa: E402
from bench.tracing_cost import burst  # noqa: E402
from config.celery_app import create_app  # noqa: E402
from config.settings import Settings  # noqa: E402
from worker.submit import Submitter  # noqa: E402

SERVER = os.environ.get("SYNDICATE_BENCH_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 2)
    options = parser.parse_args(argv)
    vhost = f"syndicate-bench-{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "add_vhost", vhost], check=True, capture_output=True)
    subprocess.run(["rabbitmqctl", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                   check=True, capture_output=True)  # fmt: skip
    server, env = private_redis("bench")
    env = {k: v for k, v in env.items() if k != "CELERY_BROKER_URL"}
    amqp_env = {**env, "CELERY_BROKER_URL": f"{SERVER}/{vhost}"}
    n, c = options.articles, options.concurrency
    try:
        redis_submitter = Submitter.from_settings(
            Settings.from_env(env), create_app(Settings.from_env(env))
        )
        amqp_submitter = Submitter.from_settings(
            Settings.from_env(amqp_env), create_app(Settings.from_env(amqp_env))
        )
        redis_before = burst(redis_submitter, env, n, c)
        rabbitmq = burst(amqp_submitter, amqp_env, n, c)
        redis_after = burst(redis_submitter, env, n, c)
    finally:
        server.stop()
        subprocess.run(["rabbitmqctl", "delete_vhost", vhost], check=False, capture_output=True)
    on_redis = (redis_before + redis_after) / 2
    print(f"machine: {os.cpu_count()} cores; worker: prefork -c {c}")
    print(f"Redis broker:    {redis_before:7.1f} then {redis_after:7.1f} articles/s ({n} each)")
    print(f"RabbitMQ broker: {rabbitmq:7.1f} articles/s (quorum queues, publisher confirms)")
    print(f"ratio:           {rabbitmq / on_redis:7.2f}x the Redis broker")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
