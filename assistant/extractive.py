"""Offline answers: the retrieved passages' sentences that answer the question, quoted
verbatim and cited.

No model writes anything, so nothing can come from outside the articles. The answer is built
from records (each quote is a span of its passage), never printed and parsed back, so nothing
an article contains (`<<<NOTES`, its own `[3]` footnotes) can steer how it is read.

Sentences are picked by relevance to the question across all passages: the best sentence of
the best passage always, then others while they stay close to the best one, so a narrow
question gets one or two quotes rather than six. Headlines, titles, standfirsts and lines
that only ask a question are never quoted. Quotes are grouped by outlet only when several
outlets address the question.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assistant.records import Citation, Passage
from assistant.text import escape_brackets, normalize, sentence_spans
from store.embeddings import Embedder

NOTICE = (
    "Extractive answer: no language model is configured, so Parallax shows the most relevant "
    "sentences of the articles, quoted verbatim, instead of writing an answer."
)
NOT_COVERED = (
    "The articles in this library do not cover this question, so Parallax cannot answer it "
    "from them."
)
MAX_QUOTES = 5
# A sentence must score this share of the best sentence's similarity to be quoted.
RELATIVE_FLOOR = 0.8
MIN_CHARS, MAX_CHARS = 30, 600
_TERMINAL = (".", "!", "…", '."', ".”", ".’", "!”", '!"', ".)", "…”")


@dataclass(frozen=True)
class Candidate:
    passage: Passage
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.passage.text[self.start : self.end]


@dataclass(frozen=True)
class Extract:
    """An extractive answer's visible markdown and the citations its markers point to."""

    text: str
    citations: list[Citation]


def candidates(passage: Passage) -> list[Candidate]:
    """The passage's quotable sentences: prose that states something, not headings,
    titles, standfirsts or questions."""
    title = normalize(passage.source.title)
    found = []
    offset = 0
    for line in passage.text.split("\n"):
        body = line.strip()
        if body and not body.startswith("#") and body.endswith(_TERMINAL):
            for s, e in sentence_spans(line):
                sentence = line[s:e]
                if (
                    MIN_CHARS <= len(sentence) <= MAX_CHARS
                    and not sentence.rstrip("”\"’')").endswith(("?", ":"))
                    and normalize(sentence) != title
                ):
                    found.append(Candidate(passage, offset + s, offset + e))
        offset += len(line) + 1
    return found


def extract(query: str, passages: list[Passage], embedder: Embedder) -> Extract | None:
    """Quotes that answer `query`, or None when no passage has a quotable sentence."""
    pool: list[Candidate] = []
    seen: set[str] = set()
    for passage in passages:  # rank order: a sentence repeated by an overlap keeps its best
        for candidate in candidates(passage):
            key = normalize(candidate.text)
            if key not in seen:
                seen.add(key)
                pool.append(candidate)
    if not pool:
        return None
    vectors = np.array(embedder.embed_documents([query] + [c.text for c in pool]))
    scores = vectors[1:] @ vectors[0]
    order = sorted(range(len(pool)), key=lambda i: -scores[i])
    top_passage = passages[0].chunk_id
    lead = next((i for i in order if pool[i].passage.chunk_id == top_passage), order[0])
    floor = RELATIVE_FLOOR * float(scores[order[0]])
    chosen = [lead] + [i for i in order if i != lead and scores[i] >= floor]
    chosen = chosen[:MAX_QUOTES]
    return _write([pool[i] for i in chosen], [float(scores[i]) for i in chosen])


def _write(picks: list[Candidate], scores: list[float]) -> Extract:
    """Markdown with one numbered quote per line, grouped by outlet when several speak."""
    outlets: dict[str, list[tuple[float, Candidate]]] = {}
    for score, pick in zip(scores, picks, strict=True):
        outlets.setdefault(pick.passage.source.outlet, []).append((score, pick))
    groups = sorted(outlets.values(), key=lambda items: -max(s for s, _ in items))
    lines: list[str] = []
    citations: list[Citation] = []
    grouped = len(groups) > 1
    if grouped:
        lines.append("### How the sources see it")
    for items in groups:
        if grouped:
            source = items[0][1].passage.source
            lines.append(
                f"\n#### {source.outlet}" + (f" ({source.byline})" if source.byline else "")
            )
        for _, pick in sorted(items, key=lambda item: -item[0]):
            n = len(citations) + 1
            citations.append(Citation(n, pick.passage, pick.text, True, (pick.start, pick.end)))
            lines.append(f"- “{escape_brackets(' '.join(pick.text.split()))}” [{n}]")
    return Extract("\n".join(lines).strip(), citations)
