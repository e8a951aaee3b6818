"""From a :class:`Draft` to a finished :class:`Article`: clean, interpret, derive, summarize."""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec

from worker.core.draft import Draft, DraftSection
from worker.core.errors import InputError, ParseWarning
from worker.core.fingerprint import content_hash
from worker.core.metadata import Fields, interpret
from worker.core.model import Article, Section
from worker.core.normalize import clean_inline, collapse_spaces, has_removable, slugify
from worker.core.options import CoreOptions
from worker.core.summarize import summarize_article

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$")


@dataclass(frozen=True, slots=True)
class ParseResult:
    """A parsed article and the warnings about its input."""

    article: Article
    warnings: tuple[ParseWarning, ...] = field(default_factory=tuple)
    format: str = ""


class _Cleaner:
    """Cleans strings and remembers whether any had characters removed."""

    def __init__(self) -> None:
        self.removed_characters = False

    def __call__(self, text: str) -> str:
        if not self.removed_characters and has_removable(text):
            self.removed_characters = True
        return clean_inline(text)


#: Letters that render as blank space (Hangul fillers), besides format and mark characters.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Mn", "Me", "Zs", "Zl", "Zp", "Cc"})


def _visible(text: str) -> bool:
    """Whether any character of ``text`` shows (a title of joiners or fillers does not)."""
    return any(
        ch not in _BLANK_LETTERS and unicodedata.category(ch) not in _INVISIBLE_CATEGORIES
        for ch in text
    )


def build_article(draft: Draft, options: CoreOptions) -> ParseResult:
    """Normalize and complete a draft; raises :class:`InputError` when it has no title."""
    clean = _Cleaner()
    fields = interpret(draft.meta)
    for kind, names in (("authors", fields.authors), ("tags", fields.tags)):
        if len(names) > options.max_names:
            raise InputError(
                "invalid_field",
                f"the article has {len(names):,} {kind}; at most {options.max_names} are accepted",
            )
    warnings = [*draft.warnings, *fields.warnings]
    title = clean(draft.title or fields.title or "")
    if not _visible(title):
        raise InputError("no_title", "the article has no title", line=draft.title_line)
    description = clean(draft.description or fields.description or "")
    sections = _clean_sections(draft.sections, clean, options, warnings)
    article = _assemble(
        title=title,
        description=description,
        fields=fields,
        sections=sections,
        clean=clean,
        options=options,
    )
    if clean.removed_characters:
        warnings.append(
            ParseWarning("characters_removed", "control or invisible characters were removed")
        )
    return ParseResult(article, tuple(warnings))


def _clean_sections(
    drafts: list[DraftSection],
    clean: _Cleaner,
    options: CoreOptions,
    warnings: list[ParseWarning],
) -> list[Section]:
    if len(drafts) > options.max_sections:
        raise InputError(
            "too_many_sections",
            f"the article has {len(drafts)} sections; the limit is {options.max_sections}",
        )
    sections: list[Section] = []
    empty: list[DraftSection] = []
    for draft in drafts:
        heading = clean(draft.heading)
        paragraphs = tuple(text for paragraph in draft.paragraphs if (text := clean(paragraph)))
        if not heading and not paragraphs:
            continue
        if not paragraphs:
            empty.append(draft)
        sections.append(Section(heading=heading, paragraphs=paragraphs))
    _warn_about_sections(sections, empty, warnings)
    return sections


def _warn_about_sections(
    sections: list[Section], empty: list[DraftSection], warnings: list[ParseWarning]
) -> None:
    if not sections:
        warnings.append(ParseWarning("no_sections", "the article has no sections"))
    elif not any(section.heading for section in sections):
        warnings.append(
            ParseWarning("no_sections", "no section headings found; one untitled section")
        )
    if empty:
        count = f"{len(empty)} sections have" if len(empty) > 1 else "a section has"
        warnings.append(
            ParseWarning("empty_section", f"{count} a heading but no paragraphs", empty[0].line)
        )


def _assemble(
    *,
    title: str,
    description: str,
    fields: Fields,
    sections: list[Section],
    clean: _Cleaner,
    options: CoreOptions,
) -> Article:
    authors = _unique(clean(name) for name in fields.authors)
    tags = _unique(clean(tag) for tag in fields.tags)
    metadata = fields.metadata
    if metadata.extra:
        cleaned_extra = {clean(key): clean(value) for key, value in metadata.extra.items()}
        metadata = type(metadata)(metadata.release_year, metadata.rating, cleaned_extra)
    slug = slugify(fields.slug or title) or _fallback_slug(title)
    words = _count_words(description, sections)
    sections, summary = _summarized(title, sections, options)
    return Article(
        id=_article_id(fields.id, slug),
        slug=slug,
        title=title,
        description=description,
        url=fields.url,
        authors=authors,
        published=fields.published,
        updated=fields.updated,
        metadata=metadata,
        tags=tags,
        language=fields.language or options.default_language,
        word_count=words,
        reading_time_minutes=max(1, math.ceil(words / options.words_per_minute)),
        sections=tuple(sections),
        summary=summary or description,
        content_hash=content_hash(
            title=title,
            description=description,
            authors=authors,
            tags=tags,
            metadata=metadata,
            sections=sections,
        ),
    )


def _summarized(
    title: str, sections: list[Section], options: CoreOptions
) -> tuple[list[Section], str]:
    """Sections with their summaries, and the article summary (empty when switched off)."""
    if not options.summaries:
        return sections, ""
    section_summaries, summary = summarize_article(
        [section.paragraphs for section in sections],
        headings=[section.heading for section in sections],
        title=title,
        section_chars=options.section_summary_chars,
        section_sentences=options.section_summary_sentences,
        sentences=options.article_summary_sentences,
        max_chars=options.article_summary_chars,
    )
    summarized = [
        msgspec.structs.replace(section, summary=text)
        for section, text in zip(sections, section_summaries, strict=True)
    ]
    return summarized, summary


def _article_id(given: str | None, slug: str) -> str:
    if given is None:
        return slug
    given = given.strip()
    if not _ID.match(given):
        raise InputError(
            "invalid_field",
            "id must be 1-128 characters of letters, digits and . _ ~ - "
            "(starting with a letter or digit)",
        )
    return given


def _fallback_slug(title: str) -> str:
    """Titles with no ASCII letters (e.g. CJK) get a stable hash-based slug."""
    return "article-" + hashlib.sha256(title.encode("utf-8")).hexdigest()[:12]


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for item in items:
        if item and item.casefold() not in seen:
            seen[item.casefold()] = item
    return tuple(seen.values())


def _count_words(description: str, sections: list[Section]) -> int:
    """Whitespace-separated words of the description, headings and paragraphs."""
    total = _words(description)
    for section in sections:
        total += _words(section.heading)
        total += sum(map(_words, section.paragraphs))
    return total


def _words(text: str) -> int:
    """``len(text.split())``, without making the words of a text that is already clean."""
    collapsed = collapse_spaces(text)  # words separated by single spaces
    return collapsed.count(" ") + 1 if collapsed else 0
