"""Tests for assistant.chat_model: the real ChatOpenAI stack against the fake server."""

from __future__ import annotations

import json
import re
import time
import traceback
import urllib.request
from collections.abc import Callable

import pytest

from assistant.chat_model import (
    OPENAI_API_URL,
    PLACEHOLDER_API_KEY,
    Message,
    OpenAIChatModel,
    ScriptedChatModel,
    StreamInterrupted,
    StructuredRequest,
    make_chat_model,
)
from assistant.errors import LLMAuthError, LLMError, LLMTimeoutError, LLMUnavailableError
from assistant.settings import Settings
from tests.fake_openai import FakeOpenAI, Reply

KEY = "sk-test-NEVER-SHOW-7f3a9c"
MESSAGES: list[Message] = [
    ("system", "Answer from the sources {only}."),
    ("user", "What do the outlets say?"),
    ("assistant", "Which outlets?"),
    ("user", "All of them."),
]
ANSWER = 'The outlets disagree about talks [1][2].\n<<<NOTES\n{"answerable": true}'


def make_model(fake: FakeOpenAI, **overrides: object) -> OpenAIChatModel:
    options: dict = {
        "model": "gpt-fake",
        "api_key": KEY,
        "base_url": fake.url,
        "temperature": 0.1,
        "timeout": 5.0,
        "max_retries": 2,
        "max_tokens": 256,
    }
    options.update(overrides)
    return OpenAIChatModel(**options)


def test_stream_arrives_in_pieces_and_request_carries_model_and_messages(
    fake_llm: FakeOpenAI,
) -> None:
    fake_llm.queue(ANSWER)
    pieces = list(make_model(fake_llm).stream(MESSAGES))
    assert len(pieces) > 5 and "".join(pieces) == ANSWER
    [request] = fake_llm.chat_requests()
    assert request.body["model"] == "gpt-fake" and request.body["stream"] is True
    assert request.body["temperature"] == 0.1
    assert [(m["role"], m["content"]) for m in request.body["messages"]] == MESSAGES
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_always_chat_completions_even_for_codex_names(fake_llm: FakeOpenAI) -> None:
    fake_llm.queue("Done.")
    assert "".join(make_model(fake_llm, model="local-codex").stream(MESSAGES)) == "Done."
    assert [r.path for r in fake_llm.requests] == ["/v1/chat/completions"]


def test_complete_is_not_streamed(fake_llm: FakeOpenAI) -> None:
    fake_llm.queue("A short title")
    assert make_model(fake_llm).complete(MESSAGES[:2]) == "A short title"
    [request] = fake_llm.chat_requests()
    assert not request.body.get("stream")
    assert request.body["model"] == "gpt-fake"


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_key_raises_auth_error_without_retrying(fake_llm: FakeOpenAI, status: int) -> None:
    fake_llm.queue(Reply.error(status, "Incorrect API key provided"))
    with pytest.raises(LLMAuthError, match="OPENAI_API_KEY"):
        list(make_model(fake_llm).stream(MESSAGES))
    assert len(fake_llm.chat_requests()) == 1


def test_rate_limit_is_retried_then_succeeds(fake_llm: FakeOpenAI) -> None:
    fake_llm.queue(Reply.error(429, "Rate limit reached"), "Finally.")
    assert "".join(make_model(fake_llm).stream(MESSAGES)) == "Finally."
    requests = fake_llm.chat_requests()
    assert len(requests) == 2
    assert [r.headers["x-stainless-retry-count"] for r in requests] == ["0", "1"]


@pytest.mark.parametrize("status", [500, 503])
def test_persistent_server_error_gives_unavailable_after_retries(
    fake_llm: FakeOpenAI, status: int
) -> None:
    fake_llm.queue(*[Reply.error(status, "The server is overloaded")] * 3)
    with pytest.raises(LLMUnavailableError, match=f"HTTP {status}: The server is overloaded"):
        make_model(fake_llm).complete(MESSAGES)
    assert len(fake_llm.chat_requests()) == 3


def test_client_backs_off_exponentially_without_retry_after(fake_llm: FakeOpenAI) -> None:
    fake_llm.queue(Reply.error(503, retry_after_ms=None), "Recovered.")
    started = time.monotonic()
    assert make_model(fake_llm, max_retries=1).complete(MESSAGES) == "Recovered."
    assert time.monotonic() - started >= 0.3  # 0.5 s minus at most 25 % jitter


def test_other_client_errors_are_reported_not_retried(fake_llm: FakeOpenAI) -> None:
    fake_llm.queue(Reply.error(404, "The model `gpt-fake` does not exist"))
    with pytest.raises(LLMError, match="HTTP 404: The model `gpt-fake` does not exist") as info:
        make_model(fake_llm).complete(MESSAGES)
    assert not isinstance(info.value, LLMUnavailableError)
    assert len(fake_llm.chat_requests()) == 1


def test_slow_server_times_out_after_retries(fake_llm: FakeOpenAI) -> None:
    fake_llm.queue(Reply.slow(3.0), Reply.slow(3.0))
    started = time.monotonic()
    with pytest.raises(LLMTimeoutError, match=r"0\.25 s"):
        list(make_model(fake_llm, timeout=0.25, max_retries=1).stream(MESSAGES))
    assert len(fake_llm.chat_requests()) == 2  # a timeout is retried like a 5xx
    assert time.monotonic() - started < 2.5  # two timeouts and one backoff, not the delay


def test_truncated_stream_raises_with_partial_text(fake_llm: FakeOpenAI) -> None:
    fake_llm.queue(Reply.truncated(ANSWER, after=20))
    received: list[str] = []
    with pytest.raises(StreamInterrupted) as info:
        received.extend(make_model(fake_llm).stream(MESSAGES))
    assert info.value.partial_text == ANSWER[:20] == "".join(received)
    assert "20 characters" in str(info.value)
    assert len(fake_llm.chat_requests()) == 1  # a broken stream is never silently replayed


def test_malformed_chunk_midway_raises_with_partial_text(fake_llm: FakeOpenAI) -> None:
    fake_llm.queue(Reply.malformed(ANSWER, after=12))
    with pytest.raises(StreamInterrupted, match="malformed chunk") as info:
        list(make_model(fake_llm).stream(MESSAGES))
    assert info.value.partial_text == ANSWER[:12]


def test_stream_ending_without_finish_reason_is_interrupted(fake_llm: FakeOpenAI) -> None:
    fake_llm.queue(Reply(text="Cut short by the server", finish_reason=None))
    with pytest.raises(StreamInterrupted, match="ended early") as info:
        list(make_model(fake_llm).stream(MESSAGES))
    assert info.value.partial_text == "Cut short by the server"


def test_stream_broken_before_any_text_is_unavailable(fake_llm: FakeOpenAI) -> None:
    fake_llm.queue(Reply.truncated(ANSWER, after=0))
    with pytest.raises(LLMUnavailableError, match=r"connection to .* failed"):
        list(make_model(fake_llm).stream(MESSAGES))


def test_malformed_complete_reply_is_unavailable(fake_llm: FakeOpenAI) -> None:
    fake_llm.queue(Reply.malformed("x", after=0))
    with pytest.raises(LLMUnavailableError, match="malformed reply"):
        make_model(fake_llm, max_retries=0).complete(MESSAGES)


def test_server_gone_is_unavailable() -> None:
    with FakeOpenAI() as fake:
        model = make_model(fake, max_retries=0)
    with pytest.raises(LLMUnavailableError, match=re.escape(f"connection to {fake.url} failed")):
        model.complete(MESSAGES)


def _stream_all(model: OpenAIChatModel) -> None:
    list(model.stream(MESSAGES))


def _complete(model: OpenAIChatModel) -> None:
    model.complete(MESSAGES)


@pytest.mark.parametrize(
    "reply",
    [
        Reply.error(401, f"Incorrect API key provided: {KEY}"),
        Reply.error(500, f"internal error while serving key {KEY}"),
        Reply.error(404, f"model not found for {KEY}"),
        Reply.truncated("Some text", after=4),
    ],
    ids=["401", "500", "404", "truncated"],
)
@pytest.mark.parametrize("call", [_stream_all, _complete], ids=["stream", "complete"])
def test_key_never_appears_in_errors(
    fake_llm: FakeOpenAI,
    caplog: pytest.LogCaptureFixture,
    reply: Reply,
    call: Callable[[OpenAIChatModel], None],
) -> None:
    fake_llm.default = reply
    model = make_model(fake_llm, max_retries=0)
    with caplog.at_level("DEBUG"), pytest.raises(LLMError) as info:
        call(model)
    shown = "".join(traceback.format_exception(info.value)) + repr(info.value) + repr(model)
    assert KEY not in shown
    assert info.value.__cause__ is None and info.value.__context__ is None
    assert caplog.records and KEY not in caplog.text
    assert "***" in shown or reply.status in (200, 401)


def test_models_endpoint(fake_llm: FakeOpenAI) -> None:
    with urllib.request.urlopen(f"{fake_llm.url}/models", timeout=5) as response:
        listing = json.load(response)
    assert listing["data"][0]["id"] == "fake-model"
    assert fake_llm.requests[-1].path == "/v1/models"


# make_chat_model


def settings(**values: object) -> Settings:
    base: dict[str, object] = {"llm": "auto", "openai_api_key": None, "openai_base_url": None}
    return Settings(_env_file=None, **{**base, **values})


def test_make_chat_model_off_or_unconfigured_is_extractive() -> None:
    assert make_chat_model(settings()) is None
    assert make_chat_model(settings(llm="off", openai_api_key="sk-x")) is None


def test_make_chat_model_local_server_gets_placeholder_key(fake_llm: FakeOpenAI) -> None:
    fake_llm.queue("Local reply.")
    model = make_chat_model(
        settings(openai_base_url=fake_llm.url, llm_model="llama3", llm_timeout=5.0)
    )
    assert model is not None and model.name == "llama3"
    assert "".join(model.stream(MESSAGES)) == "Local reply."
    [request] = fake_llm.chat_requests()
    assert request.headers["authorization"] == f"Bearer {PLACEHOLDER_API_KEY}"
    assert request.body["model"] == "llama3"


def test_make_chat_model_uses_the_key(fake_llm: FakeOpenAI) -> None:
    model = make_chat_model(settings(openai_api_key=KEY, openai_base_url=fake_llm.url))
    assert model is not None
    model.complete(MESSAGES)
    assert fake_llm.chat_requests()[0].headers["authorization"] == f"Bearer {KEY}"


def test_unknown_role_is_rejected(fake_llm: FakeOpenAI) -> None:
    with pytest.raises(ValueError, match="unknown message role 'tool'"):
        make_model(fake_llm).complete([("tool", "x")])


# ScriptedChatModel


def test_scripted_model_replays_and_records() -> None:
    model = ScriptedChatModel(["First reply, streamed.", "Second.", LLMTimeoutError(3)])
    assert "".join(model.stream(MESSAGES)) == "First reply, streamed."
    assert model.complete(MESSAGES[:1]) == "Second."
    with pytest.raises(LLMTimeoutError):
        model.complete(MESSAGES)
    assert model.calls == [MESSAGES, MESSAGES[:1], MESSAGES]
    with pytest.raises(AssertionError, match="ran out"):
        model.complete(MESSAGES)


def test_scripted_interruption_streams_partial_text_first() -> None:
    model = ScriptedChatModel([StreamInterrupted("Half an ans")], chunk_size=3)
    received: list[str] = []
    with pytest.raises(StreamInterrupted):
        received.extend(model.stream(MESSAGES))
    assert received == ["Hal", "f a", "n a", "ns"]


def test_environment_cannot_redirect_the_key_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings are the only source of the server address: ChatOpenAI would otherwise honour
    OPENAI_API_BASE or LANGSMITH_GATEWAY and send the key there."""
    monkeypatch.setenv("OPENAI_API_BASE", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("LANGSMITH_GATEWAY", "http://127.0.0.1:9/gateway")
    model = OpenAIChatModel(
        model="gpt-fake",
        api_key=KEY,
        base_url=None,
        temperature=0,
        timeout=1,
        max_retries=0,
        max_tokens=64,
    )
    assert model._llm.openai_api_base == OPENAI_API_URL


# ---- token limit, loops and structured output ------------------------------------------------

JSON_OPTIONS = (
    {"response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {}}}},
    {"response_format": {"type": "json_object", "schema": {}}},
)
PROSE_PROMPT: list[Message] = [("user", "Answer in prose, then <<<NOTES.")]
JSON_PROMPT: list[Message] = [("user", "Answer in JSON.")]
STRUCTURED = StructuredRequest(messages=JSON_PROMPT, options=JSON_OPTIONS, fallback=PROSE_PROMPT)


def test_every_request_to_a_compatible_server_carries_the_token_limit(
    fake_llm: FakeOpenAI,
) -> None:
    """llama.cpp reads only `max_tokens`; OpenAI's newer name goes along for the others."""
    fake_llm.queue("Streamed.", "Completed.")
    model = make_model(fake_llm)
    list(model.stream(MESSAGES))
    model.complete(MESSAGES)
    for request in fake_llm.chat_requests():
        assert request.body["max_tokens"] == 256
        assert request.body["max_completion_tokens"] == 256


def test_reply_cut_at_the_token_limit_is_marked_incomplete(fake_llm: FakeOpenAI) -> None:
    fake_llm.queue(Reply(text="A long answer that ran", finish_reason="length"))
    with pytest.raises(StreamInterrupted, match="PARALLAX_LLM_MAX_TOKENS") as info:
        list(make_model(fake_llm).stream(MESSAGES))
    assert info.value.partial_text == "A long answer that ran"


def test_a_looping_reply_is_ended_early_and_marked_incomplete(fake_llm: FakeOpenAI) -> None:
    loop = "".join(
        f'"{n}": "the same quote over and over again, word for word",\n' for n in range(200)
    )
    fake_llm.queue(Reply(text="Intro.\n" + loop, chunk_size=8))
    received: list[str] = []
    with pytest.raises(StreamInterrupted, match="repeating itself") as info:
        received.extend(make_model(fake_llm).stream(MESSAGES))
    assert info.value.partial_text == "".join(received)
    assert len(info.value.partial_text) < len(loop) / 10  # stopped within lines, not at the end


def test_structured_options_go_in_the_request_body(fake_llm: FakeOpenAI) -> None:
    fake_llm.queue('{"answer": "Yes [1]."}')
    reply = make_model(fake_llm).stream_structured(STRUCTURED)
    assert "".join(reply) == '{"answer": "Yes [1]."}' and reply.structured
    [request] = fake_llm.chat_requests()
    assert request.body["response_format"] == JSON_OPTIONS[0]["response_format"]
    assert request.body["max_tokens"] == 256  # the limit survives the extra fields
    assert request.body["messages"] == [{"role": "user", "content": "Answer in JSON."}]


def test_a_server_refusing_every_schema_form_gets_prose_and_is_remembered(
    fake_llm: FakeOpenAI,
) -> None:
    fake_llm.queue(
        Reply.error(422, "response_format: input should be 'text' or 'json_object'"),
        Reply.error(400, "unknown field: response_format"),
        "Prose [1].\n<<<NOTES\n{}",
        "Prose again [1].",
    )
    model = make_model(fake_llm)
    first = model.stream_structured(STRUCTURED)
    assert "".join(first) == "Prose [1].\n<<<NOTES\n{}" and first.structured is False
    second = model.stream_structured(STRUCTURED)
    assert second.structured is False and "".join(second) == "Prose again [1]."
    bodies = [r.body for r in fake_llm.chat_requests()]
    assert [b.get("response_format") for b in bodies] == [
        JSON_OPTIONS[0]["response_format"],
        JSON_OPTIONS[1]["response_format"],
        None,
        None,  # the second answer did not ask again
    ]
    assert bodies[2]["messages"][0]["content"] == PROSE_PROMPT[0][1]


def test_a_server_error_naming_the_schema_field_counts_as_a_refusal(fake_llm: FakeOpenAI) -> None:
    """llama-cpp-python answers `json_schema` with HTTP 500 and a validation message."""
    refusal = Reply.error(500, "('body', 'response_format', 'type'): Input should be 'text'")
    fake_llm.queue(*[refusal] * 3, '{"answer": "D"}')  # the client retries a 500 twice
    reply = make_model(fake_llm).stream_structured(STRUCTURED)
    assert "".join(reply) == '{"answer": "D"}' and reply.structured
    formats = [r.body["response_format"]["type"] for r in fake_llm.chat_requests()]
    assert formats == ["json_schema"] * 3 + ["json_object"]


def test_the_schema_form_a_server_takes_is_remembered(fake_llm: FakeOpenAI) -> None:
    fake_llm.queue(
        Reply.error(422, "json_schema not supported"), '{"answer": "A"}', '{"answer": "B"}'
    )
    model = make_model(fake_llm)
    assert "".join(model.stream_structured(STRUCTURED)) == '{"answer": "A"}'
    assert "".join(model.stream_structured(STRUCTURED)) == '{"answer": "B"}'
    formats = [r.body["response_format"]["type"] for r in fake_llm.chat_requests()]
    assert formats == ["json_schema", "json_object", "json_object"]


def test_a_400_that_prose_gets_too_is_reported_not_taken_for_a_refusal(
    fake_llm: FakeOpenAI,
) -> None:
    """A prompt over the context limit fails every way; the server's schema support is
    still unknown, so the next answer asks for JSON again."""
    fake_llm.queue(
        *[Reply.error(400, "the prompt exceeds the context window")] * 3, '{"answer": "C"}'
    )
    model = make_model(fake_llm)
    with pytest.raises(LLMError, match="exceeds the context window"):
        list(model.stream_structured(STRUCTURED))
    reply = model.stream_structured(STRUCTURED)
    assert "".join(reply) == '{"answer": "C"}' and reply.structured
    assert fake_llm.chat_requests()[-1].body["response_format"]["type"] == "json_schema"


def test_scripted_model_reports_the_protocol_it_was_given() -> None:
    prose = ScriptedChatModel(["Prose."], structured=False)
    reply = prose.stream_structured(STRUCTURED)
    assert not reply.structured and "".join(reply) == "Prose."
    assert prose.calls == [PROSE_PROMPT]
