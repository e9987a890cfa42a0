"""Hybrid retrieval: RRF and diversity units, source restriction, and the dev-set evaluation
with the real embedding model (run with -s to see the figures)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import EmptyQuestionError, UnknownSourceError
from assistant.evaluation import (
    load_questions,
    normalize,
    score_retrieval,
    summarize_retrieval,
)
from assistant.retrieval import NEAR_BEST, NEW_SOURCE_BONUS, Candidate, select
from assistant.service import Assistant
from store.articles import SourceMeta
from store.chroma_store import StoredChunk

DEV_QUESTIONS = Path(__file__).resolve().parent / "dev_questions.jsonl"
NATION = "the-nation-us-engagement-essential"
HOT_AIR = "hot-air-escalate-to-de-escalate"


# ---- select: relevance first, diversity among the relevant ------------------------------


def candidate(chunk_id: str, relevance: float) -> Candidate:
    source = SourceMeta(chunk_id[0], "T", "O")
    chunk = StoredChunk(chunk_id, "text", source, 0, 0, 4, "h", 1)
    return Candidate(chunk, relevance, relevance, relevance)


def orthogonal(*ids: str) -> dict[str, np.ndarray]:
    return {i: np.eye(len(ids))[n] for n, i in enumerate(ids)}


def picks(scores: dict[str, float], k: int, vectors: dict | None = None) -> list[str]:
    chosen = select([candidate(i, s) for i, s in scores.items()], vectors or orthogonal(*scores), k)
    return [c.chunk.id for c in chosen]


def test_one_article_that_answers_keeps_its_best_passages_first() -> None:
    # a weaker outlet is never promoted just because it is missing from the top
    assert picks({"a1": 1.0, "a2": 0.95, "a3": 0.9, "b1": 0.5}, k=3) == ["a1", "a2", "a3"]


def test_a_nearly_as_relevant_source_is_brought_in() -> None:
    scores = {"a1": 1.0, "a2": 0.9, "b1": 0.86}
    assert picks(scores, k=2) == ["a1", "b1"]  # b1 is within NEAR_BEST of the best
    assert NEAR_BEST * 1.0 <= 0.86 and 0.86 + NEW_SOURCE_BONUS > 0.9


def test_near_duplicates_give_way_to_a_passage_that_adds_something() -> None:
    vectors = orthogonal("a1", "a2", "b1")
    vectors["a2"] = vectors["a1"]  # a2 says what a1 says
    assert picks({"a1": 1.0, "a2": 0.99, "b1": 0.7}, k=2, vectors=vectors) == ["a1", "b1"]
    assert picks({"a1": 1.0, "a2": 0.99, "b1": 0.7}, k=2) == ["a1", "a2"]


def test_select_returns_each_candidate_once_and_at_most_k() -> None:
    scores = {f"{s}{i}": 1.0 / (i + 1) for s in "ABC" for i in range(4)}
    assert len(set(picks(scores, k=6))) == 6
    assert sorted(picks(scores, k=100)) == sorted(scores)
    assert picks({}, k=5) == [] and picks(scores, k=0) == []


# ---- the retriever, fast ----------------------------------------------------------------


def test_retrieve_returns_k_ranked_distinct_passages(fast_assistant: Assistant) -> None:
    result = fast_assistant.retrieve("NATO membership for Ukraine and Russian red lines", k=5)
    assert [p.rank for p in result.passages] == [1, 2, 3, 4, 5]
    assert len({p.chunk_id for p in result.passages}) == 5
    scores = [p.score for p in result.passages]
    assert all(s > 0 for s in scores)
    chunks = {c.id: c for c in fast_assistant.store.chunks()}
    for p in result.passages:
        chunk = chunks[p.chunk_id]
        assert (p.text, p.source_id, p.start, p.end) == (
            chunk.text,
            chunk.source.id,
            chunk.start,
            chunk.end,
        )
        assert p.source.outlet == chunk.source.outlet and p.source.title == chunk.source.title


def test_first_retrieve_on_empty_store_ingests(fast_assistant: Assistant) -> None:
    assert fast_assistant.store.sources() == []
    result = fast_assistant.retrieve("Lavrov road to nowhere")
    assert result.passages
    assert len(fast_assistant.sources()) == 5


@pytest.mark.parametrize("source_id", [NATION, HOT_AIR])
def test_restriction_to_one_source(fast_assistant: Assistant, source_id: str) -> None:
    fast_assistant.ingest()
    result = fast_assistant.retrieve(
        "sanctions NATO Putin peace talks Ukraine", k=8, sources=[source_id]
    )
    assert len(result.passages) == 8
    assert {p.source_id for p in result.passages} == {source_id}


def test_restriction_to_two_sources(fast_assistant: Assistant) -> None:
    fast_assistant.ingest()
    result = fast_assistant.retrieve("Putin time war", k=8, sources=[NATION, HOT_AIR])
    assert {p.source_id for p in result.passages} == {NATION, HOT_AIR}


def test_restriction_with_a_word_only_another_source_has(fast_assistant: Assistant) -> None:
    """BM25 must be restricted too: 'Typhoon' appears only in Hot Air."""
    fast_assistant.ingest()
    assert not any("typhoon" in c.text.lower() for c in fast_assistant.chunks(NATION))
    result = fast_assistant.retrieve("Eurofighter Typhoon jets", k=8, sources=[NATION])
    assert result.passages
    assert {p.source_id for p in result.passages} == {NATION}


def test_unknown_source_lists_the_known_ids(fast_assistant: Assistant) -> None:
    fast_assistant.ingest()
    with pytest.raises(UnknownSourceError) as excinfo:
        fast_assistant.retrieve("anything", sources=["no-such-article"])
    message = str(excinfo.value)
    assert "'no-such-article'" in message
    for info in fast_assistant.sources():
        assert info.meta.id in message
    with pytest.raises(UnknownSourceError):
        fast_assistant.chunks("no-such-article")


@pytest.mark.parametrize("question", ["", "   ", "\n\t "])
def test_empty_question_is_refused(fast_assistant: Assistant, question: str) -> None:
    with pytest.raises(EmptyQuestionError):
        fast_assistant.retrieve(question)


def test_long_question_is_truncated_with_a_warning(
    fast_assistant: Assistant, caplog: pytest.LogCaptureFixture
) -> None:
    question = "What did Lavrov say about NATO? " * 700
    with caplog.at_level(logging.WARNING, logger="parallax"):
        result = fast_assistant.retrieve(question)
    assert len(result.question) == fast_assistant.settings.max_question_chars
    assert result.passages
    assert any("only the first 2000" in r.getMessage() for r in caplog.records)


# ---- the dev set, real model ------------------------------------------------------------


@pytest.fixture(scope="module")
def evaluation(shipped_assistant: Assistant) -> tuple[list, dict]:
    questions = load_questions(DEV_QUESTIONS)
    scores = []
    for question in questions:
        result = shipped_assistant.retrieve(question.question, k=8)
        scores.append(score_retrieval(question, result.passages, result.answerable))
    return scores, summarize_retrieval(scores)


def test_dev_set_retrieval_quality(evaluation: tuple[list, dict]) -> None:
    scores, summary = evaluation
    print("\nretrieval on tests/dev_questions.jsonl:")
    for key, value in summary.items():
        print(f"  {key}: {value:.3f}" if isinstance(value, float) else f"  {key}: {value}")
    assert summary["questions"] == 17
    assert summary["evidence_recall@8"] >= 0.9
    assert summary["all_sides_count"] >= 3
    disagreements = [s for s in scores if s.kind == "disagreement"]
    assert len(disagreements) == 4
    assert sum(bool(s.all_sides) for s in disagreements) >= 3


def test_unanswerable_questions_are_recognised(evaluation: tuple[list, dict]) -> None:
    scores, summary = evaluation
    unanswerable = [s for s in scores if s.kind == "unanswerable"]
    assert len(unanswerable) == 2
    assert [s.answerable for s in unanswerable] == [False, False]
    assert summary["unanswerable_declined_count"] == 2


def test_answerable_questions_are_accepted(evaluation: tuple[list, dict]) -> None:
    scores, summary = evaluation
    answerable = [s for s in scores if s.kind != "unanswerable"]
    assert len(answerable) == 15
    assert [s.id for s in answerable if not s.answerable] == []
    assert summary["answerable_accepted"] == 15


def test_every_evidence_snippet_survives_cleaning(shipped_assistant: Assistant) -> None:
    chunks = shipped_assistant.store.chunks()
    by_source: dict[str, str] = {}
    for chunk in chunks:
        by_source[chunk.source.id] = by_source.get(chunk.source.id, "") + " " + chunk.text
    for question in load_questions(DEV_QUESTIONS):
        for evidence in question.evidence:
            assert evidence.source in by_source, (question.id, evidence.source)
            assert normalize(evidence.snippet) in normalize(by_source[evidence.source]), (
                question.id,
                evidence.snippet,
            )


def test_venezuela_is_nowhere_and_not_answerable(shipped_assistant: Assistant) -> None:
    chunks = shipped_assistant.store.chunks()
    assert len({c.source.id for c in chunks}) == 5
    assert not any("venezuela" in c.text.lower() for c in chunks)
    result = shipped_assistant.retrieve("What do the articles say about Venezuela's oil exports?")
    assert result.answerable is False
    assert result.coverage is not None and "venezuela" in result.coverage.unknown_terms


def test_real_model_puts_the_evidence_first_for_a_restricted_question(
    shipped_assistant: Assistant,
) -> None:
    result = shipped_assistant.retrieve(
        "What did Lavrov say about discussing Ukraine's security without Russia?",
        k=3,
        sources=[HOT_AIR],
    )
    assert result.answerable
    assert {p.source_id for p in result.passages} == {HOT_AIR}
    assert "road to nowhere" in normalize(result.passages[0].text)
