"""The app as a reader meets it: `streamlit run` driven by a real Chromium, offline.

Every request the page makes must stay on this machine. Screenshots of each step land in
tests/artifacts/ for a human to look at.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from assistant.settings import REPO_ROOT
from tests.fake_openai import FakeOpenAI, Reply
from tests.processes import clean_env, streamlit_app
from tests.test_ui_apptest import EU, disagreement_reply

pytestmark = pytest.mark.browser

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
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
LOCAL = {"127.0.0.1", "localhost"}
ARTICLE = (
    "Harbour pilots in Valparaiso went on strike on Monday over new rules for tug crews.\n\n"
    "The pilots' union said the rules would leave ships without enough tugs in bad weather. "
    "A union post read <script>alert(1)</script> before it was taken down.\n\n"
    "Port officials said twelve cargo ships were waiting outside the harbour.\n"
)


@contextmanager
def streamlit(store: Path, name: str, **env: str) -> Iterator[str]:
    """`streamlit run ui/app.py` on a free port, from a folder without a .env."""
    clean = clean_env(
        **{
            "PARALLAX_CHROMA_PATH": str(store / "chroma"),
            "PARALLAX_LIBRARY_DIR": str(store / "library"),
            "PARALLAX_LLM": "off",
            "PARALLAX_LLM_MAX_RETRIES": "0",
            **env,
        }
    )
    with streamlit_app(
        [sys.executable, "-m", "streamlit"],
        REPO_ROOT / "ui" / "app.py",
        log_path=ARTIFACTS / f"streamlit-{name}.log",
        cwd=store,
        env=clean,
    ) as (url, _):
        yield url


@contextmanager
def browser_page(requests: list[str]) -> Iterator[Page]:
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)"
    )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1800})
        page.on("request", lambda r: requests.append(r.url))
        page.on("websocket", lambda ws: requests.append(ws.url))
        page.on("dialog", lambda d: pytest.fail(f"a dialog opened: {d.message}"))
        page.set_default_timeout(120_000)
        try:
            yield page
        finally:
            browser.close()


def shot(page: Page, name: str) -> None:
    page.wait_for_timeout(300)  # let the last delta paint
    page.screenshot(path=ARTIFACTS / f"{name}.png")


def wait_idle(page: Page) -> None:
    page.wait_for_selector(IDLE)


def ask(page: Page, question: str, turn: int) -> None:
    """Type, press Enter, wait until this turn's answer is drawn and the script is idle."""
    box = page.locator('[data-testid="stChatInput"] textarea')
    box.fill(question)
    box.press("Enter")
    page.wait_for_selector(f".st-key-sources-{turn}")
    wait_idle(page)


def assert_local(requests: list[str]) -> None:
    assert requests
    remote = [u for u in requests if urlparse(u).scheme not in ("data", "blob")]
    outside = [u for u in remote if urlparse(u).hostname not in LOCAL]
    assert not outside, f"requests left the machine: {outside}"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return tmp_path_factory.mktemp("browser-store")


def test_extractive_chat_sources_and_upload(store: Path, tmp_path: Path) -> None:
    requests: list[str] = []
    started = time.monotonic()
    with streamlit(store, "extractive") as url, browser_page(requests) as page:
        page.goto(url)
        page.wait_for_selector('[data-testid="stChatInput"] textarea')
        wait_idle(page)
        expect(page.get_by_text("No language model is configured")).to_be_visible()
        shot(page, "01-start")

        ask(page, EU, 0)
        first_answer = time.monotonic() - started
        (ARTIFACTS / "timing.txt").write_text(
            f"streamlit run -> first answer: {first_answer:.1f} s\n"
        )
        answer = page.locator('[data-testid="stChatMessage"]').nth(1)
        assert answer.locator(".px-chip").count() >= 2
        outlets = answer.locator("h4").all_inner_texts()  # the per-outlet view
        assert len(outlets) >= 2 and any("The Nation" in o for o in outlets)
        sources = page.locator(".st-key-sources-0")
        expect(sources).to_contain_text("The Nation")
        expect(sources.locator("a", has_text="original")).not_to_have_count(0)
        assert page.locator(".st-key-disagree-0").count() == 0  # extractive: none claimed
        shot(page, "02-answer")

        sources.locator('[data-testid="stPopover"] button').first.click()
        mark = page.locator("mark.px-quote").first
        expect(mark).to_be_visible()
        assert len(mark.inner_text()) > 20
        shot(page, "03-passage")
        page.keyboard.press("Escape")

        page.get_by_role("link", name="Library").click()
        fp = page.locator("summary", has_text="Foreign Policy")
        article = page.locator('[data-testid="stExpander"]').filter(has=fp)
        fp.click()
        article.get_by_text("removed blocks and why").click()
        expect(article.locator('[data-testid="stDataFrame"]')).to_be_visible()
        shot(page, "04-library-cleaning")
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
        shot(page, "05-library-added")

        page.get_by_role("link", name="Chat").click()
        wait_idle(page)
        ask(page, "Why did the harbour pilots in Valparaiso go on strike?", 1)
        sources = page.locator(".st-key-sources-1")
        expect(sources).to_contain_text("Harbour Gazette")
        shot(page, "06-new-article-answer")
        gazette = sources.locator('[data-testid="stHorizontalBlock"]', has_text="Harbour Gazette")
        gazette.first.locator('[data-testid="stPopover"] button').click()
        popover = page.locator('[data-testid="stPopoverBody"]')
        expect(popover.locator("mark.px-quote")).to_be_visible()
        expect(popover).to_contain_text("<script>alert(1)</script>")  # shown, not run
        shot(page, "07-new-article-passage")
    assert_local(requests)
    print(f"streamlit run -> first answer: {first_answer:.1f} s")


def test_llm_disagreement_block(store: Path) -> None:
    requests: list[str] = []
    with FakeOpenAI() as fake:

        def reply() -> Reply:
            prompt = fake.chat_requests()[-1].body["messages"][-1]["content"]
            return Reply(text=disagreement_reply(prompt))

        fake.next_reply = reply  # type: ignore[method-assign]
        llm = {"PARALLAX_LLM": "auto", "OPENAI_BASE_URL": fake.url, "OPENAI_API_KEY": "test-key"}
        with streamlit(store, "llm", **llm) as url, browser_page(requests) as page:
            page.goto(url)
            page.wait_for_selector('[data-testid="stChatInput"] textarea')
            wait_idle(page)
            expect(page.get_by_text("No language model is configured")).to_have_count(0)
            ask(page, EU, 0)
            block = page.locator(".st-key-disagree-0")
            expect(block).to_contain_text("Where the sources disagree")
            columns = block.locator('[data-testid="stColumn"]')
            expect(columns).to_have_count(2)
            expect(columns.nth(0)).to_contain_text("The Nation")
            expect(columns.nth(1)).to_contain_text("Foreign Policy")
            assert page.locator('[data-testid="stChatMessage"] .px-chip').count() >= 4
            block.scroll_into_view_if_needed()
            shot(page, "08-llm-disagreement")
        assert fake.chat_requests()
    assert_local(requests)
