"""Evaluation on question sets in the format of `tests/dev_questions.jsonl`.

Retrieval: evidence recall@3/@5/@8, source recall, MRR of the first evidence hit, every side
in the top 5 and top 8 on disagreement questions, unanswerable questions declined and
answerable ones wrongly declined. Conversation: rows with `follow_up_of` are asked after the
question they follow (its answer is the history): follow-ups that refer back must be resolved,
off-topic questions after on-topic ones declined, on-topic ones after off-topic ones answered.
Answers: valid markers, verified quotes, cited sentences, disagreement blocks where they
belong, declines, time per answer.

Each set runs in its own temporary library (the shipped articles plus the set's own, if it
has any), so figures never depend on what a user added to theirs.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from assistant.protocol import RESIDUE_RE
from assistant.records import Answer, Passage, Source
from assistant.service import Assistant
from assistant.settings import REPO_ROOT
from assistant.support import LEXICAL_WEIGHT, THRESHOLD, Check, score
from assistant.text import marker_numbers, normalize
from store.articles import MANIFEST, SUPPORTED_SUFFIXES, load_manifest
from store.embeddings import Embedder

Kind = Literal["factual", "multi-source", "disagreement", "unanswerable"]


@dataclass(frozen=True)
class Evidence:
    source: str
    snippet: str


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    kind: Kind
    question: str
    evidence: list[Evidence]
    sides: list[list[str]] = field(default_factory=list)
    follow_up_of: str | None = None  # asked after this question, with its answer as history


def load_questions(path: Path) -> list[EvalQuestion]:
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        questions.append(
            EvalQuestion(
                id=row["id"],
                kind=row["kind"],
                question=row["question"],
                evidence=[Evidence(e["source"], e["snippet"]) for e in row.get("evidence", [])],
                sides=row.get("sides", []),
                follow_up_of=row.get("follow_up_of"),
            )
        )
    return questions


def first_hit(evidence: Evidence, passages: list[Passage]) -> int | None:
    """1-based rank of the first passage that contains the snippet, if any."""
    snippet = normalize(evidence.snippet)
    for rank, passage in enumerate(passages, start=1):
        if passage.source_id == evidence.source and snippet in normalize(passage.text):
            return rank
    return None


@dataclass(frozen=True)
class RetrievalScore:
    id: str
    kind: Kind
    hits: list[int | None]  # first-hit rank per evidence snippet
    sources_found: float | None
    all_sides: bool | None  # every side in the top k
    all_sides_at_5: bool | None
    answerable: bool
    follow_up_of: str | None = None

    def recall_at(self, k: int) -> float | None:
        if not self.hits:
            return None
        return sum(1 for h in self.hits if h is not None and h <= k) / len(self.hits)

    @property
    def reciprocal_rank(self) -> float | None:
        found = [h for h in self.hits if h is not None]
        if not self.hits:
            return None
        return 1.0 / min(found) if found else 0.0


def _all_sides(question: EvalQuestion, passages: list[Passage]) -> bool | None:
    if not question.sides:
        return None
    retrieved = {p.source_id for p in passages}
    return all(any(s in retrieved for s in side) for side in question.sides)


def score_retrieval(
    question: EvalQuestion, passages: list[Passage], answerable: bool, k: int = 8
) -> RetrievalScore:
    top = passages[:k]
    retrieved_sources = {p.source_id for p in top}
    wanted = {e.source for e in question.evidence}
    return RetrievalScore(
        id=question.id,
        kind=question.kind,
        hits=[first_hit(e, top) for e in question.evidence],
        sources_found=len(wanted & retrieved_sources) / len(wanted) if wanted else None,
        all_sides=_all_sides(question, top),
        all_sides_at_5=_all_sides(question, top[:5]),
        answerable=answerable,
        follow_up_of=question.follow_up_of,
    )


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _count(flags: list[bool]) -> str:
    return f"{sum(flags)}/{len(flags)}"


def summarize_retrieval(scores: list[RetrievalScore]) -> dict[str, Any]:
    answerable_qs = [s for s in scores if s.kind != "unanswerable"]
    unanswerable = [s for s in scores if s.kind == "unanswerable"]
    sides = [s for s in scores if s.all_sides is not None]
    return {
        "questions": len(scores),
        "evidence_recall@3": _mean([s.recall_at(3) for s in answerable_qs]),
        "evidence_recall@5": _mean([s.recall_at(5) for s in answerable_qs]),
        "evidence_recall@8": _mean([s.recall_at(8) for s in answerable_qs]),
        "source_recall@8": _mean([s.sources_found for s in answerable_qs]),
        "mrr": _mean([s.reciprocal_rank for s in answerable_qs]),
        "all_sides@5": _count([bool(s.all_sides_at_5) for s in sides]),
        "all_sides@8": _count([bool(s.all_sides) for s in sides]),
        "all_sides_count": sum(bool(s.all_sides) for s in sides),
        "unanswerable_declined": _count([not s.answerable for s in unanswerable]),
        "unanswerable_declined_count": sum(not s.answerable for s in unanswerable),
        "answerable_wrongly_declined": sum(not s.answerable for s in answerable_qs),
        "answerable_accepted": sum(s.answerable for s in answerable_qs),
    }


def summarize_conversation(scores: list[RetrievalScore]) -> dict[str, Any]:
    """Follow-up rows, by what the question they follow was."""
    kind_of = {s.id: s.kind for s in scores}
    follow = [s for s in scores if s.follow_up_of]

    def after(previous_answerable: bool, answerable: bool) -> list[RetrievalScore]:
        return [
            s
            for s in follow
            if (kind_of.get(s.follow_up_of or "") != "unanswerable") == previous_answerable
            and (s.kind != "unanswerable") == answerable
        ]

    resolved = [s.answerable and (s.recall_at(8) or 0) > 0 for s in after(True, True) if s.hits]
    return {
        "follow_ups_resolved": _count(resolved),
        "off_topic_after_on_topic_declined": _count([not s.answerable for s in after(True, False)]),
        "on_topic_after_off_topic_answered": _count([s.answerable for s in after(False, True)]),
        "off_topic_after_off_topic_declined": _count(
            [not s.answerable for s in after(False, False)]
        ),
    }


@dataclass(frozen=True)
class AnswerScore:
    id: str
    kind: Kind
    markers: int  # markers kept in the text
    removed_markers: int
    citations: int
    verified: int
    sentences: int
    cited_sentences: int
    supported_sentences: int
    added_citations: int  # markers Parallax wrote where the model cited nothing
    residue: bool  # protocol residue in the text the reader sees
    has_disagreement: bool
    dropped_disagreements: int
    sides_cited: bool | None
    declined: bool
    seconds: float


def score_answer(question: EvalQuestion, answer: Answer, seconds: float) -> AnswerScore:
    cited = {c.source_id for c in answer.citations}
    return AnswerScore(
        id=question.id,
        kind=question.kind,
        markers=len(marker_numbers(answer.text)),
        removed_markers=len(answer.removed_markers),
        citations=len(answer.citations),
        verified=sum(c.verified for c in answer.citations),
        sentences=answer.sentences,
        cited_sentences=answer.sentences - answer.uncited_sentences,
        supported_sentences=answer.supported_sentences,
        added_citations=answer.added_citations,
        residue=bool(RESIDUE_RE.search(answer.text)),
        has_disagreement=bool(answer.disagreements),
        dropped_disagreements=answer.dropped_disagreements,
        sides_cited=(
            all(any(s in cited for s in side) for side in question.sides)
            if question.sides
            else None
        ),
        declined=not answer.answerable,
        seconds=seconds,
    )


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def summarize_answers(scores: list[AnswerScore]) -> dict[str, Any]:
    markers = sum(s.markers for s in scores)
    disagreement = [s for s in scores if s.kind == "disagreement"]
    factual = [s for s in scores if s.kind == "factual"]
    unanswerable = [s for s in scores if s.kind == "unanswerable"]
    times = sorted(s.seconds for s in scores)
    return {
        "markers_valid": _share(markers, markers + sum(s.removed_markers for s in scores)),
        "citations_verified": _share(
            sum(s.verified for s in scores), sum(s.citations for s in scores)
        ),
        "sentences_cited": _share(
            sum(s.cited_sentences for s in scores), sum(s.sentences for s in scores)
        ),
        "sentences_cited_by_parallax": sum(s.added_citations for s in scores),
        "cited_sentences_supported": _share(
            sum(s.supported_sentences for s in scores), sum(s.cited_sentences for s in scores)
        ),
        "answers_with_protocol_residue": sum(s.residue for s in scores),
        "disagreement_block_on_disagreement": f"{sum(s.has_disagreement for s in disagreement)}"
        f"/{len(disagreement)}",
        "no_disagreement_block_on_factual": f"{sum(not s.has_disagreement for s in factual)}"
        f"/{len(factual)}",
        "disagreement_blocks_dropped": sum(s.dropped_disagreements for s in scores),
        "both_sides_cited": f"{sum(bool(s.sides_cited) for s in disagreement)}/{len(disagreement)}",
        "both_sides_cited_count": sum(bool(s.sides_cited) for s in disagreement),
        "unanswerable_declined_by_answer": f"{sum(s.declined for s in unanswerable)}"
        f"/{len(unanswerable)}",
        "answerable_answered": sum(not s.declined for s in scores if s.kind != "unanswerable"),
        "mean_s": sum(times) / len(times) if times else None,
        "p95_s": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))] if times else None,
    }


def run_eval(assistant: Assistant, questions: list[EvalQuestion], k: int) -> dict[str, Any]:
    """Retrieval and answers for every question, in the assistant's configured mode."""
    retrieval_scores, answer_scores = [], []
    answers: dict[str, Answer] = {}
    for question in questions:
        previous = answers.get(question.follow_up_of or "")
        history = [previous] if previous else []
        started = time.perf_counter()
        stream = assistant.ask_stream(question.question, history, k=k)
        answer = stream.answer  # scored on the passages this very answer was written from
        answers[question.id] = answer
        retrieved = stream.plan.retrieval
        retrieval_scores.append(
            score_retrieval(question, retrieved.passages, retrieved.answerable, k)
        )
        answer_scores.append(score_answer(question, answer, time.perf_counter() - started))
    return {
        "mode": assistant.mode,
        "model": assistant.model_name,
        "k": k,
        "retrieval": summarize_retrieval(retrieval_scores),
        "conversation": summarize_conversation(retrieval_scores),
        "answers": summarize_answers(answer_scores),
        "per_question": [
            {**r.__dict__, **{f"answer_{key}": v for key, v in a.__dict__.items()}}
            for r, a in zip(retrieval_scores, answer_scores, strict=True)
        ],
    }


def format_table(report: dict[str, Any]) -> str:
    mode = report["mode"] + (f" ({report['model']})" if report["model"] else "")
    name = f"{report['set']} set, " if report.get("set") else ""
    lines = [
        f"Parallax eval: {name}{report['retrieval']['questions']} questions, mode {mode}, "
        f"k={report['k']}"
    ]
    for section in ("retrieval", "conversation", "answers"):
        lines.append(f"\n{section}")
        for key, value in report[section].items():
            if key.endswith("_count") or key == "questions":
                continue
            shown = f"{value:.3f}" if isinstance(value, float) else str(value)
            lines.append(f"  {key:<38} {shown}")
    return "\n".join(lines)


@dataclass(frozen=True)
class EvalSet:
    """A question set and the articles it needs beside the shipped ones (if any)."""

    name: str
    questions: Path
    articles: Path | None = None


SHIPPED = REPO_ROOT / "articles"
EVAL_SETS = [
    EvalSet("dev", REPO_ROOT / "tests" / "dev_questions.jsonl"),
    EvalSet(
        "held-out",
        REPO_ROOT / "tests" / "heldout_questions.jsonl",
        REPO_ROOT / "tests" / "heldout" / "articles",
    ),
]


@dataclass(frozen=True)
class PairSet:
    """Hand-labelled (claim, passage, supported) pairs and the articles they come from."""

    name: str
    pairs: Path
    articles: Path


SUPPORT_SETS = [
    PairSet("calibration", REPO_ROOT / "tests" / "support" / "calibration_pairs.jsonl", SHIPPED),
    PairSet(
        "held-out",
        REPO_ROOT / "tests" / "support" / "heldout_pairs.jsonl",
        REPO_ROOT / "tests" / "heldout" / "articles",
    ),
]
_WEIGHTS = [w / 10 for w in range(11)]
_THRESHOLDS = [t / 100 for t in range(30, 92, 2)]


def _pair_checks(pair_set: PairSet) -> tuple[list[Check], list[bool], list[str]]:
    manifest = load_manifest(pair_set.articles)
    checks, labels, kinds = [], [], []
    for line in pair_set.pairs.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            meta = manifest.get(row["source"]) or {}
            source = Source(
                row["source"], meta.get("title", ""), meta.get("outlet", ""), meta.get("author")
            )
            checks.append(Check(row["claim"], row["passage"], source))
            labels.append(bool(row["supported"]))
            kinds.append(row["kind"])
    return checks, labels, kinds


def _balanced_accuracy(predicted: list[bool], labels: list[bool]) -> float:
    rates = [
        _mean(
            [float(p == label) for p, label in zip(predicted, labels, strict=True) if label is want]
        )
        for want in (True, False)
    ]
    return sum(r or 0.0 for r in rates) / 2


def support_report(embedder: Embedder) -> dict[str, Any]:
    """How well `assistant.support` tells supported claims from unsupported ones.

    On the calibration pairs it also searches the weight and threshold grid, so the shipped
    constants can be checked against what calibration picks; the held-out pairs (articles
    never used for choosing) only report the shipped constants.
    """
    report: dict[str, Any] = {"shipped": {"lexical_weight": LEXICAL_WEIGHT, "threshold": THRESHOLD}}
    for pair_set in SUPPORT_SETS:
        if not pair_set.pairs.is_file():
            continue
        checks, labels, kinds = _pair_checks(pair_set)
        scored = score(checks, embedder)
        predicted = [s.best().supported for s in scored]
        row: dict[str, Any] = {
            "pairs": len(labels),
            "accuracy": _mean([float(p == y) for p, y in zip(predicted, labels, strict=True)]),
            "balanced_accuracy": _balanced_accuracy(predicted, labels),
            "precision": _share(
                sum(p and y for p, y in zip(predicted, labels, strict=True)), sum(predicted)
            ),
            "recall": _share(
                sum(p and y for p, y in zip(predicted, labels, strict=True)), sum(labels)
            ),
            "by_kind": {
                kind: f"{sum(p == y for p, y, k in zip(predicted, labels, kinds, strict=True) if k == kind)}"
                f"/{kinds.count(kind)} right"
                for kind in dict.fromkeys(kinds)
            },
        }
        if pair_set.name == "calibration":
            grid = {
                (w, t): _balanced_accuracy([s.best(w, t).supported for s in scored], labels)
                for w in _WEIGHTS
                for t in _THRESHOLDS
            }
            (w, t), best = max(grid.items(), key=lambda item: item[1])
            row["best_on_grid"] = {"lexical_weight": w, "threshold": t, "balanced_accuracy": best}
        report[pair_set.name] = row
    return report


def format_support(report: dict[str, Any]) -> str:
    shipped = report["shipped"]
    lines = [
        "Citation support (labelled claim/passage pairs), lexical weight "
        f"{shipped['lexical_weight']}, threshold {shipped['threshold']}"
    ]
    for name in ("calibration", "held-out"):
        if name not in report:
            continue
        row = report[name]
        lines.append(f"\n{name} pairs ({row['pairs']})")
        for key, value in row.items():
            if key in ("pairs", "by_kind", "best_on_grid"):
                continue
            lines.append(f"  {key:<38} {value:.3f}" if value is not None else f"  {key:<38} -")
        lines += [f"  {kind:<38} {shown}" for kind, shown in row["by_kind"].items()]
        if best := row.get("best_on_grid"):
            lines.append(
                f"  {'best on the grid':<38} weight {best['lexical_weight']}, threshold "
                f"{best['threshold']}: balanced accuracy {best['balanced_accuracy']:.3f}"
            )
    return "\n".join(lines)


def seed_library(shipped: Path, extra: Path | None, folder: Path) -> Path:
    """The shipped articles plus the set's own, with one merged manifest."""
    folder.mkdir(parents=True)
    manifests = []
    for source in (shipped, extra):
        if source is None or not source.is_dir():
            continue
        for path in sorted(source.iterdir()):
            if path.name == MANIFEST:
                manifests.append(path.read_text(encoding="utf-8"))
            elif path.suffix.lower() in SUPPORTED_SUFFIXES:
                shutil.copy2(path, folder / path.name)
    (folder / MANIFEST).write_text("\n\n".join(manifests), encoding="utf-8")
    return folder


def run_set(assistant: Assistant, eval_set: EvalSet, k: int) -> dict[str, Any]:
    """`run_eval` in a temporary library of its own, sharing the assistant's models."""
    with tempfile.TemporaryDirectory(prefix="parallax-eval-") as tmp:
        root = Path(tmp)
        settings = assistant.settings.model_copy(
            update={
                "articles_dir": seed_library(
                    assistant.settings.articles_dir, eval_set.articles, root / "seed"
                ),
                "library_dir": root / "library",
                "chroma_path": root / "chroma",
                "chroma_host": None,
            }
        )
        isolated = Assistant(settings, assistant.embedder, assistant.answerer.chat_model)
        report = run_eval(isolated, load_questions(eval_set.questions), k)
    return {"set": eval_set.name, **report}
