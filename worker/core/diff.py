"""What changed between two versions of an article, for update events.

Sections are matched by heading (case-insensitive, as the content hash sees them);
a section counts as changed when its heading is new, gone, or its paragraphs differ.
"""

from __future__ import annotations

from dataclasses import dataclass

from worker.core.model import Article, Section


@dataclass(frozen=True, slots=True)
class ArticleChanges:
    """Section headings added, removed and edited, plus whether the header changed."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    edited: tuple[str, ...]
    header_changed: bool

    @property
    def changed_sections(self) -> tuple[str, ...]:
        """Every heading that is new, gone or edited, in article order (new first)."""
        return (*self.edited, *self.added, *self.removed)


def compare(old: Article, new: Article) -> ArticleChanges:
    """The differences between ``old`` and ``new`` content."""
    before = _by_heading(old.sections)
    after = _by_heading(new.sections)
    added = tuple(section.heading for key, section in after.items() if key not in before)
    removed = tuple(section.heading for key, section in before.items() if key not in after)
    edited = tuple(
        section.heading
        for key, section in after.items()
        if key in before and before[key].paragraphs != section.paragraphs
    )
    header_changed = (
        old.title != new.title
        or old.description != new.description
        or old.authors != new.authors
        or old.tags != new.tags
        or old.metadata != new.metadata
    )
    return ArticleChanges(added, removed, edited, header_changed)


def _by_heading(sections: tuple[Section, ...]) -> dict[str, Section]:
    found: dict[str, Section] = {}
    for section in sections:
        found.setdefault(section.heading.casefold(), section)
    return found
