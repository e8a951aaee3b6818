"""The HTTP API's edges: auth, limits, bad input, formats, JSON errors."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.integration.conftest import API_TOKEN, RedisService, auth


def unique_title() -> str:
    return f"Paper Moons {uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 401),
        ({"Authorization": "Bearer"}, 401),
        ({"Authorization": "Bearer wrong-token"}, 403),
        ({"Authorization": f"Bearer {API_TOKEN}x"}, 403),
    ],
)
def test_writes_need_a_valid_token(api: httpx.Client, headers: dict[str, str], status: int) -> None:
    response = api.post("/v1/articles", content=b"Title\nDescription.\n", headers=headers)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == ("unauthorized" if status == 401 else "forbidden")
    deleted = api.delete("/v1/articles/anything", headers=headers)
    assert deleted.status_code == status


def test_reads_need_no_token_and_unknown_ids_are_404(api: httpx.Client) -> None:
    response = api.get("/v1/articles/does-not-exist")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert api.delete("/v1/articles/does-not-exist", headers=auth()).status_code == 404


def test_request_size_limit_is_413(api: httpx.Client) -> None:
    response = api.post("/v1/articles", content=b"x" * 2_000_001, headers=auth())
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def rejected_count(service: RedisService) -> int:
    with service.database().connection() as conn:
        row = conn.execute("SELECT count(*) FROM rejected_inputs").fetchone()
    assert row is not None
    return int(row[0])


def test_invalid_input_is_422_with_the_parser_message_and_is_kept(
    api: httpx.Client, redis_service: RedisService
) -> None:
    before = rejected_count(redis_service)
    response = api.post(
        "/v1/articles",
        content=b"Title\n\xff\xfe bad bytes",
        headers={**auth(), "Content-Type": "text/plain"},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["problem"] == "encoding"
    assert error["line"] == 2
    assert "not valid UTF-8" in error["message"]
    assert rejected_count(redis_service) == before + 1
    assert redis_service.store().rejected_inputs(limit=1)[0].raw == b"Title\n\xff\xfe bad bytes"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"description": "no title here"}, "no_title"),
        ({"title": 42}, "invalid_field"),
        ({"format": "docx", "body": "x"}, "invalid_field"),
    ],
)
def test_bad_json_is_422(api: httpx.Client, body: dict[str, object], problem: str) -> None:
    response = api.post("/v1/articles", json=body, headers=auth())
    assert response.status_code == 422
    assert response.json()["error"]["problem"] == problem


def test_malformed_json_is_422_not_500(api: httpx.Client) -> None:
    response = api.post(
        "/v1/articles",
        content=b'{"title": "x",',
        headers={**auth(), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["problem"] == "invalid_json"


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [
        ("envelope-text", "application/json"),
        ("envelope-markdown", "application/json"),
        ("structured", "application/json"),
        ("raw-markdown", "text/markdown"),
        ("raw-html", "text/html; charset=utf-8"),
    ],
)
def test_every_submission_shape_is_accepted(
    api: httpx.Client, payload: str, content_type: str
) -> None:
    title = unique_title()
    text = f"{title}\nA description.\nIntro\nSome words here.\n"
    markdown = f"# {title}\n\nA description.\n\n## Intro\n\nSome words here.\n"
    bodies = {
        "envelope-text": json.dumps({"format": "text", "body": text}),
        "envelope-markdown": json.dumps({"format": "markdown", "body": markdown}),
        "structured": json.dumps(
            {"title": title, "sections": [{"heading": "Intro", "paragraphs": ["Some words here."]}]}
        ),
        "raw-markdown": markdown,
        "raw-html": f"<h1>{title}</h1><p>A description.</p><h2>Intro</h2><p>Some words here.</p>",
    }
    response = api.post(
        "/v1/articles",
        content=bodies[payload].encode(),
        headers={**auth(), "Content-Type": content_type},
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) >= {"id", "status_url"}
    assert body["id"] == title.lower().replace(" ", "-")
    assert response.headers["location"] == body["status_url"]


def test_openapi_document_is_served(api: httpx.Client) -> None:
    document = api.get("/openapi.json").json()
    assert "/v1/articles" in document["paths"]
    assert "/v1/articles/{article_id}" in document["paths"]


def test_deeply_nested_json_is_422_not_500(api: httpx.Client) -> None:
    body = b"[" * 200_000
    response = api.post(
        "/v1/articles", content=body, headers={**auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"


def test_a_bad_envelope_is_kept_in_the_rejected_stream(
    api: httpx.Client, redis_service: RedisService
) -> None:
    before = rejected_count(redis_service)
    response = api.post("/v1/articles", json={"format": "pdf", "body": "x"}, headers=auth())
    assert response.status_code == 422
    assert rejected_count(redis_service) == before + 1


def test_a_declared_charset_is_honoured(api: httpx.Client) -> None:
    title = unique_title()
    body = f"{title}\nUne description déjà vue.\nPartie\nÇa marche.\n".encode("latin-1")
    response = api.post(
        "/v1/articles",
        content=body,
        headers={**auth(), "Content-Type": "text/plain; charset=latin-1"},
    )
    assert response.status_code == 202, response.text
    unknown = api.post(
        "/v1/articles",
        content=body,
        headers={**auth(), "Content-Type": "text/plain; charset=klingon"},
    )
    assert unknown.status_code == 415
    assert unknown.json()["error"]["code"] == "unsupported_charset"
