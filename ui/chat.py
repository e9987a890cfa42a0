"""The chat page: a conversation with streamed, cited answers.

Questions go through one path (typed, a starter, a suggestion, Retry): `submit` starts a job,
or queues the question while another answer is pending, so none is ever dropped. The job runs
in a thread; `live` draws it until it settles, then the turn is saved and the page redrawn.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from assistant import (
    ExportHeader,
    ParallaxError,
    Scope,
    SourceInfo,
    Turn,
    conversation_markdown,
)
from ui import render, state
from ui.jobs import Job

SETUP_HELP = (
    "Parallax writes answers with any OpenAI-compatible model. Put these lines in a file "
    "named `.env` in the folder you start Parallax from, then restart the app:\n\n"
    "```\nOPENAI_API_KEY=sk-…\n# or, for a local server such as Ollama:\n"
    "OPENAI_BASE_URL=http://localhost:11434/v1\nPARALLAX_LLM_MODEL=llama3.1\n```\n\n"
    "The README lists every setting."
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
POLL_S = 0.25  # how often the live status and text are redrawn


def page() -> None:
    scope = state.scope()
    ready = scope.sources != []
    if ready:  # pinned to the bottom of the page, read before anything waits on a job
        typed = st.chat_input("Ask about the articles…", key="question")
        if typed:
            submit(typed)
    if asked := st.session_state.pop("ask", None):
        submit(asked)
    start_next(scope)
    st.title("Parallax")
    # Fixed slots: a slot no longer used is emptied at once, so nothing stale (the starters,
    # the toolbar) stays on screen while an answer streams.
    intro_slot, chat, bar = st.empty(), st.container(key="chat"), st.empty()
    turns = state.turns()
    if not turns and state.job() is None:
        with intro_slot.container(key="intro"):
            intro(scope)
        no_sources_box(ready)
        return
    if state.job() is None:
        with bar.container(horizontal=True, key="toolbar"):
            toolbar(scope)
    with chat:
        conversation(turns)
    no_sources_box(ready)


def no_sources_box(ready: bool) -> None:
    """With nothing to search, the chat box is shown disabled with the reason beside it."""
    if not ready:
        with st.container(key="ask-box"):
            st.warning(
                "No sources selected: choose at least one article in the sidebar to ask about.",
                icon=":material/filter_alt_off:",
            )
            st.chat_input("Ask about the articles…", key="question-off", disabled=True)


def conversation(turns: list[Turn]) -> None:
    pending = state.job()
    for i, turn in enumerate(turns):
        if pending is None or i != pending.position:
            show(turn, i)
    slot = st.container()  # the pending answer, above the questions queued behind it
    for question in state.queue():
        with st.chat_message("user"):
            st.markdown(render.plain(question), unsafe_allow_html=True)
            st.caption("Queued: asked as soon as the answer above is complete.")
    if pending is not None:
        with slot:
            live(pending)


# ---- asking ------------------------------------------------------------------------------
def submit(question: str) -> None:
    """Ask now, or after the pending answer: never drop a question."""
    question = question.strip()
    if question:
        state.queue().append(question)


def ask_later(question: str) -> None:
    """Button callbacks (starters, suggestions) ask through the same path as typing."""
    st.session_state["ask"] = question


def start_next(scope: state.Scope) -> None:
    """Start the first queued question when no answer is pending."""
    if state.job() is not None or not state.queue():
        return
    question = state.queue().pop(0)
    start(scope, question, len(state.turns()))


def start(
    scope: state.Scope,
    question: str,
    position: int,
    *,
    narrow: bool = True,
    extractive: bool = False,
    reuse_plan: bool = False,
) -> None:
    plan = state.plans().get(position) if reuse_plan else None
    job = Job(
        question=question,
        position=position,
        assistant=scope.assistant,
        history=state.answers(before=position),
        sources=scope.sources,
        k=scope.k,
        narrow=narrow,
        extractive=extractive,
        plan=plan,
        secrets=state.secrets(scope.assistant),
    )
    st.session_state["job"] = job.start()
    # Saved before it is answered: a reload or a crash leaves the question with a Retry.
    keep(position, Turn(question, error="Interrupted before the answer was complete."))


def retry(position: int, *, extractive: bool = False, narrow: bool = True) -> None:
    """Ask a turn again in its place: the same retrieval when this session still has it."""
    turn = state.turns()[position]
    same = narrow and position in state.plans()
    if state.job() is not None:
        return
    start(
        state.scope(),
        turn.question,
        position,
        narrow=narrow,
        extractive=extractive,
        reuse_plan=same,
    )


def keep(position: int, turn: Turn) -> None:
    try:
        state.save_turn(position, turn)
    except ParallaxError as exc:  # the chat goes on; only the history is lost
        st.toast(render.plain(str(exc)), icon=":material/error:")


def live(job: Job) -> None:
    """Draw the pending answer until it settles (a rerun interrupts only this drawing)."""
    with st.chat_message("user"):
        st.markdown(render.plain(job.question), unsafe_allow_html=True)
    with st.chat_message("assistant"):
        head = st.empty()
        with head.container(horizontal=True, vertical_alignment="center", key="live-head"):
            status = st.empty()
            st.button(
                "Stop",
                icon=":material/stop_circle:",
                key="stop",
                on_click=job.stop,
                type="tertiary",
            )
        body = st.empty()
        shown = None
        while not job.settled():
            status.markdown(
                f'<span class="px-status">{job.status()}</span>', unsafe_allow_html=True
            )
            _, text = job.snapshot()
            if text != shown:
                body.markdown(render.with_chips(text, None, None), unsafe_allow_html=True)
                shown = text
            job.finished.wait(POLL_S)
        head.empty()
    finish(job)
    st.rerun()


def finish(job: Job) -> None:
    """Save what the job left: its answer (maybe incomplete) or its error."""
    st.session_state["job"] = None
    answer = job.result()
    if job.plan is not None:
        state.plans()[job.position] = job.plan
    if answer is not None:
        keep(job.position, Turn(job.question, answer=answer))
    else:
        keep(job.position, Turn(job.question, error=job.error or "No answer."))


# ---- drawing -----------------------------------------------------------------------------
def intro(scope: state.Scope) -> None:
    """What the library holds, what this mode does, and questions to start with."""
    library = scope.library
    if not library:
        st.markdown("The library is empty. Add articles on the **Library** page.")
        return
    outlets = sorted({s.meta.outlet for s in library})
    dates = sorted(s.meta.published for s in library if s.meta.published)
    span = f", published {period(dates[0], dates[-1])}" if dates else ""
    what = f"Ask about **{render.count(len(library), 'article')}** from "
    what += f"{render.plain(', '.join(outlets))}{span}."
    if scope.assistant.mode == "llm":
        model = render.plain(scope.assistant.model_name or "the model")
        st.markdown(
            f"{what} {model} writes each answer from these articles only; every claim is "
            "cited with a quote checked against the article, and Parallax shows where the "
            "sources disagree."
        )
    else:
        st.markdown(
            f"{what} With no language model connected, Parallax answers with the most "
            "relevant sentences of the articles, quoted verbatim and cited. It does not "
            "write answers or compare the sources' positions in this mode."
        )
        with st.popover("How to connect a language model", type="tertiary"):
            st.markdown(SETUP_HELP)
    st.markdown("**Try one of these:**")
    columns = st.columns(2)
    for i, question in enumerate(starters(library)):
        columns[i % 2].button(
            render.plain(question),
            key=f"starter-{i}",
            width="stretch",
            on_click=ask_later,
            args=(question,),
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


def show(turn: Turn, position: int) -> None:
    key = str(position)
    with st.chat_message("user"):
        st.markdown(render.plain(turn.question), unsafe_allow_html=True)
    with st.chat_message("assistant"), st.container(key=f"turn-{key}"):
        if turn.answer is None:
            failed(turn, position)
            return
        if turn.answer.scope is not None:
            searched(turn.answer.scope, position)
        render.answer(turn.answer, key, removed_sources(turn))
        slot = st.empty()  # emptied, not left stale, once a later question is asked
        if position == len(state.turns()) - 1 and state.job() is None:
            with slot.container(horizontal=True, key=f"suggest-{key}"):
                follow_ups(turn, key)


def searched(scope: Scope, position: int) -> None:
    """Shows 'Searching: The Nation only · search all' when the question named what to search."""
    if scope.reason != "named":
        return
    with st.container(horizontal=True, vertical_alignment="center", key=f"scope-{position}"):
        st.caption(f"Searching: {render.plain(scope.label)}")
        st.button(
            "search all",
            key=f"search-all-{position}",
            type="tertiary",
            on_click=retry,
            args=(position,),
            kwargs={"narrow": False},
        )


def removed_sources(turn: Turn) -> set[str]:
    """Cited articles no longer in the library: their quotes stay, marked as removed."""
    if turn.answer is None:
        return set()
    present = {s.meta.id for s in state.scope().library}
    return {c.source_id for c in turn.answer.citations} - present


def failed(turn: Turn, position: int) -> None:
    """The error, with Retry; after a model error, the passages as a quote answer too."""
    st.error(render.plain(turn.error or "No answer."), icon=":material/error:")
    with st.container(horizontal=True, key=f"failed-{position}"):
        st.button(
            "Retry",
            key=f"retry-{position}",
            icon=":material/refresh:",
            on_click=retry,
            args=(position,),
        )
        if state.scope().assistant.mode == "llm":
            st.button(
                "Show the passages instead",
                key=f"quotes-{position}",
                icon=":material/format_quote:",
                on_click=retry,
                args=(position,),
                kwargs={"extractive": True},
            )


def follow_ups(turn: Turn, key: str) -> None:
    for i, question in enumerate(turn.answer.suggestions if turn.answer else []):
        st.button(
            render.label(question),
            key=f"suggestion-{key}-{i}",
            icon=":material/subdirectory_arrow_right:",
            on_click=ask_later,
            args=(question,),
        )


def toolbar(scope: state.Scope) -> None:
    st.button("New chat", icon=":material/add_comment:", on_click=state.new_chat)
    answers = state.answers()
    if answers:
        st.download_button(
            "Export as Markdown",
            data=export(scope, answers),
            file_name="parallax-conversation.md",
            mime="text/markdown",
            icon=":material/download:",
            on_click="ignore",
        )


def export(scope: state.Scope, answers: list) -> str:
    names = {s.meta.id: f"{s.meta.outlet} — {s.meta.title}" for s in scope.library}
    header = ExportHeader(
        exported_at=datetime.now(UTC),
        mode=scope.assistant.mode,
        model=scope.assistant.model_name,
        sources=[names.get(i, i) for i in scope.sources or []],
    )
    return conversation_markdown(answers, header, state.secrets(scope.assistant))
