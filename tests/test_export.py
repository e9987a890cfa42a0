"""Links to the original article and the Markdown export."""

from __future__ import annotations

from assistant import Answer, Citation, conversation_markdown, text_fragment_url
from tests.evidence import make_citation, make_passage


def citation(
    quote: str, url: str | None = "https://example.org/a#top", verified: bool = True
) -> Citation:
    passage = make_passage("a:0000:x", quote, author="Ann Author", published="2025-05-21", url=url)
    return make_citation(quote, passage, verified=verified)


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


def test_export_lists_each_answer_with_numbered_references() -> None:
    answer = Answer(
        question="Is time on Russia's side?",
        text="Lieven says so [1].",
        citations=[citation("time is on Russia’s side", verified=False)],
        disagreements=[],
        answerable=True,
        mode="extractive",
        model=None,
        notice="Extractive answer.",
    )
    markdown = conversation_markdown([answer])
    assert "## Is time on Russia's side?" in markdown
    assert "Lieven says so [1]." in markdown
    assert (
        "1. The Outlet, *A title* (Ann Author, 2025-05-21): “time is on Russia’s side”" in markdown
    )
    assert "(quote not verified)" in markdown and "<https://example.org/a#top>" in markdown
