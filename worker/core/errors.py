"""The error tree of syndicate.

    SyndicateError            base of every error syndicate raises on purpose
    └── InputError            an article that cannot be accepted (bad bytes, no title, ...)

Callers at the edges map these to exit codes (CLI: 2) and HTTP statuses (422/413).
Warnings about accepted-but-odd input are plain data (:class:`ParseWarning`), not
exceptions: the article is kept and the warnings travel with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

InputProblem = Literal[
    "empty",
    "too_large",
    "binary",
    "encoding",
    "no_title",
    "invalid_json",
    "invalid_field",
    "too_many_sections",
    "too_complex",
    "unknown_format",
]


class SyndicateError(Exception):
    """Base class of every error syndicate raises deliberately."""


class InputError(SyndicateError):
    """The input is not an acceptable article.

    ``problem`` is a stable machine-readable code, ``line`` the 1-based line where the
    problem was found when there is one. ``str(error)`` is a single human-readable line.
    """

    def __init__(self, problem: InputProblem, message: str, line: int | None = None) -> None:
        self.problem: InputProblem = problem
        self.detail = message
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


WarningCode = Literal[
    "no_description",
    "no_metadata",
    "no_sections",
    "empty_section",
    "untitled_section",
    "bad_metadata_value",
    "unknown_field",
    "mojibake_fixed",
    "characters_removed",
]


@dataclass(frozen=True, slots=True)
class ParseWarning:
    """Something odd about accepted input, worth telling the sender."""

    code: WarningCode
    message: str
    line: int | None = None

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line is not None else self.message
