"""Offline answers: the passages' most relevant sentences, quoted verbatim and cited.

No model writes anything, so nothing can come from outside the articles; each quote is
the cited sentence itself. Sentences are picked per outlet first, so that a question the
outlets answer differently shows each of them.
"""

from __future__ import annotations

import json
import re

import numpy as np

from assistant.records import Passage
from store.embeddings import Embedder

NOTICE = (
    "Extractive answer: no language model is configured, so Parallax shows the most relevant "
    "sentences of the articles, quoted verbatim, instead of writing an answer. Set "
    "OPENAI_API_KEY (or OPENAI_BASE_URL for a local server such as Ollama) in .env for "
    "written answers."
)
NOT_COVERED = (
    "The articles in this library do not cover this question, so Parallax cannot answer it "
    "from them."
)
MAX_SENTENCES = 6
PER_OUTLET = 2
RELATIVE_FLOOR = 0.6  # a sentence must score this share of the best one to be shown
_SENTENCE = re.compile(r"(?<=[.!?…])[”\"’)]?\s+(?=[“\"‘(]?[A-Z0-9])")


def sentences(text: str) -> list[str]:
    parts = []
    for paragraph in text.split("\n"):
        parts.extend(s.strip() for s in _SENTENCE.split(paragraph))
    return [_balanced(s) for s in parts if 30 <= len(s) <= 600 and not s.endswith(":")]


def _balanced(sentence: str) -> str:
    """Drop a quotation mark whose partner lies in the neighbouring sentence."""
    if sentence.endswith("”") and sentence.count("”") > sentence.count("“"):
        sentence = sentence[:-1]
    if sentence.startswith("“") and sentence.count("“") > sentence.count("”"):
        sentence = sentence[1:]
    return sentence


def extract(query: str, passages: list[Passage], embedder: Embedder) -> tuple[str, str]:
    """(visible markdown with [n] markers, notes JSON) in the format the LLM also writes."""
    candidates = [(n, s) for n, p in enumerate(passages, start=1) for s in sentences(p.text)]
    if not candidates:
        return NOT_COVERED, json.dumps({"answerable": False, "quotes": {}, "disagreements": []})
    vectors = np.array(embedder.embed_documents([query] + [s for _, s in candidates]))
    scores = vectors[1:] @ vectors[0]
    best_per_passage: dict[int, tuple[float, str]] = {}
    for (n, sentence), score in zip(candidates, scores, strict=True):
        if n not in best_per_passage or score > best_per_passage[n][0]:
            best_per_passage[n] = (float(score), sentence)
    floor = max(s for s, _ in best_per_passage.values()) * RELATIVE_FLOOR

    by_outlet: dict[str, list[tuple[float, int, str]]] = {}
    for n, (score, sentence) in best_per_passage.items():
        if score >= floor:
            by_outlet.setdefault(passages[n - 1].outlet, []).append((score, n, sentence))
    ranked = sorted(by_outlet.items(), key=lambda item: -max(s for s, _, _ in item[1]))
    chosen: list[tuple[str, list[tuple[float, int, str]]]] = []
    total = 0
    for outlet, picks in ranked:
        picks = sorted(picks, reverse=True)[: min(PER_OUTLET, MAX_SENTENCES - total)]
        if picks:
            chosen.append((outlet, picks))
            total += len(picks)

    lines: list[str] = []
    if len(chosen) > 1:
        lines.append("### How the sources see it")
    for outlet, picks in chosen:
        passage = passages[picks[0][1] - 1]
        byline = ", ".join(x for x in (passage.author, passage.published) if x)
        lines.append(f"\n#### {outlet}" + (f" ({byline})" if byline else ""))
        lines.extend(f"- “{sentence}” [{n}]" for _, n, sentence in picks)
    quotes = {str(n): sentence for _, picks in chosen for _, n, sentence in picks}
    notes = json.dumps({"answerable": True, "quotes": quotes, "disagreements": []})
    return "\n".join(lines).strip(), notes
