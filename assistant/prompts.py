"""Prompt templates live in `prompts/*.md`, one file each, loaded by name.

Rendering fails loudly on a missing variable, and article text is neutralised so that it
cannot close its own source block or forge the notes marker.
"""

from __future__ import annotations

import re
import string
import unicodedata
from functools import cache

from assistant.records import Passage
from assistant.settings import REPO_ROOT
from assistant.text import strip_markers
from store.errors import ParallaxError

PROMPTS_DIR = REPO_ROOT / "prompts"
_DELIMITER_RUN = re.compile(r"<{3,}|>{3,}")
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


class PromptError(ParallaxError):
    """A template is missing or was rendered without one of its variables."""


@cache
def load(name: str) -> string.Template:
    path = PROMPTS_DIR / f"{name}.md"
    if not path.is_file():
        raise PromptError(f"No prompt template {path}: restore it from the repository.")
    return string.Template(path.read_text(encoding="utf-8"))


def render(name: str, **variables: object) -> str:
    try:
        return load(name).substitute(variables)
    except KeyError as exc:
        raise PromptError(f"Prompt '{name}' needs the variable {exc.args[0]}.") from None


def neutralise(text: str) -> str:
    """Text that is not Parallax's own (articles, metadata, earlier replies) may not contain
    our delimiters: look-alikes (fullwidth ＜＜＜, zero-width characters inside <<<) are
    folded first, then runs of <<< or >>> become guillemets."""
    text = unicodedata.normalize("NFKC", _INVISIBLE.sub("", text))
    return _DELIMITER_RUN.sub(
        lambda m: ("‹" if m.group()[0] == "<" else "›") * len(m.group()), text
    )


def source_blocks(passages: list[Passage]) -> str:
    return "\n\n".join(
        render(
            "source_block",
            n=n,
            outlet=neutralise(p.source.outlet),
            author=neutralise(p.source.author or "unknown"),
            published=neutralise(p.source.published or "undated"),
            title=neutralise(p.source.title),
            text=neutralise(p.text),
        ).rstrip("\n")
        for n, p in enumerate(passages, start=1)
    )


def history_text(history: list[tuple[str, str]]) -> str:
    """The last turns, neutralised: an earlier reply may quote an article's forged delimiters,
    and its citation numbers mean nothing in the next prompt."""
    return "\n".join(
        f"Reader: {neutralise(q)}\nParallax: {neutralise(strip_markers(a))}"
        for q, a in history[-4:]
    )
