"""The `parallax` CLI as a user runs it: real subprocesses, JSON on stdout, messages on stderr."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from assistant.settings import REPO_ROOT
from store.articles import load_manifest, read_article
from store.ingest import prepare
from tests.conftest import QUOKKA_ARTICLE
from tests.processes import clean_env

SHIPPED = REPO_ROOT / "articles"
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
RETRIEVAL_KEYS = {"question", "answerable", "passages"}
PASSAGE_KEYS = {
    "rank",
    "chunk_id",
    "source_id",
    "title",
    "outlet",
    "published",
    "url",
    "text",
    "score",
}


@dataclass
class Cli:
    root: Path
    env: dict[str, str]

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "assistant", *args],
            cwd=self.root,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run_all(
        self, *commands: tuple[str, ...], check_clean: bool = True
    ) -> list[subprocess.CompletedProcess[str]]:
        """Run independent commands side by side (each one costs seconds of imports)."""
        procs = [self.start(*args) for args in commands]
        results = []
        for args, proc in zip(commands, procs, strict=True):
            out, err = proc.communicate(timeout=300)
            results.append(subprocess.CompletedProcess(list(args), proc.returncode, out, err))
        if check_clean:
            for done in results:
                assert "Traceback" not in done.stderr, done.stderr
        return results

    def run(self, *args: str, check_clean: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run_all(args, check_clean=check_clean)[0]

    def json_all(self, *commands: tuple[str, ...]) -> list[Any]:
        results = self.run_all(*commands)
        for done in results:
            assert done.returncode == 0, done.stderr
        return [json.loads(done.stdout) for done in results]  # stdout is only the JSON

    def json(self, *args: str) -> Any:
        return self.json_all(args)[0]


def make_cli(root: Path, **extra: str) -> Cli:
    root.mkdir(parents=True, exist_ok=True)
    env = clean_env(
        **{
            "PARALLAX_ARTICLES_DIR": str(SHIPPED),
            "PARALLAX_LIBRARY_DIR": str(root / "library"),
            "PARALLAX_CHROMA_PATH": str(root / "chroma"),
            "PARALLAX_EMBEDDING_MODEL": "hashing",
            "PARALLAX_LLM": "off",
            "PARALLAX_LOCK_TIMEOUT": "60",
            **extra,
        }
    )
    return Cli(root, env)


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """One ingested store shared by the read-only tests."""
    cli = make_cli(tmp_path_factory.mktemp("cli"))
    done = cli.run("ingest")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "5 added" in done.stderr
    return cli


@pytest.fixture
def fresh_cli(tmp_path: Path) -> Cli:
    return make_cli(tmp_path / "fresh")


# ---- JSON shapes -------------------------------------------------------------------------


def test_sources_json_shape(cli: Cli) -> None:
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


def test_chunks_json_shape_and_source_filter(cli: Cli) -> None:
    chunks, source_list, only = cli.json_all(
        ("chunks", "--json"), ("sources", "--json"), ("chunks", "--source", HOT_AIR, "--json")
    )
    sources = {s["id"]: s["chunks"] for s in source_list}
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


def test_retrieve_json_shape_k_and_source(cli: Cli) -> None:
    result, three, restricted = cli.json_all(
        ("retrieve", "Why did the April peace plan fail?", "--json"),
        ("retrieve", "Why did the April peace plan fail?", "-k", "3", "--json"),
        ("retrieve", "NATO peace talks", "--source", NATION, "--json"),
    )
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


def test_retrieve_without_json_is_readable_text(cli: Cli) -> None:
    done = cli.run("retrieve", "Lavrov road to nowhere", "-k", "2")
    assert done.returncode == 0, done.stderr
    assert "[1] " in done.stdout and "[2] " in done.stdout
    assert "[3] " not in done.stdout


# ---- first use ---------------------------------------------------------------------------


def test_first_retrieve_on_empty_store_ingests_by_itself(fresh_cli: Cli) -> None:
    done = fresh_cli.run("retrieve", "Lavrov road to nowhere", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert len(result["passages"]) == 8
    assert "ingesting the library" in done.stderr
    assert "5 added" in done.stderr
    assert [s["id"] for s in fresh_cli.json("sources", "--json")] == SHIPPED_IDS


# ---- inspect -----------------------------------------------------------------------------


def test_inspect_prints_cleaned_text_and_removed_blocks(cli: Cli) -> None:
    done = cli.run("inspect", HOT_AIR)
    assert done.returncode == 0, done.stderr
    manifest = load_manifest(SHIPPED)
    prepared = prepare(read_article(SHIPPED / f"{HOT_AIR}.txt", manifest.get(HOT_AIR), 5_000_000))
    assert prepared.cleaned.removed
    assert "=== Cleaned text ===" in done.stdout
    assert prepared.cleaned.text in done.stdout
    assert f"=== Removed blocks ({len(prepared.cleaned.removed)}) ===" in done.stdout
    for block in prepared.cleaned.removed:
        assert f"[{block.rule}] {block.why}" in done.stdout
        assert block.text.strip() in done.stdout
    # removed text is listed only under "Removed blocks", never in the cleaned part
    cleaned_part = done.stdout.split("=== Removed blocks")[0]
    assert "promo code" not in cleaned_part
    assert "promo code" in done.stdout


# ---- errors ------------------------------------------------------------------------------


def test_empty_question_exits_2_with_a_message(cli: Cli) -> None:
    for done in cli.run_all(("retrieve", "", "--json"), ("retrieve", "  \t ", "--json")):
        assert done.returncode == 2
        assert done.stdout == ""
        assert "error: The question is empty" in done.stderr


def test_very_long_question_is_truncated_with_a_warning(cli: Cli) -> None:
    question = ("What did Lavrov say about security guarantees for Ukraine? " * 400)[:20_000]
    assert len(question) == 20_000
    done = cli.run("retrieve", question, "--json")
    assert done.returncode == 0, done.stderr
    assert "only the first 2000 are used" in done.stderr
    result = json.loads(done.stdout)
    assert len(result["question"]) == 2000
    assert question.startswith(result["question"])
    assert result["passages"]


def test_unknown_source_exits_1_with_known_ids(cli: Cli) -> None:
    results = cli.run_all(
        ("retrieve", "NATO", "--source", "no-such-article", "--json"),
        ("chunks", "--source", "no-such-article", "--json"),
        ("inspect", "no-such-article"),
    )
    for done in results:
        assert done.returncode == 1, done.args
        assert done.stdout == ""
        assert "error: No article with id 'no-such-article'" in done.stderr
        assert HOT_AIR in done.stderr and NATION in done.stderr


def test_ingest_with_a_bad_file_among_good_ones(fresh_cli: Cli, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    good = incoming / "quokka-talks.txt"
    good.write_text(QUOKKA_ARTICLE, encoding="utf-8")
    other = incoming / "wombat-talks.md"
    other.write_text(QUOKKA_ARTICLE.replace("Quokka", "Wombat"), encoding="utf-8")
    bad = incoming / "scan.txt"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

    done = fresh_cli.run("ingest", str(good), str(bad), str(other))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert str(bad) in done.stderr and "binary file" in done.stderr
    ids = [s["id"] for s in fresh_cli.json("sources", "--json")]
    assert ids == sorted([*SHIPPED_IDS, "quokka-talks", "wombat-talks"])


def test_model_mismatch_exits_1_naming_both_models(cli: Cli) -> None:
    env = {**cli.env, "PARALLAX_EMBEDDING_MODEL": "all-MiniLM-L6-v2"}
    done = Cli(cli.root, env).run("sources", "--json")
    assert done.returncode == 1
    assert done.stdout == ""
    assert "'hashing'" in done.stderr and "'all-MiniLM-L6-v2'" in done.stderr
    assert "parallax ingest --rebuild" in done.stderr


def test_unwritable_store_path_exits_1_naming_the_setting(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    cli = make_cli(tmp_path / "cli", PARALLAX_CHROMA_PATH=str(blocker / "chroma"))
    done = cli.run("ingest", check_clean=False)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1
    assert "PARALLAX_CHROMA_PATH" in done.stderr


# ---- the real model ------------------------------------------------------------------------


def test_real_model_end_to_end(tmp_path: Path) -> None:
    """Default settings (the local MiniLM model): a fresh store answers a factual question."""
    cli = make_cli(tmp_path / "real")
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
def answering_cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """The hashing fake scores far below the real model's relevance floor: drop the floor so
    these tests exercise the answer path, not the decline."""
    return make_cli(tmp_path_factory.mktemp("answers"), PARALLAX_RELEVANCE_FLOOR="0")


def test_ask_streams_under_the_extractive_line_then_references(answering_cli: Cli) -> None:
    cli = answering_cli
    done = cli.run("ask", "What did Lavrov say about discussing Ukraine's security without Russia?")
    assert done.returncode == 0, done.stderr
    first_line = done.stdout.splitlines()[0]
    assert first_line.startswith("[Extractive answer:") and "OPENAI_API_KEY" in first_line
    body, references = done.stdout.split("\nReferences\n")
    assert "[1]" in body
    assert re.match(r"\[1\] [^\n]+ — [^\n]+\(\d{4}", references)  # [1] Outlet — Title (date


def test_ask_json_is_the_answer_record(cli: Cli, answering_cli: Cli) -> None:
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


def test_chat_keeps_history_and_survives_an_error(answering_cli: Cli) -> None:
    cli = answering_cli
    proc = cli.start("chat", "--source", "no-such-article")
    out, err = proc.communicate("What incentives could Washington offer?\n\n", timeout=300)
    assert proc.returncode == 0 and "No article with id 'no-such-article'" in err
    proc = cli.start("chat")
    questions = "What did Witkoff's April draft plan offer Russia?\nWhy did it fail?\n\n"
    out, err = proc.communicate(questions, timeout=300)
    assert proc.returncode == 0, err
    assert out.count("References") == 2 and "Traceback" not in err
