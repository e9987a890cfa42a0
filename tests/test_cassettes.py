"""Real model replies, replayed: the recorder, the replay server, and the readers on real text.

The cassettes in tests/cassettes/ were recorded from Qwen2.5-Coder-1.5B-Instruct served by
llama-cpp-python (`make local-model`, `make serve-local`, `make record-cassettes`). Replay
matches requests exactly, so a change to the prompt or to retrieval makes the replay test
fail with the command that re-records.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from assistant.answering import Answerer, Protocol
from assistant.chat_model import OpenAIChatModel, StreamInterrupted, StructuredRequest
from assistant.citations import segments
from assistant.protocol import RESIDUE_RE, RepetitionGuard, ReplyReader
from assistant.records import Answer
from assistant.service import Assistant
from assistant.text import marker_numbers, split_sentences, strip_markers
from tests.cassette import CASSETTE_DIR, Cassette, Exchange, load, load_all
from tests.conftest import SHIPPED
from tests.fake_openai import FakeOpenAI, Reply
from tests.record_cassettes import RecordingProxy, record

CASSETTES = load_all()
IDS = [c.question_id for c in CASSETTES]
# What must never reach a reader: a notes marker or label, JSON structure, a code fence.


def client_for(fake: FakeOpenAI) -> OpenAIChatModel:
    return OpenAIChatModel(
        model="replayed",
        api_key=None,
        base_url=fake.url,
        temperature=0.1,
        timeout=10,
        max_retries=0,
        max_tokens=1536,
    )


def messages_of(exchange: Exchange) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in exchange.request["messages"]]


def protocol_of(exchange: Exchange) -> Protocol:
    """The protocol the recorded answer was asked in: JSON when the server took a schema."""
    return "json" if "response_format" in exchange.request else "prose"


def test_there_are_recorded_replies_for_the_dev_questions() -> None:
    assert len({c.question_id for c in CASSETTES if c.question_id.startswith("d")}) >= 5


@pytest.mark.parametrize("cassette", CASSETTES, ids=IDS)
def test_the_real_client_reads_a_recorded_stream_exactly(cassette: Cassette) -> None:
    """Every recorded piece arrives, cut where the model cut it; a reply the server ended
    at the token limit is reported as incomplete with all of its text."""
    exchange = cassette.answer_exchange()
    pieces: list[str] = []
    with FakeOpenAI() as fake:
        fake.play(cassette)
        asked = exchange.request.get("response_format")
        options = ({"response_format": asked},) if asked else ()
        request = StructuredRequest(messages_of(exchange), options, messages_of(exchange))
        stream = client_for(fake).stream_structured(request)
        try:
            pieces.extend(stream)
            ended = None
        except StreamInterrupted as exc:
            ended = exc
    recorded = exchange.pieces()
    if ended is None:
        assert pieces == recorded and exchange.finish_reason() == "stop"
    elif "repeating itself" in str(ended):  # the guard ended a real loop early
        assert pieces == recorded[: len(pieces)] and len(pieces) < len(recorded)
        assert ended.partial_text == "".join(pieces)
    else:
        assert "PARALLAX_LLM_MAX_TOKENS" in str(ended) and exchange.finish_reason() == "length"
        assert pieces == recorded and ended.partial_text == exchange.text()


@pytest.mark.parametrize("cassette", CASSETTES, ids=IDS)
def test_no_protocol_residue_is_visible_in_a_real_reply(cassette: Cassette) -> None:
    """Whatever marker the model chose (or none), the reader shows prose only, and what it
    showed while streaming is exactly the start of the final text."""
    reader = ReplyReader()
    streamed = "".join(reader.feed(piece) for piece in cassette.answer_exchange().pieces())
    parsed = reader.finish()
    assert parsed.visible or parsed.notes_found  # a small model may write its notes alone
    assert streamed.startswith(parsed.visible)
    assert streamed[len(parsed.visible) :].strip() == ""
    assert not RESIDUE_RE.search(parsed.visible), RESIDUE_RE.search(parsed.visible)


def test_the_repetition_guard_ends_real_loops_and_only_those() -> None:
    """A reply the guard ends repeats a long line, JSON object or sentence three times or
    more; most recorded replies do not trip it."""
    tripped = set()
    for cassette in CASSETTES:
        guard = RepetitionGuard()
        if any(guard.feed(piece) for piece in cassette.answer_exchange().pieces()):
            tripped.add(cassette.question_id)
    for question_id in tripped:
        text = CASSETTES[IDS.index(question_id)].answer_exchange().text()
        # Lines, JSON objects, and sentences (a loop inside one JSON string has no lines).
        parts = re.split(r"\n|(?<=\}),\s*", text) + split_sentences(text.replace("\\n", "\n"))
        lines = [" ".join(re.sub(r"\d", "0", ln).split()) for ln in parts]
        repeats = Counter(ln for ln in lines if len(ln) >= 40).most_common(1)
        assert repeats and repeats[0][1] >= 3, question_id
    assert tripped and len(tripped) < len(CASSETTES) / 2


def test_the_notes_real_models_write_are_mostly_found() -> None:
    """Small models seldom write the marker asked for; the tolerant reader still finds
    the notes in most replies (the rest wrote none at all)."""
    found = [ReplyReader() for _ in CASSETTES]
    for reader, cassette in zip(found, CASSETTES, strict=True):
        for piece in cassette.answer_exchange().pieces():
            reader.feed(piece)
    results = [reader.finish() for reader in found]
    with_notes = [c.question_id for c, r in zip(CASSETTES, results, strict=True) if r.notes_found]
    wrote_json = [c.question_id for c in CASSETTES if '{"' in c.answer_exchange().text()]
    assert set(wrote_json) <= set(with_notes)


def test_a_request_that_matches_no_recording_gets_a_400_naming_the_fix() -> None:
    cassette = CASSETTES[0]
    with FakeOpenAI() as fake:
        fake.play(cassette)
        model = client_for(fake)
        with pytest.raises(Exception, match="make record-cassettes"):
            list(model.stream([("user", "A question nobody recorded.")]))


def assert_citations_checked(answer: Answer) -> None:
    """A verified citation shows the span of its passage that supports it; a sentence whose
    citations are all unverified is marked as unsupported."""
    by_n = {c.n: c for c in answer.citations}
    for c in answer.citations:
        assert not c.verified or (c.span and c.quote == c.passage.text[slice(*c.span)])
    for start, end, is_sentence in segments(answer.text):
        cited = [by_n[n] for n in marker_numbers(answer.text[start:end]) if n in by_n]
        if is_sentence and cited and not any(c.verified for c in cited):
            assert any(s <= start and end <= e for s, e in answer.unsupported), (start, end)


def assert_blocks_valid(answer: Answer) -> None:
    """A disagreement block shown has two outlets, each citing its own outlet's verified
    passages."""
    by_n = {c.n: c for c in answer.citations}
    for block in answer.disagreements:
        assert len({p.source_id for p in block.positions}) >= 2
        for position in block.positions:
            assert position.citations
            assert all(by_n[n].source_id == position.source_id for n in position.citations)
            assert all(by_n[n].verified for n in position.citations)


@pytest.mark.parametrize("name", ["dev", "held-out"])
def test_todays_pipeline_sends_the_requests_that_were_recorded(
    name: str, request: pytest.FixtureRequest
) -> None:
    """Replay is only evidence while Parallax still sends what was recorded: retrieval and
    the prompt for each question must match the cassette, or the cassettes are stale. Each
    set is asked of its own library, as the recorder did."""
    cassettes = load_all(CASSETTE_DIR / name)
    library = "shipped_assistant" if name == "dev" else "heldout_assistant"
    assistant: Assistant = request.getfixturevalue(library)
    with FakeOpenAI() as fake:
        fake.play(*cassettes)
        twin = copy.copy(assistant)
        twin.answerer = Answerer(client_for(fake), assistant.embedder)
        stale, written = [], []
        for cassette in cassettes:
            stream = twin.ask_stream(cassette.question)
            sent = twin.answerer.messages(stream.plan, protocol_of(cassette.answer_exchange()))
            if sent != messages_of(cassette.answer_exchange()):
                stale.append(cassette.question_id)
                continue
            # What the reader sees of a real reply, streamed and final: prose, never protocol.
            shown = "".join(stream)
            answer = stream.answer
            assert not RESIDUE_RE.search(shown) and not RESIDUE_RE.search(answer.text), (
                cassette.question_id
            )
            assert answer.text.strip(), cassette.question_id  # notes alone: the passages instead
            if answer.mode == "llm":
                # What streamed is what the answer says, but for the markers Parallax added.
                assert strip_markers(shown.strip()) == strip_markers(answer.text)
                assert answer.added_citations or shown.strip() == answer.text
                assert_citations_checked(answer)
                assert_blocks_valid(answer)
                written.append(cassette.question_id)
            else:
                assert answer.notice and "most relevant sentences" in answer.notice
        assert not stale, f"stale cassettes {stale}: re-record with `make record-cassettes`"
        assert written  # some real replies are written answers, not only notes


def test_recorder_keeps_each_event_as_the_server_sent_it(
    tmp_path: Path, fake_llm: FakeOpenAI
) -> None:
    """The recorder runs the real pipeline through its proxy; replaying its cassette gives
    the client the same events the server streamed, each under its own question."""
    fake_llm.queue(
        Reply(text="Envoys met [1].\n<<<NOTES\n{}", chunk_size=3),
        Reply(text="In the hall [2].", chunk_size=3),
    )
    questions = tmp_path / "questions.jsonl"
    rows = [
        {"id": "q1", "kind": "factual", "question": "Where did the envoys meet?"},
        {"id": "q2", "kind": "factual", "question": "Where were the talks held?"},
    ]
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    options = {"embedding_model": "hashing", "relevance_floor": 0.0}  # always sent to the model
    assert record(fake_llm.url, questions, tmp_path / "out", set(), None, **options) == 0
    first, second = load(tmp_path / "out" / "q1.json"), load(tmp_path / "out" / "q2.json")
    assert first.model == "fake-model" and first.question == rows[0]["question"]
    [exchange] = first.exchanges
    assert exchange.text() == "Envoys met [1].\n<<<NOTES\n{}"
    assert exchange.pieces()[:3] == ["Env", "oys", " me"]
    assert exchange.chunks[-1].data == "[DONE]"
    assert exchange.request == fake_llm.chat_requests()[0].body  # forwarded unchanged
    [other] = second.exchanges  # nothing of the first question's leaks into the second
    assert other.text() == "In the hall [2]." and rows[1]["question"] in json.dumps(other.request)
    assert str(SHIPPED) not in json.dumps(exchange.request)  # no local paths recorded


def test_proxy_passes_errors_through_and_records_them(fake_llm: FakeOpenAI) -> None:
    fake_llm.queue(Reply.error(422, "response_format not supported"))
    with RecordingProxy(fake_llm.url) as proxy:
        model = OpenAIChatModel(
            model="m",
            api_key=None,
            base_url=proxy.url,
            temperature=0,
            timeout=10,
            max_retries=0,
            max_tokens=64,
        )
        with pytest.raises(Exception, match="response_format not supported"):
            list(model.stream([("user", "hi")]))
        [exchange] = proxy.take()
    assert exchange.status == 422 and "not supported" in (exchange.body or "")
