"""A scripted OpenAI-compatible server on 127.0.0.1, so the real client stack is tested offline.

Replies are queued FIFO; each request pops one (or gets the default reply). Streams use
HTTP/1.1 chunked encoding, so a truncated reply is a real mid-body connection drop, just as a
crashed or overloaded server would produce.

Replay: `play(cassette)` makes the server answer a request that matches one recorded in the
cassette (same messages, same structured-output fields) with the recorded events, byte for
byte; a request that matches none gets HTTP 400 naming the command that re-records. A
queued `Reply.recorded(exchange)` serves an exchange whatever the request.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.cassette import Cassette, Exchange

_ERROR_TYPES = {
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "permission_denied"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", "overloaded"),
}


@dataclass(frozen=True)
class Reply:
    """One scripted answer to one request.

    `retry_after_ms` is sent on error replies so the client's backoff stays in milliseconds;
    set it to None to exercise the client's own exponential backoff.
    """

    text: str = "Hello from the fake model."
    status: int = 200
    error_message: str = ""
    delay: float = 0.0
    truncate_after: int | None = None
    malformed_after: int | None = None
    chunk_size: int = 4
    retry_after_ms: int | None = 10
    finish_reason: str | None = "stop"  # None: a stream that ends cleanly but unfinished
    chunk_delay: float = 0.0  # seconds between streamed pieces: a model writing slowly
    stall_after: int | None = None  # streamed characters after which the server hangs
    stall: float = 0.0  # how long it hangs there
    recorded: Exchange | None = None  # served verbatim instead of `text`

    @classmethod
    def error(cls, status: int, message: str = "", retry_after_ms: int | None = 10) -> Reply:
        return cls(
            status=status,
            error_message=message or f"fake error {status}",
            retry_after_ms=retry_after_ms,
        )

    @classmethod
    def slow(cls, delay: float, text: str = "Late reply.") -> Reply:
        return cls(text=text, delay=delay)

    @classmethod
    def truncated(cls, text: str, after: int) -> Reply:
        """Streams `after` characters of `text`, then drops the connection without [DONE].

        Not streamed, the JSON body is cut after `after` bytes instead.
        """
        return cls(text=text, truncate_after=after)

    @classmethod
    def from_recording(cls, exchange: Exchange) -> Reply:
        """What a real server sent once: its status and events, replayed verbatim."""
        return cls(status=exchange.status, recorded=exchange)

    @classmethod
    def malformed(cls, text: str, after: int) -> Reply:
        """Streams `after` characters of `text`, then a chunk that is not JSON."""
        return cls(text=text, malformed_after=after)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout test, dropped stream) is expected, not a failure."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeOpenAI:
    """The server plus its script and request log; use as a context manager or via `fake_llm`."""

    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply()
        self.requests: list[RecordedRequest] = []
        self._replies: deque[Reply] = deque()
        self._recordings: list[Exchange] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        # A short poll keeps shutdown, paid once per test, at milliseconds.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def queue(self, *replies: Reply | str) -> None:
        with self._lock:
            self._replies.extend(Reply(text=r) if isinstance(r, str) else r for r in replies)

    def play(self, *cassettes: Cassette) -> None:
        """Answer requests that match the cassettes' recorded ones with the recorded replies."""
        with self._lock:
            self._recordings.extend(e for c in cassettes for e in c.exchanges)

    def recording_for(self, body: Any) -> Reply | None:
        """The recorded reply to this request, a 400 if none matches, None when not replaying."""
        with self._lock:
            if not self._recordings:
                return None
            key = replay_key(body)
            for exchange in self._recordings:
                if replay_key(exchange.request) == key:
                    return Reply.from_recording(exchange)
        return Reply.error(
            400,
            "no recorded reply matches this request (the prompt or protocol changed since "
            "the cassettes were recorded): re-record with `make record-cassettes`",
        )

    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def next_reply(self) -> Reply:
        with self._lock:
            return self._replies.popleft() if self._replies else self.default

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _handler_for(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: pytest output should show test failures, not access logs."""

        def do_GET(self) -> None:
            fake.record(RecordedRequest("GET", self.path, self._headers(), None))
            if self.path.rstrip("/").endswith("/models"):
                model = {"id": "fake-model", "object": "model", "created": 0, "owned_by": "fake"}
                self._send_json(200, {"object": "list", "data": [model]})
            else:
                self._send_json(404, _error_body(404, f"no route {self.path}"))

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                body = raw.decode("utf-8", "replace")
            fake.record(RecordedRequest("POST", self.path, self._headers(), body))
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send_json(404, _error_body(404, f"no route {self.path}"))
                return
            reply = fake.recording_for(body) or fake.next_reply()
            time.sleep(reply.delay)
            model = body.get("model", "fake-model") if isinstance(body, dict) else "fake-model"
            if reply.recorded is not None:
                self._replay(reply.recorded)
            elif reply.status != 200:
                headers = {}
                if reply.retry_after_ms is not None:
                    headers["retry-after-ms"] = str(reply.retry_after_ms)
                error = _error_body(reply.status, reply.error_message)
                self._send_json(reply.status, error, headers)
            elif isinstance(body, dict) and body.get("stream"):
                self._stream(reply, model)
            else:
                self._complete(reply, model)

        def _headers(self) -> dict[str, str]:
            return {name.lower(): value for name, value in self.headers.items()}

        def _send_json(
            self, status: int, payload: Any, headers: dict[str, str] | None = None
        ) -> None:
            self._send_bytes(status, json.dumps(payload).encode(), headers)

        def _send_bytes(
            self,
            status: int,
            data: bytes,
            headers: dict[str, str] | None = None,
            cut: int | None = None,
        ) -> None:
            """Send `data`; with `cut`, only its first bytes, then drop the connection."""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-request-id", f"req-{len(fake.requests)}")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data[:cut])
            if cut is not None:
                self._drop_connection()

        def _complete(self, reply: Reply, model: str) -> None:
            if reply.malformed_after is not None:
                self._send_bytes(200, b'{"id": "chatcmpl-fake", "choices": [')
                return
            payload = {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply.text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
            self._send_bytes(200, json.dumps(payload).encode(), cut=reply.truncate_after)

        def _stream(self, reply: Reply, model: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            cut = reply.malformed_after if reply.truncate_after is None else reply.truncate_after
            text = reply.text if cut is None else reply.text[:cut]
            self._event(_chunk(model, {"role": "assistant", "content": ""}))
            sent = 0
            for piece in _pieces(text, reply.chunk_size):
                if reply.stall_after is not None and sent >= reply.stall_after:
                    time.sleep(reply.stall)
                    reply = replace(reply, stall_after=None)
                self._event(_chunk(model, {"content": piece}))
                sent += len(piece)
                time.sleep(reply.chunk_delay)
            if reply.truncate_after is not None:
                self._drop_connection()
                return
            if reply.malformed_after is not None:
                self._write_chunk(b'data: {"id": "chatcmpl-fake", "choices": [{"delta": \n\n')
            else:
                if reply.finish_reason is not None:
                    self._event(_chunk(model, {}, finish_reason=reply.finish_reason))
                self._write_chunk(b"data: [DONE]\n\n")
            self._write_chunk(b"")

        def _replay(self, exchange: Exchange) -> None:
            """The recorded status and body, or each recorded event as the server wrote it."""
            if exchange.body is not None or exchange.status != 200:
                self._send_bytes(exchange.status, (exchange.body or "").encode())
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in exchange.chunks:
                self._write_chunk(f"data: {chunk.data}\n\n".encode())
            self._write_chunk(b"")

        def _event(self, payload: dict[str, Any]) -> None:
            self._write_chunk(f"data: {json.dumps(payload)}\n\n".encode())

        def _write_chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _drop_connection(self) -> None:
            """Close mid-body: the chunked stream never gets its terminating zero-length chunk."""
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True

    return Handler


def replay_key(body: Any) -> str:
    """What decides a model's reply: the messages and any structured-output fields.

    The model name, sampling options and client headers are left out, so a test may name
    its model as it likes; a changed prompt is a different request.
    """
    if not isinstance(body, dict):
        return ""
    relevant = {k: body.get(k) for k in ("messages", "response_format", "format")}
    return json.dumps(relevant, sort_keys=True)


def _pieces(text: str, size: int) -> Iterator[str]:
    step = max(size, 1)
    for i in range(0, len(text), step):
        yield text[i : i + step]


def _chunk(model: str, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def _error_body(status: int, message: str) -> dict[str, Any]:
    kind, code = _ERROR_TYPES.get(status, ("invalid_request_error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


@pytest.fixture
def fake_llm() -> Iterator[FakeOpenAI]:
    """A running fake server for one test; shut down (port released) on teardown."""
    with FakeOpenAI() as server:
        yield server
