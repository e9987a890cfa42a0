"""The process-wide assistant (shared by all sessions) and each session's conversation."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import streamlit as st

from assistant import Answer, Assistant, ParallaxError, SourceInfo, load_settings

log = logging.getLogger("parallax.ui")


@st.cache_resource(show_spinner="Loading the embedding model and indexing the library…")
def base_assistant() -> Assistant:
    """Built once per process: the embedding model and the store are too heavy per session.

    An empty store is ingested here, so the sidebar and the library page list the articles
    before the first question.
    """
    assistant = Assistant(load_settings())
    assistant.ensure_ingested()
    threading.Thread(target=_warm_up, args=(assistant,), daemon=True).start()
    return assistant


def _warm_up(assistant: Assistant) -> None:
    """Load the embedding model while the reader types, not after they ask."""
    try:
        assistant.warm_up()
    except ParallaxError as exc:
        log.debug("Warm-up retrieval failed: %s", exc)


@st.cache_resource(show_spinner=False)
def assistant_for(model: str) -> Assistant:
    """A variant answering with another chat model; it reuses the loaded embedding model."""
    base = base_assistant()
    if base.mode != "llm" or not model or model == base.settings.llm_model:
        return base
    return base.with_model(model)


@dataclass
class Turn:
    """One question and either its answer or the error that stopped it."""

    question: str
    answer: Answer | None = None
    error: str | None = None


@dataclass(frozen=True)
class Scope:
    """What the sidebar chose: the assistant to ask, the library and the sources to search."""

    assistant: Assistant
    library: list[SourceInfo]
    sources: list[str] | None  # None: the whole library; []: nothing chosen
    k: int

    @property
    def searched(self) -> int:
        return len(self.library) if self.sources is None else len(self.sources)


def turns() -> list[Turn]:
    return st.session_state.setdefault("turns", [])


def answers() -> list[Answer]:
    """The conversation as the assistant and the export see it (failed turns left out)."""
    return [t.answer for t in turns() if t.answer is not None]


def new_chat() -> None:
    st.session_state["turns"] = []


def set_scope(scope: Scope) -> None:
    st.session_state["scope"] = scope


def scope() -> Scope:
    """Set by the entry script before any page runs."""
    return st.session_state["scope"]
