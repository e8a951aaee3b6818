"""``syndicate portal ...``: links to the partner portal, and the key that signs them."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import click

from worker.cli_common import connected_settings, fail
from worker.core.durations import parse_duration


@click.group()
def portal() -> None:
    """The partner portal: make a link for an endpoint, rotate the signing key."""


@portal.command()
@click.argument("endpoints", nargs=-1, required=True, metavar="ENDPOINT...")
@click.option("--ttl", default="24h", show_default=True, help="How long the link works (max 90d).")
@click.option("--partner", default="", help="The partner's name (needed for several endpoints).")
def link(endpoints: tuple[str, ...], ttl: str, partner: str) -> None:
    """Print a signed link to the portal pages of ENDPOINT (or of a partner's endpoints)."""
    from feeds.pages.links import portal_link  # noqa: PLC0415 - heavier imports
    from feeds.webhooks.store import WebhookStore  # noqa: PLC0415
    from worker.database.connect import Database  # noqa: PLC0415

    try:
        seconds = parse_duration(ttl)
    except ValueError as error:
        fail(f"--ttl: {error}")
    if len(endpoints) > 1 and not partner.strip():
        fail("--partner: name the partner a link to several endpoints is for")
    settings = connected_settings()
    store = WebhookStore(Database.from_settings(settings, max_size=1, timeout=5))
    for endpoint in endpoints:
        if store.endpoint(endpoint) is None:
            fail(f"no webhook endpoint with id {endpoint!r}")
    try:
        url, expires = portal_link(
            settings, list(endpoints), ttl=seconds, now=time.time(), name=partner
        )
    except ValueError as error:
        fail(str(error))
    click.echo(url)
    until = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    names = ", ".join(endpoints)
    click.echo(f"valid until {until}; anyone with the link can manage {names}", err=True)


@portal.command(name="rotate-key")
def rotate_key() -> None:
    """A new signing key: every portal link and dashboard session stops working."""
    from config.settings import ConfigError, Settings  # noqa: PLC0415
    from feeds.pages.keys import KeyRotationError  # noqa: PLC0415
    from feeds.pages.keys import rotate_key as rotate  # noqa: PLC0415

    try:
        path = rotate(Settings.from_env())
    except (ConfigError, KeyRotationError) as error:
        fail(str(error))
    click.echo(f"new key in {path}; every earlier link and session is revoked")
