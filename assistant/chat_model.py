"""The seam between Parallax and a chat model.

Everything above this module sees plain `(role, content)` messages, text tokens and the
`LLMError` family; nothing above it imports openai or langchain, and no error raised here
carries the API key.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import openai
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from assistant.errors import LLMAuthError, LLMError, LLMTimeoutError, LLMUnavailableError
from assistant.protocol import ANSWER_SCHEMA, RepetitionGuard, request_options, structured_options

if TYPE_CHECKING:
    from assistant.settings import Settings

Message = tuple[str, str]
"""(role, content) with role in {"system", "user", "assistant"}."""

# Local OpenAI-compatible servers (Ollama, llama.cpp, vLLM) ignore the key, but the client
# refuses to start without one.
PLACEHOLDER_API_KEY = "unused"
OPENAI_API_URL = "https://api.openai.com/v1"

_ROLES: dict[str, type[BaseMessage]] = {
    "system": SystemMessage,
    "user": HumanMessage,
    "assistant": AIMessage,
}
# What a broken reply looks like once the client is done with it: transport and API errors,
# or a chunk that is not JSON (the SDK's SSE decoder lets json's error through).
_REPLY_ERRORS = (openai.OpenAIError, json.JSONDecodeError)


class StreamInterrupted(LLMError):
    """The reply broke off after some text arrived; `partial_text` keeps it for the caller."""

    def __init__(self, partial_text: str, reason: str = "the connection dropped") -> None:
        self.partial_text = partial_text
        super().__init__(
            f"The model's reply broke off after {len(partial_text)} characters ({reason}); "
            "the answer shown may be incomplete. Ask again to get the full answer."
        )


@dataclass(frozen=True)
class StructuredRequest:
    """A request for a reply in JSON, and the prose request to send where that is refused.

    `options` are alternative sets of extra request fields that ask for schema-constrained
    output, in order of preference (`assistant.protocol.request_options` for each family in
    `NEGOTIATION_ORDER`); `fallback` is the prose-protocol prompt, sent instead when the
    server rejects every alternative with HTTP 400 (or 422).
    """

    messages: list[Message]
    options: tuple[dict[str, Any], ...]
    fallback: list[Message]


class Reply:
    """A streamed reply that says which protocol its text follows.

    Iterate for the text pieces. `structured` is True while the reply is the JSON asked for
    and becomes False when the server refused structured output and the prose fallback was
    sent instead; it is settled before the first piece is yielded.
    """

    def __init__(self, pieces: Iterator[str], structured: bool) -> None:
        self.structured = structured
        self._pieces = pieces

    def __iter__(self) -> Iterator[str]:
        return self._pieces


class ChatModel(Protocol):
    """What the assistant needs from a chat model: a name, a token stream, a full reply."""

    name: str
    structured_options: tuple[dict[str, Any], ...]
    """What `StructuredRequest.options` this model's server is offered; empty for prose only."""

    def stream(self, messages: list[Message]) -> Iterator[str]: ...

    def stream_structured(self, request: StructuredRequest) -> Reply: ...

    def complete(self, messages: list[Message]) -> str: ...


class StructuredOutputRefused(LLMError):
    """The server rejected the structured-output fields (raised and handled inside this module)."""


class OpenAIChatModel:
    """Any OpenAI-compatible server through `ChatOpenAI`, with its errors mapped to `LLMError`.

    Retries with exponential backoff on 408/409/429/5xx, timeouts and connection failures
    are the openai client's own (`max_retries`); they happen before the first token, so a
    stream that breaks later is reported, not silently replayed.

    Every request carries a token limit, so a reply that degenerates into a loop ends. OpenAI
    reads `max_completion_tokens` (ChatOpenAI's name for it); local servers (llama.cpp,
    older Ollama and vLLM) read only `max_tokens`, so both are sent to anything else.
    """

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None,
        base_url: str | None,
        temperature: float,
        timeout: float,
        max_retries: int,
        max_tokens: int,
        structured: bool = True,
    ) -> None:
        self.name = model
        self.structured_options = structured_options(base_url) if structured else ()
        self._secret = api_key or None
        self._timeout = timeout
        self._where = base_url or "the OpenAI API"
        self._max_tokens = max_tokens
        # Which structured-output alternative this server took (see `stream_structured`);
        # past the last one, it took none and replies go straight to prose.
        self._structured_choice = 0
        openai_itself = (base_url or OPENAI_API_URL).rstrip("/") == OPENAI_API_URL
        self._llm = ChatOpenAI(
            model=model,
            api_key=api_key or PLACEHOLDER_API_KEY,
            # Explicit even for OpenAI: left unset, ChatOpenAI reads OPENAI_API_BASE or
            # LANGSMITH_GATEWAY from the environment and would send the key there.
            base_url=base_url or OPENAI_API_URL,
            temperature=temperature,
            timeout=timeout,
            max_retries=max_retries,
            # Chat Completions is what every compatible server speaks; left alone, ChatOpenAI
            # switches to the Responses API for names containing "codex" or a few "-pro" ones.
            use_responses_api=False,
            max_tokens=max_tokens,
            extra_body=None if openai_itself else {"max_tokens": max_tokens},
        )

    def __repr__(self) -> str:
        return f"OpenAIChatModel(model={self.name!r}, where={self._where!r})"

    def stream(self, messages: list[Message]) -> Iterator[str]:
        """Yield text pieces as they arrive.

        Raises `StreamInterrupted` with the text so far if the stream breaks after the first
        piece, including a stream that ends without a finish reason (a server that closed
        the connection cleanly but early), one cut off at the token limit, and one that fell
        into a loop (`RepetitionGuard`), which is closed there.
        """
        return self._stream(messages, None)

    def stream_structured(self, request: StructuredRequest) -> Reply:
        """Stream a reply constrained to a schema; the prose fallback where that is refused.

        The alternatives in `request.options` are tried in order until the server takes
        one; the one it took is remembered for later requests, and so is a server that
        took none. A choice is remembered only once text arrives under it: a 400 for another
        reason (a prompt too long) fails every alternative and the fallback alike, and says
        nothing about the schema.

        The options go in the request body as they are (`extra_body`), not through
        ChatOpenAI's `response_format`, which switches to a client helper that parses the
        reply itself and fails on the incomplete JSON of a stream cut short.
        """
        options, first = request.options, self._structured_choice

        def pieces() -> Iterator[str]:
            for choice in range(first, len(options)):
                try:
                    for n, piece in enumerate(self._stream(request.messages, options[choice])):
                        self._structured_choice = choice if n == 0 else self._structured_choice
                        yield piece
                    return
                except StructuredOutputRefused:
                    continue
            reply.structured = False
            for n, piece in enumerate(self._stream(request.fallback, None)):
                self._structured_choice = len(options) if n == 0 else self._structured_choice
                yield piece

        reply = Reply(pieces(), structured=first < len(options))
        return reply

    def _stream(self, messages: list[Message], options: dict[str, Any] | None) -> Iterator[str]:
        received: list[str] = []
        finish_reason: str | None = None
        failure: Exception | None = None
        guard = RepetitionGuard()
        extra = {"extra_body": {**(self._llm.extra_body or {}), **options}} if options else {}
        chunks = self._llm.stream(_to_langchain(messages), **extra)
        try:
            for chunk in chunks:
                finish_reason = finish_reason or chunk.response_metadata.get("finish_reason")
                if text := str(chunk.text):
                    received.append(text)
                    yield text
                    if guard.feed(text):
                        break  # closing the stream below stops the server generating
        except _REPLY_ERRORS as exc:
            failure = exc
        finally:
            chunks.close()
        partial = "".join(received)
        if partial and guard.tripped:
            raise StreamInterrupted(partial, "the model began repeating itself")
        if partial and finish_reason == "length":
            limit = f"it reached the limit of {self._max_tokens} tokens, PARALLAX_LLM_MAX_TOKENS"
            raise StreamInterrupted(partial, limit)
        if finish_reason:
            return
        if options and not received and _refused(failure, options):
            raise StructuredOutputRefused(f"{self._where} does not take structured output")
        # Raised outside the handler: the client's error may quote the key, so it is not chained.
        if partial:
            reason = self._reason(failure) if failure else "the stream ended early"
            raise StreamInterrupted(partial, reason)
        raise (
            self._translate(failure)
            if failure
            else LLMUnavailableError(f"{self._where} sent an empty reply")
        )

    def complete(self, messages: list[Message]) -> str:
        try:
            return str(self._llm.invoke(_to_langchain(messages)).text)
        except _REPLY_ERRORS as exc:
            failure = exc
        raise self._translate(failure)  # outside the handler, so nothing is chained

    def _translate(self, exc: Exception) -> LLMError:
        """Map a client error to the assistant's family, keeping only scrubbed details."""
        if isinstance(exc, openai.APITimeoutError):
            return LLMTimeoutError(self._timeout)
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return LLMAuthError()
        if isinstance(exc, openai.APIStatusError):
            detail = f"HTTP {exc.status_code}: {self._server_message(exc)}"
            if exc.status_code in (408, 409, 429) or exc.status_code >= 500:
                return LLMUnavailableError(detail)
            return LLMError(
                f"The model server refused the request ({detail}). "
                "Check PARALLAX_LLM_MODEL and OPENAI_BASE_URL."
            )
        if isinstance(exc, openai.APIConnectionError):
            return LLMUnavailableError(f"connection to {self._where} failed")
        return LLMUnavailableError(f"malformed reply from {self._where}")

    def _reason(self, exc: Exception) -> str:
        if isinstance(exc, openai.APITimeoutError):
            return f"no data for {self._timeout:g} s"
        if isinstance(exc, json.JSONDecodeError):
            return "malformed chunk"
        if isinstance(exc, openai.APIConnectionError):
            return "the connection dropped"
        if isinstance(exc, openai.APIError):
            return f"server error: {self._server_message(exc)}"
        return type(exc).__name__

    def _server_message(self, exc: openai.APIError) -> str:
        """The server's own explanation, shortened and with the key scrubbed out."""
        body = exc.body
        message = body.get("message") if isinstance(body, dict) else None
        return self._scrub(message if isinstance(message, str) else exc.message)[:300]

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text


def _refused(failure: Exception | None, options: dict[str, Any]) -> bool:
    """Did the server refuse the structured-output fields? A 400 or 422 says so; so does
    any error that names one of them (llama-cpp-python answers an unknown `response_format`
    type with HTTP 500 and a validation message)."""
    if not isinstance(failure, openai.APIStatusError):
        return False
    return failure.status_code in (400, 422) or any(key in failure.message for key in options)


class ScriptedChatModel:
    """Replays canned replies in order and records every prompt, for tests of the layers above.

    A reply may be an `LLMError` to raise; a `StreamInterrupted` first streams its partial
    text, as the real model does. `structured` is what `stream_structured` reports: whether
    the scripted replies are the JSON protocol or the prose fallback.
    """

    def __init__(
        self,
        replies: Iterable[str | LLMError],
        *,
        name: str = "scripted",
        chunk_size: int = 5,
        structured: bool = True,
    ) -> None:
        self.name = name
        self.calls: list[list[Message]] = []
        self.structured = structured
        self.structured_options = (request_options("compatible", ANSWER_SCHEMA),)
        self._replies: deque[str | LLMError] = deque(replies)
        self._chunk_size = max(chunk_size, 1)

    def stream(self, messages: list[Message]) -> Iterator[str]:
        return self._replay(self._next(messages))

    def stream_structured(self, request: StructuredRequest) -> Reply:
        messages = request.messages if self.structured else request.fallback
        return Reply(self.stream(messages), structured=self.structured)

    def complete(self, messages: list[Message]) -> str:
        reply = self._next(messages)
        if isinstance(reply, LLMError):
            raise reply
        return reply

    def _next(self, messages: list[Message]) -> str | LLMError:
        self.calls.append(list(messages))
        if not self._replies:
            raise AssertionError(f"ScriptedChatModel ran out of replies at call {len(self.calls)}")
        return self._replies.popleft()

    def _replay(self, reply: str | LLMError) -> Iterator[str]:
        text = reply.partial_text if isinstance(reply, StreamInterrupted) else reply
        if isinstance(text, str):
            size = self._chunk_size
            yield from (text[i : i + size] for i in range(0, len(text), size))
        if isinstance(reply, LLMError):
            raise reply


def make_chat_model(settings: Settings) -> ChatModel | None:
    """The configured model, or None for extractive mode (PARALLAX_LLM=off or nothing set)."""
    if not settings.llm_enabled:
        return None
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    return OpenAIChatModel(
        model=settings.llm_model,
        api_key=key,
        base_url=settings.openai_base_url,
        temperature=settings.llm_temperature,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
        max_tokens=settings.llm_max_tokens,
        structured=settings.llm_protocol == "auto",
    )


def _to_langchain(messages: list[Message]) -> list[BaseMessage]:
    """Explicit message objects, so braces in article text are never read as a template."""
    try:
        return [_ROLES[role](content=content) for role, content in messages]
    except KeyError as exc:
        raise ValueError(f"unknown message role {exc.args[0]!r}; use {sorted(_ROLES)}") from None
