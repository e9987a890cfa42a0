"""Safe rendering of answers: citation chips, the passage they open, sources, disagreements.

Article and model text is untrusted: every string is HTML-escaped and stripped of markdown
link, image, directive and math syntax before our own markup (chips, <mark>) is added.

A chip is a <button> that opens its passage as a native HTML popover (`popovertarget`):
click or Enter opens it, Esc closes it and the browser returns focus to the chip, with no
script and no rerun. The same chips are drawn while the answer streams, so the text is never
redrawn differently once it is complete.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection

import streamlit as st

from assistant import (
    EXTRACTIVE_NOTICE,
    Answer,
    Citation,
    Disagreement,
    Source,
    safe_url,
    text_fragment_url,
)

CSS = """
<style>
.px-chip{display:inline-block;min-width:1.3em;padding:0 .38em;margin:0 .08em;border-radius:.7em;
 font:inherit;font-size:.72em;font-weight:600;line-height:1.5;text-align:center;vertical-align:.12em;
 background:rgba(28,131,225,.12);color:#1c6fd1;border:1px solid rgba(28,131,225,.35);cursor:pointer}
.px-chip:focus-visible{outline:2px solid #1c6fd1;outline-offset:1px}
.px-chip.px-missing{background:rgba(128,128,128,.12);color:gray;border-color:rgba(128,128,128,.4);
 cursor:default}
mark.px-quote{background:#ffe58a;color:#1f1f1f;padding:.05em .15em;border-radius:.2em}
.px-unverified,.px-removed,.px-unsupported{color:#b54708;font-weight:600;font-size:.85em}
[data-testid="stChatMessageContent"] h3{font-size:1.2rem;padding-top:.4rem}
[data-testid="stChatMessageContent"] h4{font-size:1.02rem;padding-top:.3rem}
.px-meta{color:rgba(120,120,120,1);font-size:.9em}
.px-pop{max-width:min(40rem,calc(100vw - 2rem));max-height:min(80vh,40rem);overflow:auto;
 padding:1rem 1.2rem;border:1px solid rgba(128,128,128,.4);border-radius:.6rem;
 box-shadow:0 8px 30px rgba(0,0,0,.25);font-size:.95rem;line-height:1.5}
.px-pop::backdrop{background:rgba(0,0,0,.2)}
.px-pop-head{margin-bottom:.5rem}
.px-pop-close{float:right;border:0;background:none;font-size:1.2rem;cursor:pointer;color:inherit}
.px-passage{margin:.5rem 0}
.px-sources{font-size:.92rem}
.px-article{padding:.35rem 0;border-top:1px solid rgba(128,128,128,.2);overflow-wrap:anywhere}
.px-cite{display:block;margin:.15rem 0 0 .2rem;color:rgba(110,110,110,1);font-size:.9em;
 overflow:hidden;text-overflow:ellipsis;display:-webkit-box;-webkit-line-clamp:2;
 -webkit-box-orient:vertical}
.px-status{color:rgba(110,110,110,1);font-size:.9em}
[data-testid="stMain"]{overflow-x:hidden}
</style>
"""

_ENTITIES = str.maketrans(
    {"\n": " ", "\r": " ", **{c: f"&#{ord(c)};" for c in "&<>\"'\\`*_[]()!#|~$:{}"}}
)
_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# Plain text: every markdown punctuation mark, so nothing in it can become markup.
_PLAIN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:=])")
# Model markdown keeps emphasis, lists and headings; loses links, images, directives, math.
_MARKDOWN = re.compile(r"([\\\[\]$:])")
# Where a sentence none of its citations supports ends: a private-use character that
# markdown escaping leaves alone, replaced by the mark once the text is escaped.
_UNSUPPORTED = "\ue000"
UNSUPPORTED_HTML = (
    '<span class="px-unsupported" title="Parallax did not find this sentence in the passages '
    'it cites: check it against them.">⚠ not supported by its sources</span>'
)
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


def label(text: str) -> str:
    """A widget label that screen readers read as the text itself: one line, no markup."""
    return " ".join(text.translate(str.maketrans("*_`[]<>$", "        ")).split())


def esc(text: str) -> str:
    """Untrusted text inside our own HTML: markup characters of HTML and of markdown as
    entities, so the text stays text whichever parser reads it; on one line, as a blank line
    would end the HTML block it sits in."""
    return text.translate(_ENTITIES)


def safe_markdown(text: str) -> str:
    """Untrusted markdown with its formatting but without HTML, links or images."""
    return _MARKDOWN.sub(r"\\\1", text.translate(_HTML))


def link(url: str | None, text: str) -> str:
    """An <a> to a web page, or nothing: the URL is validated and escaped, never markup."""
    href = safe_url(url)
    if href is None:
        return ""
    href = html.escape(href, quote=True)
    return f'<a href="{href}" target="_blank" rel="noopener noreferrer">{esc(text)}</a>'


def popover_id(key: str, n: int) -> str:
    return f"px-pop-{key}-{n}"


def chip(n: int, citation: Citation | None, key: str | None) -> str:
    """The [n] chip; with a key it opens the passage popover of that answer."""
    if citation is None:
        return f'<span class="px-chip px-missing" aria-label="Source {n}, unknown">{n}</span>'
    name = esc(f"Source {n}: {citation.source.outlet}, {citation.source.title}")
    target = f' popovertarget="{popover_id(key, n)}"' if key is not None else ""
    return f'<button type="button" class="px-chip"{target} aria-label="{name}">{n}</button>'


def with_chips(text: str, citations: Collection[Citation] | None, key: str | None) -> str:
    """Escape answer text and turn its [n] markers into chips.

    While streaming the citations are not known yet (`citations` None): every marker gets a
    chip that looks the same and opens nothing until the answer is complete.
    """
    by_n = {c.n: c for c in citations or ()}

    def one(match: re.Match[str]) -> str:
        n = int(match[1])
        if citations is None:
            return f'<button type="button" class="px-chip" aria-label="Source {n}">{n}</button>'
        return chip(n, by_n.get(n), key)

    return _ESCAPED_MARKER.sub(one, safe_markdown(text))


def without_disagreement_section(text: str) -> str:
    """The model's own disagreement section, which the structured block below replaces."""
    found = _DISAGREE_HEADING.search(text)
    if found is None:
        return text
    level = found.group(1).count("#") or 6
    after = re.compile(rf"^#{{1,{level}}}[ \t]", re.M).search(text, found.end())
    return text[: found.start()].rstrip() + ("\n\n" + text[after.start() :] if after else "")


def highlighted(text: str, span: tuple[int, int] | None) -> str:
    """The passage as HTML, escaped, with the verified quote's span (from the verification
    itself) in <mark>; on one line, as no blank line may end the HTML block it sits in."""
    if span is None:
        return esc(text.strip()).replace("\n", "<br>")
    start, end = span
    parts = (esc(text[:start].lstrip()), esc(text[start:end]), esc(text[end:].rstrip()))
    return f'{parts[0]}<mark class="px-quote">{parts[1]}</mark>{parts[2]}'.replace("\n", "<br>")


def byline_html(source: Source) -> str:
    parts = [f"<b>{esc(source.outlet)}</b>", f"<i>{esc(source.title)}</i>"]
    parts += [esc(x) for x in (source.author, source.published) if x]
    return " · ".join(parts)


def passage_popover(c: Citation, key: str, removed: bool) -> str:
    """The passage a chip opens: article, outlet, author, date, the quote highlighted and a
    link to the original scrolled to the quote."""
    pid = popover_id(key, c.n)
    rows = [
        f'<div id="{pid}" popover class="px-pop" role="dialog" aria-label="Source {c.n}">',
        f'<button type="button" class="px-pop-close" popovertarget="{pid}" '
        'popovertargetaction="hide" aria-label="Close">×</button>',
        f'<div class="px-pop-head"><span class="px-chip">{c.n}</span> {byline_html(c.source)}</div>',
    ]
    if removed:
        rows.append('<div class="px-removed">From an article since removed from the library.</div>')
    if c.verified:
        rows.append(
            '<div class="px-meta">The highlighted passage supports what the answer cites it for.'
            "</div>"
        )
    else:
        rows.append(
            '<div class="px-unverified">⚠ Parallax did not find what this citation is for in '
            "the passage: treat the claim it supports with care.</div>"
        )
        if c.quote:
            rows.append(f"<div>Quoted as: “{esc(c.quote)}”</div>")
    span = c.span if c.verified else None
    rows.append(f'<p class="px-passage">{highlighted(c.passage.text, span)}</p>')
    if not removed and (original := link(text_fragment_url(c), "Open the original at the quote ↗")):
        rows.append(f"<div>{original}</div>")
    rows.append("</div>")
    return "".join(rows)


def answer_body(answer: Answer, key: str) -> str | None:
    """The answer text with working chips, as markdown; None when there is no text."""
    if not answer.text.strip():
        return None
    text = answer.text_with_unsupported_marked(_UNSUPPORTED)
    body = without_disagreement_section(text) if answer.disagreements else text
    return with_chips(body, answer.citations, key).replace(_UNSUPPORTED, UNSUPPORTED_HTML)


def sources_html(answer: Answer, key: str, removed: Collection[str]) -> str:
    """One row per article, its cited passages inside as chips with the start of their quote;
    then the popovers every chip of this answer opens. All on single lines (an HTML block)."""
    articles: dict[str, list[Citation]] = {}
    for c in answer.citations:
        articles.setdefault(c.source_id, []).append(c)
    rows = ['<div class="px-sources"><b>Sources</b>']
    for source_id, cites in articles.items():
        first = cites[0].source
        details = [esc(x) for x in (first.author, first.published) if x]
        head = f"<b>{esc(first.outlet)}</b> · <i>{esc(first.title)}</i>"
        if details:
            head += f' <span class="px-meta">· {" · ".join(details)}</span>'
        if source_id in removed:
            head += ' <span class="px-removed">· removed from the library</span>'
        elif original := link(first.url, "original ↗"):
            head += f" · {original}"
        rows.append(f'<div class="px-article">{head}')
        for c in cites:
            flag = "" if c.verified else ' <span class="px-unverified">⚠ not verified</span>'
            rows.append(f'<span class="px-cite">{chip(c.n, c, key)} “{esc(c.quote)}”{flag}</span>')
        rows.append("</div>")
    rows.append("</div>")
    rows += [passage_popover(c, key, c.source_id in removed) for c in answer.citations]
    return "".join(rows)


def disagreements(answer: Answer, key: str) -> None:
    """A distinct block with each side of each disagreement in its own column."""
    if not answer.disagreements:
        return
    by_n = {c.n: c for c in answer.citations}
    with st.container(border=True, key=f"disagree-{key}"):
        st.markdown("#### :material/balance: Where the sources disagree", anchors=False)
        for d in answer.disagreements:
            disagreement(d, by_n, key)


def disagreement(d: Disagreement, by_n: dict[int, Citation], key: str) -> None:
    if d.topic:
        st.markdown(f"*{plain(d.topic)}*", unsafe_allow_html=True)
    for column, position in zip(st.columns(len(d.positions)), d.positions, strict=True):
        with column, st.container(border=True):
            chips = "".join(chip(n, by_n.get(n), key) for n in position.citations)
            st.markdown(f"**{plain(position.outlet)}** {chips}", unsafe_allow_html=True)
            st.markdown(plain(position.summary), unsafe_allow_html=True)
            for n in position.citations:
                if (c := by_n.get(n)) and c.quote:
                    st.markdown(
                        f'<span class="px-meta">“{plain(c.quote)}”</span>',
                        unsafe_allow_html=True,
                    )


def footer(answer: Answer) -> str:
    seconds = sum(answer.timings.values())
    who = f"{answer.model}" if answer.mode == "llm" else "extractive"
    return f"{who} · {count(len(answer.passages), 'passage')} · {seconds:.1f} s"


def answer(answer: Answer, key: str, removed: Collection[str] = ()) -> None:
    """Everything under one answer; the same elements whether live or redrawn."""
    body = answer_body(answer, key)
    if body is None:
        st.warning(
            "The model returned an empty answer. Ask again or rephrase the question.",
            icon=":material/warning:",
        )
    elif not answer.answerable:
        st.info(
            "**Not covered by these articles.** " + safe_markdown(answer.text.strip()),
            icon=":material/search_off:",
        )
    else:
        st.markdown(body, unsafe_allow_html=True, anchors=False)
    rest(answer, key, removed)


def rest(answer: Answer, key: str, removed: Collection[str]) -> None:
    """What follows the text: the incomplete notice, disagreements, sources, footer."""
    if answer.incomplete:
        notice = answer.notice or "Stopped before the end."
        st.warning(f"**Incomplete answer.** {safe_markdown(notice)}", icon=":material/warning:")
    elif answer.notice and answer.notice != EXTRACTIVE_NOTICE:  # e.g. a model's empty reply
        st.info(safe_markdown(answer.notice), icon=":material/info:")
    disagreements(answer, key)
    if answer.citations:
        with st.container(key=f"sources-{key}"):
            st.markdown(sources_html(answer, key, removed), unsafe_allow_html=True)
    st.caption(footer(answer))
