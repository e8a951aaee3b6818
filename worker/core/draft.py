"""What a format parser hands to the builder: raw, un-normalized article parts.

Each input format (text, Markdown, HTML, JSON) only finds the parts; the builder
(:mod:`worker.core.build`) normalizes text, interprets metadata, derives ids and
summaries the same way for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from worker.core.errors import ParseWarning

#: A metadata value as found: text from ``Key: Value`` lines, or typed from JSON/YAML.
MetaValue = str | int | float | bool | list[object] | dict[str, object] | None


@dataclass(frozen=True, slots=True)
class MetaEntry:
    """One metadata entry, e.g. ``Release Year: 2021`` found on line 3."""

    key: str
    value: MetaValue
    line: int | None = None


@dataclass(slots=True)
class DraftSection:
    """A heading and its paragraphs as found in the input."""

    heading: str
    paragraphs: list[str] = field(default_factory=list)
    line: int | None = None


@dataclass(slots=True)
class Draft:
    """An article's parts as found in one input document."""

    title: str
    title_line: int | None = None
    description: str = ""
    meta: list[MetaEntry] = field(default_factory=list)
    sections: list[DraftSection] = field(default_factory=list)
    warnings: list[ParseWarning] = field(default_factory=list)
