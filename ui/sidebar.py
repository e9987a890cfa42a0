"""The sidebar, shown on every page so its choices survive page switches."""

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
    """Library checkboxes, the model and the number of passages; returns what they chose."""
    library = sorted(base.sources(), key=lambda s: (s.meta.outlet.lower(), s.meta.title.lower()))
    with st.sidebar:
        st.markdown("#### Answering")
        llm = base.mode == "llm"
        model = st.text_input(
            "Chat model",
            value=base.settings.llm_model,
            key="model",
            disabled=not llm,
            help="Any model name your OpenAI-compatible server knows."
            if llm
            else "No language model is configured (see OPENAI_API_KEY in .env).",
        )
        try:
            assistant = state.assistant_for((model or "").strip() or base.settings.llm_model)
        except ParallaxError as exc:
            st.error(render.plain(str(exc)), icon=":material/error:")
            assistant = base
        k = st.slider(
            "Passages per question",
            2,
            20,
            value=base.settings.top_k,
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
            label = f"**{render.plain(s.meta.outlet)}** · {render.plain(s.meta.title)}"
            if st.checkbox(label, key=key):
                chosen.append(s.meta.id)
    sources = None if len(chosen) == len(library) else chosen
    return state.Scope(assistant, library, sources, int(k))
