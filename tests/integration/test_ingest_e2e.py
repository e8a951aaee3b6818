"""End to end through the real HTTP server, Redis and a Celery worker process."""

from __future__ import annotations

import uuid

import httpx

from tests.integration.conftest import RedisService, WorkerProcess, auth, wait_until


def article_text(title: str, ending: str = "The lighthouse goes dark at dawn.") -> str:
    return (
        f"{title}\n"
        "A guide to the last reel.\n"
        "Release Year: 2020\n"
        "Rating: 7.5/10\n"
        "Author: Rhea Lund\n"
        "Quick Recap\n"
        "A keeper tends a lighthouse on a rock. A storm cuts the island off for a week.\n"
        "The Ending\n"
        f"{ending} The keeper rows home alone.\n"
    )


def post_text(api: httpx.Client, text: str) -> dict[str, object]:
    response = api.post(
        "/v1/articles", content=text.encode(), headers={**auth(), "Content-Type": "text/plain"}
    )
    assert response.status_code == 202, response.text
    body: dict[str, object] = response.json()
    return body


def settled(api: httpx.Client, submission: object) -> dict[str, object]:
    state: dict[str, object] = {}

    def done() -> bool:
        state.update(api.get(f"/v1/submissions/{submission}").json())
        return state.get("status") in ("done", "failed")

    wait_until(done)
    return state


def events_for(service: RedisService, article_id: str) -> list[dict[str, object]]:
    with service.database().connection() as conn:
        rows = conn.execute(
            "SELECT type, version, changed_sections FROM events WHERE article_id = %s ORDER BY id",
            (article_id,),
        ).fetchall()
    return [{"type": t, "version": v, "changed_sections": list(c)} for t, v, c in rows]


def in_main_feed(service: RedisService, article_id: str) -> bool:
    with service.database().connection() as conn:
        row = conn.execute(
            "SELECT 1 FROM feed_entries WHERE feed = 'main' AND article_id = %s", (article_id,)
        ).fetchone()
    return row is not None


def test_publish_unchanged_update_cosmetic_delete(
    api: httpx.Client, worker: WorkerProcess, redis_service: RedisService
) -> None:
    title = f"Harbour Light {uuid.uuid4().hex[:8]}"
    first = post_text(api, article_text(title))
    article_id = str(first["id"])
    assert first["status_url"] == f"/v1/articles/{article_id}"

    assert settled(api, first["submission"])["result"] == "published"
    record = api.get(f"/v1/articles/{article_id}").json()
    assert record["version"] == 1
    assert record["status"] == "published"
    assert record["article"]["title"] == title
    assert record["article"]["published"] is not None
    published = events_for(redis_service, article_id)
    assert [event["type"] for event in published] == ["article.published"]

    again = post_text(api, article_text(title))
    assert settled(api, again["submission"])["result"] == "unchanged"
    assert api.get(f"/v1/articles/{article_id}").json()["version"] == 1

    edited = post_text(api, article_text(title, ending="The lighthouse burns at dusk."))
    assert settled(api, edited["submission"])["result"] == "updated"
    record = api.get(f"/v1/articles/{article_id}").json()
    assert record["version"] == 2
    assert record["history"][1]["changed_sections"] == ["The Ending"]
    update_event = events_for(redis_service, article_id)[-1]
    assert update_event["type"] == "article.updated"
    assert update_event["changed_sections"] == ["The Ending"]
    assert (
        record["article"]["published"]
        == api.get(f"/v1/articles/{article_id}/versions/1").json()["article"]["published"]
    )

    cosmetic = article_text(title.upper(), ending="The lighthouse   burns at dusk.").replace(
        "\n", "\r\n"
    )
    cosmetic_post = post_text(api, cosmetic)
    assert cosmetic_post["id"] == article_id
    assert settled(api, cosmetic_post["submission"])["result"] == "unchanged"
    assert api.get(f"/v1/articles/{article_id}").json()["version"] == 2

    deleted = api.delete(f"/v1/articles/{article_id}", headers=auth())
    assert deleted.status_code == 202
    assert settled(api, deleted.json()["submission"])["result"] == "deleted"
    record = api.get(f"/v1/articles/{article_id}").json()
    assert record["deleted"] is True
    assert record["status"] == "deleted"
    assert record["version"] == 3
    types = [event["type"] for event in events_for(redis_service, article_id)]
    assert types == ["article.published", "article.updated", "article.deleted"]
    assert in_main_feed(redis_service, article_id) is False
