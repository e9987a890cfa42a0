"""Incremental ingest against a real embedded Chroma in a temp folder (hashing embedder)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import chromadb.api.models.Collection as chroma_collection
import pytest
from chromadb.api.client import SharedSystemClient

import store.chroma_store as chroma_store
from assistant.errors import UnknownSourceError
from assistant.service import Assistant
from assistant.settings import REPO_ROOT, Settings
from store.embeddings import HashingEmbedder
from store.errors import ModelMismatchError, ParallaxError, StoreLockedError, StoreUnavailableError
from store.ingest import prepare
from store.lexical import indexed_write
from tests.conftest import QUOKKA_ARTICLE

SHIPPED = REPO_ROOT / "articles"
SEED_IDS = [
    "hot-air-escalate-to-de-escalate",
    "responsible-statecraft-no-nato-for-ukraine",
    "the-week-putin-negotiating-table",
]

PLAIN_ARTICLE = (
    QUOKKA_ARTICLE
    + """
Observers noted that the quokka question, long the most divisive item, was postponed to a \
later round, which several diplomats described as the only realistic way to keep talking.
"""
)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARALLAX_", "OPENAI_"))}
    env.update(extra)
    return env


class CountingEmbedder(HashingEmbedder):
    def __init__(self) -> None:
        self.embedded = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded += len(texts)
        return super().embed_documents(texts)


class OtherEmbedder(HashingEmbedder):
    name = "other-model"


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    folder = tmp_path / "seed"
    folder.mkdir()
    for source_id in SEED_IDS:
        shutil.copy(SHIPPED / f"{source_id}.txt", folder / f"{source_id}.txt")
    shutil.copy(SHIPPED / "sources.toml", folder / "sources.toml")
    for path in folder.iterdir():
        path.chmod(0o644)
    return folder


@pytest.fixture
def settings(make_settings: Callable[..., Settings], seed: Path) -> Settings:
    return make_settings(articles_dir=seed)


@pytest.fixture
def assistant(settings: Settings) -> Assistant:
    return Assistant(settings, HashingEmbedder())


def raw_rows(assistant: Assistant) -> list[tuple[str, dict]]:
    """Every chunk record in the collection, complete source or not."""
    got = assistant.store.collection().get(include=["metadatas"])
    return list(zip(got["ids"], got["metadatas"], strict=True))


def raw_ids(assistant: Assistant, source_id: str | None = None) -> list[str]:
    return sorted(i for i, m in raw_rows(assistant) if source_id in (None, m["source_id"]))


def expected_ids(assistant: Assistant, source_id: str) -> list[str]:
    articles, _ = assistant.library.articles()
    article = next(a for a in articles if a.meta.id == source_id)
    return sorted(c.id for c in prepare(article).chunks)


def source_ids(assistant: Assistant) -> list[str]:
    return [s.meta.id for s in assistant.sources()]


# ---- incremental ingest ------------------------------------------------------------------


def test_first_ingest_adds_every_article(assistant: Assistant, settings: Settings) -> None:
    report = assistant.ingest()
    assert sorted(report.added) == SEED_IDS
    assert report.updated == report.removed == report.unchanged == report.skipped == []
    assert source_ids(assistant) == SEED_IDS
    # the library was seeded from articles_dir
    assert sorted(p.stem for p in settings.library_dir.glob("*.txt")) == SEED_IDS
    ids = raw_ids(assistant)
    assert report.chunks_written == len(ids) == len(set(ids))
    for info in assistant.sources():
        assert info.chunks == len(expected_ids(assistant, info.meta.id))
        assert raw_ids(assistant, info.meta.id) == expected_ids(assistant, info.meta.id)


def test_rerun_changes_nothing_and_embeds_nothing(settings: Settings) -> None:
    first = Assistant(settings, HashingEmbedder())
    first.ingest()
    before = raw_ids(first)

    embedder = CountingEmbedder()
    again = Assistant(settings, embedder)  # a later run: a new object on the same store
    report = again.ingest()
    assert sorted(report.unchanged) == SEED_IDS
    assert report.added == report.updated == report.removed == []
    assert report.chunks_written == 0
    assert embedder.embedded == 0
    after = raw_ids(again)
    assert after == before
    assert len(after) == len(set(after))
    assert again.ingest().chunks_written == 0


def test_changed_file_is_the_only_update_and_its_old_chunks_go(
    assistant: Assistant, settings: Settings
) -> None:
    assistant.ingest()
    target = "hot-air-escalate-to-de-escalate"
    old = raw_ids(assistant, target)
    others = {s: raw_ids(assistant, s) for s in SEED_IDS if s != target}
    path = settings.library_dir / f"{target}.txt"
    text = path.read_text(encoding="utf-8")
    first_para = next(line for line in text.splitlines() if len(line) > 300)
    path.write_text(
        text.replace(first_para, first_para + " A new sentence about Zanzibar quokkas."),
        encoding="utf-8",
    )

    report = assistant.ingest()
    assert report.updated == [target]
    assert sorted(report.unchanged) == sorted(others)
    assert report.added == report.removed == []
    new = raw_ids(assistant, target)
    assert new == expected_ids(assistant, target)
    assert report.chunks_written == len(new)
    assert set(old) - set(new), "the edited chunk's id must change"
    assert {s: raw_ids(assistant, s) for s in others} == others
    assert len(raw_ids(assistant)) == len(set(raw_ids(assistant)))
    assert any("Zanzibar quokkas" in c.text for c in assistant.chunks(target))


def test_removed_file_is_deleted_from_store(assistant: Assistant, settings: Settings) -> None:
    assistant.ingest()
    target = "the-week-putin-negotiating-table"
    (settings.library_dir / f"{target}.txt").unlink()
    report = assistant.ingest()
    assert report.removed == [target]
    assert target not in source_ids(assistant)
    assert raw_ids(assistant, target) == []
    assert all(c.source.id != target for c in assistant.store.chunks())


def test_remove_article_drops_file_manifest_entry_and_chunks(
    assistant: Assistant, settings: Settings
) -> None:
    assistant.ingest()
    target = "responsible-statecraft-no-nato-for-ukraine"
    report = assistant.remove_article(target)
    assert report.removed == [target]
    assert not (settings.library_dir / f"{target}.txt").exists()
    assert target not in (settings.library_dir / "sources.toml").read_text(encoding="utf-8")
    assert raw_ids(assistant, target) == []


def test_metadata_change_in_manifest_updates_the_source(
    assistant: Assistant, settings: Settings
) -> None:
    assistant.ingest()
    manifest = settings.library_dir / "sources.toml"
    text = manifest.read_text(encoding="utf-8")
    assert 'outlet = "Hot Air"' in text
    manifest.write_text(text.replace('outlet = "Hot Air"', 'outlet = "Cold Air"'), "utf-8")

    report = assistant.ingest()
    assert report.updated == ["hot-air-escalate-to-de-escalate"]
    assert len(report.unchanged) == 2
    outlets = {s.meta.id: s.meta.outlet for s in assistant.sources()}
    assert outlets["hot-air-escalate-to-de-escalate"] == "Cold Air"
    assert {c.source.outlet for c in assistant.chunks("hot-air-escalate-to-de-escalate")} == {
        "Cold Air"
    }
    assert all(m["outlet"] != "Hot Air" for _, m in raw_rows(assistant))


def test_file_without_manifest_entry_and_ingest_of_paths_copies_it(
    assistant: Assistant, settings: Settings, tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    path = incoming / "Zanzibar Talks.txt"
    path.write_text(PLAIN_ARTICLE, encoding="utf-8")

    report = assistant.ingest([path])
    assert sorted(report.added) == sorted(["zanzibar-talks", *SEED_IDS])
    assert (settings.library_dir / "zanzibar-talks.txt").read_text(encoding="utf-8") == (
        PLAIN_ARTICLE
    )
    info = next(s for s in assistant.sources() if s.meta.id == "zanzibar-talks")
    assert info.meta.title == "Quokka envoys gather in Zanzibar for ceasefire talks"
    assert info.meta.outlet == "Unknown outlet"
    assert info.meta.author is None and info.meta.published is None and info.meta.url is None
    # the copy is part of the library now: a plain re-run keeps it
    assert "zanzibar-talks" in assistant.ingest().unchanged


def test_ingest_of_paths_brings_manifest_entry_along(
    assistant: Assistant, settings: Settings, tmp_path: Path
) -> None:
    assistant.ingest()
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "quokka-talks.txt").write_text(PLAIN_ARTICLE, encoding="utf-8")
    (incoming / "sources.toml").write_text(
        '[[source]]\nid = "quokka-talks"\ntitle = "Quokka talks"\noutlet = "Island Post"\n'
        'author = "Q. Writer"\npublished = "2025-10-01"\nurl = "https://example.org/q"\n',
        encoding="utf-8",
    )
    report = assistant.ingest([incoming])
    assert report.added == ["quokka-talks"]
    assert sorted(report.unchanged) == SEED_IDS
    assert (settings.library_dir / "quokka-talks.txt").is_file()
    assert 'outlet = "Island Post"' in (settings.library_dir / "sources.toml").read_text("utf-8")
    meta = next(s.meta for s in assistant.sources() if s.meta.id == "quokka-talks")
    assert (meta.title, meta.outlet, meta.author, meta.published, meta.url) == (
        "Quokka talks",
        "Island Post",
        "Q. Writer",
        "2025-10-01",
        "https://example.org/q",
    )


# ---- embedding model ---------------------------------------------------------------------


def test_model_mismatch_names_both_models_and_rebuild(settings: Settings) -> None:
    Assistant(settings, HashingEmbedder()).ingest()
    other = Assistant(settings, OtherEmbedder())
    with pytest.raises(ModelMismatchError) as excinfo:
        other.ingest()
    message = str(excinfo.value)
    assert "'hashing'" in message and "'other-model'" in message
    assert "--rebuild" in message
    with pytest.raises(ModelMismatchError):
        other.sources()
    with pytest.raises(ModelMismatchError):
        other.retrieve("NATO membership for Ukraine")

    report = other.ingest(rebuild=True)
    assert sorted(report.added) == SEED_IDS
    assert source_ids(other) == SEED_IDS
    assert other.retrieve("NATO membership for Ukraine").passages
    # the store now belongs to the new model: the old one is refused
    with pytest.raises(ModelMismatchError) as excinfo:
        Assistant(settings, HashingEmbedder()).sources()
    assert "'other-model'" in str(excinfo.value)


def test_rebuild_reembeds_everything(assistant: Assistant) -> None:
    assistant.ingest()
    before = raw_ids(assistant)
    embedder = CountingEmbedder()
    rebuilt = Assistant(assistant.settings, embedder)
    report = rebuilt.ingest(rebuild=True)
    assert sorted(report.added) == SEED_IDS
    assert embedder.embedded == len(before)
    assert raw_ids(rebuilt) == before


# ---- write lock --------------------------------------------------------------------------

HOLD_LOCK = """
import sys
from filelock import FileLock
lock = FileLock(sys.argv[1])
lock.acquire()
print("locked", flush=True)
sys.stdin.readline()
lock.release()
print("released", flush=True)
"""


@pytest.fixture
def lock_holder(settings: Settings) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(settings.lock_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("\n")
    proc.stdin.flush()


@pytest.mark.slow  # a separate process
def test_ingest_fails_while_another_process_holds_the_lock(
    make_settings: Callable[..., Settings], seed: Path, lock_holder: subprocess.Popen[str]
) -> None:
    settings = make_settings(articles_dir=seed, lock_timeout=0.5)
    assistant = Assistant(settings, HashingEmbedder())
    with pytest.raises(StoreLockedError) as excinfo:
        assistant.ingest()
    message = str(excinfo.value)
    assert str(settings.lock_path) in message
    assert "PARALLAX_LOCK_TIMEOUT" in message
    assert assistant.sources() == []

    release(lock_holder)
    assert lock_holder.wait(timeout=30) == 0
    assert sorted(assistant.ingest().added) == SEED_IDS


@pytest.mark.slow  # a separate process
def test_ingest_waits_for_the_lock_and_succeeds(
    make_settings: Callable[..., Settings], seed: Path, lock_holder: subprocess.Popen[str]
) -> None:
    settings = make_settings(articles_dir=seed, lock_timeout=120)
    assistant = Assistant(settings, HashingEmbedder())
    released = threading.Event()

    def let_go() -> None:
        released.set()
        release(lock_holder)

    timer = threading.Timer(2.0, let_go)
    timer.start()
    try:
        report = assistant.ingest()
    finally:
        timer.cancel()
    # the holder kept the lock until it was told to let go, so the ingest must have waited
    assert released.is_set()
    assert sorted(report.added) == SEED_IDS
    assert lock_holder.wait(timeout=30) == 0


@pytest.mark.slow  # a separate process
def test_two_concurrent_ingest_processes_leave_one_clean_store(
    settings: Settings, tmp_path: Path
) -> None:
    env = clean_env(
        PARALLAX_ARTICLES_DIR=str(settings.articles_dir),
        PARALLAX_LIBRARY_DIR=str(settings.library_dir),
        PARALLAX_CHROMA_PATH=str(settings.chroma_path),
        PARALLAX_EMBEDDING_MODEL="hashing",
        PARALLAX_LLM="off",
        PARALLAX_LOCK_TIMEOUT="120",
    )
    Assistant(settings, HashingEmbedder()).library.ensure()  # one seeding, not two racing
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "assistant", "ingest"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assistant = Assistant(settings, HashingEmbedder())
    assert source_ids(assistant) == SEED_IDS
    ids = raw_ids(assistant)
    assert len(ids) == len(set(ids))
    assert ids == sorted(i for s in SEED_IDS for i in expected_ids(assistant, s))


# ---- interrupted ingest -----------------------------------------------------------------


def _assert_hidden_then_repaired(reader: Assistant, target: str) -> None:
    records = {r.meta.id: r for r in reader.store.sources()}
    assert records[target].complete is False
    assert all(records[s].complete for s in SEED_IDS if s != target)
    assert target not in source_ids(reader)
    assert all(c.source.id != target for c in reader.store.chunks())
    assert reader.store.chunks(target) == []
    result = reader.retrieve("Lavrov NATO Romania drones Typhoon escalate", k=8)
    assert result.passages
    assert all(p.source_id != target for p in result.passages)
    assert reader.retrieve("Lavrov Romania", sources=[target]).passages == []

    report = reader.ingest()
    assert report.updated == [target]
    assert report.added == report.removed == []
    assert target in source_ids(reader)
    assert all(r.complete for r in reader.store.sources())
    assert raw_ids(reader, target) == expected_ids(reader, target)
    ids = raw_ids(reader)
    assert len(ids) == len(set(ids))
    fixed = reader.retrieve("Lavrov Romania Typhoon", sources=[target])
    assert fixed.passages and {p.source_id for p in fixed.passages} == {target}


def test_source_missing_a_chunk_is_hidden_and_repaired(settings: Settings) -> None:
    Assistant(settings, HashingEmbedder()).ingest()
    target = "hot-air-escalate-to-de-escalate"
    reader = Assistant(settings, HashingEmbedder())
    victim = raw_ids(reader, target)[1]
    with pytest.raises(RuntimeError), indexed_write(reader.store):  # a write that lost a chunk
        reader.store.collection().delete(ids=[victim])
        raise RuntimeError("killed mid-write")
    _assert_hidden_then_repaired(reader, target)


def test_ingest_killed_while_writing_is_hidden_and_repaired(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = Assistant(settings, HashingEmbedder())
    writer.ingest()
    target = "hot-air-escalate-to-de-escalate"
    path = settings.library_dir / f"{target}.txt"
    text = path.read_text("utf-8")
    para = next(line for line in text.splitlines() if len(line) > 300)
    path.write_text(text.replace(para, para + " A new line about Typhoon jets."), "utf-8")

    real_add = chroma_collection.Collection.add
    calls = []

    def crash_on_second_batch(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed mid-write")
        return real_add(self, *args, **kwargs)

    monkeypatch.setattr(chroma_store, "_WRITE_BATCH", 3)
    monkeypatch.setattr(chroma_collection.Collection, "add", crash_on_second_batch)
    with pytest.raises(KeyboardInterrupt):
        writer.ingest()
    monkeypatch.undo()
    assert len(calls) == 2
    assert 0 < len(raw_ids(writer, target)) < len(expected_ids(writer, target))

    _assert_hidden_then_repaired(Assistant(settings, HashingEmbedder()), target)


# ---- bad input ---------------------------------------------------------------------------


def _skip_message(report_skipped: list[str], path: Path) -> str:
    found = [m for m in report_skipped if str(path) in m]
    assert len(found) == 1, (path, report_skipped)
    return found[0]


def test_bad_files_are_skipped_with_reasons_and_good_ones_ingest(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    empty_seed = tmp_path / "empty-seed"
    empty_seed.mkdir()
    settings = make_settings(articles_dir=empty_seed, max_file_mb=0.001)
    assistant = Assistant(settings, HashingEmbedder())
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    good = incoming / "good-one.txt"
    good.write_text(PLAIN_ARTICLE, encoding="utf-8")
    assert good.stat().st_size < 1000
    good_md = incoming / "good-two.md"
    good_md.write_text(PLAIN_ARTICLE.replace("Quokka", "Wombat"), encoding="utf-8")
    bad = {
        "no such file": incoming / "missing.txt",
        "no text": incoming / "empty.txt",
        "binary": incoming / "binary.txt",
        "not UTF-8": incoming / "latin1.txt",
        "limit": incoming / "large.txt",
        "unsupported file type": incoming / "report.pdf",
    }
    bad["no text"].write_text("  \n\n \t\n", encoding="utf-8")
    bad["binary"].write_bytes(b"Peace talks\x00\x01\x02 resumed")
    bad["not UTF-8"].write_bytes("Caf\xe9 talks in Gen\xe8ve resumed today.".encode("latin-1"))
    bad["limit"].write_text(PLAIN_ARTICLE * 3, encoding="utf-8")
    bad["unsupported file type"].write_bytes(b"%PDF-1.4 fake")

    report = assistant.ingest([good, *bad.values(), good_md])
    assert sorted(report.added) == ["good-one", "good-two"]
    assert source_ids(assistant) == ["good-one", "good-two"]
    for reason, path in bad.items():
        message = _skip_message(report.skipped, path)
        assert reason in message, message
        assert "skipped" in message
        assert not (settings.library_dir / path.name).exists()
    assert "PARALLAX_MAX_FILE_MB" in _skip_message(report.skipped, bad["limit"])
    assert len(report.skipped) == len(bad)


def test_bad_files_inside_the_library_are_reported_each_ingest(
    assistant: Assistant, settings: Settings
) -> None:
    assistant.library.ensure()
    lib = settings.library_dir
    (lib / "empty.txt").write_text("", encoding="utf-8")
    (lib / "binary.md").write_bytes(b"\x00\x01binary")
    (lib / "latin1.txt").write_bytes(b"Caf\xe9 talks")
    report = assistant.ingest()
    assert sorted(report.added) == SEED_IDS
    assert "no text" in _skip_message(report.skipped, lib / "empty.txt")
    assert "binary" in _skip_message(report.skipped, lib / "binary.md")
    assert "not UTF-8" in _skip_message(report.skipped, lib / "latin1.txt")
    again = assistant.ingest()
    assert sorted(again.unchanged) == SEED_IDS
    assert len(again.skipped) == 3


def test_real_file_over_five_megabytes_is_skipped(
    assistant: Assistant, settings: Settings, tmp_path: Path
) -> None:
    assert settings.max_file_mb == 5.0
    big = tmp_path / "huge-article.txt"
    line = "The negotiators talked late into the night about the ceasefire line.\n"
    big.write_text(line * (5_100_000 // len(line) + 1), encoding="utf-8")
    assert big.stat().st_size > 5_100_000
    good = tmp_path / "small-article.txt"
    good.write_text(PLAIN_ARTICLE, encoding="utf-8")
    report = assistant.ingest([big, good])
    message = _skip_message(report.skipped, big)
    assert "5.1 MB" in message and "PARALLAX_MAX_FILE_MB" in message
    assert "small-article" in report.added
    assert "huge-article" not in source_ids(assistant)
    assert not (settings.library_dir / "huge-article.txt").exists()


# ---- unusable store ----------------------------------------------------------------------


@pytest.mark.parametrize("where", ["is-a-file", "under-a-file"])
@pytest.mark.parametrize("operation", ["ingest", "retrieve", "sources"])
def test_unwritable_store_path_names_the_setting(
    make_settings: Callable[..., Settings],
    seed: Path,
    tmp_path: Path,
    where: str,
    operation: str,
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a regular file", encoding="utf-8")
    chroma_path = blocker if where == "is-a-file" else blocker / "chroma"
    assistant = Assistant(
        make_settings(articles_dir=seed, chroma_path=chroma_path), HashingEmbedder()
    )
    with pytest.raises(StoreUnavailableError) as excinfo:
        if operation == "ingest":
            assistant.ingest()
        elif operation == "retrieve":
            assistant.retrieve("NATO")
        else:
            assistant.sources()
    assert "PARALLAX_CHROMA_PATH" in str(excinfo.value)


# ---- freshness across processes ----------------------------------------------------------


def run_cli_ingest(settings: Settings, cwd: Path, *paths: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "assistant", "ingest", *map(str, paths)],
        cwd=cwd,
        env=clean_env(
            PARALLAX_ARTICLES_DIR=str(settings.articles_dir),
            PARALLAX_LIBRARY_DIR=str(settings.library_dir),
            PARALLAX_CHROMA_PATH=str(settings.chroma_path),
            PARALLAX_EMBEDDING_MODEL="hashing",
            PARALLAX_LLM="off",
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


QUOKKA_QUESTION = "Zanzibar quokka envoys ceasefire agenda"


@pytest.mark.slow  # a separate process
@pytest.mark.parametrize("first_use", ["retrieve", "sources", "own-ingest"])
def test_long_running_reader_sees_what_another_process_added(
    settings: Settings, tmp_path: Path, first_use: str
) -> None:
    """`first_use`: what the long-running reader did before the other process's ingest."""
    Assistant(settings, HashingEmbedder()).ingest()
    reader = Assistant(settings, HashingEmbedder())
    if first_use == "retrieve":
        first = reader.retrieve(QUOKKA_QUESTION)
        assert all(p.source_id != "zanzibar-quokkas" for p in first.passages)
    elif first_use == "sources":
        assert len(reader.sources()) == len(SEED_IDS)
    else:
        path = settings.library_dir / f"{SEED_IDS[0]}.txt"
        path.write_text(path.read_text("utf-8").replace("Putin", "Vladimir Putin"), "utf-8")
        assert reader.ingest().updated == [SEED_IDS[0]]

    new = tmp_path / "zanzibar-quokkas.txt"
    new.write_text(PLAIN_ARTICLE, encoding="utf-8")
    run_cli_ingest(settings, tmp_path, new)

    assert "zanzibar-quokkas" in source_ids(reader)
    for _ in range(2):  # and it stays fresh
        again = reader.retrieve(QUOKKA_QUESTION)
        assert again.passages[0].source_id == "zanzibar-quokkas"
        # found by the reader's dense index too, not only by BM25 over the stored text
        assert again.passages[0].similarity > 0
    restricted = reader.retrieve("quokka question", sources=["zanzibar-quokkas"])
    assert restricted.passages
    assert {p.source_id for p in restricted.passages} == {"zanzibar-quokkas"}


@pytest.mark.slow  # a separate process
def test_long_running_reader_stops_seeing_what_another_process_removed(
    assistant: Assistant, settings: Settings, tmp_path: Path
) -> None:
    assistant.ingest()
    gone = "hot-air-escalate-to-de-escalate"
    question = "Lavrov Romania Eurofighter Typhoon"
    assert assistant.retrieve(question).passages[0].source_id == gone
    (settings.library_dir / f"{gone}.txt").unlink()
    run_cli_ingest(settings, tmp_path)

    assert gone not in source_ids(assistant)
    assert all(p.source_id != gone for p in assistant.retrieve(question).passages)
    with pytest.raises(UnknownSourceError):
        assistant.retrieve(question, sources=[gone])


def test_journal_left_by_an_interrupted_write_is_part_of_the_store(settings: Settings) -> None:
    """A SIGKILL mid-write leaves chroma.sqlite3-journal beside the database; the store is
    still Chroma's and must open (SQLite rolls the journal back)."""
    Assistant(settings, HashingEmbedder()).ingest()
    SharedSystemClient.clear_system_cache()
    (settings.chroma_path / "chroma.sqlite3-journal").write_bytes(b"")
    reader = Assistant(settings, HashingEmbedder())
    assert len(reader.sources()) == len(SEED_IDS)


# ---- ids that cannot collide silently (issue 9, item 6) ----------------------------------


def _story(word: str) -> str:
    body = " ".join(f"The {word} envoys argued about clause {i} of the draft." for i in range(30))
    return f"Talks with the {word} envoys\n\n{body}\n"


COLLIDING = {  # file name -> a word only its article contains
    "Peace plan.txt": "albatross",
    "peace-plan.md": "bandicoot",
    "Über.txt": "cassowary",
    "ber.txt": "dugong",
    "..txt": "echidna",
    "記事.txt": "flamingo",
}


def _words_by_id(assistant: Assistant) -> dict[str, str]:
    """{source id: the COLLIDING word its stored chunks contain}."""
    found = {}
    for chunk in assistant.store.chunks():
        for word in COLLIDING.values():
            if word in chunk.text:
                assert found.setdefault(chunk.source.id, word) == word, chunk.source.id
    return found


@pytest.fixture
def empty_settings(make_settings: Callable[..., Settings], tmp_path: Path) -> Settings:
    seed = tmp_path / "empty-seed"
    seed.mkdir()
    return make_settings(articles_dir=seed)


def test_names_that_map_to_one_id_are_added_under_distinct_ids_and_updates_stay_put(
    empty_settings: Settings, tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    for name, word in COLLIDING.items():
        (incoming / name).write_text(_story(word), "utf-8")
    assistant = Assistant(empty_settings, HashingEmbedder())
    report = assistant.ingest([incoming])
    assert len(report.added) == len(set(report.added)) == len(COLLIDING), report.added
    assert report.skipped == []
    [renamed] = report.renamed
    assert "peace-plan.md" in renamed and "'peace-plan-2'" in renamed
    by_id = _words_by_id(assistant)
    assert by_id == {
        "peace-plan": "albatross",
        "peace-plan-2": "bandicoot",
        "uber": "cassowary",
        "ber": "dugong",
        "article": "echidna",
        "記事": "flamingo",
    }

    # adding an edited file again updates its own article, not the one it collides with
    (incoming / "Peace plan.txt").write_text(_story("albatross") + "A late addendum.\n", "utf-8")
    again = assistant.ingest([incoming / "Peace plan.txt", incoming / "peace-plan.md"])
    assert again.updated == ["peace-plan"] and again.added == [] and again.renamed == []
    assert "peace-plan-2" in again.unchanged
    assert _words_by_id(assistant) == by_id


def test_files_sharing_an_id_in_the_library_folder_keep_stable_distinct_ids(
    empty_settings: Settings,
) -> None:
    library = empty_settings.library_dir
    library.mkdir(parents=True)
    (library / "Peace plan.txt").write_text(_story("albatross"), "utf-8")
    (library / "peace-plan.md").write_text(_story("bandicoot"), "utf-8")
    assistant = Assistant(empty_settings, HashingEmbedder())
    first = assistant.ingest()
    assert len(first.added) == 2 and "peace-plan" in first.added
    [renamed] = first.renamed
    assert "Peace plan.txt" in renamed and "Rename" in renamed
    by_id = _words_by_id(assistant)
    assert by_id["peace-plan"] == "bandicoot" and sorted(by_id.values()) == [
        "albatross",
        "bandicoot",
    ]
    for _ in range(2):  # no flipping between ingests
        again = assistant.ingest()
        assert sorted(again.unchanged) == sorted(first.added)
        assert again.updated == again.added == []
        assert _words_by_id(assistant) == by_id


def test_uploads_whose_titles_map_to_one_id_never_overwrite(empty_settings: Settings) -> None:
    assistant = Assistant(empty_settings, HashingEmbedder())
    first, _ = assistant.add_article(_story("albatross").encode(), "a.txt", {"title": "Peace plan"})
    second, report = assistant.add_article(
        _story("bandicoot").encode(), "b.txt", {"title": "Peace-Plan"}
    )
    assert (first, second) == ("peace-plan", "peace-plan-2")
    assert report.added == ["peace-plan-2"]
    assert _words_by_id(assistant) == {"peace-plan": "albatross", "peace-plan-2": "bandicoot"}


# ---- per-entry isolation (issue 9, item 7) -------------------------------------------------


def _cli(settings: Settings, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with a bound on its run: an ingest that hangs fails the test instead."""
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        cwd=cwd,
        env=clean_env(
            PARALLAX_ARTICLES_DIR=str(settings.articles_dir),
            PARALLAX_LIBRARY_DIR=str(settings.library_dir),
            PARALLAX_CHROMA_PATH=str(settings.chroma_path),
            PARALLAX_EMBEDDING_MODEL="hashing",
            PARALLAX_LLM="off",
        ),
        capture_output=True,
        text=True,
        timeout=240,
    )


def _odd_entries(folder: Path) -> dict[str, str]:
    """Things named like articles that are not regular files; {name: words in the line}."""
    (folder / "loop.txt").symlink_to(folder / "loop.txt")
    (folder / "dangling.md").symlink_to(folder / "nowhere.md")
    (folder / "folder.txt").mkdir()
    os.mkfifo(folder / "pipe.txt")
    return {
        "loop.txt": "unreadable",
        "dangling.md": "symbolic link to nothing",
        "folder.txt": "folder",
        "pipe.txt": "named pipe",
    }


def test_entries_that_are_not_regular_files_are_skipped_and_nothing_hangs(
    settings: Settings, tmp_path: Path
) -> None:
    Assistant(settings, HashingEmbedder()).library.ensure()
    in_library = _odd_entries(settings.library_dir)
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    outside = _odd_entries(incoming)
    (incoming / "quokka.txt").write_text(PLAIN_ARTICLE, "utf-8")
    done = _cli(settings, tmp_path, "ingest", str(incoming), str(incoming / "pipe.txt"))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    for folder, odd in ((settings.library_dir, in_library), (incoming, outside)):
        for name, why in odd.items():
            lines = [line for line in done.stderr.splitlines() if str(folder / name) in line]
            assert lines and all(why in line for line in lines), (name, done.stderr)
    assert "4 added" in done.stderr  # the three seeded articles and quokka
    assert "quokka" in source_ids(Assistant(settings, HashingEmbedder()))


MALFORMED_MANIFEST = """
[[source]]
id = "alpha"
title = 123
outlet = "Gazette"

[[source]]
id = "bravo"
author = { x = 1 }
outlet = "Gazette"

[[source]]
id = "charlie"
outlet = ["Gazette", "Herald"]

[[source]]
id = "delta"
outlet = "Gazette"
published = true

[[source]]
id = "echo"
outlet = "Gazette"
url = "https://example.org/a\\n<img src=http://127.0.0.1:9/x>"

[[source]]
id = "foxtrot"
outlet = "Gazette"
published = 2025-01-02

[[source]]
title = "An entry without an id"
"""


def test_malformed_manifest_fields_are_reported_and_everything_else_ingests(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    seed = tmp_path / "seed"
    seed.mkdir()
    names = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
    for name in names:
        (seed / f"{name}.txt").write_text(_story(name), "utf-8")
    (seed / "sources.toml").write_text(MALFORMED_MANIFEST, "utf-8")
    assistant = Assistant(make_settings(articles_dir=seed), HashingEmbedder())
    report = assistant.ingest()
    assert sorted(report.added) == names
    expected = {
        "alpha": "`title`",
        "bravo": "`author`",
        "charlie": "`outlet`",
        "delta": "`published`",
        "echo": "`url`",
        "entry 7": "no `id`",
    }
    for what, field_name in expected.items():
        lines = [m for m in report.skipped if what in m and field_name in m]
        assert len(lines) == 1, (what, report.skipped)
    assert len(report.skipped) == len(expected)
    meta = {s.meta.id: s.meta for s in assistant.sources()}
    assert meta["alpha"].title == "Talks with the alpha envoys"
    assert meta["alpha"].outlet == meta["bravo"].outlet == "Gazette"
    assert meta["bravo"].author is None
    assert meta["charlie"].outlet == "Unknown outlet"
    assert meta["delta"].published is None and meta["delta"].outlet == "Gazette"
    assert meta["echo"].url is None
    assert meta["foxtrot"].published == "2025-01-02"
    shown = repr([s.meta for s in assistant.sources()])
    assert "['Gazette', 'Herald']" not in shown and "True" not in shown


def test_source_written_as_a_table_is_read_as_one_entry_with_a_line(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "alpha.txt").write_text(_story("alpha"), "utf-8")
    (seed / "bravo.txt").write_text(_story("bravo"), "utf-8")
    (seed / "sources.toml").write_text('[source]\nid = "alpha"\noutlet = "Gazette"\n', "utf-8")
    assistant = Assistant(make_settings(articles_dir=seed), HashingEmbedder())
    report = assistant.ingest()
    assert sorted(report.added) == ["alpha", "bravo"]
    [line] = report.skipped
    assert "[[source]]" in line
    assert {s.meta.id: s.meta.outlet for s in assistant.sources()} == {
        "alpha": "Gazette",
        "bravo": "Unknown outlet",
    }


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """`folder` cannot be written, even by root (immutable), for the duration."""
    if os.geteuid() == 0:
        if shutil.which("chattr") is None:
            pytest.skip("running as root without chattr: cannot make a folder read-only")
        subprocess.run(["chattr", "+i", str(folder)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)


def test_read_only_library_still_ingests_and_refuses_additions_in_one_line(
    assistant: Assistant, settings: Settings, tmp_path: Path
) -> None:
    assistant.ingest()
    new = tmp_path / "zanzibar-quokkas.txt"
    new.write_text(PLAIN_ARTICLE, "utf-8")
    with read_only(settings.library_dir):
        report = assistant.ingest([new])
        message = _skip_message(report.skipped, new)
        assert "cannot be written" in message and "PARALLAX_LIBRARY_DIR" in message
        assert sorted(report.unchanged) == SEED_IDS
        with pytest.raises(ParallaxError, match="PARALLAX_LIBRARY_DIR"):
            assistant.add_article(PLAIN_ARTICLE.encode(), "quokka.txt", {"title": "Quokka"})
    assert source_ids(assistant) == SEED_IDS


# ---- smaller ones (issue 9, item 13) -------------------------------------------------------


def test_utf16_file_with_a_byte_order_mark_is_read_as_text(
    empty_settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "geneve.txt"
    path.write_text(PLAIN_ARTICLE.replace("Zanzibar", "Genève"), "utf-16")
    assert path.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    assistant = Assistant(empty_settings, HashingEmbedder())
    report = assistant.ingest([path])
    assert report.added == ["geneve"] and report.skipped == []
    assert any("Genève" in c.text for c in assistant.store.chunks("geneve"))


BOILERPLATE = (
    "Home › World › Europe\n\nShare on Facebook\n\nSubscribe now for full access\n\n"
    "LATEST\n\nFollow us on Twitter\n\nSign up for our newsletter\n"
)


def test_boilerplate_only_file_is_refused_once_not_warned_about_forever(
    assistant: Assistant, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "widgets.txt"
    path.write_text(BOILERPLATE, "utf-8")
    report = assistant.ingest([path])
    assert "nothing left" in _skip_message(report.skipped, path)
    assert not (settings.library_dir / "widgets.txt").exists()
    assert assistant.ingest().skipped == []
    with pytest.raises(ParallaxError, match="nothing left"):
        assistant.add_article(BOILERPLATE.encode(), "widgets.txt", {"title": "Widgets"})
    assert "widgets" not in assistant.library.ids()


def test_inspect_of_an_undated_article_says_undated(
    empty_settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "no-date.txt"
    path.write_text(PLAIN_ARTICLE, "utf-8")
    Assistant(empty_settings, HashingEmbedder()).ingest([path])
    done = _cli(empty_settings, tmp_path, "inspect", "no-date")
    assert done.returncode == 0, done.stderr
    byline = done.stdout.splitlines()[1]
    assert byline.endswith("· undated") and "None" not in byline


def test_boilerplate_only_file_in_the_library_is_reported_once_per_change(
    assistant: Assistant, settings: Settings
) -> None:
    assistant.library.ensure()
    path = settings.library_dir / "widgets.txt"
    path.write_text(BOILERPLATE, "utf-8")
    first = assistant.ingest()
    assert "nothing left" in _skip_message(first.skipped, path)
    assert sorted(first.added) == SEED_IDS
    assert Assistant(settings, HashingEmbedder()).ingest().skipped == []  # other process too
    path.write_text(BOILERPLATE + "\nLATEST\n\nShare on LinkedIn\n", "utf-8")
    changed = assistant.ingest()
    assert "nothing left" in _skip_message(changed.skipped, path)
    assert "widgets" not in source_ids(assistant)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/a\n<img src=x>",
        "https://example.org/a b",
        "https://example.org/\x07bell",
        "javascript:alert(1)",
        "ftp://example.org/file",
        "https:///no-host",
        "//example.org/scheme-relative",
    ],
)
def test_manifest_url_that_is_not_a_whole_web_address_is_dropped_with_a_line(
    make_settings: Callable[..., Settings], tmp_path: Path, url: str
) -> None:
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "alpha.txt").write_text(_story("alpha"), "utf-8")
    (seed / "sources.toml").write_text(  # a JSON string is a TOML basic string
        f'[[source]]\nid = "alpha"\noutlet = "Gazette"\nurl = {json.dumps(url)}\n', "utf-8"
    )
    assistant = Assistant(make_settings(articles_dir=seed), HashingEmbedder())
    report = assistant.ingest()
    [line] = report.skipped
    assert "`url`" in line and "alpha" in line
    [source] = assistant.sources()
    assert source.meta.url is None and source.meta.outlet == "Gazette"
