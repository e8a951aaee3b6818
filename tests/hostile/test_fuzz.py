"""Property tests: every parser either returns an article or raises InputError, and
webhook bodies of arbitrary articles are valid JSON within the limit and the schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from feeds.webhooks.payload import EVENT_TYPES, MAX_BODY_BYTES, build_article_payload
from worker.core.errors import InputError
from worker.core.model import Article, Metadata, Rating, Section
from worker.core.pipeline import FORMATS, parse_article

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "webhook-payload.schema.json"
VALIDATOR = Draft202012Validator(
    json.loads(SCHEMA_PATH.read_text(encoding="utf-8")),
    format_checker=Draft202012Validator.FORMAT_CHECKER,
)
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

formats = st.sampled_from([None, *FORMATS])
#: Text shaped like articles: headings, front matter, tags, JSON punctuation.
fragments = st.sampled_from(
    ["# ", "## ", "---\n", "\n", "\n\n", "<h1>", "</h1>", "<p>", "<script>", "{", "}", "[",
     "]", '"title":', '"sections":', ":", ",", "Title", "Rating: 7/10", "\u202e", "\u200b",
     "\x00", "\ufeff", "&amp;", "&#0;", "<!--", "-->", "![x](javascript:y)", "*", "`"]
)  # fmt: skip
article_like = st.lists(st.one_of(fragments, st.text(max_size=20)), max_size=40).map("".join)


def parses_or_refuses(data: bytes | str, format: str | None) -> None:
    try:
        result = parse_article(data, format=format)
    except InputError as error:
        message = str(error)
    else:
        assert isinstance(result.article, Article)
        assert result.article.title.strip()
        return
    assert message.strip()
    assert "\n" not in message, message


@FUZZ
@given(data=st.binary(max_size=2_000), format=formats)
def test_any_bytes_parse_or_are_refused(data: bytes, format: str | None) -> None:
    parses_or_refuses(data, format)


@FUZZ
@given(text=st.text(max_size=2_000), format=formats)
def test_any_text_parses_or_is_refused(text: str, format: str | None) -> None:
    parses_or_refuses(text.encode("utf-8", "surrogatepass"), format)


@FUZZ
@given(text=article_like, format=formats)
def test_article_like_text_parses_or_is_refused(text: str, format: str | None) -> None:
    parses_or_refuses(text.encode("utf-8", "surrogatepass"), format)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)  # fmt: skip
payload_fields = st.fixed_dictionaries(
    {"title": st.one_of(st.text(max_size=50), json_values)},
    optional=dict.fromkeys(
        ("description", "id", "slug", "url", "authors", "author", "published",
                    "updated", "tags", "language", "metadata", "sections"),
        json_values,
    ),
)  # fmt: skip


@FUZZ
@given(document=payload_fields)
def test_any_json_payload_parses_or_is_refused(document: dict[str, object]) -> None:
    parses_or_refuses(json.dumps(document).encode(), "json")


texts = st.text(max_size=300)
articles = st.builds(
    Article,
    id=st.text(min_size=1, max_size=130),
    slug=texts,
    title=st.text(max_size=3_000),
    description=st.text(max_size=5_000),
    url=st.none() | texts,
    authors=st.lists(texts, max_size=20).map(tuple),
    published=st.none() | st.datetimes(timezones=st.just(UTC)),
    updated=st.none(),
    metadata=st.just(Metadata(release_year=2021, rating=Rating(7.5, 10))),
    tags=st.lists(texts, max_size=50).map(tuple),
    language=st.just("en"),
    word_count=st.integers(0, 10**6),
    reading_time_minutes=st.integers(0, 10**4),
    sections=st.lists(
        st.builds(Section, heading=texts, paragraphs=st.just(()), summary=st.text(max_size=2_000)),
        max_size=60,
    ).map(tuple),
    summary=st.text(max_size=5_000),
    content_hash=st.just("sha256:" + "0" * 64),
)


@FUZZ
@given(
    article=articles,
    event=st.sampled_from(EVENT_TYPES),
    version=st.integers(0, 10**9),
    changed=st.lists(texts, max_size=30),
)
def test_any_article_gives_a_valid_webhook_body(
    article: Article, event: str, version: int, changed: list[str]
) -> None:
    body = build_article_payload(
        event, article, version=version, timestamp=datetime(2024, 5, 1, tzinfo=UTC),
        changed_sections=changed,
        feeds=[{"name": "main", "atom": "https://x.example/a.xml",
                "rss": "https://x.example/r.xml", "json": "https://x.example/f.json"}],
    )  # fmt: skip
    assert len(body) <= MAX_BODY_BYTES
    document = json.loads(body.decode("utf-8"))
    errors = [error.message for error in VALIDATOR.iter_errors(document)]
    assert not errors, errors[:3]
