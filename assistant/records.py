"""Typed records that cross the assistant's boundary (CLI, UI, JSON output).

One set of evidence records: a `Source` (an article), a `Passage` (a retrieved chunk of it),
a `Citation` (a numbered reference to a passage, with the span that supports it). Citations
and disagreements are built from these records, never by re-reading prose.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from store.articles import SourceMeta
    from store.chroma_store import StoredChunk
    from store.ingest import IngestReport

Mode = Literal["llm", "extractive"]


@dataclass(frozen=True)
class Source:
    """An article of the library, as readers see it."""

    id: str
    title: str
    outlet: str
    author: str | None = None
    published: str | None = None
    url: str | None = None

    @classmethod
    def of(cls, meta: SourceMeta) -> Source:
        """The reader's view of the store's metadata: the one place the two meet."""
        return cls(meta.id, meta.title, meta.outlet, meta.author, meta.published, meta.url)

    @property
    def byline(self) -> str:
        """'Anatol Lieven, 2025-05-21': the parts that are known."""
        return ", ".join(x for x in (self.author, self.published) if x)


@dataclass(frozen=True)
class SourceInfo:
    """One article of the library with its chunk count, for `parallax sources` and the UI."""

    meta: Source
    chunks: int


@dataclass(frozen=True)
class StoredPassage:
    """One chunk of an article as the store holds it, for `parallax chunks` and the bench:
    its place in the cleaned text and the hash of the version it was cut from."""

    chunk_id: str
    source: Source
    text: str
    position: int
    start: int
    end: int
    source_hash: str

    @classmethod
    def of(cls, chunk: StoredChunk) -> StoredPassage:
        return cls(
            chunk.id,
            Source.of(chunk.source),
            chunk.text,
            chunk.position,
            chunk.start,
            chunk.end,
            chunk.source_hash,
        )


@dataclass(frozen=True)
class IngestResult:
    """What one ingest did, by article id, for the CLI and the Library page. `skipped`
    holds one line per file or link left out, naming why and what to do."""

    added: list[str]
    updated: list[str]
    removed: list[str]
    unchanged: list[str]
    skipped: list[str]
    renamed: list[str]  # ids changed to avoid a collision
    chunks_written: int
    seconds: float
    embed_seconds: float

    @classmethod
    def of(cls, report: IngestReport, skipped: list[str], renamed: list[str]) -> IngestResult:
        """The store's report, with what the library said before it (`skipped`, `renamed`)."""
        return cls(
            list(report.added),
            list(report.updated),
            list(report.removed),
            list(report.unchanged),
            [*skipped, *report.skipped],
            [*renamed, *report.renamed],
            report.chunks_written,
            report.seconds,
            report.embed_seconds,
        )

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged, {len(self.skipped)} skipped; "
            f"{self.chunks_written} chunks written in {self.seconds:.1f} s"
        )


@dataclass(frozen=True)
class Removal:
    """A block cleaning removed from an article, with the rule that removed it and why."""

    text: str
    rule: str
    why: str


@dataclass(frozen=True)
class Inspection:
    """An article's cleaning exactly as ingest stores it: what is kept, what was removed."""

    source: Source
    text: str
    removed: list[Removal]


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk of a source, with its place in the source's cleaned text."""

    chunk_id: str
    source: Source
    text: str
    start: int
    end: int
    score: float = 0.0
    similarity: float = 0.0
    rank: int = 0

    @property
    def source_id(self) -> str:
        return self.source.id

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "chunk_id": self.chunk_id,
            "source_id": self.source.id,
            "title": self.source.title,
            "outlet": self.source.outlet,
            "author": self.source.author,
            "published": self.source.published,
            "url": self.source.url,
            "text": self.text,
            "score": round(self.score, 6),
            "similarity": round(self.similarity, 6),
        }


@dataclass(frozen=True)
class Coverage:
    """Why the articles were judged to cover a query (or not): each signal, then the verdict."""

    covered: bool
    similarity: float  # best dense cosine similarity among the candidates
    lexical: float  # rarity-weighted share of the query's terms found in the best passages
    unknown_terms: list[str]  # distinctive query terms that occur nowhere in the library
    agreement: float  # overlap of the dense and BM25 top candidates
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "similarity": round(self.similarity, 4)}


@dataclass(frozen=True)
class Scope:
    """Which articles a question searched, and why; shown to the reader."""

    source_ids: list[str] | None  # None: the whole library
    reason: Literal["all", "selected", "named"]
    label: str  # "the whole library", "The Nation only", "3 selected articles"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Retrieval:
    question: str
    query: str
    answerable: bool
    passages: list[Passage]
    scope: Scope = field(default_factory=lambda: Scope(None, "all", "the whole library"))
    coverage: Coverage | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "query": self.query,
            "answerable": self.answerable,
            "scope": self.scope.to_json(),
            "coverage": self.coverage.to_json() if self.coverage else None,
            "passages": [p.to_json() for p in self.passages],
        }


@dataclass(frozen=True)
class Citation:
    """One numbered reference: the passage it points at and the quote that backs it.

    `span` is where the quote sits in `passage.text` when it was verified there, so the
    highlight and the link show exactly what the verification found.
    """

    n: int
    passage: Passage
    quote: str
    verified: bool
    span: tuple[int, int] | None = None

    @property
    def source(self) -> Source:
        return self.passage.source

    @property
    def chunk_id(self) -> str:
        return self.passage.chunk_id

    @property
    def source_id(self) -> str:
        return self.passage.source.id

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "chunk_id": self.passage.chunk_id,
            "source_id": self.source.id,
            **{k: v for k, v in asdict(self.source).items() if k != "id"},
            "quote": self.quote,
            "verified": self.verified,
            "span": list(self.span) if self.span else None,
        }


@dataclass(frozen=True)
class Position:
    source_id: str
    outlet: str
    summary: str
    citations: list[int]


@dataclass(frozen=True)
class Disagreement:
    topic: str
    positions: list[Position]


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation]
    disagreements: list[Disagreement]
    answerable: bool
    mode: Mode
    model: str | None
    passages: list[Passage] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    incomplete: bool = False
    removed_markers: list[int] = field(default_factory=list)
    uncited_sentences: int = 0
    sentences: int = 0
    notice: str | None = None
    scope: Scope | None = None
    query: str = ""  # what was searched: the question, or a follow-up with its context
    suggestions: list[str] = field(default_factory=list)
    # Spans of `text`: cited sentences that none of their cited passages supports.
    unsupported: list[tuple[int, int]] = field(default_factory=list)
    supported_sentences: int = 0  # cited sentences that a cited passage supports
    dropped_disagreements: int = 0  # blocks the model wrote that failed validation
    added_citations: int = 0  # markers Parallax wrote where the model cited nothing

    def text_with_unsupported_marked(self, mark: str) -> str:
        """`text` with `mark` after each sentence no cited passage supports (the app and
        the export insert a placeholder here, escape the text, then put their mark in)."""
        text = self.text
        for _, end in sorted(self.unsupported, reverse=True):  # from the end: offsets hold
            text = text[:end] + mark + text[end:]
        return text

    def passage(self, chunk_id: str) -> Passage | None:
        return next((p for p in self.passages if p.chunk_id == chunk_id), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "text": self.text,
            "answerable": self.answerable,
            "mode": self.mode,
            "model": self.model,
            "incomplete": self.incomplete,
            "notice": self.notice,
            "scope": self.scope.to_json() if self.scope else None,
            "query": self.query,
            "citations": [c.to_json() for c in self.citations],
            "disagreements": [asdict(d) for d in self.disagreements],
            "passages": [p.to_json() for p in self.passages],
            "removed_markers": self.removed_markers,
            "sentences": self.sentences,
            "uncited_sentences": self.uncited_sentences,
            "suggestions": self.suggestions,
            "unsupported": [list(span) for span in self.unsupported],
            "supported_sentences": self.supported_sentences,
            "dropped_disagreements": self.dropped_disagreements,
            "added_citations": self.added_citations,
            "timings": self.timings,
        }
