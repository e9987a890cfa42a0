"""Typed records that cross the assistant's boundary (CLI, UI, JSON output).

Citations and disagreements are built from these records, never by re-reading prose.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Mode = Literal["llm", "extractive"]


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its article's metadata and its place in the cleaned text."""

    chunk_id: str
    source_id: str
    title: str
    outlet: str
    author: str | None
    published: str | None
    url: str | None
    text: str
    start: int
    end: int
    score: float = 0.0
    similarity: float = 0.0
    rank: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "chunk_id": self.chunk_id,
            "source_id": self.source_id,
            "title": self.title,
            "outlet": self.outlet,
            "published": self.published,
            "url": self.url,
            "text": self.text,
            "score": round(self.score, 6),
        }


@dataclass(frozen=True)
class Retrieval:
    question: str
    query: str
    answerable: bool
    passages: list[Passage]

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answerable": self.answerable,
            "passages": [p.to_json() for p in self.passages],
        }


@dataclass(frozen=True)
class Citation:
    """One numbered reference: the passage it points at and the quote that backs it."""

    n: int
    chunk_id: str
    source_id: str
    title: str
    outlet: str
    author: str | None
    published: str | None
    url: str | None
    quote: str
    verified: bool


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

    def passage(self, chunk_id: str) -> Passage | None:
        return next((p for p in self.passages if p.chunk_id == chunk_id), None)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["passages"] = [p.to_json() for p in self.passages]
        return data
