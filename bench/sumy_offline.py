"""sumy baselines that run offline: our sentence splitter and regex words instead of NLTK."""

from __future__ import annotations

import re
from collections.abc import Callable

from sumy.nlp.stemmers import Stemmer
from sumy.parsers.plaintext import PlaintextParser
from sumy.summarizers.lex_rank import LexRankSummarizer
from sumy.summarizers.text_rank import TextRankSummarizer
from sumy.utils import get_stop_words

from worker.core.sentences import split_sentences

Summarizer = Callable[[str, int], list[str]]


class OfflineTokenizer:
    """sumy tokenizer that needs no NLTK downloads: our sentence splitter, regex words."""

    language = "english"
    _WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['-])*")

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        return tuple(split_sentences(paragraph))

    def to_words(self, sentence: str) -> tuple[str, ...]:
        return tuple(self._WORD.findall(sentence))


def sumy_summarizer(summarizer_class: type[LexRankSummarizer | TextRankSummarizer]) -> Summarizer:
    """``run(text, sentences)`` with the given sumy algorithm, English stemmer and stop words."""
    summarizer = summarizer_class(Stemmer("english"))
    summarizer.stop_words = get_stop_words("english")
    tokenizer = OfflineTokenizer()

    def run(text: str, sentences: int) -> list[str]:
        parser = PlaintextParser.from_string(text, tokenizer)
        return [str(sentence) for sentence in summarizer(parser.document, sentences)]

    return run


LEXRANK = LexRankSummarizer
TEXTRANK = TextRankSummarizer
