"""Hybrid retrieval: dense search in Chroma plus BM25, fused by reciprocal rank fusion,
then spread across sources so each outlet that speaks to a question gets heard.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from assistant.records import Passage
from store.articles import SourceMeta
from store.chroma_store import ChunkStore, StoredChunk
from store.embeddings import Embedder
from store.lexical import Generation, LexicalIndex

log = logging.getLogger("parallax")

RRF_K = 60
CANDIDATES = 40
SOURCE_DECAY = 0.8  # each further pick from the same source counts this much less


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
        self, query: str, k: int, source_ids: list[str] | None = None
    ) -> tuple[list[Passage], bool]:
        """The k best passages and whether the articles cover the query at all."""
        snap = self.snapshot()
        if not snap.size:
            return [], False
        dense = [
            (i, sim)
            for i, sim in self.store.query(self.embedder.embed_query(query), CANDIDATES, source_ids)
            if i in snap.source_of  # a chunk of a source still being written is not visible yet
        ]
        similarity = dict(dense)
        lexical = self._bm25(snap, query, source_ids)
        fused = rrf([[i for i, _ in dense], lexical])
        source_of = {i: snap.source_of[i] for i in fused}
        picked = diversify(fused, source_of, k)
        chunks = self.fetch(picked)
        passages = [
            _passage(chunks[i], fused[i], similarity.get(i, 0.0), rank)
            for rank, i in enumerate((i for i in picked if i in chunks), start=1)
        ]
        answerable = bool(dense) and max(similarity.values()) >= self.relevance_floor
        return passages, answerable

    def _bm25(self, snap: Snapshot, query: str, source_ids: list[str] | None) -> list[str]:
        return [i for i, _ in snap.index.search(query, CANDIDATES, source_ids)]


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
