"""Portal links: a signed token for one endpoint, or for a named partner's endpoints, in
an address of this site."""

from __future__ import annotations

from urllib.parse import quote

from config.settings import Settings
from feeds.pages.keys import signing_key
from feeds.pages.tokens import MAX_TTL, Grant, sign

DEFAULT_TTL = 86400.0


MAX_NAME_CHARS = 200


def portal_link(
    settings: Settings, endpoint_ids: list[str], *, ttl: float, now: float, name: str = ""
) -> tuple[str, float]:
    """The portal address for ``endpoint_ids`` (a partner named ``name`` when there are
    several), valid ``ttl`` seconds from ``now``, and when it expires. The caller checks
    that the endpoints exist."""
    if not 0 < ttl <= MAX_TTL:
        raise ValueError(
            f"the lifetime (ttl) must be more than 0 and at most {MAX_TTL / 86400:.0f} days"
        )
    if not endpoint_ids or any("," in e or not e for e in endpoint_ids):
        raise ValueError("name one endpoint id or more")
    if len(name) > MAX_NAME_CHARS:
        raise ValueError(f"the partner name must be at most {MAX_NAME_CHARS} characters")
    expires = now + ttl
    subject = ",".join(dict.fromkeys(endpoint_ids))
    token = sign(signing_key(settings), Grant("portal", subject, expires, name.strip()))
    return f"{settings.site_url}/portal/enter?token={quote(token)}", expires
