"""`parallax eval` in extractive mode, with the thresholds CI holds Parallax to."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from assistant import Assistant
from assistant.evaluation import format_table, load_questions, run_eval
from tests.conftest import DEV_QUESTIONS
from tests.processes import clean_env


def test_eval_thresholds_in_extractive_mode(shipped_assistant: Assistant) -> None:
    report = run_eval(shipped_assistant, load_questions(DEV_QUESTIONS), k=8)
    retrieval, answers = report["retrieval"], report["answers"]
    print("\n" + format_table(report))
    assert report["mode"] == "extractive"
    assert retrieval["evidence_recall@8"] >= 0.9
    assert retrieval["evidence_recall@5"] >= 0.8
    assert retrieval["all_sides_count"] >= 3
    assert retrieval["unanswerable_declined_count"] == 2
    assert answers["markers_valid"] == 1.0
    assert answers["quotes_verified"] == 1.0
    assert answers["sentences_cited"] >= 0.9
    assert answers["both_sides_cited_count"] >= 3
    assert answers["unanswerable_declined_by_answer"] == "2/2"
    assert answers["answerable_answered"] == 15


def test_eval_cli_json_shape(tmp_path: Path) -> None:
    questions = tmp_path / "two.jsonl"
    rows = [line for line in DEV_QUESTIONS.read_text().splitlines() if line.strip()]
    questions.write_text("\n".join([rows[0], rows[-1]]) + "\n")
    env = clean_env(
        PARALLAX_CHROMA_PATH=str(tmp_path / "chroma"),
        PARALLAX_LIBRARY_DIR=str(tmp_path / "library"),
        PARALLAX_EMBEDDING_MODEL="hashing",
        PARALLAX_LLM="off",
    )
    done = subprocess.run(
        [sys.executable, "-m", "assistant", "eval", "--questions", str(questions), "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["retrieval"]["questions"] == 2
    assert {"evidence_recall@5", "evidence_recall@8", "mrr", "all_sides"} <= report[
        "retrieval"
    ].keys()
    assert {"markers_valid", "quotes_verified", "sentences_cited", "p95_s"} <= report[
        "answers"
    ].keys()
    assert [q["id"] for q in report["per_question"]] == ["d01", "d17"]
