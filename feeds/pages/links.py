"""Portal links: a signed token for one endpoint in an address of this site."""

from __future__ import annotations

from urllib.parse import quote

from config.settings import Settings
from feeds.pages.keys import signing_key
from feeds.pages.tokens import MAX_TTL, Grant, sign

DEFAULT_TTL = 86400.0


def portal_link(
    settings: Settings, endpoint_id: str, *, ttl: float, now: float
) -> tuple[str, float]:
    """The portal address for ``endpoint_id``, valid ``ttl`` seconds from ``now``, and
    when it expires. The caller checks that the endpoint exists."""
    if not 0 < ttl <= MAX_TTL:
        raise ValueError(f"the lifetime must be more than 0 and at most {MAX_TTL / 86400:.0f} days")
    expires = now + ttl
    token = sign(signing_key(settings), Grant("portal", endpoint_id, expires))
    return f"{settings.site_url}/portal/enter?token={quote(token)}", expires
