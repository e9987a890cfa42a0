"""The Streamlit app driven headlessly with AppTest, against real stores and a fake model server.

The embedding model loads inside the app, and a fresh store costs an ingest, so one store
(the shipped articles) is shared by the module; each test builds its own assistant from the
environment, as the app does, after clearing `st.cache_resource`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from assistant import Answer, Assistant
from assistant.settings import REPO_ROOT
from tests.fake_openai import FakeOpenAI, Reply

APP = REPO_ROOT / "ui" / "app.py"
pytestmark = pytest.mark.slow  # the app loads the real embedding model
EU = "Should the European Union take part in the peace negotiations?"
NATION = "the-nation-us-engagement-essential"
EVIL = (
    "Harbour pilots in Valparaiso went on strike over new tug rules, the union said on Monday.\n\n"
    "The union leader wrote <script>alert(1)</script> in a post that also linked "
    "[x](javascript:alert(1)) before it was deleted, and said the strike would last a week.\n"
)


@pytest.fixture(scope="module")
def shipped_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui-store")


def use_store(monkeypatch: pytest.MonkeyPatch, root: Path, tmp_path: Path, **env: str) -> None:
    """The app reads Settings from the environment: point it at `root`, away from any .env."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "PARALLAX_CHROMA_HOST",
        "PARALLAX_EMBEDDING_MODEL",
        "PARALLAX_ARTICLES_DIR",
        "PARALLAX_TOP_K",
        "PARALLAX_LLM_MODEL",
    ):
        monkeypatch.delenv(name, raising=False)
    values = {
        "PARALLAX_CHROMA_PATH": str(root / "chroma"),
        "PARALLAX_LIBRARY_DIR": str(root / "library"),
        "PARALLAX_LLM": "off",
        "PARALLAX_LLM_MAX_RETRIES": "0",
        **env,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


@pytest.fixture
def extractive(monkeypatch: pytest.MonkeyPatch, shipped_store: Path, tmp_path: Path) -> None:
    use_store(monkeypatch, shipped_store, tmp_path)


@pytest.fixture
def llm(
    monkeypatch: pytest.MonkeyPatch, shipped_store: Path, tmp_path: Path, fake_llm: FakeOpenAI
) -> FakeOpenAI:
    use_store(
        monkeypatch,
        shipped_store,
        tmp_path,
        PARALLAX_LLM="auto",
        OPENAI_BASE_URL=fake_llm.url,
        OPENAI_API_KEY="test-key",
    )
    return fake_llm


def start() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    assert not at.exception, at.exception
    return at


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


def text(node: Any) -> str:
    return "\n".join(m.value for m in node.markdown)


def last_answer(at: AppTest) -> Answer:
    """The last turn's answer (its error, when it has none, fails the test)."""
    answer = at.session_state["turns"][-1].answer
    assert answer is not None, at.session_state["turns"][-1].error
    return answer


def chips(markdown: str) -> list[int]:
    """The numbers of the chips that open a passage."""
    return [
        int(n) for n in re.findall(r'class="px-chip" popovertarget="[^"]+"[^>]*>(\d+)<', markdown)
    ]


# ---- the scripted model -------------------------------------------------------------------
def source_blocks(prompt: str) -> dict[int, tuple[str, str]]:
    """{n: (outlet, passage text)} from the answer prompt the app sent."""
    found = {}
    for m in re.finditer(r"<<<SOURCE \[(\d+)\]>>>\n(.*?)\n<<<END SOURCE \[\1\]>>>", prompt, re.S):
        header, _, body = m.group(2).partition("\n---\n")
        outlet = re.search(r"^outlet: (.*)$", header, re.M)
        found[int(m.group(1))] = (outlet.group(1) if outlet else "", body)
    return found


def first_sentence(passage: str) -> str:
    return re.split(r"(?<=[.!?])\s", passage.strip(), maxsplit=1)[0]


def disagreement_reply(prompt: str) -> str:
    """The Nation against Foreign Policy, with quotes copied from the passages sent."""
    blocks = source_blocks(prompt)
    nation = next(n for n, (_, body) in blocks.items() if "should be left out" in body)
    fp = next(n for n, (outlet, _) in blocks.items() if outlet == "Foreign Policy")
    nation_quote = "the European Union should be left out of the process"
    fp_quote = first_sentence(blocks[fp][1])
    notes = {
        "answerable": True,
        "quotes": {str(nation): nation_quote, str(fp): fp_quote},
        "disagreements": [
            {
                "topic": "Whether Europe belongs at the negotiating table",
                "positions": [
                    {
                        "source": nation,
                        "summary": "The European Union should be left out of the process.",
                        "citations": [nation],
                    },
                    {"source": fp, "summary": fp_quote, "citations": [fp]},
                ],
            }
        ],
    }
    # Each cited sentence says what its passage says: Parallax checks that, not the quotes.
    return (
        f"The sources disagree. The Nation's Anatol Lieven argues that the European Union "
        f"should be left out of the peace process for now [{nation}]. Foreign Policy's Laurie "
        f"Bristow writes: {fp_quote.rstrip('.')} [{fp}].\n\n"
        "### Where the sources disagree\n"
        f"- The Nation: the European Union should be left out of the process [{nation}].\n"
        f"- Foreign Policy: {fp_quote.rstrip('.')} [{fp}].\n"
        f"<<<NOTES\n{json.dumps(notes)}"
    )


def script_disagreement(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each reply is built from the request it answers, so the passage numbers are right."""

    def reply() -> Reply:
        prompt = fake.chat_requests()[-1].body["messages"][-1]["content"]
        return Reply(text=disagreement_reply(prompt))

    monkeypatch.setattr(fake, "next_reply", reply)


# ---- extractive mode ------------------------------------------------------------------------
@pytest.mark.usefixtures("extractive")
def test_extractive_answer_has_an_honest_intro_chips_sources_and_quotes() -> None:
    at = start()
    intro = at.get_by_key("intro")
    description = intro.markdown[0].value
    assert "5 articles" in description and "quoted verbatim and cited" in description
    assert "disagree" not in description  # offline, no such claim
    assert "OPENAI_API_KEY" not in description  # the configuration help is behind a link
    assert any("OPENAI_API_KEY" in m.value for m in intro.markdown[1:])  # in the popover
    starters = [b for b in at.button if (b.key or "").startswith("starter-")]
    assert 3 <= len(starters) <= 4
    assert any("extractive" in c.value for c in at.sidebar.caption)

    at.button(key="starter-0").click().run()  # one click asks
    assert not at.exception, at.exception
    answer = last_answer(at)
    assert answer.question == starters[0].label.replace("\\", "")
    assert answer.mode == "extractive" and answer.citations
    assert not any((b.key or "").startswith("starter-") for b in at.button)
    body = text(at.main)
    assert set(chips(body)) == {c.n for c in answer.citations}
    sources = text(at.get_by_key("sources-0"))
    for c in answer.citations:
        assert c.source.outlet in sources
    # each article once, each cited passage a popover with its quote highlighted
    assert sources.count('class="px-article"') == len({c.source_id for c in answer.citations})
    assert sources.count('<mark class="px-quote">') == len(answer.citations)
    assert "https://www.thenation.com/" in sources and "#:~:text=" in sources


@pytest.mark.usefixtures("extractive")
def test_a_question_naming_an_outlet_says_so_and_can_search_all() -> None:
    at = ask(start(), "What does Foreign Policy argue about the negotiations?")
    answer = last_answer(at)
    assert answer.scope is not None and answer.scope.reason == "named"
    assert {c.source.outlet for c in answer.citations} == {"Foreign Policy"}
    assert any(
        "Searching: Foreign Policy only" in c.value for c in at.get_by_key("scope-0").caption
    )

    at.button(key="search-all-0").click().run()  # asked again, in its place, unnarrowed
    assert not at.exception, at.exception
    answer = last_answer(at)
    assert len(at.session_state["turns"]) == 1
    assert answer.scope is not None and answer.scope.reason == "all"
    assert len({p.source.outlet for p in answer.passages}) > 1


@pytest.mark.usefixtures("extractive")
def test_question_the_articles_do_not_cover() -> None:
    at = ask(start(), "Who won the 2024 Super Bowl?")
    answer = last_answer(at)
    assert not answer.answerable and not answer.citations
    assert any("Not covered by these articles" in i.value for i in at.info)
    assert not chips(text(at.main))


@pytest.mark.usefixtures("extractive")
def test_sidebar_restricts_the_sources() -> None:
    at = start()
    for box in at.sidebar.checkbox:
        if box.key != f"src:{NATION}":
            box.uncheck()
    at.sidebar.slider(key="k").set_value(3).run()
    at = ask(at, EU)
    answer = last_answer(at)
    assert answer.citations
    assert {c.source_id for c in answer.citations} == {NATION}
    assert {p.source_id for p in answer.passages} == {NATION}
    assert len(answer.passages) <= 3

    next(b for b in at.sidebar.button if b.label == "None").click().run()
    assert not at.exception
    assert len(at.chat_input) == 1 and at.chat_input[0].proto.disabled
    box = at.get_by_key("ask-box")  # the reason sits with the chat box
    assert any("No sources selected" in w.value for w in box.warning)


@pytest.mark.usefixtures("extractive")
def test_follow_up_export_and_new_chat(monkeypatch: pytest.MonkeyPatch) -> None:
    histories: list[int] = []
    plan = Assistant.plan

    def spy(self: Assistant, question: str, history: Any = (), **kw: Any) -> Any:
        histories.append(len(history))
        return plan(self, question, history, **kw)

    exported: list[Any] = []
    download = st.download_button

    def capture(label: str, data: Any, *args: Any, **kwargs: Any) -> bool:
        exported.append(data)
        return download(label, data, *args, **kwargs)

    monkeypatch.setattr(Assistant, "plan", spy)
    monkeypatch.setattr(st, "download_button", capture)

    at = ask(start(), EU)
    at = ask(at, "And what does Foreign Policy say about that?")
    assert histories == [0, 1]
    export = exported[-1]
    assert f"## {EU}" in export and "## And what does Foreign Policy say" in export
    assert "**References**" in export and "- Mode: extractive" in export
    assert export.count("Extractive answer:") == 1  # the notice, once
    for answer in (t.answer for t in at.session_state["turns"]):
        assert answer is not None
        assert all(f"{c.n}. {c.source.outlet}" in export for c in answer.citations)

    new_chat = next(b for b in at.button if b.label == "New chat")
    new_chat.click().run()
    assert at.session_state["turns"] == []
    assert any((b.key or "").startswith("starter-") for b in at.button)


@pytest.mark.usefixtures("extractive")
def test_library_page_shows_cleaning() -> None:
    at = start().switch_page("views/library.py").run()
    assert not at.exception, at.exception
    assert at.subheader[0].value == "5 articles"
    labels = [e.label for e in at.expander]
    assert any("Foreign Policy" in label for label in labels)
    assert any("14 passages" in m.value for m in at.markdown)
    toggle = next(
        t for t in at.toggle if t.key == "removed:foreign-policy-how-to-negotiate-with-putin"
    )
    toggle.set_value(True).run()
    removed = at.dataframe[0].value
    assert len(removed) > 0 and {"Rule", "Why", "Removed text"} <= set(removed.columns)


# ---- with a (fake) language model ----------------------------------------------------------
def test_llm_answer_shows_the_disagreement(
    llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    script_disagreement(llm, monkeypatch)
    at = start()
    assert not any("No language model" in i.value for i in at.info)
    assert any("LLM" in c.value for c in at.sidebar.caption)

    at = ask(at, EU)
    answer = last_answer(at)
    assert answer.mode == "llm" and answer.answerable
    assert len(answer.citations) == 2 and all(c.verified for c in answer.citations)
    assert len(chips(text(at.main))) >= 2
    assert {c.source.outlet for c in answer.citations} == {"The Nation", "Foreign Policy"}

    block = at.get_by_key("disagree-0")
    assert "Where the sources disagree" in text(block)
    columns = block.columns
    assert len(columns) == 2
    assert "The Nation" in text(columns[0]) and "should be left out of" in text(columns[0])
    assert "Foreign Policy" in text(columns[1]) and "not entirely clear" in text(columns[1])
    assert "should be left out of the process" in text(columns[0])
    assert "Foreign Policy" in text(at.get_by_key("sources-0"))
    assert llm.chat_requests()[-1].body["model"] == "gpt-4o-mini"


def test_model_errors_are_shown_and_the_chat_goes_on(llm: FakeOpenAI) -> None:
    llm.queue(Reply.error(500, "boom"))
    at = ask(start(), EU)
    assert at.session_state["turns"][-1].error
    assert any("did not answer" in e.value for e in at.error)
    assert at.get_by_key("retry-0") and at.get_by_key("quotes-0")

    at.button(key="quotes-0").click().run()  # the passages instead, same retrieval
    assert not at.exception, at.exception
    assert last_answer(at).mode == "extractive" and last_answer(at).citations
    assert len(at.session_state["turns"]) == 1  # in the failed turn's place

    llm.queue(Reply(text=""))  # an empty reply: the passages instead, with a notice; no crash
    at = ask(at, EU)
    assert not at.exception, at.exception
    empty = last_answer(at)
    assert empty.mode == "extractive" and empty.citations
    assert empty.notice and "wrote no answer text" in empty.notice
    assert any("wrote no answer text" in i.value for i in at.info)

    truncated = Reply.truncated("The Nation wants the EU left out [1]. Foreign Policy wants", 50)
    llm.queue(truncated)
    at = ask(at, EU)
    assert last_answer(at).incomplete
    assert any("Incomplete answer" in w.value for w in at.warning)

    picker = at.sidebar.selectbox(key="model")  # the server lists its models
    assert "fake-model" in picker.options
    picker.set_value("fake-model").run()
    at = ask(at, EU)
    assert llm.chat_requests()[-1].body["model"] == "fake-model"
    at = ask(at, "Who won the 2024 Super Bowl?")
    assert any("Not covered by these articles" in i.value for i in at.info)
    assert any("fake\\-model" in c.value for c in at.sidebar.caption)  # markdown-escaped


# ---- the library page and untrusted text -----------------------------------------------------
def test_library_add_escape_and_remove(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    seed = tmp_path_factory.mktemp("seed")
    (seed / "tug-fleet.txt").write_text(
        "The port of Valparaiso ordered four new tugs this spring to handle larger ships.\n",
        encoding="utf-8",
    )
    use_store(monkeypatch, tmp_path / "store", tmp_path, PARALLAX_ARTICLES_DIR=str(seed))
    at = start().switch_page("views/library.py").run()
    assert not at.exception, at.exception
    assert at.subheader[0].value == "1 article"

    def field(label: str) -> Any:
        return next(t for t in at.text_input if t.label == label)

    def submit() -> None:
        next(b for b in at.button if b.label == "Add to the library").click().run()
        assert not at.exception, at.exception

    submit()  # nothing given
    assert "paste the article's text" in at.error[0].value
    at.text_area[0].set_value(EVIL)
    field("Link to the original").set_value("javascript:alert(1)")
    submit()
    assert "http://" in at.error[0].value
    assert at.text_area[0].value == EVIL  # nothing lost

    at.text_area[0].set_value("")
    at.file_uploader[0].set_value(("pilots.md", EVIL.encode(), "text/markdown"))
    field("Title").set_value("Pilots strike")
    field("Outlet").set_value("Harbour <b>News</b>")
    field("Date").set_value("2025-01-02")
    field("Link to the original").set_value("https://example.org/pilots")
    submit()
    assert "Added" in at.success[0].value
    assert at.subheader[0].value == "2 articles"
    page = text(at.main)
    assert "&lt;script&gt;alert\\(1\\)&lt;/script&gt;" in page
    assert "](javascript" not in page
    assert "<script>" not in page and "<b>" not in page

    at.switch_page("views/chat.py").run()
    at = ask(at, "Why did the harbour pilots in Valparaiso go on strike?")
    answer = last_answer(at)
    assert "pilots-strike" in {c.source_id for c in answer.citations}
    everything = text(at.main) + "\n".join(e.value for e in at.sidebar.markdown)
    assert "<script>alert" not in everything and "<b>News" not in everything
    assert "[x](javascript" not in everything
    assert "Harbour &#60;b&#62;News&#60;/b&#62;" in everything
    assert "example.org/pilots#:~:text=" in everything

    at.switch_page("views/library.py").run()
    at.button(key="remove:pilots-strike").click().run()
    assert not at.exception, at.exception
    assert "Removed" in at.success[0].value
    assert at.subheader[0].value == "1 article"


# ---- conversations that persist ---------------------------------------------------------------
@pytest.mark.usefixtures("extractive")
def test_a_conversation_reopens_with_its_settings_and_can_be_renamed_and_deleted() -> None:
    at = start()
    at.sidebar.slider(key="k").set_value(4).run()
    at = ask(at, EU)
    cid = at.session_state["conversation"]
    assert cid and at.query_params["c"] in (cid, [cid])

    again = AppTest.from_file(str(APP), default_timeout=120)  # a reload: a new session
    again.query_params["c"] = cid
    again.run()
    assert not again.exception, again.exception
    assert [t.question for t in again.session_state["turns"]] == [EU]
    assert again.sidebar.slider(key="k").value == 4
    assert chips(text(again.main))  # the answer, chips and all
    assert again.button(key=f"conv-{cid}").label.startswith("Should the European Union")

    again.sidebar.text_input(key=f"title-{cid}").set_value("EU and the talks")
    again.button(key="rename").click().run()
    assert again.button(key=f"conv-{cid}").label == "EU and the talks"
    again.button(key="delete").click().run()
    assert not again.exception, again.exception
    assert again.session_state["turns"] == []
    assert not any((b.key or "") == f"conv-{cid}" for b in again.button)
