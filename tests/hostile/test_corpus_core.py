"""Every hostile article is refused with a clear error or accepted as a clean article,
and feeds of the accepted ones stay valid.

No timed assertions (the project forbids them): each parse's duration is logged
(``-o log_cli=true`` or on failure) and bounded only by the suite's total time.
"""

from __future__ import annotations

import functools
import logging
import time
import typing
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from feeds.render import FeedSpec, render_all
from tests.hostile.checks import article_problems, error_problems, feed_problems
from tests.hostile.corpus import Hostile, corpus
from tests.hostile.corpus_markup import MARKUP_AS_TEXT
from worker.core.errors import InputError, InputProblem
from worker.core.model import Article
from worker.core.pipeline import parse_article

log = logging.getLogger(__name__)

SPEC = FeedSpec(
    key="main", title="Hostile", description="Hostile input.",
    site_url="https://hostile.example/", folder_url="https://hostile.example/feeds/",
    publisher="Hostile", hub_url="https://hostile.example/websub",
)  # fmt: skip

#: Inputs that write markup as text (plain text, JSON strings, entity-escaped HTML):
#: the article keeps it as text, and the feed checks prove every output escapes it.
LITERAL_MARKUP = (
    frozenset(
        {
            "html-entity-encoded-script",
            "html-sent-as-text",
            "json-script-fields",
            "utf7-content-type",
        }
    )
    | MARKUP_AS_TEXT
)

#: The outcome some items must have (the rest: any clear error, or a clean article).
EXPECTED_PROBLEM: dict[str, InputProblem] = {
    "empty": "empty",
    "whitespace-only": "empty",
    "bom-only": "empty",
    "truncated-utf8-mid-sequence": "encoding",
    "cesu-lone-surrogate": "encoding",
    "overlong-slash": "encoding",
    "random-binary": "binary",
    "png-magic": "binary",
    "pdf-magic": "binary",
    "zip-magic": "binary",
    "ten-mib": "too_large",
    "json-50000-tags": "invalid_field",  # at most 200 tags (feed rendering is quadratic)
    "one-byte-over-limit": "too_large",
    "hundred-thousand-sections-md": "too_many_sections",
    "sections-one-over-limit-md": "too_many_sections",
    "sections-one-over-limit-json": "too_many_sections",
    "html-nested-10000-divs": "too_complex",
    "zero-width-only-title": "no_title",
    "whitespace-only-title-json": "no_title",
    "md-yaml-billion-laughs": "invalid_field",
    "md-yaml-python-object": "invalid_field",
    "json-deep-nesting-in-field": "invalid_json",
    "json-huge-number": "invalid_field",
    "html-sent-as-json": "invalid_json",
    "unknown-format": "unknown_format",
}
EXPECTED_ACCEPTED = frozenset(
    {"exactly-at-byte-limit", "sections-exactly-at-limit-md", "crlf-line-endings",
     "cr-only-line-endings", "html-script", "bidi-override-title", "zero-width-spaces"}
) | MARKUP_AS_TEXT  # fmt: skip


def _param(item: Hostile) -> typing.Any:
    return pytest.param(item, id=item.name)


def test_the_corpus_is_large_and_varied() -> None:
    items = corpus()
    assert len(items) >= 60
    assert {item.format for item in items} >= {None, "text", "markdown", "html", "json"}
    assert set(EXPECTED_PROBLEM) | EXPECTED_ACCEPTED <= {item.name for item in items}


@functools.cache
def parse(item: Hostile) -> Article | InputError:
    start = time.perf_counter()
    try:
        outcome: Article | InputError = parse_article(
            item.data, format=item.format, content_type=item.content_type
        ).article
    except InputError as error:
        outcome = error
    log.info("%s: %.3fs, %s", item.name, time.perf_counter() - start, type(outcome).__name__)
    return outcome


@pytest.mark.parametrize("item", [_param(item) for item in corpus()])
def test_a_hostile_article_is_refused_clearly_or_accepted_clean(item: Hostile) -> None:
    outcome = parse(item)  # anything but InputError propagates and fails the test
    if isinstance(outcome, InputError):
        assert not error_problems(outcome), (str(outcome), error_problems(outcome))
        assert outcome.problem in typing.get_args(InputProblem)
        assert item.name not in EXPECTED_ACCEPTED, f"refused: {outcome}"
        if item.name in EXPECTED_PROBLEM:
            assert outcome.problem == EXPECTED_PROBLEM[item.name], str(outcome)
        return
    assert item.name not in EXPECTED_PROBLEM, f"accepted, expected {EXPECTED_PROBLEM[item.name]}"
    problems = article_problems(outcome, literal_markup=item.name in LITERAL_MARKUP)
    assert not problems
    feeds = render_all(SPEC, [_dated(outcome, 0)])
    assert not feed_problems(feeds)


def _dated(article: Article, index: int) -> Article:
    moment = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=index)
    return msgspec.structs.replace(article, id=f"hostile-{index}", published=moment, updated=moment)


def test_a_feed_of_every_accepted_hostile_article_is_valid() -> None:
    accepted = []
    for item in corpus():
        outcome = parse(item)
        # Huge articles are checked one by one above; feedparser needs seconds per MB.
        small = isinstance(outcome, Article) and len(outcome.to_json()) < 100_000
        if small:
            accepted.append(_dated(outcome, len(accepted)))
    assert len(accepted) >= 20
    documents = render_all(SPEC, accepted)
    assert not feed_problems(documents)
