"""Several real processes on one library and store: concurrent ingests and uploads, a store
opened by many processes at once, a killed writer's journal, readers across a rebuild.

Children start together through a file barrier (each says it is ready, then waits for
`go`), so the overlap does not depend on how busy the machine is; every wait is bounded.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from chromadb.api.client import SharedSystemClient
from chromadb.errors import InternalError

from assistant.service import Assistant
from assistant.settings import Settings
from store.articles import UNKNOWN_OUTLET
from store.embeddings import HashingEmbedder
from store.errors import StoreLockedError
from tests.test_faults import (
    assert_store_matches_library,
    cli,
    fresh_reader,
    settings_env,
    start_paused_ingest,
)

WAIT = 300.0  # seconds any child may take; generous for a busy 2-core machine

# A child that imports everything first, then waits for the parent's `go`, so that all
# children reach the code under test at the same moment.
BARRIER = """
import sys, time
from pathlib import Path
ready, go = Path(sys.argv[1]), Path(sys.argv[2])
{prepare}
ready.touch()
deadline = time.monotonic() + 300
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("never told to go")
    time.sleep(0.01)
{run}
"""
CLI_CHILD = BARRIER.format(
    prepare="from assistant.cli import main", run="sys.exit(main(sys.argv[3:]))"
)
UPLOAD_CHILD = BARRIER.format(
    prepare="from assistant.service import Assistant\n"
    "from assistant.settings import Settings\n"
    "assistant = Assistant(Settings())",
    run="for i in range(int(sys.argv[3])):\n"
    "    text = f'Upload {i} about harbour talks\\n\\n' + 'The envoys met again to talk. ' * 40\n"
    "    assistant.add_article(text.encode(), f'upload-{i}.txt',\n"
    "                          {'title': f'Upload {i}', 'outlet': 'Upload Gazette'})",
)


def story(name: str) -> str:
    body = " ".join(f"The {name} delegation discussed point {i} of the plan." for i in range(40))
    return f"Talks of the {name} delegation\n\n{body}\n"


def write_folder(folder: Path, prefix: str, count: int, outlet: str) -> list[str]:
    """`count` articles with a manifest entry each; their ids."""
    folder.mkdir(parents=True)
    ids, entries = [], []
    for i in range(count):
        source_id = f"{prefix}-{i:02d}"
        (folder / f"{source_id}.txt").write_text(story(source_id), "utf-8")
        entries.append(
            f'[[source]]\nid = "{source_id}"\ntitle = "Story {source_id}"\n'
            f'outlet = "{outlet}"\npublished = 2025-03-{i % 28 + 1:02d}\n'
        )
        ids.append(source_id)
    (folder / "sources.toml").write_text("\n".join(entries), "utf-8")
    return ids


def start_together(
    commands: list[list[str]], env: dict[str, str], tmp_path: Path
) -> list[subprocess.Popen[str]]:
    """Start each `python -c <barrier script> READY GO args…`; release them together."""
    go = tmp_path / "go"
    procs, ready = [], []
    for n, (script, *args) in enumerate(commands):
        ready.append(tmp_path / f"ready-{n}")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", script, str(ready[-1]), str(go), *args],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    deadline = time.monotonic() + WAIT
    while not all(r.exists() for r in ready):
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        assert time.monotonic() < deadline, "the children never got ready"
        time.sleep(0.05)
    go.touch()
    return procs


def finish(procs: list[subprocess.Popen[str]]) -> list[tuple[int, str]]:
    results = []
    for proc in procs:
        _, stderr = proc.communicate(timeout=WAIT)
        results.append((proc.returncode, stderr))
    return results


@pytest.fixture
def empty_seed(tmp_path: Path) -> Path:
    folder = tmp_path / "no-seed"
    folder.mkdir()
    return folder


# ---- item 1: concurrent ingests and uploads keep every manifest entry ------------------------


def test_concurrent_ingests_and_uploads_keep_every_manifest_entry(
    make_settings: Callable[..., Settings], empty_seed: Path, tmp_path: Path
) -> None:
    settings = make_settings(articles_dir=empty_seed, lock_timeout=WAIT)
    folders = {f"desk{k}": tmp_path / "incoming" / f"desk{k}" for k in range(3)}
    wanted = {
        source_id: f"Outlet {name}"
        for name, folder in folders.items()
        for source_id in write_folder(folder, name, 12, f"Outlet {name}")
    }
    wanted |= {f"upload-{i}": "Upload Gazette" for i in range(6)}
    commands = [[CLI_CHILD, "ingest", str(folder)] for folder in folders.values()]
    commands.append([UPLOAD_CHILD, "6"])
    procs = start_together(commands, settings_env(settings), tmp_path)
    for code, stderr in finish(procs):
        assert code == 0 and "Traceback" not in stderr, stderr

    manifest = tomllib.loads((settings.library_dir / "sources.toml").read_text("utf-8"))
    outlets = {entry["id"]: entry.get("outlet") for entry in manifest["source"]}
    assert outlets == wanted, "manifest entries were lost or changed"
    sources = fresh_reader(settings).sources()
    assert {s.meta.id: s.meta.outlet for s in sources} == wanted
    assert all(s.meta.outlet != UNKNOWN_OUTLET for s in sources)
    assert_store_matches_library(settings)


def test_processes_seeding_a_new_library_at_once_all_see_it_whole(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    seed = tmp_path / "seed"
    ids = write_folder(seed, "seeded", 20, "Seed Post")
    settings = make_settings(articles_dir=seed, lock_timeout=WAIT)
    procs = start_together(
        [[CLI_CHILD, "ingest"] for _ in range(3)], settings_env(settings), tmp_path
    )
    for code, stderr in finish(procs):
        assert code == 0 and "Traceback" not in stderr, stderr
    sources = fresh_reader(settings).sources()
    assert sorted(s.meta.id for s in sources) == ids
    assert {s.meta.outlet for s in sources} == {"Seed Post"}
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".library")]


# ---- item 4: many processes open one store at once ---------------------------------------------


def test_many_processes_opening_a_new_store_at_once_all_succeed(
    make_settings: Callable[..., Settings], empty_seed: Path, tmp_path: Path
) -> None:
    settings = make_settings(articles_dir=empty_seed, lock_timeout=WAIT)
    write_folder(settings.library_dir, "lib", 8, "Library Times")
    commands = [
        [CLI_CHILD, "ingest"],
        [CLI_CHILD, "ingest"],
        [CLI_CHILD, "sources"],
        [CLI_CHILD, "retrieve", "What did the lib-03 delegation discuss?"],
        [CLI_CHILD, "sources", "--json"],
    ]
    procs = start_together(commands, settings_env(settings), tmp_path)
    for code, stderr in finish(procs):
        assert code == 0, stderr
        assert "error:" not in stderr and "Traceback" not in stderr, stderr
    assert not (settings.chroma_path / ".write-probe").exists()
    assert_store_matches_library(settings)


def test_no_answer_from_a_library_whose_first_ingest_is_running_or_was_killed(
    make_settings: Callable[..., Settings], empty_seed: Path, tmp_path: Path
) -> None:
    settings = make_settings(articles_dir=empty_seed, lock_timeout=1.0)
    ids = write_folder(settings.library_dir, "lib", 6, "Library Times")
    writer, _ = start_paused_ingest(settings, tmp_path)
    try:
        # one source is in the store; the first ingest still holds the lock
        question = "What did the lib-04 delegation discuss?"
        done = cli(settings, tmp_path, "retrieve", question, "--json")
        assert done.returncode == 1, ("answered from a half-ingested library", done.stdout)
        assert "Another ingest is writing" in done.stderr and "Traceback" not in done.stderr
        with pytest.raises(StoreLockedError):
            fresh_reader(settings).retrieve(question)
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.kill()
        writer.communicate()
    assert writer.returncode == -signal.SIGKILL
    SharedSystemClient.clear_system_cache()

    # the next reader finishes the killed first ingest before answering
    reader = Assistant(settings, HashingEmbedder())
    result = reader.retrieve("What did the lib-04 delegation discuss?")
    assert result.passages
    assert sorted(s.meta.id for s in reader.sources()) == ids
    assert_store_matches_library(settings)


# ---- item 3: a writer killed mid-transaction leaves a hot journal ------------------------------

# A writer killed inside a transaction whose changed pages already reached the database
# file: exactly the state a SIGKILL during a Chroma write leaves, made deterministic.
KILLED_WRITER = """
import os, signal, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA cache_size=1")  # spill changed pages into the file before commit
db.execute("BEGIN IMMEDIATE")
db.execute("DELETE FROM embeddings")
db.execute("DELETE FROM embedding_metadata")
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_hot_journal_from_a_killed_writer_is_rolled_back_without_rebuild(
    make_settings: Callable[..., Settings], empty_seed: Path, tmp_path: Path
) -> None:
    settings = make_settings(articles_dir=empty_seed)
    ids = write_folder(settings.library_dir, "lib", 6, "Library Times")
    Assistant(settings, HashingEmbedder()).ingest()
    SharedSystemClient.clear_system_cache()
    db = settings.chroma_path / "chroma.sqlite3"
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(db)], timeout=WAIT)
    assert killed.returncode == -signal.SIGKILL
    journal = settings.chroma_path / "chroma.sqlite3-journal"
    assert journal.stat().st_size > 0
    probe = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        with pytest.raises(sqlite3.OperationalError) as excinfo:  # hot: needs a rollback
            probe.execute("SELECT count(*) FROM embeddings").fetchall()
    finally:
        probe.close()
    assert excinfo.value.sqlite_errorname == "SQLITE_READONLY_ROLLBACK"

    listed = cli(settings, tmp_path, "sources", "--json")
    assert listed.returncode == 0, listed.stderr
    assert sorted(s["id"] for s in json.loads(listed.stdout)) == ids
    done = cli(settings, tmp_path, "ingest")
    assert done.returncode == 0, done.stderr
    assert "0 added, 0 updated, 0 removed, 6 unchanged" in done.stderr
    assert_store_matches_library(settings)


# ---- item 5: readers survive another process's rebuild -----------------------------------------


def test_long_running_reader_survives_another_process_rebuild(
    make_settings: Callable[..., Settings], empty_seed: Path, tmp_path: Path
) -> None:
    settings = make_settings(articles_dir=empty_seed)
    write_folder(settings.library_dir, "lib", 5, "Library Times")
    Assistant(settings, HashingEmbedder()).ingest()
    reader = Assistant(settings, HashingEmbedder())
    gone = "lib-02"
    question = "What did the lib-02 delegation discuss?"
    assert gone in {p.source_id for p in reader.retrieve(question).passages}
    before = reader.store.generation()

    (settings.library_dir / f"{gone}.txt").unlink()
    done = cli(settings, tmp_path, "ingest", "--rebuild")
    assert done.returncode == 0, done.stderr

    # the cached collection was deleted by the rebuild: used directly, it is re-resolved
    vector = reader.embedder.embed_query(question)
    assert reader.store.query(vector, 5)
    assert reader.store.generation() != before, "a rebuilt store repeated a generation"
    assert gone not in {s.meta.id for s in reader.sources()}
    assert gone not in {p.source_id for p in reader.retrieve(question).passages}
    assert reader.ask(question).text


def test_a_busy_store_keeps_the_readers_client(
    make_settings: Callable[..., Settings], empty_seed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a collection that is gone means a rebuild; any other error while another
    process commits is transient. Reconnecting then would hold every reader of this
    process while it waits for that writer's whole ingest."""
    settings = make_settings(articles_dir=empty_seed)
    write_folder(settings.library_dir, "lib", 2, "Library Times")
    reader = Assistant(settings, HashingEmbedder())
    reader.ingest()
    store = reader.store
    seen = store.generation()
    client = store._client

    def busy(*args: object, **kwargs: object) -> None:
        raise InternalError("database is locked")

    monkeypatch.setattr(client, "get_collection", busy)
    assert store.generation() == seen
    assert store._client is client, "a transient error made the reader reconnect"
    monkeypatch.undo()
    assert reader.retrieve("What did the lib-01 delegation discuss?").passages


def _read_until(proc: subprocess.Popen[bytes], seen: bytearray, prompts: int) -> None:
    """Read the chat's stdout until it has shown `prompts` prompts (bounded)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + WAIT
    while seen.count(b"\n> ") < prompts:
        assert time.monotonic() < deadline, bytes(seen)
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 65536)
            assert chunk, ("the chat ended", bytes(seen))
            seen.extend(chunk)


def test_chat_goes_on_after_another_process_rebuilds_the_store(
    make_settings: Callable[..., Settings], empty_seed: Path, tmp_path: Path
) -> None:
    settings = make_settings(articles_dir=empty_seed)
    write_folder(settings.library_dir, "lib", 4, "Library Times")
    Assistant(settings, HashingEmbedder()).ingest()
    chat = subprocess.Popen(
        [sys.executable, "-m", "assistant", "chat"],
        cwd=tmp_path,
        env=settings_env(settings, PYTHONUNBUFFERED="1"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert chat.stdin is not None
    seen = bytearray()
    try:
        _read_until(chat, seen, 1)
        chat.stdin.write(b"What did the lib-01 delegation discuss?\n")
        chat.stdin.flush()
        _read_until(chat, seen, 2)
        done = cli(settings, tmp_path, "ingest", "--rebuild")
        assert done.returncode == 0, done.stderr
        chat.stdin.write(b"What did the lib-03 delegation discuss?\n")
        chat.stdin.flush()
        _read_until(chat, seen, 3)
        chat.stdin.write(b"\n")
        chat.stdin.flush()
        _, stderr = chat.communicate(timeout=WAIT)
    finally:
        chat.kill()
        chat.wait()
    assert chat.returncode == 0
    text = stderr.decode()
    assert "Traceback" not in text and "error:" not in text, text
    # an answer (or a decline) after the rebuild, not an error; what the long-running
    # reader sees after it is checked in the test above
    second = bytes(seen).rsplit(b"\n> ", 2)[1].decode()
    assert second.strip() and "does not exist" not in second, second
