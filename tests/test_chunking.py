"""Tests for store.chunking: stable ids, offsets into the cleaned text, sizes, metadata."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store.articles import SourceMeta, load_manifest, read_article
from store.chunking import CHUNK_SIZE, Chunk, chunk_id, chunk_text, content_hash
from store.ingest import PreparedSource, prepare

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = ROOT / "articles"
SHIPPED_IDS = sorted(p.stem for p in ARTICLES.glob("*.txt"))
META = SourceMeta(
    id="synthetic-source",
    title="A synthetic article",
    outlet="Test Outlet",
    author="A. Writer",
    published="2025-01-02",
    url="https://example.org/a",
)


def shipped(stem: str) -> PreparedSource:
    manifest = load_manifest(ARTICLES)
    return prepare(read_article(ARTICLES / f"{stem}.txt", manifest.get(stem), 5_000_000))


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PARALLAX_", "OPENAI_"))}


def paragraphs(n: int) -> list[str]:
    return [
        f"Paragraph {i} says that the envoys met on day {i} and argued about the ceasefire line, "
        f"the sanctions regime and the guarantees that Kyiv wants before it signs anything at all. "
        * 2
        for i in range(n)
    ]


def test_chunk_id_is_source_position_and_content_hash() -> None:
    assert chunk_id("src", 3, "hello") == f"src:0003:{content_hash('hello', 10)}"
    assert chunk_id("src", 3, "hello") != chunk_id("src", 4, "hello")
    assert chunk_id("src", 3, "hello") != chunk_id("src", 3, "hellO")
    assert chunk_id("src", 3, "hello") != chunk_id("other", 3, "hello")


@pytest.mark.parametrize("stem", SHIPPED_IDS)
def test_ids_are_stable_within_a_process(stem: str) -> None:
    first = [c.id for c in shipped(stem).chunks]
    second = [c.id for c in shipped(stem).chunks]
    assert first == second
    assert len(set(first)) == len(first), "chunk ids of one source must be unique"
    assert all(cid.startswith(f"{stem}:") for cid in first)


@pytest.mark.slow  # a separate process
def test_ids_are_stable_across_processes() -> None:
    """No per-process salt (e.g. Python's hash()) may leak into the ids."""
    code = (
        "import json,sys\n"
        "from tests.test_chunking import shipped, SHIPPED_IDS\n"
        "json.dump({s: [c.id for c in shipped(s).chunks] for s in SHIPPED_IDS}, sys.stdout)\n"
    )
    runs = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", code],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
                env={**clean_env(), "PYTHONHASHSEED": str(seed)},
            ).stdout
        )
        for seed in (1, 2)
    ]
    assert runs[0] == runs[1]
    assert runs[0] == {s: [c.id for c in shipped(s).chunks] for s in SHIPPED_IDS}


def _containing(chunks: list[Chunk], start: int, end: int) -> set[str]:
    return {c.id for c in chunks if c.start < end and c.end > start}


def test_editing_one_paragraph_changes_only_the_chunks_containing_it() -> None:
    paras = paragraphs(12)
    text = "\n\n".join(paras)
    before = chunk_text(META, text)
    assert len(before) >= 4
    target = 5
    edited = paras[target].replace("ceasefire", "armistice", 1)
    assert edited != paras[target]
    new_text = "\n\n".join([*paras[:target], edited, *paras[target + 1 :]])
    after = chunk_text(META, new_text)

    start = text.index(paras[target])
    touched = _containing(before, start, start + len(paras[target]))
    assert touched, "the edited paragraph must be in some chunk"
    before_ids = {c.id for c in before}
    after_ids = {c.id for c in after}
    assert before_ids - after_ids == touched
    assert len(after_ids - before_ids) == len(touched)
    assert len(after) == len(before)


@pytest.mark.parametrize("stem", SHIPPED_IDS)
def test_word_edit_in_any_shipped_paragraph_only_touches_its_chunks(stem: str) -> None:
    prepared = shipped(stem)
    text = prepared.cleaned.text
    paras = text.split("\n\n")
    old_ids = {c.id for c in prepared.chunks}
    for i, para in enumerate(paras):
        words = para.split(" ")
        if len(words) < 3:
            continue
        edited = para.replace(words[1], words[1] + "x", 1)
        new_text = "\n\n".join([*paras[:i], edited, *paras[i + 1 :]])
        new_ids = {c.id for c in chunk_text(prepared.article.meta, new_text)}
        start = text.index(para)
        touched = _containing(prepared.chunks, start, start + len(para))
        assert old_ids - new_ids == touched, f"paragraph {i} of {stem}"


@pytest.mark.parametrize("stem", SHIPPED_IDS)
def test_offsets_slice_the_cleaned_text(stem: str) -> None:
    prepared = shipped(stem)
    text = prepared.cleaned.text
    previous_end = -1
    for position, chunk in enumerate(prepared.chunks):
        assert chunk.position == position
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.start >= previous_end - 120, "chunks come in text order"
        previous_end = chunk.end
    # Together the chunks cover every word of the cleaned text.
    covered = [False] * len(text)
    for chunk in prepared.chunks:
        covered[chunk.start : chunk.end] = [True] * (chunk.end - chunk.start)
    uncovered = "".join(ch for ch, c in zip(text, covered, strict=True) if not c)
    assert uncovered.strip() == ""


_WORDS = st.sampled_from(
    ["alpha", "beta", "gamma.", "war,", "peace;", "Kyiv!", "talks?", "x" * 60, "—", "é"]
)
_PARAGRAPH = st.lists(_WORDS, min_size=1, max_size=250).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(_PARAGRAPH, min_size=1, max_size=10))
def test_offsets_hold_for_any_text_including_repeats(paras: list[str]) -> None:
    text = "\n\n".join(paras)
    chunks = chunk_text(META, text)
    assert chunks
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert 0 < len(chunk.text) <= CHUNK_SIZE
    assert len({c.id for c in chunks}) == len(chunks)


def test_sizes_on_shipped_articles() -> None:
    """Roughly 400-900 characters; only a last chunk (or a lone paragraph that cannot be merged
    without crossing the 900 cap) may be shorter."""
    sizes = []
    for stem in SHIPPED_IDS:
        chunks = shipped(stem).chunks
        assert len(chunks) >= 3
        assert all(len(c.text) <= CHUNK_SIZE for c in chunks), stem
        body = [len(c.text) for c in chunks[:-1]]
        assert min(body) >= 150, (stem, body)
        sizes.extend(body)
    in_range = [s for s in sizes if 400 <= s <= CHUNK_SIZE]
    assert len(in_range) >= 0.9 * len(sizes), sizes
    assert 500 <= sum(sizes) / len(sizes) <= CHUNK_SIZE


def test_long_paragraph_is_split_within_the_cap() -> None:
    text = " ".join(f"Sentence number {i} is about the talks." for i in range(200))
    chunks = chunk_text(META, text)
    assert len(chunks) > 5
    assert all(len(c.text) <= CHUNK_SIZE for c in chunks)
    assert all(len(c.text) >= 400 for c in chunks[:-1])


def test_chunk_carries_source_metadata() -> None:
    chunks = chunk_text(META, "\n\n".join(paragraphs(6)))
    assert chunks
    for chunk in chunks:
        assert chunk.source == META
        assert dataclasses.asdict(chunk.source)["outlet"] == "Test Outlet"


def test_shipped_chunks_carry_manifest_metadata() -> None:
    prepared = shipped("the-nation-us-engagement-essential")
    for chunk in prepared.chunks:
        assert chunk.source.id == "the-nation-us-engagement-essential"
        assert chunk.source.outlet == "The Nation"
        assert chunk.source.author == "Anatol Lieven"
        assert chunk.source.published == "2025-05-21"
        assert chunk.source.title.startswith("Why US Engagement Is Essential")
        assert chunk.source.url and chunk.source.url.startswith("https://www.thenation.com/")
