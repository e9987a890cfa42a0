"""`parallax eval` in extractive mode, with the thresholds CI holds Parallax to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.evaluation import format_table
from tests.conftest import DEV_QUESTIONS, CliRunner


def test_eval_thresholds_in_extractive_mode(dev_eval: dict[str, Any]) -> None:
    report = dev_eval
    retrieval, answers = report["retrieval"], report["answers"]
    print("\n" + format_table(report))
    assert report["mode"] == "extractive"
    assert retrieval["evidence_recall@8"] >= 0.9
    assert retrieval["evidence_recall@5"] >= 0.8
    assert retrieval["all_sides_count"] == 4  # every side of every disagreement in the top 8
    assert retrieval["unanswerable_declined_count"] == 2
    assert retrieval["answerable_wrongly_declined"] == 0
    assert answers["markers_valid"] == 1.0
    assert answers["citations_verified"] == 1.0
    assert answers["sentences_cited"] >= 0.9
    # Extractive quotes follow relevance, not a quota per outlet: both sides are quoted only
    # when both are among the most relevant sentences.
    assert answers["both_sides_cited_count"] >= 2
    assert answers["unanswerable_declined_by_answer"] == "2/2"
    assert answers["answerable_answered"] == 15


def test_eval_cli_json_shape(cli_runner: CliRunner, tmp_path: Path) -> None:
    questions = tmp_path / "two.jsonl"
    rows = [line for line in DEV_QUESTIONS.read_text().splitlines() if line.strip()]
    questions.write_text("\n".join([rows[0], rows[-1]]) + "\n")
    report = cli_runner.json("eval", "--questions", str(questions), "--json")
    assert report["retrieval"]["questions"] == 2
    assert {"follow_ups_resolved", "off_topic_after_on_topic_declined"} <= report[
        "conversation"
    ].keys()
    assert {
        "evidence_recall@3",
        "evidence_recall@5",
        "evidence_recall@8",
        "mrr",
        "all_sides@8",
    } <= report["retrieval"].keys()
    assert {"markers_valid", "citations_verified", "sentences_cited", "p95_s"} <= report[
        "answers"
    ].keys()
    assert [q["id"] for q in report["per_question"]] == ["d01", "d17"]
