"""The process-wide assistant and history (shared by all sessions) and each session's chat.

A session shows one conversation: its turns, the answer being written (a `Job`) and the
questions queued behind it. The conversation is saved as it happens and its id sits in the
URL (`?c=`), so a reload or a restart reopens it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import streamlit as st

from assistant import (
    Answer,
    Assistant,
    ChatSettings,
    Conversations,
    ParallaxError,
    Plan,
    SourceInfo,
    Turn,
    available_models,
    load_settings,
)
from ui.jobs import Job

log = logging.getLogger("parallax.ui")
MODELS_TTL_S = 300


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


@st.cache_resource(show_spinner=False)
def history() -> Conversations:
    return Conversations.for_settings(base_assistant().settings)


@st.cache_data(ttl=MODELS_TTL_S, show_spinner=False)
def server_models() -> list[str] | None:
    """The server's models for the picker; None (free text) when it does not list them."""
    return available_models(base_assistant().settings)


def secrets(assistant: Assistant) -> tuple[str, ...]:
    """What must never be shown: the API key, should a server echo it into an answer."""
    key = assistant.settings.openai_api_key
    return (key.get_secret_value(),) if key else ()


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

    def chat_settings(self) -> ChatSettings:
        return ChatSettings(self.assistant.model_name, self.k, self.sources)


def set_scope(scope: Scope) -> None:
    st.session_state["scope"] = scope
    remember_settings(scope)


def scope() -> Scope:
    """Set by the entry script before any page runs."""
    return st.session_state["scope"]


# ---- the conversation --------------------------------------------------------------------
def turns() -> list[Turn]:
    return st.session_state.setdefault("turns", [])


def answers(before: int | None = None) -> list[Answer]:
    """The conversation as the assistant and the export see it (failed turns left out)."""
    return [t.answer for t in turns()[:before] if t.answer is not None]


def conversation_id() -> str | None:
    return st.session_state.get("conversation")


def job() -> Job | None:
    return st.session_state.get("job")


def queue() -> list[str]:
    """Questions asked while an answer was pending, answered in order after it."""
    return st.session_state.setdefault("queue", [])


def plans() -> dict[int, Plan]:
    """Each turn's retrieval in this session, for Retry and "show the passages instead"."""
    return st.session_state.setdefault("plans", {})


def restore(base: Assistant) -> None:
    """On a session's first run, reopen the conversation named in the URL."""
    if "turns" in st.session_state:
        return
    st.session_state["turns"] = []
    cid = st.query_params.get("c")
    if cid:
        open_conversation(cid, base)


def open_conversation(cid: str, base: Assistant) -> None:
    """Show a saved conversation with its settings (a widget callback or the first run)."""
    conversation = history().load(cid)
    stop_pending()
    if conversation is None:
        st.query_params.pop("c", None)
        new_chat()
        return
    st.session_state.update(conversation=cid, turns=conversation.turns, queue=[], plans={})
    st.query_params["c"] = cid
    apply_settings(conversation.settings, base)


def apply_settings(settings: ChatSettings, base: Assistant) -> None:
    """Set the sidebar's widgets to a conversation's settings."""
    if settings.model and base.mode == "llm":
        st.session_state["model"] = settings.model
    if settings.k:
        st.session_state["k"] = settings.k
    chosen = settings.sources
    for info in base.sources():
        st.session_state[f"src:{info.meta.id}"] = chosen is None or info.meta.id in chosen
    st.session_state["saved_settings"] = settings


def remember_settings(scope: Scope) -> None:
    """Save the sidebar's choices with the open conversation when they change."""
    cid = conversation_id()
    current = scope.chat_settings()
    if cid and st.session_state.get("saved_settings") != current:
        history().save_settings(cid, current)
    st.session_state["saved_settings"] = current


def new_chat() -> None:
    stop_pending()
    st.session_state.update(turns=[], conversation=None, queue=[], plans={})
    st.query_params.pop("c", None)


def stop_pending() -> None:
    """Leaving a conversation stops its answer (the saved question keeps a Retry)."""
    if (pending := job()) is not None:
        pending.stop()
    st.session_state["job"] = None


def delete_conversation(cid: str) -> None:
    history().delete(cid)
    if cid == conversation_id():
        new_chat()


def rename_conversation(cid: str, key: str) -> None:
    history().rename(cid, st.session_state.get(key, ""))


def save_turn(position: int, turn: Turn) -> None:
    """Keep the turn in the session and in the history (a new conversation on first use)."""
    rows = turns()
    if position < len(rows):
        rows[position] = turn
    else:
        rows.append(turn)
    cid = conversation_id()
    if cid is None:
        cid = history().create(turn.question, scope().chat_settings())
        st.session_state["conversation"] = cid
        st.session_state["saved_settings"] = scope().chat_settings()
        st.query_params["c"] = cid
    history().put_turn(cid, position, turn)
