"""Shared fixtures: real Chroma stores in temp folders, the real embedding model loaded once,
the dev set scored once per run, and `parallax` called in-process.

`make check` runs every test not marked `slow`. Besides the tests marked so by hand (a
separate process is their point), tests marked `browser` or `chroma_server` and tests that
use the real embedding model (the `minilm` fixture, directly or not) count as slow.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from assistant.cli import main
from assistant.evaluation import load_questions, run_eval, seed_library
from assistant.service import Assistant
from assistant.settings import REPO_ROOT, Settings
from store.embeddings import HashingEmbedder, MiniLMEmbedder

SHIPPED = REPO_ROOT / "articles"
DEV_QUESTIONS = REPO_ROOT / "tests" / "dev_questions.jsonl"
HELDOUT_ARTICLES = REPO_ROOT / "tests" / "heldout" / "articles"
# A made-up story no shipped article mentions: whatever retrieves it, retrieved it for real.
QUOKKA_ARTICLE = """Quokka envoys gather in Zanzibar for ceasefire talks

The delegations arrived on Tuesday and spent the morning arguing about the agenda, the order \
of speakers and whether journalists would be allowed into the hall where the talks take place.

By the afternoon the mediators had produced a two-page outline that both sides said they could \
live with, although neither would say which of its points they considered binding on them.
"""

pytest_plugins = ["tests.fake_openai"]
SLOW_KINDS = ("browser", "chroma_server")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        real_model = "minilm" in getattr(item, "fixturenames", ())
        if real_model or any(item.get_closest_marker(kind) for kind in SLOW_KINDS):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def minilm() -> MiniLMEmbedder:
    """The real local model, loaded once per test session (the import alone takes seconds)."""
    return MiniLMEmbedder()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings isolated from the developer's .env and environment, in a temp folder."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "articles_dir": SHIPPED,
            "library_dir": tmp_path / "library",
            "chroma_path": tmp_path / "chroma",
            "chroma_host": None,
            "embedding_model": "hashing",
            "llm": "off",
            "openai_api_key": None,
            "openai_base_url": None,
            "lock_timeout": 2.0,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture
def fast_assistant(make_settings: Callable[..., Settings]) -> Assistant:
    """Shipped articles with the hashing fake: for tests about mechanics, not relevance."""
    return Assistant(make_settings(), HashingEmbedder())


def real_assistant(root: Path, minilm: MiniLMEmbedder, extra: Path | None = None) -> Assistant:
    """The shipped articles (and `extra`'s) in a store under `root`, with the real model,
    ingested."""
    articles = seed_library(SHIPPED, extra, root / "seed") if extra else SHIPPED
    settings = Settings(
        _env_file=None,
        articles_dir=articles,
        library_dir=root / "library",
        chroma_path=root / "chroma",
        chroma_host=None,
        embedding_model=minilm.name,
        llm="off",
        openai_api_key=None,
        openai_base_url=None,
    )
    assistant = Assistant(settings, minilm)
    assistant.ingest()
    return assistant


@pytest.fixture(scope="session")
def shipped_assistant(
    tmp_path_factory: pytest.TempPathFactory, minilm: MiniLMEmbedder
) -> Assistant:
    """Shipped articles with the real model, ingested once for the session's relevance tests."""
    return real_assistant(tmp_path_factory.mktemp("shipped"), minilm)


@pytest.fixture(scope="session")
def heldout_assistant(
    tmp_path_factory: pytest.TempPathFactory, minilm: MiniLMEmbedder
) -> Assistant:
    """The held-out set's library (shipped articles plus its own) with the real model."""
    return real_assistant(tmp_path_factory.mktemp("heldout"), minilm, HELDOUT_ARTICLES)


@pytest.fixture(scope="session")
def dev_eval(shipped_assistant: Assistant) -> dict[str, Any]:
    """`parallax eval` on the dev set (extractive, k=8), scored once and shared by every test
    about the dev set: retrieval and answers for all 17 questions take most of a minute."""
    return run_eval(shipped_assistant, load_questions(DEV_QUESTIONS), k=8)


# ---- the CLI in this process ---------------------------------------------------------------


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)  # stdout is only the JSON


@dataclass(frozen=True)
class CliRunner:
    """`parallax ARGS` as `main(argv)` in this process, as a user in `root` would run it.

    The environment holds only `env` (none of the developer's PARALLAX_*/OPENAI_* variables),
    the working folder is `root` (so no .env is read) and stdin is `stdin`. An exception that
    escapes main() fails the test: that is the traceback a user would have seen.
    """

    root: Path
    env: dict[str, str] = field(default_factory=dict)

    def with_env(self, **values: str) -> CliRunner:
        return CliRunner(self.root, {**self.env, **values})

    def run(self, *args: str, stdin: str = "") -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(self.root)
            for name in list(os.environ):
                if name.startswith(("PARALLAX_", "OPENAI_")):
                    patch.delenv(name)
            for name, value in self.env.items():
                patch.setenv(name, value)
            patch.setattr(sys, "stdin", io.StringIO(stdin))
            with redirect_stdout(out), redirect_stderr(err):
                code = main(list(args))
        return CliResult(code, out.getvalue(), err.getvalue())

    def json(self, *args: str) -> Any:
        return self.run(*args).json()


def cli_in(root: Path, **extra: str) -> CliRunner:
    """The shipped articles and a store in `root`, with the hashing fake and no model."""
    root.mkdir(parents=True, exist_ok=True)
    env = {
        "PARALLAX_ARTICLES_DIR": str(SHIPPED),
        "PARALLAX_LIBRARY_DIR": str(root / "library"),
        "PARALLAX_CHROMA_PATH": str(root / "chroma"),
        "PARALLAX_EMBEDDING_MODEL": "hashing",
        "PARALLAX_LLM": "off",
        "PARALLAX_LOCK_TIMEOUT": "60",
    }
    return CliRunner(root, {**env, **extra})


@pytest.fixture
def cli_runner(tmp_path: Path) -> CliRunner:
    """A CLI over a fresh, empty store of its own."""
    return cli_in(tmp_path / "cli")
