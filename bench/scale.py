"""Section 6: a 100,000-chunk library on a `chroma run` server, read the way the app reads it.

The library is synthetic (writing 100,000 real chunks would take hours of embedding here):
texts are sentences of words drawn from the shipped articles' vocabulary at their real
frequencies, so BM25 sees a natural-language term distribution; vectors are random unit
vectors. Both come from a seeded numpy generator and are written with
ChunkStore.replace_source (100 chunks a source) under `indexed_write`, the path every
ingest takes, so the writer saves the BM25 index and registry as it would.

Measured on the reader side, as an app process sees the library: opening the saved index,
retrieval latency, picking up a generation another writer just published, peak memory of
an app-like process at 10,000 and at 100,000 chunks, and `parallax sources`.
Run it alone with `python -m bench scale` (`make bench-scale`).
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from assistant.records import IngestResult
from assistant.retrieval import Retriever
from assistant.service import Assistant
from assistant.settings import Settings
from bench.common import ARTICLES, Row, latencies, log, ms, p50_p95, pct
from bench.retrieval import breakdown, dev_queries
from bench.startup import run_child
from store.articles import SourceMeta, make_article
from store.chroma_store import ChunkStore
from store.chunking import Chunk, chunk_id, content_hash
from store.embeddings import Embedder, MiniLMEmbedder
from store.ingest import ingest
from store.lexical import indexed_write
from tests.processes import chroma_server, clean_env

SECTION = "6 scale"
CHUNKS = 100_000
FIRST = 10_000  # reader memory is measured here too: it must not grow with the text
PER_SOURCE = 100
SEED = 11
QUERIES = 200
ASKED = 10  # questions the app-like reader process answers
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]|[A-Za-z]")
# A made-up article the pick-up test adds while a reader is running; no shipped one is like it.
NEEDLE = """Hedgehog couriers deliver the Tromso winter post

The municipal hedgehog courier service carried four thousand letters across the frozen \
fjord this week, the postmaster said, and not one parcel was lost to the snowdrifts.

Volunteers knitted small harnesses for the couriers, and the council voted to extend the \
pilot scheme until the spring thaw reopens the coastal road.
"""
NEEDLE_QUESTION = "How did the hedgehog couriers carry letters across the frozen fjord?"
# An app process: settings from the environment, warm-up, the source list, then questions.
READER = """
import json, sys
from assistant.service import Assistant
from assistant.settings import Settings
assistant = Assistant(Settings())
assistant.warm_up()
sources = assistant.sources()
questions = json.loads(sys.argv[1])
for question in questions:
    assistant.ask(question)
print(json.dumps({"sources": len(sources), "asked": len(questions)}))
"""


class Precomputed:
    """An embedder whose query vectors were computed beforehand, for a what-if row: embedding
    a question costs the same at any library size, so timing without it shows what grows."""

    def __init__(self, embedder: Embedder, queries: list[str]) -> None:
        self.name = embedder.name
        self._vectors = {q: embedder.embed_query(q) for q in set(queries)}

    def embed_query(self, text: str) -> list[float]:
        return self._vectors[text]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise NotImplementedError("only questions are embedded in the what-if row")


class Writer:
    """Writes the synthetic library into `store` in ranges of sources, like one ingest each."""

    def __init__(self, store: ChunkStore, dim: int) -> None:
        self.store = store
        self.dim = dim
        self.rng = np.random.default_rng(SEED)
        words = Counter(w.lower() for p in sorted(ARTICLES.glob("*.txt")) for w in _words(p))
        self.words = np.array(sorted(words))
        counts = np.array([words[w] for w in self.words], dtype=float)
        self.p = counts / counts.sum()
        self.text_chars = 0

    def chunks_of(self, source: int) -> list[Chunk]:
        meta = SourceMeta(
            id=f"synthetic-{source:05d}",
            title=f"Synthetic article {source}",
            outlet=f"Synthetic Outlet {source % 40}",
            published=f"2025-{source % 12 + 1:02d}-{source % 28 + 1:02d}",
        )
        chunks = []
        for position in range(PER_SOURCE):
            lengths = self.rng.integers(8, 20, size=int(self.rng.integers(5, 9)))
            drawn = iter(self.words[self.rng.choice(len(self.words), lengths.sum(), p=self.p)])
            text = " ".join(
                " ".join(next(drawn) for _ in range(n)).capitalize() + "." for n in lengths
            )
            chunks.append(Chunk(chunk_id(meta.id, position, text), meta, position, text, 0, 0))
            self.text_chars += len(text)
        return chunks

    def write(self, begin: int, end: int) -> tuple[float, float]:
        """Sources [begin, end) in one indexed write: (write s, index build+publish s)."""
        started = time.perf_counter()
        with indexed_write(self.store):
            for source in range(begin, end):
                chunks = self.chunks_of(source)
                vectors = self.rng.normal(size=(len(chunks), self.dim)).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                self.store.replace_source(
                    chunks[0].source.id, chunks, vectors.tolist(), content_hash(str(source))
                )
                if (source + 1) % 100 == 0:
                    log(f"scale: {(source + 1) * PER_SOURCE} chunks written")
            body_done = time.perf_counter()
        return body_done - started, time.perf_counter() - body_done


def _words(path: Path) -> list[str]:
    return _WORD.findall(path.read_text(encoding="utf-8"))


def server_env(root: Path, port: int) -> dict[str, str]:
    return clean_env(
        PARALLAX_ARTICLES_DIR=str(ARTICLES),
        PARALLAX_LIBRARY_DIR=str(root / "library"),
        PARALLAX_CHROMA_HOST="127.0.0.1",
        PARALLAX_CHROMA_PORT=str(port),
        PARALLAX_LLM="off",
        PYTHONPATH=str(Path(__file__).resolve().parent.parent),
    )


def reader_memory(root: Path, env: dict[str, str]) -> str:
    """Peak RSS of an app-like process (warm-up, source list, 20 extractive answers)."""
    asked = json.dumps(dev_queries(ASKED))
    wall, code, rss, _, err = run_child([sys.executable, "-c", READER, asked], root, env)
    if code != 0:
        return f"not measured: exit {code}: {err.strip().splitlines()[-1:]}"
    return f"{rss:.0f} MiB ({wall:.1f} s: start, warm-up, sources, {ASKED} answers)"


def sources_command(root: Path, env: dict[str, str]) -> str:
    wall, code, _, out, err = run_child(
        [sys.executable, "-m", "assistant", "sources", "--json"], root, env
    )
    if code != 0:
        return f"not measured: exit {code}: {err.strip().splitlines()[-1:]}"
    return f"{wall:.2f} s to exit, {len(json.loads(out))} sources listed"


def pick_up(
    settings: Settings, embedder: Embedder, retriever: Retriever, label: str
) -> tuple[list[Row], float]:
    """Another writer ingests one article; the warm reader's next question must find it."""
    writer = Assistant(settings, embedder).store  # its own client, as another process has
    article = make_article(NEEDLE, "hedgehog-post", {"outlet": "Tromso Daily"}, None)
    started = time.perf_counter()
    report = ingest(writer, embedder, lambda: [article], delete_missing=False)
    ingest_s = time.perf_counter() - started
    started = time.perf_counter()
    retriever.snapshot()
    reopen_s = time.perf_counter() - started
    started = time.perf_counter()
    passages, _ = retriever.retrieve(NEEDLE_QUESTION, 8)
    first_s = time.perf_counter() - started
    found = bool(passages) and passages[0].source_id == "hedgehog-post"
    pickup = reopen_s + first_s
    rows = [
        Row(
            SECTION,
            f"writer: ingest one article on top, {label} (scan + BM25 build + save)",
            f"{ingest_s:.1f} s ({IngestResult.of(report, [], []).summary()})",
        ),
        Row(
            SECTION,
            f"reader picks up the new generation, {label}",
            f"{ms(pickup)} (open saved index {ms(reopen_s)} + first retrieve {ms(first_s)}); "
            f"new article ranked first: {'yes' if found else 'NO'}",
            "< 1 s",
            pickup < 1.0 and found,
        ),
    ]
    return rows, pickup


def measure_reader(
    settings: Settings, env: dict[str, str], root: Path, embedder: Embedder, label: str
) -> list[Row]:
    """The reader-side rows for one library (shared by the 20k and the 100k store)."""
    assistant = Assistant(settings, embedder)
    started = time.perf_counter()
    snap = assistant.retriever.snapshot()
    open_s = time.perf_counter() - started
    log(f"scale: retrieval at {label}")
    queries = dev_queries(QUERIES)
    samples = latencies(lambda q: assistant.retriever.retrieve(q, 8), queries)
    rows = [
        Row(
            SECTION,
            f"reader opens the saved index, {label} ({snap.size} chunks)",
            f"{ms(open_s)}",
        ),
        Row(
            SECTION,
            f"Retriever.retrieve, {label}",
            p50_p95(samples),
            "p95 < 150 ms",
            pct(samples, 95) < 0.150,
        ),
    ]
    precomputed = Retriever(
        assistant.store, Precomputed(embedder, queries), settings.relevance_floor
    )
    store_side = latencies(lambda q: precomputed.retrieve(q, 8), queries)
    rows.append(
        Row(
            SECTION,
            "what-if, not shipped: Retriever.retrieve with query vectors precomputed "
            f"(only the stages that grow with the library), {label}",
            p50_p95(store_side),
        )
    )
    rows.append(
        Row(SECTION, f"stages at {label} (p50)", breakdown(assistant.retriever, queries[:30]))
    )
    log(f"scale: `parallax sources` at {label}")
    fresh = Assistant(settings, embedder)
    started = time.perf_counter()
    listed = len(fresh.sources())
    in_process = time.perf_counter() - started
    rows.append(
        Row(
            SECTION,
            f"`parallax sources --json`, {label}",
            f"{sources_command(root, env)}; in process, a fresh Assistant.sources(): "
            f"{ms(in_process)} for {listed} sources",
        )
    )
    log(f"scale: app-like reader memory at {label}")
    rows.append(Row(SECTION, f"app-like reader peak RSS, {label}", reader_memory(root, env)))
    log(f"scale: pick-up of a new generation at {label}")
    pickup_rows, _ = pick_up(settings, embedder, assistant.retriever, label)
    return rows + pickup_rows


def bench_scale(
    tmp: Path, embedder: MiniLMEmbedder | None = None
) -> tuple[list[Row], list[Row], str]:
    """(writer rows, `measure_reader` rows at 100k, the note describing the library)."""
    embedder = embedder or MiniLMEmbedder()
    root = tmp / "scale"
    root.mkdir(parents=True)
    rows: list[Row] = []
    with chroma_server(root / "server-data", root / "chroma-server.log") as port:
        env = server_env(root, port)
        settings = Settings(
            _env_file=None,
            articles_dir=ARTICLES,
            library_dir=root / "library",
            chroma_host="127.0.0.1",
            chroma_port=port,
            embedding_model=embedder.name,
            llm="off",
            openai_api_key=None,
            openai_base_url=None,
            lock_timeout=60.0,
        )
        store = Assistant(settings, embedder).store
        writer = Writer(store, len(embedder.embed_query("dimension")))
        for begin, end in ((0, FIRST), (FIRST, CHUNKS)):
            label = f"{end // 1000}k chunks"
            log(f"scale: writing chunks {begin}..{end} to the server")
            write_s, index_s = writer.write(begin // PER_SOURCE, end // PER_SOURCE)
            rows.append(
                Row(
                    SECTION,
                    f"writer: {end - begin} synthetic chunks written, then indexed ({label})",
                    f"write {write_s:.0f} s; BM25 index build + save at the end {index_s:.1f} s",
                )
            )
            if end == FIRST:
                log(f"scale: app-like reader memory at {label}")
                rows.append(
                    Row(SECTION, f"app-like reader peak RSS, {label}", reader_memory(root, env))
                )
        reader = measure_reader(settings, env, root, embedder, f"{CHUNKS // 1000}k chunks")
    text_mb = writer.text_chars / 1e6
    note = (
        f"Scale library (section 6): {CHUNKS} chunks in {CHUNKS // PER_SOURCE} sources on a "
        f"`chroma run` server, {text_mb:.0f} MB of text: sentences of 8-19 words drawn from "
        f"the shipped articles' vocabulary ({len(writer.words)} words) at their frequencies "
        f"there; vectors are random unit vectors (numpy seed {SEED}). Written with "
        "ChunkStore.replace_source under indexed_write, in two ingests (10k, then 90k more), "
        "so the writer saves the BM25 index as every ingest does. Reader memory: peak RSS of "
        "a process that builds the Assistant from the environment, warms up, lists the "
        f"sources and answers {ASKED} dev questions in extractive mode."
    )
    return rows, reader, note


def main() -> int:
    """`python -m bench scale`: this section alone (writing 100k chunks takes minutes)."""
    from bench.common import render

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="parallax-scale-", ignore_cleanup_errors=True) as d:
        writer, reader, note = bench_scale(Path(d))
        rows = writer + reader
    header = ["# Parallax benchmark, scale section only", ""]
    header.append(f"- wall time: {time.perf_counter() - started:.0f} s")
    print(render(rows, header, [note]))
    return 0
