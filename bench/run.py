"""Run every section, print the table to stdout and write it to bench/results.md."""

from __future__ import annotations

import datetime
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from assistant.settings import REPO_ROOT
from bench.ask import bench_ask
from bench.common import Row, child_env, log, machine, render
from bench.ingest import Shipped, bench_ingest
from bench.retrieval import Synthetic, bench_shipped, bench_synthetic, build_synthetic
from bench.scale import bench_scale, measure_reader
from bench.startup import bench_app, bench_cli
from bench.tutorial import BOILERPLATE_DEFINITION, bench_tutorial

RESULTS = REPO_ROOT / "bench" / "results.md"


def guarded(section: str, name: str, fn: Callable[[], list[Row]]) -> list[Row]:
    """A failing section becomes a "not measured" row; the rest of the bench goes on."""
    try:
        return fn()
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        return [Row(section, name, f"not measured: {type(exc).__name__}: {exc}"[:300])]


def scale_section(
    tmp: Path, shipped: Shipped, synthetic: Synthetic | None, notes: list[str]
) -> list[Row]:
    """Section 6: the reader-side rows of the 20k store beside the same rows at 100k."""
    twenty: list[Row] = []
    if synthetic is not None:
        syn = synthetic
        settings = shipped.settings.model_copy(
            update={"chroma_path": syn.root / "chroma", "library_dir": syn.root / "library"}
        )
        label = f"{syn.chunks // 1000}k chunks"
        twenty = guarded(
            "6 scale",
            f"reader at {label}",
            lambda: measure_reader(
                settings, child_env(syn.root), syn.root, shipped.embedder, label
            ),
        )
    try:
        writer, hundred, note = bench_scale(tmp, shipped.embedder)
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        return [*twenty, Row("6 scale", "100k library", f"not measured: {exc}"[:300])]
    notes.append(note)
    if len(twenty) != len(hundred):
        return writer + twenty + hundred
    return writer + [row for pair in zip(twenty, hundred, strict=True) for row in pair]


def commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    """`python -m bench` runs every section; `python -m bench scale` only section 6."""
    if argv:
        if argv != ["scale"]:
            print("usage: python -m bench [scale]", file=sys.stderr)
            return 2
        from bench import scale

        return scale.main()
    started = time.perf_counter()
    before = machine()
    rows: list[Row] = []
    notes = [
        "Timings are wall-clock on a machine shared with other work; the load average is in the "
        "header. Latencies are warm (after 5 untimed calls) and include embedding the query.",
        f"Boilerplate (section 5): {BOILERPLATE_DEFINITION}",
        "Ask (section 3): tests/fake_openai.py answers instantly, streaming a ~1,300-character "
        "cited reply in 4-character chunks (one per token, as OpenAI does); the reply quotes the "
        "question's retrieved passages so quote verification does real work. 'First visible "
        "piece' is the wait before answer text starts, the part a real model cannot hide.",
        "What-if rows are diagnostics, not the shipped configuration: the same 200 queries run "
        "right after the shipped-configuration run, in the same process.",
    ]
    with tempfile.TemporaryDirectory(prefix="parallax-bench-", ignore_cleanup_errors=True) as d:
        tmp = Path(d)
        ingest_rows, shipped = bench_ingest(tmp)
        rows += ingest_rows
        rows += guarded("4 start-up", "CLI", lambda: bench_cli(shipped.root))
        shipped_latency: list[float] = []

        def retrieval_shipped() -> list[Row]:
            out, samples = bench_shipped(shipped)
            shipped_latency.extend(samples)
            return out

        rows += guarded("2 retrieval", "shipped scale", retrieval_shipped)
        rows += guarded(
            "3 ask overhead",
            "shipped",
            lambda: bench_ask(shipped.settings, shipped.embedder, "shipped store", 3, True),
        )
        rows += guarded(
            "5 vs tutorial", "tutorial", lambda: bench_tutorial(tmp, shipped, shipped_latency)
        )
        synthetic = None
        try:
            synthetic = build_synthetic(tmp / "synthetic", shipped)
            notes.append(f"Synthetic store (section 2): {synthetic.description}")
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            rows.append(Row("2 retrieval", "synthetic store", f"not measured: {exc}"[:300]))
        if synthetic is not None:
            syn = synthetic
            rows += guarded("2 retrieval", "synthetic", lambda: bench_synthetic(syn, shipped))
            syn_settings = shipped.settings.model_copy(
                update={
                    "chroma_path": syn.root / "chroma",
                    "library_dir": syn.root / "library",
                }
            )
            rows += guarded(
                "3 ask overhead",
                "synthetic",
                lambda: bench_ask(
                    syn_settings, shipped.embedder, f"{syn.chunks}-chunk store", 1, False, 6
                ),
            )
        rows += guarded("4 start-up", "app", lambda: bench_app(shipped.root))
        rows += scale_section(tmp, shipped, synthetic, notes)

    order = ["1", "2", "3", "4", "5", "6"]
    rows.sort(key=lambda r: order.index(r.section[0]))
    after = machine()
    header = [
        "# Parallax benchmark",
        "",
        f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}, "
        f"commit {commit()}",
        f"- machine: {before['cores']} cores (os.cpu_count), {before['memory']} RAM "
        f"(/proc/meminfo), Python {sys.version.split()[0]}",
        f"- load average (1/5/15 min): {before['load']} at start, {after['load']} at end",
        f"- bench wall time: {time.perf_counter() - started:.0f} s",
    ]
    text = render(rows, header, notes)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    missed = [r for r in rows if r.ok is False]
    log(f"done: {len(missed)} target(s) missed; table written to {RESULTS}")
    return 0
