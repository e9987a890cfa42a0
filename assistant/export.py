"""Presentation helpers shared by the app and the CLI: export and links to the original."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote as urlquote

from assistant.records import Answer, Citation


def text_fragment_url(citation: Citation) -> str | None:
    """A link that opens the original article scrolled to the quote (`#:~:text=`)."""
    url = citation.source.url
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


def conversation_markdown(answers: Sequence[Answer]) -> str:
    """The whole conversation, each answer followed by its numbered references."""
    parts = ["# Parallax conversation", ""]
    for answer in answers:
        parts += [f"## {answer.question}", "", answer.text.strip(), ""]
        if answer.notice:
            parts += [f"> {answer.notice}", ""]
        if answer.citations:
            parts.append("**References**")
            parts.append("")
            for c in answer.citations:
                byline = c.source.byline
                flag = "" if c.verified else " (quote not verified)"
                link = f" <{c.source.url}>" if c.source.url else ""
                parts.append(
                    f"{c.n}. {c.source.outlet}, *{c.source.title}*"
                    + (f" ({byline})" if byline else "")
                    + f": “{c.quote}”{flag}{link}"
                )
            parts.append("")
    return "\n".join(parts)
