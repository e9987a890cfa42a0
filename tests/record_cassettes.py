"""Record what a real model answers to Parallax, for the tests to replay.

    python -m tests.record_cassettes --base-url http://127.0.0.1:8080/v1 [--set held-out] [--only d01,d02]

Parallax's own pipeline (shipped articles in a temporary store, the real embedding model,
the real client) asks each question through a recording proxy in front of the server; the
proxy keeps every request body and every streamed event verbatim and writes one cassette per
question into tests/cassettes/<set>/. Re-run it whenever the prompt or protocol changes:
the replay tests match requests exactly, so stale cassettes fail loudly instead of testing a
conversation Parallax no longer has.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from assistant.evaluation import EVAL_SETS, load_questions, seed_library
from assistant.service import Assistant
from assistant.settings import REPO_ROOT, Settings
from tests.cassette import CASSETTE_DIR, Cassette, Chunk, Exchange


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client closing its kept-alive connection is routine, not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class RecordingProxy:
    """Forwards /v1/* to the real server unchanged and keeps a copy of each exchange."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream.rstrip("/"))
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or (443 if parts.scheme == "https" else 80)
        self.upstream_prefix = parts.path  # e.g. /v1
        self.https = parts.scheme == "https"
        self.exchanges: list[Exchange] = []
        self._in_flight = 0
        self._done = threading.Condition()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def take(self) -> list[Exchange]:
        """The exchanges since the last call, once every request under way has finished.

        The client is done at `[DONE]`, a moment before the proxy has closed the stream and
        kept the exchange; taking without waiting would give it to the next question.
        """
        with self._done:
            self._done.wait_for(lambda: self._in_flight == 0, timeout=60)
            taken, self.exchanges = self.exchanges, []
        return taken

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return kind(self.upstream_host, self.upstream_port, timeout=timeout)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the recorder prints one line per question."""

            def do_POST(self) -> None:
                with proxy._done:
                    proxy._in_flight += 1
                exchange = None
                try:
                    exchange = self._forward()
                finally:
                    with proxy._done:
                        proxy._in_flight -= 1
                        if exchange is not None:
                            proxy.exchanges.append(exchange)
                        proxy._done.notify_all()

            def _forward(self) -> Exchange:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = json.loads(raw)
                path = proxy.upstream_prefix + self.path.removeprefix("/v1")
                upstream = proxy._connect(timeout=1800)
                headers = {"Content-Type": "application/json"}
                if auth := self.headers.get("Authorization"):
                    headers["Authorization"] = auth
                sent = time.perf_counter()
                upstream.request("POST", path, body=raw, headers=headers)
                reply = upstream.getresponse()
                streamed = "text/event-stream" in (reply.getheader("Content-Type") or "")
                if reply.status != 200 or not streamed:
                    body = reply.read()
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    exchange = Exchange(request, reply.status, body=body.decode("utf-8"))
                else:
                    exchange = Exchange(request, 200, chunks=self._relay(reply, sent))
                upstream.close()
                return exchange

            def _relay(self, reply: http.client.HTTPResponse, sent: float) -> list[Chunk]:
                """Pass each event on as it arrives; keep its `data:` payload as written."""
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunks = []
                for line in reply:
                    text = line.decode("utf-8").rstrip("\r\n")
                    if not text.startswith("data:"):
                        continue
                    data = text[5:].removeprefix(" ")
                    chunks.append(Chunk(round(time.perf_counter() - sent, 3), data))
                    event = f"data: {data}\n\n".encode()
                    try:
                        self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
                        self.wfile.flush()
                    except ConnectionError:  # the client stopped reading (a loop it ended)
                        self.close_connection = True
                        return chunks
                self.wfile.write(b"0\r\n\r\n")
                return chunks

        return Handler


def served_model(base_url: str) -> str:
    """The first model the server lists: llama.cpp serves exactly one."""
    with urllib.request.urlopen(f"{base_url.rstrip('/')}/models", timeout=30) as response:
        return str(json.load(response)["data"][0]["id"])


def record(
    base_url: str,
    questions_path: Path,
    out_dir: Path,
    only: set[str],
    model: str | None,
    articles: Path | None = None,
    **overrides: object,
) -> int:
    """Record each question's exchanges over the shipped articles plus `articles` (a
    question set's own); `overrides` are Settings fields (tests use them)."""
    model = model or served_model(base_url)
    questions = [q for q in load_questions(questions_path) if not only or q.id in only]
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, RecordingProxy(base_url) as proxy:
        settings = Settings(
            _env_file=None,
            articles_dir=seed_library(REPO_ROOT / "articles", articles, Path(tmp) / "seed"),
            library_dir=Path(tmp) / "library",
            chroma_path=Path(tmp) / "chroma",
            chroma_host=None,
            llm="auto",
            openai_api_key=None,
            openai_base_url=proxy.url,
            llm_model=model,
            llm_timeout=1800,  # a 1.5B model on two busy cores takes minutes per answer
            llm_max_retries=0,
            **overrides,
        )
        assistant = Assistant(settings)
        assistant.ensure_ingested()
        for question in questions:
            started = time.perf_counter()
            answer = assistant.ask(question.question)
            exchanges = proxy.take()
            seconds = time.perf_counter() - started
            if not exchanges:
                print(f"{question.id}: not sent to the model (retrieval: not covered); skipped")
                continue
            cassette = Cassette(question.id, question.question, model, exchanges)
            (out_dir / f"{question.id}.json").write_text(cassette.to_json(), encoding="utf-8")
            chunks = sum(len(e.chunks) for e in exchanges)
            flag = " (incomplete)" if answer.incomplete else ""
            print(f"{question.id}: {chunks} chunks in {seconds:.0f} s{flag}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="the real server, e.g. .../v1")
    parser.add_argument("--set", default="dev", choices=[s.name for s in EVAL_SETS])
    parser.add_argument("--only", default="", help="comma-separated question ids")
    parser.add_argument("--model", default=None, help="model name (default: the server's)")
    args = parser.parse_args(argv)
    eval_set = next(s for s in EVAL_SETS if s.name == args.set)
    only = {q for q in args.only.split(",") if q}
    out = CASSETTE_DIR / eval_set.name
    return record(args.base_url, eval_set.questions, out, only, args.model, eval_set.articles)


if __name__ == "__main__":
    sys.exit(main())
