"""The HTML the app draws around untrusted text: chips, passages, sources, links."""

from __future__ import annotations

import re

from assistant.records import Answer, Citation, Passage, Source
from ui import render

HOSTILE = '<img src=x onerror="alert(1)"> [x](javascript:alert(1)) **b** :red[c] $m$'
NATION = Source("nation", "Talks now", "The Nation", "A. Writer", "2025-05-01", "https://e.org/n")
TEXT = "Before the quote. The EU should wait. After the quote."


def answer() -> Answer:
    first = Passage("nation:0", NATION, TEXT, 0, len(TEXT))
    second = Passage("nation:1", NATION, f"Second passage {HOSTILE}.", 60, 120)
    citations = [
        Citation(1, first, "The EU should wait.", True, (18, 37)),
        Citation(2, second, f"Second passage {HOSTILE}", False),
    ]
    return Answer(
        "Q?", "It says so [1] and [2] [3].", citations, [], True, "llm", "m", [first, second]
    )


def test_chips_open_their_passage_and_a_marker_without_citation_opens_nothing() -> None:
    body = render.answer_body(answer(), "7")
    assert body is not None
    assert re.findall(r'popovertarget="px-pop-7-(\d)"', body) == ["1", "2"]
    assert 'class="px-chip px-missing"' in body  # [3] cites nothing


def test_streaming_chips_look_the_same_and_open_nothing() -> None:
    live = render.with_chips("Partial [1] text [2", None, None)
    assert live.count('class="px-chip"') == 1 and "popovertarget" not in live


def test_sources_list_each_article_once_with_its_passages() -> None:
    html = render.sources_html(answer(), "0", removed=())
    assert html.count('class="px-article"') == 1
    assert html.count('<div id="px-pop-0-') == 2
    assert '<mark class="px-quote">The EU should wait.</mark>' in html
    assert 'href="https://e.org/n#:~:text=The%20EU%20should%20wait."' in html
    assert "⚠ not verified" in html


def test_the_html_is_one_block_whatever_the_text_holds() -> None:
    broken = Passage("nation:2", NATION, "Title\n\nFirst line.", 0, 20)
    quoted = Answer(
        "Q?", "[1]", [Citation(1, broken, "Title\n\nFirst line.", True)], [], True, "llm", "m"
    )
    assert "\n" not in render.sources_html(quoted, "0", removed=())


def test_untrusted_text_stays_text_in_every_parser() -> None:
    html = render.sources_html(answer(), "0", removed=())
    for raw in ("<img", "[x](", "**b**", ":red[", "$m$", 'onerror="'):
        assert raw not in html
    assert "&#60;img src=x onerror=&#34;alert&#40;1&#41;&#34;&#62;" in html


def test_a_removed_article_keeps_its_quotes_marked_and_loses_its_link() -> None:
    html = render.sources_html(answer(), "0", removed={"nation"})
    assert "removed from the library" in html
    assert "From an article since removed from the library." in html
    assert '<mark class="px-quote">The EU should wait.</mark>' in html
    assert "href=" not in html


def test_links_only_to_plain_web_addresses() -> None:
    assert render.link("https://e.org/a?b=1&c=2", "x") == (
        '<a href="https://e.org/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">x</a>'
    )
    for url in ("https://e.org/a\n<img src=x>", "javascript:alert(1)", 'https://e.org/"x', None):
        assert render.link(url, "x") == ""


def test_labels_read_as_plain_text() -> None:
    assert render.label("**The Nation** · *Talks*\n[now]") == "The Nation · Talks now"


def test_a_sentence_no_cited_passage_supports_is_marked_where_it_ends() -> None:
    a = answer()
    a.text = "It says so [1]. Nobody says this [2]."
    a.unsupported = [(16, len(a.text))]
    body = render.answer_body(a, "t") or ""
    assert body.count(render.UNSUPPORTED_HTML) == 1
    assert body.endswith("</button>." + render.UNSUPPORTED_HTML)  # after its chip, once
    assert render.UNSUPPORTED_HTML not in (render.answer_body(answer(), "t") or "")
