"""Parallax's own judgement of a model's answer: which citations hold, which sentences are
supported, which disagreement blocks may be shown.

`citations.build_answer` parses what the model wrote, its quotes kept as hints. Here every
cited sentence is checked against each passage it cites (`assistant.support`); a citation is
verified when it supports at least one sentence that cites it, and then shows the span that
supports it best. A disagreement block is shown only when at least two positions from two
different outlets survive, each citing passages of its own outlet that support its summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from assistant.citations import segments
from assistant.records import Answer, Citation, Disagreement, Position
from assistant.support import Check, Support, find_support
from assistant.text import marker_numbers, strip_markers
from store.embeddings import Embedder


@dataclass(frozen=True)
class _Claim:
    span: tuple[int, int]
    numbers: list[int]


def verify_answer(answer: Answer, embedder: Embedder) -> Answer:
    """`answer` with citations, sentences and disagreement blocks judged by their support."""
    by_n = {c.n: c for c in answer.citations}
    claims = _claims(answer.text, set(by_n))
    checks: list[tuple[object, int, Check]] = []  # (claim or position, citation n, check)
    for claim in claims:
        sentence = answer.text[slice(*claim.span)]
        checks += [(claim, n, _check(sentence, by_n[n])) for n in claim.numbers]
    for d in answer.disagreements:
        for p in d.positions:
            own = [n for n in p.citations if n in by_n and by_n[n].source_id == p.source_id]
            checks += [(p, n, _check(p.summary, by_n[n])) for n in own]
    found = find_support([check for _, _, check in checks], embedder)
    results = [(owner, n, support) for (owner, n, _), support in zip(checks, found, strict=True)]

    def holding(owner: object) -> list[int]:
        """The citations whose passage supports this claim or position."""
        return [n for o, n, s in results if o is owner and s.supported]

    supported = [c for c in claims if holding(c)]
    kept, dropped = _valid_disagreements(answer.disagreements, holding)
    return replace(
        answer,
        citations=[_judged(c, [s for _, n, s in results if n == c.n]) for c in answer.citations],
        unsupported=[c.span for c in claims if c not in supported],
        supported_sentences=len(supported),
        disagreements=kept,
        dropped_disagreements=dropped,
    )


def _claims(text: str, known: set[int]) -> list[_Claim]:
    """Each cited sentence with the numbers it cites. Markers standing alone after a
    sentence's full stop ("… process. [1].") belong to that sentence."""
    claims: list[_Claim] = []
    previous: tuple[int, int] | None = None
    for start, end, is_sentence in segments(text):
        if not is_sentence:
            previous = None
            continue
        cited = [n for n in dict.fromkeys(marker_numbers(text[start:end])) if n in known]
        bare = not any(ch.isalnum() for ch in strip_markers(text[start:end]))
        if bare and previous is not None:
            if claims and claims[-1].span == previous:
                merged = list(dict.fromkeys(claims[-1].numbers + cited))
                claims[-1] = _Claim((previous[0], end), merged)
            elif cited:
                claims.append(_Claim((previous[0], end), cited))
            previous = (previous[0], end)
        elif cited and not bare:
            claims.append(_Claim((start, end), cited))
            previous = (start, end)
        else:
            previous = (start, end)
    return claims


def _check(claim: str, citation: Citation) -> Check:
    return Check(claim, citation.passage.text, citation.source, hint=citation.quote or None)


def _judged(citation: Citation, supports: list[Support]) -> Citation:
    """Verified with the best supporting span, or unverified with the model's quote as said."""
    holding = [s for s in supports if s.supported]
    if not holding:
        return replace(citation, verified=False, span=None)
    best = max(holding, key=lambda s: s.score)
    start, end = best.span
    return replace(citation, quote=citation.passage.text[start:end], verified=True, span=best.span)


def _valid_disagreements(
    blocks: list[Disagreement], holding: Callable[[Position], list[int]]
) -> tuple[list[Disagreement], int]:
    """Blocks with two outlets' supported positions left, and how many were dropped."""
    kept = []
    for d in blocks:
        positions = [replace(p, citations=cited) for p in d.positions if (cited := holding(p))]
        if len({p.source_id for p in positions}) >= 2:
            kept.append(Disagreement(d.topic, positions))
    return kept, len(blocks) - len(kept)
