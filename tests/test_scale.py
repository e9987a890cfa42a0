"""A library of any size: paged scans past Chroma's 32,766-row get() limit, and readers that
map the writer's saved BM25 index and registry instead of reading every chunk."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.service import Assistant
from assistant.settings import Settings
from store import chroma_store
from store.articles import SourceMeta, make_article
from store.chroma_store import ChunkStore
from store.chunking import Chunk, chunk_id, content_hash
from store.embeddings import HashingEmbedder
from store.ingest import ingest
from store.lexical import LexicalIndex, folder_name, indexed_write
from tests.conftest import QUOKKA_ARTICLE, CliRunner
from tests.processes import chroma_server, clean_env

SQLITE_VARIABLE_LIMIT = 32_766
_WORDS = [
    "harbour",
    "ferry",
    "council",
    "budget",
    "river",
    "bridge",
    "school",
    "clinic",
    "market",
    "rail",
]
# A made-up article no shipped one resembles; its question finds only it.
HEDGEHOG_ARTICLE = """Hedgehog couriers deliver the Tromso winter post

The municipal hedgehog courier service carried four thousand letters across the frozen \
fjord this week, the postmaster said, and not one parcel was lost to the snowdrifts.
"""


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    """A one-article library, so an ingest is quick."""
    folder = tmp_path / "seed"
    folder.mkdir()
    (folder / "zanzibar-talks.txt").write_text(QUOKKA_ARTICLE, encoding="utf-8")
    return folder


@pytest.fixture
def settings(make_settings: Callable[..., Settings], seed: Path) -> Settings:
    return make_settings(articles_dir=seed)


def tiny_text(source: int, position: int) -> str:
    return f"{_WORDS[source % 10]} {_WORDS[position % 10]} item{source}x{position}"


def write_tiny_sources(store: ChunkStore, sources: int, per_source: int) -> None:
    """`sources` x `per_source` chunks of a few words each, through the writer's path."""
    embedder = HashingEmbedder()
    with indexed_write(store):
        for s in range(sources):
            meta = SourceMeta(id=f"tiny-{s:04d}", title=f"Tiny {s}", outlet=f"Outlet {s % 7}")
            chunks = []
            for position in range(per_source):
                text = tiny_text(s, position)
                chunks.append(
                    Chunk(chunk_id(meta.id, position, text), meta, position, text, 0, len(text))
                )
            vectors = embedder.embed_documents([c.text for c in chunks])
            store.replace_source(meta.id, chunks, vectors, content_hash(meta.id))


@pytest.mark.slow  # writes 33,000 chunks
def test_a_library_past_the_sql_variable_limit_lists_and_retrieves(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assistant = Assistant(settings, HashingEmbedder())
    sources, per_source = 330, 100  # 33,000 chunks: more than one get() may return
    write_tiny_sources(assistant.store, sources, per_source)
    assert sources * per_source > SQLITE_VARIABLE_LIMIT

    # A real ingest on top: its scan of existing sources and its index build see them all.
    article = make_article(HEDGEHOG_ARTICLE, "hedgehog-post", {"outlet": "Tromso Daily"}, None)
    report = ingest(assistant.store, assistant.embedder, lambda: [article], delete_missing=False)
    assert report.added == ["hedgehog-post"]
    assert len(assistant.store.sources()) == sources + 1

    runner = CliRunner(
        settings.library_dir.parent,
        {
            "PARALLAX_ARTICLES_DIR": str(settings.articles_dir),
            "PARALLAX_LIBRARY_DIR": str(settings.library_dir),
            "PARALLAX_CHROMA_PATH": str(settings.chroma_path),
            "PARALLAX_EMBEDDING_MODEL": "hashing",
            "PARALLAX_LLM": "off",
        },
    )
    listed = {s["id"]: s["chunks"] for s in runner.json("sources", "--json")}
    assert len(listed) == sources + 1
    assert listed["tiny-0329"] == per_source

    found = assistant.retrieve("hedgehog couriers frozen fjord postmaster", k=3)
    assert "hedgehog-post" in [p.source_id for p in found.passages]  # hashing vectors collide
    # The lexical side reaches a chunk past the first 32,766 rows by its one unique word.
    lexical = assistant.retriever.snapshot().index.search("item329x99", 5)
    assert [i for i, _ in lexical] == [chunk_id("tiny-0329", 99, tiny_text(329, 99))]
    assert assistant.retrieve("item329x99 rail", k=2, sources=["tiny-0329"]).passages


def test_a_reader_maps_the_index_another_process_saved(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = Assistant(settings, HashingEmbedder())
    reader.ingest()
    before = reader.retriever.snapshot()
    assert before.sources and before.sources[0][0].id == "zanzibar-talks"

    builds: list[int] = []
    real_build = LexicalIndex.build.__func__  # type: ignore[attr-defined]

    def counted_build(cls: type[LexicalIndex], chunks: list) -> LexicalIndex:
        builds.append(len(chunks))
        return real_build(cls, chunks)

    monkeypatch.setattr(LexicalIndex, "build", classmethod(counted_build))

    new = tmp_path / "hedgehog-post.txt"
    new.write_text(HEDGEHOG_ARTICLE, encoding="utf-8")
    env = clean_env(
        PARALLAX_ARTICLES_DIR=str(settings.articles_dir),
        PARALLAX_LIBRARY_DIR=str(settings.library_dir),
        PARALLAX_CHROMA_PATH=str(settings.chroma_path),
        PARALLAX_EMBEDDING_MODEL="hashing",
        PARALLAX_LLM="off",
    )
    done = subprocess.run(
        [sys.executable, "-m", "assistant", "ingest", str(new)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr

    found = reader.retrieve("hedgehog couriers frozen fjord postmaster", k=3)
    snap = reader.retriever.snapshot()
    assert snap.generation != before.generation
    assert (reader.store.index_path / folder_name(snap.generation) / "sources.json").is_file()
    assert builds == [], "the reader rebuilt the index instead of mapping the saved one"
    assert found.passages[0].source_id == "hedgehog-post"
    assert [s.id for s, _ in snap.sources] == ["hedgehog-post", "zanzibar-talks"]
    assert isinstance(snap.index.chunk_sources, np.memmap)


def test_only_the_returned_passages_text_is_read(
    fast_assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    assistant = fast_assistant
    assistant.ingest()
    store = assistant.store
    scans: list[object] = []
    fetched: list[list[str]] = []
    real_fetch = store.fetch

    def spy_fetch(ids: list[str]) -> dict:
        fetched.append(list(ids))
        return real_fetch(ids)

    monkeypatch.setattr(store, "_scan", lambda *a, **k: scans.append(a) or iter(()))
    monkeypatch.setattr(store, "fetch", spy_fetch)
    assistant.retriever._snapshot = None  # a fresh reader: open the saved generation
    result = assistant.retrieve("Lavrov NATO Romania drones", k=4)
    assert scans == [], "a reader scanned the store"
    assert fetched == [[p.chunk_id for p in result.passages]]
    assert len(result.passages) == 4
    assert all(p.text for p in result.passages)
    assert assistant.store.chunks.__self__ is store  # the store itself was not replaced


def test_the_writer_keeps_the_current_and_previous_generations_only(
    settings: Settings, tmp_path: Path
) -> None:
    assistant = Assistant(settings, HashingEmbedder())
    generations = []
    for n in range(3):
        extra = tmp_path / f"note-{n}.txt"
        extra.write_text(f"Note {n}\n\n{HEDGEHOG_ARTICLE}", encoding="utf-8")
        assistant.ingest([extra])
        generations.append(assistant.store.generation())
    folders = sorted(p.name for p in assistant.store.index_path.iterdir())
    assert folders == sorted(folder_name(g) for g in generations[-2:])


def test_a_no_op_ingest_reuses_the_saved_index(settings: Settings) -> None:
    assistant = Assistant(settings, HashingEmbedder())
    assistant.ingest()
    first = assistant.store.index_path / folder_name(assistant.store.generation())
    report = assistant.ingest()
    assert report.unchanged == ["zanzibar-talks"] and not report.added
    second = assistant.store.index_path / folder_name(assistant.store.generation())
    assert second != first
    assert (second / "sources.json").stat().st_ino == (first / "sources.json").stat().st_ino
    assert [s.meta.id for s in Assistant(settings, HashingEmbedder()).sources()] == [
        "zanzibar-talks"
    ]


def test_a_store_without_a_saved_index_is_indexed_in_memory(settings: Settings) -> None:
    writer = Assistant(settings, HashingEmbedder())
    writer.ingest()
    shutil.rmtree(writer.store.index_path)
    reader = Assistant(settings, HashingEmbedder())
    assert [s.meta.id for s in reader.sources()] == ["zanzibar-talks"]
    assert reader.retrieve("quokka delegations agenda", k=1).passages


def test_paged_scans_cross_page_boundaries(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chroma_store, "PAGE", 10)
    store = Assistant(settings, HashingEmbedder()).store
    write_tiny_sources(store, 3, 7)  # 21 rows: pages of 10, 10 and 1, sources straddling them
    records = store.sources()
    assert [(r.meta.id, r.chunks, r.complete) for r in records] == [
        (f"tiny-{s:04d}", 7, True) for s in range(3)
    ]
    assert len({c.id for c in store.chunks()}) == 21
    assert set(store.fetch([chunk_id("tiny-0002", 6, tiny_text(2, 6)), "no-such-id"])) == {
        chunk_id("tiny-0002", 6, tiny_text(2, 6))
    }


@pytest.fixture
def chroma_port(tmp_path: Path) -> Iterator[int]:
    with chroma_server(tmp_path / "server-data", tmp_path / "chroma-server.log") as port:
        yield port


@pytest.mark.chroma_server
def test_with_a_chroma_server_the_index_lives_beside_the_library_or_where_configured(
    make_settings: Callable[..., Settings], seed: Path, chroma_port: int, tmp_path: Path
) -> None:
    settings = make_settings(articles_dir=seed, chroma_host="127.0.0.1", chroma_port=chroma_port)
    writer = Assistant(settings, HashingEmbedder())
    writer.ingest()
    beside = settings.library_dir.parent / f"chroma-127.0.0.1-{chroma_port}.index"
    assert (beside / folder_name(writer.store.generation()) / "sources.json").is_file()

    shared = tmp_path / "shared-index"
    configured = settings.model_copy(update={"index_dir": shared})
    Assistant(configured, HashingEmbedder()).ingest([seed / "zanzibar-talks.txt"])
    reader = Assistant(configured, HashingEmbedder())
    generation = reader.store.generation()
    assert (shared / folder_name(generation) / "sources.json").is_file()
    assert [s.meta.id for s in reader.sources()] == ["zanzibar-talks"]
