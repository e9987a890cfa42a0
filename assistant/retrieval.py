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

import re
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import bm25s
import numpy as np
import Stemmer

from assistant.coverage import Coverage, LexicalStats, judge
from assistant.records import Passage, Source
from store.articles import SourceMeta
from store.chroma_store import ChunkStore, StoredChunk
from store.embeddings import Embedder

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

_stemmer = Stemmer.Stemmer("english")
# Capitalised words and numbers: names, places, years.
_NAME_LIKE = re.compile(r"\b(?:[A-Z][\w'’-]*|\d[\d,.]*\d|\d)\b")


def tokenize(texts: list[str]) -> list[list[str]]:
    return bm25s.tokenize(
        texts, stopwords="en", stemmer=_stemmer.stemWords, return_ids=False, show_progress=False
    )


@dataclass(frozen=True)
class Snapshot:
    """The complete sources at one store generation, with their BM25 index."""

    generation: int
    chunks: list[StoredChunk]
    by_id: dict[str, int]
    bm25: bm25s.BM25 | None
    source_of: np.ndarray  # source id per chunk, for restricting BM25 hits

    @property
    def sources(self) -> list[tuple[SourceMeta, int]]:
        """Each visible source with its chunk count, derived once per generation."""
        counts = Counter(c.source.id for c in self.chunks)
        metas = {c.source.id: c.source for c in self.chunks}
        return [(metas[i], counts[i]) for i in sorted(metas)]

    def lexical_stats(self, tokens: list[str]) -> LexicalStats:
        """Document frequencies of `tokens`, straight from the index (posting counts)."""
        if self.bm25 is None:
            return LexicalStats({}, 0)
        indptr = np.append(self.bm25.scores["indptr"], len(self.bm25.scores["data"]))
        vocab = self.bm25.vocab_dict
        return LexicalStats(
            {t: int(indptr[vocab[t] + 1] - indptr[vocab[t]]) for t in tokens if t in vocab},
            len(self.chunks),
        )


@dataclass(frozen=True)
class Candidate:
    chunk: StoredChunk
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
        vector = vectors.get(c.chunk.id)
        if picked and vector is not None:
            overlap = max(
                float(vector @ vectors[p.chunk.id]) for p in picked if p.chunk.id in vectors
            )
            v -= DUPLICATE_PENALTY * max(0.0, overlap - duplicate) / (1 - duplicate)
        if c.chunk.source.id not in sources and c.relevance >= near_best * best:
            v += bonus
        return v

    while remaining and len(picked) < k:
        choice = max(remaining, key=value)
        picked.append(choice)
        sources.add(choice.chunk.source.id)
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
        """Rebuilt only when some ingest (in any process) changed the store."""
        generation = self.store.generation()
        with self._lock:
            if self._snapshot is None or self._snapshot.generation != generation:
                chunks = self.store.chunks()
                bm25 = None
                if chunks:
                    bm25 = bm25s.BM25()
                    bm25.index(tokenize([c.text for c in chunks]), show_progress=False)
                self._snapshot = Snapshot(
                    generation=generation,
                    chunks=chunks,
                    by_id={c.id: i for i, c in enumerate(chunks)},
                    bm25=bm25,
                    source_of=np.array([c.source.id for c in chunks]),
                )
            return self._snapshot

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
        names = set(tokenize([" ".join(_NAME_LIKE.findall(query))])[0])
        stats = snap.lexical_stats(tokens)
        if not snap.chunks:
            return [], judge(0.0, tokens, names, [], stats, 0.0)
        clock.lap("snapshot")
        query_vector = np.asarray(self.embedder.embed_query(query))
        clock.lap("embed")
        dense = [
            i
            for i, _ in self.store.query(query_vector.tolist(), CANDIDATES, source_ids)
            if i in snap.by_id  # a chunk of a source still being written is not visible yet
        ]
        clock.lap("dense")
        bm25_scores = self._bm25(snap, tokens, source_ids)
        lexical = [
            snap.chunks[i].id for i in np.argsort(-bm25_scores)[:CANDIDATES] if bm25_scores[i] > 0
        ]
        clock.lap("bm25")
        ids = list(dict.fromkeys(dense + lexical))
        if not ids:
            return [], judge(0.0, tokens, names, [], stats, 0.0)
        vectors = {i: np.asarray(v, dtype=np.float32) for i, v in self.store.vectors(ids).items()}
        candidates = [
            Candidate(
                chunk=snap.chunks[snap.by_id[i]],
                similarity=float(vectors[i] @ query_vector) if i in vectors else 0.0,
                lexical=float(bm25_scores[snap.by_id[i]]),
            )
            for i in ids
        ]
        dense_scaled = _scaled([max(c.similarity, 0.0) for c in candidates])
        lexical_scaled = _scaled([c.lexical for c in candidates])
        candidates = [
            Candidate(c.chunk, c.similarity, c.lexical, DENSE_WEIGHT * d + (1 - DENSE_WEIGHT) * b)
            for c, d, b in zip(candidates, dense_scaled, lexical_scaled, strict=True)
        ]
        picked = select(candidates, vectors, k)
        passages = [_passage(c, rank) for rank, c in enumerate(picked, start=1)]
        agreement = len(set(dense[:5]) & set(lexical[:5])) / 5
        coverage = judge(
            max(c.similarity for c in candidates),
            tokens,
            names,
            [tokenize([c.chunk.text])[0] for c in picked[:3]],
            stats,
            agreement,
        )
        clock.lap("select")
        return passages, coverage

    def _bm25(self, snap: Snapshot, tokens: list[str], source_ids: list[str] | None) -> np.ndarray:
        """BM25 score of every visible chunk (zero outside the scope)."""
        if snap.bm25 is None or not tokens:
            return np.zeros(len(snap.chunks))
        scores = snap.bm25.get_scores(tokens)
        if source_ids:
            scores = np.where(np.isin(snap.source_of, source_ids), scores, 0.0)
        return scores


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


def _passage(candidate: Candidate, rank: int) -> Passage:
    chunk = candidate.chunk
    meta = chunk.source
    return Passage(
        chunk_id=chunk.id,
        source=Source(meta.id, meta.title, meta.outlet, meta.author, meta.published, meta.url),
        text=chunk.text,
        start=chunk.start,
        end=chunk.end,
        score=candidate.relevance,
        similarity=candidate.similarity,
        rank=rank,
    )
