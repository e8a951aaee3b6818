"""Limits and knobs of the pure core, as plain data (built from settings at the edges)."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class CoreOptions:
    """How articles are parsed and summarized."""

    max_input_bytes: int = MIB
    max_sections: int = 10_000
    #: Authors and tags each name a feed and a category of every entry; thousands of
    #: them would make rendering slow (feedgen is quadratic in categories).
    max_names: int = 200
    section_summary_chars: int = 320
    section_summary_sentences: int = 2
    article_summary_sentences: int = 3
    article_summary_chars: int = 1_000
    default_language: str = "en"
    words_per_minute: int = 238
    #: False skips the summaries (left empty): enough to validate and identify an
    #: article, as the API does before queuing it, at half the cost.
    summaries: bool = True


DEFAULT_OPTIONS = CoreOptions()
