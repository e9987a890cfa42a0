"""The app as a reader meets it: `streamlit run` driven by a real Chromium, offline.

Every request the page makes must stay on this machine. Screenshots of each state land in
tests/artifacts/ for a human to look at. Nothing here waits a fixed time: each step waits on
a condition of the page (generous timeouts, the machine is shared).
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from markdown_it import MarkdownIt
from playwright.sync_api import Page, expect, sync_playwright

from assistant import Answer, Citation, ExportHeader, conversation_markdown
from assistant.records import Passage, Source
from assistant.settings import REPO_ROOT
from tests.fake_openai import FakeOpenAI, Reply
from tests.processes import clean_env, streamlit_app
from tests.test_ui_apptest import EU, disagreement_reply, first_sentence, source_blocks

pytestmark = pytest.mark.browser
expect.set_options(timeout=120_000)  # a condition, not a delay: the machine is shared

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
APP = REPO_ROOT / "ui" / "app.py"  # this checkout's app, never another worktree's
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
LOCAL = {"127.0.0.1", "localhost"}
KEY = "sk-browser-test-5f2c9a7e"
MESSAGES = '[data-testid="stChatMessage"]'
ARTICLE = (
    "Harbour pilots in Valparaiso went on strike on Monday over new rules for tug crews.\n\n"
    "The pilots' union said the rules would leave ships without enough tugs in bad weather. "
    "A union post read <script>alert(1)</script> before it was taken down.\n\n"
    "Port officials said twelve cargo ships were waiting outside the harbour.\n"
)
# A made-up dispute, three outlets: the model-mode tests need no shipped article.
RIVER = [
    (
        "delta-courier-dam",
        "The Delta Courier",
        "Why the Ostrava dam must be finished",
        "The Ostrava dam will protect forty villages from the spring floods that ruined "
        "harvests twice in ten years. Engineers say the dam is two thirds built and that "
        "stopping now would waste the money already spent.\n\nFarmers along the lower river "
        "signed a petition asking the council to finish the dam before next spring.",
    ),
    (
        "river-review-dam",
        "River Review",
        "The Ostrava dam is the wrong answer",
        "River Review argues that the Ostrava dam will drown the wetlands where the river "
        "herons nest and that cheaper flood meadows would protect the villages as well. "
        "Ecologists counted three hundred heron nests in the valley last year.\n\nThe "
        "council has not published the dam's full cost, which critics put at twice the "
        "first estimate.",
    ),
    (
        "valley-times-dam",
        "Valley Times",
        "Ostrava council delays the dam vote",
        "The Ostrava council delayed its vote on the dam for a third time on Thursday. "
        "Councillors said they wanted an independent review of the flood risk before "
        "spending more money on the dam.",
    ),
]
DAM = "Should the Ostrava dam be finished?"


# ---- the app, the browser and the model ---------------------------------------------------
def river_library(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for source_id, outlet, title, text in RIVER:
        (folder / f"{source_id}.txt").write_text(f"{title}\n\n{text}\n", encoding="utf-8")
        entries.append(
            f'[[source]]\nid = "{source_id}"\ntitle = "{title}"\noutlet = "{outlet}"\n'
            f'published = "2025-04-01"\nurl = "https://example.org/{source_id}"\n'
        )
    (folder / "sources.toml").write_text("\n".join(entries), encoding="utf-8")
    return folder


@contextmanager
def streamlit(store: Path, name: str, **env: str) -> Iterator[str]:
    """`streamlit run ui/app.py` of this checkout on a free port, from a folder without .env."""
    store.mkdir(parents=True, exist_ok=True)
    clean = clean_env(
        **{
            "PARALLAX_CHROMA_PATH": str(store / "chroma"),
            "PARALLAX_LIBRARY_DIR": str(store / "library"),
            "PARALLAX_LLM": "off",
            "PARALLAX_LLM_MAX_RETRIES": "0",
            "PYTHONPATH": str(REPO_ROOT),
            **env,
        }
    )
    with streamlit_app(
        [sys.executable, "-m", "streamlit"],
        APP,
        log_path=ARTIFACTS / f"streamlit-{name}.log",
        cwd=store,
        env=clean,
        timeout=180,
    ) as (url, _):
        yield url


@contextmanager
def model_app(store: Path, name: str, fake: FakeOpenAI) -> Iterator[str]:
    """The app over the made-up river library, answering with the fake model server."""
    articles = river_library(store / "articles")
    with streamlit(
        store,
        name,
        PARALLAX_ARTICLES_DIR=str(articles),
        PARALLAX_LLM="auto",
        OPENAI_BASE_URL=fake.url,
        OPENAI_API_KEY=KEY,
        PARALLAX_LLM_TIMEOUT="300",
    ) as url:
        yield url


@contextmanager
def browser_page(requests: list[str], width: int = 1280, height: int = 1400) -> Iterator[Page]:
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)"
    )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height}, accept_downloads=True)
        page.on("request", lambda r: requests.append(r.url))
        page.on("websocket", lambda ws: requests.append(ws.url))
        page.on("dialog", lambda d: pytest.fail(f"a dialog opened: {d.message}"))
        page.set_default_timeout(180_000)
        try:
            yield page
        finally:
            browser.close()


def reply_citing(fake: FakeOpenAI, text: str = "", **reply: Any) -> Reply:
    """An answer built from the prompt it answers: the first two passages, cited and quoted
    with their first sentence, then the hidden notes."""
    prompt = fake.chat_requests()[-1].body["messages"][-1]["content"]
    blocks = source_blocks(prompt)
    first, second = (sorted(blocks) * 2)[:2]  # one passage: cited twice
    quotes = {str(n): first_sentence(blocks[n][1]) for n in (first, second)}
    notes = {"answerable": True, "quotes": quotes, "disagreements": []}
    body = text or (
        f"**{blocks[first][0]}** makes one case [{first}], and {blocks[second][0]} "
        f"another, with reasons of its own that the article sets out at length [{second}]."
    )
    return Reply(text=f"{body}\n<<<NOTES\n{json.dumps(notes)}", **reply)


def scripted(fake: FakeOpenAI, *replies: dict[str, Any]) -> None:
    """Each chat request gets the next reply built by `reply_citing` with these options."""
    pending = list(replies)

    def next_reply() -> Reply:
        options = pending.pop(0) if pending else {}
        if "error" in options:
            return Reply.error(options["error"])
        return reply_citing(fake, **options)

    fake.next_reply = next_reply  # type: ignore[method-assign]


def shot(page: Page, name: str) -> None:
    page.screenshot(path=ARTIFACTS / f"{name}.png")


def wait_idle(page: Page) -> None:
    page.wait_for_selector(IDLE)


def submit(page: Page, question: str) -> None:
    box = page.locator('[data-testid="stChatInput"] textarea')
    box.fill(question)
    box.press("Enter")


def ask(page: Page, question: str, turn: int) -> None:
    """Type, press Enter, wait until this turn's answer is drawn and the script is idle."""
    submit(page, question)
    page.wait_for_selector(f".st-key-sources-{turn}")
    wait_idle(page)


def go_to(page: Page, name: str) -> None:
    """Follow a navigation link and wait until that page is drawn, not just the script idle:
    the click and the rerun it starts are not atomic, and a widget clicked in between is
    sent for the page left behind."""
    page.get_by_role("link", name=name).click()
    marker = ".st-key-add-expander" if name == "Library" else '[data-testid="stChatInput"]'
    page.wait_for_selector(marker)
    wait_idle(page)


def open_app(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector('[data-testid="stChatInput"] textarea')
    wait_idle(page)


def assert_local(requests: list[str]) -> None:
    assert requests
    remote = [u for u in requests if urlparse(u).scheme not in ("data", "blob")]
    outside = [u for u in remote if urlparse(u).hostname not in LOCAL]
    assert not outside, f"requests left the machine: {outside}"


def no_horizontal_scroll(page: Page) -> bool:
    return bool(
        page.evaluate(
            "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return tmp_path_factory.mktemp("browser-store")


# ---- extractive mode over the shipped articles --------------------------------------------
def test_extractive_chat_chips_sources_persistence_and_upload(store: Path, tmp_path: Path) -> None:
    requests: list[str] = []
    with streamlit(store, "extractive") as url, browser_page(requests) as page:
        open_app(page, url)
        intro = page.locator(".st-key-intro")
        expect(intro).to_contain_text("quoted verbatim and cited")
        expect(intro).not_to_contain_text("where the sources disagree")  # not offline
        expect(page.get_by_text("OPENAI_API_KEY")).to_have_count(0)  # behind the link
        page.get_by_role("button", name="How to connect a language model").click()
        expect(page.get_by_text("OPENAI_BASE_URL=http://localhost:11434/v1")).to_be_visible()
        shot(page, "01-start-extractive")
        page.keyboard.press("Escape")

        ask(page, EU, 0)
        answer = page.locator(MESSAGES).nth(1)
        chips = answer.locator("button.px-chip[popovertarget]")
        assert chips.count() >= 2
        sources = page.locator(".st-key-sources-0")
        expect(sources).to_contain_text("The Nation")
        titles = [a.locator("i").first.inner_text() for a in sources.locator(".px-article").all()]
        assert titles and len(titles) == len(set(titles))  # each article once
        expect(sources.locator("a", has_text="original")).not_to_have_count(0)
        assert page.locator(".st-key-disagree-0").count() == 0  # extractive: none claimed
        expect(page.locator(".st-key-starter-0")).to_have_count(0)
        shot(page, "02-answer-extractive")

        # A chip opens its passage where it is read; Esc closes it and focus comes back.
        first = chips.first
        first.click()
        popover = page.locator(".px-pop:popover-open")
        expect(popover).to_have_count(1)
        expect(popover.locator("mark.px-quote")).to_be_visible()
        assert len(popover.locator("mark.px-quote").inner_text()) > 20
        expect(popover.locator("a", has_text="Open the original at the quote")).to_have_attribute(
            "href", re.compile(r"^https://.*#:~:text=")
        )
        shot(page, "03-passage-popover")
        page.keyboard.press("Escape")
        expect(page.locator(".px-pop:popover-open")).to_have_count(0)
        assert first.evaluate("chip => document.activeElement === chip")
        # ...and the keyboard alone opens it.
        page.keyboard.press("Tab")
        page.keyboard.press("Shift+Tab")
        assert first.evaluate("chip => document.activeElement === chip")
        page.keyboard.press("Enter")
        expect(page.locator(".px-pop:popover-open")).to_have_count(1)
        page.keyboard.press("Escape")
        expect(page.locator(".px-pop:popover-open")).to_have_count(0)

        # A follow-up suggestion asks itself.
        suggestion = page.locator(".st-key-suggest-0 button").first
        asked = suggestion.locator('[data-testid="stMarkdownContainer"]').inner_text().strip()
        assert asked.startswith("What ")
        suggestion.click()
        page.wait_for_selector(".st-key-turn-1")
        wait_idle(page)
        expect(page.locator(MESSAGES).nth(2)).to_contain_text(asked)
        shot(page, "04-suggestion-asked")

        # A reload reopens the conversation, with its settings.
        page.reload()
        page.wait_for_selector(".st-key-turn-1")
        wait_idle(page)
        expect(page.locator(MESSAGES).nth(0)).to_contain_text(EU)
        expect(page.locator(MESSAGES).nth(2)).to_contain_text(asked)
        expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("Should the European")
        shot(page, "05-reloaded")

        go_to(page, "Library")
        fp = page.locator("summary", has_text="Foreign Policy")
        article = page.locator('[data-testid="stExpander"]').filter(has=fp)
        fp.click()
        article.get_by_text("removed blocks and why").click()
        expect(article.locator('[data-testid="stDataFrame"]')).to_be_visible()
        shot(page, "06-library-cleaning")
        fp.click()
        page.get_by_text("Add an article").click()
        upload = tmp_path / "pilots.txt"
        upload.write_text(ARTICLE, encoding="utf-8")
        page.locator('input[type="file"]').set_input_files(upload)
        expect(page.get_by_text("pilots.txt")).to_be_visible()
        page.get_by_label("Title").fill("Pilots strike in Valparaiso")
        page.get_by_label("Outlet").fill("Harbour Gazette")
        page.get_by_label("Date").fill("2025-10-02")
        page.get_by_role("button", name="Add to the library").click()
        expect(page.get_by_text("ask about it in the chat now")).to_be_visible()
        wait_idle(page)

        go_to(page, "Chat")
        page.get_by_role("button", name="New chat").first.click()
        wait_idle(page)
        ask(page, "Why did the harbour pilots in Valparaiso go on strike?", 0)
        sources = page.locator(".st-key-sources-0")
        expect(sources).to_contain_text("Harbour Gazette")
        gazette = sources.locator(".px-article", has_text="Harbour Gazette")
        gazette.locator("button.px-chip").first.click()
        popover = page.locator(".px-pop:popover-open")
        expect(popover.locator("mark.px-quote")).to_be_visible()
        expect(popover).to_contain_text("<script>alert(1)</script>")  # shown, not run
        shot(page, "07-new-article-passage")
    assert_local(requests)


def test_llm_disagreement_block(store: Path) -> None:
    requests: list[str] = []
    with FakeOpenAI() as fake:

        def reply() -> Reply:
            prompt = fake.chat_requests()[-1].body["messages"][-1]["content"]
            return Reply(text=disagreement_reply(prompt))

        fake.next_reply = reply  # type: ignore[method-assign]
        llm = {"PARALLAX_LLM": "auto", "OPENAI_BASE_URL": fake.url, "OPENAI_API_KEY": KEY}
        with streamlit(store, "llm", **llm) as url, browser_page(requests) as page:
            open_app(page, url)
            expect(page.locator(".st-key-intro")).to_contain_text("where the sources disagree")
            ask(page, EU, 0)
            block = page.locator(".st-key-disagree-0")
            expect(block).to_contain_text("Where the sources disagree")
            columns = block.locator('[data-testid="stColumn"]')
            expect(columns).to_have_count(2)
            expect(columns.nth(0)).to_contain_text("The Nation")
            expect(columns.nth(1)).to_contain_text("Foreign Policy")
            chips = page.locator(f"{MESSAGES} button.px-chip[popovertarget]")
            assert chips.count() >= 4
            chips.first.click()
            expect(page.locator(".px-pop:popover-open mark.px-quote")).to_be_visible()
            shot(page, "00-llm-answer-passage")  # the README's screenshot
            page.keyboard.press("Escape")
            block.scroll_into_view_if_needed()
            shot(page, "08-llm-disagreement")
        assert fake.chat_requests()
    assert_local(requests)


# ---- a model that streams, hangs and fails ------------------------------------------------
SAMPLER = """() => {
  window.__samples = [];
  const take = () => {
    const live = document.querySelectorAll('[data-testid="stChatMessage"]');
    const last = live[live.length - 1];
    window.__samples.push({
      text: last ? last.innerText : "",
      chips: last ? last.querySelectorAll(".px-chip").length : 0,
      starters: document.querySelectorAll(".st-key-starter-0").length,
      done: document.querySelectorAll(".st-key-sources-0").length,
    });
  };
  new MutationObserver(take).observe(document.body,
    {subtree: true, childList: true, characterData: true});
}"""
PROTOCOL = ("<<<", "NOTES", '"quotes"', '"answerable"', "{", "}")


def test_streaming_never_shows_the_protocol_and_questions_queue(store: Path) -> None:
    requests: list[str] = []
    with FakeOpenAI() as fake:
        scripted(fake, {"chunk_size": 3, "chunk_delay": 0.05}, {"chunk_size": 3})
        with (
            model_app(store / "stream", "stream", fake) as url,
            browser_page(requests) as page,
        ):
            open_app(page, url)
            expect(page.locator(".st-key-intro")).to_contain_text("shows where the sources")
            picker = page.get_by_role("combobox", name="Chat model")
            expect(picker).to_have_value("gpt-4o-mini")  # ours, and the server's list:
            picker.click()
            expect(page.get_by_role("option", name="fake-model")).to_be_visible()
            page.keyboard.press("Escape")
            page.evaluate(SAMPLER)
            submit(page, DAM)
            page.wait_for_function(
                "() => window.__samples.some(s => !s.done && s.chips > 0)"
            )  # chips appear while the answer streams
            shot(page, "08-streaming")
            submit(page, "What does River Review argue about the herons?")  # while pending
            expect(page.get_by_text("Queued: asked as soon as")).to_be_visible()
            shot(page, "09-queued")
            page.wait_for_selector(".st-key-turn-1")
            wait_idle(page)
            samples = page.evaluate("window.__samples")
            streaming = [s for s in samples if not s["done"] and s["text"].strip()]
            assert len({s["text"] for s in streaming}) >= 5  # seen mid-stream, many times
            for sample in samples:
                assert not any(p in sample["text"] for p in PROTOCOL), sample["text"]
            assert all(s["starters"] == 0 for s in streaming)  # gone once a question is asked
            messages = page.locator(MESSAGES)
            expect(messages.nth(2)).to_contain_text("herons")
            expect(page.locator(".st-key-sources-1")).to_contain_text("River Review")  # answered
            shot(page, "10-queued-answered")
    assert_local(requests)


def test_hung_model_shows_time_stops_and_retries(store: Path) -> None:
    requests: list[str] = []
    with FakeOpenAI() as fake:
        scripted(
            fake,
            {"chunk_size": 4, "stall_after": 40, "stall": 600},  # writes, then hangs
            {"stall_after": 0, "stall": 600},  # hangs before writing
            {},  # the server is back: Retry succeeds
            {"error": 503},  # down: "show the passages instead"
        )
        with model_app(store / "hung", "hung", fake) as url, browser_page(requests) as page:
            open_app(page, url)
            submit(page, DAM)
            status = page.locator(".px-status")
            expect(status).to_have_text(re.compile(r"Writing… ([3-9]|\d\d+) s"))
            shot(page, "11-hung-elapsed")
            page.locator(".st-key-stop button").click()
            incomplete = page.get_by_text("Incomplete answer")
            expect(incomplete).to_be_visible()
            wait_idle(page)
            expect(page.locator(MESSAGES).nth(1)).to_contain_text("makes one case")
            shot(page, "12-stopped-partial")

            submit(page, "Why did the Ostrava council delay the dam vote?")
            expect(status).to_have_text(re.compile(r"Asking the model… ([3-9]|\d\d+) s"))
            page.locator(".st-key-stop button").click()
            expect(page.get_by_text("Stopped before the model wrote anything")).to_be_visible()
            wait_idle(page)
            shot(page, "13-stopped-error-retry")
            page.locator(".st-key-retry-1 button").click()
            page.wait_for_selector(".st-key-sources-1")
            wait_idle(page)
            expect(page.locator(".st-key-failed-1")).to_have_count(0)
            shot(page, "14-retry-succeeded")

            submit(page, "What does River Review argue about the Ostrava dam?")
            page.wait_for_selector(".st-key-failed-2")
            wait_idle(page)
            expect(page.locator(".st-key-failed-2")).to_contain_text("Retry")
            shot(page, "15-model-error")
            page.locator(".st-key-quotes-2 button").click()
            page.wait_for_selector(".st-key-sources-2")
            wait_idle(page)
            expect(page.locator(MESSAGES).nth(5)).to_contain_text("extractive")
            shot(page, "16-passages-instead")
    assert_local(requests)


def test_phone_width_and_the_key_never_shown(store: Path) -> None:
    """390 px wide: no horizontal scroll, chips still open. A server that echoes the
    Authorization header into its answer shows no key, on the page or in the export."""
    requests: list[str] = []
    with FakeOpenAI() as fake:

        def echo() -> Reply:
            auth = fake.chat_requests()[-1].headers["authorization"]
            return reply_citing(fake, text=f"The server saw {auth} here [1] and there [2].")

        fake.next_reply = echo  # type: ignore[method-assign]
        with (
            model_app(store / "phone", "phone", fake) as url,
            browser_page(requests, width=390, height=844) as page,
        ):
            open_app(page, url)
            assert no_horizontal_scroll(page)
            shot(page, "17-phone-start")
            ask(page, DAM, 0)
            assert no_horizontal_scroll(page)
            body = page.locator("body").inner_text()
            assert KEY not in body and "[redacted]" in body
            page.locator(".st-key-sources-0").scroll_into_view_if_needed()
            shot(page, "18-phone-answer")
            # The sentence is not what its passages say: it is marked, its chips still open.
            expect(page.locator(MESSAGES).nth(1).locator(".px-unsupported")).to_have_count(1)
            page.locator(MESSAGES).nth(1).locator("button.px-chip").first.click()
            expect(page.locator(".px-pop:popover-open .px-passage")).to_be_visible()
            expect(page.locator(".px-pop:popover-open")).to_contain_text("treat the claim")
            assert no_horizontal_scroll(page)
            shot(page, "19-phone-passage")
            page.keyboard.press("Escape")
            with page.expect_download() as download:
                page.get_by_role("button", name="Export as Markdown").click()
            exported = Path(download.value.path()).read_text(encoding="utf-8")
            (ARTIFACTS / "export-phone.md").write_text(exported, encoding="utf-8")
        assert KEY not in exported and "Bearer \\[redacted\\]" in exported
        assert "- Mode: LLM" in exported and "- Model: gpt-4o-mini" in exported
    assert_local(requests)


# ---- links and exports that must not become markup ----------------------------------------
class RequestLog:
    """A server on 127.0.0.1 that records every request: anything fetched from it is a leak."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        log = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                log.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def hostile(self, where: str) -> str:
        """Text that fetches from this server if any of it becomes markup."""
        return (
            f"\n![x]({self.url}/{where}-md-image)\n<img src={self.url}/{where}-html-image>"
            f'<script>fetch("{self.url}/{where}-script")</script>'
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def request_log() -> Iterator[RequestLog]:
    log = RequestLog()
    yield log
    log.close()


def test_a_metadata_url_with_newlines_fetches_nothing(store: Path, request_log: RequestLog) -> None:
    articles = store / "hostile-articles"
    articles.mkdir()
    (articles / "harbour.txt").write_text(ARTICLE, encoding="utf-8")
    url = "https://example.org/a" + request_log.hostile("url")
    toml = {"id": "harbour", "title": "Harbour strike", "outlet": "Gazette", "url": url}
    lines = "\n".join(f"{k} = {json.dumps(v)}" for k, v in toml.items())
    (articles / "sources.toml").write_text(f"[[source]]\n{lines}\n", encoding="utf-8")
    requests: list[str] = []
    with (
        streamlit(
            store / "hostile",
            "hostile",
            PARALLAX_ARTICLES_DIR=str(articles),
        ) as app,
        browser_page(requests) as page,
    ):
        open_app(page, app)
        ask(page, "Why did the harbour pilots go on strike?", 0)
        expect(page.locator(".st-key-sources-0")).to_contain_text("Gazette")
        shot(page, "20-hostile-url-sources")
        go_to(page, "Library")
        page.locator("summary", has_text="Gazette").click()
        wait_idle(page)
        shot(page, "21-hostile-url-library")
        assert page.locator('[data-testid="stMain"] img').count() == 0
        links = page.locator('[data-testid="stMain"] a[href]').evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
        assert all(request_log.url not in href for href in links)
    assert request_log.paths == []
    assert_local(requests)


def test_the_export_rendered_in_a_browser_fetches_and_runs_nothing(
    request_log: RequestLog,
) -> None:
    hostile = request_log.hostile
    source = Source("a", f"Title {hostile('title')}", f"Outlet {hostile('outlet')}")
    passage = Passage("a:0", source, f"Passage {hostile('passage')}", 0, 10)
    answer = Answer(
        question=f"Question {hostile('question')}",
        text=f"Model text {hostile('answer')} [1]\n\n[r]: {request_log.url}/ref-def\n\n[r]",
        citations=[Citation(1, passage, f"Quote {hostile('quote')}", True)],
        disagreements=[],
        answerable=True,
        mode="llm",
        model=f"model {hostile('model')}",
        notice=f"Notice {hostile('notice')}",
    )
    header = ExportHeader(datetime.now(UTC), "llm", answer.model, [f"S {hostile('sources')}"])
    # The worst viewer: CommonMark with raw HTML allowed.
    html = MarkdownIt("commonmark", {"html": True}).render(conversation_markdown([answer], header))
    requests: list[str] = []
    with browser_page(requests) as page:
        page.set_content(f"<html><body>{html}</body></html>", wait_until="load")
        assert page.locator("img, script").count() == 0
        assert page.locator(f'a[href^="{request_log.url}"]').count() == 0
        expect(page.locator("body")).to_contain_text("<script>")  # shown as text
    assert request_log.paths == []
