"""The BM25 index and source registry of one store generation, saved as files readers map.

Building a BM25 index needs every chunk's text: 2.7 s at 20,000 chunks and far more at
100,000, and a whole copy of the library's text in memory. So the writer builds it once, at
the end of each ingest and inside the write lock, and saves it in a folder named for the
store generation it describes; every reader (each app session, each CLI call) memory-maps
that folder instead of rebuilding, and fetches chunk text only for the passages it returns.

A generation's folder holds the bm25s index, the ids of the chunks it covers (sorted, so a
chunk's row is found by binary search without a dictionary of every id) with the row of
each chunk's source, and `sources.json`: the registry of visible sources (id, hash, chunk
count, metadata). Folders appear whole (written under a staging name, then renamed) and the
writer deletes old ones, always keeping the generation before its own: a reader that opened
it just before the new one appeared may still be reading it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from store.articles import SourceMeta
from store.chroma_store import ChunkStore, StoredChunk

log = logging.getLogger("parallax")

FORMAT = 1
REGISTRY = "sources.json"
CHUNK_IDS = "chunk_ids.npy"
CHUNK_SOURCES = "chunk_sources.npy"
_STAGING = ".staging-"
_WRITING = ".writing"  # beside a generation's folder: a write on top of it began
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")

_stemmer = Stemmer.Stemmer("english")

Generation = int | str


def tokenize(texts: list[str]) -> list[list[str]]:
    """Stemmed English words without stopwords: the one tokenizer for indexing and queries."""
    return bm25s.tokenize(
        texts, stopwords="en", stemmer=_stemmer.stemWords, return_ids=False, show_progress=False
    )


@dataclass(frozen=True)
class RegisteredSource:
    """A source readers can see at one generation: all of its chunks are in the store."""

    meta: SourceMeta
    chunks: int
    source_hash: str


def folder_name(generation: Generation) -> str:
    """The folder of a generation; generations are opaque tokens, so only made path-safe."""
    return "g-" + _UNSAFE.sub("_", str(generation))


class ChunkSources(Mapping[str, str]):
    """Chunk id -> source id for the chunks of one generation, by binary search over the
    sorted, memory-mapped id array: no per-chunk Python objects in the reader."""

    def __init__(self, ids: np.ndarray, rows: np.ndarray, sources: list[RegisteredSource]):
        self._ids = ids
        self._rows = rows
        self._sources = sources

    def row(self, chunk_id: str) -> int | None:
        key = chunk_id.encode()
        at = int(np.searchsorted(self._ids, key))
        if at < len(self._ids) and self._ids[at] == key:
            return at
        return None

    def __getitem__(self, chunk_id: str) -> str:
        row = self.row(chunk_id)
        if row is None:
            raise KeyError(chunk_id)
        return self._sources[int(self._rows[row])].meta.id

    def __contains__(self, chunk_id: object) -> bool:
        return isinstance(chunk_id, str) and self.row(chunk_id) is not None

    def __iter__(self) -> Iterator[str]:
        return (i.decode() for i in self._ids)

    def __len__(self) -> int:
        return len(self._ids)


class LexicalIndex:
    """BM25 over the visible chunks of one generation, plus the registry of their sources."""

    def __init__(
        self,
        bm25: bm25s.BM25 | None,
        chunk_ids: np.ndarray,
        chunk_sources: np.ndarray,
        sources: list[RegisteredSource],
    ) -> None:
        self._bm25 = bm25
        self._row_of_source = {s.meta.id: row for row, s in enumerate(sources)}
        self.sources = sources
        self.chunk_sources = chunk_sources
        self.source_of = ChunkSources(chunk_ids, chunk_sources, sources)

    @property
    def size(self) -> int:
        return len(self.source_of)

    @classmethod
    def build(cls, chunks: list[StoredChunk]) -> LexicalIndex:
        """From the complete chunks of a store (`ChunkStore.chunks()`), in memory."""
        chunks = sorted(chunks, key=lambda c: c.id)
        counts = Counter(c.source.id for c in chunks)
        first = {}
        for chunk in chunks:
            first.setdefault(chunk.source.id, chunk)
        sources = [
            RegisteredSource(first[i].source, counts[i], first[i].source_hash)
            for i in sorted(first)
        ]
        row = {s.meta.id: n for n, s in enumerate(sources)}
        ids = np.array([c.id.encode() for c in chunks], dtype=bytes)
        rows = np.array([row[c.source.id] for c in chunks], dtype=np.int32)
        bm25 = None
        if chunks:
            bm25 = bm25s.BM25()
            bm25.index(tokenize([c.text for c in chunks]), show_progress=False)
        return cls(bm25, ids, rows, sources)

    def save(self, folder: Path) -> None:
        """Write the index into `folder` (a fresh staging folder: see `publish`)."""
        folder.mkdir(parents=True)
        if self._bm25 is not None:
            self._bm25.save(str(folder), show_progress=False)
        np.save(folder / CHUNK_IDS, self.source_of._ids)
        np.save(folder / CHUNK_SOURCES, self.chunk_sources)
        registry = {
            "format": FORMAT,
            "sources": [
                {**dataclasses.asdict(s.meta), "chunks": s.chunks, "source_hash": s.source_hash}
                for s in self.sources
            ],
        }
        (folder / REGISTRY).write_text(json.dumps(registry, ensure_ascii=False), "utf-8")

    @classmethod
    def open(cls, root: Path, generation: Generation) -> LexicalIndex | None:
        """The saved index of `generation`, memory-mapped; None when there is none (a store
        written before indexes were saved, a generation whose folder is gone) or when a
        write on top of it began (mid-ingest, or interrupted: see `indexed_write`)."""
        folder = root / folder_name(generation)
        if (root / (folder.name + _WRITING)).exists():
            return None
        try:
            registry = json.loads((folder / REGISTRY).read_text("utf-8"))
            if registry.get("format") != FORMAT:
                return None
            sources = [
                RegisteredSource(
                    SourceMeta(**{f.name: s.get(f.name) for f in dataclasses.fields(SourceMeta)}),
                    int(s["chunks"]),
                    str(s["source_hash"]),
                )
                for s in registry["sources"]
            ]
            ids = np.load(folder / CHUNK_IDS, mmap_mode="r")
            rows = np.load(folder / CHUNK_SOURCES, mmap_mode="r")
            bm25 = None
            if len(ids):
                bm25 = bm25s.BM25.load(str(folder), mmap=True, show_progress=False)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            if (folder / REGISTRY).exists():
                log.warning("The saved index %s cannot be read (%s); rebuilding it.", folder, exc)
            return None
        return cls(bm25, ids, rows, sources)

    def doc_freq(self, tokens: list[str]) -> dict[str, int]:
        """How many chunks contain each token (its posting count), for the tokens indexed."""
        if self._bm25 is None:
            return {}
        indptr = self._bm25.scores["indptr"]
        end = len(self._bm25.scores["data"])
        vocab = self._bm25.vocab_dict
        found = {}
        for token in tokens:
            if (at := vocab.get(token)) is not None:
                stop = int(indptr[at + 1]) if at + 1 < len(indptr) else end
                found[token] = stop - int(indptr[at])
        return found

    def scores(self, tokens: list[str], source_ids: list[str] | None = None) -> np.ndarray:
        """The BM25 score of every visible chunk, by row (zero outside `source_ids`)."""
        if self._bm25 is None or not tokens:
            return np.zeros(self.size, dtype=np.float32)
        mask = None
        if source_ids:
            wanted = [self._row_of_source[s] for s in source_ids if s in self._row_of_source]
            mask = np.isin(self.chunk_sources, wanted).astype(np.float32)
        return self._bm25.get_scores(tokens, weight_mask=mask)

    def top(self, scores: np.ndarray, n: int) -> list[str]:
        """The ids of the best `n` chunks with a positive score, best first; ties go to the
        lower chunk id so results do not depend on the sort."""
        n = min(n, len(scores))
        if n <= 0:
            return []
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.lexsort((top, -scores[top]))]
        ids = self.source_of._ids
        return [ids[i].decode() for i in top if scores[i] > 0]

    def score_of(self, scores: np.ndarray, chunk_id: str) -> float:
        row = self.source_of.row(chunk_id)
        return 0.0 if row is None else float(scores[row])

    def search(
        self, query: str, n: int, source_ids: list[str] | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) of the best `n` chunks with a positive score, best first."""
        scores = self.scores(tokenize([query])[0], source_ids)
        return [(i, self.score_of(scores, i)) for i in self.top(scores, n)]


@dataclass
class IndexedWrite:
    """What the body of `indexed_write` tells it: set `changed` False when it wrote and
    deleted nothing, and the previous generation's index is reused instead of rebuilt."""

    changed: bool = True


@contextmanager
def indexed_write(store: ChunkStore) -> Iterator[IndexedWrite]:
    """The store's write lock; when the body succeeds, the lexical index of the result is
    built and saved under the generation the write produces, before the lock is released.

    The index is built and written before the generation changes, so readers that see the
    new generation find its folder moments later (a rename) rather than after the build.
    A write that fails or is killed leaves the store changed but its generation not: the
    marker set here before writing tells readers that generation's saved index no longer
    matches the store (they index it in memory until the next ingest publishes one).
    """
    root = store.index_path
    staged: list[Path] = []
    write = IndexedWrite()

    def publish() -> None:
        if staged:
            _publish(root, staged[0], store.generation(), previous)

    with store.write_lock(on_commit=publish):
        previous = store.generation()
        kept = root / folder_name(previous)
        marker = root / (kept.name + _WRITING)
        interrupted = marker.exists()  # an earlier write on top of it never finished
        root.mkdir(parents=True, exist_ok=True)
        marker.touch()
        yield write
        staging = root / f"{_STAGING}{uuid.uuid4().hex}"
        if not write.changed and not interrupted and (kept / REGISTRY).is_file():
            _link_copy(kept, staging)
        else:
            LexicalIndex.build(store.chunks()).save(staging)
        staged.append(staging)


def _link_copy(source: Path, target: Path) -> None:
    """The files of an unchanged generation's index under a new folder, as hard links
    (copies where the file system has none): a no-op ingest costs no rebuild."""
    target.mkdir()
    for path in source.iterdir():
        try:
            os.link(path, target / path.name)
        except OSError:
            shutil.copy2(path, target / path.name)


def _publish(root: Path, staging: Path, generation: Generation, previous: Generation) -> None:
    """Rename the staged index to its generation's folder, then delete every other folder
    (and marker) but the previous generation's folder (readers may be mid-read there) and
    the new one."""
    target = root / folder_name(generation)
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)
    keep = {target.name, folder_name(previous)}
    for entry in root.iterdir():
        if entry.name not in keep and (
            entry.name.startswith("g-") or entry.name.startswith(_STAGING)
        ):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
