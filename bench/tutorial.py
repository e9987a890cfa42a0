"""Section 5: the LangChain RAG-tutorial pipeline beside Parallax, on the same dev questions.

Tutorial: raw files as they are (no cleaning), RecursiveCharacterTextSplitter(1000, 200),
langchain_chroma.Chroma in a temp folder with the same MiniLM model, similarity_search(k=8).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from assistant.citations import normalize
from assistant.evaluation import score_retrieval, summarize_retrieval
from assistant.records import Passage
from bench.common import ARTICLES, Row, latencies, log, p50_p95, pct, questions
from bench.ingest import Shipped
from bench.retrieval import dev_queries
from store.articles import source_id_for
from store.embeddings import Embedder

SECTION = "5 vs tutorial"
BOILERPLATE_DEFINITION = (
    "A chunk counts as boilerplate when less than half of its characters lie in pieces that "
    "occur in Parallax's cleaned text of its source: the chunk is split at sentence ends "
    "([.!?] + space) and line breaks, each piece is normalised (assistant.citations.normalize: "
    "case, whitespace, typographic quotes/dashes) and looked up as a substring of the "
    "normalised `store.ingest.prepare(article).cleaned.text`."
)
_PIECES = re.compile(r"(?<=[.!?])\s+|\n+")


class MiniLMEmbeddings(Embeddings):
    """LangChain adapter around Parallax's own embedder, so both pipelines share one model."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_documents(list(texts))

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text)


def article_share(text: str, cleaned: str) -> float:
    """Share of `text`'s characters in pieces found in the normalised cleaned article."""
    pieces = [p for p in (normalize(s) for s in _PIECES.split(text)) if p]
    total = sum(len(p) for p in pieces)
    return sum(len(p) for p in pieces if p in cleaned) / total if total else 1.0


def _as_passages(docs: list[Document]) -> list[Passage]:
    return [
        Passage(
            chunk_id=f"tutorial-{rank}",
            source_id=str(d.metadata["source"]),
            title="",
            outlet="",
            author=None,
            published=None,
            url=None,
            text=d.page_content,
            start=0,
            end=0,
            rank=rank,
        )
        for rank, d in enumerate(docs, start=1)
    ]


def _fmt(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def bench_tutorial(tmp: Path, shipped: Shipped, parallax_latency: list[float]) -> list[Row]:
    from langchain_chroma import Chroma
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    log("tutorial: split and index the raw files")
    docs = [
        Document(page_content=path.read_text(encoding="utf-8"), metadata={"source": path.stem})
        for path in sorted(ARTICLES.glob("*.txt"))
    ]
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(
        docs
    )
    started = time.perf_counter()
    store = Chroma(
        collection_name="tutorial",
        embedding_function=MiniLMEmbeddings(shipped.embedder),
        persist_directory=str(tmp / "tutorial-chroma"),
    )
    store.add_documents(splits)
    index_s = time.perf_counter() - started

    log("tutorial: dev-set retrieval quality, both pipelines")
    tutorial_scores, parallax_scores = [], []
    for q in questions():
        tutorial_scores.append(
            score_retrieval(q, _as_passages(store.similarity_search(q.question, k=8)), True)
        )
        r = shipped.assistant.retrieve(q.question)
        parallax_scores.append(score_retrieval(q, r.passages, r.answerable))
    tut, par = summarize_retrieval(tutorial_scores), summarize_retrieval(parallax_scores)

    cleaned = {p.article.meta.id: normalize(p.cleaned.text) for p in shipped.prepared}

    def boilerplate(pairs: list[tuple[str, str]]) -> str:
        flagged = sum(1 for sid, text in pairs if article_share(text, cleaned[sid]) < 0.5)
        return f"{flagged}/{len(pairs)} ({flagged / len(pairs):.0%})"

    tutorial_pairs = [(source_id_for(str(d.metadata["source"])), d.page_content) for d in splits]
    parallax_pairs = [(c.source.id, c.text) for c in shipped.assistant.chunks()]

    log("tutorial: query latency")
    latency = latencies(lambda q: store.similarity_search(q, k=8), dev_queries(100))

    r5_gain = par["evidence_recall@5"] - tut["evidence_recall@5"]
    both = "tutorial {} · Parallax {}"
    return [
        Row(
            SECTION,
            "chunks indexed",
            both.format(len(splits), len(parallax_pairs)) + f" (tutorial indexing {index_s:.1f} s)",
        ),
        Row(
            SECTION,
            "boilerplate chunks indexed",
            both.format(*map(boilerplate, (tutorial_pairs, parallax_pairs))),
        ),
        Row(
            SECTION,
            "evidence recall@5",
            both.format(_fmt(tut["evidence_recall@5"]), _fmt(par["evidence_recall@5"]))
            + f" (gain {r5_gain:+.2f})",
            "Parallax ≥ tutorial + 0.15",
            r5_gain >= 0.15,
        ),
        Row(
            SECTION,
            "evidence recall@8",
            both.format(_fmt(tut["evidence_recall@8"]), _fmt(par["evidence_recall@8"])),
        ),
        Row(
            SECTION,
            "all-sides coverage (disagreement qs)",
            both.format(tut["all_sides"], par["all_sides"]),
        ),
        Row(SECTION, "MRR", both.format(_fmt(tut["mrr"]), _fmt(par["mrr"]))),
        Row(
            SECTION,
            "unanswerable declined",
            both.format(tut["unanswerable_declined"], par["unanswerable_declined"])
            + " (the tutorial never declines)",
        ),
        Row(
            SECTION,
            "query latency",
            f"tutorial {p50_p95(latency)} · Parallax p50 {pct(parallax_latency, 50) * 1000:.1f} ms"
            f" / p95 {pct(parallax_latency, 95) * 1000:.1f} ms",
        ),
    ]
