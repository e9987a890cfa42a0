"""Parallax's own judgement of a model's answer: which citations hold, which sentences are
supported, which disagreement blocks may be shown, and citations for what the model left
uncited.

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
from assistant.support import Check, Support, Vectors, content_words, find_support
from assistant.text import BRACKET_RE, NUMBER_RE, marker_numbers, marker_offset, strip_markers
from store.embeddings import Embedder


@dataclass(frozen=True)
class _Claim:
    span: tuple[int, int]
    numbers: list[int]


MIN_WORDS_TO_CITE = 3  # content words: "The sources disagree." needs no citation


def cite_uncited(answer: Answer, embedder: Embedder, known: Vectors | None = None) -> Answer:
    """Sentences the model left without a marker get one, to the retrieved passage that
    supports them best, when one does; citations are then renumbered by first use.

    Small models often write a good answer and no markers at all: without this the reader
    could not check a word of it. `added_citations` says how many markers Parallax wrote.
    """
    passages = answer.passages
    cited = [c.span for c in _claims(answer.text, set(marker_numbers(answer.text)))]
    uncited = [
        (start, end)
        for start, end, is_sentence in segments(answer.text)
        if is_sentence
        and not any(s <= start and end <= e for s, e in cited)
        and len(content_words(answer.text[start:end])) >= MIN_WORDS_TO_CITE
    ]
    if not uncited or not passages:
        return answer
    checks = [Check(answer.text[s:e], p.text, p.source) for s, e in uncited for p in passages]
    found = find_support(checks, embedder, known)
    numbers = {c.chunk_id: c.n for c in answer.citations}
    citations = list(answer.citations)
    inserts: list[tuple[int, int]] = []  # (offset, citation number)
    for i, (start, end) in enumerate(uncited):
        row = found[i * len(passages) : (i + 1) * len(passages)]
        best = max(range(len(passages)), key=lambda j: row[j].score)
        if not row[best].supported:
            continue
        passage = passages[best]
        if passage.chunk_id not in numbers:
            numbers[passage.chunk_id] = len(citations) + 1
            citations.append(Citation(len(citations) + 1, passage, "", False))
        inserts.append((marker_offset(answer.text, start, end), numbers[passage.chunk_id]))
    if not inserts:
        return answer
    text = answer.text
    for at, n in reversed(inserts):
        text = f"{text[:at]} [{n}]{text[at:]}"
    return _renumbered(
        replace(
            answer,
            text=text,
            citations=citations,
            answerable=True,
            uncited_sentences=answer.uncited_sentences - len(inserts),
            added_citations=len(inserts),
        )
    )


def _renumbered(answer: Answer) -> Answer:
    """Citations numbered by first use in the text, then those only a disagreement cites."""
    order = list(dict.fromkeys(marker_numbers(answer.text)))
    order += [c.n for c in answer.citations if c.n not in order]
    new = {old: i for i, old in enumerate(order, start=1)}
    text = BRACKET_RE.sub(
        lambda m: "".join(f"[{new.get(int(n), n)}]" for n in NUMBER_RE.findall(m[0])), answer.text
    )
    return replace(
        answer,
        text=text,
        citations=sorted((replace(c, n=new[c.n]) for c in answer.citations), key=lambda c: c.n),
        disagreements=[
            replace(
                d,
                positions=[
                    replace(p, citations=[new[n] for n in p.citations]) for p in d.positions
                ],
            )
            for d in answer.disagreements
        ],
    )


def verify_answer(answer: Answer, embedder: Embedder) -> Answer:
    """`answer` with citations, sentences and disagreement blocks judged by their support."""
    known: Vectors = {}  # both passes below check the same passages
    answer = cite_uncited(answer, embedder, known)
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
    found = find_support([check for _, _, check in checks], embedder, known)
    results = [(owner, n, support) for (owner, n, _), support in zip(checks, found, strict=True)]

    def holding(owner: object) -> list[int]:
        """The citations whose passage supports this claim or position."""
        return [n for o, n, s in results if o is owner and s.supported]

    supported = [c for c in claims if holding(c)]
    kept, dropped = _valid_disagreements(answer.disagreements, holding)
    # A citation only a dropped block referred to goes with it: a reference to nothing.
    used = set(marker_numbers(answer.text)) | {
        n for d in kept for p in d.positions for n in p.citations
    }
    judged = replace(
        answer,
        citations=[
            _judged(c, [s for _, n, s in results if n == c.n])
            for c in answer.citations
            if c.n in used
        ],
        unsupported=[c.span for c in claims if c not in supported],
        supported_sentences=len(supported),
        disagreements=kept,
        dropped_disagreements=dropped,
    )
    return judged if len(judged.citations) == len(answer.citations) else _renumbered(judged)


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
