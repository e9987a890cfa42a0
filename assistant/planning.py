"""The planning step every entry point shares (`retrieve`, `ask`, `chat`, the app): what to
search for, where, and whether the articles cover it.

Three decisions, each visible to the reader:
* **query**: a follow-up that refers back ("Why did they reject it?") is searched together
  with the conversation's last covered question; a question on a new topic stands alone;
* **scope**: the reader's own selection, else a narrowing to an outlet or author only when
  the question clearly names one (written as the library writes it, in an attributing phrase:
  "What does The Nation say", "Lieven's view"); "the week before" or "foreign policy" never
  narrow anything;
* **coverage**: judged for the question asked now. A follow-up may borrow the conversation's
  topic, but never the conversation's coverage: its own distinctive terms must be known.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.records import Answer, Coverage, Retrieval, Scope, SourceInfo
from store.articles import UNKNOWN_OUTLET

_REFERS_BACK = re.compile(
    r"\b(?:it|its|that|this|those|these|they|them|their|theirs|he|she|him|her|his|hers"
    r"|the other side|the others?|the same|the latter|the former|such|there|then)\b"
    r"|^\s*(?:and|but|so|also|what about|how about|why not|what else|anything else)\b",
    re.IGNORECASE,
)
_ATTRIBUTING_BEFORE = r"(?i:according to|does|do|did|is|was|in|from|by|at|for)\s+"
_ATTRIBUTING_AFTER = (
    r"\s+(?i:say|says|said|argue|argues|argued|think|thinks|thought|write|writes|wrote|claim"
    r"|claims|claimed|see|sees|saw|suggest|suggests|suggested|report|reports|reported|propose"
    r"|proposes|proposed|recommend|recommends|believe|believes|make of|view|views|want|wants"
    r"|warn|warns|warned|mean|means|conclude|concludes)\b"
)


def refers_back(question: str) -> bool:
    """Whether the question leans on the conversation (a pronoun, "what about", "and …")."""
    return bool(_REFERS_BACK.search(question))


def _name_pattern(name: str) -> re.Pattern[str]:
    """The name exactly as written, whole words only, in an attributing phrase."""
    escaped = re.escape(name)
    return re.compile(
        rf"(?:(?<![\w-]){escaped}(?:'s|’s)(?!\w)"
        rf"|{_ATTRIBUTING_BEFORE}{escaped}(?![\w-])"
        rf"|(?<![\w-]){escaped}{_ATTRIBUTING_AFTER})"
    )


def named_scope(question: str, library: Sequence[SourceInfo]) -> Scope | None:
    """Narrow to the sources whose outlet or author the question clearly names, if any."""
    hits: dict[str, str] = {}
    for info in library:
        meta = info.meta
        names = [meta.outlet] if meta.outlet != UNKNOWN_OUTLET else []
        if meta.author:
            names += [meta.author, meta.author.split()[-1]]
        for name in names:
            if len(name) >= 3 and _name_pattern(name).search(question):
                hits[meta.id] = meta.outlet if name == meta.outlet else meta.author or name
                break
    if not hits:
        return None
    labels = list(dict.fromkeys(hits.values()))
    return Scope(sorted(hits), "named", " and ".join(labels) + " only")


def chosen_scope(sources: list[str] | None, library: Sequence[SourceInfo]) -> Scope:
    """The reader's own selection (or the whole library)."""
    if not sources:
        return Scope(None, "all", "the whole library")
    titles = {i.meta.id: i.meta.outlet for i in library}
    if len(sources) == 1:
        return Scope(list(sources), "selected", f"{titles.get(sources[0], sources[0])} only")
    return Scope(list(sources), "selected", f"{len(sources)} selected articles")


def previous_topic(history: Sequence[Answer]) -> Answer | None:
    """The last turn whose question the articles covered: what a follow-up refers back to."""
    return next((a for a in reversed(history) if a.answerable), None)


def with_context(question: str, previous: Answer) -> str:
    """The offline rewrite: the follow-up searched together with the topic it refers to."""
    return f"{previous.query or previous.question} {question}"


def follow_up_coverage(own: Coverage, combined: Coverage) -> Coverage:
    """A follow-up is covered through its context only if its own terms are all known."""
    if own.covered or not combined.covered:
        return combined if combined.covered else own
    if own.unknown_terms:
        return own
    return combined


@dataclass(frozen=True)
class Plan:
    """What the pipeline decided before writing: the query, its scope and its passages."""

    question: str
    query: str
    retrieval: Retrieval
    history: Sequence[Answer] = ()
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def scope(self) -> Scope:
        return self.retrieval.scope

    @property
    def answerable(self) -> bool:
        return self.retrieval.answerable
