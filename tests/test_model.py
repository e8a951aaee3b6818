"""The article model: frozen, typed, exact JSON round trip."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.core.model import Article, Metadata, Rating, Section

texts = st.text(max_size=40)
utc_times = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
metadata = st.builds(
    Metadata,
    release_year=st.none() | st.integers(1800, 2200),
    rating=st.none()
    | st.builds(Rating, value=st.floats(0, 10, allow_nan=False), scale=st.just(10.0)),
    extra=st.dictionaries(texts, texts, max_size=3),
)
sections = st.builds(
    Section, heading=texts, paragraphs=st.lists(texts, max_size=3).map(tuple), summary=texts
)
articles = st.builds(
    Article,
    id=texts,
    slug=texts,
    title=texts,
    description=texts,
    url=st.none() | texts,
    authors=st.lists(texts, max_size=3).map(tuple),
    published=st.none() | utc_times,
    updated=st.none() | utc_times,
    metadata=metadata,
    tags=st.lists(texts, max_size=3).map(tuple),
    language=texts,
    word_count=st.integers(0, 10**6),
    reading_time_minutes=st.integers(0, 10**4),
    sections=st.lists(sections, max_size=4).map(tuple),
    summary=texts,
    content_hash=texts,
)


@given(articles)
def test_json_round_trip_is_exact(article: Article) -> None:
    assert Article.from_json(article.to_json()) == article
    assert Article.from_json(article.to_json()).to_json() == article.to_json()


def test_round_trip_of_a_parsed_article(example_bytes: bytes) -> None:
    from worker.core.pipeline import parse_article

    article = parse_article(example_bytes).article
    assert Article.from_json(article.to_json()) == article
    assert Article.from_json(article.to_json().encode()) == article


def test_articles_are_frozen(example_bytes: bytes) -> None:
    from worker.core.pipeline import parse_article

    article = parse_article(example_bytes).article
    with pytest.raises(AttributeError):
        article.title = "changed"  # type: ignore[misc]
    assert not dataclasses.is_dataclass(article)
    assert hash(article.sections[0].paragraphs) is not None


def test_times_must_be_aware_and_utc(example_bytes: bytes) -> None:
    from worker.core.pipeline import parse_article

    document = msgspec.json.decode(parse_article(example_bytes).article.to_json())
    document["published"] = "2024-01-01T10:00:00"
    with pytest.raises(msgspec.ValidationError, match="timezone"):
        Article.from_json(msgspec.json.encode(document))
    document["published"] = datetime(
        2024, 1, 1, 10, tzinfo=timezone(timedelta(hours=2))
    ).isoformat()
    with pytest.raises(msgspec.ValidationError, match="UTC"):
        Article.from_json(msgspec.json.encode(document))


def test_a_wrong_type_names_the_field(example_bytes: bytes) -> None:
    from worker.core.pipeline import parse_article

    document = msgspec.json.decode(parse_article(example_bytes).article.to_json())
    document["metadata"]["release_year"] = "2019"
    with pytest.raises(msgspec.ValidationError, match=r"\$\.metadata\.release_year"):
        Article.from_json(msgspec.json.encode(document))
