"""OpenTelemetry: one trace per article, from the HTTP request to the webhook delivery,
exported by OTLP/HTTP to a real receiver on loopback; nothing at all when it is off."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.settings import Settings
from feeds.webhooks.service import Webhooks
from feeds.webhooks.spec import parse_subscription
from tests.integration.conftest import (
    ROOT,
    ApiProcess,
    RedisService,
    WorkerProcess,
    auth,
    service_env,
    wait_until,
)
from tests.integration.otlp_receiver import OtlpReceiver, Span, running_otlp_receiver
from tests.integration.receiver import running_receiver
from tests.postgres import ScratchDatabases
from worker.embedded_redis import EmbeddedRedis


@pytest.fixture
def private_service(databases: ScratchDatabases) -> Iterator[RedisService]:
    directory = Path(f"/tmp/syn-trace-{uuid.uuid4().hex[:8]}")  # noqa: S108 - short socket path
    embedded = EmbeddedRedis(directory).start()
    try:
        yield RedisService(embedded.url, directory, embedded, databases.create("tracing"))
    finally:
        embedded.stop()
        shutil.rmtree(directory, ignore_errors=True)


#: One more than a dispatch sends itself (feeds.webhooks.service._FIRST_MESSAGES).
ENDPOINTS = 21


def one(spans: list[Span], name: str) -> Span:
    found = [span for span in spans if span.name == name]
    assert len(found) == 1, (name, [span.name for span in spans])
    return found[0]


def test_an_article_is_one_trace_from_request_to_webhook(
    private_service: RedisService, tmp_path: Path, own_broker: dict[str, str]
) -> None:
    processes: list[WorkerProcess | ApiProcess] = []
    with running_otlp_receiver() as otlp, running_receiver() as partner:
        env = service_env(
            private_service, OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint,
            OTEL_BSP_SCHEDULE_DELAY="200", SYNDICATE_PUBLIC_DIR=str(tmp_path / "public"),
            **own_broker,
        )  # fmt: skip
        settings = Settings.from_env(env)
        webhooks = Webhooks(private_service.store(), settings)
        for index in range(ENDPOINTS):
            webhooks.subscribe(
                parse_subscription({"url": partner.url(f"/hook/{index}")}, creating=True)
            )
        try:
            processes.append(WorkerProcess(env, queues="ingest,publish"))
            processes.append(WorkerProcess(env, queues="deliver", pool="threads", concurrency=4))
            api = ApiProcess(env)
            processes.append(api)
            title = f"Traced Story {uuid.uuid4().hex[:6]}"
            posted = api.client.post(
                "/v1/articles", content=f"{title}\nA description.\nPart\nWords.\n".encode(),
                headers={**auth(), "Content-Type": "text/plain"},
            )  # fmt: skip
            assert posted.status_code == 202
            paths = ("/hook/0", f"/hook/{ENDPOINTS - 1}")
            wait_until(lambda: all(partner.received(path) for path in paths), timeout=60)
            first_id, later_id = (partner.received(path)[0].headers["webhook-id"]
                                  for path in paths)  # fmt: skip
            wait_until(lambda: _delivered_span(otlp, later_id) is not None, timeout=30)
            wait_until(lambda: all(_attempt_span(otlp, made) for made in (first_id, later_id)))
        finally:
            for process in reversed(processes):
                process.stop()

        server = one(otlp.collected(), "POST /v1/articles")
        trace = [span for span in otlp.collected() if span.trace_id == server.trace_id]
    assert server.parent_id == ""  # the request started the trace
    assert server.attributes["http.response.status_code"] == 202
    assert server.process == "api"
    ingest = one(trace, "syndicate.ingest")
    assert ingest.parent_id == server.span_id
    assert ingest.attributes["syndicate.submission_id"] == posted.json()["submission"]
    assert one(trace, "syndicate.publish_feeds").parent_id == ingest.span_id
    dispatch = one(trace, "syndicate.deliver_dispatch")
    assert dispatch.parent_id == ingest.span_id
    # The first endpoints' attempts are made by the dispatch itself...
    first = _attempt_span(otlp, first_id)
    assert first is not None
    assert first.trace_id == server.trace_id and first.parent_id == dispatch.span_id
    # ... the others' by deliver tasks the dispatch queued.
    delivered = _delivered_span(otlp, later_id)
    assert delivered is not None
    assert delivered.trace_id == server.trace_id
    assert delivered.parent_id == dispatch.span_id
    attempt = _attempt_span(otlp, later_id)
    assert attempt is not None
    assert attempt.trace_id == server.trace_id
    assert attempt.parent_id == delivered.span_id
    for made in (first, attempt):
        assert made.attributes["http.response.status_code"] == 204
        assert made.attributes["syndicate.outcome"] == "delivered"
        assert made.attributes["server.address"] == "127.0.0.1"
    assert {span.process for span in trace} == {"api", "worker"}


def _attempt_span(otlp: OtlpReceiver, webhook_id: str) -> Span | None:
    for span in otlp.collected():
        if span.name == "webhook attempt" and span.attributes.get("webhook.id") == webhook_id:
            return span
    return None


def _delivered_span(otlp: OtlpReceiver, webhook_id: str) -> Span | None:
    for span in otlp.collected():
        if span.name == "syndicate.deliver" and webhook_id in span.attributes["webhook.ids"]:
            return span
    return None


def test_without_an_endpoint_tracing_is_off() -> None:
    """No tracer provider (so FastAPI's telemetry is idle too) and no Celery hook."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONPATH"] = str(ROOT)
    probe = (
        "import config.celery_app, feeds.api, worker.tasks\n"
        "from celery import signals\n"
        "from opentelemetry import trace\n"
        "hooks = [r for s in (signals.before_task_publish, signals.task_prerun)\n"
        "         for r in s.receivers if getattr(r[1], '__module__', '') == 'worker.tracing']\n"
        "print(type(trace.get_tracer_provider()).__name__, len(hooks))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True,
        check=True, timeout=120,
    )  # fmt: skip
    assert result.stdout.split() == ["ProxyTracerProvider", "0"]
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True,
        env={**env, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}, timeout=120,
    )  # fmt: skip
    assert result.stdout.split() == ["TracerProvider", "2"]
