"""The plain-text format: the shared sample, the bundled example and the edge cases."""

from __future__ import annotations

import pytest

from tests.conftest import FIXTURES
from worker.core.errors import InputError
from worker.core.formats.text import parse_text
from worker.core.model import Rating
from worker.core.pipeline import parse_article

SAMPLE_HEADINGS = [
    "Quick Recap",
    "What Happens in the Ending",
    "The Meaning Behind the Ending",
    "Character Arcs and Resolution",
    "Alternate Interpretations",
    "Themes and Symbolism",
    "Final Thoughts",
]


def test_the_shared_sample_parses_into_its_seven_sections(sample_bytes: bytes) -> None:
    result = parse_article(sample_bytes, format="text")
    article = result.article
    assert article.title == "Red Rocket (2021): Ending Explained"
    assert article.description == "Comprehensive ending explained for red rocket (2021)."
    assert article.metadata.release_year == 2021
    assert article.metadata.rating == Rating(value=6.785, scale=10.0)
    assert article.authors == ("Ellis Carver",)
    assert [section.heading for section in article.sections] == SAMPLE_HEADINGS
    assert [len(section.paragraphs) for section in article.sections] == [2, 3, 2, 2, 1, 1, 1]
    assert all(section.summary for section in article.sections)
    assert result.warnings == ()


def test_the_sample_is_sniffed_as_text_and_survives_crlf_and_bom(sample_bytes: bytes) -> None:
    plain = parse_article(sample_bytes).article
    crlf = parse_article(b"\xef\xbb\xbf" + sample_bytes.replace(b"\n", b"\r\n")).article
    assert crlf == plain


def test_the_sample_without_blank_lines_or_with_them_parses_the_same(sample_bytes: bytes) -> None:
    spaced = sample_bytes.replace(b"\n", b"\n\n")
    assert parse_article(spaced).article == parse_article(sample_bytes).article


def test_the_bundled_example(example_bytes: bytes) -> None:
    article = parse_article(example_bytes).article
    assert article.id == "everwinter-2019-ending-explained"
    assert article.metadata.extra == {"Director": "Ilse Marrow", "Runtime": "118 min"}
    assert article.metadata.rating == Rating(7.4, 10.0)
    assert len(article.sections) == 6
    assert article.sections[0].paragraphs[2].startswith("The first hour is patient")


def test_blank_separated_and_hard_wrapped_text() -> None:
    data = (FIXTURES / "text" / "blank-separated-wrapped.txt").read_bytes()
    article = parse_article(data).article
    assert article.authors == ("Priya Nandakumar", "Tom Reyes")
    assert article.tags == ("drama", "mystery")
    assert article.language == "en-GB"
    assert article.metadata.rating == Rating(3.5, 5.0)
    assert article.metadata.extra == {"Country": "Portugal"}
    headings = [section.heading for section in article.sections]
    assert headings == ["Quick Recap", "Part 2: The Letter", "Was It All a Dream?"]
    recap = article.sections[0].paragraphs
    assert len(recap) == 2
    assert recap[0].startswith("Brother Anselm keeps") and recap[0].endswith("without a word.")
    assert "  " not in recap[0]


def test_an_unknown_key_followed_by_prose_is_a_heading() -> None:
    draft = parse_text(
        "A Title\nA description.\nAuthor: Someone\n"
        "Part 1: The Setup\nThe story opens on a train, late at night.\n"
    )
    assert [entry.key for entry in draft.meta] == ["Author"]
    assert draft.sections[0].heading == "Part 1: The Setup"


def test_unknown_keys_in_the_front_block_are_kept() -> None:
    draft = parse_text("A Title\nA description.\nStudio: North Pier\nRelease Year: 1999\nIntro\n")
    assert [(entry.key, entry.value) for entry in draft.meta] == [
        ("Studio", "North Pier"),
        ("Release Year", "1999"),
    ]


def test_no_metadata_no_description_and_no_sections_parse_with_warnings() -> None:
    result = parse_article(b"Just A Title\n")
    codes = {warning.code for warning in result.warnings}
    assert codes == {"no_description", "no_sections"}
    assert result.article.sections == ()
    assert result.article.summary == ""


def test_prose_without_headings_becomes_one_untitled_section() -> None:
    result = parse_article(b"Title\nA description.\nSome prose here. More prose.\nAnd more.\n")
    assert [section.heading for section in result.article.sections] == [""]
    assert "no_sections" in {warning.code for warning in result.warnings}


def test_headings_only() -> None:
    body = "\n".join(f"Heading Number {number}" for number in range(1, 40))
    result = parse_article(f"Title\nDescription here.\n{body}\n".encode())
    assert len(result.article.sections) == 39
    assert all(section.paragraphs == () for section in result.article.sections)
    empty = [warning for warning in result.warnings if warning.code == "empty_section"]
    assert len(empty) == 1 and "39 sections" in empty[0].message


def test_a_first_line_that_is_prose_is_not_a_title() -> None:
    with pytest.raises(InputError) as caught:
        parse_article(("word " * 100).encode())
    assert caught.value.problem == "no_title"
    assert caught.value.line == 1


def test_a_title_key_line_gives_the_title() -> None:
    assert (
        parse_article(b"Title: The Real Title\nA description.\n").article.title == "The Real Title"
    )


def test_bad_metadata_values_are_kept_as_text_with_a_warning() -> None:
    result = parse_article(b"Title\nDescription.\nRating: superb\nRelease Year: soon\n")
    assert result.article.metadata.rating is None
    assert result.article.metadata.extra == {"Rating": "superb", "Release Year": "soon"}
    lines = [warning.line for warning in result.warnings if warning.code == "bad_metadata_value"]
    assert lines == [3, 4]


@pytest.mark.parametrize(
    ("line", "is_heading"),
    [
        ("Quick Recap", True),
        ("What Happens in the Ending", True),
        ("Who Was Really Driving?", True),
        ("Is it over?", False),
        ("It ends here.", False),
        ("lowercase start", False),
        ("Red Rocket (2021)", True),
        ("A heading that goes on and on and on for far too many words to be one", False),
    ],
)
def test_heading_shape(line: str, is_heading: bool) -> None:
    draft = parse_text(f"Title\nDescription.\nFirst Section\nSome text.\n{line}\nMore text.\n")
    headings = [section.heading for section in draft.sections]
    assert (line in headings) is is_heading
