"""The JSON format: strict field types, lenient top level, malformed and huge documents."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FIXTURES
from worker.core.draft import DraftSection, MetaEntry
from worker.core.errors import InputError
from worker.core.formats.jsonfmt import parse_json
from worker.core.model import Rating
from worker.core.pipeline import parse_article

JSON = FIXTURES / "json"


def read(name: str) -> str:
    return (JSON / name).read_text(encoding="utf-8")


def document(**fields: object) -> str:
    return json.dumps({"title": "T", **fields})


def refused(text: str) -> InputError:
    with pytest.raises(InputError) as caught:
        parse_json(text)
    return caught.value


# ---------------------------------------------------------------------- the article


def test_the_fixture_article() -> None:
    result = parse_article(read("salt-orchard.json").encode(), format="json")
    article = result.article
    assert article.title == "The Salt Orchard (2022): Ending Explained"
    assert article.metadata.release_year == 2022
    assert article.metadata.rating == Rating(7.25, 10.0)
    assert article.authors == ("Wren Halloway",)
    assert article.tags == ("drama", "mystery")
    assert article.published == datetime(2024, 3, 14, tzinfo=UTC)
    assert article.language == "en"
    assert [len(section.paragraphs) for section in article.sections] == [2] * 6
    assert result.warnings == ()


def test_the_same_film_in_markdown_html_and_json_gives_the_same_article() -> None:
    articles = [
        parse_article((FIXTURES / folder / name).read_bytes(), format=fmt).article
        for folder, name, fmt in [
            ("markdown", "salt-orchard.md", "markdown"),
            ("html", "salt-orchard.html", "html"),
            ("json", "salt-orchard.json", "json"),
        ]
    ]
    assert articles[0] == articles[1] == articles[2]


def test_the_draft_maps_fields_to_metadata_keys() -> None:
    draft = parse_json(
        document(
            description="D.",
            id="film-1",
            slug="the-film",
            url="https://example.com/f",
            author="Doe, Jane",
            authors=["A. Writer"],
            published="2024-05-01",
            updated="2024-05-02T10:00:00Z",
            tags=["drama"],
            categories=["reviews"],
            language="fr",
            metadata={"release_year": 2019, "rating": "6.785/10", "runtime": 97, "restored": True},
        )
    )
    assert draft.title == "T"
    assert draft.description == "D."
    assert draft.meta == [
        MetaEntry("authors", ["Doe, Jane"]),
        MetaEntry("authors", ["A. Writer"]),
        MetaEntry("published", "2024-05-01"),
        MetaEntry("updated", "2024-05-02T10:00:00Z"),
        MetaEntry("tags", ["drama"]),
        MetaEntry("categories", ["reviews"]),
        MetaEntry("url", "https://example.com/f"),
        MetaEntry("language", "fr"),
        MetaEntry("id", "film-1"),
        MetaEntry("slug", "the-film"),
        MetaEntry("release_year", 2019),
        MetaEntry("rating", "6.785/10"),
        MetaEntry("runtime", 97),
        MetaEntry("restored", True),
    ]
    assert draft.warnings == []
    article = parse_article(document(author="Doe, Jane"), format="json").article
    assert article.authors == ("Doe, Jane",)


@pytest.mark.parametrize(
    ("rating", "expected"),
    [
        ({"value": 7.25, "scale": 10}, Rating(7.25, 10.0)),
        ({"value": 4}, Rating(4.0, 10.0)),
        ({"value": 85, "scale": 100}, Rating(85.0, 100.0)),
        ("6.785/10", Rating(6.785, 10.0)),
        ("4 out of 5", Rating(4.0, 5.0)),
        (8.5, Rating(8.5, 10.0)),
        (72, Rating(72.0, 100.0)),
    ],
)
def test_the_three_shapes_of_a_rating(rating: object, expected: Rating) -> None:
    article = parse_article(document(metadata={"rating": rating}), format="json").article
    assert article.metadata.rating == expected


def test_sections_with_paragraphs_or_a_body_split_at_blank_lines() -> None:
    draft = parse_json(
        document(
            sections=[
                {"heading": "One", "paragraphs": ["a", "b"]},
                {"heading": " Two ", "body": "First.\n\n \nSecond\nline.\r\n\r\nThird."},
                {"body": "Untitled."},
                {"heading": "Empty"},
            ]
        )
    )
    assert draft.sections == [
        DraftSection("One", ["a", "b"]),
        DraftSection("Two", ["First.", "Second\nline.", "Third."]),
        DraftSection("", ["Untitled."]),
        DraftSection("Empty", []),
    ]


def test_null_fields_count_as_absent() -> None:
    draft = parse_json(
        document(description=None, authors=None, metadata={"runtime": None}, sections=None)
    )
    assert draft.meta == []
    assert draft.sections == []
    assert [w.code for w in draft.warnings] == ["no_description"]


# ------------------------------------------------------------------- unknown fields


def test_unknown_fields_are_ignored_with_one_warning() -> None:
    result = parse_article(read("unknown-fields.json").encode(), format="json")
    assert [(w.code, w.message) for w in result.warnings] == [
        ("unknown_field", 'unknown fields ignored: "format", "body", "director"')
    ]
    article = result.article
    assert article.metadata.release_year == 2017
    assert article.metadata.extra == {"runtime": "97", "restored": "true"}
    assert article.sections[0].paragraphs == ("First paragraph.", "Second paragraph still second.")


def test_many_unknown_fields_are_summarized() -> None:
    fields = {f"extra{i}": i for i in range(25)}
    draft = parse_json(json.dumps({"title": "T", "description": "D", **fields}))
    (warning,) = draft.warnings
    assert warning.message.endswith('"extra9" and 15 more')


def test_the_http_envelope_is_not_this_formats_business() -> None:
    error = refused(json.dumps({"format": "markdown", "body": "# Title\n\nText."}))
    assert error.problem == "no_title"


# -------------------------------------------------------------------------- types


def test_a_wrong_type_names_its_json_path() -> None:
    error = refused(read("wrong-types.json"))
    assert error.problem == "invalid_field"
    assert str(error) == "$.sections[2].heading: expected str, got int"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": 5}, "$.title: expected str, got int"),
        ({"description": ["x"]}, "$.description: expected str, got array"),
        ({"authors": ["a", 3]}, "$.authors[1]: expected str, got int"),
        ({"authors": "A. Writer"}, "$.authors: expected array, got str"),
        ({"tags": {"a": 1}}, "$.tags: expected array, got object"),
        ({"published": 20240501}, "$.published: expected str, got int"),
        ({"sections": {"heading": "x"}}, "$.sections: expected array, got object"),
        ({"sections": [{"heading": "x", "paragraphs": [1]}]}, "$.sections[0].paragraphs[0]"),
        ({"sections": [{"title": "x"}]}, "$.sections[0]: object contains unknown field title"),
        ({"sections": ["text"]}, "$.sections[0]: expected object, got str"),
        ({"metadata": ["x"]}, "$.metadata: expected object, got array"),
        ({"metadata": {"release_year": "2021"}}, "$.metadata.release_year: expected int"),
        ({"metadata": {"release_year": 2021.5}}, "$.metadata.release_year: expected int"),
        ({"metadata": {"rating": [7]}}, "$.metadata.rating: expected"),
        ({"metadata": {"rating": {"value": "x"}}}, "$.metadata.rating.value: expected float"),
        ({"metadata": {"rating": {"value": 1, "of": 5}}}, "contains unknown field of"),
        ({"metadata": {"cast": ["A", "B"]}}, "$.metadata.cast: expected"),
        ({"metadata": {"odd key": {}}}, '$.metadata["odd key"]: expected'),
    ],
)
def test_field_types_are_strict(fields: dict[str, object], message: str) -> None:
    error = refused(json.dumps({"title": "T", **fields}))
    assert error.problem == "invalid_field"
    assert message in str(error)


def test_a_number_out_of_range_names_its_path() -> None:
    error = refused('{"title": "T", "metadata": {"huge": 1e400}}')
    assert str(error) == "$.metadata.huge: number out of range"


def test_paragraphs_and_body_together_are_refused() -> None:
    error = refused(document(sections=[{"heading": "a"}, {"body": "x", "paragraphs": ["y"]}]))
    assert str(error) == '$.sections[1]: has both "paragraphs" and "body"; give one of them'


@pytest.mark.parametrize("title", [None, "", "   "])
def test_a_missing_or_blank_title_is_refused(title: object) -> None:
    fields = {} if title is None else {"title": title}
    assert refused(json.dumps({"description": "d", **fields})).problem == "no_title"


# ---------------------------------------------------------------------- malformed


def test_malformed_json_reports_line_and_column() -> None:
    error = refused(read("malformed.json"))
    assert error.problem == "invalid_json"
    assert error.line == 4
    assert str(error) == "line 4: invalid JSON at column 48: trailing comma in array"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"title": "T"', "the document ends too early"),
        ('{"title": "T"} extra', "trailing characters"),
        ("{'title': 'T'}", "column 2: object keys must be strings"),
        ('{"title": "caf\u00e9", x}', "column 19"),
        ("[1, 2, 3]", "expected a JSON object with the article's fields, got array"),
        ('"just a string"', "got str"),
        ("null", "got null"),
        ("42", "got int"),
    ],
)
def test_not_a_json_object_is_invalid_json(text: str, message: str) -> None:
    error = refused(text)
    assert error.problem == "invalid_json"
    assert message in str(error)


def test_unpaired_surrogates_are_an_encoding_error() -> None:
    assert refused('{"title": "\ud800"}').problem == "encoding"


def test_whitespace_only_is_empty() -> None:
    assert refused(" \n ").problem == "empty"


# ------------------------------------------------------------------- huge and deep


@pytest.mark.parametrize(
    "text",
    [
        '{"title": "T", "unknown": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"title": "T", "metadata": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}",
        '{"title": "T", "sections": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "[" * 1_000_000,
        '{"a":' * 200_000,
    ],
)
def test_deep_nesting_is_refused_not_crashed(text: str) -> None:
    error = refused(text)
    assert error.problem in ("invalid_json", "invalid_field")


def test_huge_arrays_stay_fast() -> None:
    text = json.dumps(
        {
            "title": "Huge",
            "ignored": list(range(50_000)),
            "tags": [f"tag{i}" for i in range(20_000)],
            "sections": [{"heading": f"S{i}", "paragraphs": [f"p{i}"]} for i in range(5_000)],
        }
    )
    draft = parse_json(text)
    assert len(draft.sections) == 5_000
    with pytest.raises(InputError, match="20,000 tags; at most 200"):
        parse_article(text, format="json")
    fewer = json.loads(text) | {"tags": [f"tag{i}" for i in range(200)]}
    article = parse_article(json.dumps(fewer), format="json").article
    assert len(article.sections) == 5_000
    assert len(article.tags) == 200


# ----------------------------------------------------------------------- properties

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
field_names = st.sampled_from(
    ["title", "description", "id", "slug", "url", "author", "authors", "published", "updated",
     "tags", "categories", "language", "metadata", "sections", "heading", "body", "paragraphs",
     "release_year", "rating", "value", "scale", "other"]
)  # fmt: skip
article_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(field_names, children, max_size=6)
    ),
    max_leaves=40,
)


@given(st.text())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_arbitrary_text_raises_nothing_but_input_errors(text: str) -> None:
    with contextlib.suppress(InputError):
        parse_json(text)


@given(json_values)
@settings(max_examples=300)
def test_any_json_value_raises_nothing_but_input_errors(value: object) -> None:
    with contextlib.suppress(InputError):
        parse_json(json.dumps(value))


@given(st.dictionaries(field_names, article_like, max_size=8))
@settings(max_examples=400)
def test_article_shaped_objects_raise_nothing_but_input_errors(fields: dict[str, object]) -> None:
    with contextlib.suppress(InputError):
        parse_article(json.dumps({"title": "T", **fields}), format="json")
