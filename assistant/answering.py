"""From a question to a cited Answer: rewrite, retrieve, write (LLM or extractive), parse.

Both modes produce the same stream format (visible markdown, then `<<<NOTES` and JSON), so
one parser builds every Answer and the structured part never reaches the reader.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from assistant.chat_model import ChatModel, Message, StreamInterrupted
from assistant.citations import NOTES_MARKER, StreamSplitter, build_answer
from assistant.errors import LLMError
from assistant.extractive import NOT_COVERED, NOTICE, extract
from assistant.prompts import history_text, render, source_blocks
from assistant.records import Answer, Passage, Retrieval
from store.embeddings import Embedder

log = logging.getLogger("parallax")
_WORDS = re.compile(r"\S+\s*")
_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_OPEN_MARKER = re.compile(r"\[[\d,\s]*$")


class LiveRenumbering:
    """Rewrites markers while streaming, in the parser's first-use order, so the text a
    reader watches arrive already carries the numbers of the final references."""

    def __init__(self, passages: int) -> None:
        self.passages = passages
        self.numbers: dict[int, int] = {}
        self._held = ""

    def feed(self, text: str) -> str:
        text = self._held + text
        cut = _OPEN_MARKER.search(text)
        self._held = text[cut.start() :] if cut else ""
        return self._rewrite(text[: cut.start()] if cut else text)

    def flush(self) -> str:
        text, self._held = self._held, ""
        return self._rewrite(text)

    def _rewrite(self, text: str) -> str:
        def renumber(match: re.Match[str]) -> str:
            out = []
            for raw in match.group(1).split(","):
                n = int(raw)
                if 1 <= n <= self.passages:
                    out.append(f"[{self.numbers.setdefault(n, len(self.numbers) + 1)}]")
            return "".join(out)

        return _MARKER.sub(renumber, text)


@dataclass(frozen=True)
class Plan:
    """What the pipeline decided before writing: the query, its scope and its passages."""

    question: str
    query: str
    sources: list[str] | None
    retrieval: Retrieval
    timings: dict[str, float]


class AnswerStream:
    """Visible answer text as it is written; the parsed `Answer` once iteration ends.

    A stream cut off midway keeps what arrived and marks the answer incomplete; any other
    model error propagates so the caller can show it and carry on.
    """

    def __init__(
        self,
        plan: Plan,
        tokens: Iterator[str],
        finish: Callable[[str, str, bool, str | None], Answer],
    ) -> None:
        self.plan = plan
        self._tokens = tokens
        self._finish = finish
        self._answer: Answer | None = None

    @property
    def passages(self) -> list[Passage]:
        return self.plan.retrieval.passages

    def __iter__(self) -> Iterator[str]:
        splitter = StreamSplitter()
        live = LiveRenumbering(len(self.passages))
        shown = 0
        incomplete, notice = False, None
        try:
            for token in self._tokens:
                visible = splitter.feed(token)
                shown += len(visible)
                if out := live.feed(visible):
                    yield out
        except StreamInterrupted as exc:
            incomplete, notice = True, str(exc)
        visible, notes = splitter.finish()
        if out := live.feed(visible[shown:]) + live.flush():
            yield out
        self._answer = self._finish(visible, notes, incomplete, notice)

    @property
    def answer(self) -> Answer:
        if self._answer is None:
            for _ in self:
                pass
        assert self._answer is not None
        return self._answer


def _words(text: str) -> Iterator[str]:
    """Extractive text streams word by word, like a model's, so the UI treats both alike."""
    yield from _WORDS.findall(text)


class Answerer:
    def __init__(self, chat_model: ChatModel | None, embedder: Embedder) -> None:
        self.chat_model = chat_model
        self.embedder = embedder

    @property
    def mode(self) -> str:
        return "llm" if self.chat_model else "extractive"

    def standalone_query(self, question: str, history: Sequence[Answer]) -> str:
        """Follow-ups need the conversation: the model rewrites them, offline we join them."""
        if not history:
            return question
        if self.chat_model is None:
            return f"{history[-1].question} {question}"
        turns = [(a.question, a.text) for a in history]
        prompt = render("rewrite", history=history_text(turns), question=question)
        try:
            rewritten = self.chat_model.complete([("user", prompt)]).strip().splitlines()
        except LLMError as exc:
            log.warning("Could not rewrite the follow-up (%s); using it with context.", exc)
            return f"{history[-1].question} {question}"
        return rewritten[0].strip(" \"'") if rewritten and rewritten[0].strip() else question

    def write(self, plan: Plan, history: Sequence[Answer]) -> AnswerStream:
        started = time.perf_counter()
        passages = plan.retrieval.passages
        model_name = getattr(self.chat_model, "name", None)
        mode = self.mode

        def finish(visible: str, notes: str, incomplete: bool, notice: str | None) -> Answer:
            answer = build_answer(
                plan.question,
                visible,
                notes,
                passages,
                mode=mode,
                model=model_name,
                incomplete=incomplete,
            )
            answer.timings = {**plan.timings, "write_s": time.perf_counter() - started}
            answer.notice = notice or (NOTICE if mode == "extractive" else None)
            return answer

        if not plan.retrieval.answerable or not passages:
            notes = json.dumps({"answerable": False, "quotes": {}, "disagreements": []})
            tokens = _words(f"{NOT_COVERED}\n{NOTES_MARKER}\n{notes}")
        elif self.chat_model is None:
            visible, notes = extract(plan.query, passages, self.embedder)
            tokens = _words(f"{visible}\n{NOTES_MARKER}\n{notes}")
        else:
            tokens = self.chat_model.stream(self.messages(plan, history))
        return AnswerStream(plan, tokens, finish)

    def messages(self, plan: Plan, history: Sequence[Answer]) -> list[Message]:
        turns = [(a.question, a.text) for a in history]
        context = f"Conversation so far:\n{history_text(turns)}\n\n" if turns else ""
        user = render(
            "answer_user",
            history=context,
            question=plan.question,
            count=len(plan.retrieval.passages),
            sources=source_blocks(plan.retrieval.passages),
        )
        return [("system", render("answer_system")), ("user", user)]
