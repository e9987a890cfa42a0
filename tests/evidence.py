"""Evidence records for unit tests: one way to make a passage or a citation by hand."""

from __future__ import annotations

from assistant.records import Citation, Passage, Source


def make_passage(
    chunk_id: str,
    text: str,
    *,
    source_id: str | None = None,
    title: str = "A title",
    outlet: str = "The Outlet",
    author: str | None = None,
    published: str | None = None,
    url: str | None = None,
) -> Passage:
    source = Source(source_id or chunk_id.split(":")[0], title, outlet, author, published, url)
    return Passage(chunk_id=chunk_id, source=source, text=text, start=0, end=len(text))


def make_citation(quote: str, passage: Passage, *, n: int = 1, verified: bool = True) -> Citation:
    return Citation(n=n, passage=passage, quote=quote, verified=verified)
