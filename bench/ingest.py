"""Section 1: cold and warm ingest of the shipped articles, no-op re-ingest, throughput."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.service import Assistant
from assistant.settings import Settings
from bench.common import Row, log, shipped_settings, timed
from store.embeddings import MiniLMEmbedder
from store.ingest import PreparedSource, prepare

SECTION = "1 ingest"
ROUNDS = 2


@dataclass
class Shipped:
    """The shipped articles ingested into a temp store, reused by the later sections."""

    root: Path
    settings: Settings
    assistant: Assistant
    embedder: MiniLMEmbedder
    prepared: list[PreparedSource]
    vectors: list[list[float]]  # real embeddings of every chunk, in `prepared` order


def _timed_writes(assistant: Assistant) -> list[float]:
    """Wrap the store's replace_source on this instance to record each call's seconds."""
    spent: list[float] = []
    original = assistant.store.replace_source

    def replace_source(*args: Any, **kwargs: Any) -> None:
        started = time.perf_counter()
        original(*args, **kwargs)
        spent.append(time.perf_counter() - started)

    assistant.store.replace_source = replace_source  # type: ignore[method-assign]
    return spent


def bench_ingest(tmp: Path) -> tuple[list[Row], Shipped]:
    """Run first in the process: the cold figure includes importing and loading the model."""
    log("ingest: cold (model not loaded yet)")
    started = time.perf_counter()
    cold = Assistant(shipped_settings(tmp / "cold"))
    cold.ingest(progress=lambda done, total: None)
    cold_s = time.perf_counter() - started
    embedder = cold.embedder
    assert isinstance(embedder, MiniLMEmbedder)

    log("ingest: warm (model pre-loaded) into a fresh store")
    settings = shipped_settings(tmp / "shipped")
    assistant = Assistant(settings, embedder)
    writes = _timed_writes(assistant)
    started = time.perf_counter()
    report = assistant.ingest(progress=lambda done, total: None)
    warm_s = time.perf_counter() - started
    chunks = report.chunks_written

    log("ingest: no-op re-ingest")
    noop_s = timed(lambda: assistant.ingest(progress=lambda done, total: None))

    articles, _ = assistant.library.articles()
    prepared = [prepare(a) for a in articles]
    texts = [c.text for p in prepared for c in p.chunks]
    ingest_rates, raw_rates = [], []
    vectors: list[list[float]] = []
    for attempt in range(ROUNDS):  # alternated, best of each: the machine is shared
        if attempt:
            log(f"ingest: rebuild {attempt} (throughput, best of {ROUNDS})")
            writes.clear()
            report = assistant.ingest(rebuild=True, progress=lambda done, total: None)
        ingest_rates.append(report.chunks_written / (report.embed_seconds + sum(writes)))
        log(f"ingest: raw encode of the same {len(texts)} chunk texts, round {attempt + 1}")
        started = time.perf_counter()
        vectors = embedder.embed_documents(texts)
        raw_rates.append(len(texts) / (time.perf_counter() - started))
    ingest_rate, raw_rate = max(ingest_rates), max(raw_rates)
    ratio = ingest_rate / raw_rate
    write_s = sum(writes)
    rows = [
        Row(
            SECTION,
            "cold ingest, incl. model import+load",
            f"{cold_s:.2f} s ({len(articles)} articles, {chunks} chunks)",
        ),
        Row(SECTION, "ingest, model pre-loaded", f"{warm_s:.2f} s"),
        Row(SECTION, "≈ model import+load", f"{cold_s - warm_s:.2f} s"),
        Row(SECTION, "no-op re-ingest", f"{noop_s:.3f} s", "< 2 s", noop_s < 2.0),
        Row(
            SECTION,
            "ingest throughput (chunks / embed+write s)",
            f"{ingest_rate:.1f} chunks/s, best of {ROUNDS} "
            f"(last: embed {report.embed_seconds:.2f} s + write {write_s:.2f} s)",
        ),
        Row(
            SECTION,
            "raw encode ceiling (embed_documents, warm)",
            f"{raw_rate:.1f} chunks/s, best of {ROUNDS}",
        ),
        Row(SECTION, "ingest / raw encode", f"{ratio:.0%}", "≥ 80%", ratio >= 0.8),
    ]
    shipped = Shipped(tmp / "shipped", settings, assistant, embedder, prepared, vectors)
    return rows, shipped
