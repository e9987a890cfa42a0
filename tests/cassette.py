"""The cassette format: real replies, recorded once, replayed by the fake server in each test run.

A cassette is one JSON file per question: what Parallax's real client sent (the request
body) and what the real server streamed back (each SSE `data:` payload verbatim, with the
seconds since the request when it arrived). `tests/record_cassettes.py` writes them;
`tests/fake_openai.py` serves them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CASSETTE_DIR = Path(__file__).resolve().parent / "cassettes"
FORMAT = 1


@dataclass(frozen=True)
class Chunk:
    """One server-sent event: `data` exactly as the server wrote it, `t` seconds after sending."""

    t: float
    data: str


@dataclass(frozen=True)
class Exchange:
    """One request and the reply to it: streamed `chunks`, or a whole `body` when not streamed."""

    request: dict[str, Any]
    status: int
    chunks: list[Chunk] = field(default_factory=list)
    body: str | None = None

    def text(self) -> str:
        """The reply's text as a client assembles it from the content deltas (or the body)."""
        if self.body is not None:
            payload = json.loads(self.body)
            return "".join(c["message"].get("content") or "" for c in payload.get("choices", []))
        pieces = []
        for chunk in self.chunks:
            if chunk.data.strip() == "[DONE]":
                continue
            for choice in json.loads(chunk.data).get("choices") or []:
                pieces.append((choice.get("delta") or {}).get("content") or "")
        return "".join(pieces)

    def finish_reason(self) -> str | None:
        """Why the server ended the reply: "stop", "length" (the token limit), or None."""
        for chunk in reversed(self.chunks):
            if chunk.data.strip() == "[DONE]":
                continue
            for choice in json.loads(chunk.data).get("choices") or []:
                if choice.get("finish_reason"):
                    return str(choice["finish_reason"])
        return None

    def pieces(self) -> list[str]:
        """The content deltas in the order they arrived: how the model's text was cut."""
        out = []
        for chunk in self.chunks:
            if chunk.data.strip() == "[DONE]":
                continue
            for choice in json.loads(chunk.data).get("choices") or []:
                if text := (choice.get("delta") or {}).get("content"):
                    out.append(text)
        return out


@dataclass(frozen=True)
class Cassette:
    question_id: str
    question: str
    model: str
    exchanges: list[Exchange]
    note: str = ""

    def answer_exchange(self) -> Exchange:
        """The streamed answer (follow-up rewrites, if any, are not streamed)."""
        streamed = [e for e in self.exchanges if e.request.get("stream")]
        if not streamed:
            raise ValueError(f"cassette {self.question_id} has no streamed reply")
        return streamed[-1]

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **asdict(self)}, indent=1, ensure_ascii=False) + "\n"


def load(path: Path) -> Cassette:
    """Read a cassette; a file in another format names the command that rewrites it."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    if raw.get("format") != FORMAT:
        raise ValueError(
            f"{path} is cassette format {raw.get('format')}, not {FORMAT}: re-record it with "
            "`make record-cassettes`."
        )
    exchanges = [
        Exchange(
            request=e["request"],
            status=e["status"],
            chunks=[Chunk(c["t"], c["data"]) for c in e.get("chunks", [])],
            body=e.get("body"),
        )
        for e in raw["exchanges"]
    ]
    return Cassette(
        raw["question_id"], raw["question"], raw["model"], exchanges, raw.get("note", "")
    )


def load_all(folder: Path = CASSETTE_DIR) -> list[Cassette]:
    return [load(path) for path in sorted(folder.glob("**/*.json"))]
