"""Section 2: retrieval latency at the shipped scale and on a synthetic store of 20,000+ chunks."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.retrieval import Retriever
from assistant.service import Assistant
from bench.common import (
    Row,
    cycle,
    latencies,
    log,
    p50_p95,
    pct,
    questions,
    shipped_settings,
    timed,
)
from bench.ingest import Shipped
from store.articles import SourceMeta
from store.chroma_store import ChunkStore
from store.chunking import Chunk, chunk_id, content_hash

SECTION = "2 retrieval"
QUERIES = 200
SYNTHETIC_CHUNKS = 20_000
PER_SOURCE = 80
SEED = 7
NOISE = 0.02  # per-dimension sd of the Gaussian noise added to synthetic vectors
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass
class Synthetic:
    root: Path
    store: ChunkStore
    chunks: int
    write_s: float
    description: str


def dev_queries(n: int = QUERIES) -> list[str]:
    return cycle([q.question for q in questions()], n)


def threads_ab(retriever: Retriever, queries: list[str]) -> tuple[list[float], list[float]]:
    """Retriever.retrieve latencies as shipped, then right after with torch on one thread.

    Not interleaved: switching torch's thread count back and forth itself causes stalls.
    """
    import torch

    default = torch.get_num_threads()
    shipped = latencies(lambda q: retriever.retrieve(q, 8), queries)
    torch.set_num_threads(1)
    try:
        one_thread = latencies(lambda q: retriever.retrieve(q, 8), queries)
    finally:
        torch.set_num_threads(default)
    return shipped, one_thread


def _what_if(samples: list[float]) -> Row:
    import torch

    default = torch.get_num_threads()
    metric = f"what-if, not shipped: same, torch.set_num_threads(1) (default {default})"
    return Row(SECTION, metric, p50_p95(samples))


def _breakdown(retriever: Retriever, queries: list[str]) -> str:
    """p50 of each stage of Retriever.retrieve, as it times them itself."""
    stages: dict[str, list[float]] = {}
    for q in queries:
        timings: dict[str, float] = {}
        retriever.retrieve(q, 8, timings=timings)
        for stage, seconds in timings.items():
            stages.setdefault(stage, []).append(seconds)
    return ", ".join(f"{stage} {pct(v, 50) * 1000:.1f} ms" for stage, v in stages.items())


def bench_shipped(shipped: Shipped) -> tuple[list[Row], list[float]]:
    log("retrieval: shipped scale")
    retriever = shipped.assistant.retriever
    chunks = len(retriever.snapshot().chunks)
    queries = dev_queries()
    core, one_thread = threads_ab(retriever, queries)
    public = latencies(lambda q: shipped.assistant.retrieve(q), queries[:40])
    p95 = pct(core, 95)
    rows = [
        Row(
            SECTION,
            f"Retriever.retrieve, shipped ({chunks} chunks)",
            p50_p95(core),
            "p95 < 50 ms",
            p95 < 0.050,
        ),
        _what_if(one_thread),
        Row(SECTION, "Assistant.retrieve, shipped", p50_p95(public)),
        Row(SECTION, "stages at shipped scale (p50)", _breakdown(retriever, queries[:30])),
    ]
    return rows, core


def _sentences(shipped: Shipped) -> list[str]:
    out: list[str] = []
    for p in shipped.prepared:
        for paragraph in p.cleaned.text.split("\n\n"):
            out.extend(s.strip() for s in _SENTENCE.split(paragraph) if len(s.strip()) >= 20)
    return sorted(set(out))


def build_synthetic(root: Path, shipped: Shipped) -> Synthetic:
    """Shipped chunks (real vectors) plus 20,000 chunks of recombined sentences, via ChunkStore."""
    rng = np.random.default_rng(SEED)
    sentences = _sentences(shipped)
    log(f"synthetic: embedding {len(sentences)} unique sentences of the shipped articles")
    sentence_vectors = np.array(shipped.embedder.embed_documents(sentences))
    store = ChunkStore(
        model=shipped.embedder.name,
        lock_path=root / "chroma.lock",
        lock_timeout=60.0,
        path=root / "chroma",
    )
    sources = SYNTHETIC_CHUNKS // PER_SOURCE
    log(f"synthetic: writing {sources} sources x {PER_SOURCE} chunks + the shipped sources")
    started = time.perf_counter()
    with store.write_lock():
        offset = 0
        for p in shipped.prepared:
            count = len(p.chunks)
            vectors = shipped.vectors[offset : offset + count]
            store.replace_source(p.article.meta.id, p.chunks, vectors, p.source_hash)
            offset += count
        for s in range(sources):
            meta = SourceMeta(
                id=f"synthetic-{s:04d}",
                title=f"Synthetic article {s}",
                outlet=f"Synthetic Outlet {s % 50}",
                published="2025-01-01",
            )
            chunks, vectors = [], []
            for position in range(PER_SOURCE):
                target = int(rng.integers(400, 900))
                picked: list[int] = []
                while sum(len(sentences[i]) + 1 for i in picked) < target:
                    picked.append(int(rng.integers(len(sentences))))
                text = " ".join(sentences[i] for i in picked)[:900]
                vector = sentence_vectors[picked].mean(axis=0)
                vector = vector + rng.normal(0.0, NOISE, vector.shape)
                vectors.append((vector / np.linalg.norm(vector)).tolist())
                cid = chunk_id(meta.id, position, text)
                chunks.append(Chunk(cid, meta, position, text, 0, len(text)))
            store.replace_source(meta.id, chunks, vectors, content_hash(meta.id))
            if (s + 1) % 50 == 0:
                log(f"synthetic: {s + 1}/{sources} sources written")
    write_s = time.perf_counter() - started
    total = SYNTHETIC_CHUNKS + len(shipped.vectors)
    description = (
        f"{total} chunks = the {len(shipped.vectors)} shipped chunks (real vectors) + "
        f"{SYNTHETIC_CHUNKS} synthetic chunks in {sources} sources: texts are 400-900 characters "
        f"of the shipped articles' {len(sentences)} sentences drawn at random (numpy seed {SEED}); "
        "vectors are the normalised mean of those sentences' real MiniLM embeddings plus "
        f"N(0, {NOISE}²) noise per dimension, written with ChunkStore.replace_source "
        "under one write_lock."
    )
    return Synthetic(root, store, total, write_s, description)


def bench_synthetic(synthetic: Synthetic, shipped: Shipped) -> list[Row]:
    log("retrieval: synthetic scale")
    retriever = Retriever(synthetic.store, shipped.embedder)
    started = time.perf_counter()
    snap = retriever.snapshot()
    snapshot_s = time.perf_counter() - started
    queries = dev_queries()
    core, one_thread = threads_ab(retriever, queries)
    settings = shipped_settings(synthetic.root)
    assistant = Assistant(settings, shipped.embedder)
    public = latencies(lambda q: assistant.retrieve(q), queries[:10], warmup=1)
    sources_s = timed(synthetic.store.sources)
    n = len(snap.chunks)
    return [
        Row(
            SECTION,
            "synthetic store (see notes)",
            f"{synthetic.chunks} chunks, written in {synthetic.write_s:.1f} s",
        ),
        Row(SECTION, f"snapshot build (chunks() + BM25 index), {n} chunks", f"{snapshot_s:.2f} s"),
        Row(
            SECTION,
            f"Retriever.retrieve, {n} chunks",
            p50_p95(core),
            "p95 < 150 ms",
            pct(core, 95) < 0.150,
        ),
        _what_if(one_thread),
        Row(SECTION, f"Assistant.retrieve, {n} chunks", p50_p95(public)),
        Row(
            SECTION,
            f"ChunkStore.sources() at {n} chunks (a full metadata scan; only ingest needs it)",
            f"{sources_s * 1000:.0f} ms",
        ),
        Row(SECTION, f"stages at {n} chunks (p50)", _breakdown(retriever, queries[:30])),
    ]
