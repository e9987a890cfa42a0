"""Tests for assistant.protocol: reading replies of both protocols, chunk by chunk.

The texts here are made up; `tests/test_cassettes.py` runs the same readers on what a real
model wrote.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.protocol import (
    ANSWER_SCHEMA,
    NEGOTIATION_ORDER,
    AnswerTextReader,
    Disagreement,
    Position,
    ProseSplitter,
    QuoteHint,
    RepetitionGuard,
    echoes_instructions,
    loads_tolerant,
    notes_from,
    read_all,
    request_options,
    structured_options,
)

ANSWER = "The envoys met in Zanzibar [1]. They disagreed about the agenda [2][3]."
NOTES = {
    "answerable": True,
    "quotes": {"1": "met in Zanzibar", "2": "arguing about the agenda"},
    "disagreements": [],
}
NOTES_JSON = json.dumps(NOTES)

# Marker variations written by real small models in place of `<<<NOTES`.
PROSE_REPLIES = {
    "marker": f"{ANSWER}\n\n<<<NOTES\n{NOTES_JSON}",
    "marker spaced": f"{ANSWER}\n<<< NOTES >>>\n{NOTES_JSON}\n",
    "heading": f"{ANSWER}\n\n### Notes\n{NOTES_JSON}",
    "heading with fence": f"{ANSWER}\n\n## NOTES:\n```json\n{NOTES_JSON}\n```\n",
    "bold label": f"{ANSWER}\n\n**Notes:**\n{NOTES_JSON}",
    "bold label colon outside": f"{ANSWER}\n\n**Notes**:\n\n{NOTES_JSON}\n",
    "bare label": f"{ANSWER}\nNotes:\n{NOTES_JSON}",
    "rule then fence": f"{ANSWER}\n\n---\n\n```json\n{NOTES_JSON}\n```",
    "fence only": f"{ANSWER}\n```\n{NOTES_JSON}\n```",
    "bare object": f"{ANSWER}\n\n{NOTES_JSON}",
    "inline object": f"{ANSWER} {NOTES_JSON}",
    "json heading": f"{ANSWER}\n\n### JSON\n{NOTES_JSON}",
}


def chunked(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@pytest.mark.parametrize("name", sorted(PROSE_REPLIES))
@pytest.mark.parametrize("size", [1, 2, 5, 13, 10_000])
def test_every_marker_variation_is_split_with_nothing_leaking(name: str, size: int) -> None:
    streamed, parsed = read_all(chunked(PROSE_REPLIES[name], size))
    assert parsed.protocol == "prose"
    assert parsed.visible == ANSWER
    assert streamed.strip() == ANSWER  # nothing shown while streaming was taken back
    assert parsed.notes_found and parsed.notes.answerable is True
    assert parsed.notes.quotes == [
        QuoteHint(1, "met in Zanzibar"),
        QuoteHint(2, "arguing about the agenda"),
    ]


@pytest.mark.parametrize(
    "prose",
    [
        "**Russia** wants guarantees [1].\n\n**Ukraine** wants troops [2].",
        "### Where the outlets differ\nOne says talks [1]; another says war [2].",
        "Notes from the summit show progress [1].",
        "Notably, nothing was signed [1].",
        "JSON-like promises were made [2].",
        "Some said <b>no</b> deal [1], and the {draft} stayed secret [2].",
        "- first point [1]\n- second point [2]\n\n---\n\nA closing line [3].",
    ],
)
def test_prose_that_only_resembles_a_marker_is_shown_whole(prose: str) -> None:
    for size in (1, 3, 100):
        streamed, parsed = read_all(chunked(prose, size))
        assert parsed.visible == prose and streamed == prose
        assert not parsed.notes_found


def test_a_line_that_might_become_a_marker_is_held_until_decided() -> None:
    splitter = ProseSplitter()
    assert splitter.feed("Talks resumed [1].\n") == "Talks resumed [1].\n"
    assert splitter.feed("**No") == ""  # could still be "**Notes:**"
    assert splitter.feed("te") == ""
    assert splitter.feed("d** in passing [2].") == "**Noted** in passing [2]."
    assert splitter.feed("\n### N") == "\n"
    assert splitter.feed("otes\n{") == ""
    assert splitter.finish() == ("Talks resumed [1].\n**Noted** in passing [2].", "### Notes\n{")


def test_blank_lines_and_rules_before_the_notes_never_reach_the_reader() -> None:
    splitter = ProseSplitter()
    shown = splitter.feed("One claim [1].\n\n---\n") + splitter.feed("\n<<<NOTES\n{}")
    assert shown == "One claim [1].\n"
    assert splitter.finish()[0] == "One claim [1]."


def test_a_reply_that_ends_on_a_bare_label_shows_nothing_of_it() -> None:
    streamed, parsed = read_all(chunked(f"{ANSWER}\n\n**Notes:**", 4))
    assert parsed.visible == ANSWER and "Notes" not in streamed
    assert not parsed.notes_found


# ---- the structured path ------------------------------------------------------------------

STRUCTURED = {
    "answer": 'Caf\u00e9 owners said "no" [1].\nA second line, with a \\ and an emoji \U0001f600 [2].',
    "quotes": [{"source": 1, "quote": "said no"}],
    "disagreements": [
        {
            "topic": "the agenda",
            "positions": [
                {"source": 1, "summary": "first", "citations": [1]},
                {"source": 2, "summary": "second", "citations": [2]},
            ],
        }
    ],
    "answerable": True,
}


@pytest.mark.parametrize("ascii_only", [True, False])
@pytest.mark.parametrize("size", [1, 2, 3, 7, 10_000])
def test_structured_answer_text_streams_decoded_across_any_chunk_boundary(
    ascii_only: bool, size: int
) -> None:
    reply = json.dumps(STRUCTURED, ensure_ascii=ascii_only)  # \u escapes and surrogate pairs
    streamed, parsed = read_all(chunked(reply, size))
    assert streamed == STRUCTURED["answer"] == parsed.visible
    assert parsed.protocol == "json" and parsed.notes_found
    assert parsed.notes.disagreements == [
        Disagreement("the agenda", [Position(1, "first", [1]), Position(2, "second", [2])])
    ]


def test_structured_reader_emits_only_the_top_level_answer_string() -> None:
    reader = AnswerTextReader()
    reply = '{"quotes": [{"answer": "nested, not it"}], "note": "answer", "answer": "Yes [1]."}'
    assert "".join(reader.feed(c) for c in chunked(reply, 3)) == "Yes [1]."
    assert reader.answer_done


def test_a_repeated_answer_key_is_not_shown_twice() -> None:
    streamed, parsed = read_all(['{"answer": "Once [1].", "answer": "Twice [1]."}'])
    assert streamed == parsed.visible == "Once [1]."


def test_an_invalid_escape_shows_nothing_of_itself() -> None:
    streamed, _ = read_all(chunked('{"answer": "a\\uZZZZb \\q c"}', 2))
    assert streamed == "ab q c"


def test_a_fenced_json_reply_is_read_as_structured() -> None:
    reply = '```json\n{"answer": "Fenced [1].", "answerable": true}\n```'
    streamed, parsed = read_all(chunked(reply, 2))
    assert parsed.protocol == "json" and streamed == "Fenced [1]."
    assert parsed.notes.answerable is True


def test_a_structured_reply_cut_off_keeps_the_answer_so_far() -> None:
    reply = json.dumps(STRUCTURED)[:40]  # cut inside the answer string
    streamed, parsed = read_all(chunked(reply, 4))
    assert parsed.visible == streamed.strip() and streamed.startswith("Café owners")
    assert parsed.notes.answerable is None


@settings(max_examples=60, deadline=None)
@given(
    answer=st.text(st.characters(exclude_categories=("Cs",)), max_size=60),
    cuts=st.lists(st.integers(1, 9), min_size=1, max_size=40),
)
def test_any_answer_text_survives_any_chunking(answer: str, cuts: list[int]) -> None:
    reply = json.dumps({"answer": answer, "answerable": True})
    pieces, start = [], 0
    for n in cuts * (len(reply) // max(sum(cuts), 1) + 1):
        pieces.append(reply[start : start + n])
        start += n
    pieces.append(reply[start:])
    reader = AnswerTextReader()
    assert "".join(reader.feed(p) for p in pieces) == answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"answer": "The talks [1] st', {"answer": "The talks [1] st"}),
        (
            '{"answer": "x", "quotes": [{"source": 1, "quo',
            {"answer": "x", "quotes": [{"source": 1}]},
        ),
        ('{"answer": "x", "answerable": tr', {"answer": "x"}),
        ('{"answer": "x", "answerable": false', {"answer": "x", "answerable": False}),
        ('{"answer": "caf\\u00', {"answer": "caf"}),
        ('{"answer": "a\\', {"answer": "a"}),
        ('Here you go:\n```json\n{"answerable": true}\n```', {"answerable": True}),
        ("no json at all", None),
        (
            '{"answerable": true, "disagreements": [{"topic": "t"}], {"x": 1}]}',
            {"answerable": True, "disagreements": [{"topic": "t"}]},
        ),
    ],
)
def test_truncated_or_wrapped_json_is_recovered(text: str, expected: object) -> None:
    assert loads_tolerant(text) == expected


def test_notes_coerce_the_near_misses_small_models_write() -> None:
    notes = notes_from(
        {
            "answerable": True,
            "quotes": [{"source": "[2]", "quote": " a span "}, {"source": "two", "quote": "x"}],
            "disagreements": [
                {
                    "topic": "NATO",
                    "positions": [
                        {"source": [1], "summary": "never", "citations": 1},
                        {"source": 3, "summary": "maybe", "citations": ["3", "[4]"]},
                        {"source": 2, "summary": ""},
                    ],
                },
                {"topic": "empty", "positions": []},
            ],
        }
    )
    assert notes.quotes == [QuoteHint(2, "a span")]
    assert notes.disagreements == [
        Disagreement("NATO", [Position(1, "never", [1]), Position(3, "maybe", [3, 4])])
    ]
    assert notes.dropped == 3  # the unnumbered quote, the empty summary, the empty topic


def test_request_options_per_server_family() -> None:
    openai = request_options("openai")["response_format"]
    assert openai["type"] == "json_schema" and openai["json_schema"]["strict"] is True
    assert "maxLength" not in json.dumps(ANSWER_SCHEMA)  # llama.cpp cannot parse its grammar
    assert request_options("llama-cpp-python") == {
        "response_format": {"type": "json_object", "schema": ANSWER_SCHEMA}
    }
    compatible = request_options("compatible")["response_format"]["json_schema"]
    assert compatible["schema"] == ANSWER_SCHEMA and compatible["strict"] is False
    assert next(iter(ANSWER_SCHEMA["properties"])) == "answer"  # streams first


def test_structured_options_by_where_the_model_is() -> None:
    assert structured_options(None) == (request_options("openai"),)
    assert structured_options("https://api.openai.com/v1") == (request_options("openai"),)
    local = structured_options("http://127.0.0.1:8080/v1")
    assert local == tuple(request_options(f) for f in NEGOTIATION_ORDER)
    assert [o["response_format"]["type"] for o in local] == ["json_schema", "json_object"]


# ---- the repetition guard -----------------------------------------------------------------


def feed_until_tripped(guard: RepetitionGuard, pieces: list[str]) -> int | None:
    for n, piece in enumerate(pieces):
        if guard.feed(piece):
            return n
    return None


def test_guard_stops_a_quote_repeated_under_counting_keys() -> None:
    loop = [
        f'"{n}": "Russia will not sign anything that leaves NATO open",\n' for n in range(10, 60)
    ]
    tripped = feed_until_tripped(RepetitionGuard(), [c for line in loop for c in chunked(line, 3)])
    assert tripped is not None and tripped * 3 < 8 * len(loop[0])  # within 8 lines, not 50


def test_guard_stops_a_short_phrase_looping_without_newlines() -> None:
    pieces = chunked("The talks stalled because " + "the talks stalled, " * 60, 4)
    assert feed_until_tripped(RepetitionGuard(), pieces) is not None


def test_guard_leaves_a_long_varied_answer_alone() -> None:
    outlets = ["The Week", "The Nation", "Hot Air", "Foreign Policy", "Statecraft"]
    verbs = ["argues", "reports", "doubts", "suggests", "warns", "notes", "claims"]
    topics = ["the ceasefire", "sanctions", "the envoy", "security guarantees", "the draft"]
    sentences = [
        f"{outlets[n % 5]} {verbs[n % 7]} that {topics[n % 3 + n % 2]} matter [{n % 8 + 1}]. "
        for n in range(40)
    ]
    table = "| Source | View |\n|---|---|\n" + "".join(f"| {o} | mixed |\n" for o in outlets)
    pieces = chunked("".join(sentences) + "\n\n" + table, 5)
    assert feed_until_tripped(RepetitionGuard(), pieces) is None


def test_a_reply_cut_off_at_a_heading_mark_shows_no_stray_decoration() -> None:
    for tail in ("###", "**", "\n\n### "):
        streamed, parsed = read_all(["The talks stalled [1].\n\n", tail])
        assert parsed.visible.rstrip() == "The talks stalled [1]."
        assert streamed.strip() == "The talks stalled [1]."


def test_a_reply_that_copies_its_instructions_is_told_from_one_that_answers() -> None:
    rules = (
        "Answer in concise markdown, in the language of the question, with a marker after "
        "each sentence it supports, and say when the articles do not cover the question."
    )
    assert echoes_instructions(
        "Answer in concise markdown, in the language of the question, "
        "with a marker [1] after each sentence it supports.",
        rules,
    )
    assert not echoes_instructions(
        "The council voted to charge drivers nine dollars a day in the core [1]. Critics "
        "say it falls on night workers, in the language of the question [2].",
        rules,
    )
    assert not echoes_instructions("", rules) and not echoes_instructions("Yes [1].", rules)


@pytest.mark.parametrize("size", [1, 3, 7, 100])
def test_copied_source_delimiters_never_reach_the_reader(size: int) -> None:
    """A real small model copied `<<<END SOURCE [1]>>` into its answer, in JSON and prose."""
    answer = (
        "Sanctions come first [1].\n<<<END SOURCE [1]>>\n\nTalks follow [2].\n  <<SOURCE [3]>>>"
    )
    for reply in (json.dumps({"answer": answer, "quotes": []}), answer + "\n<<<NOTES\n{}"):
        streamed, parsed = read_all([reply[i : i + size] for i in range(0, len(reply), size)])
        assert "SOURCE" not in streamed and "<<" not in streamed
        assert parsed.visible == "Sanctions come first [1].\n\nTalks follow [2]."
        assert streamed.startswith(parsed.visible)


def test_a_line_that_only_opens_with_a_bracket_is_shown_whole() -> None:
    streamed, parsed = read_all(["<b>bold</b> text [1].\n", "<i>an aside</i>\n", "End."])
    assert parsed.visible == streamed == "<b>bold</b> text [1].\n<i>an aside</i>\nEnd."
