"""``syndicate subscriptions ...`` and ``syndicate deliveries ...``: webhooks from a shell.

They talk to Redis directly (the embedded one under ``SYNDICATE_DATA_DIR``, or
``REDIS_URL``), like the workers do, and wake the delivery worker when they schedule
something. Errors are one line on stderr with exit code 2.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from feeds.webhooks.spec import EVENT_TYPES, ORDERINGS, parse_subscription
from worker.cli_common import connected_settings, echo_json, fail, since_time
from worker.core.durations import parse_duration
from worker.core.errors import SyndicateError

if TYPE_CHECKING:
    from feeds.webhooks.service import Webhooks
    from feeds.webhooks.store import Endpoint, Message
    from worker.submit import Submitter


class _Context:
    """Connections made on first use, so ``--help`` needs no Redis."""

    def __init__(self) -> None:
        self._webhooks: Webhooks | None = None
        self._submitter: Submitter | None = None

    def webhooks(self) -> Webhooks:
        # Imported here: `syndicate parse` and friends should not pay for Redis and feeds.
        from feeds.webhooks.service import Webhooks  # noqa: PLC0415
        from worker.submit import Submitter  # noqa: PLC0415

        if self._webhooks is None:
            settings = connected_settings()
            self._submitter = Submitter.from_settings(settings)
            self._webhooks = Webhooks(self._submitter.store, settings)
        return self._webhooks

    def wake(self) -> None:
        """Ask a worker to send what is due now (the beat would within a tick anyway)."""
        if self._submitter is not None:
            self._submitter.enqueue_task("syndicate.deliver_dispatch", "cli")


def _run(function: Any, *args: object, **kwargs: object) -> Any:
    """Call into the service; its typed errors become one line and exit code 2."""
    import redis  # noqa: PLC0415

    from feeds.addresses import AddressRefusedError  # noqa: PLC0415

    try:
        return function(*args, **kwargs)
    except AddressRefusedError as error:
        fail(f"url: {error}")
    except SyndicateError as error:  # not found, conflict, bad subscription
        fail(str(error))
    except redis.ConnectionError as error:
        fail(f"cannot reach Redis: {error}")


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")


pass_context = click.make_pass_decorator(_Context, ensure=True)


@click.group()
def subscriptions() -> None:
    """Webhook endpoints: create, list, show, update, delete, enable, disable, rotate, test."""


def _changes(**given: Any) -> dict[str, Any]:
    names = {"event": "events", "author": "authors", "tag": "tags"}
    return {names.get(k, k): (list(v) if isinstance(v, tuple) else v) for k, v in given.items()
            if v not in (None, ())}  # fmt: skip


@subscriptions.command("create")
@click.argument("url")
@click.option("--event", multiple=True, type=click.Choice(EVENT_TYPES), help="Default: all.")
@click.option("--author", multiple=True, help="Only articles by this author (repeatable).")
@click.option("--tag", multiple=True, help="Only articles with this tag (repeatable).")
@click.option("--description", default=None)
@click.option("--max-in-flight", type=int, default=None, help="Concurrent attempts (default 1).")
@click.option("--rate-limit", type=int, default=None, help="Messages per second (default: none).")
@click.option("--ordering", type=click.Choice(ORDERINGS), default=None,
              help="fifo: one at a time, in order (default: none).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True)
@pass_context
def create(context: _Context, /, url: str, as_json: bool, **given: Any) -> None:
    """Subscribe URL; prints the endpoint id and its secret (shown only now)."""
    changes = _run(parse_subscription, _changes(url=url, **given), creating=True)
    webhooks = context.webhooks()
    endpoint, secret = _run(webhooks.subscribe, changes)
    if as_json:
        echo_json(endpoint.public(webhooks.clock()) | {"secret": secret})
        return
    click.echo(f"id:     {endpoint.id}")
    click.echo(f"url:    {endpoint.url}")
    click.echo(f"events: {', '.join(endpoint.events)}")
    click.echo(f"secret: {secret}")
    click.echo("Keep the secret now: it is not shown again (rotate-secret makes a new one).")


@subscriptions.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def list_(context: _Context, as_json: bool) -> None:
    """Every endpoint, one per line."""
    webhooks = context.webhooks()
    endpoints = _run(webhooks.store.endpoints)
    if as_json:
        echo_json([e.public(webhooks.clock()) for e in endpoints])
        return
    for endpoint in endpoints:
        state = "enabled" if endpoint.enabled else "DISABLED"
        failing = (
            f" failing since {_when(endpoint.failing_since)}" if endpoint.failing_since else ""
        )
        click.echo(f"{endpoint.id}\t{state}\t{endpoint.url}\t{','.join(endpoint.events)}{failing}")


@subscriptions.command("show")
@click.argument("endpoint_id")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def show(context: _Context, endpoint_id: str, as_json: bool) -> None:
    """One endpoint (never its secret)."""
    webhooks = context.webhooks()
    endpoint: Endpoint = _run(webhooks.endpoint, endpoint_id)
    shown = endpoint.public(webhooks.clock())
    if as_json:
        echo_json(shown)
        return
    for name, value in shown.items():
        click.echo(f"{name + ':':25} {_shown_value(name, value)}")


def _shown_value(name: str, value: object) -> object:
    if name.endswith("_at") or name in ("failing_since", "previous_secret_expires"):
        return _when(value)  # type: ignore[arg-type]
    if isinstance(value, list):
        return ", ".join(value) or "-"
    return value


@subscriptions.command("update")
@click.argument("endpoint_id")
@click.option("--url", default=None)
@click.option("--event", multiple=True, type=click.Choice(EVENT_TYPES))
@click.option("--author", multiple=True)
@click.option("--tag", multiple=True)
@click.option("--description", default=None)
@click.option("--max-in-flight", type=int, default=None)
@click.option("--rate-limit", type=int, default=None, help="Messages per second; 0: none.")
@click.option("--ordering", type=click.Choice(ORDERINGS), default=None)
@pass_context
def update(context: _Context, /, endpoint_id: str, **given: Any) -> None:
    """Change the options given; the others stay."""
    changes = _run(parse_subscription, _changes(**given), creating=False)
    _run(context.webhooks().update, endpoint_id, changes)
    click.echo(f"{endpoint_id} updated")


@subscriptions.command("delete")
@click.argument("endpoint_id")
@pass_context
def delete(context: _Context, endpoint_id: str) -> None:
    """Delete an endpoint with its messages and attempt log."""
    _run(context.webhooks().delete, endpoint_id)
    click.echo(f"{endpoint_id} deleted")


@subscriptions.command("enable")
@click.argument("endpoint_id")
@pass_context
def enable(context: _Context, endpoint_id: str) -> None:
    """Enable an endpoint; messages held while it was disabled are sent."""
    rescheduled = _run(context.webhooks().set_enabled, endpoint_id, True)
    context.wake()
    click.echo(f"{endpoint_id} enabled; {rescheduled} held messages rescheduled")


@subscriptions.command("disable")
@click.argument("endpoint_id")
@pass_context
def disable(context: _Context, endpoint_id: str) -> None:
    """Disable an endpoint; its new messages are held until it is enabled."""
    _run(context.webhooks().set_enabled, endpoint_id, False)
    click.echo(f"{endpoint_id} disabled")


@subscriptions.command("rotate-secret")
@click.argument("endpoint_id")
@click.option("--grace", default=None, help="How long the old secret still signs (default 24h).")
@pass_context
def rotate_secret(context: _Context, endpoint_id: str, grace: str | None) -> None:
    """Make a new secret; both sign messages until the grace period ends."""
    try:
        seconds = None if grace is None else parse_duration(grace)
    except ValueError as error:
        fail(f"--grace: {error}")
    secret, until = _run(context.webhooks().rotate_secret, endpoint_id, seconds)
    click.echo(f"secret: {secret}")
    click.echo(f"The previous secret keeps signing until {_when(until)} UTC.")


@subscriptions.command("test")
@click.argument("endpoint_id")
@pass_context
def test(context: _Context, endpoint_id: str) -> None:
    """Send a webhook.test message to an endpoint."""
    message_id = _run(context.webhooks().send_test, endpoint_id)
    context.wake()
    click.echo(f"{message_id} queued; `syndicate deliveries show {message_id}` shows the result")


@subscriptions.command("listen")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9000, show_default=True)
@pass_context
def listen(context: _Context, host: str, port: int) -> None:
    """Receive webhooks here: subscribe a local receiver, verify and print each message.

    The subscription is deleted on Ctrl-C. Its address must be allowed by
    SYNDICATE_WEBHOOK_ALLOWED_NETWORKS (`make listen` allows loopback).
    """
    from worker.listen import serve  # noqa: PLC0415

    webhooks = context.webhooks()
    serve(webhooks, host=host, port=port, wake=context.wake, fail=fail)


@click.group()
def deliveries() -> None:
    """Webhook messages and their attempts: list, show, replay, replay-dead, recover."""


@deliveries.command("list")
@click.option("--endpoint", "endpoint_id", default=None, help="Only this endpoint's messages.")
@click.option("--status", type=click.Choice(("scheduled", "queued", "delivered", "dead", "held")))
@click.option("--since", default=None, help="A time (RFC 3339) or a duration ago (2h).")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_context
def list_deliveries(
    context: _Context, endpoint_id: str | None, status: str | None, since: str | None,
    limit: int, as_json: bool,
) -> None:  # fmt: skip
    """Messages, newest first."""
    webhooks = context.webhooks()
    if endpoint_id:
        _run(webhooks.endpoint, endpoint_id)
    found: list[Message] = _run(
        webhooks.store.messages,
        endpoint_id=endpoint_id,
        status=status,
        since=since_time(since) if since else None,
        limit=limit,
    )
    if as_json:
        echo_json([m.public() for m in found])
        return
    for m in found:
        last = m.last_status or m.last_error or "-"
        click.echo(f"{m.id}\t{m.endpoint}\t{m.type}\t{m.status}\t"
                   f"attempts={m.attempts}\tlast={last}\t{_when(m.created_at)}")  # fmt: skip


@deliveries.command("show")
@click.argument("message_id")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def show_delivery(context: _Context, message_id: str, as_json: bool) -> None:
    """One message: its state, payload and every attempt."""
    message: Message = _run(context.webhooks().message, message_id)
    shown = message.public(with_body=True)
    if as_json:
        echo_json(shown)
        return
    for name in ("id", "endpoint", "type", "article_id", "version", "status", "attempts"):
        click.echo(f"{name + ':':12} {shown[name]}")
    click.echo(f"{'created:':12} {_when(message.created_at)}")
    if message.status in ("scheduled", "queued"):
        click.echo(f"{'next due:':12} {_when(message.next_due)}")
    click.echo("attempts:")
    for attempt in message.attempt_log:
        what = attempt.get("status") or attempt.get("error")
        click.echo(f"  #{attempt['attempt']} {attempt['at']} {what} {attempt['latency_ms']} ms "
                   f"-> {attempt['outcome']} ({attempt['reason']})")  # fmt: skip


@deliveries.command("replay")
@click.argument("message_id")
@click.option("--force", is_flag=True, help="Send it again even if it was delivered.")
@pass_context
def replay(context: _Context, message_id: str, force: bool) -> None:
    """Send a failed message again, with the same webhook-id."""
    rescheduled = _run(context.webhooks().replay, message_id, force=force)
    context.wake()
    click.echo(f"{message_id} {'rescheduled' if rescheduled else 'is already pending'}")


@deliveries.command("replay-dead")
@click.argument("endpoint_id")
@pass_context
def replay_dead(context: _Context, endpoint_id: str) -> None:
    """Send every dead letter of an endpoint again."""
    count = _run(context.webhooks().replay_dead, endpoint_id)
    context.wake()
    click.echo(f"{count} dead letters of {endpoint_id} rescheduled")


@deliveries.command("recover")
@click.argument("endpoint_id")
@click.option("--since", required=True, help="A time (RFC 3339) or a duration ago (2h).")
@pass_context
def recover(context: _Context, endpoint_id: str, since: str) -> None:
    """Send again every dead or held message of an endpoint created since a time."""
    count = _run(context.webhooks().recover, endpoint_id, since_time(since))
    context.wake()
    click.echo(f"{count} failed messages of {endpoint_id} rescheduled")
