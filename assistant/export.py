"""Presentation helpers shared by the app and the CLI: export, links to the original, redaction.

The export is read in Markdown viewers that render HTML and fetch images, so nothing an
article, its metadata or a model wrote may become markup there: only Parallax's own headings,
lists and emphasis do. A server that echoes the Authorization header would put the API key in
the answer text, so every output passes through `redact` too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import quote as urlquote
from urllib.parse import urlparse

from assistant.records import Answer, Citation, Disagreement

REDACTED = "[redacted]"
# Inline text (never at the start of a line): every character that can open markup there.
_INLINE = re.compile(r"([\\`*_\[\]|~$<>&])")
# Model text keeps emphasis, lists and headings; loses HTML, links, images and math.
_MODEL = re.compile(r"([\\\[\]$<>&])")
_ESCAPED_MARKER = re.compile(r"\\\[(\d+)\\\]")
# A secret shorter than this is not a key (and redacting it would shred ordinary text).
_MIN_SECRET = 8


def safe_url(url: str | None) -> str | None:
    """`url` when it is a plain http(s) URL, else None: no whitespace or control characters
    (a newline in metadata must not break out of a link), no quotes or angle brackets."""
    if not url or any(_unsafe_char(ch) for ch in url):
        return None
    parsed = urlparse(url)
    return url if parsed.scheme in ("http", "https") and parsed.netloc else None


def _unsafe_char(ch: str) -> bool:
    return ch in "<>\"'`\\" or ch.isspace() or unicodedata.category(ch)[0] in "CZ"


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (an API key) replaced by a placeholder."""
    for secret in secrets:
        if secret and len(secret) >= _MIN_SECRET:
            text = text.replace(secret, REDACTED)
    return text


def redact_answer(answer: Answer, secrets: Sequence[str]) -> Answer:
    """The answer with the secrets gone from everything a model wrote into it."""
    if not any(secrets):
        return answer
    disagreements = [
        Disagreement(
            redact(d.topic, secrets),
            [replace(p, summary=redact(p.summary, secrets)) for p in d.positions],
        )
        for d in answer.disagreements
    ]
    return replace(
        answer,
        text=redact(answer.text, secrets),
        notice=redact(answer.notice, secrets) if answer.notice else None,
        disagreements=disagreements,
        suggestions=[redact(s, secrets) for s in answer.suggestions],
    )


def text_fragment_url(citation: Citation) -> str | None:
    """A link that opens the original article scrolled to the quote (`#:~:text=`)."""
    url = safe_url(citation.source.url)
    if not url:
        return None
    words = citation.quote.split()
    if not words:
        return url
    # Start and end words keep the fragment short and robust to small differences.
    fragment = (
        urlquote(" ".join(words), safe="")
        if len(words) <= 8
        else f"{urlquote(' '.join(words[:4]), safe='')},{urlquote(' '.join(words[-4:]), safe='')}"
    )
    return f"{url.split('#')[0]}#:~:text={fragment}"


def inline(text: str) -> str:
    """Untrusted text on one line, every markup character escaped."""
    return _INLINE.sub(r"\\\1", " ".join(text.split()))


def model_markdown(text: str) -> str:
    """Answer text: its emphasis and lists kept, HTML, links and images escaped, [n] kept."""
    return _ESCAPED_MARKER.sub(r"[\1]", _MODEL.sub(r"\\\1", text))


@dataclass(frozen=True)
class ExportHeader:
    """What a reader of the export needs to judge it: when, how and from what it was made."""

    exported_at: datetime
    mode: str
    model: str | None
    sources: list[str] = field(default_factory=list)  # labels; empty: the whole library


def conversation_markdown(
    answers: Sequence[Answer],
    header: ExportHeader | None = None,
    secrets: Sequence[str] = (),
) -> str:
    """The whole conversation, each answer followed by its numbered references.

    A notice shared by answers (the extractive-mode one) is written once, at the top.
    """
    parts = ["# Parallax conversation", ""]
    if header is not None:
        parts += _header_lines(header)
    shared = [n for n in dict.fromkeys(a.notice for a in answers if not a.incomplete) if n]
    parts += [f"> {inline(n)}\n" for n in shared]
    for answer in answers:
        parts += [f"## {inline(answer.question)}", "", _answer_markdown(answer), ""]
        if answer.incomplete:
            parts += [f"> Incomplete answer: {inline(answer.notice or 'stopped early')}", ""]
        if answer.citations:
            parts += ["**References**", ""]
            parts += [_reference(c) for c in answer.citations]
            parts.append("")
    return redact("\n".join(parts), secrets)


_UNSUPPORTED = "\ue000"  # where a sentence ends that none of its sources supports
UNSUPPORTED_MARK = " *(⚠ not supported by its sources)*"


def _answer_markdown(answer: Answer) -> str:
    """The answer text, each sentence that none of its cited passages supports marked."""
    text = answer.text_with_unsupported_marked(_UNSUPPORTED)
    return model_markdown(text.strip()).replace(_UNSUPPORTED, UNSUPPORTED_MARK)


def _header_lines(header: ExportHeader) -> list[str]:
    mode = "LLM" if header.mode == "llm" else "extractive (quotes, no language model)"
    lines = [f"- Exported: {header.exported_at:%Y-%m-%d %H:%M %Z}".rstrip(), f"- Mode: {mode}"]
    if header.mode == "llm" and header.model:
        lines.append(f"- Model: {inline(header.model)}")
    if header.sources:
        lines.append("- Sources: " + "; ".join(inline(s) for s in header.sources))
    else:
        lines.append("- Sources: the whole library")
    return [*lines, ""]


def _reference(c: Citation) -> str:
    source = c.source
    byline = ", ".join(inline(x) for x in (source.author, source.published) if x)
    flag = "" if c.verified else " (not verified)"
    url = safe_url(source.url)
    link = f" <{url}>" if url else ""
    return (
        f"{c.n}. {inline(source.outlet)}, *{inline(source.title)}*"
        + (f" ({byline})" if byline else "")
        + f": “{inline(c.quote)}”{flag}{link}"
    )
