"""The sidebar, shown on every page so its choices survive page switches: past
conversations, the model, the passages per question and the sources to search."""

from __future__ import annotations

import streamlit as st

from assistant import Assistant, ParallaxError, SourceInfo
from ui import render, state


def source_key(source_id: str) -> str:
    return f"src:{source_id}"


def select_all(library: list[SourceInfo], checked: bool) -> None:
    for s in library:
        st.session_state[source_key(s.meta.id)] = checked


def render_sidebar(base: Assistant) -> state.Scope:
    """Conversations, then the answering settings; returns what they chose."""
    library = sorted(base.sources(), key=lambda s: (s.meta.outlet.lower(), s.meta.title.lower()))
    with st.sidebar:
        conversations(base)
        st.markdown("#### Answering")
        assistant = model_picker(base)
        st.session_state.setdefault("k", base.settings.top_k)
        k = st.slider(
            "Passages per question",
            2,
            20,
            key="k",
            help="How many passages are retrieved and shown to the model.",
        )
        if assistant.mode == "llm":
            name = render.plain(assistant.model_name or "")
            st.caption(f":material/smart_toy: Mode: **LLM** · {name}")
        else:
            st.caption(":material/format_quote: Mode: **extractive** (no language model)")

        st.markdown(f"#### Library · {render.count(len(library), 'article')}")
        with st.container(horizontal=True):
            st.button("All", on_click=select_all, args=(library, True), type="tertiary")
            st.button("None", on_click=select_all, args=(library, False), type="tertiary")
        chosen = []
        for s in library:
            key = source_key(s.meta.id)
            st.session_state.setdefault(key, True)
            if st.checkbox(render.label(f"{s.meta.outlet} · {s.meta.title}"), key=key):
                chosen.append(s.meta.id)
    sources = None if len(chosen) == len(library) else chosen
    return state.Scope(assistant, library, sources, int(k))


def model_picker(base: Assistant) -> Assistant:
    """The server's models when it lists them (a new name can still be typed); else free text."""
    llm = base.mode == "llm"
    st.session_state.setdefault("model", base.settings.llm_model)
    models = state.server_models() if llm else None
    if models:
        current = st.session_state["model"]
        options = models if current in models else [current, *models]
        model = st.selectbox(
            "Chat model",
            options,
            key="model",
            accept_new_options=True,
            help="The models your server lists; type another name to use it.",
        )
    else:
        model = st.text_input(
            "Chat model",
            key="model",
            disabled=not llm,
            help="Any model name your OpenAI-compatible server knows."
            if llm
            else "No language model is configured: see “How to connect a language model”.",
        )
    try:
        return state.assistant_for((model or "").strip() or base.settings.llm_model)
    except ParallaxError as exc:
        st.error(render.plain(str(exc)), icon=":material/error:")
        return base


def conversations(base: Assistant) -> None:
    """Past conversations, newest first; the open one can be renamed or deleted."""
    st.button(
        "New chat",
        icon=":material/add_comment:",
        key="sidebar-new",
        on_click=state.new_chat,
        width="stretch",
    )
    try:
        saved = state.history().list()
    except ParallaxError as exc:
        st.caption(render.plain(str(exc)))
        return
    if not saved:
        return
    st.markdown("#### Conversations")
    current = state.conversation_id()
    with st.container(key="conversations", height=min(40 + 36 * len(saved), 260), border=False):
        for summary in saved:
            st.button(
                render.label(summary.title),
                key=f"conv-{summary.id}",
                type="secondary" if summary.id == current else "tertiary",
                on_click=state.open_conversation,
                args=(summary.id, base),
                width="stretch",
            )
    if current is not None:
        with st.popover("Rename or delete", icon=":material/edit:", type="tertiary"):
            title = next((s.title for s in saved if s.id == current), "")
            st.text_input("Title", value=title, key=f"title-{current}")
            with st.container(horizontal=True):
                st.button(
                    "Rename",
                    key="rename",
                    on_click=state.rename_conversation,
                    args=(current, f"title-{current}"),
                )
                st.button(
                    "Delete",
                    key="delete",
                    type="primary",
                    on_click=state.delete_conversation,
                    args=(current,),
                )
