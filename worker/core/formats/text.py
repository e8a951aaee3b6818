"""The plain-text article format.

    Title line
    One-line description.
    Release Year: 2021
    Rating: 7.1/10
    Author: A. Writer
    Title line                      (optional repeat)
    First Heading
    A paragraph, one per line, or hard-wrapped over several lines.
    Second Heading
    ...

Blank lines may separate blocks or not. A line that does not end a sentence is
continued by the next line (hard-wrapped prose) unless a blank line intervenes.
See :mod:`worker.core.lines` for what makes a line a heading or metadata.
"""

from __future__ import annotations

from itertools import pairwise

from worker.core.draft import Draft, DraftSection
from worker.core.errors import InputError, ParseWarning
from worker.core.lines import Line, ends_sentence, looks_like_heading, match_metadata, read_front
from worker.core.metadata import canonical_key

_TITLE_MAX_CHARS = 300
_TITLE_MAX_WORDS = 40


def parse_text(text: str) -> Draft:
    """Parse the plain-text format; ``text`` is decoded, with ``\\n`` line endings."""
    raw_lines = text.split("\n")
    lines = [Line(line.strip(), number) for number, line in enumerate(raw_lines, 1) if line.strip()]
    if not lines:
        raise InputError("empty", "the input is only whitespace")
    title_line = _title_line(lines[0])
    front = read_front(lines[1:], title_line.text)
    draft = Draft(
        title=title_line.text,
        title_line=title_line.number,
        description=front.description,
        meta=front.meta,
    )
    body = lines[1 + front.body_start :]
    draft.sections = _read_sections(body, _blank_after(raw_lines))
    if not front.description:
        draft.warnings.append(ParseWarning("no_description", "no description line after the title"))
    return draft


def _title_line(first: Line) -> Line:
    pair = match_metadata(first.text)
    if pair is not None and canonical_key(pair[0]) == "title":
        return Line(pair[1], first.number)
    if len(first.text) > _TITLE_MAX_CHARS or len(first.text.split()) > _TITLE_MAX_WORDS:
        raise InputError(
            "no_title",
            f"no title: the first line has {len(first.text)} characters; "
            "an article starts with a short title line",
            line=first.number,
        )
    return first


def _blank_after(raw_lines: list[str]) -> set[int]:
    """Line numbers that are followed by a blank line."""
    return {
        number
        for number, (line, following) in enumerate(pairwise(raw_lines), 1)
        if line.strip() and not following.strip()
    }


def _read_sections(body: list[Line], blank_after: set[int]) -> list[DraftSection]:
    sections: list[DraftSection] = []
    current: DraftSection | None = None
    continues = False
    for index, line in enumerate(body):
        if continues and current is not None:
            current.paragraphs[-1] += " " + line.text
        elif _is_heading(line, body[index + 1] if index + 1 < len(body) else None, blank_after):
            current = DraftSection(line.text, line=line.number)
            sections.append(current)
            continues = False
            continue
        else:
            if current is None:
                current = DraftSection("", line=line.number)
                sections.append(current)
            current.paragraphs.append(line.text)
        continues = not ends_sentence(line.text) and line.number not in blank_after
    return sections


def _is_heading(line: Line, following: Line | None, blank_after: set[int]) -> bool:
    """Heading-shaped, and not the first line of a hard-wrapped paragraph."""
    if not looks_like_heading(line.text):
        return False
    wrapped = (
        following is not None and line.number not in blank_after and following.text[:1].islower()
    )
    return not wrapped
