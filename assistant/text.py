"""Text primitives every layer shares: citation markers, sentences, normalising, quotes.

One implementation of each, so that the parser, the extractive writer, the highlight in the
app and the text-fragment link can never disagree about where a sentence ends, what counts
as a marker, or where a quote sits in its passage.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from difflib import SequenceMatcher

# ---- citation markers -------------------------------------------------------------------

_NUMBER = r"\d{1,6}"
# `[1]` or `[1, 2]`; never `\[1\]`, which is an article's own bracketed number, escaped.
_BRACKET = rf"(?<!\\)\[[ \t]*{_NUMBER}(?:[ \t]*,[ \t]*{_NUMBER})*[ \t]*\]"
BRACKET_RE = re.compile(_BRACKET)
NUMBER_RE = re.compile(_NUMBER)
# A run of adjacent markers, `[1, 2]`, `[1][3]` or `[1] [3]`, with the spaces before it.
GROUP_RE = re.compile(rf"(?P<lead>(?<![ \t])[ \t]+)?(?P<body>{_BRACKET}(?:[ \t]*{_BRACKET})*)")
# The unfinished start of a marker at the end of streamed text (`… peace [1`).
OPEN_MARKER_RE = re.compile(r"(?<!\\)\[[\d,\s]*$")
_ARTICLE_BRACKETS = re.compile(r"\[([^\[\]\n]{0,40})\]")


def marker_numbers(text: str) -> list[int]:
    """Every number cited in `text`, in order of appearance (repeats kept)."""
    return [int(n) for m in BRACKET_RE.finditer(text) for n in NUMBER_RE.findall(m[0])]


def strip_markers(text: str) -> str:
    """`text` without its citation markers (and the spaces that led up to them)."""
    return GROUP_RE.sub("", text)


def escape_brackets(text: str) -> str:
    """Article text shown in an answer: its own `[3]` footnotes must not read as citations.

    Markdown renders `\\[3\\]` as `[3]`, and the marker pattern skips it.
    """
    return _ARTICLE_BRACKETS.sub(lambda m: f"\\[{m[1]}\\]", text)


# ---- normalising ------------------------------------------------------------------------

_STRAIGHTEN = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "–": "-",
        "—": "-",
        "‒": "-",
        "―": "-",
        "\u00a0": " ",
    }
)
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))


def normalize(text: str) -> str:
    """Fold the differences copying introduces: case, typography, invisible characters,
    whitespace. Used to compare a model's quote, an eval snippet or a cleaned line."""
    return " ".join(_fold(text).split())


def _fold(text: str) -> str:
    return text.translate(_INVISIBLE).translate(_STRAIGHTEN).replace("…", "...").lower()


def _normalized_with_offsets(text: str) -> tuple[str, list[int]]:
    """`normalize(text)` and, for each of its characters, the offset it came from."""
    chars: list[str] = []
    offsets: list[int] = []
    pending_space = False
    for i, ch in enumerate(text):
        folded = _fold(ch)
        if not folded:
            continue
        if folded.isspace():
            pending_space = bool(chars)
            continue
        if pending_space:
            chars.append(" ")
            offsets.append(i)
            pending_space = False
        for c in folded:
            chars.append(c)
            offsets.append(i)
    return "".join(chars), offsets


# ---- sentences --------------------------------------------------------------------------

# Words that end in a full stop without ending a sentence ("Sen. Marsha Blackburn").
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "sen",
        "rep",
        "reps",
        "gov",
        "gen",
        "col",
        "lt",
        "sgt",
        "capt",
        "cmdr",
        "adm",
        "maj",
        "st",
        "jr",
        "sr",
        "prof",
        "pres",
        "rev",
        "hon",
        "amb",
        "sec",
        "supt",
        "det",
        "insp",
        "vol",
        "vols",
        "pp",
        "p",
        "fig",
        "figs",
        "approx",
        "est",
        "dept",
        "univ",
        "assn",
        "bros",
        "co",
        "corp",
        "inc",
        "ltd",
        "llc",
        "plc",
        "vs",
        "etc",
        "al",
        "e.g",
        "i.e",
        "cf",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "mon",
        "tue",
        "tues",
        "wed",
        "thu",
        "thur",
        "thurs",
        "fri",
        "sat",
        "sun",
        "mt",
        "ft",
        "ave",
        "blvd",
        "rd",
    ]
)
# Words that open a sentence after a dotted abbreviation ("in the U.S. The next day").
_SENTENCE_OPENERS = frozenset(
    [
        "the",
        "a",
        "an",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "he",
        "she",
        "they",
        "we",
        "i",
        "you",
        "his",
        "her",
        "their",
        "our",
        "but",
        "and",
        "yet",
        "so",
        "in",
        "on",
        "at",
        "for",
        "after",
        "before",
        "when",
        "while",
        "if",
        "as",
        "there",
        "here",
        "what",
        "why",
        "how",
        "who",
        "meanwhile",
        "still",
        "however",
    ]
)
_ENDS = ".!?…"
_CLOSING = "\"'”’)*_"  # closing quotes, a parenthesis, Markdown emphasis
_CLOSERS = re.escape(_CLOSING) + r"\]"
_BOUNDARY_RE = re.compile(rf"[{_ENDS}]+[{_CLOSERS}]*(?:[ \t]*{_BRACKET})*(?=\s+\S|\s*$)")


def marker_offset(text: str, start: int, end: int) -> int:
    """Where a citation marker goes in the sentence `text[start:end]`: before its closing
    punctuation, quotes and trailing space, where the model's own markers stand."""
    at = end
    while at > start and text[at - 1] in _ENDS + _CLOSING + " \t":
        at -= 1
    return at


def _ends_sentence(text: str, punct_at: int, after: int) -> bool:
    """Whether the punctuation at `punct_at` ends a sentence, given what follows from `after`."""
    nxt = text[after:].lstrip()
    if not nxt:
        return True
    if nxt[0].islower() or nxt[0] in ",;:":
        return False  # "e.g. the", "“Really?” he asked"
    if text[punct_at] != ".":
        return True
    word_start = punct_at
    while (
        word_start > 0
        and not text[word_start - 1].isspace()
        and text[word_start - 1] not in "(\"“'‘"
    ):
        word_start -= 1
    word = text[word_start:punct_at].lower()
    if not word:
        return True
    if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
        return False  # "Sen.", "J. D. Vance"
    if re.fullmatch(r"(?:[a-z]\.)+[a-z]", word):  # "U.S", "e.g"
        first = re.match(r"[\w'’]+", nxt)
        return bool(first) and first[0].lower() in _SENTENCE_OPENERS
    return True


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence; lines are never joined (a heading is its own span).

    Keeps abbreviations ("U.S. President", "Sen. Marsha"), initials ("J. D. Vance"),
    decimals ("3.5"), and quotations closing after the full stop intact; citation markers
    that follow a sentence's full stop stay with that sentence.
    """
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        start = 0
        for match in _BOUNDARY_RE.finditer(line):
            if match.start() == match.end():
                continue
            punct = match.start()
            if not _ends_sentence(line, punct, match.end()):
                continue
            if line[start : match.end()].strip():
                spans.append(_trimmed(line, start, match.end(), offset))
            start = match.end()
        if line[start:].strip():
            spans.append(_trimmed(line, start, len(line), offset))
        offset += len(line) + 1
    return spans


def _trimmed(line: str, start: int, end: int, offset: int) -> tuple[int, int]:
    while start < end and line[start].isspace():
        start += 1
    while end > start and line[end - 1].isspace():
        end -= 1
    return offset + start, offset + end


def split_sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


# ---- quotes -----------------------------------------------------------------------------

# Quotes shorter than this match too many places to prove anything.
MIN_QUOTE_WORDS = 3
# Tolerates a changed word or dropped punctuation in a quote, not a paraphrase.
FUZZY_THRESHOLD = 0.9
# Words and numbers that flip a claim while barely moving the similarity ratio
# ("will accept" vs "will not accept"): a fuzzy match must keep them exactly.
_MEANING_RE = re.compile(r"\b(?:not|no|never|nor|none|nothing|neither|without)\b|n't|\d+")


def find_quote(quote: str, text: str) -> tuple[int, int] | None:
    """The span of `text` that `quote` reproduces, up to typography and small slips.

    Parts separated by an ellipsis must each occur, in order; the span runs from the first
    part's start to the last part's end. None when the quote is too short to prove anything
    or does not occur: the highlight, the verification and the link all use this one answer.
    """
    parts = [p.strip(" \"'[]") for p in re.split(r"\.{3,}", normalize(quote))]
    parts = [p for p in parts if p]
    if sum(len(p.split()) for p in parts) < MIN_QUOTE_WORDS:
        return None
    folded, offsets = _normalized_with_offsets(text)
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", folded)]
    cursor = 0
    first: int | None = None
    for part in parts:
        at = folded.find(part, cursor)
        if at >= 0:
            span = (at, at + len(part))
        else:
            span = _fuzzy_span(part, folded, words, cursor)
            if span is None:
                return None
        first = span[0] if first is None else first
        cursor = span[1]
    assert first is not None
    return offsets[first], offsets[cursor - 1] + 1


def _fuzzy_span(
    part: str, text: str, words: list[tuple[int, int]], cursor: int
) -> tuple[int, int] | None:
    """The first window of about the part's length that matches it closely."""
    size = len(part.split())
    if size < MIN_QUOTE_WORDS:
        return None
    matcher = SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(part)
    meaning = _MEANING_RE.findall(part)
    for i in range(bisect_left(words, (cursor, cursor)), len(words)):
        for width in (size, size - 1, size + 1):
            j = i + width - 1
            if j >= len(words):
                continue
            window = text[words[i][0] : words[j][1]]
            matcher.set_seq1(window)
            if (
                matcher.real_quick_ratio() >= FUZZY_THRESHOLD
                and matcher.quick_ratio() >= FUZZY_THRESHOLD
                and matcher.ratio() >= FUZZY_THRESHOLD
                and _MEANING_RE.findall(window) == meaning
            ):
                return words[i][0], words[j][1]
    return None
