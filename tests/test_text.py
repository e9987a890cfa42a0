"""The one module for markers, sentences, normalising and quotes (assistant/text.py)."""

from __future__ import annotations

import pytest

from assistant.text import (
    escape_brackets,
    find_quote,
    marker_numbers,
    normalize,
    split_sentences,
    strip_markers,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "U.S. President Donald Trump met Sen. Marsha Blackburn. Then he left.",
            ["U.S. President Donald Trump met Sen. Marsha Blackburn.", "Then he left."],
        ),
        (
            "J. D. Vance spoke first. Gen. Keith Kellogg followed at 3.5 p.m. on Monday.",
            ["J. D. Vance spoke first.", "Gen. Keith Kellogg followed at 3.5 p.m. on Monday."],
        ),
        (
            "Talks resumed in the U.S. The Russians stayed home.",
            ["Talks resumed in the U.S.", "The Russians stayed home."],
        ),
        (
            "“It’s over,” he said. “Really?” she asked. Yes… maybe.",
            ["“It’s over,” he said.", "“Really?” she asked.", "Yes… maybe."],
        ),
        (
            "Europe should stay out [1]. Others disagree [2][3]. e.g. the Nation.",
            ["Europe should stay out [1].", "Others disagree [2][3]. e.g. the Nation."],
        ),
        ("A headline without a stop\nNext line.", ["A headline without a stop", "Next line."]),
    ],
)
def test_sentences_keep_abbreviations_initials_quotes_and_markers(
    text: str, expected: list[str]
) -> None:
    assert split_sentences(text) == expected


def test_markers_are_found_stripped_and_article_brackets_are_escaped() -> None:
    assert marker_numbers("a [1] b [2, 3] c [1]") == [1, 2, 3, 1]
    assert strip_markers("Europe should stay out [1][2].") == "Europe should stay out."
    escaped = escape_brackets("during May [3], far more than the official tally [7]")
    assert marker_numbers(escaped) == []
    assert escaped == r"during May \[3\], far more than the official tally \[7\]"


def test_normalize_folds_typography_case_invisibles_and_whitespace() -> None:
    assert normalize("  “Escalate”\u200b to\tde–escalate — it’s…  ") == (
        '"escalate" to de-escalate - it\'s...'
    )


def test_find_quote_returns_the_span_in_the_original_text() -> None:
    text = "Before. The “peace plan” — agreed in May — was signed. After."
    start, end = find_quote('the "peace plan" - agreed in may', text)
    assert text[start:end] == "The “peace plan” — agreed in May"


def test_find_quote_tolerates_a_typo_but_not_a_changed_meaning() -> None:
    text = "Putin will not accept NATO membership for Ukraine under any circumstances."
    span = find_quote("Putin will not acept NATO membership for Ukraine", text)
    assert span is not None and text[span[0] : span[1]].startswith("Putin will not accept")
    assert find_quote("Putin will accept NATO membership for Ukraine", text) is None
    assert find_quote("under any", text) is None  # too short to prove anything


def test_find_quote_with_an_ellipsis_spans_both_parts_in_order() -> None:
    text = "Russia wants a deal. It will, however, not give up Crimea under any terms."
    start, end = find_quote("Russia wants a deal ... not give up Crimea", text)
    assert text[start:end] == "Russia wants a deal. It will, however, not give up Crimea"
    assert find_quote("not give up Crimea ... Russia wants a deal", text) is None
