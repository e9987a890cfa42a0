"""Child processes for the tests and the bench: clean environments, free ports, servers.

No pytest here: the bench imports this module too, so failures are plain exceptions.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import chromadb


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now, for a server under test."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**values: str) -> dict[str, str]:
    """os.environ without PARALLAX_* and OPENAI_*, plus `values`.

    A child must not pick up the developer's store, model or API key, only what it is given.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARALLAX_", "OPENAI_"))}
    env.update(values)
    return env


@contextmanager
def running(
    command: list[str],
    *,
    log_path: Path,
    ready: Callable[[], bool],
    what: str,
    timeout: float = 60.0,
    poll: float = 0.2,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """`command` running with its output in `log_path`, once `ready()` returns True.

    Raises RuntimeError when the process exits or `timeout` seconds pass before it is ready.
    Whatever happens, the process is stopped (terminate, then kill after 10 s) on the way out,
    so no server outlives its test.
    """
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, env=env)
        try:
            deadline = time.monotonic() + timeout
            while not ready():
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"{what} did not start: exit code {proc.returncode}; see {log_path}"
                    )
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{what} did not start within {timeout:g} s: see {log_path}")
                time.sleep(poll)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def chroma_server(data: Path, log_path: Path) -> Iterator[int]:
    """`chroma run` (the one next to sys.executable) on 127.0.0.1 over `data`; yields its port.

    Started from `data`'s parent folder, in a clean environment.
    """
    binary = Path(sys.executable).parent / "chroma"
    if not binary.is_file():
        raise RuntimeError(f"no chroma executable next to {sys.executable}")
    port = free_port()

    def heartbeat() -> bool:
        try:
            chromadb.HttpClient(host="127.0.0.1", port=port).heartbeat()
        except Exception:
            return False
        return True

    command = [str(binary), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)]
    with running(
        command,
        log_path=log_path,
        ready=heartbeat,
        what="chroma run",
        cwd=data.parent,
        env=clean_env(),
    ):
        yield port


@contextmanager
def streamlit_app(
    launcher: list[str],
    app: Path,
    *,
    log_path: Path,
    timeout: float = 60.0,
    poll: float = 0.2,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`<launcher> run <app>`, headless on 127.0.0.1 and a free port; yields (base URL, process).

    Ready once Streamlit's health check answers 200. `launcher` is how to call streamlit
    (its script, or `python -m streamlit`).
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [*launcher, "run", str(app), "--server.address", "127.0.0.1"]
    command += ["--server.port", str(port), "--server.headless", "true"]
    command += ["--browser.gatherUsageStats", "false"]

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as reply:
                return bool(reply.status == 200)
        except OSError:
            return False

    with running(
        command,
        log_path=log_path,
        ready=healthy,
        what="streamlit",
        timeout=timeout,
        poll=poll,
        cwd=cwd,
        env=env,
    ) as proc:
        yield url, proc
