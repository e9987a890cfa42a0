"""`parallax` command line. JSON goes to stdout; logs, progress and errors to stderr."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any

from assistant.citations import format_references
from assistant.errors import EmptyQuestionError, ParallaxError
from assistant.evaluation import (
    EVAL_SETS,
    EvalSet,
    format_support,
    format_table,
    run_set,
    support_report,
)
from assistant.extractive import NOTICE as EXTRACTIVE_NOTICE
from assistant.records import Answer, Scope
from assistant.service import Assistant
from assistant.settings import SettingsError, load_settings

log = logging.getLogger("parallax")
CONFIGURE_HINT = (
    "Set OPENAI_API_KEY (or OPENAI_BASE_URL for a local server such as Ollama) for written answers."
)
NOISY_LOGGERS = (
    "httpx",
    "httpx2",
    "openai",
    "chromadb",
    "sentence_transformers",
    "urllib3",
    "bm25s",
)


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def cmd_ingest(assistant: Assistant, args: argparse.Namespace) -> int:
    urls = [p for p in args.paths if p.lower().startswith(("http://", "https://"))]
    paths = [Path(p) for p in args.paths if p not in urls]
    report = assistant.ingest(paths or None, urls=urls, rebuild=args.rebuild)
    for message in report.skipped + report.renamed:
        log.warning("%s", message)
    log.info("%s", report.summary())
    return 0


def cmd_sources(assistant: Assistant, args: argparse.Namespace) -> int:
    sources = assistant.sources()
    if args.json:
        _print_json([{**s.meta.__dict__, "chunks": s.chunks} for s in sources])
        return 0
    if not sources:
        print("The store is empty: run `parallax ingest`.")
    for s in sources:
        date = s.meta.published or "undated"
        print(f"{s.meta.id}\n    {s.meta.outlet} · {s.meta.title} · {date} · {s.chunks} chunks")
    return 0


def cmd_chunks(assistant: Assistant, args: argparse.Namespace) -> int:
    _print_json(
        [
            {
                "id": c.chunk_id,
                "source_id": c.source.id,
                "text": c.text,
                "metadata": {
                    **{k: v for k, v in asdict(c.source).items() if k != "id"},
                    "position": c.position,
                    "start": c.start,
                    "end": c.end,
                    "source_hash": c.source_hash,
                },
            }
            for c in assistant.chunks(args.source)
        ]
    )
    return 0


def _print_scope(scope: Scope | None) -> None:
    """What was searched, on stderr: a narrowing the reader did not ask for is never silent."""
    if scope is None or scope.reason == "all":
        return
    why = (
        "named in the question; --search-all searches every article"
        if scope.reason == "named"
        else "--source"
    )
    print(f"Searching: {scope.label} ({why})", file=sys.stderr)


def cmd_retrieve(assistant: Assistant, args: argparse.Namespace) -> int:
    result = assistant.retrieve(args.question, args.k, args.source, narrow=not args.search_all)
    _print_scope(result.scope)
    if args.json:
        _print_json(result.to_json())
        return 0
    _print_retrieval(result.to_json())
    return 0


def _print_retrieval(result: dict[str, Any]) -> None:
    if not result["answerable"]:
        print("The articles do not seem to cover this question. Closest passages:")
    for p in result["passages"]:
        print(f"\n[{p['rank']}] {p['outlet']} — {p['title']} ({p['published'] or 'undated'})")
        print(f"    {p['text']}")


def cmd_inspect(assistant: Assistant, args: argparse.Namespace) -> int:
    inspection = assistant.inspect(args.source_id)
    meta = inspection.source
    byline = f"{meta.outlet} · {meta.author or 'unknown author'} · {meta.published or 'undated'}"
    print(f"# {meta.title}\n{byline}")
    print("\n=== Cleaned text ===\n")
    print(inspection.text)
    print(f"\n=== Removed blocks ({len(inspection.removed)}) ===")
    for block in inspection.removed:
        print(f"\n[{block.rule}] {block.why}\n    {block.text}")
    return 0


def _stream_answer(
    assistant: Assistant,
    question: str,
    history: list[Answer],
    sources: list[str] | None,
    narrow: bool = True,
) -> Answer:
    """Print the answer as it is written, then its numbered references."""
    stream = assistant.ask_stream(question, history, sources, narrow=narrow)
    _print_scope(stream.plan.scope)
    extractive = assistant.mode == "extractive"
    if extractive:
        print(f"[{EXTRACTIVE_NOTICE} {CONFIGURE_HINT}]\n")
    for piece in stream:
        sys.stdout.write(piece)
        sys.stdout.flush()
    answer = stream.answer
    print()
    if answer.added_citations:  # the text as streamed lacked the markers Parallax added
        print(f"\nWith the citations Parallax added:\n{answer.text}")
    if answer.notice and not (extractive and answer.notice == EXTRACTIVE_NOTICE):
        print(f"\nNote: {answer.notice}")
    for start, end in answer.unsupported:
        print(f"\nNot supported by the passages it cites: “{answer.text[start:end]}”")
    if answer.citations:
        print("\nReferences\n" + format_references(answer))
    return answer


def cmd_ask(assistant: Assistant, args: argparse.Namespace) -> int:
    if args.json:
        answer = assistant.ask(args.question, sources=args.source, narrow=not args.search_all)
        _print_scope(answer.scope)
        _print_json(answer.to_json())
        return 0
    _stream_answer(assistant, args.question, [], args.source, not args.search_all)
    return 0


def cmd_chat(assistant: Assistant, args: argparse.Namespace) -> int:
    """A conversation: follow-ups see the history; errors are shown and the chat goes on."""
    mode = f"model {assistant.model_name}" if assistant.mode == "llm" else "extractive mode"
    print(
        f"Parallax ({mode}): ask about the articles; empty line or Ctrl-D quits.", file=sys.stderr
    )
    history: list[Answer] = []
    while True:
        try:
            question = input("\n> ").strip()
        except (EOFError, KeyboardInterrupt):
            return 0
        if not question:
            return 0
        try:
            history.append(
                _stream_answer(assistant, question, history, args.source, not args.search_all)
            )
        except ParallaxError as exc:
            print(f"error: {exc}", file=sys.stderr)


def cmd_eval(assistant: Assistant, args: argparse.Namespace) -> int:
    """Each set in a temporary library of its own; a table (or JSON) per set."""
    if args.questions:
        articles = Path(args.articles) if args.articles else None
        sets = [EvalSet(Path(args.questions).stem, Path(args.questions), articles)]
    else:
        sets = [s for s in EVAL_SETS if s.questions.is_file()]
    if not sets:
        print(
            "error: the dev and held-out question sets live in the repository; outside a "
            "checkout, give one with --questions FILE.",
            file=sys.stderr,
        )
        return 2
    if args.support:
        sets = []
    reports = [run_set(assistant, eval_set, args.k) for eval_set in sets]
    # Citation support is judged on labelled pairs whatever the mode: it needs no model.
    support = None if args.questions else support_report(assistant.embedder)
    if args.json:
        data = reports[0] if len(reports) == 1 else {"sets": reports}
        _print_json({**data, "support": support} if support else data)
    else:
        tables = [format_table(report) for report in reports]
        print("\n\n".join(tables + ([format_support(support)] if support else [])))
    return 0


def app_command(args: argparse.Namespace) -> list[str]:
    """`streamlit run` on the app shipped in the `ui` package, wherever it is installed."""
    app = resources.files("ui") / "app.py"
    command = [sys.executable, "-m", "streamlit", "run", str(app)]
    command += ["--server.address", args.address, "--server.port", str(args.port)]
    command += ["--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer"]
    return command + (["--server.headless", "true"] if args.headless else [])


def cmd_app(args: argparse.Namespace) -> int:
    """Become the Streamlit server (exec): signals and the exit code are the server's own."""
    command = app_command(args)
    print(f"Parallax: open http://{args.address}:{args.port}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os.execv(command[0], command)
    return 0  # not reached: execv replaces this process


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="parallax", description="Ask a library of news articles; answers cite their sources."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="add files to the library and index it")
    p.add_argument(
        "paths", nargs="*", help="article files, folders or http(s) links to add (.txt, .md, .html)"
    )
    p.add_argument("--rebuild", action="store_true", help="drop the store and re-embed everything")
    p.set_defaults(run=cmd_ingest)

    p = sub.add_parser("sources", help="the articles in the store, with chunk counts")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_sources)

    p = sub.add_parser("chunks", help="every stored chunk as JSON")
    p.add_argument("--source", help="only this source id")
    p.add_argument("--json", action="store_true", help="(the only format; accepted for clarity)")
    p.set_defaults(run=cmd_chunks)

    p = sub.add_parser("retrieve", help="the passages retrieved for a question")
    p.add_argument("question")
    p.add_argument("-k", type=int, default=None, help="number of passages (default 8)")
    p.add_argument("--source", action="append", help="restrict to this source id (repeatable)")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--search-all", action="store_true", help="never narrow to an outlet the question names"
    )
    p.set_defaults(run=cmd_retrieve)

    p = sub.add_parser("inspect", help="an article's cleaned text and what cleaning removed")
    p.add_argument("source_id")
    p.set_defaults(run=cmd_inspect)

    p = sub.add_parser("ask", help="a cited answer to one question")
    p.add_argument("question")
    p.add_argument("--source", action="append", help="restrict to this source id (repeatable)")
    p.add_argument("--json", action="store_true", help="print the Answer record as JSON")
    p.add_argument(
        "--search-all", action="store_true", help="never narrow to an outlet the question names"
    )
    p.set_defaults(run=cmd_ask)

    p = sub.add_parser("eval", help="retrieval and answer metrics on the question sets")
    p.add_argument("--questions", help="a JSONL question set (default: the dev and held-out sets)")
    p.add_argument("--articles", help="with --questions: a folder of articles the set also needs")
    p.add_argument("-k", type=int, default=8)
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--support", action="store_true", help="only citation support on the labelled pairs"
    )
    p.set_defaults(run=cmd_eval)

    p = sub.add_parser("chat", help="a conversation in the terminal")
    p.add_argument("--source", action="append", help="restrict to this source id (repeatable)")
    p.add_argument(
        "--search-all", action="store_true", help="never narrow to an outlet the question names"
    )
    p.set_defaults(run=cmd_chat)

    p = sub.add_parser("app", help="start the Streamlit app (the browser chat)")
    p.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")
    p.add_argument("--address", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--headless", action="store_true", help="do not open a browser")
    p.set_defaults(run=None)
    return parser


@contextmanager
def _log_to_stderr(verbose: bool) -> Iterator[None]:
    """Parallax's log lines on this call's stderr, removed on the way out, so that main() can
    run many times in one process (the tests call it in-process)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 done, 1 an error whose message names the fix, 2 bad usage or settings."""
    args = build_parser().parse_args(argv)
    with _log_to_stderr(args.verbose):
        try:
            settings = load_settings()  # the app reads them the same way
        except SettingsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if args.run is None:
            return cmd_app(args)
        try:
            return args.run(Assistant(settings), args)
        except EmptyQuestionError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except ParallaxError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 130
