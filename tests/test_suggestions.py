"""Offline follow-up suggestions, from what the retrieval found and the answer left unused."""

from __future__ import annotations

from assistant.planning import Plan
from assistant.records import Answer, Citation, Passage, Retrieval, Source
from assistant.suggestions import suggest

NATION = Source("nation", "Talks now", "The Nation", "A. Writer", "2025-05-01")
POLICY = Source("policy", "How to negotiate", "Foreign Policy")
WEEK = Source("week", "The table", "The Week")
ANON = Source("anon", "Untitled musings", "Unknown outlet")


def passage(source: Source, i: int, rank: int) -> Passage:
    return Passage(f"{source.id}:{i}", source, f"text {i}", 0, 6, rank=rank)


def plan_and_answer(
    passages: list[Passage], cited: list[Passage], answerable: bool = True
) -> tuple[Answer, Plan]:
    retrieval = Retrieval("Q?", "Q?", answerable, passages)
    citations = [Citation(n, p, "quote", True) for n, p in enumerate(cited, 1)]
    answer = Answer("Q?", "Text [1].", citations, [], answerable, "extractive", None, passages)
    return answer, Plan("Q?", "Q?", retrieval)


def test_an_uncited_outlet_that_was_retrieved_is_suggested_first() -> None:
    n0, p1, n2, w3 = (
        passage(NATION, 0, 0),
        passage(POLICY, 1, 1),
        passage(NATION, 2, 2),
        passage(WEEK, 3, 3),
    )
    answer, plan = plan_and_answer([n0, p1, n2, w3], cited=[n0])
    assert suggest(answer, plan) == [
        "What does Foreign Policy say about this?",
        "What does The Week say about this?",
        "What else does The Nation say about this?",
    ]


def test_every_outlet_cited_leaves_the_unused_passages_of_cited_articles() -> None:
    n0, p1, n2 = passage(NATION, 0, 0), passage(POLICY, 1, 1), passage(NATION, 2, 2)
    answer, plan = plan_and_answer([n0, p1, n2], cited=[n0, p1])
    assert suggest(answer, plan) == ["What else does The Nation say about this?"]


def test_an_outlet_cited_through_another_article_is_not_called_uncited() -> None:
    other = Source("nation-2", "Second piece", "The Nation")
    n0, o1 = passage(NATION, 0, 0), passage(other, 1, 1)
    answer, plan = plan_and_answer([n0, o1], cited=[n0])
    assert "What does The Nation say about this?" not in suggest(answer, plan)


def test_an_unknown_outlet_is_named_by_its_title() -> None:
    n0, a1 = passage(NATION, 0, 0), passage(ANON, 1, 1)
    answer, plan = plan_and_answer([n0, a1], cited=[n0])
    assert suggest(answer, plan) == ["What does “Untitled musings” say about this?"]


def test_nothing_to_suggest_when_the_articles_do_not_cover_the_question() -> None:
    n0, p1 = passage(NATION, 0, 0), passage(POLICY, 1, 1)
    answer, plan = plan_and_answer([n0, p1], cited=[], answerable=False)
    assert suggest(answer, plan) == []


def test_everything_used_nothing_suggested() -> None:
    n0 = passage(NATION, 0, 0)
    answer, plan = plan_and_answer([n0], cited=[n0])
    assert suggest(answer, plan) == []
