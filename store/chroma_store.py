"""The Chroma store: one collection per embedding model, chunk records, a write lock.

Readers stay consistent without locks: a source counts only once all of its chunks are
present (each chunk records its source's hash and chunk count), and every ingest bumps a
generation number in the collection metadata so that readers in other processes, whose
vector index would otherwise be stale, know to reopen.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chromadb
from chromadb.api.client import SharedSystemClient
from filelock import FileLock, Timeout

from store.articles import SourceMeta, source_id_for
from store.chunking import Chunk
from store.errors import ModelMismatchError, StoreLockedError, StoreUnavailableError

COLLECTION_PREFIX = "parallax-"
SCHEMA_VERSION = 1
_WRITE_BATCH = 1000


@dataclass(frozen=True)
class StoredChunk:
    id: str
    text: str
    source: SourceMeta
    position: int
    start: int
    end: int
    source_hash: str
    chunk_count: int


@dataclass(frozen=True)
class SourceRecord:
    meta: SourceMeta
    chunks: int
    source_hash: str
    complete: bool


def collection_name(model: str) -> str:
    return COLLECTION_PREFIX + source_id_for(model)


class ChunkStore:
    """Chunks of every article, embedded with one model, in an embedded or remote Chroma."""

    def __init__(
        self,
        *,
        model: str,
        lock_path: Path,
        lock_timeout: float,
        path: Path | None = None,
        host: str | None = None,
        port: int = 8000,
    ) -> None:
        self.model = model
        self.path = path
        self.host = host
        self.port = port
        self.location = f"http://{host}:{port}" if host else str(path)
        self._lock_path = lock_path
        self._lock_timeout = lock_timeout
        self._name = collection_name(model)
        self._guard = threading.RLock()  # one client, shared by threads; reopen is exclusive
        self._client: Any = None
        self._collection: Any = None
        self._seen_generation = -1
        self._own_generation = -1

    # ---- opening -------------------------------------------------------------------
    def _connect(self) -> Any:
        if self.host:
            try:
                return chromadb.HttpClient(host=self.host, port=self.port)
            except Exception as exc:
                raise StoreUnavailableError(
                    f"Cannot reach the Chroma server at {self.location} ({exc}). Start it with "
                    "`chroma run`, or unset PARALLAX_CHROMA_HOST to use the embedded store."
                ) from None
        assert self.path is not None
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write-probe"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise StoreUnavailableError(
                f"Cannot write the store at {self.path} ({exc.strerror}). Set "
                "PARALLAX_CHROMA_PATH to a folder you can write."
            ) from None
        if problem := _not_a_store(self.path):
            raise StoreUnavailableError(
                f"The folder {self.path} {problem}. Point PARALLAX_CHROMA_PATH at an empty or "
                "missing folder, or, if it is a damaged Parallax store, rebuild it with: "
                "parallax ingest --rebuild"
            )
        try:
            return chromadb.PersistentClient(path=str(self.path))
        except Exception as exc:
            raise StoreUnavailableError(
                f"The folder {self.path} is not a readable Chroma store ({type(exc).__name__}: "
                f"{exc}). Rebuild it with: parallax ingest --rebuild"
            ) from None

    def _open(self, create: bool) -> Any:
        """The collection for this model, checking that the store was built with it."""
        if self._client is None:
            self._client = self._connect()
        try:
            names = [c if isinstance(c, str) else c.name for c in self._client.list_collections()]
            ours = [n for n in names if n.startswith(COLLECTION_PREFIX)]
            if self._name in ours:
                collection = self._client.get_collection(self._name, embedding_function=None)
                built_with = (collection.metadata or {}).get("embedding_model")
                if built_with != self.model:
                    raise ModelMismatchError(str(built_with), self.model, self.location)
                return collection
            if ours:
                other = self._client.get_collection(ours[0], embedding_function=None)
                built_with = (other.metadata or {}).get("embedding_model", ours[0])
                raise ModelMismatchError(str(built_with), self.model, self.location)
            if not create:
                return None
            return self._client.create_collection(
                self._name,
                metadata=self._metadata(0),
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
            )
        except (ModelMismatchError, StoreUnavailableError):
            raise
        except Exception as exc:
            raise StoreUnavailableError(
                f"The store at {self.location} cannot be read ({type(exc).__name__}: {exc}). "
                "Rebuild it with: parallax ingest --rebuild"
            ) from None

    def _metadata(self, generation: int) -> dict[str, Any]:
        return {
            "embedding_model": self.model,
            "parallax_schema": SCHEMA_VERSION,
            "generation": generation,
        }

    def collection(self, create: bool = False) -> Any:
        with self._guard:
            if self._collection is None:
                self._collection = self._open(create)
                if self._collection is not None:
                    # The index we just loaded is current as of this generation.
                    self._seen_generation = _generation_of(self._collection)
            return self._collection

    # ---- freshness ------------------------------------------------------------------
    def generation(self) -> int:
        """The store's write counter: changes whenever any process finished an ingest."""
        with self._guard:
            if self.collection() is None:
                return 0
            try:
                current = self._client.get_collection(self._name, embedding_function=None)
            except Exception:
                self._collection = None  # deleted by a rebuild elsewhere
                return -1
            generation = _generation_of(current)
            if generation != self._seen_generation:
                if generation != self._own_generation:
                    self._reopen()
                self._seen_generation = generation
            return generation

    def _reopen(self) -> None:
        """An embedded client keeps a stale vector index after another process writes."""
        if self.host is None:
            SharedSystemClient.clear_system_cache()
            self._client = None
        self._collection = None

    def _bump_generation(self) -> None:
        collection = self.collection(create=True)
        current = _generation_of(self._client.get_collection(self._name, embedding_function=None))
        collection.modify(metadata=self._metadata(current + 1))
        self._own_generation = self._seen_generation = current + 1

    # ---- writing --------------------------------------------------------------------
    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """Exclusive across processes: two writers corrupt an embedded store."""
        lock = FileLock(str(self._lock_path), thread_local=False)
        try:
            self._lock_path.parent.mkdir(parents=True, exist_ok=True)
            lock.acquire(timeout=self._lock_timeout)
        except Timeout:
            raise StoreLockedError(str(self._lock_path), self._lock_timeout) from None
        except OSError as exc:
            raise StoreUnavailableError(
                f"Cannot create the store's lock file {self._lock_path} ({exc.strerror}). Set "
                "PARALLAX_CHROMA_PATH to a folder you can write."
            ) from None
        try:
            with self._guard:
                with suppress(ModelMismatchError, StoreUnavailableError):  # a rebuild fixes those
                    self.generation()  # a client left stale by another writer must not write
                yield
                self._bump_generation()
        finally:
            lock.release()

    def replace_source(
        self, source_id: str, chunks: list[Chunk], vectors: list[list[float]], source_hash: str
    ) -> None:
        """Delete the source's old chunks, then add the new ones (call inside write_lock)."""
        collection = self.collection(create=True)
        collection.delete(where={"source_id": source_id})
        for begin in range(0, len(chunks), _WRITE_BATCH):
            batch = chunks[begin : begin + _WRITE_BATCH]
            collection.add(
                ids=[c.id for c in batch],
                documents=[c.text for c in batch],
                embeddings=vectors[begin : begin + _WRITE_BATCH],
                metadatas=[_chunk_metadata(c, source_hash, len(chunks)) for c in batch],
            )

    def delete_source(self, source_id: str) -> None:
        collection = self.collection()
        if collection is not None:
            collection.delete(where={"source_id": source_id})

    def reset(self) -> None:
        """Drop every Parallax collection (any model): the start of a rebuild.

        A damaged embedded store is wiped, but only if it is recognisably Chroma's: a
        folder of someone else's files is never deleted.
        """
        with self._guard:
            if self._client is None:
                try:
                    self._client = self._connect()
                except StoreUnavailableError:
                    if self.host or not (self.path and _is_chroma_folder(self.path)):
                        raise
                    SharedSystemClient.clear_system_cache()
                    shutil.rmtree(self.path)
                    self._client = self._connect()
            for entry in self._client.list_collections():
                name = entry if isinstance(entry, str) else entry.name
                if name.startswith(COLLECTION_PREFIX):
                    self._client.delete_collection(name)
            self._collection = None
            self._seen_generation = -1

    # ---- reading --------------------------------------------------------------------
    def is_empty(self) -> bool:
        with self._guard:
            collection = self.collection()
            return collection is None or collection.count() == 0

    def chunks(self, source_id: str | None = None) -> list[StoredChunk]:
        """Every chunk of complete sources, in source and position order."""
        with self._guard:
            collection = self.collection()
            if collection is None:
                return []
            where = {"source_id": source_id} if source_id else None
            got = collection.get(where=where, include=["documents", "metadatas"])
        stored = [
            _stored_chunk(i, d, m)
            for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]
        counts = Counter((c.source.id, c.source_hash) for c in stored)
        complete = [c for c in stored if counts[(c.source.id, c.source_hash)] == c.chunk_count]
        return sorted(complete, key=lambda c: (c.source.id, c.position))

    def sources(self) -> list[SourceRecord]:
        """Every source in the store, complete or not (an interrupted ingest leaves some)."""
        with self._guard:
            collection = self.collection()
            if collection is None:
                return []
            got = collection.get(include=["metadatas"])
        by_source: dict[str, list[dict[str, Any]]] = {}
        for meta in got["metadatas"]:
            by_source.setdefault(str(meta["source_id"]), []).append(meta)
        records = []
        for metas in by_source.values():
            first = metas[0]
            hashes = {m["source_hash"] for m in metas}
            positions = {m["position"] for m in metas}
            complete = len(hashes) == 1 and len(metas) == first["chunk_count"] == len(positions)
            records.append(
                SourceRecord(_source_meta(first), len(metas), str(first["source_hash"]), complete)
            )
        return sorted(records, key=lambda r: r.meta.id)

    def query(
        self, vector: list[float], n: int, source_ids: list[str] | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the nearest chunks."""
        with self._guard:
            collection = self.collection()
            if collection is None:
                return []
            count = collection.count()
            if count == 0:
                return []
            where = None
            if source_ids:
                where = (
                    {"source_id": source_ids[0]}
                    if len(source_ids) == 1
                    else {"source_id": {"$in": source_ids}}
                )
            got = collection.query(
                query_embeddings=[vector],
                n_results=min(n, count),
                where=where,
                include=["distances"],
            )
        return [(i, 1.0 - d) for i, d in zip(got["ids"][0], got["distances"][0], strict=True)]

    def vectors(self, ids: list[str]) -> dict[str, list[float]]:
        """The stored embedding of each chunk id (missing ids are left out)."""
        if not ids:
            return {}
        with self._guard:
            collection = self.collection()
            if collection is None:
                return {}
            got = collection.get(ids=ids, include=["embeddings"])
        return {i: list(v) for i, v in zip(got["ids"], got["embeddings"], strict=True)}


_CHROMA_TABLES = {"collections", "embeddings", "segments"}


_SQLITE_SIDECARS = {"chroma.sqlite3-journal", "chroma.sqlite3-wal", "chroma.sqlite3-shm"}


def _is_chroma_folder(path: Path) -> bool:
    """Chroma's database, its segment folders, and the journal an interrupted write leaves
    (SQLite rolls it back on the next open)."""
    return (path / "chroma.sqlite3").is_file() and all(
        p.name == "chroma.sqlite3"
        or p.name in _SQLITE_SIDECARS
        or _is_uuid_dir(p)
        or p.name.startswith(".")
        for p in path.iterdir()
    )


def _is_uuid_dir(path: Path) -> bool:
    return path.is_dir() and len(path.name) == 36 and path.name.count("-") == 4


def _not_a_store(path: Path) -> str | None:
    """Why `path` is not a Chroma store we may open (opening would write into it)."""
    entries = [p for p in path.iterdir() if not p.name.startswith(".")]
    if not entries:
        return None
    if not _is_chroma_folder(path):
        return "holds files that are not a Chroma store"
    try:
        with closing(sqlite3.connect(f"file:{path / 'chroma.sqlite3'}?mode=ro", uri=True)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError:
        return "holds a chroma.sqlite3 that is not a readable database"
    if not tables >= _CHROMA_TABLES:
        return "holds a chroma.sqlite3 of another application"
    return None


def _generation_of(collection: Any) -> int:
    return int((collection.metadata or {}).get("generation", 0))


def _chunk_metadata(chunk: Chunk, source_hash: str, chunk_count: int) -> dict[str, Any]:
    meta = {
        "source_id": chunk.source.id,
        "title": chunk.source.title,
        "outlet": chunk.source.outlet,
        "author": chunk.source.author,
        "published": chunk.source.published,
        "url": chunk.source.url,
        "position": chunk.position,
        "start": chunk.start,
        "end": chunk.end,
        "source_hash": source_hash,
        "chunk_count": chunk_count,
    }
    return {k: v for k, v in meta.items() if v is not None}  # Chroma rejects None values


def _source_meta(meta: dict[str, Any]) -> SourceMeta:
    return SourceMeta(
        id=str(meta["source_id"]),
        title=str(meta["title"]),
        outlet=str(meta["outlet"]),
        author=meta.get("author"),
        published=meta.get("published"),
        url=meta.get("url"),
    )


def _stored_chunk(chunk_id: str, text: str, meta: dict[str, Any]) -> StoredChunk:
    return StoredChunk(
        id=chunk_id,
        text=text,
        source=_source_meta(meta),
        position=int(meta["position"]),
        start=int(meta["start"]),
        end=int(meta["end"]),
        source_hash=str(meta["source_hash"]),
        chunk_count=int(meta["chunk_count"]),
    )
