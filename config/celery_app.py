"""The Celery application, configured from :class:`config.settings.Settings`.

Reliability choices (see docs/operations.md for the reasoning):

* late acknowledgement, rejection on worker loss and a prefetch of one: a task whose
  worker dies is redelivered, not lost;
* the Redis visibility timeout (default 90 s) is above the hard task time limit
  (60 s), so a running task is never handed to a second worker, and unacked messages
  are swept every few seconds, so a killed worker's tasks come back within about
  ``visibility_timeout`` after the kill;
* JSON only, explicit task names, one queue per kind of work: ``ingest`` (CPU,
  prefork pool), ``publish`` (CPU) and ``deliver`` (I/O, thread pool);
* task events on, so Flower and the metrics see every task;
* every queue is reached through the default (nameless) exchange, routed by the queue's
  name: on Redis a publish then needs no binding record, so a Redis that lost its data
  (FLUSHALL, a restart without its append-only file) still routes new tasks, and the
  outbox sweeps re-send what it lost.

On RabbitMQ (``CELERY_BROKER_URL=amqp://…``) every queue is a quorum queue (replicated
across the cluster's nodes, ``x-queue-type: quorum``), publishes wait for the broker's
confirm, and countdowns use Celery's native delayed delivery, which needs the queues
bound to a topic exchange (``syndicate``), not the default direct one. A killed worker's
unacknowledged messages come back as soon as its connection closes: no visibility
timeout.
"""

from __future__ import annotations

import math

from celery import Celery
from kombu.entity import Exchange, Queue

from config.logging import celery_process_name, install_celery_logging
from config.settings import Settings
from worker import telemetry, tracing
from worker.connection import broker_transport_sentinel, celery_broker_url, is_amqp

QUEUE_INGEST = "ingest"
QUEUE_PUBLISH = "publish"
QUEUE_DELIVER = "deliver"
CPU_QUEUES = (QUEUE_INGEST, QUEUE_PUBLISH)
IO_QUEUES = (QUEUE_DELIVER,)

TASK_ROUTES = {
    "syndicate.ingest": {"queue": QUEUE_INGEST},
    "syndicate.requeue_stalled": {"queue": QUEUE_INGEST},
    "syndicate.trim_submissions": {"queue": QUEUE_INGEST},
    "syndicate.ping": {"queue": QUEUE_INGEST},
    "syndicate.publish*": {"queue": QUEUE_PUBLISH},
    "syndicate.deliver*": {"queue": QUEUE_DELIVER},
    "syndicate.websub*": {"queue": QUEUE_DELIVER},
}


#: The topic exchange of the task queues on RabbitMQ (native delayed delivery needs one).
AMQP_EXCHANGE = "syndicate"


def _queue(name: str) -> Queue:
    """A queue fed by the default exchange (routing key = queue name, no binding)."""
    return Queue(name, Exchange(""), routing_key=name)  # type: ignore[no-untyped-call]


def _quorum_queue(name: str) -> Queue:
    """A replicated RabbitMQ queue bound to the topic exchange by its own name."""
    exchange = Exchange(AMQP_EXCHANGE, type="topic", durable=True)  # type: ignore[no-untyped-call]
    return Queue(  # type: ignore[no-untyped-call]
        name, exchange, routing_key=name, queue_arguments={"x-queue-type": "quorum"}
    )


def broker_countdown(settings: Settings, seconds: float) -> float:
    """A countdown the broker can honour: RabbitMQ's native delayed delivery counts whole
    seconds (and refuses 0), so a shorter one is rounded up there."""
    if is_amqp(celery_broker_url(settings)) and seconds > 0:
        return float(max(1, math.ceil(seconds)))
    return seconds


def broker_config(settings: Settings) -> dict[str, object]:
    """The broker part of the configuration: Redis (default) or RabbitMQ."""
    url = celery_broker_url(settings)
    names = (*CPU_QUEUES, *IO_QUEUES)
    if is_amqp(url):
        return {
            "broker_url": url,
            "broker_transport_options": {"confirm_publish": True},
            "task_queues": [_quorum_queue(name) for name in names],
            "task_default_queue_type": "quorum",
            "task_default_exchange": AMQP_EXCHANGE,
            "task_default_exchange_type": "topic",
            "worker_detect_quorum_queues": True,
        }
    return {
        "broker_url": url,
        "broker_transport_options": {
            "visibility_timeout": settings.visibility_timeout,
            "unacked_restore_interval": settings.unacked_restore_interval,
            "unacked_restore_throttle": 1,
            **broker_transport_sentinel(settings),
        },
        "task_queues": [_queue(name) for name in names],
    }


def celery_config(settings: Settings) -> dict[str, object]:
    """The Celery configuration for ``settings``."""
    return {
        **broker_config(settings),
        "broker_connection_retry_on_startup": True,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": settings.task_time_limit,
        "task_soft_time_limit": settings.soft_time_limit,
        "task_default_queue": QUEUE_INGEST,
        "task_routes": TASK_ROUTES,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "worker_hijack_root_logger": False,
        "beat_schedule": {
            "requeue-stalled-submissions": {
                "task": "syndicate.requeue_stalled",
                "schedule": float(settings.requeue_interval),
            },
            "publish-dirty-feeds": {
                "task": "syndicate.publish_feeds",
                "schedule": float(settings.requeue_interval),
            },
            "dispatch-and-promote-deliveries": {
                "task": "syndicate.deliver_dispatch",
                "schedule": settings.delivery_tick,
                # A tick that waited longer than the next one is pointless: drop it.
                "options": {"expires": max(1.0, settings.delivery_tick * 5)},
            },
            "trim-delivery-log": {
                "task": "syndicate.deliver_trim",
                "schedule": 3600.0,
            },
            "trim-submission-inputs": {
                "task": "syndicate.trim_submissions",
                "schedule": 3600.0,
            },
        },
        "timezone": "UTC",
    }


def create_app(settings: Settings | None = None) -> Celery:
    """A Celery app for ``settings`` (default: from the environment)."""
    settings = settings or Settings.from_env()
    app = Celery("syndicate", set_as_current=True)
    app.conf.update(celery_config(settings))
    app.conf.update(include=["worker.tasks"])
    telemetry.install()
    tracing.install_celery(celery_process_name())
    return app


app = create_app()
install_celery_logging()
