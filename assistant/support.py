"""Does the cited passage say what the sentence claims? Parallax decides, not the model.

A model's citation is a claim about a passage; its quote is a hint of where to look. For
each cited sentence, Parallax scores every window of one or two of the passage's sentences
(and the span the model quoted, when it is really there) and keeps the best:

- lexical: the share of the sentence's content words (light stems; stopwords, attribution
  verbs and the source's own outlet and author left out, as a summary adds those) that the
  window contains;
- semantic: the embedding cosine between sentence and window, which carries paraphrase.

The two are blended with `LEXICAL_WEIGHT` and the blend must reach `THRESHOLD`. Both were
chosen on hand-labelled pairs of the shipped articles (`tests/support/calibration_pairs.jsonl`)
and are reported on pairs from articles never used for choosing (`heldout_pairs.jsonl`) by
`parallax eval` (see `assistant.evaluation.support_report`). They belong to the default
embedding model, all-MiniLM-L6-v2. A number the claim states that the passage never does
vetoes support outright: a changed figure is the commonest wrong citation and barely moves
either score.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from assistant.records import Source
from assistant.text import find_quote, normalize, sentence_spans, strip_markers
from store.embeddings import Embedder

LEXICAL_WEIGHT = 0.3
THRESHOLD = 0.64
WINDOW = 2  # sentences: a claim often joins two adjacent ones

_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_POSSESSIVE_RE = re.compile(r"'s?\b")
_NUMBER_RE = re.compile(r"\d[\d,.]*\d|\d")
# Function words, and the verbs and phrases a summary uses to attribute a view: neither is
# evidence that the passage says what the sentence says.
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "into",
        "onto",
        "over",
        "under",
        "about",
        "than",
        "then",
        "that",
        "this",
        "these",
        "those",
        "there",
        "here",
        "it",
        "its",
        "it's",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "will",
        "would",
        "shall",
        "should",
        "can",
        "could",
        "may",
        "might",
        "must",
        "not",
        "no",
        "nor",
        "so",
        "such",
        "which",
        "who",
        "whom",
        "whose",
        "what",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "both",
        "each",
        "few",
        "more",
        "most",
        "other",
        "some",
        "own",
        "same",
        "too",
        "very",
        "just",
        "also",
        "only",
        "even",
        "still",
        "yet",
        "again",
        "further",
        "once",
        "he",
        "she",
        "they",
        "them",
        "his",
        "her",
        "their",
        "theirs",
        "we",
        "us",
        "our",
        "you",
        "your",
        "i",
        "me",
        "my",
        "mine",
        "one",
        "ones",
        "s",
        "according",
        "argue",
        "argues",
        "argued",
        "arguing",
        "say",
        "says",
        "said",
        "saying",
        "write",
        "writes",
        "wrote",
        "written",
        "note",
        "notes",
        "noted",
        "claim",
        "claims",
        "claimed",
        "suggest",
        "suggests",
        "suggested",
        "believe",
        "believes",
        "believed",
        "contend",
        "contends",
        "contended",
        "state",
        "states",
        "stated",
        "report",
        "reports",
        "reported",
        "describe",
        "describes",
        "described",
        "warn",
        "warns",
        "warned",
        "insist",
        "insists",
        "insisted",
        "maintain",
        "maintains",
        "maintained",
        "point",
        "points",
        "pointed",
        "out",
        "article",
        "author",
        "outlet",
        "piece",
        "columnist",
        "writer",
        "opinion",
        "view",
        "views",
    ]
)


@dataclass(frozen=True)
class Support:
    """The best window of a passage for one claim, and whether it clears the threshold."""

    span: tuple[int, int]
    lexical: float
    semantic: float
    supported: bool

    @property
    def score(self) -> float:
        return blend(self.lexical, self.semantic)


def blend(lexical: float, semantic: float, weight: float = LEXICAL_WEIGHT) -> float:
    return weight * lexical + (1 - weight) * semantic


@cache
def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def content_words(text: str, ignore: frozenset[str] = frozenset()) -> set[str]:
    words = _WORD_RE.findall(_POSSESSIVE_RE.sub("", normalize(text)))
    return {_stem(w) for w in words if len(w) > 1 and w not in _STOPWORDS and w not in ignore}


_NAME_RE = re.compile(r"(?<=[\w,;:] )[A-Z][\w'’-]*")


def names(text: str) -> set[str]:
    """Capitalised words past a sentence's first, as content words: the people, places and
    bodies a sentence names."""
    return {w for m in _NAME_RE.findall(text) for w in content_words(m)}


def numbers(text: str) -> set[str]:
    return {n.replace(",", "").rstrip(".") for n in _NUMBER_RE.findall(text)}


def source_words(source: Source) -> frozenset[str]:
    """Words of the source's outlet and author: attribution, not evidence."""
    names = f"{source.outlet} {source.author or ''}".lower()
    return frozenset(_WORD_RE.findall(normalize(names)))


def windows(text: str, hint: str | None = None) -> list[tuple[int, int]]:
    """Every run of one to `WINDOW` adjacent sentences, and the hint's span if it is there."""
    spans = sentence_spans(text) or [(0, len(text))]
    found = [
        (spans[i][0], spans[min(i + size, len(spans)) - 1][1])
        for size in range(1, WINDOW + 1)
        for i in range(len(spans) - size + 1)
    ]
    if hint and (span := find_quote(hint, text)) and span not in found:
        found.append(span)
    return found


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


@dataclass(frozen=True)
class Check:
    """One claim to check against one passage."""

    claim: str
    passage: str
    source: Source | None = None
    hint: str | None = None


@dataclass(frozen=True)
class Scored:
    """A check's windows with both scores, before any weight or threshold is applied."""

    windows: list[tuple[tuple[int, int], float, float]]  # (span, lexical, semantic)
    vetoed: bool  # states a number or a name the passage never does
    empty: bool  # no content words to check

    def best(self, weight: float = LEXICAL_WEIGHT, threshold: float = THRESHOLD) -> Support:
        if not self.windows:
            return Support((0, 0), 0.0, 0.0, False)
        span, lexical, semantic = max(self.windows, key=lambda w: blend(w[1], w[2], weight))
        ok = not self.vetoed and not self.empty and blend(lexical, semantic, weight) >= threshold
        return Support(span, lexical, semantic, ok)


Vectors = dict[str, Sequence[float]]


def score(
    checks: Sequence[Check], embedder: Embedder, known: Vectors | None = None
) -> list[Scored]:
    """Both scores for every window of every check, each distinct text embedded once (a
    passage checked against many sentences is embedded a single time). `known` carries
    the vectors across calls: one answer is checked twice, its uncited sentences against
    every passage and then each citation against its own."""
    claims = [strip_markers(c.claim).strip() for c in checks]
    spans = [windows(c.passage, c.hint) for c in checks]
    vector = {} if known is None else known
    texts = list(
        dict.fromkeys(
            claims
            + [c.passage[s:e] for c, found in zip(checks, spans, strict=True) for s, e in found]
        )
    )
    new = [t for t in texts if t not in vector]
    vector.update(zip(new, embedder.embed_documents(new) if new else [], strict=True))
    results = []
    for claim, check, found in zip(claims, checks, spans, strict=True):
        ignore = source_words(check.source) if check.source else frozenset()
        words = content_words(claim, ignore)
        scored = []
        for s, e in found:
            window = check.passage[s:e]
            lexical = len(words & content_words(window)) / len(words) if words else 0.0
            scored.append(((s, e), lexical, _cosine(vector[claim], vector[window])))
        # A figure or a name the passage never mentions: the commonest wrong citation, and
        # one that barely moves either score.
        named = names(claim) - ignore
        passage_words = content_words(check.passage)
        vetoed = not numbers(claim) <= numbers(check.passage) or not named <= passage_words
        results.append(Scored(scored, vetoed, not words))
    return results


def find_support(
    checks: Sequence[Check], embedder: Embedder, known: Vectors | None = None
) -> list[Support]:
    """The best-supporting window of each check's passage, and whether it supports it."""
    return [scored.best() for scored in score(checks, embedder, known)]
