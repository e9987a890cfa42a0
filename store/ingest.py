"""Incremental, idempotent ingest: make the store match the library.

A source's hash covers its cleaned text, metadata and chunking parameters, so unchanged
sources are skipped without loading the embedding model, changed ones are replaced, and
sources that left the library are deleted. An ingest killed midway leaves incomplete
sources, which readers ignore and the next ingest redoes. Each ingest ends by saving the
BM25 index and source registry of the result (store/lexical.py) for readers to map.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tqdm import tqdm

from store.articles import Article, fallback_title
from store.chroma_store import ChunkStore
from store.chunking import CHUNK_OVERLAP, CHUNK_SIZE, Chunk, chunk_text, content_hash
from store.cleaning import CleanedText, clean
from store.embeddings import Embedder
from store.lexical import indexed_write

Progress = Callable[[int, int], None]  # (chunks embedded so far, total)


@dataclass(frozen=True)
class PreparedSource:
    article: Article
    cleaned: CleanedText
    chunks: list[Chunk]
    source_hash: str


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)  # ids changed to avoid a collision
    chunks_written: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0


def prepare(article: Article) -> PreparedSource:
    """Clean and chunk one article; pure, so `inspect` shows exactly what ingest stores."""
    cleaned = clean(article.text, article.meta.title or None)
    meta = article.meta
    if not meta.title:
        meta = dataclasses.replace(meta, title=fallback_title(meta, cleaned.text))
    chunks = chunk_text(meta, cleaned.text)
    fingerprint = json.dumps(
        [dataclasses.asdict(meta), cleaned.text, CHUNK_SIZE, CHUNK_OVERLAP], ensure_ascii=False
    )
    return PreparedSource(
        dataclasses.replace(article, meta=meta), cleaned, chunks, content_hash(fingerprint, 16)
    )


def ingest(
    store: ChunkStore,
    embedder: Embedder,
    load: Callable[[], list[Article]],
    *,
    delete_missing: bool = True,
    progress: Progress | None = None,
) -> IngestReport:
    """Bring the store in line with the articles `load` returns, under the write lock.

    The library is read inside the lock: an ingest that waited for another one must see
    what that one added, or it would delete it again. The lexical index readers use is
    rebuilt and saved for the new generation before the lock is released.
    """
    started = time.perf_counter()
    report = IngestReport()
    with indexed_write(store) as write:
        articles = load()
        existing = {record.meta.id: record for record in store.sources()}
        reported_empty = store.empty_sources()
        empty: dict[str, str] = {}
        pending: list[PreparedSource] = []
        for article in articles:
            prepared = prepare(article)
            source_id = prepared.article.meta.id
            if not prepared.chunks:
                # said once per change of the file (its raw text: the cleaned one is empty)
                empty[source_id] = content_hash(article.text, 16)
                if reported_empty.get(source_id) != empty[source_id]:
                    report.skipped.append(
                        f"{article.path or source_id}: nothing left after removing navigation "
                        "and boilerplate, so it is not in the store (said once until the file "
                        "changes). Check that the file holds the article's text."
                    )
                continue
            record = existing.get(source_id)
            if record and record.complete and record.source_hash == prepared.source_hash:
                report.unchanged.append(source_id)
                continue
            (report.updated if record else report.added).append(source_id)
            pending.append(prepared)

        vectors = _embed([c for p in pending for c in p.chunks], embedder, progress, report)
        offset = 0
        for prepared in pending:
            count = len(prepared.chunks)
            store.replace_source(
                prepared.article.meta.id,
                prepared.chunks,
                vectors[offset : offset + count],
                prepared.source_hash,
            )
            offset += count
        report.chunks_written = offset

        store.remember_empty_sources(empty)
        if delete_missing:
            wanted = {a.meta.id for a in articles}
            for source_id in sorted(set(existing) - wanted):
                store.delete_source(source_id)
                report.removed.append(source_id)
        write.changed = bool(pending or report.removed)
    report.seconds = time.perf_counter() - started
    return report


def _embed(
    chunks: list[Chunk], embedder: Embedder, progress: Progress | None, report: IngestReport
) -> list[list[float]]:
    """Embed in batches across sources, so small articles still fill a batch."""
    if not chunks:
        return []
    started = time.perf_counter()
    vectors: list[list[float]] = []
    batch = 64
    bar = None if progress else tqdm(total=len(chunks), unit="chunk", file=sys.stderr)
    for begin in range(0, len(chunks), batch):
        vectors.extend(embedder.embed_documents([c.text for c in chunks[begin : begin + batch]]))
        if progress:
            progress(len(vectors), len(chunks))
        else:
            bar.update(min(batch, len(chunks) - begin))
    if bar:
        bar.close()
    report.embed_seconds = time.perf_counter() - started
    return vectors
