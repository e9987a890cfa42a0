"""Conversations saved in SQLite: listed, reopened whole, renamed, deleted, settings kept."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from assistant import ChatSettings, Conversations, Settings, Turn
from assistant.conversations import DB_NAME, title_for
from assistant.records import (
    Answer,
    Citation,
    Disagreement,
    Passage,
    Position,
    Scope,
    Source,
)

SOURCE = Source("nation", "Talks now", "The Nation", "A. Writer", "2025-05-01", "https://e.org/a")


def rich_answer() -> Answer:
    passage = Passage("nation:0", SOURCE, "Before. The quote here. After.", 10, 40, 0.5, 0.7, 0)
    return Answer(
        question="Talks?",
        text="They argue for talks [1].",
        citations=[Citation(1, passage, "The quote here.", True, (8, 23))],
        disagreements=[Disagreement("Talks", [Position("nation", "The Nation", "For", [1])])],
        answerable=True,
        mode="llm",
        model="m",
        passages=[passage],
        timings={"plan_s": 0.1},
        incomplete=True,
        notice="Stopped.",
        scope=Scope(["nation"], "named", "The Nation only"),
        query="Talks?",
        suggestions=["What does Foreign Policy argue?"],
        unsupported=[(0, 25)],
        supported_sentences=0,
        dropped_disagreements=1,
    )


def test_a_conversation_comes_back_whole(tmp_path: Path) -> None:
    history = Conversations(tmp_path / "data" / DB_NAME)
    settings = ChatSettings(model="m", k=5, sources=["nation"])
    cid = history.create("  Should the EU\n take part?  ", settings)
    history.put_turn(cid, 0, Turn("Talks?", answer=rich_answer()))
    history.put_turn(cid, 1, Turn("Then?", error="The model server timed out."))

    again = Conversations(tmp_path / "data" / DB_NAME).load(cid)  # a restart
    assert again is not None
    assert again.title == "Should the EU take part?"
    assert again.settings == settings
    assert [t.question for t in again.turns] == ["Talks?", "Then?"]
    assert again.turns[0].answer == rich_answer()
    assert again.turns[1].answer is None and again.turns[1].error == "The model server timed out."


def test_a_retried_turn_replaces_its_failed_attempt(tmp_path: Path) -> None:
    history = Conversations(tmp_path / DB_NAME)
    cid = history.create("Talks?", ChatSettings())
    history.put_turn(cid, 0, Turn("Talks?", error="failed"))
    history.put_turn(cid, 0, Turn("Talks?", answer=rich_answer()))
    loaded = history.load(cid)
    assert loaded is not None and len(loaded.turns) == 1 and loaded.turns[0].answer is not None


def test_listed_newest_first_renamed_and_deleted(tmp_path: Path) -> None:
    history = Conversations(tmp_path / DB_NAME)
    first = history.create("First question", ChatSettings())
    second = history.create("Second question", ChatSettings())
    history.put_turn(first, 0, Turn("First question", error="x"))  # updated last
    assert [s.id for s in history.list()] == [first, second]
    history.rename(second, "  Renamed\n")
    history.rename(first, "   ")  # an empty title is ignored
    titles = {s.id: s.title for s in history.list()}
    assert titles == {first: "First question", second: "Renamed"}
    history.delete(first)
    assert [s.id for s in history.list()] == [second]
    assert history.load(first) is None


def test_settings_change_with_the_conversation(tmp_path: Path) -> None:
    history = Conversations(tmp_path / DB_NAME)
    cid = history.create("Q", ChatSettings(model="a", k=3, sources=None))
    history.save_settings(cid, ChatSettings(model="b", k=9, sources=[]))
    loaded = history.load(cid)
    assert loaded is not None and loaded.settings == ChatSettings(model="b", k=9, sources=[])


def test_the_history_lives_in_the_data_folder(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    history = Conversations.for_settings(settings)
    assert history.path == settings.library_dir.parent / DB_NAME
    assert history.path.is_file()


def test_long_first_questions_make_short_titles() -> None:
    title = title_for("word " * 40)
    assert len(title) <= 60 and title.endswith("…")


def test_a_stored_answer_with_fields_this_version_lacks_still_loads(tmp_path: Path) -> None:
    import json
    import sqlite3

    history = Conversations(tmp_path / DB_NAME)
    cid = history.create("Q", ChatSettings())
    history.put_turn(cid, 0, Turn("Q", answer=rich_answer()))
    with sqlite3.connect(history.path) as db:
        (raw,) = db.execute("SELECT answer FROM turns").fetchone()
        data = json.loads(raw)
        data["from_the_future"] = 1
        data["citations"][0]["passage"]["source"]["shiny"] = True
        db.execute("UPDATE turns SET answer = ?", (json.dumps(data),))
    loaded = history.load(cid)
    assert loaded is not None and loaded.turns[0].answer == rich_answer()
