"""Section 5: the LangChain RAG-tutorial pipeline beside Parallax, on the dev questions and
on the held-out questions (with the held-out set's own articles added to both libraries).

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

from assistant.evaluation import (
    EVAL_SETS,
    EvalSet,
    load_questions,
    score_retrieval,
    seed_library,
    summarize_retrieval,
)
from assistant.records import Passage, Source
from assistant.service import Assistant
from assistant.text import normalize
from bench.common import ARTICLES, Row, latencies, log, p50_p95, pct
from bench.ingest import Shipped
from bench.retrieval import dev_queries
from store.articles import source_id_for
from store.embeddings import Embedder

SECTION = "5 vs tutorial"
BOILERPLATE_DEFINITION = (
    "A chunk counts as boilerplate when less than half of its characters lie in pieces that "
    "occur in Parallax's cleaned text of its source: the chunk is split at sentence ends "
    "([.!?] + space) and line breaks, each piece is normalised (assistant.text.normalize: "
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
            source=Source(str(d.metadata["source"]), "", ""),
            text=d.page_content,
            start=0,
            end=0,
            rank=rank,
        )
        for rank, d in enumerate(docs, start=1)
    ]


def _fmt(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _tutorial_store(tmp: Path, folder: Path, shipped: Shipped) -> tuple[Any, list[Document]]:
    from langchain_chroma import Chroma
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    docs = [
        Document(page_content=path.read_text(encoding="utf-8"), metadata={"source": path.stem})
        for path in sorted(folder.glob("*.txt"))
    ]
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(
        docs
    )
    store = Chroma(
        collection_name="tutorial",
        embedding_function=MiniLMEmbeddings(shipped.embedder),
        persist_directory=str(tmp / "tutorial-chroma"),
    )
    store.add_documents(splits)
    return store, splits


def _compare(tmp: Path, shipped: Shipped, eval_set: EvalSet) -> list[Row]:
    """Retrieval quality of both pipelines on one question set, in libraries of its own."""
    log(f"tutorial: {eval_set.name} set, both pipelines")
    seed = seed_library(ARTICLES, eval_set.articles, tmp / "seed")
    store, _ = _tutorial_store(tmp, seed, shipped)
    settings = shipped.assistant.settings.model_copy(
        update={
            "articles_dir": seed,
            "library_dir": tmp / "library",
            "chroma_path": tmp / "chroma",
        }
    )
    parallax = Assistant(settings, shipped.embedder)
    tutorial_scores, parallax_scores = [], []
    answers: dict[str, Any] = {}
    for q in load_questions(eval_set.questions):
        docs = store.similarity_search(q.question, k=8)
        tutorial_scores.append(score_retrieval(q, _as_passages(docs), True))
        previous = answers.get(q.follow_up_of or "")
        answer = parallax.ask(q.question, [previous] if previous else [])
        answers[q.id] = answer
        parallax_scores.append(score_retrieval(q, answer.passages, answer.answerable))
    tut, par = summarize_retrieval(tutorial_scores), summarize_retrieval(parallax_scores)
    both = "tutorial {} · Parallax {}"
    label = f"{eval_set.name} ({tut['questions']} qs)"
    r5_gain = par["evidence_recall@5"] - tut["evidence_recall@5"]
    return [
        Row(
            SECTION,
            f"evidence recall@5, {label}",
            both.format(_fmt(tut["evidence_recall@5"]), _fmt(par["evidence_recall@5"]))
            + f" (gain {r5_gain:+.2f})",
        ),
        Row(
            SECTION,
            f"evidence recall@8, {label}",
            both.format(_fmt(tut["evidence_recall@8"]), _fmt(par["evidence_recall@8"])),
        ),
        Row(
            SECTION,
            f"every side in the top 8, {label}",
            both.format(tut["all_sides@8"], par["all_sides@8"]),
        ),
        Row(SECTION, f"MRR, {label}", both.format(_fmt(tut["mrr"]), _fmt(par["mrr"]))),
        Row(
            SECTION,
            f"unanswerable declined, {label}",
            both.format(tut["unanswerable_declined"], par["unanswerable_declined"])
            + " (the tutorial never declines)",
        ),
    ]


def bench_tutorial(tmp: Path, shipped: Shipped, parallax_latency: list[float]) -> list[Row]:
    log("tutorial: split and index the raw files")
    started = time.perf_counter()
    store, splits = _tutorial_store(tmp / "shipped", ARTICLES, shipped)
    index_s = time.perf_counter() - started
    cleaned = {p.article.meta.id: normalize(p.cleaned.text) for p in shipped.prepared}

    def boilerplate(pairs: list[tuple[str, str]]) -> str:
        flagged = sum(1 for sid, text in pairs if article_share(text, cleaned[sid]) < 0.5)
        return f"{flagged}/{len(pairs)} ({flagged / len(pairs):.0%})"

    tutorial_pairs = [(source_id_for(str(d.metadata["source"])), d.page_content) for d in splits]
    parallax_pairs = [(c.source.id, c.text) for c in shipped.assistant.chunks()]

    log("tutorial: query latency")
    latency = latencies(lambda q: store.similarity_search(q, k=8), dev_queries(100))
    both = "tutorial {} · Parallax {}"
    rows = [
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
    ]
    for eval_set in EVAL_SETS:
        if eval_set.questions.is_file():
            rows += _compare(tmp / eval_set.name, shipped, eval_set)
    return [
        *rows,
        Row(
            SECTION,
            "query latency",
            f"tutorial {p50_p95(latency)} · Parallax p50 {pct(parallax_latency, 50) * 1000:.1f} ms"
            f" / p95 {pct(parallax_latency, 95) * 1000:.1f} ms",
        ),
    ]
