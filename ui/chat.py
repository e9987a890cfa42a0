"""The chat page: a conversation with streamed, cited answers."""

from __future__ import annotations

import logging

import streamlit as st

from assistant import AnswerStream, ParallaxError, SourceInfo, conversation_markdown
from ui import render, state

log = logging.getLogger("parallax.ui")

EXTRACTIVE_BANNER = (
    "**No language model is configured: extractive mode.** Parallax answers with the most "
    "relevant sentences of the articles, quoted verbatim and cited, instead of writing an "
    "answer, and it cannot spot disagreements for you. For written answers, set "
    "`OPENAI_API_KEY` (or `OPENAI_BASE_URL` for a local server such as Ollama) in `.env` and "
    "restart the app."
)
# Questions the shipped articles answer well, shown when the articles they need are present.
SHIPPED_STARTERS = {
    "Should the European Union take part in the peace negotiations?": {
        "the-nation-us-engagement-essential",
        "foreign-policy-how-to-negotiate-with-putin",
    },
    "Is time on Russia's side in this war?": {
        "hot-air-escalate-to-de-escalate",
        "the-nation-us-engagement-essential",
    },
    "Would ruling out NATO membership for Ukraine help bring peace?": {
        "responsible-statecraft-no-nato-for-ukraine",
        "foreign-policy-how-to-negotiate-with-putin",
    },
    "What will bring Vladimir Putin to the negotiating table?": {
        "the-week-putin-negotiating-table",
    },
}
MONTHS = "January February March April May June July August September October November December"


def page() -> None:
    scope = state.scope()
    st.title("Parallax")
    if scope.assistant.mode == "extractive":
        st.info(EXTRACTIVE_BANNER, icon=":material/info:")
    ready = scope.sources != []
    if not ready:
        st.warning("Choose at least one article in the sidebar to ask about.")
    question = st.chat_input("Ask about the articles…", disabled=not ready)
    question = question or st.session_state.pop("starter", None)
    turns = state.turns()
    if not turns and not question:
        intro(scope.library)
    for i, turn in enumerate(turns):
        show(turn, str(i))
    if question:
        ask(scope, question)
    if turns:
        toolbar()


def intro(library: list[SourceInfo]) -> None:
    """What the library holds, and questions to start with."""
    if not library:
        st.markdown("The library is empty. Add articles on the **Library** page.")
        return
    outlets = sorted({s.meta.outlet for s in library})
    dates = sorted(s.meta.published for s in library if s.meta.published)
    span = f", published {period(dates[0], dates[-1])}" if dates else ""
    articles = render.count(len(library), "article")
    st.markdown(
        f"Ask about **{articles}** from {render.plain(', '.join(outlets))}{span}. Every claim "
        "in an answer is cited with a verified quote, and Parallax says where the sources "
        "disagree."
    )
    st.markdown("**Try one of these:**")
    columns = st.columns(2)
    for i, question in enumerate(starters(library)):
        columns[i % 2].button(
            render.plain(question),
            key=f"starter-{i}",
            width="stretch",
            wrap=True,
            on_click=st.session_state.__setitem__,
            args=("starter", question),
        )


def starters(library: list[SourceInfo]) -> list[str]:
    ids = {s.meta.id for s in library}
    found = [q for q, needs in SHIPPED_STARTERS.items() if needs <= ids]
    for s in library:
        found.append(f"What does {s.meta.outlet} argue in “{s.meta.title}”?")
    return found[:4]


def period(first: str, last: str) -> str:
    """'2025-03-19'..'2025-09-10' as 'March – September 2025'."""

    def month(date: str) -> tuple[str, str]:
        year, _, rest = date.partition("-")
        number = int(rest[:2]) if rest[:2].isdigit() else 0
        return (MONTHS.split()[number - 1] if 1 <= number <= 12 else ""), year

    (m1, y1), (m2, y2) = month(first), month(last)
    if (m1, y1) == (m2, y2):
        return f"in {m1} {y1}".replace("  ", " ")
    if y1 == y2:
        return f"{m1} – {m2} {y2}".strip()
    return f"{m1} {y1} – {m2} {y2}".strip()


def show(turn: state.Turn, key: str) -> None:
    with st.chat_message("user"):
        st.markdown(render.plain(turn.question), unsafe_allow_html=True)
    with st.chat_message("assistant"):
        if turn.answer is not None:
            render.answer(turn.answer, key)
        else:
            st.error(render.plain(turn.error or "No answer."), icon=":material/error:")


def ask(scope: state.Scope, question: str) -> None:
    """Retrieve under a status line, stream the answer, then redraw it with chips and sources."""
    turns = state.turns()
    key = str(len(turns))
    with st.chat_message("user"):
        st.markdown(render.plain(question), unsafe_allow_html=True)
    with st.chat_message("assistant"):
        top, slot = st.container(), st.empty()  # the status line, then the answer
        try:
            with top:
                stream = search(scope, question)
            slot.write_stream(render.safe_stream(stream))
            answer = stream.answer
            with slot.container():
                render.answer(answer, key)
            turns.append(state.Turn(question, answer=answer))
        except ParallaxError as exc:
            slot.empty()  # a half-written answer would read as a whole one
            fail(turns, question, str(exc))
        except Exception as exc:  # the session must go on; the log keeps the traceback
            log.exception("Answering %r failed", question)
            slot.empty()
            fail(turns, question, f"Something went wrong while answering: {exc}")


def search(scope: state.Scope, question: str) -> AnswerStream:
    with st.status(f"Searching {render.count(scope.searched, 'article')}…") as status:
        try:
            stream = scope.assistant.ask_stream(
                question, history=state.answers(), sources=scope.sources, k=scope.k
            )
        except Exception:
            status.update(label="The search failed", state="error")
            raise
        passages = stream.plan.retrieval.passages
        outlets = sorted({p.outlet for p in passages})
        for p in passages:
            st.markdown(f"{render.plain(p.outlet)} · *{render.plain(p.title)}*")
        label = (
            f"{render.count(len(passages), 'passage')} from {render.count(len(outlets), 'outlet')}"
        )
        status.update(label=label, state="complete")
    return stream


def fail(turns: list[state.Turn], question: str, message: str) -> None:
    st.error(render.plain(message), icon=":material/error:")
    turns.append(state.Turn(question, error=message))


def toolbar() -> None:
    with st.container(horizontal=True, key="toolbar"):
        st.button("New chat", icon=":material/add_comment:", on_click=state.new_chat)
        answers = state.answers()
        if answers:
            st.download_button(
                "Export as Markdown",
                data=conversation_markdown(answers),
                file_name="parallax-conversation.md",
                mime="text/markdown",
                icon=":material/download:",
                on_click="ignore",
            )
