"""The `parallax` CLI as a user runs it: JSON on stdout, messages on stderr, exit codes.

Commands run in-process through `main(argv)` (tests/conftest.py's CliRunner); first use of
an empty store runs as a real process, since a fresh process is the point there.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli import app_command, build_parser
from store.articles import load_manifest, read_article
from store.ingest import prepare
from tests.conftest import QUOKKA_ARTICLE, SHIPPED, CliRunner, cli_in
from tests.processes import clean_env

SHIPPED_IDS = sorted(p.stem for p in SHIPPED.glob("*.txt"))
HOT_AIR = "hot-air-escalate-to-de-escalate"
NATION = "the-nation-us-engagement-essential"

SOURCE_KEYS = {"id", "title", "outlet", "author", "published", "url", "chunks"}
CHUNK_KEYS = {"id", "source_id", "text", "metadata"}
CHUNK_META_KEYS = {
    "title",
    "outlet",
    "author",
    "published",
    "url",
    "position",
    "start",
    "end",
    "source_hash",
}
RETRIEVAL_KEYS = {"question", "query", "answerable", "scope", "coverage", "passages"}
PASSAGE_KEYS = {
    "rank",
    "chunk_id",
    "source_id",
    "title",
    "outlet",
    "published",
    "url",
    "author",
    "text",
    "score",
    "similarity",
}


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> CliRunner:
    """One ingested store shared by the read-only tests."""
    cli = cli_in(tmp_path_factory.mktemp("cli"))
    done = cli.run("ingest")
    assert done.code == 0, done.err
    assert done.out == ""
    assert "5 added" in done.err
    return cli


# ---- JSON shapes -------------------------------------------------------------------------


def test_sources_json_shape(cli: CliRunner) -> None:
    sources = cli.json("sources", "--json")
    assert isinstance(sources, list)
    assert [s["id"] for s in sources] == SHIPPED_IDS
    for s in sources:
        assert set(s) == SOURCE_KEYS
        assert isinstance(s["chunks"], int) and s["chunks"] > 0
        assert isinstance(s["title"], str) and s["title"]
        assert isinstance(s["outlet"], str) and s["outlet"]
    nation = next(s for s in sources if s["id"] == NATION)
    assert nation["outlet"] == "The Nation"
    assert nation["author"] == "Anatol Lieven"
    assert nation["published"] == "2025-05-21"
    assert nation["url"].startswith("https://www.thenation.com/")
    hot_air = next(s for s in sources if s["id"] == HOT_AIR)
    assert hot_air["author"] is None and hot_air["url"] is None


def test_chunks_json_shape_and_source_filter(cli: CliRunner) -> None:
    chunks = cli.json("chunks", "--json")
    sources = {s["id"]: s["chunks"] for s in cli.json("sources", "--json")}
    only = cli.json("chunks", "--source", HOT_AIR, "--json")
    assert isinstance(chunks, list)
    assert len(chunks) == sum(sources.values())
    assert len({c["id"] for c in chunks}) == len(chunks)
    for c in chunks:
        assert set(c) == CHUNK_KEYS
        assert set(c["metadata"]) == CHUNK_META_KEYS
        assert c["id"].startswith(c["source_id"] + ":")
        assert c["metadata"]["end"] - c["metadata"]["start"] == len(c["text"])

    assert len(only) == sources[HOT_AIR]
    assert {c["source_id"] for c in only} == {HOT_AIR}
    assert [c["metadata"]["position"] for c in only] == list(range(len(only)))
    assert {c["metadata"]["outlet"] for c in only} == {"Hot Air"}
    assert only == [c for c in chunks if c["source_id"] == HOT_AIR]


def test_retrieve_json_shape_k_and_source(cli: CliRunner) -> None:
    result = cli.json("retrieve", "Why did the April peace plan fail?", "--json")
    three = cli.json("retrieve", "Why did the April peace plan fail?", "-k", "3", "--json")
    restricted = cli.json("retrieve", "NATO peace talks", "--source", NATION, "--json")
    assert set(result) == RETRIEVAL_KEYS
    assert result["question"] == "Why did the April peace plan fail?"
    assert isinstance(result["answerable"], bool)
    assert len(result["passages"]) == 8
    for rank, p in enumerate(result["passages"], start=1):
        assert set(p) == PASSAGE_KEYS
        assert p["rank"] == rank
        assert isinstance(p["score"], float) and p["score"] > 0
        assert p["chunk_id"].startswith(p["source_id"] + ":")

    assert [p["rank"] for p in three["passages"]] == [1, 2, 3]

    assert restricted["passages"]
    assert {p["source_id"] for p in restricted["passages"]} == {NATION}


def test_retrieve_without_json_is_readable_text(cli: CliRunner) -> None:
    done = cli.run("retrieve", "Lavrov road to nowhere", "-k", "2")
    assert done.code == 0, done.err
    assert "[1] " in done.out and "[2] " in done.out
    assert "[3] " not in done.out


# ---- first use: a fresh process on an empty store -----------------------------------------


@pytest.mark.slow
def test_first_retrieve_on_empty_store_ingests_by_itself(tmp_path: Path) -> None:
    cli = cli_in(tmp_path / "fresh")
    done = subprocess.run(
        [sys.executable, "-m", "assistant", "retrieve", "Lavrov road to nowhere", "--json"],
        cwd=cli.root,
        env=clean_env(**cli.env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    result = json.loads(done.stdout)
    assert len(result["passages"]) == 8
    assert "ingesting the library" in done.stderr
    assert "5 added" in done.stderr
    assert [s["id"] for s in cli.json("sources", "--json")] == SHIPPED_IDS


# ---- inspect -----------------------------------------------------------------------------


def test_inspect_prints_cleaned_text_and_removed_blocks(cli: CliRunner) -> None:
    done = cli.run("inspect", HOT_AIR)
    assert done.code == 0, done.err
    manifest = load_manifest(SHIPPED)
    prepared = prepare(read_article(SHIPPED / f"{HOT_AIR}.txt", manifest.get(HOT_AIR), 5_000_000))
    assert prepared.cleaned.removed
    assert "=== Cleaned text ===" in done.out
    assert prepared.cleaned.text in done.out
    assert f"=== Removed blocks ({len(prepared.cleaned.removed)}) ===" in done.out
    for block in prepared.cleaned.removed:
        assert f"[{block.rule}] {block.why}" in done.out
        assert block.text.strip() in done.out
    # removed text is listed only under "Removed blocks", never in the cleaned part
    cleaned_part = done.out.split("=== Removed blocks")[0]
    assert "promo code" not in cleaned_part
    assert "promo code" in done.out


# ---- errors ------------------------------------------------------------------------------


def test_empty_question_exits_2_with_a_message(cli: CliRunner) -> None:
    for question in ("", "  \t "):
        done = cli.run("retrieve", question, "--json")
        assert done.code == 2
        assert done.out == ""
        assert "error: The question is empty" in done.err


def test_very_long_question_is_truncated_with_a_warning(cli: CliRunner) -> None:
    question = ("What did Lavrov say about security guarantees for Ukraine? " * 400)[:20_000]
    assert len(question) == 20_000
    done = cli.run("retrieve", question, "--json")
    assert done.code == 0, done.err
    assert "only the first 2000 are used" in done.err
    result = json.loads(done.out)
    assert len(result["question"]) == 2000
    assert question.startswith(result["question"])
    assert result["passages"]


def test_unknown_source_exits_1_with_known_ids(cli: CliRunner) -> None:
    for command in (
        ("retrieve", "NATO", "--source", "no-such-article", "--json"),
        ("chunks", "--source", "no-such-article", "--json"),
        ("inspect", "no-such-article"),
    ):
        done = cli.run(*command)
        assert done.code == 1, command
        assert done.out == ""
        assert "error: No article with id 'no-such-article'" in done.err
        assert HOT_AIR in done.err and NATION in done.err


def test_ingest_with_a_bad_file_among_good_ones(cli_runner: CliRunner, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    good = incoming / "quokka-talks.txt"
    good.write_text(QUOKKA_ARTICLE, encoding="utf-8")
    other = incoming / "wombat-talks.md"
    other.write_text(QUOKKA_ARTICLE.replace("Quokka", "Wombat"), encoding="utf-8")
    bad = incoming / "scan.txt"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

    done = cli_runner.run("ingest", str(good), str(bad), str(other))
    assert done.code == 0, done.err
    assert done.out == ""
    assert str(bad) in done.err and "binary file" in done.err
    ids = [s["id"] for s in cli_runner.json("sources", "--json")]
    assert ids == sorted([*SHIPPED_IDS, "quokka-talks", "wombat-talks"])


def test_model_mismatch_exits_1_naming_both_models(cli: CliRunner) -> None:
    done = cli.with_env(PARALLAX_EMBEDDING_MODEL="all-MiniLM-L6-v2").run("sources", "--json")
    assert done.code == 1
    assert done.out == ""
    assert "'hashing'" in done.err and "'all-MiniLM-L6-v2'" in done.err
    assert "parallax ingest --rebuild" in done.err


def test_unwritable_store_path_exits_1_naming_the_setting(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    cli = cli_in(tmp_path / "cli", PARALLAX_CHROMA_PATH=str(blocker / "chroma"))
    done = cli.run("ingest")
    assert done.code == 1
    assert "PARALLAX_CHROMA_PATH" in done.err


# ---- the real model ------------------------------------------------------------------------


@pytest.mark.slow
def test_real_model_end_to_end(tmp_path: Path) -> None:
    """Default settings (the local MiniLM model): a fresh store answers a factual question."""
    cli = cli_in(tmp_path / "real")
    del cli.env["PARALLAX_EMBEDDING_MODEL"]
    result = cli.json(
        "retrieve",
        "What did Lavrov say about discussing Ukraine's security without Russia?",
        "-k",
        "3",
        "--json",
    )
    assert result["answerable"] is True
    assert result["passages"][0]["source_id"] == HOT_AIR
    assert "road to nowhere" in result["passages"][0]["text"]


@pytest.fixture(scope="module")
def answering_cli(tmp_path_factory: pytest.TempPathFactory) -> CliRunner:
    """The hashing fake: coverage is then decided by the question's words alone."""
    return cli_in(tmp_path_factory.mktemp("answers"))


def test_ask_streams_under_the_extractive_line_then_references(answering_cli: CliRunner) -> None:
    done = answering_cli.run(
        "ask", "What did Lavrov say about discussing Ukraine's security without Russia?"
    )
    assert done.code == 0, done.err
    first_line = done.out.splitlines()[0]
    assert first_line.startswith("[Extractive answer:") and "OPENAI_API_KEY" in first_line
    body, references = done.out.split("\nReferences\n")
    assert "[1]" in body
    assert re.match(r"\[1\] [^\n]+ — [^\n]+\(\d{4}", references)  # [1] Outlet — Title (date


def test_ask_json_is_the_answer_record(cli: CliRunner, answering_cli: CliRunner) -> None:
    answer = cli.json("ask", "Who won the 2024 Super Bowl?", "--json")
    assert {"text", "citations", "disagreements", "answerable", "mode", "model", "timings"} <= set(
        answer
    )
    assert answer["answerable"] is False and answer["mode"] == "extractive"
    cited = answering_cli.json("ask", "What incentives could Washington offer Moscow?", "--json")
    assert cited["citations"] and set(cited["citations"][0]) >= {
        "n",
        "chunk_id",
        "source_id",
        "title",
        "outlet",
        "published",
        "url",
        "quote",
        "verified",
    }


def test_chat_keeps_history_and_survives_an_error(answering_cli: CliRunner) -> None:
    done = answering_cli.run(
        "chat", "--source", "no-such-article", stdin="What incentives could Washington offer?\n\n"
    )
    assert done.code == 0 and "No article with id 'no-such-article'" in done.err
    questions = "What did Witkoff's April draft plan offer Russia?\nWhy did it fail?\n\n"
    done = answering_cli.run("chat", stdin=questions)
    assert done.code == 0, done.err
    assert done.out.count("References") == 2


# ---- defaults that do not depend on the checkout ------------------------------------------


def test_app_runs_the_app_shipped_in_the_ui_package() -> None:
    args = build_parser().parse_args(["app", "--port", "8600"])
    command = app_command(args)
    assert command[:4] == [sys.executable, "-m", "streamlit", "run"]
    app = Path(command[4])
    assert app.name == "app.py" and app.parent.name == "ui" and app.is_file()
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert command[command.index("--server.port") + 1] == "8600"


def test_eval_defaults_to_the_dev_and_held_out_sets_in_a_checkout() -> None:
    from assistant.evaluation import EVAL_SETS

    assert build_parser().parse_args(["eval"]).questions is None
    assert [(s.name, s.questions.is_file()) for s in EVAL_SETS] == [
        ("dev", True),
        ("held-out", True),
    ]
    assert EVAL_SETS[1].articles is not None and EVAL_SETS[1].articles.is_dir()
