"""From a plan to a cited Answer: write (LLM or extractive), stream, parse.

A model writes visible markdown and notes (after `<<<NOTES`, or whichever marker a small model
chose, or as one JSON object): the protocol reader (`assistant/protocol.py`) never lets the
notes reach the reader, and markers are renumbered while streaming so the streamed text
equals the final `Answer.text`. Extractive answers and "not covered" replies are built from records up front
and streamed word by word, so the UI treats every answer alike.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Literal

from assistant.chat_model import ChatModel, Message, StreamInterrupted, StructuredRequest
from assistant.citations import build_answer
from assistant.errors import LLMError
from assistant.extractive import NOT_COVERED, NOTICE, extract
from assistant.planning import Plan
from assistant.prompts import history_text, render, source_blocks
from assistant.protocol import ParsedReply, ReplyReader, echoes_instructions
from assistant.records import Answer, Mode, Passage
from assistant.suggestions import suggest
from assistant.text import BRACKET_RE, NUMBER_RE, OPEN_MARKER_RE, marker_numbers
from assistant.verification import verify_answer
from store.embeddings import Embedder

log = logging.getLogger("parallax")
_WORDS = re.compile(r"\S+\s*")
Protocol = Literal["json", "prose"]
_CLOSING: dict[Protocol, str] = {
    "json": "all of it as the one JSON object",
    "prose": "the notes line and its JSON",
}
NO_TEXT_FALLBACK = "These are the retrieved passages' most relevant sentences, quoted verbatim."


def _notes_json(reply: ParsedReply) -> str:
    """The model's notes, however it wrote them, in the one format the parser reads. A reply
    whose text cites passages is an answer, whatever its `answerable` says."""
    notes = reply.notes
    quotes: dict[str, list[str]] = {}
    for hint in notes.quotes:
        quotes.setdefault(str(hint.source), []).append(hint.quote)
    data: dict[str, object] = {
        "quotes": quotes,
        "disagreements": [
            {
                "topic": d.topic,
                "positions": [
                    {"source": p.source, "summary": p.summary, "citations": p.citations}
                    for p in d.positions
                ],
            }
            for d in notes.disagreements
        ],
    }
    if notes.follow_ups:
        data["follow_ups"] = notes.follow_ups
    if notes.answerable is not None and not marker_numbers(reply.visible):
        data["answerable"] = notes.answerable
    return json.dumps(data)


class LiveRenumbering:
    """Rewrites markers while streaming, in the parser's first-use order, so the text a
    reader watches arrive already carries the numbers of the final references."""

    def __init__(self, passages: int) -> None:
        self.passages = passages
        self.numbers: dict[int, int] = {}
        self._held = ""

    def feed(self, text: str) -> str:
        text = self._held + text
        cut = OPEN_MARKER_RE.search(text)
        self._held = text[cut.start() :] if cut else ""
        return self._rewrite(text[: cut.start()] if cut else text)

    def flush(self) -> str:
        text, self._held = self._held, ""
        return self._rewrite(text)

    def _rewrite(self, text: str) -> str:
        def renumber(match: re.Match[str]) -> str:
            out = []
            for raw in NUMBER_RE.findall(match[0]):
                n = int(raw)
                if 1 <= n <= self.passages:
                    out.append(f"[{self.numbers.setdefault(n, len(self.numbers) + 1)}]")
            return "".join(out)

        return BRACKET_RE.sub(renumber, text)


class AnswerStream:
    """Visible answer text as it is written; the parsed `Answer` once it ends.

    Like simonw/llm's `Response`, it buffers what it streamed: a second iteration replays it.
    A caller that stops early (`stop()`, or leaving the loop) gets an answer marked
    incomplete with what was shown, never a silently shortened one. A stream cut off by the
    server keeps what arrived and is marked incomplete; any other model error propagates so
    the caller can show it and carry on.
    """

    def __init__(
        self,
        plan: Plan,
        pieces: Iterator[str],
        finish: Callable[[bool, str | None], Answer],
    ) -> None:
        self.plan = plan
        self._pieces = pieces
        self._finish = finish
        self._shown: list[str] = []
        self._answer: Answer | None = None
        self._stopped = False

    @property
    def passages(self) -> list[Passage]:
        return self.plan.retrieval.passages

    @property
    def text(self) -> str:
        """What has been shown so far."""
        return "".join(self._shown)

    def __iter__(self) -> Iterator[str]:
        yield from list(self._shown)
        if self._answer is not None:
            return
        notice = None
        interrupted = False
        try:
            for piece in self._pieces:
                if self._stopped:
                    break
                self._shown.append(piece)
                yield piece
        except StreamInterrupted as exc:
            interrupted, notice = True, str(exc)
        except GeneratorExit:
            self.stop()
            raise
        if self._answer is None:
            self._answer = self._finish(interrupted or self._stopped, notice)

    def stop(self) -> None:
        """End the stream now; the answer keeps what was shown, marked incomplete."""
        if self._answer is not None:
            return
        self._stopped = True
        close = getattr(self._pieces, "close", None)
        if close is not None:
            # From another thread while the reader is blocked on a hung server, the generator
            # cannot be closed; the reader stops at its next piece (see __iter__).
            with contextlib.suppress(ValueError):
                close()
        self._answer = self._finish(True, "Stopped before the answer was complete.")

    @property
    def answer(self) -> Answer:
        if self._answer is None:
            for _ in self:
                pass
        assert self._answer is not None
        return self._answer


def _words(text: str) -> Iterator[str]:
    """Prebuilt text streams word by word, like a model's, so the UI treats both alike."""
    yield from _WORDS.findall(text)


class Answerer:
    def __init__(self, chat_model: ChatModel | None, embedder: Embedder) -> None:
        self.chat_model = chat_model
        self.embedder = embedder

    @property
    def mode(self) -> Mode:
        return "llm" if self.chat_model else "extractive"

    def rewrite(self, question: str, history: Sequence[Answer]) -> str | None:
        """The model's standalone version of a follow-up, or None if it could not write one."""
        if self.chat_model is None:
            return None
        turns = [(a.question, a.text) for a in history]
        prompt = render("rewrite", history=history_text(turns), question=question)
        try:
            lines = self.chat_model.complete([("user", prompt)]).strip().splitlines()
        except LLMError as exc:
            log.warning("Could not rewrite the follow-up (%s); using the offline rule.", exc)
            return None
        rewritten = lines[0].strip(" \"'") if lines else ""
        return rewritten or None

    def write(self, plan: Plan, *, extractive: bool = False) -> AnswerStream:
        """Stream the answer to `plan`; `extractive` quotes the passages even with a model."""
        started = time.perf_counter()
        passages = plan.retrieval.passages
        if not plan.answerable or not passages:
            return self._prebuilt(plan, self._not_covered(plan), started)
        if extractive or self.chat_model is None:
            return self._prebuilt(plan, self._extractive(plan), started)
        reader = ReplyReader()
        read: list[ParsedReply] = []
        live = LiveRenumbering(len(passages))
        model = self.chat_model
        # JSON where the server constrains replies to the schema, the prose protocol where it
        # refuses; the reader tells the two apart from the reply itself either way.
        json_messages, prose_messages = self.messages(plan, "json"), self.messages(plan, "prose")
        tokens = model.stream_structured(
            StructuredRequest(json_messages, model.structured_options, prose_messages)
        )
        instructions = json_messages[0][1] + "\n" + prose_messages[0][1]

        def parsed() -> ParsedReply:
            if not read:
                read.append(reader.finish())
            return read[0]

        def pieces() -> Iterator[str]:
            shown = 0
            for token in tokens:
                visible = reader.feed(token)
                shown += len(visible)
                if out := live.feed(visible):
                    yield out
            if out := live.feed(parsed().visible[shown:]) + live.flush():
                yield out

        def finish(incomplete: bool, notice: str | None) -> Answer:
            reply = parsed()
            echoed = echoes_instructions(reply.visible, instructions)
            if not reply.visible.strip() or echoed:
                # A small model may write only its notes, run out of tokens before its answer,
                # or copy its instructions: the reader then gets the passages' own sentences.
                why = notice or (
                    f"The model ({model.name}) repeated its instructions instead of answering."
                    if echoed
                    else f"The model ({model.name}) wrote no answer text."
                )
                return self._stamp(
                    self._extractive(plan), plan, started, f"{why} {NO_TEXT_FALLBACK}"
                )
            answer = build_answer(
                plan.question,
                reply.visible,
                _notes_json(reply),
                passages,
                mode="llm",
                model=model.name,
                incomplete=incomplete,
            )
            answer = verify_answer(answer, self.embedder)
            if answer.added_citations:
                added = (
                    f"The model cited no passage for {answer.added_citations} of its sentences; "
                    "Parallax cited the passage that supports each of them."
                )
                notice = f"{notice} {added}" if notice else added
            return self._stamp(answer, plan, started, notice)

        return AnswerStream(plan, pieces(), finish)

    def _not_covered(self, plan: Plan) -> Answer:
        notice = NOTICE if self.mode == "extractive" else None
        return Answer(
            plan.question, NOT_COVERED, [], [], False, self.mode, self._model_name(), notice=notice
        )

    def _extractive(self, plan: Plan) -> Answer:
        found = extract(plan.query, plan.retrieval.passages, self.embedder)
        if found is None:
            return self._not_covered(plan)
        return Answer(
            question=plan.question,
            text=found.text,
            citations=found.citations,
            disagreements=[],
            answerable=True,
            mode="extractive",
            model=None,
            sentences=len(found.citations),
            supported_sentences=len(found.citations),  # each is a quote of its passage
            notice=NOTICE,
        )

    def _prebuilt(self, plan: Plan, answer: Answer, started: float) -> AnswerStream:
        def finish(incomplete: bool, notice: str | None) -> Answer:
            if not incomplete:
                return self._stamp(answer, plan, started, answer.notice)
            shown = stream.text.strip()
            cited = set(marker_numbers(shown))
            partial = replace(
                answer,
                text=shown,
                citations=[c for c in answer.citations if c.n in cited],
                incomplete=True,
            )
            return self._stamp(partial, plan, started, notice)

        stream = AnswerStream(plan, _words(answer.text), finish)
        return stream  # `finish` reads what `stream` showed

    def _stamp(self, answer: Answer, plan: Plan, started: float, notice: str | None) -> Answer:
        """What every answer carries from its plan: passages, scope, query, timings, and
        follow-up suggestions from what was retrieved (a complete answer only)."""
        suggestions = [] if answer.incomplete else suggest(answer, plan)
        return replace(
            answer,
            suggestions=answer.suggestions or suggestions,
            passages=list(plan.retrieval.passages),
            scope=plan.scope,
            query=plan.query,
            timings={**plan.timings, "write_s": time.perf_counter() - started},
            notice=notice,
        )

    def _model_name(self) -> str | None:
        return getattr(self.chat_model, "name", None)

    def messages(self, plan: Plan, protocol: Protocol = "prose") -> list[Message]:
        """The answer prompt, asking for `protocol`: one JSON object (for servers that
        constrain the reply to `ANSWER_SCHEMA`) or markdown followed by the notes line."""
        turns = [(a.question, a.text) for a in plan.history]
        context = f"Conversation so far:\n{history_text(turns)}\n\n" if turns else ""
        user = render(
            "answer_user",
            history=context,
            question=plan.question,
            count=len(plan.retrieval.passages),
            sources=source_blocks(plan.retrieval.passages),
            closing=_CLOSING[protocol],
        )
        system = render("answer_system", output_format=render(f"format_{protocol}"))
        return [("system", system), ("user", user)]
