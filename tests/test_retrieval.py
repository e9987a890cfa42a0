"""Hybrid retrieval: RRF and diversity units, source restriction, and the dev-set evaluation
with the real embedding model (run with -s to see the figures)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from assistant.errors import EmptyQuestionError, UnknownSourceError
from assistant.evaluation import RetrievalScore, load_questions, normalize
from assistant.retrieval import RRF_K, SOURCE_DECAY, diversify, rrf
from assistant.service import Assistant

DEV_QUESTIONS = Path(__file__).resolve().parent / "dev_questions.jsonl"
NATION = "the-nation-us-engagement-essential"
HOT_AIR = "hot-air-escalate-to-de-escalate"


# ---- rrf ---------------------------------------------------------------------------------


def test_rrf_sums_reciprocal_ranks() -> None:
    fused = rrf([["a", "b", "c"], ["b", "c", "d"]], k=60)
    assert fused == pytest.approx(
        {"a": 1 / 61, "b": 1 / 62 + 1 / 61, "c": 1 / 63 + 1 / 62, "d": 1 / 63}
    )
    assert sorted(fused, key=fused.get, reverse=True) == ["b", "c", "a", "d"]


def test_rrf_agreement_beats_a_single_first_place() -> None:
    # "x" is first in one ranking only; "y" is second in both
    fused = rrf([["x", "y"], ["z", "y"]])
    assert fused["y"] > fused["x"] == fused["z"]
    assert fused["x"] == pytest.approx(1 / (RRF_K + 1))


def test_rrf_edge_cases() -> None:
    assert rrf([]) == {}
    assert rrf([[], []]) == {}
    assert rrf([["only"]], k=0) == {"only": 1.0}
    assert rrf([["a", "b"]], k=1) == pytest.approx({"a": 1 / 2, "b": 1 / 3})


# ---- diversify ---------------------------------------------------------------------------


def test_diversify_brings_in_a_second_source_when_scores_are_close() -> None:
    scores = {"a1": 1.0, "a2": 0.95, "a3": 0.9, "b1": 0.85}
    source_of = {"a1": "A", "a2": "A", "a3": "A", "b1": "B"}
    assert diversify(scores, source_of, k=2) == ["a1", "b1"]
    # without decay the plain score order would have kept B out of the top 2
    assert diversify(scores, source_of, k=2, decay=1.0) == ["a1", "a2"]


def test_diversify_keeps_a_clearly_dominant_source() -> None:
    scores = {"a1": 1.0, "a2": 0.9, "a3": 0.7, "b1": 0.5}
    source_of = {"a1": "A", "a2": "A", "a3": "A", "b1": "B"}
    # a2 decays to 0.9 * 0.8 = 0.72 > 0.5; a3 to 0.7 * 0.64 = 0.448 < 0.5
    assert SOURCE_DECAY == 0.8
    assert diversify(scores, source_of, k=3) == ["a1", "a2", "b1"]
    assert diversify(scores, source_of, k=2) == ["a1", "a2"]


def test_diversify_returns_each_id_once_and_at_most_k() -> None:
    scores = {f"{s}{i}": 1.0 / (i + 1) for s in "ABC" for i in range(4)}
    source_of = {i: i[0] for i in scores}
    picked = diversify(scores, source_of, k=6)
    assert len(picked) == len(set(picked)) == 6
    assert {p[0] for p in picked[:3]} == {"A", "B", "C"}
    assert sorted(diversify(scores, source_of, k=100)) == sorted(scores)
    assert diversify({}, {}, k=5) == []
    assert diversify(scores, source_of, k=0) == []


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
        assert p.outlet == chunk.source.outlet and p.title == chunk.source.title


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
def evaluation(dev_eval: dict[str, Any]) -> tuple[list[RetrievalScore], dict[str, Any]]:
    """The dev set's retrieval as scored once per run (conftest's `dev_eval`)."""
    fields = RetrievalScore.__dataclass_fields__
    scores = [RetrievalScore(**{k: row[k] for k in fields}) for row in dev_eval["per_question"]]
    return scores, dev_eval["retrieval"]


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
    assert all(p.similarity < shipped_assistant.settings.relevance_floor for p in result.passages)


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
