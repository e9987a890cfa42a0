"""Hybrid retrieval: dense search in Chroma plus BM25, ranked by relevance first, then
spread across sources only among passages that are nearly as relevant as the best one.

Every candidate from either ranking gets both scores (its cosine similarity from its stored
vector, its BM25 score from the index), so relevance is one number per passage: the mean of
the two, each scaled by the query's best. Selection is maximal marginal relevance with two
twists: near-duplicates of a picked passage lose relevance (within a source and across), and a
passage from a source not yet picked gets a bonus only if it is close to the best passage,
never because an outlet is missing.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.coverage import Coverage, LexicalStats, judge
from assistant.records import Passage, Source
from store.articles import SourceMeta
from store.chroma_store import ChunkStore, StoredChunk
from store.embeddings import Embedder
from store.lexical import Generation, LexicalIndex, tokenize

log = logging.getLogger("parallax")

CANDIDATES = 40
# Share of the dense similarity in a passage's relevance (the rest is BM25's).
DENSE_WEIGHT = 0.5
# A passage this close to the best one (share of its relevance) may be lifted for diversity.
NEAR_BEST = 0.8
# Lift given to such a passage when its source has nothing picked yet.
NEW_SOURCE_BONUS = 0.08
# Cosine similarity above which two passages start to say the same thing; an exact copy
# of a picked passage loses DUPLICATE_PENALTY of its relevance, a near copy proportionally less.
DUPLICATE_SIMILARITY = 0.8
DUPLICATE_PENALTY = 0.5
# Capitalised words and numbers: names, places, years.
_NAME_LIKE = re.compile(r"\b(?:[A-Z][\w'’-]*|\d[\d,.]*\d|\d)\b")


@dataclass(frozen=True)
class Snapshot:
    """The complete sources at one store generation: their saved BM25 index and registry,
    memory-mapped. No chunk text: the retriever fetches it for the passages it returns."""

    generation: Generation
    index: LexicalIndex

    @property
    def size(self) -> int:
        """Chunks visible at this generation."""
        return self.index.size

    @property
    def source_of(self) -> Mapping[str, str]:
        """Chunk id -> source id of every visible chunk (a chunk of a source still being
        written is not in it)."""
        return self.index.source_of

    @property
    def sources(self) -> list[tuple[SourceMeta, int]]:
        """Each visible source with its chunk count, from the generation's registry."""
        return [(s.meta, s.chunks) for s in self.index.sources]


@dataclass(frozen=True)
class Candidate:
    chunk_id: str
    source_id: str
    similarity: float  # cosine with the query
    lexical: float  # BM25 score
    relevance: float = 0.0


def select(
    candidates: list[Candidate],
    vectors: dict[str, np.ndarray],
    k: int,
    near_best: float = NEAR_BEST,
    bonus: float = NEW_SOURCE_BONUS,
    duplicate: float = DUPLICATE_SIMILARITY,
) -> list[Candidate]:
    """Greedy relevance-first picks with redundancy and gated source-novelty adjustments."""
    if not candidates or k <= 0:
        return []
    best = max(c.relevance for c in candidates)
    remaining = list(candidates)
    picked: list[Candidate] = []
    sources: set[str] = set()

    def value(c: Candidate) -> float:
        v = c.relevance
        vector = vectors.get(c.chunk_id)
        if picked and vector is not None:
            overlap = max(
                (float(vector @ vectors[p.chunk_id]) for p in picked if p.chunk_id in vectors),
                default=0.0,
            )
            v -= DUPLICATE_PENALTY * max(0.0, overlap - duplicate) / (1 - duplicate)
        if c.source_id not in sources and c.relevance >= near_best * best:
            v += bonus
        return v

    while remaining and len(picked) < k:
        choice = max(remaining, key=value)
        picked.append(choice)
        sources.add(choice.source_id)
        remaining.remove(choice)
    return picked


def _scaled(values: list[float]) -> list[float]:
    top = max(values, default=0.0)
    return [v / top if top > 0 else 0.0 for v in values]


class Retriever:
    def __init__(self, store: ChunkStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def snapshot(self) -> Snapshot:
        """Reopened only when some ingest (in any process) changed the store: the writer
        saved that generation's index, so this maps files instead of reading every chunk.
        A store with no saved index (written before indexes were saved) is indexed here,
        in memory, once per generation."""
        generation = self.store.generation()
        with self._lock:
            if self._snapshot is None or self._snapshot.generation != generation:
                index = LexicalIndex.open(self.store.index_path, generation)
                if index is None:
                    log.warning(
                        "No saved search index for this store generation in %s: building it "
                        "in memory. Run `parallax ingest` to save one.",
                        self.store.index_path,
                    )
                    index = LexicalIndex.build(self.store.chunks())
                self._snapshot = Snapshot(generation=generation, index=index)
            return self._snapshot

    def fetch(self, chunk_ids: list[str]) -> dict[str, StoredChunk]:
        """The stored chunks (with text) of the ids retrieval returns; an id whose source
        was deleted since the snapshot is missing."""
        return self.store.fetch(chunk_ids)

    def retrieve(
        self,
        query: str,
        k: int,
        source_ids: list[str] | None = None,
        names: Sequence[str] = (),
        timings: dict[str, float] | None = None,
    ) -> tuple[list[Passage], Coverage]:
        """The k best passages and whether the articles cover the query at all.

        `names` (the library's outlets and authors) are metadata, not article text: naming
        one in a question says nothing about whether the articles cover it. `timings`, if
        given, receives each stage's seconds (for the bench).
        """
        clock = _Stages(timings)
        snap = self.snapshot()
        metadata = set(tokenize([" ".join(names)])[0]) if names else set()
        tokens = [t for t in tokenize([query])[0] if t not in metadata]
        name_tokens = set(tokenize([" ".join(_NAME_LIKE.findall(query))])[0])
        stats = LexicalStats(snap.index.doc_freq(tokens), snap.size)
        bounds = self.embedder.similarity_bounds
        if not snap.size:
            return [], judge(0.0, tokens, name_tokens, [], stats, 0.0, bounds)
        clock.lap("snapshot")
        query_vector = np.asarray(self.embedder.embed_query(query))
        clock.lap("embed")
        dense = [
            i
            for i, _ in self.store.query(query_vector.tolist(), CANDIDATES, source_ids)
            if i in snap.source_of  # a chunk of a source still being written is not visible yet
        ]
        clock.lap("dense")
        bm25 = snap.index.scores(tokens, source_ids)
        lexical = snap.index.top(bm25, CANDIDATES)
        clock.lap("bm25")
        ids = list(dict.fromkeys(dense + lexical))
        if not ids:
            return [], judge(0.0, tokens, name_tokens, [], stats, 0.0, bounds)
        vectors = {i: np.asarray(v, dtype=np.float32) for i, v in self.store.vectors(ids).items()}
        candidates = [
            Candidate(
                chunk_id=i,
                source_id=snap.source_of[i],
                similarity=float(vectors[i] @ query_vector) if i in vectors else 0.0,
                lexical=snap.index.score_of(bm25, i),
            )
            for i in ids
        ]
        dense_scaled = _scaled([max(c.similarity, 0.0) for c in candidates])
        lexical_scaled = _scaled([c.lexical for c in candidates])
        candidates = [
            Candidate(
                c.chunk_id,
                c.source_id,
                c.similarity,
                c.lexical,
                DENSE_WEIGHT * d + (1 - DENSE_WEIGHT) * b,
            )
            for c, d, b in zip(candidates, dense_scaled, lexical_scaled, strict=True)
        ]
        picked = select(candidates, vectors, k)
        clock.lap("select")
        chunks = self.fetch([c.chunk_id for c in picked])
        picked = [c for c in picked if c.chunk_id in chunks]
        passages = [_passage(chunks[c.chunk_id], c, rank) for rank, c in enumerate(picked, 1)]
        agreement = len(set(dense[:5]) & set(lexical[:5])) / 5
        coverage = judge(
            max(c.similarity for c in candidates),
            tokens,
            name_tokens,
            [tokenize([p.text])[0] for p in passages[:3]],
            stats,
            agreement,
            bounds,
        )
        clock.lap("fetch")
        return passages, coverage


class _Stages:
    """Seconds per stage into a caller's dict; nothing when none was given."""

    def __init__(self, into: dict[str, float] | None) -> None:
        self._into = into
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        if self._into is not None:
            now = time.perf_counter()
            self._into[stage] = self._into.get(stage, 0.0) + now - self._last
            self._last = now


def _passage(chunk: StoredChunk, candidate: Candidate, rank: int) -> Passage:
    return Passage(
        chunk_id=chunk.id,
        source=Source.of(chunk.source),
        text=chunk.text,
        start=chunk.start,
        end=chunk.end,
        score=candidate.relevance,
        similarity=candidate.similarity,
        rank=rank,
    )
