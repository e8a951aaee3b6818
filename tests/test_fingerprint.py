"""The content hash ignores cosmetic edits and sees every changed word."""

from __future__ import annotations

import unicodedata

import pytest

from worker.core.pipeline import parse_article

BASE = """The Glass Orchard (2012): Ending Explained
Why the orchard burns, and who lit it.
Release Year: 2012
Rating: 8.1/10
Author: Noor Haddád
Quick Recap
Elena inherits an orchard of glass trees and a debt she "cannot repay".
Her brother says the trees were never hers — they belong to the town.
The Ending
She sets the orchard alight at dawn, and the town watches in silence.
"""


def digest(text: str) -> str:
    return parse_article(text.encode("utf-8"), format="text").article.content_hash


COSMETIC = [
    pytest.param(BASE.replace("\n", "\r\n"), id="crlf"),
    pytest.param(BASE.replace(" and ", "  and  "), id="spaces"),
    pytest.param(BASE.replace('"cannot repay"', "“cannot repay”"), id="curly-quotes"),
    pytest.param(BASE.replace(" — ", " - "), id="dash-style"),
    pytest.param(BASE.replace("Quick Recap", "QUICK RECAP"), id="heading-case"),
    pytest.param(BASE.replace("The Ending\n", "The ending\n\n"), id="heading-case-blank-line"),
    pytest.param(BASE.replace("\n", "\n\n"), id="blank-lines"),
    pytest.param("\ufeff" + BASE, id="bom"),
    pytest.param(unicodedata.normalize("NFD", BASE), id="decomposed-accents"),
]

SEMANTIC = [
    pytest.param(BASE.replace("at dawn", "at dusk"), id="one-word"),
    pytest.param(BASE.replace("silence.", "silence!"), id="punctuation"),
    pytest.param(BASE.replace("Quick Recap", "Short Recap"), id="heading-word"),
    pytest.param(BASE.replace("8.1/10", "8.2/10"), id="rating"),
    pytest.param(BASE.replace("Noor Haddád", "Noor Hadad"), id="author"),
    pytest.param(BASE.replace("Why the orchard", "Why this orchard"), id="description"),
    pytest.param(BASE.replace("Elena inherits", "elena inherits"), id="paragraph-case"),
]


@pytest.mark.parametrize("variant", COSMETIC)
def test_cosmetic_changes_keep_the_hash(variant: str) -> None:
    assert digest(variant) == digest(BASE)


@pytest.mark.parametrize("variant", SEMANTIC)
def test_real_changes_change_the_hash(variant: str) -> None:
    assert variant != BASE
    assert digest(variant) != digest(BASE)


def test_the_hash_does_not_depend_on_the_input_format() -> None:
    markdown = BASE.replace("The Glass Orchard", "# The Glass Orchard", 1)
    markdown = markdown.replace("Quick Recap", "## Quick Recap").replace(
        "The Ending", "## The Ending"
    )
    markdown = markdown.replace("\n", "\n\n")
    assert parse_article(markdown.encode(), format="markdown").article.content_hash == digest(BASE)
