"""The store on a real `chroma run` server on 127.0.0.1 instead of the embedded client."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assistant.service import Assistant
from assistant.settings import REPO_ROOT, Settings
from store.embeddings import HashingEmbedder
from tests.conftest import QUOKKA_ARTICLE
from tests.processes import chroma_server

pytestmark = pytest.mark.chroma_server

SHIPPED = REPO_ROOT / "articles"
HOT_AIR = "hot-air-escalate-to-de-escalate"
NATION = "the-nation-us-engagement-essential"


@pytest.fixture
def chroma_port(tmp_path: Path) -> Iterator[int]:
    with chroma_server(tmp_path / "server-data", tmp_path / "chroma-server.log") as port:
        yield port


@pytest.fixture
def server_settings(
    make_settings: Callable[..., Settings], chroma_port: int, tmp_path: Path
) -> Settings:
    seed = tmp_path / "seed"
    seed.mkdir()
    for source_id in (HOT_AIR, NATION):
        shutil.copy(SHIPPED / f"{source_id}.txt", seed / f"{source_id}.txt")
    shutil.copy(SHIPPED / "sources.toml", seed / "sources.toml")
    return make_settings(
        articles_dir=seed,
        chroma_host="127.0.0.1",
        chroma_port=chroma_port,
        chroma_path=tmp_path / "unused-embedded",
    )


def test_ingest_and_retrieve_on_a_chroma_server(server_settings: Settings) -> None:
    assistant = Assistant(server_settings, HashingEmbedder())
    report = assistant.ingest()
    assert sorted(report.added) == [HOT_AIR, NATION]
    assert not server_settings.chroma_path.exists(), "the embedded store must not be used"
    assert server_settings.lock_path.name == f"chroma-127.0.0.1-{server_settings.chroma_port}.lock"

    sources = {s.meta.id: s for s in assistant.sources()}
    assert sorted(sources) == [HOT_AIR, NATION]
    assert sources[NATION].meta.outlet == "The Nation"
    assert sources[HOT_AIR].chunks == len(assistant.chunks(HOT_AIR)) > 0

    restricted = assistant.retrieve("Lavrov Romania NATO drones", k=4, sources=[HOT_AIR])
    assert len(restricted.passages) == 4
    assert {p.source_id for p in restricted.passages} == {HOT_AIR}
    both = assistant.retrieve("Putin NATO peace sanctions Russia", k=8)
    assert {p.source_id for p in both.passages} == {HOT_AIR, NATION}

    again = Assistant(server_settings, HashingEmbedder()).ingest()
    assert sorted(again.unchanged) == [HOT_AIR, NATION]
    assert again.chunks_written == 0


def test_second_assistant_sees_what_the_first_added(
    server_settings: Settings, tmp_path: Path
) -> None:
    reader = Assistant(server_settings, HashingEmbedder())
    writer = Assistant(server_settings, HashingEmbedder())
    writer.ingest()
    assert [s.meta.id for s in reader.sources()] == [HOT_AIR, NATION]
    before = reader.retrieve("Zanzibar quokka envoys ceasefire agenda")
    assert all(p.source_id != "zanzibar-quokkas" for p in before.passages)

    new = tmp_path / "zanzibar-quokkas.txt"
    new.write_text(QUOKKA_ARTICLE, encoding="utf-8")
    assert writer.ingest([new]).added == ["zanzibar-quokkas"]

    after = reader.retrieve("Zanzibar quokka envoys ceasefire agenda")
    assert after.passages[0].source_id == "zanzibar-quokkas"
    assert after.passages[0].similarity > 0  # found by the dense index, not only BM25
    assert "zanzibar-quokkas" in [s.meta.id for s in reader.sources()]
    only = reader.retrieve("quokka question", sources=["zanzibar-quokkas"])
    assert {p.source_id for p in only.passages} == {"zanzibar-quokkas"}
