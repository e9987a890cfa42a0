"""Section 3: the overhead of a full `ask` with a chat model that answers instantly.

The fake OpenAI-compatible server of the test suite streams a scripted reply (4-character
chunks, like tokens) whose markers and quotes point at the passages the question retrieves, so
parsing and quote verification do their real work.
"""

from __future__ import annotations

import json
import re
import time

from pydantic import SecretStr

from assistant.records import Passage
from assistant.service import Assistant
from assistant.settings import Settings
from bench.common import Row, log, p50_p95, pct, questions
from store.embeddings import Embedder

SECTION = "3 ask overhead"


def _first_sentence(passage: Passage) -> str:
    return re.split(r"(?<=[.!?])\s", passage.text.strip())[0][:240]


def scripted_reply(passages: list[Passage]) -> str:
    """A cited answer over the first three passages, with quotes and a disagreement."""
    picks = passages[:3]
    body = " ".join(
        f"{p.outlet} writes that {_first_sentence(p).rstrip('.!? ')} [{n}]."
        for n, p in enumerate(picks, start=1)
    )
    text = f"In short, the sources take different views. {body}"
    notes: dict[str, object] = {
        "answerable": True,
        "quotes": {str(n): _first_sentence(p) for n, p in enumerate(picks, start=1)},
        "disagreements": [],
    }
    if len({p.source_id for p in picks}) >= 2:
        text += (
            "\n\n### Where the sources disagree\n"
            f"- {picks[0].source.outlet} stresses one reading [1].\n"
            f"- {picks[1].source.outlet} stresses another [2]."
        )
        notes["disagreements"] = [
            {
                "topic": "the way forward",
                "positions": [
                    {"source": 1, "summary": "One reading.", "citations": [1]},
                    {"source": 2, "summary": "Another reading.", "citations": [2]},
                ],
            }
        ]
    return f"{text}\n<<<NOTES\n{json.dumps(notes)}"


def bench_ask(
    base: Settings,
    embedder: Embedder,
    label: str,
    rounds: int,
    target: bool,
    limit: int | None = None,
) -> list[Row]:
    """Time `Assistant.ask` over (the first `limit` of) the dev questions, instant fake model."""
    try:
        from tests.fake_openai import FakeOpenAI, Reply
    except ImportError as exc:
        return [Row(SECTION, f"ask, {label}", f"not measured: cannot import the fake ({exc})")]
    log(f"ask: {label}")
    qs = [q.question for q in questions()][:limit]
    with FakeOpenAI(default=Reply(text="unused")) as fake:
        settings = base.model_copy(
            update={
                "llm": "auto",
                "openai_base_url": fake.url,
                "openai_api_key": SecretStr("bench"),
                "llm_max_retries": 0,
                "llm_timeout": 10.0,
            }
        )
        assistant = Assistant(settings, embedder)
        replies: dict[str, str | None] = {}
        for q in qs:  # what each question retrieves (as ask does), to script a fitting reply
            retrieval = assistant.plan(q).retrieval
            passages = retrieval.passages
            replies[q] = scripted_reply(passages) if retrieval.answerable and passages else None
        samples: list[float] = []
        first_piece: list[float] = []
        retrieve_s: list[float] = []
        write_s: list[float] = []
        cited = 0
        for r in range(rounds + 1):  # round 0 is the warm-up
            for q in qs:
                if replies[q]:
                    fake.queue(replies[q] or "")
                started = time.perf_counter()
                stream = assistant.ask_stream(q)  # what `ask` does, timing the first piece too
                first = None
                for _ in stream:
                    first = first or time.perf_counter() - started
                answer = stream.answer
                elapsed = time.perf_counter() - started
                if r:
                    samples.append(elapsed)
                    first_piece.append(first or elapsed)
                    retrieve_s.append(answer.timings.get("plan_s", 0.0))
                    write_s.append(answer.timings.get("write_s", 0.0))
                    cited += bool(answer.citations) and answer.mode == "llm"
        leftover = fake.next_reply().text != "unused"
    answerable = sum(1 for q in qs if replies[q])
    detail = (
        f"{p50_p95(samples)}; of which (p50) plan (checks, scope, retrieval, coverage) "
        f"{pct(retrieve_s, 50) * 1000:.1f} ms, "
        f"model stream+parse {pct(write_s, 50) * 1000:.1f} ms; first visible piece "
        f"p50 {pct(first_piece, 50) * 1000:.1f} / p95 {pct(first_piece, 95) * 1000:.1f} ms; "
        f"{cited}/{answerable * rounds} answerable asks came back cited in llm mode"
        + ("; WARNING: the fake's reply queue went out of step" if leftover else "")
    )
    if target:
        return [Row(SECTION, f"ask, {label}", detail, "p95 < 100 ms", pct(samples, 95) < 0.100)]
    return [Row(SECTION, f"ask, {label}", detail)]
