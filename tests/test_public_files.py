"""Serving the last published files when Redis is away: only feed documents, only inside."""

from __future__ import annotations

from pathlib import Path

import pytest

from feeds.publish import document_etag, read_public_file


@pytest.fixture
def public(tmp_path: Path) -> Path:
    feeds = tmp_path / "feeds" / "tags" / "drama"
    feeds.mkdir(parents=True)
    (tmp_path / "feeds" / "atom.xml").write_bytes(b"<feed/>")
    (feeds / "feed.json").write_bytes(b"{}")
    (tmp_path / "secret.txt").write_text("no")
    (tmp_path / "feeds" / "notes.txt").write_text("no")
    return tmp_path


def test_a_feed_document_is_read_with_its_etag_and_media_type(public: Path) -> None:
    found = read_public_file(public, "atom.xml")
    assert found is not None
    head, body = found
    assert body == b"<feed/>" and head.etag == document_etag(body)
    assert head.media_type.startswith("application/atom+xml")
    found = read_public_file(public, "tags/drama/feed.json")
    assert found is not None and found[0].media_type.startswith("application/feed+json")


@pytest.mark.parametrize(
    "path", ["../secret.txt", "notes.txt", "../../etc/passwd", "tags/../../secret.txt",
             "rss.xml", "/etc/hosts", "tags/drama/../../../secret.txt"],
)  # fmt: skip
def test_nothing_else_is_served(public: Path, path: str) -> None:
    assert read_public_file(public, path) is None
