"""The Assistant: the one object the CLI and the Streamlit app talk to.

It owns the store, the embedder, the retriever and (when configured) the chat model, all
built once from a `Settings` and safe to share between threads.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from assistant.answering import Answerer, AnswerStream
from assistant.chat_model import ChatModel, make_chat_model
from assistant.errors import EmptyQuestionError, UnknownSourceError
from assistant.planning import (
    Plan,
    chosen_scope,
    follow_up_coverage,
    named_scope,
    previous_topic,
    refers_back,
    with_context,
)
from assistant.records import (
    Answer,
    IngestResult,
    Inspection,
    Removal,
    Retrieval,
    Source,
    SourceInfo,
    StoredPassage,
)
from assistant.retrieval import Retriever
from assistant.settings import Settings
from store.articles import Article
from store.chroma_store import ChunkStore
from store.embeddings import Embedder, make_embedder
from store.errors import ParallaxError
from store.fetch import Fetched, fetch
from store.ingest import Progress, ingest, prepare
from store.library import Library, LibraryNotes

log = logging.getLogger("parallax")


def clean_question(question: str, max_chars: int) -> str:
    question = " ".join(question.split())
    if not question:
        raise EmptyQuestionError()
    if len(question) > max_chars:
        log.warning(
            "The question is %d characters long; only the first %d are used.",
            len(question),
            max_chars,
        )
        question = question[:max_chars]
    return question


class Assistant:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        chat_model: ChatModel | None = None,
    ) -> None:
        self.settings = settings
        token = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        self.embedder = embedder or make_embedder(
            settings.embedding_model, token, settings.openai_base_url
        )
        self.store = ChunkStore(
            model=self.embedder.name,
            lock_path=settings.lock_path,
            lock_timeout=settings.lock_timeout,
            path=None if settings.chroma_host else settings.chroma_path,
            host=settings.chroma_host,
            port=settings.chroma_port,
            index_path=settings.index_dir,
        )
        self.library = Library(
            settings.library_dir, settings.articles_dir, int(settings.max_file_mb * 1e6)
        )
        self.retriever = Retriever(self.store, self.embedder)
        self.answerer = Answerer(chat_model or make_chat_model(settings), self.embedder)
        self._first_ingest = threading.Lock()

    @property
    def mode(self) -> str:
        """ "llm" or "extractive"."""
        return self.answerer.mode

    @property
    def model_name(self) -> str | None:
        return getattr(self.answerer.chat_model, "name", None)

    def with_model(self, llm_model: str) -> Assistant:
        """The same library, store and embedder, answering with another chat model."""
        twin = copy.copy(self)
        twin.settings = self.settings.model_copy(update={"llm_model": llm_model})
        twin.answerer = Answerer(make_chat_model(twin.settings), self.embedder)
        return twin

    def warm_up(self) -> None:
        """Ingest if empty, load the embedding model and build the BM25 index now, so the
        first question does not pay for them."""
        self.ensure_ingested()
        self.embedder.embed_query("warm up")
        self.retriever.snapshot()

    # ---- the library ---------------------------------------------------------------
    def ingest(
        self,
        paths: list[Path] | None = None,
        *,
        urls: list[str] | None = None,
        rebuild: bool = False,
        progress: Progress | None = None,
    ) -> IngestResult:
        """Copy `paths` and the pages at `urls` into the library (if any), then make the store
        match the library. A link that cannot be fetched is reported and skipped.

        One hold of the write lock covers the copy, the rebuild and the ingest: library
        writes read-modify-write the manifest, and another process's ingest must not see
        a library half-way through them.
        """
        pages: list[tuple[str, Fetched]] = []
        unfetched: list[str] = []
        for url in urls or []:
            try:
                pages.append((url, fetch(url, self.library.max_bytes)))
            except ParallaxError as exc:
                unfetched.append(str(exc))
        with self.store.write_lock():
            added = LibraryNotes(skipped=unfetched)
            if paths:
                _, notes = self.library.add_files(paths)
                added.skipped.extend(notes.skipped)
                added.renamed.extend(notes.renamed)
            for url, page in pages:
                try:
                    self.library.add_document(page.data, page.filename, {"url": page.url})
                except ParallaxError as exc:
                    added.skipped.append(f"{url}: {exc}")
            if rebuild:
                self.store.reset()
            found = LibraryNotes()

            def load() -> list[Article]:
                articles, notes = self.library.articles()
                found.skipped.extend(notes.skipped)
                found.renamed.extend(notes.renamed)
                return articles

            report = ingest(self.store, self.embedder, load, progress=progress)
        return IngestResult.of(report, added.skipped + found.skipped, added.renamed + found.renamed)

    def add_article(
        self,
        data: bytes,
        filename: str,
        fields: dict[str, str | None],
        progress: Progress | None = None,
    ) -> tuple[str, IngestResult]:
        """Store an uploaded or pasted article and index it; askable when this returns."""
        with self.store.write_lock():
            source_id, _ = self.library.add_document(data, filename, fields)
            return source_id, self.ingest(progress=progress)

    def add_url(
        self,
        url: str,
        fields: dict[str, str | None] | None = None,
        progress: Progress | None = None,
    ) -> tuple[str, IngestResult]:
        """Fetch the page at `url` (outside the lock: the network may be slow), then store and
        index it like an uploaded page, its URL kept as the link to the original."""
        page = fetch(url, self.library.max_bytes)
        fields = {**(fields or {}), "url": (fields or {}).get("url") or page.url}
        return self.add_article(page.data, page.filename, fields, progress)

    def remove_article(self, source_id: str) -> IngestResult:
        self._require_known([source_id])
        with self.store.write_lock():
            self.library.remove(source_id)
            return self.ingest()

    def sources(self) -> list[SourceInfo]:
        """The articles readers can see (complete ones), from the retriever's snapshot: a
        full metadata scan per question would not scale."""
        return [SourceInfo(Source.of(m), count) for m, count in self.retriever.snapshot().sources]

    def chunks(self, source_id: str | None = None) -> list[StoredPassage]:
        """Every stored chunk of complete articles (of one, given `source_id`), in order."""
        if source_id:
            self._require_known([source_id])
        return [StoredPassage.of(c) for c in self.store.chunks(source_id)]

    def inspect(self, source_id: str) -> Inspection:
        """The cleaning of one library article, exactly as ingest stores it."""
        article = self.library.article(source_id)
        if article is None:
            raise UnknownSourceError(source_id, sorted(self.library.ids()))
        prepared = prepare(article)
        m = prepared.article.meta
        return Inspection(
            Source.of(m),
            prepared.cleaned.text,
            [Removal(b.text, b.rule, b.why) for b in prepared.cleaned.removed],
        )

    def ensure_ingested(self) -> None:
        """The first question on an empty store ingests the library by itself (checked
        before the lock too, so that questions on a filled store never queue behind it)."""
        if not self.store.is_empty():
            return
        with self._first_ingest:
            if self.store.is_empty():
                log.info("The store is empty: ingesting the library first.")
                report = self.ingest()
                log.info("%s", report.summary())

    def _require_known(self, source_ids: list[str]) -> None:
        """Visible sources, or library files still being indexed (those just find nothing)."""
        known = {s.meta.id for s in self.sources()}
        if not known.issuperset(source_ids):
            known |= set(self.library.ids())
        for source_id in source_ids:
            if source_id not in known:
                raise UnknownSourceError(source_id, sorted(known))

    # ---- questions -----------------------------------------------------------------
    def _checked(self, question: str, sources: list[str] | None) -> str:
        """What every question goes through first: tidied, a store to ask, known sources."""
        question = clean_question(question, self.settings.max_question_chars)
        self.ensure_ingested()
        if sources:
            self._require_known(sources)
        return question

    def plan(
        self,
        question: str,
        history: Sequence[Answer] = (),
        sources: list[str] | None = None,
        k: int | None = None,
        *,
        narrow: bool = True,
    ) -> Plan:
        """The one planning step: query, scope and coverage, shared by every entry point.

        `sources` is the reader's own selection; without one, a question that clearly names
        an outlet or author is narrowed to it unless `narrow` is False ("search all").
        """
        started = time.perf_counter()
        question = self._checked(question, sources)
        k = k or self.settings.top_k
        library = self.sources()
        scope = chosen_scope(sources, library)
        if not sources and narrow:
            scope = named_scope(question, library) or scope
        names = [n for i in library for n in (i.meta.outlet, i.meta.author) if n]
        passages, coverage = self.retriever.retrieve(question, k, scope.source_ids, names)
        query = question
        previous = previous_topic(history)
        if previous is not None and refers_back(question):
            rewritten = self.answerer.rewrite(question, history)
            query = rewritten or with_context(question, previous)
            more, combined = self.retriever.retrieve(query, k, scope.source_ids, names)
            judged = follow_up_coverage(coverage, combined)
            if judged is combined:
                passages, coverage = more, combined
            else:
                query = question
        retrieval = Retrieval(question, query, coverage.covered, passages, scope, coverage)
        timings = {"plan_s": time.perf_counter() - started}
        return Plan(question, query, retrieval, tuple(history), timings)

    def write(self, plan: Plan, *, extractive: bool = False) -> AnswerStream:
        """Answer a plan; `extractive` shows the passages' quotes even when a model is set
        (the reader's fallback after a model error)."""
        return self.answerer.write(plan, extractive=extractive)

    def retrieve(
        self,
        question: str,
        k: int | None = None,
        sources: list[str] | None = None,
        history: Sequence[Answer] = (),
        *,
        narrow: bool = True,
    ) -> Retrieval:
        return self.plan(question, history, sources, k, narrow=narrow).retrieval

    def ask_stream(
        self,
        question: str,
        history: Sequence[Answer] = (),
        sources: list[str] | None = None,
        k: int | None = None,
        *,
        narrow: bool = True,
    ) -> AnswerStream:
        """Plan now; iterate the result for the answer text as it is written."""
        return self.write(self.plan(question, history, sources, k, narrow=narrow))

    def ask(
        self,
        question: str,
        history: Sequence[Answer] = (),
        sources: list[str] | None = None,
        k: int | None = None,
        *,
        narrow: bool = True,
    ) -> Answer:
        return self.ask_stream(question, history, sources, k, narrow=narrow).answer
