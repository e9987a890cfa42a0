"""Turn the model's raw reply into an `Answer` whose citations can be trusted.

The model writes prose with [n] markers and notes (quotes, disagreements, follow-ups), which
the protocol reader has already separated. Markers are validated and renumbered here, every quote is checked against its
passage, and nothing the notes claim survives without a retrieved passage behind it. Pure: no
I/O, and malformed model output never raises.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from dataclasses import replace
from typing import Any

from assistant.protocol import block_number
from assistant.records import Answer, Citation, Disagreement, Mode, Passage, Position
from assistant.text import (
    BRACKET_RE,
    GROUP_RE,
    NUMBER_RE,
    find_quote,
    sentence_spans,
    strip_markers,
)

NOTES_MARKER = "<<<NOTES"
MAX_CITATIONS_PER_SENTENCE = 3
_HEADING_RE = re.compile(r"[ \t]{0,3}#{1,6}[ \t].*|[ \t]*(\*\*|__)[^*_\n]+\1:?[ \t]*")
_DISAGREEMENT_HEADING = "where the sources disagree"
_NOTES_KEYS = ("answerable", "quotes", "disagreements", "follow_ups")
MAX_FOLLOW_UPS = 3
_FOLLOW_UP_CHARS = 200


def build_answer(
    question: str,
    visible: str,
    notes: str,
    passages: list[Passage],
    *,
    mode: Mode,
    model: str | None,
    incomplete: bool = False,
) -> Answer:
    """Assemble the answer from the visible text and the notes tail of one model reply.

    Markers are renumbered by first use, so references read [1], [2], ... down the page.
    """
    visible, marker, rest = visible.partition(NOTES_MARKER)
    if marker and not notes.strip():
        notes = rest
    data, broken = _parse_notes(notes)
    text, numbering, removed = _rewrite_markers(_tidy(visible), len(passages))
    cited_in_text = bool(numbering)
    disagreements = _disagreements(data.get("disagreements"), passages, numbering)
    quotes = _quotes(data.get("quotes"))
    citations = [
        _citation(n, passages[block - 1], quotes.get(block, [])) for block, n in numbering.items()
    ]
    answerable = data.get("answerable")
    sentences, uncited = _count_sentences(text)
    return Answer(
        question=question,
        text=text,
        citations=citations,
        disagreements=disagreements,
        answerable=answerable if isinstance(answerable, bool) else cited_in_text,
        mode=mode,
        model=model,
        passages=list(passages),
        incomplete=incomplete or broken,
        removed_markers=removed,
        uncited_sentences=uncited,
        sentences=sentences,
        suggestions=_follow_ups(data.get("follow_ups")) if cited_in_text else [],
    )


def format_references(answer: Answer) -> str:
    """Plain-text reference list for the CLI and copy-paste."""
    lines = []
    for c in answer.citations:
        line = f"[{c.n}] {c.source.outlet} — {c.source.title}"
        if c.source.published:
            line += f" ({c.source.published})"
        if not line.endswith((".", "?", "!")):
            line += "."
        if c.quote:
            line += f' "{c.quote}"'
        if not c.verified:
            line += " (unverified)"
        if c.source.url:
            line += f" {c.source.url}"
        lines.append(line)
    return "\n".join(lines)


def _tidy(visible: str) -> str:
    """Trim, and drop a code fence left open by a model that fenced its notes."""
    text = visible.strip()
    if text.count("```") % 2 and text.rsplit("\n", 1)[-1].lstrip().startswith("```"):
        text = text.rsplit("\n", 1)[0].rstrip() if "\n" in text else ""
    return text


def _parse_notes(notes: str) -> tuple[dict[str, Any], bool]:
    """(the notes, broken?); what survives of truncated JSON is kept key by key."""
    raw = re.sub(r"^```[A-Za-z]*|```$", "", notes.strip()).strip()
    if not raw:
        return {}, False
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return _salvage(raw), True
    return (data, False) if isinstance(data, dict) else ({}, True)


def _salvage(raw: str) -> dict[str, Any]:
    decoder = json.JSONDecoder()
    found: dict[str, Any] = {}
    for key in _NOTES_KEYS:
        match = re.search(rf'"{key}"\s*:\s*', raw)
        if match is None:
            continue
        try:
            found[key] = decoder.raw_decode(raw, match.end())[0]
        except (ValueError, RecursionError):
            continue
    return found


def segments(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, is_sentence) for each sentence and heading, line by line."""
    found = []
    offset = 0
    for line in text.split("\n"):
        if _HEADING_RE.fullmatch(line) or _is_disagreement_heading(line):
            found.append((offset, offset + len(line), False))
        else:
            found.extend((offset + s, offset + e, True) for s, e in sentence_spans(line))
        offset += len(line) + 1
    return found


def _is_disagreement_heading(line: str) -> bool:
    return re.sub(r"[#*_:\s]+", " ", line).strip().lower() == _DISAGREEMENT_HEADING


def _rewrite_markers(text: str, count: int) -> tuple[str, dict[int, int], list[int]]:
    """Validate, cap and renumber markers.

    Returns the rewritten text, {source block: new number} in order of first use, and the
    out-of-range numbers that were removed.
    """
    ends = [end for _, end, _ in segments(text)]
    numbering: dict[int, int] = {}
    removed: list[int] = []
    pieces: list[str] = []
    emitted: set[int] = set()  # offsets in the output of the markers written here
    length = cursor = 0
    sentence = -1
    used: list[int] = []
    for match in GROUP_RE.finditer(text):
        here = bisect_right(ends, match.start("body"))
        if here != sentence:
            sentence, used = here, []
        kept = []
        for found in NUMBER_RE.finditer(match["body"]):
            block = int(found[0])
            if not 1 <= block <= count:
                if block not in removed:
                    removed.append(block)
            elif block not in used and len(used) < MAX_CITATIONS_PER_SENTENCE:
                used.append(block)
                kept.append(numbering.setdefault(block, len(numbering) + 1))
        pieces.append(text[cursor : match.start()] + ((match["lead"] or "") if kept else ""))
        length += len(pieces[-1])
        for n in kept:
            emitted.add(length)
            pieces.append(f"[{n}]")
            length += len(pieces[-1])
        cursor = match.end()
        if not kept and (match.start() == 0 or text[match.start() - 1] == "\n"):
            while cursor < len(text) and text[cursor] in " \t":
                cursor += 1
    pieces.append(text[cursor:])
    # Deleting a marker can glue stray brackets into a new one ("[[9]1]" -> "[1]") that would
    # point at the wrong source: brackets not written here become parentheses.
    return (
        BRACKET_RE.sub(
            lambda m: m[0] if m.start() in emitted else f"({m[0][1:-1]})", "".join(pieces)
        ),
        numbering,
        removed,
    )


def _count_sentences(text: str) -> tuple[int, int]:
    """(sentences, sentences without a marker), headings excluded."""
    sentences = uncited = 0
    for start, end, is_sentence in segments(text):
        segment = text[start:end]
        if not is_sentence or not any(ch.isalnum() for ch in BRACKET_RE.sub("", segment)):
            continue
        sentences += 1
        uncited += BRACKET_RE.search(segment) is None
    return sentences, uncited


def _follow_ups(raw: object) -> list[str]:
    """The model's suggested next questions: short, one line, no markers, at most three."""
    if not isinstance(raw, list):
        return []
    found = []
    for item in raw:
        if isinstance(item, str):
            question = " ".join(strip_markers(item).split())
            if 0 < len(question) <= _FOLLOW_UP_CHARS and question not in found:
                found.append(question)
    return found[:MAX_FOLLOW_UPS]


def _quotes(raw: object) -> dict[int, list[str]]:
    if not isinstance(raw, dict):
        return {}
    quotes: dict[int, list[str]] = {}
    for key, value in raw.items():
        block = block_number(key)
        items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        texts = [q.strip() for q in items if isinstance(q, str) and q.strip()]
        if block is not None and texts:
            quotes.setdefault(block, []).extend(texts)
    return quotes


def _citation(n: int, passage: Passage, quotes: list[str]) -> Citation:
    """Shows the first quote that checks out, else the first one, marked unverified."""
    for quote in quotes:
        if span := find_quote(quote, passage.text):
            return Citation(n, passage, quote, True, span)
    return Citation(n, passage, quotes[0] if quotes else "", False)


def _disagreements(
    raw: object, passages: list[Passage], numbering: dict[int, int]
) -> list[Disagreement]:
    """Disagreements between at least two distinct sources, each position tied to a passage.

    A block cited only by a kept position gets the next free number, so every position's
    citation resolves to a reference.
    """
    if not isinstance(raw, list):
        return []
    found = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("positions"), list):
            continue
        positions = [
            position
            for entry in item["positions"]
            if (position := _position(entry, passages)) is not None
        ]
        if len({p.source_id for p in positions}) < 2:
            continue
        renumbered = [
            replace(p, citations=[numbering.setdefault(b, len(numbering) + 1) for b in p.citations])
            for p in positions
        ]
        topic = item.get("topic")
        found.append(Disagreement(topic.strip() if isinstance(topic, str) else "", renumbered))
    return found


def _position(raw: object, passages: list[Passage]) -> Position | None:
    """A position with its citations still as source block numbers (the source's, if none)."""
    if not isinstance(raw, dict):
        return None
    source = block_number(raw.get("source"))
    summary = raw.get("summary")
    if source is None or not 1 <= source <= len(passages) or not isinstance(summary, str):
        return None
    summary = " ".join(GROUP_RE.sub("", summary).split())
    if not summary:
        return None
    cited = raw.get("citations")
    blocks = [block_number(c) for c in cited] if isinstance(cited, list) else []
    valid = [b for b in blocks if b is not None and 1 <= b <= len(passages)]
    passage = passages[source - 1]
    return Position(
        source_id=passage.source.id,
        outlet=passage.source.outlet,
        summary=summary,
        citations=list(dict.fromkeys(valid)) or [source],
    )
