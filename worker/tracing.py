"""OpenTelemetry traces: one trace per article, from ``POST /v1/articles`` through its
ingest task, the feed publish and webhook dispatch it schedules, the delivery batches
that dispatch sends (each span names the ``webhook-id`` it carries), and every attempt
of those batches (a client span per HTTP request, made when its outcome is recorded).

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is
set: the SDK is not imported, no signal handler is connected, and FastAPI's own
telemetry (which makes the request spans) stays idle without a tracer provider, so
tracing costs nothing then. When set, each process (API, workers, beat) exports its spans by
OTLP over HTTP (protobuf) in batches; the standard ``OTEL_*`` variables (service name,
headers, batch delays, sampler) apply.

Context crosses processes in Celery message headers (W3C ``traceparent``): the
``before_task_publish`` signal injects the current span's context, ``task_prerun``
continues it in a span for the task. Celery signals are used rather than edits to each
task. A periodic tick that beat sends with no context of its own starts no trace:
idle ticks would otherwise be a trace a second.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from config.quiet_logs import TICK_TASKS

log = logging.getLogger(__name__)

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_CONTEXT_HEADERS = ("traceparent", "tracestate")
_installed: list[str] = []
_running: dict[str, tuple[Any, Any]] = {}  # task id -> (span, context token)


def enabled(environ: dict[str, str] | None = None) -> bool:
    """Whether an OTLP endpoint is configured."""
    source = os.environ if environ is None else environ
    return any(source.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def install(process: str) -> bool:
    """Export this process's spans by OTLP/HTTP when an endpoint is set (idempotent);
    True when tracing is on."""
    if not enabled():
        return False
    if _installed:
        return True
    from opentelemetry import trace  # noqa: PLC0415 - only when tracing is on
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter,
    )
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

    name = os.environ.get("OTEL_SERVICE_NAME") or "syndicate"
    if process == "celery" and "uvicorn" in " ".join(sys.argv[:2]):
        process = "api"  # the API builds a Celery app to send tasks with
    resource = Resource.create({"service.name": name, "syndicate.process": process})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _installed.append(process)
    log.debug("tracing on: spans exported by OTLP/HTTP")
    return True


def flush() -> None:
    """Send the spans still buffered (a process about to exit)."""
    if not _installed:
        return
    from opentelemetry import trace  # noqa: PLC0415

    provider = trace.get_tracer_provider()
    force_flush = getattr(provider, "force_flush", None)
    if force_flush is not None:
        force_flush()


def current_context() -> Any | None:
    """The active span's context, to continue in another thread; ``None`` when tracing is
    off or no span is active (nothing is imported then)."""
    if not _installed:
        return None
    from opentelemetry import context, trace  # noqa: PLC0415

    if not trace.get_current_span().get_span_context().is_valid:
        return None
    return context.get_current()


def record_span(
    name: str, parent: Any | None, *, start: float, end: float, attributes: dict[str, Any]
) -> None:
    """A finished client span under ``parent`` (from :func:`current_context`), timed by the
    epoch seconds given; nothing when ``parent`` is ``None``."""
    if parent is None:
        return
    from opentelemetry import trace  # noqa: PLC0415

    tracer = trace.get_tracer("syndicate.webhooks")
    span = tracer.start_span(
        name, context=parent, kind=trace.SpanKind.CLIENT, attributes=attributes,
        start_time=int(start * 1e9),
    )  # fmt: skip
    span.end(end_time=int(max(start, end) * 1e9))


def install_celery(process: str) -> None:
    """Tracing for a Celery process: context into every published task, a span per task."""
    if not install(process):
        return
    from celery import signals  # noqa: PLC0415

    signals.before_task_publish.connect(_inject, weak=False, dispatch_uid="syndicate-trace")
    signals.task_prerun.connect(_task_started, weak=False, dispatch_uid="syndicate-trace")
    signals.task_postrun.connect(_task_finished, weak=False, dispatch_uid="syndicate-trace")
    signals.task_failure.connect(_task_failed, weak=False, dispatch_uid="syndicate-trace")
    signals.worker_process_shutdown.connect(_flush, weak=False, dispatch_uid="syndicate-trace")
    signals.worker_shutdown.connect(_flush, weak=False, dispatch_uid="syndicate-trace")


def _flush(**_: Any) -> None:
    flush()


def _inject(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """``before_task_publish``: the current span's context into the message headers."""
    if headers is None:
        return
    from opentelemetry.propagate import inject  # noqa: PLC0415

    inject(headers)


def _incoming(request: Any) -> dict[str, str]:
    carrier: dict[str, str] = {}
    headers = getattr(request, "headers", None) or {}
    for name in _CONTEXT_HEADERS:
        value = getattr(request, name, None) or headers.get(name)
        if isinstance(value, str):
            carrier[name] = value
    return carrier


def _task_started(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    """``task_prerun``: a span for the task, continuing the publisher's trace."""
    if not task_id or task is None:
        return
    carrier = _incoming(task.request)
    if not carrier and task.name in TICK_TASKS:
        return  # an idle tick from beat: no trace
    from opentelemetry import context, trace  # noqa: PLC0415
    from opentelemetry.propagate import extract  # noqa: PLC0415

    tracer = trace.get_tracer("syndicate.tasks")
    span = tracer.start_span(
        str(task.name), context=extract(carrier), kind=trace.SpanKind.CONSUMER,
        attributes=_task_attributes(task),
    )  # fmt: skip
    token = context.attach(trace.set_span_in_context(span))
    _running[task_id] = (span, token)


def _task_attributes(task: Any) -> dict[str, Any]:
    request = task.request
    delivery = getattr(request, "delivery_info", None) or {}
    attributes: dict[str, Any] = {
        "messaging.system": "celery",
        "messaging.destination.name": str(delivery.get("routing_key") or ""),
        "messaging.message.id": str(request.id),
        "celery.retries": int(request.retries or 0),
    }
    args = list(request.args or [])
    if task.name == "syndicate.ingest" and args:
        attributes["syndicate.submission_id"] = str(args[0])
    if task.name == "syndicate.deliver" and args:
        # One batch of attempts: [[message id (the webhook-id), token], ...]
        attributes["webhook.ids"] = [str(pair[0]) for pair in args[0]]
    return attributes


def _task_finished(task_id: str | None = None, state: str | None = None, **_: Any) -> None:
    """``task_postrun``: end the task's span."""
    started = _running.pop(task_id or "", None)
    if started is None:
        return
    from opentelemetry import context  # noqa: PLC0415

    span, token = started
    span.set_attribute("celery.state", str(state))
    span.end()
    context.detach(token)


def _task_failed(task_id: str | None = None, exception: BaseException | None = None,
                 **_: Any) -> None:  # fmt: skip
    """``task_failure``: the exception on the span (it ends in ``task_postrun``)."""
    started = _running.get(task_id or "")
    if started is None or exception is None:
        return
    from opentelemetry.trace import Status, StatusCode  # noqa: PLC0415

    span = started[0]
    span.record_exception(exception)
    span.set_status(Status(StatusCode.ERROR, type(exception).__name__))
