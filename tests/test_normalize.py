"""Normalization: decoding, cleaning, XML safety, slugs."""

from __future__ import annotations

import codecs
import contextlib
import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.core.errors import InputError
from worker.core.normalize import clean_inline, decode_input, slugify

XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "empty"),
        (b"  \n\t\r\n ", "empty"),
        (b"%PDF-1.7 binary", "binary"),
        (b"Title\x00\x00\x00", "binary"),
        (bytes(range(0, 32)) * 10, "binary"),
        (b"Title\nBody \xff\xfe broken", "encoding"),
    ],
)
def test_bad_bytes_are_typed_errors(data: bytes, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        decode_input(data)
    assert caught.value.problem == problem


def test_invalid_utf8_names_the_line() -> None:
    with pytest.raises(InputError) as caught:
        decode_input(b"Title\nline two\nbad \xc3\x28 here")
    assert caught.value.line == 3
    assert "0xc3" in str(caught.value)


def test_bom_and_line_endings() -> None:
    assert decode_input(codecs.BOM_UTF8 + b"A\r\nB\rC\n") == "A\nB\nC\n"
    assert decode_input("Título\r\n".encode("utf-16")) == "Título\n"


def test_nfc_and_whitespace() -> None:
    decomposed = unicodedata.normalize("NFD", "Café  crème\t brûlée ")
    assert clean_inline(decomposed) == "Café crème brûlée"


def test_curly_quotes_dashes_and_no_break_spaces_are_kept() -> None:
    text = "“Bye Bye Bye” — she said it’s over\u00a0!"
    assert clean_inline(text) == text


def test_mojibake_is_repaired() -> None:
    assert clean_inline("The cafÃ© was â€œfullâ€\x9d") == "The café was “full”"


def test_control_bidi_and_zero_width_characters_are_removed() -> None:
    dirty = "Ti\x00t\x07le\u202e gnp.exe\u200b \ufeffend\x1b"
    assert clean_inline(dirty) == "Title gnp.exe end"


def test_zero_width_joiner_in_emoji_is_kept() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert clean_inline(family) == family


@given(st.text())
def test_cleaned_text_is_always_valid_xml_1_0(text: str) -> None:
    cleaned = clean_inline(text)
    assert not XML_INVALID.search(cleaned)
    assert cleaned == cleaned.strip()
    assert unicodedata.is_normalized("NFC", cleaned)


@given(st.binary(max_size=2048))
def test_decoding_arbitrary_bytes_raises_only_input_errors(data: bytes) -> None:
    with contextlib.suppress(InputError):
        decode_input(data)


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Red Rocket (2021): Ending Explained", "red-rocket-2021-ending-explained"),
        ("Amélie & the Café", "amelie-and-the-cafe"),
        ("  --  ", ""),
        ("東京物語", ""),
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_long_slugs_are_cut_at_a_word_boundary() -> None:
    slug = slugify("word " * 40)
    assert len(slug) <= 80 and not slug.endswith("-") and slug.endswith("word")
