"""Shared pieces: result rows, timing and percentiles, settings for temp stores, progress."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.evaluation import EvalQuestion, load_questions
from assistant.settings import REPO_ROOT, Settings
from tests.processes import clean_env

ARTICLES = REPO_ROOT / "articles"
DEV_QUESTIONS = REPO_ROOT / "tests" / "dev_questions.jsonl"
PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
_STARTED = time.perf_counter()


@dataclass(frozen=True)
class Row:
    """One line of the results table; `ok` is None when the figure has no target."""

    section: str
    metric: str
    value: str
    target: str = ""
    ok: bool | None = None

    @property
    def status(self) -> str:
        return "" if self.ok is None else ("PASS" if self.ok else "MISS")


def log(message: str) -> None:
    """Progress on stderr, stamped with seconds since the bench started."""
    print(f"[bench {time.perf_counter() - _STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


def questions() -> list[EvalQuestion]:
    return load_questions(DEV_QUESTIONS)


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of `fn` takes."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def latencies(fn: Callable[[str], object], queries: Iterable[str], warmup: int = 5) -> list[float]:
    """Per-call seconds of `fn(query)`, after `warmup` untimed calls."""
    queries = list(queries)
    for query in queries[:warmup]:
        fn(query)
    out = []
    for query in queries:
        started = time.perf_counter()
        fn(query)
        out.append(time.perf_counter() - started)
    return out


def cycle(items: list[str], n: int) -> list[str]:
    return [items[i % len(items)] for i in range(n)]


def pct(samples: list[float], q: float) -> float:
    return float(np.percentile(samples, q))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def p50_p95(samples: list[float]) -> str:
    return f"p50 {ms(pct(samples, 50))} / p95 {ms(pct(samples, 95))} (n={len(samples)})"


def shipped_settings(root: Path, **overrides: object) -> Settings:
    """Settings for a temp store seeded with the shipped articles, isolated from .env."""
    values: dict[str, object] = {
        "articles_dir": ARTICLES,
        "library_dir": root / "library",
        "chroma_path": root / "chroma",
        "chroma_host": None,
        "embedding_model": "all-MiniLM-L6-v2",
        "llm": "off",
        "openai_api_key": None,
        "openai_base_url": None,
        "lock_timeout": 30.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def child_env(root: Path) -> dict[str, str]:
    """Environment for a CLI or app process over the store in `root`, extractive mode."""
    return clean_env(
        PARALLAX_ARTICLES_DIR=str(ARTICLES),
        PARALLAX_LIBRARY_DIR=str(root / "library"),
        PARALLAX_CHROMA_PATH=str(root / "chroma"),
        PARALLAX_LLM="off",
        PYTHONPATH=str(REPO_ROOT),
    )


def machine() -> dict[str, str]:
    """Cores, memory and load, for the header of the results."""
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return {"cores": str(os.cpu_count()), "memory": mem, "load": load}


def render(rows: list[Row], header: list[str], notes: list[str]) -> str:
    """The results as markdown: header lines, one table, then notes."""
    lines = [*header, "", "| Section | Metric | Value | Target | Status |", "|---|---|---|---|---|"]
    for r in rows:
        value = r.value.replace("|", "\\|")
        lines.append(f"| {r.section} | {r.metric} | {value} | {r.target} | {r.status} |")
    if notes:
        lines += ["", "Notes:", "", *[f"- {n}" for n in notes]]
    return "\n".join(lines) + "\n"
