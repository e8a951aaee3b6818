"""Extractive summarizer: selection, order, limits, junk, redundancy, references and topics."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.core.references import depends_on_previous
from worker.core.sentences import split_sentences
from worker.core.summarize import (
    ELLIPSIS,
    article_summary,
    section_summary,
    summarize,
    summarize_sentences,
)

BRIDGE = [
    "The town council of Eastmere voted on Monday to rebuild the old stone bridge "
    "over the river Wend.",
    "Light rain fell over the hills during most of that afternoon, forecasters noted.",
    "The stone bridge, built in 1887, was closed last winter after engineers found deep cracks "
    "in its arches.",
    "Council members approved a budget of 4.2 million pounds for rebuilding the old bridge.",
    "Local shop owners say the closure of the bridge has cut their trade by almost a third.",
    "Construction of the new bridge is expected to start in the spring "
    "and to take eighteen months.",
    "A temporary footbridge will let people cross the river Wend while the work goes on.",
    "Engineers said the new bridge will keep the look of the old stone arches "
    "around a steel frame.",
]
BRIDGE_TEXT = " ".join(BRIDGE)

ORCHARD_SECTIONS = [
    [
        "The Hollins family has grown apples on the same hillside orchard for four generations.",
        "Their oldest trees were planted in 1921 and still give fruit every autumn.",
    ],
    [
        "This year the orchard tried a new way of keeping frost off the blossom in early spring.",
        "Small fans mix warmer air from above into the cold layer that settles between the rows.",
        "The fans saved most of the blossom during three hard frosts in April.",
    ],
    [
        "Picking starts in September and lasts about six weeks.",
        "Visitors can pick their own apples on weekends, and a small shop sells juice and cider.",
    ],
]


def _indexes(summary: Sequence[str], sentences: Sequence[str]) -> list[int]:
    return [sentences.index(sentence) for sentence in summary]


def test_picks_requested_number_of_own_sentences_in_original_order() -> None:
    summary = summarize(BRIDGE_TEXT, sentences=3)
    assert len(summary) == 3
    positions = _indexes(summary, BRIDGE)
    assert positions == sorted(positions)


def test_deterministic() -> None:
    first = summarize(BRIDGE_TEXT, sentences=3)
    section = section_summary(ORCHARD_SECTIONS[1])
    article = article_summary(ORCHARD_SECTIONS)
    for _ in range(3):
        assert summarize(BRIDGE_TEXT, sentences=3) == first
        assert article_summary(ORCHARD_SECTIONS) == article
        assert section_summary(ORCHARD_SECTIONS[1]) == section


def test_lead_sentence_is_kept_and_off_topic_sentence_skipped() -> None:
    positions = _indexes(summarize(BRIDGE_TEXT, sentences=3), BRIDGE)
    assert 0 in positions
    assert 1 not in positions  # early, but shares no words with the rest


def test_summarize_sentences_matches_summarize() -> None:
    assert summarize_sentences(BRIDGE, sentences=3) == summarize(BRIDGE_TEXT, sentences=3)


@pytest.mark.parametrize("count", [1, 2, 4])
def test_sentence_count(count: int) -> None:
    assert len(summarize(BRIDGE_TEXT, sentences=count)) == count


def test_short_text_is_its_own_summary() -> None:
    text = "The library will open a second reading room in the east wing next month."
    assert summarize(text) == [text]


@pytest.mark.parametrize("count", [0, -1])
def test_no_sentences_requested(count: int) -> None:
    assert summarize(BRIDGE_TEXT, sentences=count) == []


@pytest.mark.parametrize("max_chars", [60, 100, 150, 250, 400])
def test_max_chars_is_respected(max_chars: int) -> None:
    summary = summarize(BRIDGE_TEXT, sentences=3, max_chars=max_chars)
    assert len(" ".join(summary)) <= max_chars
    article = article_summary(ORCHARD_SECTIONS, sentences=3, max_chars=max_chars)
    assert len(article) <= max_chars


def test_max_chars_prefers_a_fitting_sentence_over_none() -> None:
    long_first = (
        "The regional water board has published a long and detailed plan to replace every "
        "lead pipe in the old quarter of the city over the coming ten years."
    )
    short_second = "The water board plan covers about 3,000 homes in the old quarter."
    summary = summarize(f"{long_first} {short_second}", sentences=1, max_chars=80)
    assert summary == [short_second]


@pytest.mark.parametrize(
    "text",
    ["", "   ", "\n\n"],
)
def test_empty_input(text: str) -> None:
    assert summarize(text) == []
    assert summarize_sentences([text]) == []
    assert section_summary([text]) == ""
    assert article_summary([[text]]) == ""


def test_empty_collections() -> None:
    assert summarize_sentences([]) == []
    assert section_summary([]) == ""
    assert article_summary([]) == ""
    assert article_summary([[], []]) == ""


def test_section_summary_has_one_or_two_sentences() -> None:
    for paragraphs in ORCHARD_SECTIONS:
        summary = section_summary(paragraphs)
        candidates = [s for paragraph in paragraphs for s in split_sentences(paragraph)]
        assert 1 <= _count_joined(summary, candidates) <= 2
        assert len(summary) <= 320


def test_section_summary_single_sentence_setting() -> None:
    summary = section_summary(ORCHARD_SECTIONS[1], sentences=1)
    assert summary in ORCHARD_SECTIONS[1]


def test_single_long_sentence_is_cut_at_a_word_boundary() -> None:
    sentence = " ".join(f"word{number}" for number in range(200)) + "."
    summary = section_summary([sentence], max_chars=50)
    assert len(summary) <= 50
    assert summary.endswith(ELLIPSIS)
    head = summary.removesuffix(ELLIPSIS)
    assert sentence.startswith(head)
    assert sentence[len(head)] == " "  # the cut falls between two words


def test_single_long_word_is_cut_hard() -> None:
    summary = section_summary(["x" * 1000], max_chars=40)
    assert summary == "x" * 39 + ELLIPSIS


def test_tiny_max_chars() -> None:
    assert section_summary(BRIDGE, max_chars=1) == ELLIPSIS
    assert section_summary(BRIDGE, max_chars=0) == ""


def test_identical_sentences_are_never_both_picked() -> None:
    repeated = "The museum will stay open until nine on Fridays during the summer."
    text = f"{repeated} {repeated} {BRIDGE_TEXT} {repeated}"
    for count in (2, 3, 5):
        summary = summarize(text, sentences=count)
        assert summary.count(repeated) <= 1
        assert len(summary) == len(set(summary))


def test_near_duplicates_are_not_both_picked() -> None:
    first = "Heavy snow closed the mountain pass road on Tuesday morning for six hours."
    second = "Heavy snow closed the mountain pass road again on Wednesday for six hours."
    other = "Drivers were sent along the valley route, which added forty minutes to the trip."
    summary = summarize(f"{first} {second} {other}", sentences=2)
    assert not {first, second} <= set(summary)


def test_boilerplate_and_fragments_are_skipped() -> None:
    text = (
        "Click here to subscribe to our newsletter for the latest updates every week. "
        "Wow. "
        "The city zoo welcomed two red panda cubs born in late June to a pair from Nepal. "
        "Keepers say the cubs are healthy and will meet visitors for the first time in autumn."
    )
    # junk is never preferred, and only fills what the other sentences cannot
    assert summarize(text, sentences=2) == split_sentences(text)[2:]
    assert len(summarize(text, sentences=3)) == 3


def test_only_fragments_still_give_a_summary() -> None:
    assert summarize("Yes. No. Maybe.", sentences=1) != []
    assert section_summary(["Yes. No."]) != ""


def test_article_summary_draws_from_all_sections() -> None:
    summary = article_summary(ORCHARD_SECTIONS, sentences=3)
    candidates = [s for section in ORCHARD_SECTIONS for s in section]
    assert _count_joined(summary, candidates) == 3


def test_section_of_5000_sentences() -> None:
    paragraph = " ".join(
        f"Report {number} from station {number % 37} lists {number * 3} birds near lake "
        f"{number % 11}."
        for number in range(5000)
    )
    summary = section_summary([paragraph])
    assert 0 < len(summary) <= 320
    assert 1 <= _count_joined(summary, split_sentences(paragraph)) <= 2


def test_article_of_5000_sections_and_a_huge_text() -> None:
    sections = [
        [f"Section {number} describes trail {number} in the northern hills."]
        for number in range(5000)
    ]
    assert article_summary(sections)
    huge = " ".join(
        f"Entry {number} records a visit to the northern hills." for number in range(40000)
    )
    assert len(huge) > 1_000_000
    summary = summarize(huge)
    assert summary
    assert all(sentence in huge for sentence in summary)


def _count_joined(summary: str, candidates: Sequence[str]) -> int:
    """How many candidates, in order, joined by single spaces make ``summary`` (-1: none)."""

    @cache
    def count_from(offset: int, first_candidate: int) -> int:
        if offset == len(summary):
            return 0
        for index in range(first_candidate, len(candidates)):
            candidate = candidates[index]
            if summary.startswith(candidate, offset):
                end = offset + len(candidate)
                if end == len(summary):
                    return 1
                if summary[end] == " ":
                    rest = count_from(end + 1, index + 1)
                    if rest > 0:
                        return rest + 1
        return -1

    return count_from(0, 0)


_PROSE = st.text(alphabet=st.sampled_from(list("abcXY .,?!'\"()…—\n")), max_size=300)


@settings(max_examples=300, deadline=None)
@given(
    paragraphs=st.lists(st.one_of(_PROSE, st.text(max_size=200)), max_size=5),
    max_chars=st.integers(min_value=1, max_value=400),
    sentences=st.integers(min_value=1, max_value=3),
)
def test_section_summary_properties(paragraphs: list[str], max_chars: int, sentences: int) -> None:
    summary = section_summary(paragraphs, max_chars=max_chars, sentences=sentences)
    assert len(summary) <= max_chars
    candidates = [s for paragraph in paragraphs for s in split_sentences(paragraph)]
    if not candidates:
        assert summary == ""
        return
    assert summary
    count = _count_joined(summary, candidates)
    if count > 0:
        assert count <= sentences
    else:
        assert summary.endswith(ELLIPSIS)
        head = summary.removesuffix(ELLIPSIS)
        assert any(candidate.startswith(head) for candidate in candidates)


@settings(max_examples=200, deadline=None)
@given(
    candidates=st.lists(st.text(max_size=80), max_size=12),
    max_chars=st.one_of(st.none(), st.integers(min_value=0, max_value=200)),
    count=st.integers(min_value=0, max_value=4),
)
def test_summarize_sentences_properties(
    candidates: list[str], max_chars: int | None, count: int
) -> None:
    summary = summarize_sentences(candidates, sentences=count, max_chars=max_chars)
    assert len(summary) <= count
    if max_chars is not None:
        assert len(" ".join(summary)) <= max_chars
    positions = [candidates.index(sentence) for sentence in summary]
    assert positions == sorted(positions)
    assert summarize_sentences(candidates, sentences=count, max_chars=max_chars) == summary


def test_summarize_article_equals_the_separate_summaries(example_bytes: bytes) -> None:
    from worker.core.pipeline import parse_article
    from worker.core.summarize import article_summary, summarize_article

    article = parse_article(example_bytes).article
    sections = [section.paragraphs for section in article.sections]
    headings = [section.heading for section in article.sections]
    summaries, summary = summarize_article(
        sections,
        headings=headings,
        title=article.title,
        section_chars=200,
        section_sentences=2,
        sentences=3,
        max_chars=600,
    )
    assert summaries == [
        section_summary(p, heading=h, title=article.title, max_chars=200, sentences=2)
        for p, h in zip(sections, headings, strict=True)
    ]
    assert summary == article_summary(
        sections, headings=headings, title=article.title, sentences=3, max_chars=600
    )


# Sections shaped like the ones readers complained about: a long opening that states the
# topic, then sentences that lean on it ("He ...", "Her arc ...", "this turn").
LANTERN_TITLE = "The Lantern Keeper (2019): Ending Explained"
LANTERN_OPENING = (
    "In The Lantern Keeper, directed by Ines Varga, we follow Tomas Reyes, a retired sailor "
    "who comes back to the fishing village of his childhood to look after its last working "
    "lighthouse."
)
LANTERN_RECAP = [
    f"{LANTERN_OPENING} The harbour master, Greta Moll, lets Tomas sleep in the keeper's "
    "cottage on one condition: the lamp must shine again before the winter storms. He climbs "
    "the tower every morning with his father's old toolbox, a daily reminder of the village he "
    "fled.",
    "As Tomas repairs the lamp, he grows close to Greta's son Pavel, who dreams of leaving the "
    "village for the city. At the harbour café, Pavel shows him the drawings of ships he hides "
    "from his mother. Meanwhile, a hotel developer offers to buy the lighthouse, and the "
    "village splits over the offer, with Greta leading the families who want to sell. These "
    "quarrels build toward the night of the first storm, when the lamp has to work.",
]
LANTERN_ARCS_OPENING = (
    "Tomas's arc ends in a quiet reckoning: the man who ran from the sea chooses to stay and "
    "keep its light."
)
LANTERN_ARCS = [
    f"{LANTERN_ARCS_OPENING} From drifter to keeper, his journey trades escape for duty, and "
    "the film lets that change feel earned rather than forced, even when the script hurries. "
    "The lead performance carries this turn, making Tomas's last climb up the tower feel like "
    "a homecoming.",
    "Greta's arc moves the other way, from guarding the village's past to letting her son go. "
    "Her arc ends at the bus stop, where she gives Pavel his father's compass and lets the bus "
    "leave without a word. Pavel, for his part, finally shows his mother the drawings of ships "
    "he kept hidden, and she keeps one on the cottage wall. Even the developer gets a small arc "
    "of his own: he stays for the storm and helps carry the lamp oil up the tower in the final "
    "scene.",
]


def _sentences(paragraphs: Sequence[str]) -> list[str]:
    return [sentence for paragraph in paragraphs for sentence in split_sentences(paragraph)]


def _dangling(summary: str, paragraphs: Sequence[str]) -> list[str]:
    """Picked sentences that begin with a reference whose antecedent was not picked."""
    candidates = _sentences(paragraphs)
    picked = [candidate for candidate in candidates if candidate in summary]
    return [
        sentence
        for sentence in picked
        if depends_on_previous(sentence)
        and (
            candidates.index(sentence) == 0
            or candidates[candidates.index(sentence) - 1] not in picked
        )
    ]


def test_recap_leads_with_its_opening_and_skips_the_dangling_he() -> None:
    summary = section_summary(LANTERN_RECAP, heading="Quick Recap", title=LANTERN_TITLE)
    assert summary == (
        f"{LANTERN_OPENING} As Tomas repairs the lamp, he grows close to Greta's son Pavel, who "
        "dreams of leaving the village for the city."
    )


def test_arcs_lead_with_the_arc_and_never_start_on_her() -> None:
    summary = section_summary(LANTERN_ARCS, heading="Character Arcs", title=LANTERN_TITLE)
    assert summary.startswith(LANTERN_ARCS_OPENING)
    assert _count_joined(summary, _sentences(LANTERN_ARCS)) == 2
    assert _dangling(summary, LANTERN_ARCS) == []
    assert "Her arc" not in summary  # its antecedent and the opening do not fit in two


def test_the_heading_says_what_the_section_is_about() -> None:
    frost = (
        "The fans saved most of the blossom during three hard frosts in April, when "
        "neighbouring orchards lost half their crop."
    )
    picking = (
        "Picking now starts in early September and lasts about six weeks, with students from "
        "the college joining the family."
    )
    section = [
        "The Hollins orchard had its hardest spring in a decade, and the family changed how it "
        "works the hillside.",
        "Small electric fans now stand between the rows, mixing warmer air from above into the "
        "cold layer that settles on frosty nights.",
        frost,
        picking,
        "Visitors can pick their own apples on weekends, and the picking season ends with a "
        "cider fair in the barn.",
        "The oldest trees, planted in 1921, still give fruit every autumn and are picked by hand.",
    ]
    assert section_summary(section, heading="Frost Fans", sentences=1) == frost
    assert section_summary(section, heading="The Picking Season", sentences=1) == picking


def test_a_leaning_sentence_comes_with_the_one_it_leans_on() -> None:
    sentences = [
        "The town council of Eastmere voted on Monday to rebuild the old stone bridge over the "
        "river Wend.",
        "Light rain fell over the hills during most of that afternoon, forecasters noted.",
        "Divers spent the whole winter under the water beside each of its piers.",
        "They found deep cracks in the stone arches of the old bridge, and the bridge was closed.",
        "Shop owners near the river say their trade has fallen by a third since the closure.",
    ]
    # "They found ..." is the most central sentence; "Divers ..." comes along to explain "They".
    assert summarize_sentences(sentences, sentences=3) == [sentences[0], *sentences[2:4]]


def test_a_leaning_sentence_may_follow_an_antecedent_picked_before_it() -> None:
    sentences = [
        "The old stone bridge over the river Wend has been closed since the winter floods.",
        "It will be rebuilt around a steel frame that keeps the look of the stone arches.",
        "Light rain fell over the hills for most of the afternoon, forecasters noted.",
        "Shop owners near the river say their trade has fallen by a third.",
    ]
    assert summarize_sentences(sentences, sentences=2) == sentences[:2]


def test_a_leaning_sentence_is_passed_over_when_its_antecedent_does_not_fit() -> None:
    long_antecedent = (
        "Engineers from three countries spent most of the winter inspecting the old stone "
        "bridge over the river, arch by arch, with divers checking the piers below the water."
    )
    leaning = "They found deep cracks in the bridge arches."
    other = "The bridge arches will be rebuilt around a steel frame next year."
    text = f"{long_antecedent} {leaning} {other}"
    assert summarize(text, sentences=2, max_chars=120) == [other]
    assert summarize(text, sentences=2) == [long_antecedent, leaning]


def test_a_section_opening_on_a_reference_needs_the_previous_section() -> None:
    first = ["Mara Kessel reaches the island's weather post in the first week of March."]
    second = [
        "She finds the station clock stopped at seven minutes past three in the morning.",
        "The stopped clock at the weather station becomes the film's central image of grief.",
    ]
    assert section_summary(second, sentences=1) == second[1]
    both = article_summary([first, second], sentences=2)
    assert both in (f"{first[0]} {second[0]}", f"{first[0]} {second[1]}")


def test_a_text_of_leaning_sentences_still_gets_a_summary() -> None:
    text = "He rowed out at dawn. She watched from the harbour wall until the fog closed in."
    assert len(summarize(text, sentences=2)) == 1
    assert section_summary(["He rowed out at dawn and never came back to the island."])


def test_short_sections_get_one_sentence_and_long_ones_two() -> None:
    short = LANTERN_RECAP[1]  # one paragraph, under 150 words
    assert _count_joined(section_summary([short]), split_sentences(short)) == 1
    long = [*LANTERN_RECAP, *LANTERN_ARCS]
    assert _count_joined(section_summary(long, sentences=2), _sentences(long)) == 2
    assert _count_joined(section_summary(long, sentences=1), _sentences(long)) == 1


def test_a_sentence_is_cut_only_when_none_fits() -> None:
    summary = section_summary(LANTERN_RECAP, title=LANTERN_TITLE, max_chars=150)
    assert not summary.endswith(ELLIPSIS)
    assert _count_joined(summary, _sentences(LANTERN_RECAP)) >= 1
    cut = section_summary(LANTERN_RECAP, title=LANTERN_TITLE, max_chars=80)
    assert cut.endswith(ELLIPSIS) and len(cut) <= 80


def test_the_article_summary_keeps_three_sentences() -> None:
    summary = article_summary(
        [LANTERN_RECAP, LANTERN_ARCS],
        headings=["Quick Recap", "Character Arcs"],
        title=LANTERN_TITLE,
    )
    candidates = _sentences([*LANTERN_RECAP, *LANTERN_ARCS])
    assert _count_joined(summary, candidates) == 3
    assert summary.startswith(LANTERN_OPENING)
    assert _dangling(summary, [*LANTERN_RECAP, *LANTERN_ARCS]) == []


@settings(max_examples=200, deadline=None)
@given(
    picks=st.lists(
        st.sampled_from(_sentences([*LANTERN_RECAP, *LANTERN_ARCS, *BRIDGE])), max_size=12
    ),
    count=st.integers(min_value=1, max_value=4),
    max_chars=st.one_of(st.none(), st.integers(min_value=60, max_value=600)),
)
def test_no_summary_of_several_sentences_starts_one_on_a_dangling_reference(
    picks: list[str], count: int, max_chars: int | None
) -> None:
    candidates = list(dict.fromkeys(picks))
    summary = summarize_sentences(candidates, sentences=count, max_chars=max_chars)
    if len(summary) > 1:
        assert _dangling(" ".join(summary), candidates) == []
