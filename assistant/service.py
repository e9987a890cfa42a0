"""The Assistant: the one object the CLI and the Streamlit app talk to.

It owns the store, the embedder, the retriever and (when configured) the chat model, all
built once from a `Settings` and safe to share between threads.
"""

from __future__ import annotations

import copy
import logging
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.answering import Answerer, AnswerStream, Plan
from assistant.chat_model import ChatModel, make_chat_model
from assistant.errors import EmptyQuestionError, UnknownSourceError
from assistant.records import Answer, Retrieval
from assistant.retrieval import Retriever
from assistant.settings import Settings
from store.articles import UNKNOWN_OUTLET, Article, SourceMeta
from store.chroma_store import ChunkStore, StoredChunk
from store.embeddings import Embedder, make_embedder
from store.ingest import IngestReport, PreparedSource, Progress, ingest, prepare
from store.library import Library

log = logging.getLogger("parallax")


@dataclass(frozen=True)
class SourceInfo:
    """One article of the library as the UI and `parallax sources` show it."""

    meta: SourceMeta
    chunks: int


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


def mentioned_sources(question: str, sources: list[SourceInfo]) -> list[str]:
    """Sources whose outlet or author the question names ("What does The Nation say…")."""
    hits = []
    for source in sources:
        names = [source.meta.outlet] if source.meta.outlet != UNKNOWN_OUTLET else []
        if source.meta.author:
            names += [source.meta.author, source.meta.author.split()[-1]]
        for name in names:
            flags = re.IGNORECASE if " " in name else 0  # a lone surname must be capitalised
            if re.search(rf"(?<!\w){re.escape(name)}(?:'s|’s)?(?!\w)", question, flags):
                hits.append(source.meta.id)
                break
    return hits


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
        self.retriever = Retriever(self.store, self.embedder, settings.relevance_floor)
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
        rebuild: bool = False,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Copy `paths` into the library (if any), then make the store match the library."""
        problems: list[str] = []
        if paths:
            _, problems = self.library.add_files(paths)
        if rebuild:
            with self.store.write_lock():
                self.store.reset()
        unreadable: list[str] = []

        def load() -> list[Article]:
            articles, skipped = self.library.articles()
            unreadable.extend(skipped)
            return articles

        report = ingest(self.store, self.embedder, load, progress=progress)
        report.skipped[:0] = problems + unreadable
        return report

    def add_article(
        self,
        data: bytes,
        filename: str,
        fields: dict[str, str | None],
        progress: Progress | None = None,
    ) -> tuple[str, IngestReport]:
        """Store an uploaded or pasted article and index it; askable when this returns."""
        source_id, _ = self.library.add_document(data, filename, fields)
        return source_id, self.ingest(progress=progress)

    def remove_article(self, source_id: str) -> IngestReport:
        self._require_known([source_id])
        self.library.remove(source_id)
        return self.ingest()

    def sources(self) -> list[SourceInfo]:
        """The articles readers can see (complete ones), from the retriever's snapshot: a
        full metadata scan per question would not scale."""
        return [SourceInfo(meta, count) for meta, count in self.retriever.snapshot().sources]

    def chunks(self, source_id: str | None = None) -> list[StoredChunk]:
        if source_id:
            self._require_known([source_id])
        return self.store.chunks(source_id)

    def inspect(self, source_id: str) -> PreparedSource:
        """The cleaning of one library article, exactly as ingest stores it."""
        article = self.library.article(source_id)
        if article is None:
            raise UnknownSourceError(source_id, sorted(self.library.ids()))
        return prepare(article)

    def ensure_ingested(self) -> None:
        """The first question on an empty store ingests the library by itself."""
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

    def retrieve(
        self, question: str, k: int | None = None, sources: list[str] | None = None
    ) -> Retrieval:
        question = self._checked(question, sources)
        passages, answerable = self.retriever.retrieve(
            question, k or self.settings.top_k, sources or None
        )
        return Retrieval(question, question, answerable, passages)

    def ask_stream(
        self,
        question: str,
        history: Sequence[Answer] = (),
        sources: list[str] | None = None,
        k: int | None = None,
    ) -> AnswerStream:
        """Retrieve now; iterate the result for the answer text as it is written."""
        started = time.perf_counter()
        question = self._checked(question, sources)
        scope = sources or mentioned_sources(question, self.sources()) or None
        query = self.answerer.standalone_query(question, history)
        rewritten = time.perf_counter()
        passages, answerable = self.retriever.retrieve(query, k or self.settings.top_k, scope)
        timings = {
            "rewrite_s": rewritten - started,
            "retrieve_s": time.perf_counter() - rewritten,
        }
        plan = Plan(
            question, query, scope, Retrieval(question, query, answerable, passages), timings
        )
        return self.answerer.write(plan, history)

    def ask(
        self,
        question: str,
        history: Sequence[Answer] = (),
        sources: list[str] | None = None,
        k: int | None = None,
    ) -> Answer:
        return self.ask_stream(question, history, sources, k).answer
