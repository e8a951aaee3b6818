"""Feeds published by the real worker and served by the real HTTP server."""

from __future__ import annotations

import uuid

import feedparser
import httpx

from feeds import feed_store
from tests.integration.conftest import RedisService, WorkerProcess, auth, wait_until


def post(api: httpx.Client, title: str, author: str, tag: str) -> str:
    body = (
        f"{title}\nA description.\nRelease Year: 2001\nRating: 8/10\nAuthor: {author}\n"
        f"Tags: {tag}\nThe Ending\nThe tide comes in and the island is gone.\n"
    )
    response = api.post(
        "/v1/articles", content=body.encode(), headers={**auth(), "Content-Type": "text/plain"}
    )
    assert response.status_code == 202, response.text
    article_id: str = response.json()["id"]
    wait_until(lambda: api.get(f"/v1/articles/{article_id}").json()["status"] == "published")
    return article_id


def feed_titles(api: httpx.Client, path: str) -> list[str]:
    response = api.get(path)
    if response.status_code != 200:
        return []
    return [entry.title for entry in feedparser.parse(response.content).entries]


def test_feeds_are_published_served_and_updated(
    api: httpx.Client, worker: WorkerProcess, redis_service: RedisService
) -> None:
    tag = uuid.uuid4().hex[:8]
    author = f"Ines Varga {tag}"
    author_path = f"/feeds/authors/ines-varga-{tag}/atom.xml"
    first = post(api, f"Low Tide {tag}", author, f"tide-{tag}")
    second = post(api, f"High Water {tag}", author, f"tide-{tag}")
    wait_until(lambda: len(feed_titles(api, author_path)) == 2)
    assert feed_titles(api, author_path) == [f"High Water {tag}", f"Low Tide {tag}"]
    # The other feeds are rendered in the same publish run, possibly a moment later.
    wait_until(lambda: f"Low Tide {tag}" in feed_titles(api, f"/feeds/tags/tide-{tag}/rss.xml"))
    wait_until(lambda: f"High Water {tag}" in feed_titles(api, "/feeds/atom.xml"))
    wait_until(lambda: second in api.get(f"/feeds/tags/tide-{tag}/feed.json").text)

    identity = {"Accept-Encoding": "identity"}
    response = api.get(author_path, headers=identity)
    assert "content-encoding" not in response.headers
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert feedparser.parse(response.content).bozo == 0
    etag, modified = response.headers["etag"], response.headers["last-modified"]
    assert response.headers["cache-control"] == "public, max-age=300"
    self_url = f"http://127.0.0.1:8080{author_path}"  # SYNDICATE_FEEDS_URL's default base
    assert f'<{self_url}>; rel="self"' in response.headers["link"]
    assert 'rel="alternate"' in response.headers["link"]
    for validators in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
        assert api.get(author_path, headers={**identity, **validators}).status_code == 304
    assert api.get(author_path, headers={**identity, "If-None-Match": '"x"'}).status_code == 200

    compressed = api.get(author_path, headers={"Accept-Encoding": "gzip"})
    assert compressed.headers["content-encoding"] == "gzip"
    assert compressed.headers["etag"] != etag
    assert compressed.content == response.content  # httpx decompressed it
    gzip_etag = compressed.headers["etag"]
    assert api.get(author_path, headers={"If-None-Match": gzip_etag}).status_code == 304
    head = api.head(author_path, headers=identity)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == etag

    public = redis_service.data_dir / "public" / "feeds" / author_path.removeprefix("/feeds/")
    assert public.read_bytes() == response.content

    assert api.delete(f"/v1/articles/{first}", headers=auth()).status_code == 202
    wait_until(lambda: feed_titles(api, author_path) == [f"High Water {tag}"])
    changed = api.get(author_path, headers={**identity, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag


def test_unknown_feeds_are_404_json(api: httpx.Client) -> None:
    response = api.get("/feeds/authors/nobody-at-all/atom.xml")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_burst_of_articles_costs_a_handful_of_renders(
    api: httpx.Client, worker: WorkerProcess, redis_service: RedisService
) -> None:
    tag = uuid.uuid4().hex[:8]
    author = f"Burst Writer {tag}"
    feed = f"author:burst-writer-{tag}"
    count = 40
    for index in range(count):
        body = f"Burst {index} {tag}\nA description.\nAuthor: {author}\nPart\nText {index}.\n"
        response = api.post(
            "/v1/articles", content=body.encode(), headers={**auth(), "Content-Type": "text/plain"}
        )
        assert response.status_code == 202
    path = f"/feeds/authors/burst-writer-{tag}/atom.xml"
    wait_until(lambda: len(feed_titles(api, path)) == count, timeout=60)
    renders = feed_store.renders(redis_service.database()).get(feed, 0)
    assert 1 <= renders < count // 2, renders
    assert sorted(feed_titles(api, path)) == sorted(
        f"Burst {index} {tag}" for index in range(count)
    )


def test_the_feed_index_lists_published_feeds(
    api: httpx.Client, worker: WorkerProcess, redis_service: RedisService
) -> None:
    tag = uuid.uuid4().hex[:8]
    post(api, f"Index Entry {tag}", f"Index Author {tag}", f"index-{tag}")
    path = f"/feeds/authors/index-author-{tag}/atom.xml"
    tag_path = f"/feeds/tags/index-{tag}/feed.json"
    wait_until(lambda: api.get(path).status_code == api.get(tag_path).status_code == 200)
    page = api.get("/feeds/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f'href="{path}"' in page.text
    assert f'href="{tag_path}"' in page.text
    assert page.text.index('href="/feeds/atom.xml"') < page.text.index(path)
