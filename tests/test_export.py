"""Links to the original article and the Markdown export: header, notice once, nothing that
is not Parallax's own markup, and never the API key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from markdown_it import MarkdownIt

from assistant import (
    Answer,
    Citation,
    ExportHeader,
    conversation_markdown,
    redact,
    safe_url,
    text_fragment_url,
)
from assistant.export import UNSUPPORTED_MARK
from assistant.records import Passage, Source

KEY = "sk-test-0123456789abcdef"
NOTICE = "Extractive answer: quoted, not written."


def citation(
    quote: str,
    url: str | None = "https://example.org/a#top",
    verified: bool = True,
    n: int = 1,
    **source: str,
) -> Citation:
    meta = {
        "id": "a",
        "title": "A title",
        "outlet": "The Outlet",
        "author": "Ann Author",
        "published": "2025-05-21",
        **source,
    }
    passage = Passage(
        chunk_id="a:0000:x", source=Source(url=url, **meta), text=quote, start=0, end=9
    )
    return Citation(n=n, passage=passage, quote=quote, verified=verified)


def answer(text: str, *citations: Citation, **fields: object) -> Answer:
    values: dict[str, object] = {
        "question": "Is time on Russia's side?",
        "text": text,
        "citations": list(citations),
        "disagreements": [],
        "answerable": True,
        "mode": "extractive",
        "model": None,
        "notice": NOTICE,
        **fields,
    }
    return Answer(**values)  # type: ignore[arg-type]


def test_short_quote_is_the_whole_text_fragment() -> None:
    url = text_fragment_url(citation("time is on Russia’s side"))
    assert url == "https://example.org/a#:~:text=time%20is%20on%20Russia%E2%80%99s%20side"


def test_long_quote_becomes_a_start_and_end_fragment() -> None:
    quote = "one two three four five six seven eight nine ten"
    assert text_fragment_url(citation(quote)) == (
        "https://example.org/a#:~:text=one%20two%20three%20four,seven%20eight%20nine%20ten"
    )


def test_no_url_no_link() -> None:
    assert text_fragment_url(citation("anything", url=None)) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/a\n![x](http://127.0.0.1:9/img)",
        "https://example.org/a b",
        "https://example.org/a\u2028",
        'https://example.org/"><img src=x>',
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "https://",
        "//example.org/a",
    ],
)
def test_a_url_that_could_become_markup_is_no_link(url: str) -> None:
    assert safe_url(url) is None
    assert text_fragment_url(citation("quote", url=url)) is None


def test_plain_web_urls_pass() -> None:
    assert safe_url("https://example.org/a?b=c#d") == "https://example.org/a?b=c#d"
    assert safe_url("http://127.0.0.1:8000/x") == "http://127.0.0.1:8000/x"


def test_export_has_a_header_numbered_references_and_the_notice_once() -> None:
    header = ExportHeader(
        exported_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
        mode="llm",
        model="gpt-test",
        sources=["The Outlet — A title"],
    )
    first = answer("Lieven says so [1].", citation("time is on Russia’s side", verified=False))
    second = answer("Again [1].", citation("time is on Russia’s side"), question="And now?")
    markdown = conversation_markdown([first, second], header)
    assert "- Exported: 2026-01-02 03:04 UTC" in markdown
    assert "- Mode: LLM" in markdown and "- Model: gpt-test" in markdown
    assert "- Sources: The Outlet — A title" in markdown
    assert markdown.count(NOTICE) == 1
    assert "## Is time on Russia's side?" in markdown and "## And now?" in markdown
    assert "Lieven says so [1]." in markdown
    assert (
        "1. The Outlet, *A title* (Ann Author, 2025-05-21): “time is on Russia’s side”" in markdown
    )
    assert "(not verified)" in markdown and "<https://example.org/a#top>" in markdown


def test_a_sentence_no_source_supports_is_marked_in_the_export() -> None:
    marked = answer("Lieven says so [1]. Nobody does [1].", citation("q", verified=False))
    marked.unsupported = [(20, len(marked.text))]
    markdown = conversation_markdown([marked])
    assert f"Lieven says so [1]. Nobody does [1].{UNSUPPORTED_MARK}" in markdown
    assert markdown.count(UNSUPPORTED_MARK) == 1


def test_an_incomplete_answer_says_so_in_the_export() -> None:
    stopped = answer("Half [1]", citation("q"), incomplete=True, notice="Stopped early.")
    markdown = conversation_markdown([stopped])
    assert "> Incomplete answer: Stopped early." in markdown


def test_the_key_is_scrubbed_from_every_part_of_the_export() -> None:
    echoed = answer(
        f"The server said Bearer {KEY} [1].",
        citation(f"key {KEY}", title=f"Title {KEY}"),
        question=f"What is {KEY}?",
        notice=f"Notice with {KEY}",
    )
    header = ExportHeader(datetime.now(UTC), "llm", f"model-{KEY}", [f"source {KEY}"])
    markdown = conversation_markdown([echoed], header, secrets=(KEY,))
    assert KEY not in markdown
    assert markdown.count("[redacted]") >= 5


def test_redact_leaves_text_without_secrets_alone() -> None:
    assert redact("nothing to hide", (KEY, "")) == "nothing to hide"
    assert redact(f"a{KEY}b", (KEY,)) == "a[redacted]b"


HOSTILE = "<script>alert(1)</script> <img src=http://127.0.0.1:9/i> ![x](http://127.0.0.1:9/m)"


def test_nothing_from_articles_or_models_becomes_html() -> None:
    """Rendered by a CommonMark viewer that allows raw HTML, the export holds only
    Parallax's own markup: no element from the answer, the metadata or the quotes."""
    hostile = answer(
        f"Model text {HOSTILE} [1]\n\n[ref]: http://127.0.0.1:9/r\n\n[ref] &#60;b&#62;",
        citation(f"quote {HOSTILE}", title=f"Title {HOSTILE}", outlet=f"Out {HOSTILE}"),
        question=f"Question {HOSTILE}",
    )
    header = ExportHeader(datetime.now(UTC), "llm", f"m {HOSTILE}", [f"s {HOSTILE}"])
    rendered = MarkdownIt("commonmark").render(conversation_markdown([hostile], header))
    for tag in ("<script", "<img", "<b>", 'href="http://127.0.0.1'):
        assert tag not in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered  # shown as text
