"""Tests for assistant.citations: markers, quotes, disagreements and the notes splitter."""

from __future__ import annotations

import json
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.citations import NOTES_MARKER, build_answer, format_references
from assistant.records import Answer, Passage
from assistant.text import find_quote, normalize
from tests.evidence import make_passage


def quote_in_passage(quote: str, text: str) -> bool:
    return find_quote(quote, text) is not None


TEXTS = {
    1: "Putin will not accept NATO membership for Ukraine under any circumstances, "
    "a senior adviser said on Tuesday.",
    2: "The Nation argues that sustained US engagement with Moscow is essential to end the war "
    "and that isolation has failed.",
    3: "Hot Air calls “escalate to de-escalate” a dangerous doctrine — one that invites "
    "miscalculation… and worse.",
    4: "Responsible Statecraft says a neutral Ukraine, outside NATO, is the price of a durable "
    "peace with Russia.",
}


def passage(n: int, text: str | None = None, source_id: str | None = None) -> Passage:
    body = TEXTS.get(n, f"Passage number {n} says something plain.") if text is None else text
    return make_passage(
        f"chunk-{n}",
        body,
        source_id=source_id or f"source-{n}",
        title=f"Title {n}",
        outlet=f"Outlet {n}",
        author=f"Author {n}",
        published=f"2024-03-0{n}",
        url=f"https://example.org/{n}" if n % 2 else None,
    )


PASSAGES = [passage(n) for n in range(1, 5)]


def notes(**data: object) -> str:
    return "\n" + json.dumps(data)


def answer(visible: str, notes_text: str = "", **kwargs: object) -> Answer:
    passages = kwargs.pop("passages", PASSAGES)
    return build_answer("q?", visible, notes_text, passages, mode="llm", model="m", **kwargs)


def markers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\[(\d{1,6})\]", text)]


# normalize


def test_normalize_folds_typography_case_and_whitespace() -> None:
    raw = "  “Escalate”  to\tde–escalate — it’s\n‘Risky’…  "
    assert normalize(raw) == "\"escalate\" to de-escalate - it's 'risky'..."


# build_answer: markers


def test_valid_answer_with_verified_quotes() -> None:
    result = answer(
        "Russia rejects NATO membership for Ukraine [1]. Engagement is essential [2].\n",
        notes(
            answerable=True,
            quotes={"1": "will not accept NATO membership", "2": "engagement with Moscow is"},
        ),
    )
    assert result.text == (
        "Russia rejects NATO membership for Ukraine [1]. Engagement is essential [2]."
    )
    assert [(c.n, c.chunk_id, c.verified) for c in result.citations] == [
        (1, "chunk-1", True),
        (2, "chunk-2", True),
    ]
    first = result.citations[0]
    assert (first.source_id, first.source.title, first.source.outlet, first.source.author) == (
        "source-1",
        "Title 1",
        "Outlet 1",
        "Author 1",
    )
    assert (first.source.published, first.source.url, first.quote) == (
        "2024-03-01",
        "https://example.org/1",
        "will not accept NATO membership",
    )
    assert result.answerable and not result.incomplete and result.removed_markers == []
    assert (result.sentences, result.uncited_sentences) == (2, 0)
    assert result.passages == PASSAGES and (result.mode, result.model) == ("llm", "m")


def test_out_of_range_markers_are_removed_and_reported() -> None:
    result = answer("Claim one [9]. Claim two [0][2]. [7] Claim three [2, 5].")
    assert result.text == "Claim one. Claim two [1]. Claim three [1]."
    assert result.removed_markers == [9, 0, 7, 5]
    assert [c.chunk_id for c in result.citations] == ["chunk-2"]
    assert result.uncited_sentences == 1


@pytest.mark.parametrize("group", ["[1, 2]", "[1,2]", "[1][2]", "[1] [2]", "[ 1 ,2 ]"])
def test_marker_forms_are_parsed_and_normalised(group: str) -> None:
    result = answer(f"Both sources agree {group}.")
    assert result.text == "Both sources agree [1][2]."
    assert [c.chunk_id for c in result.citations] == ["chunk-1", "chunk-2"]


def test_citations_renumbered_by_first_use() -> None:
    result = answer("First [4]. Then [2][4]. Last [1].")
    assert result.text == "First [1]. Then [2][1]. Last [3]."
    assert [(c.n, c.chunk_id) for c in result.citations] == [
        (1, "chunk-4"),
        (2, "chunk-2"),
        (3, "chunk-1"),
    ]


def test_at_most_three_citations_per_sentence() -> None:
    result = answer("Everyone agrees [1][2] and more [3, 4]. Again [4].")
    assert result.text == "Everyone agrees [1][2] and more [3]. Again [4]."
    assert len(result.citations) == 4
    assert result.removed_markers == []


def test_removing_a_marker_never_forges_another() -> None:
    result = answer("Odd [[9]2] brackets.")
    assert result.text == "Odd (2) brackets."
    assert result.citations == []


def test_repeated_marker_in_a_sentence_counts_once() -> None:
    assert answer("Claim [1][1] and [1].").text == "Claim [1] and."


# build_answer: quotes


def test_unverified_and_missing_quotes() -> None:
    result = answer(
        "A [1]. B [2]. C [3].",
        notes(quotes={"1": "NATO will surely join Ukraine tomorrow", "3": "a dangerous"}),
    )
    by_n = {c.n: c for c in result.citations}
    assert (by_n[1].quote, by_n[1].verified) == ("NATO will surely join Ukraine tomorrow", False)
    assert (by_n[2].quote, by_n[2].verified) == ("", False)
    assert (by_n[3].quote, by_n[3].verified) == ("a dangerous", False)  # too short to prove


def test_first_verifying_quote_of_several_is_shown() -> None:
    result = answer("A [1].", notes(quotes={"1": ["invented words here", "senior adviser said"]}))
    assert (result.citations[0].quote, result.citations[0].verified) == (
        "senior adviser said",
        True,
    )


@pytest.mark.parametrize(
    "quote",
    [
        '"Escalate to de-escalate" a dangerous doctrine - one that invites',  # typography
        "ESCALATE TO   DE-ESCALATE”  A DANGEROUS",  # case and whitespace
        "calls escalate to de-escalate a dangerous doctrine",  # dropped quote marks
        "a dangerous doctrine, one that invites miscalculation",  # a slip of punctuation
        "calls “escalate to de-escalate” a dangerus doctrine",  # a typo
        "Hot Air calls … a dangerous doctrine",  # ellipsis joining parts in order
        "Hot Air calls ... invites miscalculation... and worse",
    ],
)
def test_quote_verification_tolerates_small_differences(quote: str) -> None:
    assert quote_in_passage(quote, TEXTS[3])


@pytest.mark.parametrize(
    "quote",
    [
        "Hot Air praises a careful and prudent doctrine",  # paraphrase
        "Putin will accept NATO membership for Ukraine",  # negation dropped
        "Putin will not accept EU membership for Georgia",  # two words changed
        "a dangerous doctrine … Hot Air calls",  # parts out of order
        "Hot Air calls … a peaceful doctrine",  # one part absent
        "Hot Air",  # too short
        "",
    ],
)
def test_quote_verification_rejects_real_differences(quote: str) -> None:
    assert not quote_in_passage(quote, TEXTS[3] + " " + TEXTS[1])


def test_number_change_does_not_verify() -> None:
    text = "Officials said about 3000 troops crossed the border overnight."
    assert quote_in_passage("said about 3000 troops crossed the border", text)
    assert not quote_in_passage("said about 300 troops crossed the border", text)


# build_answer: disagreements, notes and counts

DISAGREEMENT_TEXT = """Outlets split on talks [2][3].

### Where the sources disagree
The Nation favours engagement [2], while Hot Air warns of escalation [3]."""


def test_disagreement_parsed_and_renumbered() -> None:
    data = {
        "answerable": True,
        "quotes": {"3": "a dangerous doctrine"},
        "disagreements": [
            {
                "topic": " Talking to Moscow ",
                "positions": [
                    {"source": 2, "summary": "Engagement is essential [2].", "citations": [2]},
                    {"source": "3", "summary": "Escalation is dangerous.", "citations": [3, 4]},
                    {"source": 9, "summary": "Out of range.", "citations": [9]},
                ],
            }
        ],
    }
    result = answer(DISAGREEMENT_TEXT, notes(**data))
    [disagreement] = result.disagreements
    assert disagreement.topic == "Talking to Moscow"
    assert [(p.source_id, p.outlet, p.summary, p.citations) for p in disagreement.positions] == [
        ("source-2", "Outlet 2", "Engagement is essential.", [1]),
        ("source-3", "Outlet 3", "Escalation is dangerous.", [2, 3]),
    ]
    # block 4 is cited only by a position: it gets the next number and a reference
    assert [(c.n, c.chunk_id) for c in result.citations] == [
        (1, "chunk-2"),
        (2, "chunk-3"),
        (3, "chunk-4"),
    ]
    assert (result.sentences, result.uncited_sentences) == (2, 0)


def test_disagreement_needs_two_distinct_sources() -> None:
    passages = [*PASSAGES, passage(5, TEXTS[2], source_id="source-2")]
    data = {
        "disagreements": [
            {
                "topic": "same article twice",
                "positions": [
                    {"source": 2, "summary": "One view.", "citations": [2, 1]},
                    {"source": 5, "summary": "Same article.", "citations": [5]},
                ],
            },
            {"topic": "one side", "positions": [{"source": 1, "summary": "Alone."}]},
            {"topic": "bad shapes", "positions": [{"source": 1}, "x", {"summary": "No source"}]},
            "not a dict",
        ]
    }
    result = answer("Claim [1].", notes(**data), passages=passages)
    assert result.disagreements == []
    assert [c.chunk_id for c in result.citations] == ["chunk-1"]  # dropped ones add nothing


def test_position_without_citations_cites_its_source() -> None:
    data = {
        "disagreements": [
            {
                "topic": "t",
                "positions": [{"source": 1, "summary": "A."}, {"source": 2, "summary": "B."}],
            }
        ]
    }
    result = answer("Claim [2].", notes(**data))
    assert [p.citations for p in result.disagreements[0].positions] == [[2], [1]]


def test_disagreement_heading_without_notes_invents_nothing() -> None:
    result = answer(DISAGREEMENT_TEXT)
    assert result.disagreements == []
    assert result.answerable and not result.incomplete
    assert "### Where the sources disagree" in result.text


def test_missing_notes_answerable_follows_citations() -> None:
    assert answer("Claim [1].").answerable
    assert not answer("The articles do not cover this.").answerable
    assert not answer("Claim [8].").answerable  # only invalid markers


def test_answerable_false_from_notes_wins() -> None:
    assert not answer("Claim [1].", notes(answerable=False)).answerable


@pytest.mark.parametrize("broken", ['{"answerable": tru', "not json at all", "[1, 2]", "{"])
def test_malformed_notes_keep_text_and_mark_incomplete(broken: str) -> None:
    result = answer("Claim [1]. Other [2].", "\n" + broken)
    assert result.text == "Claim [1]. Other [2]."
    assert result.incomplete
    assert result.answerable  # from the valid citations
    assert result.disagreements == []


def test_truncated_notes_keep_what_parsed() -> None:
    full = notes(
        answerable=True,
        quotes={"1": "will not accept NATO membership"},
        disagreements=[{"topic": "t", "positions": [{"source": 1, "summary": "A."}]}],
    )
    result = answer("Claim [1].", full[: full.index("positions") + 5])
    assert result.incomplete
    assert result.citations[0].verified
    assert result.disagreements == []


def test_fenced_notes_parse_and_open_fence_is_trimmed() -> None:
    visible = "Claim [1].\n```"
    result = answer(visible, '\n{"quotes": {"1": "will not accept NATO"}}\n```')
    assert result.text == "Claim [1]."
    assert result.citations[0].verified and not result.incomplete


def test_caller_incomplete_flag_is_kept() -> None:
    assert answer("Claim [1].", notes(answerable=True), incomplete=True).incomplete


def test_marker_left_in_visible_text_is_cut_out() -> None:
    result = answer(f"Claim [1].\n{NOTES_MARKER}\n" + '{"answerable": false}')
    assert result.text == "Claim [1]."
    assert not result.answerable


def test_sentence_counts_skip_headings() -> None:
    text = (
        "## Overview\n"
        "First claim [1]. Second claim has no marker! Third, e.g. the U.S. view? [2]\n"
        "- A list item without a marker\n"
        "**Where the sources disagree**\n"
        "**Key points**\n"
        "Outlet 1 says X [1], Outlet 2 says Y [2].\n"
        "---\n"
    )
    result = answer(text)
    assert (result.sentences, result.uncited_sentences) == (5, 2)


def test_empty_answer() -> None:
    result = answer("", "")
    assert (result.text, result.citations, result.sentences, result.answerable) == (
        "",
        [],
        0,
        False,
    )


# format_references


def test_format_references() -> None:
    result = answer("A [1]. B [2].", notes(quotes={"1": "will not accept NATO membership"}))
    assert format_references(result).splitlines() == [
        '[1] Outlet 1 — Title 1 (2024-03-01). "will not accept NATO membership" '
        "https://example.org/1",
        "[2] Outlet 2 — Title 2 (2024-03-02). (unverified)",
    ]


# robustness


@pytest.mark.parametrize("text", ["." * 20_000, " " * 20_000 + "[1]", ". [1]" * 4_000])
def test_pathological_text_stays_fast(text: str) -> None:
    started = time.monotonic()
    answer(text)
    assert time.monotonic() - started < 2.0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10) | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
position_like = st.dictionaries(st.sampled_from(["source", "summary", "citations"]), json_values)
disagreement_like = st.fixed_dictionaries(
    {"positions": st.lists(position_like, max_size=4)}, optional={"topic": json_values}
)
notes_like = st.fixed_dictionaries(
    {},
    optional={
        "answerable": json_values,
        "quotes": st.dictionaries(st.sampled_from(["1", "2", "3", "9", "x"]), json_values),
        "disagreements": st.lists(disagreement_like | json_values, max_size=3),
    },
)
visible_like = st.lists(
    st.sampled_from([*"ab .!?\n#*[],0123456789<", "[1]", "[2, 3]", "### Where", NOTES_MARKER]),
    max_size=60,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(visible=visible_like | st.text(), data=notes_like, raw=st.text(max_size=30))
def test_build_answer_never_crashes(visible: str, data: dict[str, object], raw: str) -> None:
    for notes_text in (json.dumps(data), raw, json.dumps(data)[: len(raw)]):
        result = answer(visible, notes_text)
        assert [c.n for c in result.citations] == list(range(1, len(result.citations) + 1))
        assert all(1 <= n <= len(result.citations) for n in markers(result.text))
        assert result.uncited_sentences <= result.sentences
        for d in result.disagreements:
            assert len({p.source_id for p in d.positions}) >= 2
            assert all(1 <= n <= len(result.citations) for p in d.positions for n in p.citations)
