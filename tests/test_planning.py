"""The planning step: scope the reader can see, coverage from several signals, and
conversations where the question asked now decides whether the articles cover it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from assistant import Assistant, Source, SourceInfo
from assistant.planning import named_scope, refers_back
from store.embeddings import MiniLMEmbedder
from tests.conftest import QUOKKA_ARTICLE, real_assistant
from tests.fake_openai import FakeOpenAI, Reply

NATION = "the-nation-us-engagement-essential"
FP = "foreign-policy-how-to-negotiate-with-putin"
NATO_QUESTION = "Would ruling out NATO membership for Ukraine help bring peace?"

LIBRARY = [
    SourceInfo(Source(NATION, "Why US Engagement Is Essential", "The Nation", "Anatol Lieven"), 9),
    SourceInfo(Source(FP, "How to Negotiate With Putin", "Foreign Policy", "Laurie Bristow"), 9),
    SourceInfo(Source("the-week-putin", "What will bring Putin to the table?", "The Week"), 9),
    SourceInfo(Source("hot-air-escalate", "Escalate to de-escalate", "Hot Air"), 9),
]


# ---- scope -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "What happened in the week before the summit?",
        "did foreign policy change after the Alaska meeting?",
        "what does hot air mean in this debate?",
        "Is the nation ready for a ceasefire?",
        "The Week before the talks, what did Russia do?",
    ],
)
def test_ordinary_phrases_never_narrow_the_search(question: str) -> None:
    assert named_scope(question, LIBRARY) is None


@pytest.mark.parametrize(
    ("question", "ids", "label"),
    [
        ("What does The Nation say about Europe?", [NATION], "The Nation only"),
        ("According to Foreign Policy, is Putin bluffing?", [FP], "Foreign Policy only"),
        ("What is Lieven's view of sanctions?", [NATION], "Anatol Lieven only"),
        ("What does Bristow argue about NATO?", [FP], "Laurie Bristow only"),
    ],
)
def test_a_clearly_named_outlet_or_author_narrows_and_says_so(
    question: str, ids: list[str], label: str
) -> None:
    scope = named_scope(question, LIBRARY)
    assert scope is not None
    assert (scope.source_ids, scope.reason, scope.label) == (ids, "named", label)


def test_retrieve_and_ask_share_one_plan_and_show_the_scope(
    shipped_assistant: Assistant,
) -> None:
    question = "What does The Nation say about sanctions?"
    retrieval = shipped_assistant.retrieve(question)
    stream = shipped_assistant.ask_stream(question)
    assert retrieval.scope == stream.plan.scope and retrieval.scope.label == "The Nation only"
    assert [p.chunk_id for p in retrieval.passages] == [p.chunk_id for p in stream.passages]
    assert {p.source_id for p in retrieval.passages} == {NATION}
    assert stream.answer.scope == retrieval.scope
    everything = shipped_assistant.retrieve(question, narrow=False)
    assert everything.scope.reason == "all"
    assert len({p.source_id for p in everything.passages}) > 1


# ---- coverage ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quokka_assistant(tmp_path_factory: pytest.TempPathFactory, minilm: MiniLMEmbedder):
    """The shipped articles plus a made-up one, with the real model."""
    assistant = real_assistant(tmp_path_factory.mktemp("quokka"), minilm)
    fields = {"title": "Quokka envoys gather in Zanzibar", "outlet": "Marsupial Times"}
    assistant.add_article(QUOKKA_ARTICLE.encode(), "quokka.txt", fields)
    return assistant


@pytest.mark.parametrize(
    "question",
    [
        "What did the delegations in Zanzibar argue about on Tuesday?",
        "What did the quokka mediators produce by the afternoon?",
    ],
)
def test_a_question_hinging_on_a_rare_name_is_answered(
    quokka_assistant: Assistant, question: str
) -> None:
    retrieval = quokka_assistant.retrieve(question)
    assert retrieval.answerable, retrieval.coverage
    assert retrieval.passages[0].source_id == "quokka-envoys-gather-in-zanzibar"


@pytest.mark.parametrize(
    "question",
    [
        "What did the negotiators agree at the ceasefire talks in Zurich?",
        "How did the Sudan peace talks between the army and the RSF end?",
        "What security guarantees did Washington give Taiwan in the talks?",
        "Who won the 2024 Super Bowl?",
    ],
)
def test_off_topic_questions_sharing_the_articles_words_are_declined(
    quokka_assistant: Assistant, question: str
) -> None:
    retrieval = quokka_assistant.retrieve(question)
    assert not retrieval.answerable, retrieval.coverage
    assert retrieval.coverage is not None and retrieval.coverage.reason


# ---- conversation ------------------------------------------------------------------------


def test_follow_up_that_refers_back_is_resolved(shipped_assistant: Assistant) -> None:
    first = shipped_assistant.ask("What did Witkoff's April draft plan offer Russia?")
    assert refers_back("Why did it fail?")
    follow = shipped_assistant.ask_stream("Why did it fail?", [first])
    assert "Witkoff" in follow.plan.query
    assert follow.answer.answerable and follow.answer.citations


@pytest.mark.parametrize(
    "off_topic", ["Who won the 2024 Super Bowl?", "What about the Super Bowl?"]
)
def test_off_topic_question_after_an_on_topic_one_is_declined(
    shipped_assistant: Assistant, off_topic: str
) -> None:
    first = shipped_assistant.ask(NATO_QUESTION)
    assert first.answerable
    answer = shipped_assistant.ask(off_topic, [first])
    assert not answer.answerable and answer.citations == []


def test_on_topic_question_after_an_off_topic_one_is_answered(
    shipped_assistant: Assistant,
) -> None:
    first = shipped_assistant.ask("Who won the 2024 Super Bowl?")
    assert not first.answerable
    answer = shipped_assistant.ask(NATO_QUESTION, [first])
    assert answer.answerable and answer.citations
    assert answer.query == NATO_QUESTION  # nothing glued from the off-topic turn


def test_asking_about_a_removed_article_mid_conversation_is_declined(
    quokka_assistant: Assistant,
) -> None:
    first = quokka_assistant.ask("What did the quokka delegations argue about in Zanzibar?")
    assert first.answerable
    quokka_assistant.remove_article("quokka-envoys-gather-in-zanzibar")
    try:
        again = quokka_assistant.ask("What did the quokka envoys agree in Zanzibar?", [first])
        assert not again.answerable and again.citations == []
    finally:
        quokka_assistant.add_article(
            QUOKKA_ARTICLE.encode(),
            "quokka.txt",
            {"title": "Quokka envoys gather in Zanzibar", "outlet": "Marsupial Times"},
        )


@pytest.fixture
def llm_planner(shipped_assistant: Assistant, fake_llm: FakeOpenAI) -> Assistant:
    settings = shipped_assistant.settings.model_copy(
        update={
            "openai_base_url": fake_llm.url,
            "openai_api_key": SecretStr("sk-test"),
            "llm": "auto",
            "llm_max_retries": 0,
            "llm_timeout": 2.0,
        }
    )
    return Assistant(settings, shipped_assistant.embedder)


def test_llm_rewrite_is_checked_for_coverage_like_any_query(
    llm_planner: Assistant, fake_llm: FakeOpenAI, shipped_assistant: Assistant
) -> None:
    first = shipped_assistant.ask(NATO_QUESTION)
    fake_llm.queue("Who won the 2024 Super Bowl, and did it affect NATO membership?")
    plan = llm_planner.plan("And who won the Super Bowl that year?", [first])
    assert len(fake_llm.chat_requests()) == 1  # the rewrite was asked for
    assert not plan.answerable


def test_failed_llm_rewrite_falls_back_to_the_offline_rule(
    llm_planner: Assistant, fake_llm: FakeOpenAI, shipped_assistant: Assistant
) -> None:
    first = shipped_assistant.ask("What did Witkoff's April draft plan offer Russia?")
    fake_llm.queue(Reply.error(500))
    plan = llm_planner.plan("Why did it fail?", [first])
    assert plan.answerable and "Witkoff" in plan.query


def test_eval_set_files_are_well_formed() -> None:
    from assistant.evaluation import EVAL_SETS, load_questions

    for eval_set in EVAL_SETS:
        questions = load_questions(eval_set.questions)
        ids = [q.id for q in questions]
        assert len(ids) == len(set(ids))
        for q in questions:
            assert q.follow_up_of is None or ids.index(q.follow_up_of) < ids.index(q.id)
            assert (q.kind == "unanswerable") == (not q.evidence), q.id
        if eval_set.articles:
            assert any(Path(eval_set.articles).glob("*.txt"))
