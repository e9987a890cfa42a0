"""Offline follow-up suggestions: what the retrieval found that the answer left unused.

No model writes these, so they come from records only: an outlet whose passages were
retrieved for the question but never cited ("What does Foreign Policy say about this?"), then a cited
article with more retrieved passages than the answer used. Each names its outlet, so asking it
narrows the search to that outlet, and "this" ties it to the question answered.
"""

from __future__ import annotations

from assistant.planning import Plan
from assistant.records import Answer, Passage
from store.articles import UNKNOWN_OUTLET

MAX_SUGGESTIONS = 3
# An uncited outlet is suggested only if its best passage is this close to the best one:
# a passage retrieved only to fill the list would lead to "the articles don't cover this".
NEAR_TOP = 0.6


def suggest(answer: Answer, plan: Plan) -> list[str]:
    """Up to three follow-up questions, most relevant first; none for an uncovered question."""
    passages = sorted(plan.retrieval.passages, key=lambda p: p.rank)
    if not answer.answerable or not passages:
        return []
    cited_chunks = {c.chunk_id for c in answer.citations}
    cited_sources = {c.source_id for c in answer.citations}
    cited_names = {_name(p) for p in passages if p.source_id in cited_sources}
    top = max(p.score for p in passages)
    found: list[str] = []
    for p in passages:  # outlets that speak to the question but went uncited
        if _name(p) not in cited_names and p.score >= NEAR_TOP * top:
            found.append(f"What does {_name(p)} say about this?")
    for p in passages:  # more of an article the answer drew on
        if p.source_id in cited_sources and p.chunk_id not in cited_chunks:
            found.append(f"What else does {_name(p)} say about this?")
    return list(dict.fromkeys(found))[:MAX_SUGGESTIONS]


def _name(passage: Passage) -> str:
    """The outlet, or the article's title when the outlet is not known."""
    source = passage.source
    if source.outlet and source.outlet != UNKNOWN_OUTLET:
        return source.outlet
    return f"“{source.title}”"
