"""One pending answer, worked on in a thread so the page stays live while the model works.

The script polls the job: it redraws the status (with the elapsed seconds) and the text that
has arrived, and a rerun (Stop, a new question, a click elsewhere) interrupts only the drawing,
never the job, which the next run picks up from the session.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from assistant import (
    Answer,
    Assistant,
    LLMError,
    LLMTimeoutError,
    ParallaxError,
    Plan,
    redact,
    redact_answer,
)

log = logging.getLogger("parallax.ui")
Phase = Literal["retrieving", "asking", "writing", "done", "failed"]
# After Stop, how long the answer may take to close its stream before the text so far is kept
# without it (a hung server never returns from its read).
STOP_GRACE_S = 3.0


@dataclass
class Job:
    """The question at `position` of the conversation, being answered."""

    question: str
    position: int
    assistant: Assistant
    history: Sequence[Answer]
    sources: list[str] | None
    k: int
    narrow: bool = True
    extractive: bool = False
    plan: Plan | None = None  # given: reuse its retrieval (Retry, "show the passages")
    secrets: tuple[str, ...] = ()
    phase: Phase = "retrieving"
    text: str = ""
    answer: Answer | None = None
    error: str | None = None
    started: float = field(default_factory=time.monotonic)
    stopped_at: float | None = None
    finished: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._stream = None
        self._lock = threading.Lock()

    def start(self) -> Job:
        threading.Thread(target=self._run, name=f"answer-{self.position}", daemon=True).start()
        return self

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def snapshot(self) -> tuple[Phase, str]:
        with self._lock:
            return self.phase, redact(self.text, self.secrets)

    def stop(self) -> None:
        """End the stream; what arrived is kept, marked incomplete."""
        self.stopped_at = time.monotonic()
        if self._stream is not None:
            try:
                self._stream.stop()
            except Exception:  # a stream that already ended has nothing to stop
                log.debug("Stopping the stream failed", exc_info=True)

    def settled(self) -> bool:
        """Finished, or stopped long enough ago that the text so far is what it leaves."""
        if self.finished.is_set():
            return True
        return self.stopped_at is not None and time.monotonic() - self.stopped_at > STOP_GRACE_S

    def result(self) -> Answer | None:
        """The answer (incomplete when stopped), or None with `error` set."""
        if self.finished.is_set():
            return self.answer
        _, text = self.snapshot()
        if not text.strip():
            self.error = "Stopped before the model wrote anything."
            return None
        plan = self.plan
        return Answer(
            question=self.question,
            text=text,
            citations=[],
            disagreements=[],
            answerable=True,
            mode=self.assistant.mode,  # type: ignore[arg-type]
            model=self.assistant.model_name,
            passages=list(plan.retrieval.passages) if plan else [],
            incomplete=True,
            notice="Stopped while the model was writing; its quotes were not checked.",
        )

    def _run(self) -> None:
        try:
            if self.plan is None:
                self.plan = self.assistant.plan(
                    self.question,
                    history=self.history,
                    sources=self.sources,
                    k=self.k,
                    narrow=self.narrow,
                )
            with self._lock:
                self.phase = "asking"
            stream = self.assistant.write(self.plan, extractive=self.extractive)
            self._stream = stream
            if self.stopped_at is not None:
                stream.stop()
            for piece in stream:
                with self._lock:
                    self.text += piece
                    self.phase = "writing"
            answer = redact_answer(stream.answer, self.secrets)
            self.answer = answer
        except LLMTimeoutError:
            self.error = (
                f"The model server had not finished after {self.elapsed:.0f} s, so Parallax "
                "gave up. Retry, show the passages instead, or raise PARALLAX_LLM_TIMEOUT."
            )
        except LLMError as exc:
            self.error = f"{exc} (after {self.elapsed:.0f} s)"
        except ParallaxError as exc:
            self.error = str(exc)
        except Exception as exc:  # the session must go on; the log keeps the traceback
            log.exception("Answering %r failed", self.question)
            self.error = f"Something went wrong while answering: {exc}"
        finally:
            if self.error:
                self.error = redact(self.error, self.secrets)
            with self._lock:
                self.phase = "failed" if self.error else "done"
            self.finished.set()

    def status(self) -> str:
        """The live status line: what is happening and for how long."""
        seconds = f"{self.elapsed:.0f} s"
        if self.stopped_at is not None:
            return f"Stopping… {seconds}"
        phase, _ = self.snapshot()
        if phase == "retrieving":
            return f"Retrieving passages… {seconds}"
        if phase == "asking":
            what = "Quoting the passages" if self.quoting else "Asking the model"
            return f"{what}… {seconds}"
        return f"Writing… {seconds}"

    @property
    def quoting(self) -> bool:
        return self.extractive or self.assistant.mode != "llm"
