"""Sentence splitting: abbreviations, numbers, quotes, brackets and tokenized lowercase text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.core.sentences import split_sentences

CASES: list[tuple[str, list[str]]] = [
    # plain prose
    ("The cat sat. The dog ran.", ["The cat sat.", "The dog ran."]),
    ("no terminal punctuation here", ["no terminal punctuation here"]),
    # abbreviations that precede names or numbers never end a sentence
    (
        "Mr. Smith met Dr. Jones at noon. They talked.",
        ["Mr. Smith met Dr. Jones at noon.", "They talked."],
    ),
    (
        "Mrs. Patel lives on St. Anne Street. She walks daily.",
        ["Mrs. Patel lives on St. Anne Street.", "She walks daily."],
    ),
    (
        "Prof. Ito and Gen. Ward met Sgt. Cole at the base. Nobody else came.",
        ["Prof. Ito and Gen. Ward met Sgt. Cole at the base.", "Nobody else came."],
    ),
    (
        "It was Lyon vs. Porto last night. Lyon won.",
        ["It was Lyon vs. Porto last night.", "Lyon won."],
    ),
    (
        "The meeting on Jan. 12 moved to Feb. 3 at No. 10 Main Road. Everyone agreed.",
        ["The meeting on Jan. 12 moved to Feb. 3 at No. 10 Main Road.", "Everyone agreed."],
    ),
    (
        "The hall holds approx. 300 people. It was full.",
        ["The hall holds approx. 300 people.", "It was full."],
    ),
    (
        "Use a tool, e.g. a hammer, for this. It helps.",
        ["Use a tool, e.g. a hammer, for this.", "It helps."],
    ),
    ("Pick one, i.e. the red box. Then leave.", ["Pick one, i.e. the red box.", "Then leave."]),
    # abbreviations that may end a sentence
    (
        "Bring pens, paper, etc. The shop opens at nine.",
        ["Bring pens, paper, etc.", "The shop opens at nine."],
    ),
    ("Bring pens, paper, etc. and a ruler.", ["Bring pens, paper, etc. and a ruler."]),
    (
        "Shares of Acme Inc. rose today. Bolt Ltd. and Brick Co. fell.",
        ["Shares of Acme Inc. rose today.", "Bolt Ltd. and Brick Co. fell."],
    ),
    (
        "Ralph Ames Jr. was elected. Ames Jr. He thanked everyone.",
        ["Ralph Ames Jr. was elected.", "Ames Jr.", "He thanked everyone."],
    ),
    ("The U.S. Navy sent a ship. It arrived.", ["The U.S. Navy sent a ship.", "It arrived."]),
    (
        "She moved to the U.K. The weather surprised her.",
        ["She moved to the U.K.", "The weather surprised her."],
    ),
    ("We met at 5 p.m. The talk began.", ["We met at 5 p.m.", "The talk began."]),
    ("Call at 5 p.m. tomorrow. Thanks.", ["Call at 5 p.m. tomorrow.", "Thanks."]),
    # initials
    ("J. R. R. Tolkien wrote it. Many read it.", ["J. R. R. Tolkien wrote it.", "Many read it."]),
    (
        "Sean M. Baker directed. The cast was small.",
        ["Sean M. Baker directed.", "The cast was small."],
    ),
    ("We chose plan B. The rest agreed.", ["We chose plan B.", "The rest agreed."]),
    # numbers, decimals, ratios, versions
    (
        "The film scored 6.785/10 on the site. Tickets cost $3.50 each.",
        ["The film scored 6.785/10 on the site.", "Tickets cost $3.50 each."],
    ),
    (
        "Upgrade to v2.1 now. The old release is gone.",
        ["Upgrade to v2.1 now.", "The old release is gone."],
    ),
    ("He counted to 3. 4 more came.", ["He counted to 3.", "4 more came."]),
    # ellipses, question and exclamation marks
    ("Well... maybe not today. Try again.", ["Well... maybe not today.", "Try again."]),
    ("He waited… Nobody came.", ["He waited…", "Nobody came."]),
    ("Are you sure? Yes! Let us go.", ["Are you sure?", "Yes!", "Let us go."]),
    ("Really?! That is odd.", ["Really?!", "That is odd."]),
    # quotes
    ('He said "Go." Then he left.', ['He said "Go."', "Then he left."]),
    ("She said “Stop.” He stopped.", ["She said “Stop.”", "He stopped."]),
    ("They wrote ‘Done.’ Nobody replied.", ["They wrote ‘Done.’", "Nobody replied."]),
    ('"Why?" she asked. He shrugged.', ['"Why?" she asked.', "He shrugged."]),
    ('It ended. "Never again," she said.', ["It ended.", '"Never again," she said.']),
    # brackets
    ("(See the map.) The road is closed.", ["(See the map.)", "The road is closed."]),
    ("He left. (He came back later.) Fine.", ["He left.", "(He came back later.)", "Fine."]),
    # URLs, e-mail addresses, dashes
    (
        "Visit https://example.org/a.b?c=1 for details. Then reply.",
        ["Visit https://example.org/a.b?c=1 for details.", "Then reply."],
    ),
    (
        "Write to jane.doe@example.com today. We answer fast.",
        ["Write to jane.doe@example.com today.", "We answer fast."],
    ),
    ("See example.org. It has docs.", ["See example.org.", "It has docs."]),
    (
        "The plan — bold, new — failed. Nobody was surprised.",
        ["The plan — bold, new — failed.", "Nobody was surprised."],
    ),
    ("It rained—again. We stayed in.", ["It rained—again.", "We stayed in."]),
    # paragraphs and whitespace
    (
        "  First line here.\n\nSecond paragraph  ",
        ["First line here.", "Second paragraph"],
    ),
    ("Intro\n\nThe text starts here.", ["Intro", "The text starts here."]),
    ("A line\nwraps here. Next one.", ["A line\nwraps here.", "Next one."]),
    ("...", ["..."]),
    # text without any uppercase letter: lowercase starts, tokenized punctuation
    ("hi there. how are you? fine.", ["hi there.", "how are you?", "fine."]),
    ("the man said . he left .", ["the man said .", "he left ."]),
    (
        "he said : `` go now . '' then he left .",
        ["he said : `` go now . ''", "then he left ."],
    ),
    (
        "she wrote : ' we won . ' the fans cheered .",
        ["she wrote : ' we won . '", "the fans cheered ."],
    ),
    (
        "' we won . we are happy . ' the team said .",
        ["' we won .", "we are happy . '", "the team said ."],
    ),
    (
        "the players ' wives waved . ' it was great . ' they left .",
        ["the players ' wives waved .", "' it was great . '", "they left ."],
    ),
    (
        "the river -lrb- the longest one -rrb- flooded . roads closed .",
        ["the river -lrb- the longest one -rrb- flooded .", "roads closed ."],
    ),
    (
        "a storm hit . -lrb- see below . -rrb- it passed .",
        ["a storm hit .", "-lrb- see below . -rrb-", "it passed ."],
    ),
    ("mr. lee met dr. park . they talked .", ["mr. lee met dr. park .", "they talked ."]),
    ("the u.s. team won . fans cheered .", ["the u.s. team won .", "fans cheered ."]),
    ("i was ... surprised . we left .", ["i was ... surprised .", "we left ."]),
    ("it cost 3.50 pounds . it was 9/10 .", ["it cost 3.50 pounds .", "it was 9/10 ."]),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[case[0][:40] for case in CASES])
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t "])
def test_blank_text_has_no_sentences(text: str) -> None:
    assert split_sentences(text) == []


@given(st.text(alphabet=st.sampled_from(list("aB .?!'\"“”()\n-…1")), max_size=200))
def test_sentences_are_stripped_substrings_in_order(text: str) -> None:
    sentences = split_sentences(text)
    position = 0
    for sentence in sentences:
        assert sentence
        assert sentence == sentence.strip()
        found = text.find(sentence, position)
        assert found >= 0
        position = found + len(sentence)


@given(st.text(max_size=300))
def test_no_text_is_lost(text: str) -> None:
    sentences = split_sentences(text)
    assert "".join("".join(s.split()) for s in sentences) == "".join(text.split())
    assert split_sentences(text) == sentences
