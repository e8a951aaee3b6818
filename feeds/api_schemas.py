"""Request bodies for the OpenAPI document.

The handlers read their bodies themselves (raw article bytes in several formats; JSON
checked by :mod:`feeds.webhooks.spec` with field-named errors), so FastAPI cannot infer
these; they are declared here for clients, and for API fuzzing, which generates
requests from them.
"""

from __future__ import annotations

from typing import Any

from feeds.webhooks.spec import (
    EVENT_TYPES,
    MAX_DESCRIPTION_CHARS,
    MAX_IN_FLIGHT,
    MAX_NAME_CHARS,
    MAX_RATE_LIMIT,
    ORDERINGS,
)

_NAMES = {"type": "array", "items": {"type": "string", "maxLength": MAX_NAME_CHARS}}

_SUBSCRIPTION = {
    "type": "object",
    "properties": {
        "url": {"type": "string", "format": "uri", "description": "http(s), public address"},
        "events": {"type": "array", "items": {"type": "string", "enum": list(EVENT_TYPES)}},
        "authors": _NAMES,
        "tags": _NAMES,
        "description": {"type": "string", "maxLength": MAX_DESCRIPTION_CHARS},
        "max_in_flight": {"type": "integer", "minimum": 1, "maximum": MAX_IN_FLIGHT},
        "rate_limit": {
            "type": ["integer", "null"],
            "minimum": 0,
            "maximum": MAX_RATE_LIMIT,
            "description": "Messages per second to this endpoint, across every worker; "
            "null or 0: no limit.",
        },
        "ordering": {
            "enum": list(ORDERINGS),
            "description": "fifo: one message at a time, in the order they were made; the "
            "next only once the previous one is delivered or dead.",
        },
    },
}

_SECTION = {
    "type": "object",
    "properties": {
        "heading": {"type": "string"},
        "paragraphs": {"type": "array", "items": {"type": "string"}},
        "body": {"type": "string"},
    },
}

_JSON_ARTICLE = {
    "oneOf": [
        {
            "type": "object",
            "description": "an article's fields",
            "required": ["title"],
            "properties": {
                "title": {"type": "string"},
                "description": {"type": "string"},
                "id": {"type": "string"},
                "url": {"type": "string"},
                "authors": {"type": "array", "items": {"type": "string"}},
                "published": {"type": "string"},
                "updated": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "language": {"type": "string"},
                "metadata": {"type": "object"},
                "sections": {"type": "array", "items": _SECTION},
            },
        },
        {
            "type": "object",
            "description": "an envelope around an article in another format",
            "required": ["format", "body"],
            "properties": {
                "format": {"type": "string", "enum": ["text", "markdown", "html", "json"]},
                "body": {"type": "string"},
            },
        },
    ]
}

_TEXT = {"schema": {"type": "string"}}


def body(content: dict[str, Any], description: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "description": description, "content": content}}


ARTICLE_BODY = body(
    {
        "text/plain": _TEXT,
        "text/markdown": _TEXT,
        "text/html": _TEXT,
        "application/json": {"schema": _JSON_ARTICLE},
    },
    "The article: plain text (title, description, metadata lines, sections), Markdown "
    "with optional front matter, HTML, or JSON. Any other content type is sniffed.",
)
NEW_SUBSCRIPTION_BODY = body(
    {"application/json": {"schema": {**_SUBSCRIPTION, "required": ["url"]}}},
    "The endpoint and its filters.",
)
SUBSCRIPTION_CHANGES_BODY = body(
    {"application/json": {"schema": _SUBSCRIPTION}}, "The fields to change."
)
RECOVER_BODY = body(
    {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["since"],
                "properties": {"since": {"type": "string", "format": "date-time"}},
            }
        }
    },
    "Send again every dead or held message created since this time.",
)
