"""Conversations saved as they happen, in SQLite in Parallax's data folder (no server).

Each conversation keeps its turns (the question and the whole Answer, passages included, so a
conversation whose cited article was later removed still shows its quotes) and its settings:
the model, the passages per question and the selected sources. Answers are stored as JSON of
their dataclass fields; fields a later version adds or drops are tolerated when read.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from assistant.errors import ParallaxError
from assistant.records import Answer, Citation, Disagreement, Passage, Position, Scope, Source
from assistant.settings import Settings

DB_NAME = "conversations.sqlite3"
TITLE_CHARS = 60
_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    settings TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    conversation TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    question TEXT NOT NULL,
    answer TEXT,
    error TEXT,
    PRIMARY KEY (conversation, position)
);
"""
T = TypeVar("T")


class ConversationStoreError(ParallaxError):
    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(
            f"Cannot use the conversation history at {path} ({detail}). Check that the folder "
            "is writable, or move the file away to start a new history."
        )


@dataclass(frozen=True)
class ChatSettings:
    """What the sidebar chose for one conversation; None: the app's default."""

    model: str | None = None
    k: int | None = None
    sources: list[str] | None = None  # None: the whole library


@dataclass
class Turn:
    """One question and either its answer or the error that stopped it."""

    question: str
    answer: Answer | None = None
    error: str | None = None


@dataclass(frozen=True)
class Summary:
    id: str
    title: str
    updated: float


@dataclass
class Conversation:
    id: str
    title: str
    settings: ChatSettings
    turns: list[Turn] = field(default_factory=list)


def title_for(question: str) -> str:
    """The first question, on one line and short enough for the sidebar."""
    text = " ".join(question.split())
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "…"


def data_dir(settings: Settings) -> Path:
    """Parallax's data folder: the one that holds the library."""
    return settings.library_dir.parent


class Conversations:
    """The conversation history; every method opens its own connection (any thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._db() as db:
                db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConversationStoreError(path, str(exc)) from exc

    @classmethod
    def for_settings(cls, settings: Settings) -> Conversations:
        return cls(data_dir(settings) / DB_NAME)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            with closing(sqlite3.connect(self.path, timeout=10)) as db, db:
                db.execute("PRAGMA foreign_keys = ON")
                yield db
        except sqlite3.Error as exc:
            raise ConversationStoreError(self.path, str(exc)) from exc

    def create(self, title: str, settings: ChatSettings) -> str:
        conversation_id = uuid.uuid4().hex[:12]
        now = time.time()
        with self._db() as db:
            db.execute(
                "INSERT INTO conversations VALUES (?, ?, ?, ?, ?)",
                (conversation_id, title_for(title), now, now, _settings_json(settings)),
            )
        return conversation_id

    def list(self) -> list[Summary]:
        """Most recently updated first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT id, title, updated FROM conversations ORDER BY updated DESC"
            ).fetchall()
        return [Summary(*row) for row in rows]

    def load(self, conversation_id: str) -> Conversation | None:
        with self._db() as db:
            row = db.execute(
                "SELECT title, settings FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            if row is None:
                return None
            turns = db.execute(
                "SELECT question, answer, error FROM turns WHERE conversation = ? "
                "ORDER BY position",
                (conversation_id,),
            ).fetchall()
        return Conversation(
            conversation_id,
            row[0],
            _settings_from(json.loads(row[1])),
            [Turn(q, answer_from_json(json.loads(a)) if a else None, e) for q, a, e in turns],
        )

    def put_turn(self, conversation_id: str, position: int, turn: Turn) -> None:
        """Store `turn` at `position` (a retried turn replaces its failed attempt)."""
        answer = json.dumps(answer_to_json(turn.answer)) if turn.answer else None
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO turns VALUES (?, ?, ?, ?, ?)",
                (conversation_id, position, turn.question, answer, turn.error),
            )
            db.execute(
                "UPDATE conversations SET updated = ? WHERE id = ?", (time.time(), conversation_id)
            )

    def save_settings(self, conversation_id: str, settings: ChatSettings) -> None:
        with self._db() as db:
            db.execute(
                "UPDATE conversations SET settings = ? WHERE id = ?",
                (_settings_json(settings), conversation_id),
            )

    def rename(self, conversation_id: str, title: str) -> None:
        title = " ".join(title.split())
        if not title:
            return
        with self._db() as db:
            db.execute(
                "UPDATE conversations SET title = ? WHERE id = ?",
                (title[: TITLE_CHARS * 2], conversation_id),
            )

    def delete(self, conversation_id: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))


def _settings_json(settings: ChatSettings) -> str:
    return json.dumps(dataclasses.asdict(settings))


def _settings_from(data: dict[str, Any]) -> ChatSettings:
    return _build(ChatSettings, data)


def answer_to_json(answer: Answer) -> dict[str, Any]:
    """Every field of the Answer, passages whole (their text is what a removed article leaves)."""
    return dataclasses.asdict(answer)


def answer_from_json(data: dict[str, Any]) -> Answer:
    values = dict(data)
    values["citations"] = [_citation(c) for c in data.get("citations", [])]
    values["passages"] = [_passage(p) for p in data.get("passages", [])]
    values["disagreements"] = [
        Disagreement(d.get("topic", ""), [_build(Position, p) for p in d.get("positions", [])])
        for d in data.get("disagreements", [])
    ]
    values["scope"] = _build(Scope, data["scope"]) if data.get("scope") else None
    values["unsupported"] = [(start, end) for start, end in data.get("unsupported", [])]
    return _build(Answer, values)


def _passage(data: dict[str, Any]) -> Passage:
    return _build(Passage, {**data, "source": _build(Source, data["source"])})


def _citation(data: dict[str, Any]) -> Citation:
    span = data.get("span")
    return _build(
        Citation,
        {**data, "passage": _passage(data["passage"]), "span": tuple(span) if span else None},
    )


def _build(cls: type[T], data: dict[str, Any]) -> T:
    """`cls` from the stored fields it still has (a record may have gained or lost some)."""
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in known})
