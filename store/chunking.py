"""Paragraph- and sentence-aware chunks with stable ids and offsets into the cleaned text."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from store.articles import SourceMeta

CHUNK_SIZE = 900
CHUNK_OVERLAP = 120
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]


@dataclass(frozen=True)
class Chunk:
    id: str
    source: SourceMeta
    position: int
    text: str
    start: int
    end: int


def content_hash(text: str, length: int = 12) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def chunk_id(source_id: str, position: int, text: str) -> str:
    """Stable: the same source, place and text give the same id on every ingest."""
    return f"{source_id}:{position:04d}:{content_hash(text, 10)}"


_splitter = RecursiveCharacterTextSplitter(
    chunk_size=CHUNK_SIZE,
    chunk_overlap=CHUNK_OVERLAP,
    separators=SEPARATORS,
    keep_separator="end",
    add_start_index=True,
    strip_whitespace=True,
)


def chunk_text(source: SourceMeta, text: str) -> list[Chunk]:
    chunks = []
    for position, doc in enumerate(_splitter.create_documents([text])):
        start = doc.metadata["start_index"]
        body = doc.page_content
        chunks.append(
            Chunk(
                id=chunk_id(source.id, position, body),
                source=source,
                position=position,
                text=body,
                start=start,
                end=start + len(body),
            )
        )
    return chunks
