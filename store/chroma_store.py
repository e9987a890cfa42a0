"""The Chroma store: one collection per embedding model, chunk records, a write lock.

Readers stay consistent without locks: a source counts only once all of its chunks are
present (each chunk records its source's hash and chunk count), and every write ends by
storing a fresh random generation in the collection metadata, so that readers in other
processes, whose vector index would otherwise be stale, know to reopen. It is random, not
a counter, because a rebuild starts a new collection and a counter would repeat values a
reader has already seen.

Opening is safe under concurrency and after a kill:
- reading never writes: no probe file, and a missing or empty database is "no store yet",
  which only a writer creates, under the write lock, so one process creates it while the
  others wait;
- the database is checked read-only; what that cannot settle (a journal a killed writer
  left, which SQLite rolls back only read-write; a database busy with a writer) is
  checked again read-write under the write lock;
- readers see nothing until the first ingest has completed (`ready` in the metadata);
- a read that fails because another process removed the collection (a rebuild) resolves
  the collection again and retries once.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sqlite3
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import chromadb
from chromadb.errors import NotFoundError
from filelock import FileLock, Timeout

from store.articles import SourceMeta
from store.chunking import Chunk
from store.errors import (
    ModelMismatchError,
    ParallaxError,
    StoreLockedError,
    StoreUnavailableError,
)

COLLECTION_PREFIX = "parallax-"
SCHEMA_VERSION = 1
_WRITE_BATCH = 1000
_BUSY_SECONDS = 30.0  # how long an SQLite check waits for a writer's transaction to end
T = TypeVar("T")
# Rows per get(): a local get() binds one SQL variable per row and fails past 32,766.
PAGE = 5000


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
    """Chroma allows only ASCII letters, digits, '.', '_' and '-' in collection names."""
    return COLLECTION_PREFIX + re.sub(r"[^a-z0-9]+", "-", model.lower()).strip("-")


class _NeedsLock(Exception):
    """A read-only look at the database could not settle whether it is usable."""


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
        index_path: Path | None = None,
    ) -> None:
        self.model = model
        self.path = path
        self.host = host
        self.port = port
        self.location = f"http://{host}:{port}" if host else str(path)
        self._lock_path = lock_path
        # Saved lexical indexes (store/lexical.py): beside the write lock unless configured.
        self.index_path = index_path or lock_path.parent / f"{lock_path.stem}.index"
        self._lock_timeout = lock_timeout
        self._name = collection_name(model)
        self._guard = threading.RLock()  # one client, shared by threads; reopen is exclusive
        self._client: Any = None
        self._collection: Any = None
        self._seen_generation = -1
        self._own_generation = -1
        self._writer: int | None = None  # the thread holding the write lock, if any
        self._depth = 0  # nested write_lock() calls of that thread
        self._on_commit: list[Callable[[], None]] = []  # what nested holds run at the end
        self._empty_sources: dict[str, str] | None = None  # to store with the next generation

    # ---- opening -------------------------------------------------------------------
    def _connect(self, create: bool) -> Any | None:
        """A client, or None when there is no store yet and `create` is false."""
        if self.host:
            try:
                return chromadb.HttpClient(host=self.host, port=self.port)
            except Exception as exc:
                raise StoreUnavailableError(
                    f"Cannot reach the Chroma server at {self.location} ({exc}). Start it with "
                    "`chroma run`, or unset PARALLAX_CHROMA_HOST to use the embedded store."
                ) from None
        self._folder()
        if self._writer == threading.get_ident():
            return self._open_checked(create, locked=True)
        try:
            return self._open_checked(create, locked=False)
        except _NeedsLock:
            chromadb.api.client.Client.clear_system_cache()  # no client to ask: the class's
            with self._file_lock():
                return self._open_checked(create, locked=True)

    def _folder(self) -> Path:
        """The store folder, created if missing; whether we may write it, without writing."""
        assert self.path is not None
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            if not os.access(self.path, os.W_OK | os.X_OK):
                raise PermissionError(13, "Permission denied")
        except OSError as exc:
            raise StoreUnavailableError(
                f"Cannot write the store at {self.path} ({exc.strerror}). Set "
                "PARALLAX_CHROMA_PATH to a folder you can write."
            ) from None
        return self.path

    def _open_checked(self, create: bool, *, locked: bool) -> Any | None:
        """Check the folder, then open it. Unlocked, anything uncertain raises _NeedsLock:
        the caller takes the write lock and comes back with `locked`, which may write
        (roll a journal back, create the database)."""
        assert self.path is not None
        if problem := _store_problem(self.path, writable=locked):
            raise StoreUnavailableError(f"The folder {self.path} {problem}. {self._advice()}")
        if not _has_database(self.path):
            if not create:
                return None
            if not locked:
                raise _NeedsLock()
        try:
            return chromadb.PersistentClient(path=str(self.path))
        except Exception as exc:
            if not locked:
                raise _NeedsLock() from None
            raise StoreUnavailableError(
                f"The folder {self.path} is not a readable Chroma store ({type(exc).__name__}: "
                f"{exc}). {self._advice()}"
            ) from None

    def _advice(self) -> str:
        """What to do about a store that cannot be opened: rebuild only if a rebuild would
        not refuse the folder."""
        assert self.path is not None
        others = _foreign_entries(self.path, include_hidden=True)
        if others:
            return (
                f"Chroma did not create {_listing(others)}, and a rebuild deletes only "
                "Chroma's own files, so it will not run beside them: move them elsewhere, or "
                "set PARALLAX_CHROMA_PATH to an empty or missing folder"
            )
        return (
            "If it is a damaged Parallax store, rebuild it with: parallax ingest --rebuild "
            "(or set PARALLAX_CHROMA_PATH to an empty or missing folder)"
        )

    def _open(self, create: bool) -> Any:
        """The collection for this model, checking that the store was built with it."""
        if self._client is None:
            self._client = self._connect(create)
            if self._client is None:
                return None
        try:
            names = self._collection_names()
            if self._name in names:
                collection = self._client.get_collection(self._name, embedding_function=None)
                built_with = (collection.metadata or {}).get("embedding_model")
                if built_with != self.model:
                    raise ModelMismatchError(str(built_with), self.model, self.location)
                return collection
            if names:
                other = self._client.get_collection(names[0], embedding_function=None)
                built_with = (other.metadata or {}).get("embedding_model", names[0])
                raise ModelMismatchError(str(built_with), self.model, self.location)
            if not create:
                return None
            return self._client.create_collection(
                self._name,
                metadata=self._metadata(0, ready=False),
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
            )
        except ParallaxError:
            raise
        except Exception as exc:
            raise StoreUnavailableError(
                f"The store at {self.location} cannot be read ({type(exc).__name__}: {exc}). "
                f"{self._advice() if self.path else 'Rebuild it with: parallax ingest --rebuild'}"
            ) from None

    def _collection_names(self) -> list[str]:
        names = [c if isinstance(c, str) else c.name for c in self._client.list_collections()]
        return [n for n in names if n.startswith(COLLECTION_PREFIX)]

    def _metadata(self, generation: int, *, ready: bool) -> dict[str, Any]:
        return {
            "embedding_model": self.model,
            "parallax_schema": SCHEMA_VERSION,
            "generation": generation,
            "ready": ready,
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
        """The store's write token: changes whenever any process finished writing."""
        with self._guard:
            if self.collection() is None:
                return 0
            try:
                current = self._client.get_collection(self._name, embedding_function=None)
            except NotFoundError:
                current = None  # removed by a rebuild in another process
            except Exception:
                # Busy (another process is committing): the collection we hold is still
                # the store's. Reconnecting here would wait for that writer's whole ingest
                # while every other reader of this process waits on the guard.
                return self._seen_generation
            if current is None or current.id != self._collection.id:
                self._reopen()
                return self._seen_generation if self.collection() is not None else 0
            generation = _generation_of(current)
            if generation != self._seen_generation:
                if generation != self._own_generation:
                    self._reopen()
                    self.collection()
                else:
                    self._collection = current  # our own write: only the metadata is new
                self._seen_generation = generation
            return generation

    def _reopen(self) -> None:
        """An embedded client keeps a stale vector index after another process writes."""
        if self.host is None:
            self._client.clear_system_cache()  # public ClientAPI: drop the cached system
            self._client = None
        self._collection = None

    def _bump_generation(self) -> None:
        collection = self.collection(create=True)
        empty = self._empty_sources
        if empty is None:
            empty = self.empty_sources()
        token = secrets.randbits(62) + 1  # never 0, which means "no store"
        metadata = self._metadata(token, ready=True)
        metadata["empty_sources"] = json.dumps(empty, ensure_ascii=False)
        collection.modify(metadata=metadata)
        self._collection = self._client.get_collection(self._name, embedding_function=None)
        self._own_generation = self._seen_generation = token

    def empty_sources(self) -> dict[str, str]:
        """{source id: hash} of the library files the last ingest found empty after
        cleaning, so that ingest reports each once per change, not on every run."""
        collection = self.collection()
        raw = (collection.metadata or {}).get("empty_sources") if collection is not None else None
        return dict(json.loads(raw)) if isinstance(raw, str) else {}

    def remember_empty_sources(self, sources: dict[str, str]) -> None:
        """Stored with the generation when the write lock is released (call inside it)."""
        self._empty_sources = sources

    # ---- writing --------------------------------------------------------------------
    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        """The cross-process lock alone (no generation bump): writers and repairs."""
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
            yield
        finally:
            lock.release()

    @contextmanager
    def write_lock(self, on_commit: Callable[[], None] | None = None) -> Iterator[None]:
        """Exclusive across processes: two writers corrupt an embedded store, and two
        library writers lose each other's manifest entries.

        Re-entrant within a thread, so one hold can span a library change and the ingest
        that follows it; the generation is bumped once, when the outermost hold ends, and
        then each `on_commit` given by a hold that succeeded runs, still under the lock.
        """
        with self._guard:
            if self._writer == threading.get_ident():
                self._depth += 1
                try:
                    yield
                    if on_commit:
                        self._on_commit.append(on_commit)
                finally:
                    self._depth -= 1
                return
            with self._file_lock():
                self._writer = threading.get_ident()
                self._on_commit = []
                try:
                    with suppress(ModelMismatchError, StoreUnavailableError):  # rebuild fixes
                        self.generation()  # a client left stale by another writer must not write
                    yield
                    with self._chroma_errors("written"):
                        self._bump_generation()
                    for commit in [*self._on_commit, *([on_commit] if on_commit else [])]:
                        commit()
                finally:
                    self._writer = None
                    self._empty_sources = None
                    self._on_commit = []

    @contextmanager
    def _chroma_errors(self, done: str) -> Iterator[None]:
        """Chroma's own exceptions (a damaged database, a collection removed meanwhile) as
        one clear error instead of a traceback."""
        try:
            yield
        except ParallaxError:
            raise
        except Exception as exc:
            raise StoreUnavailableError(
                f"The store at {self.location} cannot be {done} ({type(exc).__name__}: {exc}). "
                "If another process is rebuilding it, try again when that is done; otherwise "
                "rebuild it with: parallax ingest --rebuild"
            ) from None

    def replace_source(
        self, source_id: str, chunks: list[Chunk], vectors: list[list[float]], source_hash: str
    ) -> None:
        """Delete the source's old chunks, then add the new ones (call inside write_lock)."""
        collection = self.collection(create=True)
        with self._chroma_errors("written"):
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
            with self._chroma_errors("written"):
                collection.delete(where={"source_id": source_id})

    def reset(self) -> None:
        """Drop every Parallax collection (any model): the start of a rebuild (call inside
        write_lock).

        A store that cannot be opened, or whose database fails SQLite's check, is deleted
        file by file, and only if every entry in the folder is one Chroma creates; anything
        else there (a `.git`, someone's notes) makes the rebuild refuse and name it.
        """
        with self._guard:
            try:
                if self.path and not _database_intact(self.path):
                    raise StoreUnavailableError(f"{self.path}: the database fails its check")
                if self._client is None:
                    self._client = self._connect(create=True)
                for name in self._collection_names():
                    self._client.delete_collection(name)
            except Exception:
                if self.host or self.path is None:
                    with self._chroma_errors("reset"):
                        raise
                self._wipe(self.path)
                self._client = self._connect(create=True)
            self._collection = None
            self._seen_generation = -1

    def _wipe(self, path: Path) -> None:
        if others := _foreign_entries(path, include_hidden=True):
            raise StoreUnavailableError(
                f"Parallax will not rebuild {path}: besides Chroma's own files it holds "
                f"{_listing(others)}, which a rebuild would have to delete. Move them out, "
                "or set PARALLAX_CHROMA_PATH to an empty or missing folder."
            )
        chromadb.api.client.Client.clear_system_cache()  # no client to ask: the class's
        self._client = None
        for entry in path.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    # ---- reading --------------------------------------------------------------------
    def _read(self, read: Callable[[Any], T], nothing: T, *, ready_only: bool = True) -> T:
        """`read(collection)`, or `nothing` when there is no collection (or, `ready_only`,
        its first ingest has not completed). A collection another process removed meanwhile
        (a rebuild) is resolved again and the read tried once more."""
        for attempt in range(2):
            with self._guard:
                collection = self.collection()
                if collection is None or (ready_only and not _is_ready(collection)):
                    return nothing
                try:
                    return read(collection)
                except Exception:
                    if attempt:
                        with self._chroma_errors("read"):
                            raise
                    self._reopen()
        raise AssertionError("unreachable")

    def is_empty(self) -> bool:
        """True until some ingest has completed with chunks: a first ingest that is still
        running, or was killed, leaves a store no one may answer from."""
        with self._guard:
            with suppress(ParallaxError):
                self.generation()  # a store another process finished meanwhile is not empty
            return self._read(lambda c: c.count() == 0, True)

    def _scan(self, include: list[str], where: dict[str, Any] | None = None) -> Iterator[Any]:
        """Every matching row in pages of PAGE: no get() returns the whole collection."""
        offset = 0
        while True:
            with self._guard:
                collection = self.collection()
                if collection is None:
                    return
                page = collection.get(where=where, include=include, limit=PAGE, offset=offset)
            metadatas = page["metadatas"]
            documents = page["documents"] if "documents" in include else [None] * len(metadatas)
            yield from zip(page["ids"], documents, metadatas, strict=True)
            if len(page["ids"]) < PAGE:
                return
            offset += PAGE

    def chunks(self, source_id: str | None = None) -> list[StoredChunk]:
        """Every chunk of complete sources, in source and position order.

        Scans the whole store (with its text): for ingest's index build and for one source's
        chunks; readers use the saved index (store/lexical.py) and `fetch`.
        """
        where = {"source_id": source_id} if source_id else None
        stored = [
            _stored_chunk(i, d, m) for i, d, m in self._scan(["documents", "metadatas"], where)
        ]
        counts = Counter((c.source.id, c.source_hash) for c in stored)
        complete = [c for c in stored if counts[(c.source.id, c.source_hash)] == c.chunk_count]
        return sorted(complete, key=lambda c: (c.source.id, c.position))

    def fetch(self, ids: list[str]) -> dict[str, StoredChunk]:
        """The chunks with these ids that are still in the store, with their text: readers
        fetch only the passages they return."""
        found: dict[str, StoredChunk] = {}
        for begin in range(0, len(ids), PAGE):
            with self._guard:
                collection = self.collection()
                if collection is None:
                    return found
                got = collection.get(
                    ids=ids[begin : begin + PAGE], include=["documents", "metadatas"]
                )
            for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                found[i] = _stored_chunk(i, d, m)
        return found

    def sources(self) -> list[SourceRecord]:
        """Every source in the store, complete or not (an interrupted ingest leaves some).

        A metadata scan of the whole store, in pages: for ingest; readers use the saved
        registry (store/lexical.py).
        """
        by_source: dict[str, list[dict[str, Any]]] = {}
        for _, _, meta in self._scan(["metadatas"]):
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
        where = None
        if source_ids:
            where = (
                {"source_id": source_ids[0]}
                if len(source_ids) == 1
                else {"source_id": {"$in": source_ids}}
            )

        def nearest(collection: Any) -> list[tuple[str, float]]:
            count = collection.count()
            if count == 0:
                return []
            got = collection.query(
                query_embeddings=[vector],
                n_results=min(n, count),
                where=where,
                include=["distances"],
            )
            return [(i, 1.0 - d) for i, d in zip(got["ids"][0], got["distances"][0], strict=True)]

        return self._read(nearest, [])

    def vectors(self, ids: list[str]) -> dict[str, list[float]]:
        """The stored embedding of each chunk id (missing ids are left out)."""
        if not ids:
            return {}

        def stored(collection: Any) -> dict[str, list[float]]:
            got = collection.get(ids=ids, include=["embeddings"])
            return {i: list(v) for i, v in zip(got["ids"], got["embeddings"], strict=True)}

        return self._read(stored, {})


# What Chroma creates in its folder: the database, SQLite's sidecar files (a journal left by
# an interrupted write is rolled back on the next read-write open), and one folder per
# vector segment, named by a UUID and holding the HNSW index files.
_DATABASE = "chroma.sqlite3"
_SQLITE_SIDECARS = {f"{_DATABASE}-journal", f"{_DATABASE}-wal", f"{_DATABASE}-shm"}
_SEGMENT_FILES = {
    "header.bin",
    "data_level0.bin",
    "length.bin",
    "link_lists.bin",
    "index_metadata.pickle",
}
_CHROMA_TABLES = {"collections", "embeddings", "segments"}


def _is_chroma_entry(entry: Path) -> bool:
    if entry.is_symlink():
        return False
    if entry.name == _DATABASE or entry.name in _SQLITE_SIDECARS:
        return entry.is_file()
    try:
        uuid.UUID(entry.name)
    except ValueError:
        return False
    return entry.is_dir() and all(
        f.name in _SEGMENT_FILES and f.is_file() and not f.is_symlink() for f in entry.iterdir()
    )


def _foreign_entries(path: Path, *, include_hidden: bool) -> list[str]:
    """Names in the folder that Chroma did not create. Opening a store tolerates hidden
    entries (a `.DS_Store`); deleting one for a rebuild does not (a `.git` is not ours)."""
    return sorted(
        e.name
        for e in path.iterdir()
        if not _is_chroma_entry(e) and (include_hidden or not e.name.startswith("."))
    )


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _has_database(path: Path) -> bool:
    """A 0-byte database is what an interrupted first open leaves: no store yet."""
    db = path / _DATABASE
    return db.is_file() and db.stat().st_size > 0


def _store_problem(path: Path, *, writable: bool) -> str | None:
    """Why `path` cannot be opened as a Chroma store, or None.

    Read-only (`writable` false) this never changes the folder and raises _NeedsLock for
    what only a read-write open settles. `writable` (the caller holds the write lock) lets
    SQLite roll back a journal that a killed writer left.
    """
    if _foreign_entries(path, include_hidden=False):
        return "holds files that are not a Chroma store"
    db = path / _DATABASE
    if db.exists() and not db.is_file():
        return f"holds a {_DATABASE} that is not a file"
    if not _has_database(path):
        return None
    mode = "rw" if writable else "ro"
    try:
        with closing(
            sqlite3.connect(f"file:{db}?mode={mode}", uri=True, timeout=_BUSY_SECONDS)
        ) as con:
            tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        if not writable:
            raise _NeedsLock() from None
        return f"holds a {_DATABASE} that is not a readable database ({exc})"
    if not tables >= _CHROMA_TABLES:
        if not writable:  # or a first creation, under the lock, that is half-way through
            raise _NeedsLock()
        return f"holds a {_DATABASE} of another application"
    return None


def _database_intact(path: Path) -> bool:
    """SQLite's own page check; a rebuild runs it, since a database damaged mid-file can
    still open and list its tables."""
    if not _has_database(path):
        return True
    try:
        with closing(sqlite3.connect(path / _DATABASE, timeout=_BUSY_SECONDS)) as con:
            return con.execute("PRAGMA quick_check").fetchone() == ("ok",)
    except sqlite3.DatabaseError:
        return False


def _is_ready(collection: Any) -> bool:
    """Whether an ingest has completed on this collection. Collections from before the flag
    existed counted their ingests, so a generation above 0 means the same."""
    metadata = collection.metadata or {}
    return bool(metadata.get("ready", _generation_of(collection) > 0))


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
