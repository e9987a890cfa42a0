"""Parallax judges a model's citations itself, with the real embedding model: support for
each cited sentence, the model's quote only a hint, and disagreement blocks validated."""

from __future__ import annotations

import json
from collections import Counter

from assistant.citations import build_answer
from assistant.evaluation import support_report
from assistant.records import Answer
from assistant.verification import verify_answer
from store.embeddings import MiniLMEmbedder
from tests.evidence import make_passage

TOLLS = make_passage(
    "ledger:1",
    "The council voted 9 to 4 on Tuesday to charge drivers $9 a day to enter the downtown "
    "core. The charge starts in March and applies on weekdays from 7 a.m. to 7 p.m. "
    "Revenue will pay for sixty new electric buses.",
    outlet="The Ledger",
    author="Naomi Trevelyan",
)
AGAINST = make_passage(
    "courier:1",
    "The charge is a tax on night-shift cleaners and care workers who have no bus to take. "
    "Until the buses run, the council should exempt low-paid commuters entirely.",
    outlet="The Courier",
)
FOR = make_passage(
    "gazette:1",
    "Pricing the roads is the fairest way to cut traffic, and the rebate for low-income "
    "workers answers the strongest objection to it.",
    outlet="The Gazette",
)
PASSAGES = [TOLLS, AGAINST, FOR]


def judged(visible: str, minilm: MiniLMEmbedder, **notes: object) -> Answer:
    parsed = build_answer("q?", visible, json.dumps(notes), PASSAGES, mode="llm", model="m")
    return verify_answer(parsed, minilm)


def test_a_supported_sentence_is_verified_with_the_span_that_supports_it(
    minilm: MiniLMEmbedder,
) -> None:
    answer = judged("The Ledger reports that drivers will pay $9 a day downtown [1].", minilm)
    [citation] = answer.citations
    assert citation.verified and citation.span is not None
    assert citation.quote == TOLLS.text[slice(*citation.span)]
    assert "$9 a day" in citation.quote
    assert answer.unsupported == [] and answer.supported_sentences == 1


def test_a_sentence_its_passage_does_not_support_is_marked(minilm: MiniLMEmbedder) -> None:
    text = (
        "Drivers will be charged $9 a day to enter the downtown core [1]. "
        "The council voted 9 to 4 for the charge [2]."
    )
    answer = judged(text, minilm)
    by_n = {c.n: c for c in answer.citations}
    assert by_n[1].verified and not by_n[2].verified
    assert [answer.text[s:e] for s, e in answer.unsupported] == [
        "The council voted 9 to 4 for the charge [2]."
    ]
    assert answer.supported_sentences == 1


def test_the_models_quote_is_a_hint_not_evidence(minilm: MiniLMEmbedder) -> None:
    """A real quote from the passage does not make it support a claim it does not make."""
    quote = "Revenue will pay for sixty new electric buses."
    answer = judged("The charge will be scrapped next year [1].", minilm, quotes={"1": quote})
    [citation] = answer.citations
    assert not citation.verified and citation.quote == quote  # shown as the model said it
    assert answer.unsupported


def test_a_changed_figure_is_not_supported(minilm: MiniLMEmbedder) -> None:
    answer = judged("The council voted 11 to 2 to charge drivers $9 a day [1].", minilm)
    assert not answer.citations[0].verified and answer.supported_sentences == 0


BURDEN = "The charge burdens low-paid night workers."
FAIREST = "Road pricing is the fairest way to cut traffic."


def side(source: int, summary: str, *cited: int) -> dict[str, object]:
    """A position as the model writes it: block numbers for the outlet and its citations."""
    return {"source": source, "summary": summary, "citations": list(cited)}


def test_a_valid_disagreement_block_is_kept(minilm: MiniLMEmbedder) -> None:
    block = {"topic": "Is it fair?", "positions": [side(2, BURDEN, 2), side(3, FAIREST, 3)]}
    answer = judged("The outlets disagree [2][3].", minilm, disagreements=[block])
    [kept] = answer.disagreements
    assert [p.outlet for p in kept.positions] == ["The Courier", "The Gazette"]
    assert answer.dropped_disagreements == 0


def test_invalid_disagreement_blocks_are_dropped_and_counted(minilm: MiniLMEmbedder) -> None:
    # One outlet "arguing" with another outlet's passage; one side its passage does not make.
    borrowed = [side(2, FAIREST, 3), side(3, FAIREST, 3)]
    unsupported = [side(2, BURDEN, 2), side(3, "The charge will raise suburban house prices.", 3)]
    blocks = [
        {"topic": "Who says what", "positions": borrowed},
        {"topic": "Effects", "positions": unsupported},
    ]
    answer = judged("They differ [2].", minilm, disagreements=blocks)
    assert answer.disagreements == [] and answer.dropped_disagreements == 2
    # The passage only the dropped blocks cited is no longer a reference.
    assert [c.chunk_id for c in answer.citations] == [AGAINST.chunk_id]


def test_support_tells_labelled_pairs_apart(minilm: MiniLMEmbedder) -> None:
    """The thresholds CI holds the support judgement to, on the calibration pairs and on
    pairs from articles never used to choose its constants."""
    report = support_report(minilm)
    assert report["calibration"]["balanced_accuracy"] >= 0.85
    assert report["held-out"]["balanced_accuracy"] >= 0.7
    assert report["held-out"]["precision"] >= 0.7  # "verified" is mostly right


def test_sentences_the_model_left_uncited_get_the_passage_that_supports_them(
    minilm: MiniLMEmbedder,
) -> None:
    """A small model often writes no markers: Parallax cites what a passage supports, in
    first-use order, and leaves alone what no passage says."""
    text = (
        "The sources disagree.\n"
        "Cleaners and care workers on night shifts have no bus to take, says the Courier.\n"
        "The council voted 9 to 4 for a $9 daily charge [1].\n"
        "Everyone expects the mayor to resign over it."
    )
    answer = judged(text, minilm)
    assert answer.added_citations == 1 and answer.answerable
    assert answer.text.splitlines() == [
        "The sources disagree.",
        "Cleaners and care workers on night shifts have no bus to take, says the Courier [1].",
        "The council voted 9 to 4 for a $9 daily charge [2].",
        "Everyone expects the mayor to resign over it.",
    ]
    by_n = {c.n: c for c in answer.citations}
    assert by_n[1].chunk_id == AGAINST.chunk_id and by_n[1].verified
    assert by_n[2].chunk_id == TOLLS.chunk_id and by_n[2].verified


class CountingEmbedder:
    """The real model, recording every text it is asked to embed."""

    def __init__(self, real: MiniLMEmbedder) -> None:
        self.real = real
        self.texts: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.texts += texts
        return self.real.embed_documents(texts)


def test_one_answer_embeds_each_text_once(minilm: MiniLMEmbedder) -> None:
    """Citing the uncited sentences and verifying the citations look at the same passages:
    the second pass reuses the first's vectors instead of embedding them again."""
    counting = CountingEmbedder(minilm)
    text = (
        "Cleaners and care workers on night shifts have no bus to take, says the Courier.\n"
        "The council voted 9 to 4 for a $9 daily charge [1]."
    )
    parsed = build_answer("q?", text, "{}", PASSAGES, mode="llm", model="m")
    answer = verify_answer(parsed, counting)  # type: ignore[arg-type]
    assert answer.added_citations == 1 and all(c.verified for c in answer.citations)
    repeated = [t for t, n in Counter(counting.texts).items() if n > 1]
    assert counting.texts and repeated == []
