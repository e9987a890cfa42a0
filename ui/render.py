"""Safe rendering of answers: citation chips, sources with their quotes, disagreements.

Article and model text is untrusted: every string is HTML-escaped and stripped of markdown
link, image, directive and math syntax before our own markup (chips, <mark>) is added.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from urllib.parse import urlparse

import streamlit as st

from assistant import Answer, Citation, Disagreement, text_fragment_url

CSS = """
<style>
.px-chip{display:inline-block;min-width:1.3em;padding:0 .38em;margin:0 .08em;border-radius:.7em;
 font-size:.72em;font-weight:600;line-height:1.5;text-align:center;vertical-align:.12em;
 background:rgba(28,131,225,.12);color:#1c6fd1;border:1px solid rgba(28,131,225,.35);cursor:help}
.px-chip.px-missing{background:rgba(128,128,128,.12);color:gray;border-color:rgba(128,128,128,.4)}
mark.px-quote{background:#ffe58a;color:#1f1f1f;padding:.05em .15em;border-radius:.2em}
.px-unverified{color:#b54708;font-weight:600;font-size:.85em;white-space:nowrap}
[data-testid="stChatMessageContent"] h3{font-size:1.2rem;padding-top:.4rem}
[data-testid="stChatMessageContent"] h4{font-size:1.02rem;padding-top:.3rem}
.px-meta{color:rgba(120,120,120,1);font-size:.9em}
</style>
"""

_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# Plain text: every markdown punctuation mark, so nothing in it can become markup.
_PLAIN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:=])")
# Model markdown keeps emphasis, lists and headings; loses links, images, directives, math.
_MARKDOWN = re.compile(r"([\\\[\]$])")
_ESCAPED_MARKER = re.compile(r"\\\[(\d+)\\\]")
_DISAGREE_HEADING = re.compile(
    r"^(#{1,6}[ \t]*|\*\*)where the sources disagree:?(\*\*)?:?[ \t]*$", re.I | re.M
)


def count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def _escape(text: str) -> str:
    return _PLAIN.sub(r"\\\1", text.translate(_HTML))


def plain(text: str) -> str:
    """Untrusted text as markdown that renders as exactly that text (lines kept, no markup)."""
    return "  \n".join(_escape(line.strip()) for line in text.split("\n"))


def safe_markdown(text: str) -> str:
    """Untrusted markdown with its formatting but without HTML, links or images."""
    return _MARKDOWN.sub(r"\\\1", text.translate(_HTML))


def safe_stream(pieces: Iterable[str]) -> Iterator[str]:
    """Streamed pieces escaped one by one (the escaping is per character, so it composes)."""
    for piece in pieces:
        yield safe_markdown(piece)


def http_url(url: str | None) -> str | None:
    """Only web links are rendered: an article's metadata could say `javascript:`."""
    return url if url and urlparse(url).scheme in ("http", "https") else None


def chip(n: int, citation: Citation | None) -> str:
    if citation is None:
        return f'<span class="px-chip px-missing">{n}</span>'
    tip = html.escape(f"{citation.source.outlet} — {citation.source.title}", quote=True)
    return f'<span class="px-chip" title="{tip}">{n}</span>'


def with_chips(text: str, answer: Answer) -> str:
    """Escape the answer text, then turn its [n] markers into chips."""
    by_n = {c.n: c for c in answer.citations}
    return _ESCAPED_MARKER.sub(lambda m: chip(int(m[1]), by_n.get(int(m[1]))), safe_markdown(text))


def without_disagreement_section(text: str) -> str:
    """The model's own disagreement section, which the structured block below replaces."""
    found = _DISAGREE_HEADING.search(text)
    if found is None:
        return text
    level = found.group(1).count("#") or 6
    after = re.compile(rf"^#{{1,{level}}}[ \t]", re.M).search(text, found.end())
    return text[: found.start()].rstrip() + ("\n\n" + text[after.start() :] if after else "")


def highlighted(text: str, span: tuple[int, int] | None) -> str:
    """The passage, escaped, with the verified quote's span (from the verification itself)
    wrapped in <mark>."""
    if span is None:
        return _escape(text.strip()).replace("\n", "<br>")
    start, end = span
    parts = (_escape(text[:start].lstrip()), _escape(text[start:end]), _escape(text[end:].rstrip()))
    return f'{parts[0]}<mark class="px-quote">{parts[1]}</mark>{parts[2]}'.replace("\n", "<br>")


def byline(citation: Citation) -> str:
    parts = [f"**{plain(citation.source.outlet)}**", f"*{plain(citation.source.title)}*"]
    parts += [plain(x) for x in (citation.source.author, citation.source.published) if x]
    return " · ".join(parts)


def answer_body(answer: Answer) -> None:
    """The answer text with chips, or a clear reply when the articles do not cover it."""
    if not answer.text.strip():
        st.warning(
            "The model returned an empty answer. Ask again or rephrase the question.",
            icon=":material/warning:",
        )
        return
    if not answer.answerable:
        st.info(
            "**Not covered by these articles.** " + safe_markdown(answer.text.strip()),
            icon=":material/search_off:",
        )
        return
    body = without_disagreement_section(answer.text) if answer.disagreements else answer.text
    st.markdown(with_chips(body, answer), unsafe_allow_html=True, anchors=False)


def sources(answer: Answer, key: str) -> None:
    """Each cited source with a link to the original and, one click away, its passage."""
    if not answer.citations:
        return
    with st.container(key=f"sources-{key}"):
        st.markdown("**Sources**")
        for c in answer.citations:
            left, right = st.columns([0.8, 0.2], vertical_alignment="center")
            link = http_url(text_fragment_url(c))
            line = f"{chip(c.n, c)} {byline(c)}"
            if link:
                href = html.escape(link, quote=True)
                line += f' · <a href="{href}" target="_blank" rel="noopener">original ↗</a>'
            if not c.verified:
                line += ' <span class="px-unverified">⚠ quote not verified</span>'
            left.markdown(line, unsafe_allow_html=True)
            with right.popover("Passage", icon=":material/format_quote:", key=f"pop-{key}-{c.n}"):
                passage_view(answer, c)


def passage_view(answer: Answer, citation: Citation) -> None:
    st.markdown(f"{chip(citation.n, citation)} {byline(citation)}", unsafe_allow_html=True)
    passage = citation.passage
    if citation.verified:
        st.caption("The highlighted quote was found in the article's text.")
    else:
        st.warning(
            "This quote could not be found in the passage: treat the claim it supports with care.",
            icon=":material/warning:",
        )
        if citation.quote:
            st.markdown(f"Quoted as: “{plain(citation.quote)}”", unsafe_allow_html=True)
    st.markdown(highlighted(passage.text, citation.span), unsafe_allow_html=True)


def disagreements(answer: Answer, key: str) -> None:
    """A distinct block with each side of each disagreement in its own column."""
    if not answer.disagreements:
        return
    by_n = {c.n: c for c in answer.citations}
    with st.container(border=True, key=f"disagree-{key}"):
        st.markdown("#### :material/balance: Where the sources disagree", anchors=False)
        for d in answer.disagreements:
            disagreement(d, by_n)


def disagreement(d: Disagreement, by_n: dict[int, Citation]) -> None:
    if d.topic:
        st.markdown(f"*{plain(d.topic)}*", unsafe_allow_html=True)
    for column, position in zip(st.columns(len(d.positions)), d.positions, strict=True):
        with column, st.container(border=True):
            chips = "".join(chip(n, by_n.get(n)) for n in position.citations)
            st.markdown(f"**{plain(position.outlet)}** {chips}", unsafe_allow_html=True)
            st.markdown(plain(position.summary), unsafe_allow_html=True)
            for n in position.citations:
                if (c := by_n.get(n)) and c.quote:
                    st.markdown(
                        f'<span class="px-meta">“{plain(c.quote)}”</span>',
                        unsafe_allow_html=True,
                    )


def footer(answer: Answer) -> None:
    seconds = sum(answer.timings.values())
    who = f"{answer.model}" if answer.mode == "llm" else "extractive"
    st.caption(f"{who} · {count(len(answer.passages), 'passage')} · {seconds:.1f} s")


def answer(answer: Answer, key: str) -> None:
    """Everything under one answer; used live and when the conversation is redrawn."""
    answer_body(answer)
    if answer.incomplete and answer.notice:
        st.warning(safe_markdown(answer.notice), icon=":material/warning:")
    disagreements(answer, key)
    sources(answer, key)
    footer(answer)
