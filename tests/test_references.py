"""Sentences that begin with a reference to the one before: the rule and its edge cases."""

from __future__ import annotations

import pytest

from worker.core.references import (
    CONNECTIVES,
    POINTERS,
    PRONOUNS,
    depends_on_previous,
    title_name,
)


@pytest.mark.parametrize(
    "sentence",
    [
        "He rows back to the harbour alone.",
        "Her letter arrives a week too late.",
        "It's a patient film that trusts its audience.",
        "They're gone by the time the ferry docks.",
        "This is where the film turns.",
        "These scenes were shot in a single week.",
        "That night, the lamp fails for the first time.",
        "Such stories rarely end well.",
        "But the council votes the plan down.",
        "However, the engineers disagree.",
        "Also, the ferry is late.",
        "Meanwhile, the storm reaches the coast.",
        "But Mikey stays in town.",  # a connective before a name still leans on what came before
        "As a result, the bridge stays closed until spring.",
        "On the other hand, the budget is small.",
        "HE WAS RIGHT ALL ALONG.",  # all capitals: no sign of a name
        "he said the water was rising .",  # lower-cased, tokenized text
    ],
)
def test_sentences_that_lean_on_the_previous_one(sentence: str) -> None:
    assert depends_on_previous(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "The ferry leaves at dawn.",
        "Mara reads the missing pages aloud.",
        "As the bus pulls away, Mikey waves.",  # "as" alone is no connective
        "In his first film, the director already used long takes.",  # only the first word counts
        "Thistle grows along the cliff path.",  # a word that begins like "this"
        "Butler is the only witness.",
        "Henceforth the lamp burns all night.",
        "O'Brien runs the harbour café.",
        "",
        "  ",
        "— …",
    ],
)
def test_sentences_that_stand_on_their_own(sentence: str) -> None:
    assert not depends_on_previous(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        '"He never came back," Lexi says.',
        "“She knew all along,” the sheriff admits.",
        "‘They lied to us,’ Pavel writes.",
        "(He later denied it.)",
        "`` he is not coming back , '' she said .",  # tokenized quotes
        '"But nobody listened," she says.',
        '"This is the last ferry," the captain says.',
    ],
)
def test_quotes_and_brackets_before_the_reference_do_not_hide_it(sentence: str) -> None:
    assert depends_on_previous(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        '"It\'s over," Mara says as the ice cracks.',
        "“It’s time,” the keeper says.",
        "`` it 's very hard , '' said the founder .",
    ],
)
def test_it_opening_a_quotation_is_the_speaker_s_scene(sentence: str) -> None:
    assert not depends_on_previous(sentence)


def test_it_outside_a_quotation_still_depends() -> None:
    assert depends_on_previous("It's a subtle ending that lingers.")
    assert depends_on_previous("Its final shot holds on the lamp.")


@pytest.mark.parametrize(
    "sentence",
    [
        "He Jiankui announced the result at a conference in Hong Kong.",
        "This Is Us ends with the family gathered at the cabin.",
        "It Follows never explains its curse.",
        "Her Majesty's Theatre reopened in May.",
        "They Live was shot in four weeks.",
    ],
)
def test_names_and_titles_that_look_like_pronouns(sentence: str) -> None:
    assert not depends_on_previous(sentence)


def test_the_article_s_own_title_is_a_name() -> None:
    assert depends_on_previous("Her opens on a letter Theodore writes for a stranger.")
    title = "Her (2013): Ending Explained"
    assert not depends_on_previous("Her opens on a letter Theodore writes.", title)
    assert not depends_on_previous('"Her" opens on a letter Theodore writes.', title)
    # the title is matched as a whole word, with its case
    assert not depends_on_previous("It ends on the lamp.", "It (2017)")
    assert depends_on_previous("Its final shot holds on the lamp.", "It (2017)")
    assert depends_on_previous("her opens on a letter .", title)
    assert depends_on_previous("Hers is the last voice we hear.", title)


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Her (2013): Ending Explained", "Her"),
        ("This Is Us: The Finale", "This Is Us"),
        ("It – Chapter Two", "It"),
        ("Us", "Us"),
        ("", ""),
        ("(2013)", "(2013)"),
    ],
)
def test_title_name(title: str, name: str) -> None:
    assert title_name(title) == name


def test_word_lists_are_lower_case_and_disjoint() -> None:
    for words in (PRONOUNS, POINTERS, CONNECTIVES):
        assert all(word == word.lower() and word.isalpha() for word in words)
    assert not PRONOUNS & POINTERS and not PRONOUNS & CONNECTIVES and not POINTERS & CONNECTIVES
