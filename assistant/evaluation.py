"""Evaluation on a question set in the format of `tests/dev_questions.jsonl`.

Retrieval: evidence recall@5/@8, source recall, MRR of the first evidence hit, all-sides
coverage on disagreement questions, and unanswerable questions recognised.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from assistant.citations import normalize
from assistant.records import Passage

Kind = Literal["factual", "multi-source", "disagreement", "unanswerable"]


@dataclass(frozen=True)
class Evidence:
    source: str
    snippet: str


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    kind: Kind
    question: str
    evidence: list[Evidence]
    sides: list[list[str]] = field(default_factory=list)


def load_questions(path: Path) -> list[EvalQuestion]:
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        questions.append(
            EvalQuestion(
                id=row["id"],
                kind=row["kind"],
                question=row["question"],
                evidence=[Evidence(e["source"], e["snippet"]) for e in row.get("evidence", [])],
                sides=row.get("sides", []),
            )
        )
    return questions


def first_hit(evidence: Evidence, passages: list[Passage]) -> int | None:
    """1-based rank of the first passage that contains the snippet, if any."""
    snippet = normalize(evidence.snippet)
    for rank, passage in enumerate(passages, start=1):
        if passage.source_id == evidence.source and snippet in normalize(passage.text):
            return rank
    return None


@dataclass(frozen=True)
class RetrievalScore:
    id: str
    kind: Kind
    hits: list[int | None]  # first-hit rank per evidence snippet
    sources_found: float | None
    all_sides: bool | None
    answerable: bool

    def recall_at(self, k: int) -> float | None:
        if not self.hits:
            return None
        return sum(1 for h in self.hits if h is not None and h <= k) / len(self.hits)

    @property
    def reciprocal_rank(self) -> float | None:
        found = [h for h in self.hits if h is not None]
        if not self.hits:
            return None
        return 1.0 / min(found) if found else 0.0


def score_retrieval(
    question: EvalQuestion, passages: list[Passage], answerable: bool, k: int = 8
) -> RetrievalScore:
    top = passages[:k]
    retrieved_sources = {p.source_id for p in top}
    wanted = {e.source for e in question.evidence}
    return RetrievalScore(
        id=question.id,
        kind=question.kind,
        hits=[first_hit(e, passages) for e in question.evidence],
        sources_found=len(wanted & retrieved_sources) / len(wanted) if wanted else None,
        all_sides=(
            all(any(s in retrieved_sources for s in side) for side in question.sides)
            if question.sides
            else None
        ),
        answerable=answerable,
    )


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def summarize_retrieval(scores: list[RetrievalScore]) -> dict[str, Any]:
    answerable_qs = [s for s in scores if s.kind != "unanswerable"]
    unanswerable = [s for s in scores if s.kind == "unanswerable"]
    sides = [s.all_sides for s in scores if s.all_sides is not None]
    return {
        "questions": len(scores),
        "evidence_recall@5": _mean([s.recall_at(5) for s in answerable_qs]),
        "evidence_recall@8": _mean([s.recall_at(8) for s in answerable_qs]),
        "source_recall@8": _mean([s.sources_found for s in answerable_qs]),
        "mrr": _mean([s.reciprocal_rank for s in answerable_qs]),
        "all_sides": f"{sum(sides)}/{len(sides)}",
        "all_sides_count": sum(sides),
        "unanswerable_declined": f"{sum(not s.answerable for s in unanswerable)}/{len(unanswerable)}",
        "unanswerable_declined_count": sum(not s.answerable for s in unanswerable),
        "answerable_accepted": sum(s.answerable for s in answerable_qs),
    }
