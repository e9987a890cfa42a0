"""`parallax` command line. JSON goes to stdout; logs, progress and errors to stderr."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.citations import format_references
from assistant.errors import EmptyQuestionError, ParallaxError
from assistant.evaluation import format_table, load_questions, run_eval
from assistant.extractive import NOTICE as EXTRACTIVE_NOTICE
from assistant.records import Answer
from assistant.service import Assistant
from assistant.settings import REPO_ROOT, Settings

log = logging.getLogger("parallax")
DEV_QUESTIONS = REPO_ROOT / "tests" / "dev_questions.jsonl"


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def cmd_ingest(assistant: Assistant, args: argparse.Namespace) -> int:
    report = assistant.ingest([Path(p) for p in args.paths] or None, rebuild=args.rebuild)
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
                "id": c.id,
                "source_id": c.source.id,
                "text": c.text,
                "metadata": {
                    **{k: v for k, v in c.source.__dict__.items() if k != "id"},
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


def cmd_retrieve(assistant: Assistant, args: argparse.Namespace) -> int:
    result = assistant.retrieve(args.question, args.k, args.source)
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
    prepared = assistant.inspect(args.source_id)
    meta = prepared.article.meta
    byline = f"{meta.outlet} · {meta.author or 'unknown author'} · {meta.published or 'undated'}"
    print(f"# {meta.title}\n{byline}")
    print("\n=== Cleaned text ===\n")
    print(prepared.cleaned.text)
    print(f"\n=== Removed blocks ({len(prepared.cleaned.removed)}) ===")
    for block in prepared.cleaned.removed:
        print(f"\n[{block.rule}] {block.why}\n    {block.text}")
    return 0


def _stream_answer(
    assistant: Assistant, question: str, history: list[Answer], sources: list[str] | None
) -> Answer:
    """Print the answer as it is written, then its numbered references."""
    stream = assistant.ask_stream(question, history, sources)
    extractive = assistant.mode == "extractive"
    if extractive:
        print(f"[{EXTRACTIVE_NOTICE}]\n")
    for piece in stream:
        sys.stdout.write(piece)
        sys.stdout.flush()
    answer = stream.answer
    print()
    if answer.notice and not (extractive and answer.notice == EXTRACTIVE_NOTICE):
        print(f"\nNote: {answer.notice}")
    if answer.citations:
        print("\nReferences\n" + format_references(answer))
    return answer


def cmd_ask(assistant: Assistant, args: argparse.Namespace) -> int:
    if args.json:
        _print_json(assistant.ask(args.question, sources=args.source).to_json())
        return 0
    _stream_answer(assistant, args.question, [], args.source)
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
            history.append(_stream_answer(assistant, question, history, args.source))
        except ParallaxError as exc:
            print(f"error: {exc}", file=sys.stderr)


def cmd_eval(assistant: Assistant, args: argparse.Namespace) -> int:
    report = run_eval(assistant, load_questions(Path(args.questions)), args.k)
    if args.json:
        _print_json(report)
    else:
        print(format_table(report))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="parallax", description="Ask a library of news articles; answers cite their sources."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="add files to the library and index it")
    p.add_argument("paths", nargs="*", help="article files or folders to add (.txt, .md, .html)")
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
    p.set_defaults(run=cmd_retrieve)

    p = sub.add_parser("inspect", help="an article's cleaned text and what cleaning removed")
    p.add_argument("source_id")
    p.set_defaults(run=cmd_inspect)

    p = sub.add_parser("ask", help="a cited answer to one question")
    p.add_argument("question")
    p.add_argument("--source", action="append", help="restrict to this source id (repeatable)")
    p.add_argument("--json", action="store_true", help="print the Answer record as JSON")
    p.set_defaults(run=cmd_ask)

    p = sub.add_parser("eval", help="retrieval and answer metrics on a question set")
    p.add_argument("--questions", default=str(DEV_QUESTIONS), help="JSONL question set")
    p.add_argument("-k", type=int, default=8)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_eval)

    p = sub.add_parser("chat", help="a conversation in the terminal")
    p.add_argument("--source", action="append", help="restrict to this source id (repeatable)")
    p.set_defaults(run=cmd_chat)
    return parser


def main(argv: list[str] | None = None, settings_factory: Callable[[], Settings] = Settings) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
    )
    for noisy in (
        "httpx",
        "httpx2",
        "openai",
        "chromadb",
        "sentence_transformers",
        "urllib3",
        "bm25s",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return args.run(Assistant(settings_factory()), args)
    except EmptyQuestionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ParallaxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
