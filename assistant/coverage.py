"""Whether the articles cover a query: several signals, one interpretable rule.

A single cosine threshold fails both ways: a question hinging on a rare name scores a modest
similarity yet is answered word for word in one passage, while an off-topic question that
shares the articles' vocabulary ("peace talks", "ceasefire") scores as high as a real one.
So the verdict weighs the dense similarity together with lexical evidence: how much of the
query's rarity-weighted vocabulary the best passages contain. Terms the library has never
seen weigh the most, so "Who won the Super Bowl?" cannot pass on its common words.

The thresholds were calibrated on `tests/calibration_questions.jsonl` and the dev set, never
on the held-out set (`tests/heldout_questions.jsonl`); `parallax eval` reports both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from assistant.records import Coverage

# Dense similarity at which a passage answers the query whatever the words.
CONFIDENT_SIMILARITY = 0.55
# Below this similarity nothing is covered, whatever words are shared.
MIN_SIMILARITY = 0.22
# Rarity-weighted share of the query's terms the best passages must contain in between.
MIN_LEXICAL = 0.6


@dataclass(frozen=True)
class LexicalStats:
    """Document frequency of each indexed token, and the number of documents."""

    doc_freq: dict[str, int]
    docs: int

    def idf(self, token: str) -> float:
        """Unseen tokens get the highest weight: they are what the library lacks."""
        return math.log(1 + self.docs / (self.doc_freq.get(token, 0) + 0.5))


def judge(
    similarity: float,
    query_tokens: list[str],
    name_tokens: set[str],
    top_tokens: list[list[str]],
    stats: LexicalStats,
    agreement: float,
) -> Coverage:
    """The verdict and every signal behind it, so eval and `--json` can show why.

    `name_tokens` are the query's tokens that come from capitalised words or numbers (names,
    places, years). One the library has never seen is decisive: the articles cannot be
    about it. An unseen ordinary word ("harder", "stay") says little, since the reader's
    phrasing is not the writer's: it weighs like the query's typical known word.
    """
    terms = list(dict.fromkeys(t for t in query_tokens if t))
    unknown = [t for t in terms if stats.doc_freq.get(t, 0) == 0]
    unknown_names = [t for t in unknown if t in name_tokens]
    present = {t for tokens in top_tokens for t in tokens}
    known = sorted(stats.idf(t) for t in terms if t not in unknown)
    typical = known[len(known) // 2] if known else 1.0
    weights = {t: typical if t in unknown and t not in name_tokens else stats.idf(t) for t in terms}
    total = sum(weights.values())
    lexical = sum(w for t, w in weights.items() if t in present) / total if total else 0.0
    if similarity >= CONFIDENT_SIMILARITY:
        covered, reason = True, "a passage closely matches the question"
    elif similarity < MIN_SIMILARITY:
        covered, reason = False, "no passage is about this question"
    elif unknown_names:
        covered, reason = False, f"the library never mentions: {', '.join(unknown_names)}"
    elif lexical >= MIN_LEXICAL:
        covered, reason = True, "the best passages contain the question's distinctive terms"
    else:
        covered, reason = False, "the best passages lack the question's distinctive terms"
    return Coverage(covered, similarity, lexical, unknown, agreement, reason)
