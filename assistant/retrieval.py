"""Hybrid retrieval: dense search in Chroma plus BM25, fused by reciprocal rank fusion,
then spread across sources so each outlet that speaks to a question gets heard.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

import bm25s
import numpy as np
import Stemmer

from assistant.records import Passage
from store.articles import SourceMeta
from store.chroma_store import ChunkStore, StoredChunk
from store.embeddings import Embedder

RRF_K = 60
CANDIDATES = 40
SOURCE_DECAY = 0.8  # each further pick from the same source counts this much less

_stemmer = Stemmer.Stemmer("english")


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


def rrf(rankings: list[list[str]], k: int = RRF_K) -> dict[str, float]:
    """Reciprocal rank fusion: robust to the two scorers' incomparable scales."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, chunk_id in enumerate(ranking, start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (k + rank)
    return fused


def diversify(
    scores: dict[str, float], source_of: dict[str, str], k: int, decay: float = SOURCE_DECAY
) -> list[str]:
    """Greedy picks where a source's score decays with each passage already taken from it."""
    remaining = dict(scores)
    taken: Counter[str] = Counter()
    picked: list[str] = []
    while remaining and len(picked) < k:
        best = max(remaining, key=lambda i: remaining[i] * decay ** taken[source_of[i]])
        picked.append(best)
        taken[source_of[best]] += 1
        del remaining[best]
    return picked


class Retriever:
    def __init__(self, store: ChunkStore, embedder: Embedder, relevance_floor: float) -> None:
        self.store = store
        self.embedder = embedder
        self.relevance_floor = relevance_floor
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
        self, query: str, k: int, source_ids: list[str] | None = None
    ) -> tuple[list[Passage], bool]:
        """The k best passages and whether the articles cover the query at all."""
        snap = self.snapshot()
        if not snap.chunks:
            return [], False
        dense = [
            (i, sim)
            for i, sim in self.store.query(self.embedder.embed_query(query), CANDIDATES, source_ids)
            if i in snap.by_id  # a chunk of a source still being written is not visible yet
        ]
        similarity = dict(dense)
        lexical = self._bm25(snap, query, source_ids)
        fused = rrf([[i for i, _ in dense], lexical])
        source_of = {i: snap.chunks[snap.by_id[i]].source.id for i in fused}
        picked = diversify(fused, source_of, k)
        passages = [
            _passage(snap.chunks[snap.by_id[i]], fused[i], similarity.get(i, 0.0), rank)
            for rank, i in enumerate(picked, start=1)
        ]
        answerable = bool(dense) and max(similarity.values()) >= self.relevance_floor
        return passages, answerable

    def _bm25(self, snap: Snapshot, query: str, source_ids: list[str] | None) -> list[str]:
        tokens = tokenize([query])[0]
        if snap.bm25 is None or not tokens:
            return []
        scores = snap.bm25.get_scores(tokens)
        if source_ids:
            scores = np.where(np.isin(snap.source_of, source_ids), scores, 0.0)
        top = np.argsort(-scores)[:CANDIDATES]
        return [snap.chunks[i].id for i in top if scores[i] > 0]


def _passage(chunk: StoredChunk, score: float, similarity: float, rank: int) -> Passage:
    meta = chunk.source
    return Passage(
        chunk_id=chunk.id,
        source_id=meta.id,
        title=meta.title,
        outlet=meta.outlet,
        author=meta.author,
        published=meta.published,
        url=meta.url,
        text=chunk.text,
        start=chunk.start,
        end=chunk.end,
        score=score,
        similarity=similarity,
        rank=rank,
    )
