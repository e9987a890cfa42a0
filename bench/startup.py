"""Section 4: from process start to the first cited answer, for the CLI and the Streamlit app."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from assistant.settings import REPO_ROOT
from bench.common import PYTHON, Row, child_env, log
from tests.processes import streamlit_app

SECTION = "4 start-up"
QUESTION = "What did Witkoff's April draft plan offer Russia?"
APP = REPO_ROOT / "ui" / "app.py"
STREAMLIT = REPO_ROOT / ".venv" / "bin" / "streamlit"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
APP_TIMEOUT_S = 180.0
_MARKER = re.compile(r"\[\d+\]")
# The answer is done: two more chat messages than before the question, the script idle.
_ANSWERED = """(before) => {
  const msgs = document.querySelectorAll('[data-testid="stChatMessage"]');
  const app = document.querySelector('[data-testid="stApp"]');
  return msgs.length >= before + 2 && app !== null
    && app.getAttribute('data-test-script-state') === 'notRunning';
}"""


# Measures from inside a small launcher: a child forked from the bench process (which holds
# the model, ~1 GB) would inherit that peak in its ru_maxrss, as Linux carries the hiwater
# mark of the pre-exec memory over exec.
_LAUNCHER = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.call(sys.argv[2:])
wall = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
with open(sys.argv[1], "w") as f:
    json.dump({"wall": wall, "code": code, "maxrss_kib": peak}, f)
"""


def run_child(
    args: list[str], root: Path, env: dict[str, str] | None = None
) -> tuple[float, int, float, str, str]:
    """(wall s, exit code, peak RSS MiB, stdout, stderr) of one child process, by default
    over the embedded store in `root`."""
    result = root / "child-result.json"
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        subprocess.run(
            [sys.executable, "-c", _LAUNCHER, str(result), *args],
            stdout=out,
            stderr=err,
            env=env or child_env(root),
            cwd=root,
            check=True,
        )
        got = json.loads(result.read_text())
        out.seek(0)
        err.seek(0)
        return (
            float(got["wall"]),
            int(got["code"]),
            got["maxrss_kib"] / 1024,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
        )


def bench_cli(root: Path) -> list[Row]:
    """`python -m assistant ask` over the ingested store, plus a no-op `ingest`."""
    rows = []
    for run in (1,):
        log(f"start-up: CLI ask, run {run}")
        wall, code, rss, out, err = run_child(
            [str(PYTHON), "-m", "assistant", "ask", QUESTION], root
        )
        if code != 0:
            tail = err.strip().splitlines()[-1:] or ["no output"]
            rows.append(
                Row(
                    SECTION,
                    "CLI `ask` to exit (extractive)",
                    f"not measured: exit {code}: {tail[0]}",
                )
            )
            continue
        cited = "cited" if _MARKER.search(out) else "NO citation marker in the output"
        rows.append(
            Row(
                SECTION,
                "CLI `ask` to exit (extractive)",
                f"{wall:.2f} s, peak RSS {rss:.0f} MiB, {cited}",
            )
        )
    log("start-up: CLI no-op ingest")
    wall, code, rss, _, err = run_child([str(PYTHON), "-m", "assistant", "ingest"], root)
    value = f"{wall:.2f} s, peak RSS {rss:.0f} MiB" if code == 0 else f"exit {code}: {err[-200:]}"
    rows.append(Row(SECTION, "CLI no-op `ingest` to exit", value))
    return rows


def _vm_hwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _app_once(root: Path, log_path: Path) -> tuple[float, float, bool]:
    """(seconds from `streamlit run` to a finished answer, peak RSS MiB, answer is cited).

    Cited: the answer shows citation chips (`.px-chip`) or [n] markers.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            started = time.perf_counter()
            deadline = started + APP_TIMEOUT_S
            with streamlit_app(
                [str(STREAMLIT)],
                APP,
                log_path=log_path,
                timeout=APP_TIMEOUT_S,
                poll=0.05,
                cwd=root,
                env=child_env(root),
            ) as (url, proc):
                page.goto(f"{url}/")
                box = page.locator('[data-testid="stChatInputTextArea"]')
                remaining_ms = lambda: max(1.0, (deadline - time.perf_counter()) * 1000)  # noqa: E731
                box.wait_for(state="visible", timeout=remaining_ms())
                before = page.locator('[data-testid="stChatMessage"]').count()
                box.fill(QUESTION)
                box.press("Enter")
                page.wait_for_function(_ANSWERED, arg=before, timeout=remaining_ms())
                elapsed = time.perf_counter() - started
                rss = _vm_hwm_mib(proc.pid)
                last = page.locator('[data-testid="stChatMessage"]').last
                chips = last.locator(".px-chip").count()
                return elapsed, rss, chips > 0 or bool(_MARKER.search(last.inner_text()))
        finally:
            browser.close()


def bench_app(root: Path) -> list[Row]:
    """The Streamlit app driven by headless Chromium; "not measured" when it cannot run."""
    metric = "app: `streamlit run` to first answer (extractive)"
    if not APP.is_file():
        return [Row(SECTION, metric, "not measured: ui/app.py does not exist yet")]
    if not Path(CHROMIUM).is_file():
        return [Row(SECTION, metric, f"not measured: {CHROMIUM} is missing")]
    log("start-up: Streamlit app via headless Chromium")
    log_path = root / "streamlit.log"
    try:
        elapsed, rss, cited = _app_once(root, log_path)
    except Exception as exc:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or [""]
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
        return [Row(SECTION, metric, f"not measured: {reason} (streamlit: {tail[0][:120]})")]
    marker = "answer shows citations" if cited else "answer done but shows NO citation"
    return [Row(SECTION, metric, f"{elapsed:.2f} s, peak RSS {rss:.0f} MiB, {marker}")]
