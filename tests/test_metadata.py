"""Metadata interpretation: typed fields from loose values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from worker.core.draft import MetaEntry
from worker.core.metadata import interpret, read_datetime, read_language, read_rating
from worker.core.model import Rating


@pytest.mark.parametrize(
    ("value", "rating"),
    [
        ("6.785/10", Rating(6.785, 10.0)),
        ("6.785 / 10", Rating(6.785, 10.0)),
        ("4 out of 5", Rating(4.0, 5.0)),
        ("3.5/5 stars", Rating(3.5, 5.0)),
        ("85%", Rating(85.0, 100.0)),
        ("7,5/10", Rating(7.5, 10.0)),
        ("8", Rating(8.0, 10.0)),
        (8.5, Rating(8.5, 10.0)),
        (72, Rating(72.0, 100.0)),
        ({"value": 4.5, "scale": 5}, Rating(4.5, 5.0)),
    ],
)
def test_ratings(value: object, rating: Rating) -> None:
    assert read_rating(value) == rating  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["great", "11/10", "-1/10", "5/0", {"value": "x"}, True])
def test_bad_ratings(value: object) -> None:
    with pytest.raises(ValueError, match=r"rating|number"):
        read_rating(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T09:30:00Z", datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
        ("2024-05-01T11:30:00+02:00", datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
        ("Wed, 01 May 2024 09:30:00 GMT", datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
        ("May 1, 2024", datetime(2024, 5, 1, tzinfo=UTC)),
        ("1 May 2024", datetime(2024, 5, 1, tzinfo=UTC)),
    ],
)
def test_dates_become_utc(value: str, moment: datetime) -> None:
    parsed = read_datetime(value)
    assert parsed == moment
    assert parsed.tzinfo is UTC


def test_languages() -> None:
    assert read_language("EN_us") == "en-US"
    assert read_language("pt-br") == "pt-BR"
    with pytest.raises(ValueError, match="language"):
        read_language("english please")


def test_interpret_routes_known_keys_and_keeps_unknown_ones() -> None:
    fields = interpret(
        [
            MetaEntry("Release Year", "2021"),
            MetaEntry("rating", "6/10"),
            MetaEntry("Authors", "Ann Lee and Bo Chen & Cy Dee"),
            MetaEntry("Categories", ["Drama", "Mystery"]),
            MetaEntry("Published", "2024-01-02"),
            MetaEntry("Canonical URL", "https://example.com/a"),
            MetaEntry("Director", "Someone"),
            MetaEntry("Runtime", 118),
        ]
    )
    assert fields.metadata.release_year == 2021
    assert fields.metadata.rating == Rating(6.0, 10.0)
    assert fields.authors == ["Ann Lee", "Bo Chen", "Cy Dee"]
    assert fields.tags == ["Drama", "Mystery"]
    assert fields.published == datetime(2024, 1, 2, tzinfo=UTC)
    assert fields.url == "https://example.com/a"
    assert fields.metadata.extra == {"Director": "Someone", "Runtime": "118"}
    assert fields.warnings == []


def test_a_javascript_url_is_refused_and_kept_as_text() -> None:
    fields = interpret([MetaEntry("URL", "javascript:alert(1)", 4)])
    assert fields.url is None
    assert fields.metadata.extra == {"URL": "javascript:alert(1)"}
    assert fields.warnings[0].line == 4
