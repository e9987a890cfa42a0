"""Articles added by link: fetched from a real HTTP server on 127.0.0.1, cleaned like an
uploaded page, the URL kept; every failure is one line and loses nothing else."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from store.articles import ArticleSkipped
from store.fetch import fetch
from tests.conftest import CliRunner, cli_in
from tests.test_html import BODY, CHROME, PAGE

ROUTES: dict[str, tuple[int, str, bytes]] = {
    "/news/2024/05/ferry-pier-closes.html": (200, "text/html; charset=utf-8", PAGE.encode()),
    "/notes/plain": (200, "text/plain", ("\n\n".join(BODY) + "\n").encode()),
    "/photo.png": (200, "image/png", b"\x89PNG\r\n\x1a\n" + b"0" * 100),
    "/huge.html": (200, "text/html", b"<p>" + b"word " * 400_000 + b"</p>"),
}


class _Site(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(3)
        status, kind, body = ROUTES.get(self.path, (404, "text/html", b"<h1>Not found</h1>"))
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_link_is_ingested_with_the_page_metadata_and_its_url(site: str, tmp_path: Path) -> None:
    cli: CliRunner = cli_in(tmp_path)
    url = f"{site}/news/2024/05/ferry-pier-closes.html"
    done = cli.run("ingest", url, f"{site}/missing")
    assert done.code == 0, done.err
    assert "HTTP 404" in done.err and f"{site}/missing" in done.err  # one line, the rest goes on
    [source] = [s for s in cli.json("sources", "--json") if s["id"] == "ferry-pier-closes"]
    assert source["url"] == url
    assert source["title"] == "Old ferry pier to close for repairs"
    assert source["author"] == "Mara Lindqvist" and source["published"] == "2024-05-13"
    text = " ".join(c["text"] for c in cli.json("chunks", "--source", "ferry-pier-closes"))
    assert all(paragraph in text for paragraph in BODY)
    assert not any(junk in text for junk in CHROME)
    assert len(cli.json("sources", "--json")) == 6  # the five shipped articles are still there


def test_a_plain_text_link_is_stored_as_text(site: str) -> None:
    page = fetch(f"{site}/notes/plain", 1_000_000)
    assert page.filename == "plain.txt" and page.data.startswith(BODY[0][:20].encode())


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/missing", "HTTP 404"),
        ("/photo.png", "'image/png', not a web page"),
        ("/huge.html", "over the 1 MB limit"),
        ("/slow", "no answer within 1 s"),
    ],
)
def test_a_failed_fetch_is_one_line_naming_the_link_and_the_fix(
    site: str, path: str, expected: str
) -> None:
    with pytest.raises(ArticleSkipped) as failure:
        fetch(f"{site}{path}", 1_000_000, timeout=1.0)
    message = str(failure.value)
    assert expected in message and f"{site}{path}" in message and "\n" not in message


@pytest.mark.parametrize("link", ["ftp://example.org/a", "javascript:alert(1)", "example.org"])
def test_only_web_links_are_fetched(link: str) -> None:
    with pytest.raises(ArticleSkipped, match="not a web address"):
        fetch(link, 1_000_000)
