"""Shared fixtures: real Chroma stores in temp folders, the real embedding model loaded once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.service import Assistant
from assistant.settings import REPO_ROOT, Settings
from store.embeddings import HashingEmbedder, MiniLMEmbedder

SHIPPED = REPO_ROOT / "articles"
DEV_QUESTIONS = REPO_ROOT / "tests" / "dev_questions.jsonl"
# A made-up story no shipped article mentions: whatever retrieves it, retrieved it for real.
QUOKKA_ARTICLE = """Quokka envoys gather in Zanzibar for ceasefire talks

The delegations arrived on Tuesday and spent the morning arguing about the agenda, the order \
of speakers and whether journalists would be allowed into the hall where the talks take place.

By the afternoon the mediators had produced a two-page outline that both sides said they could \
live with, although neither would say which of its points they considered binding on them.
"""

pytest_plugins = ["tests.fake_openai"]


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


@pytest.fixture(scope="session")
def shipped_assistant(
    tmp_path_factory: pytest.TempPathFactory, minilm: MiniLMEmbedder
) -> Assistant:
    """Shipped articles with the real model, ingested once for the session's relevance tests."""
    root = tmp_path_factory.mktemp("shipped")
    settings = Settings(
        _env_file=None,
        articles_dir=SHIPPED,
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
