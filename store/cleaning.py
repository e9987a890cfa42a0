"""Strip page chrome, widgets, appeals and teasers from a raw captured news article.

Captures are the visible text of a web page: besides the article they hold navigation,
share/subscribe/comment widgets, photo credits, residue of embedded posts, fundraising
appeals and teasers for other stories. Rules are generic (structure and widget vocabulary,
never a site's name or wording) so they work on the next site a user captures:

* per-paragraph rules (`LINE_RULES`) drop widgets, credits, separators and residue anywhere;
* `EMBED_LINK` strips embedded-post link tokens out of paragraphs that are otherwise kept;
* tail rules (`TAIL_RULES`) find a strong end-of-article marker in the second half of the
  page and drop everything from it on;
* lines before the title (when known) are page chrome; verbatim repeats are dropped.

Every removal is reported as a `RemovedBlock` naming the rule, so cleaning can be audited.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate


@dataclass(frozen=True)
class RemovedBlock:
    text: str  # the removed paragraph/line (or token), as it was
    rule: str  # short rule name, e.g. "duplicate-paragraph"
    why: str  # one human sentence


@dataclass(frozen=True)
class CleanedText:
    text: str  # cleaned article: paragraphs joined by "\n\n"
    removed: tuple[RemovedBlock, ...]


# --- splitting -------------------------------------------------------------------------

_WRAP_MAX = 100  # hard-wrapped text (Markdown, e-mail) never has longer lines
_WRAP_MIN = 40
_MD_HEADING = re.compile(r"^#{1,6}\s")
_MD_ITEM = re.compile(r"^(?:[-*+•]|\d{1,3}[.)])\s")


def _items(lines: list[str]) -> list[list[str]]:
    """Group a block's lines so that Markdown headings and list items start a new group."""
    items: list[list[str]] = []
    for line in lines:
        starts = _MD_HEADING.match(line) or _MD_ITEM.match(line)
        if not items or starts or _MD_HEADING.match(items[-1][-1]):
            items.append([line])
        else:
            items[-1].append(line)
    return items


def _is_wrapped(lines: list[str]) -> bool:
    """Lines of similar, moderate length are one paragraph hard-wrapped over several lines."""
    longest = max(len(line) for line in lines)
    floor = max(_WRAP_MIN, 0.6 * longest)
    return len(lines) > 1 and longest <= _WRAP_MAX and all(len(ln) >= floor for ln in lines[:-1])


def _paragraphs(raw: str) -> list[str]:
    """One paragraph per non-empty line, except hard-wrapped blocks, which are re-joined."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs: list[str] = []
    for block in re.split(r"\n[ \t]*\n", text):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        for item in _items(lines):
            paragraphs.extend([" ".join(item)] if _is_wrapped(item) else item)
    return paragraphs


# --- shared signals --------------------------------------------------------------------

_STRAIGHT = str.maketrans("‘’“”–—\u00a0", "''\"\"-- ")


def _key(text: str) -> str:
    """Comparison key: no Markdown heading marks, straight quotes, collapsed whitespace."""
    return " ".join(text.translate(_STRAIGHT).lstrip("#* ").rstrip("* ").split()).casefold()


def _is_heading(p: str, max_words: int = 12) -> bool:
    """Short and without sentence-final punctuation: a heading, label or link text."""
    return len(p.split()) <= max_words and not p.endswith((".", "!", "?", ";", ",", "…", '"', "”"))


_PHOTO_CREDIT = re.compile(
    r"^\(?(?:(?:top|main|lead|header|hero|featured|cover)\s+)?(?:photo|image|picture)s?"
    r"\s*(?:credits?\b|by\b|:)|^\(?credits?\s*:",
    re.IGNORECASE,
)
_KEEP_READING = re.compile(r"^(?:keep|continue) reading|^read more\b|^show (?:more|less)$", re.I)


# --- per-paragraph rules ---------------------------------------------------------------


def _separator(p: str) -> bool:
    """A lone dash/bullet/asterisk line only separates items of a list or card grid."""
    return bool(re.fullmatch(r"[-–—•*·|~_=\s]+", p))


def _photo_credit(p: str) -> bool:
    """'Top photo credit: …', 'Image: …', 'Photo by …' credit a picture, not the story."""
    return bool(_PHOTO_CREDIT.match(p))


def _embed_attribution(p: str) -> bool:
    """'— Name (@handle) Month D, YYYY' is the footer of an embedded social-media post."""
    return bool(re.fullmatch(r"[—–-]\s*[^()]{1,80}\(@\w{1,30}\)\s+\w+\.?\s+\d{1,2},\s+\d{4}", p))


def _read_more_link(p: str) -> bool:
    """'keep reading', 'Continue reading…', 'Read more: …', 'Show less' are links, not prose."""
    return len(p.split()) <= 12 and bool(_KEEP_READING.match(p))


_WIDGET_PHRASE = re.compile(
    r"\b(?:subscribe (?:now|today|here)|already a subscriber|not your account"
    r"|sign (?:up|in) (?:for|to) (?:our|your|continue|read|comment)|log in to (?:your|continue)"
    r"|join the conversation|comment(?:ing)? guidelines|follow us\b|click here\b)",
    re.IGNORECASE,
)
_WIDGET_WORD = re.compile(
    r"\b(?:subscri\w*|newsletters?|share|follow|comments?|sign (?:in|up)|log ?in|register"
    r"|advertisement|print|e-?mail|facebook|twitter|linkedin|whatsapp|bookmark)\b",
    re.IGNORECASE,
)


def _widget(p: str) -> bool:
    """Share/follow/subscribe/comment widgets: a widget phrase, or a short label using one."""
    return bool(_WIDGET_PHRASE.search(p)) or (_is_heading(p, 6) and bool(_WIDGET_WORD.search(p)))


def _nav_line(p: str) -> bool:
    """'Analysis | Europe', 'Home › World': short segments joined by separators are navigation."""
    parts = re.split(r"\s+[|›»>•/]\s+", p)
    return len(parts) > 1 and _is_heading(p) and all(len(s.split()) <= 3 for s in parts)


def _label(p: str) -> bool:
    """A lone ALL-CAPS word or two ('LATEST', 'WORLD NEWS') is a site section label."""
    return bool(re.fullmatch(r"[A-Z][A-Z0-9&'’-]+(?: [A-Z][A-Z0-9&'’-]+)?", p))


def _repeated_text(p: str) -> bool:
    """'Subscribe Subscribe', 'Title Title': link text doubled by a widget, never prose."""
    words = p.split()
    half = len(words) // 2
    return len(words) % 2 == 0 and half > 0 and words[:half] == words[half:]


@dataclass(frozen=True)
class _LineRule:
    name: str
    why: str
    matches: Callable[[str], bool]


LINE_RULES: tuple[_LineRule, ...] = (
    _LineRule("separator", "is a bare separator line between list items", _separator),
    _LineRule("photo-credit", "credits a photo rather than telling the story", _photo_credit),
    _LineRule(
        "embed-attribution",
        "is the author/date footer of an embedded social-media post",
        _embed_attribution,
    ),
    _LineRule("read-more-link", "is a link to keep reading, not article text", _read_more_link),
    _LineRule("widget", "is share/follow/subscribe/comment widget text", _widget),
    _LineRule("nav-line", "is a breadcrumb or section navigation line", _nav_line),
    _LineRule("label", "is an all-caps site section label", _label),
    _LineRule("repeated-text", "repeats the same link text twice, as widgets do", _repeated_text),
)

EMBED_LINK = re.compile(r"\s*\b(?:https?://)?(?:pic\.twitter\.com|pic\.x\.com|t\.co)/\w+")
_EMBED_WHY = "is the link left behind by an embedded social-media post"
_CHROME_WHY = "precedes the article title, so it is page navigation"
_DUPLICATE_WHY = "repeats an earlier paragraph verbatim"


# --- tail rules: a marker in the second half ends the article -------------------------

_RELATED = re.compile(
    r"(?:more (?:from|in|on|stories|articles|news)\b.*|related(?: \w+){0,2}|read (?:more|next)"
    r"|recommended(?: \w+){0,2}|you (?:may|might) also like|most (?:read|popular|viewed)"
    r"|further reading|(?:the )?latest(?: \w+){0,2}|up next|editors?['’]? picks"
    r"|trending(?: now)?|top stories)\s*:?",
    re.IGNORECASE,
)
_COMMENTS = re.compile(
    r"join the conversation|(?:view|show|read|see) (?:all )?(?:\d+ )?comments?|\d+ comments?"
    r"|comments?(?: \(\d+\))?|(?:leave|post|add) a (?:comment|reply)",
    re.IGNORECASE,
)
_APPEAL = re.compile(
    r"\bdonat(?:e|es|ed|ing|ions?)\b|\bpromo(?:tional)? code\b|\b\d+% off\b"
    r"|\b(?:your|a) (?:gift|contribution|membership|subscription)\b"
    r"|\bsupport (?:our|independent|quality|reader-funded) (?:journalism|reporting|work)\b"
    r"|\bbecome a (?:member|subscriber|supporter|patron)\b|\btax-deductible\b",
    re.IGNORECASE,
)
_READER = re.compile(r"\b(?:you|your|us|our)\b", re.IGNORECASE)
_APPEAL_OPENER = re.compile(
    r"\b(?:support|donat|give|giving|subscri|join|help|member)\w*", re.IGNORECASE
)
_APPEAL_LOOKBACK = 5  # paragraphs an appeal's heading may sit above its first pitch
_CARD_LOOKBACK = 10  # paragraphs a teaser card's photo credit may sit above its link


def _related_heading(paras: list[str], i: int) -> int | None:
    """'More from X', 'Related', 'Recommended', 'Read more' headings open lists of other stories."""
    p = paras[i]
    return i if len(p.split()) <= 6 and _RELATED.fullmatch(p) else None


def _teaser_list(paras: list[str], i: int) -> int | None:
    """Separator lines recurring every few lines delimit a list of teasers for other stories."""
    following = paras[i + 2 : i + 5]
    return i if _separator(paras[i]) and any(_separator(p) for p in following) else None


def _teaser_card(paras: list[str], i: int) -> int | None:
    """A 'keep reading' link closes a teaser card; the card starts at its photo credit
    (plus the short caption/heading lines just above it)."""
    if not _KEEP_READING.match(paras[i]):
        return None
    above = range(i - 1, max(i - 1 - _CARD_LOOKBACK, -1), -1)
    start = next((j for j in above if _photo_credit(paras[j])), None)
    if start is None:
        return None
    while start > 0 and (_is_heading(paras[start - 1]) or _photo_credit(paras[start - 1])):
        start -= 1
    return start


def _fundraising_appeal(paras: list[str], i: int) -> int | None:
    """A donation/membership/promo-code pitch addressed to the reader ends the article; it starts
    at the nearby 'support us' heading or 'Editor's note' that introduces it."""
    p = paras[i]
    if not (_APPEAL.search(p) and _READER.search(p)):
        return None
    for j in range(i, max(i - _APPEAL_LOOKBACK, -1), -1):
        opener = paras[j]
        if re.match(r"editor['’]?s note\b", opener, re.IGNORECASE) or (
            _is_heading(opener, 10) and _APPEAL_OPENER.search(opener)
        ):
            return j
    return i


def _comment_widget(paras: list[str], i: int) -> int | None:
    """'Join the conversation', 'View 2 comments', 'Comments': the comment section follows."""
    return i if len(paras[i].split()) <= 5 and _COMMENTS.fullmatch(paras[i]) else None


@dataclass(frozen=True)
class _TailRule:
    name: str
    why: str
    start: Callable[[list[str], int], int | None]


TAIL_RULES: tuple[_TailRule, ...] = (
    _TailRule(
        "related-heading", "is in the list of other stories after the article", _related_heading
    ),
    _TailRule(
        "teaser-list", "is in the teaser list for other stories after the article", _teaser_list
    ),
    _TailRule(
        "teaser-card", "is in the teaser cards for other stories after the article", _teaser_card
    ),
    _TailRule(
        "fundraising-appeal",
        "is in the fundraising or promotional appeal after the article",
        _fundraising_appeal,
    ),
    _TailRule("comment-widget", "is in the comment section after the article", _comment_widget),
)


def _tail(paras: list[str], body_start: int) -> tuple[int, _TailRule] | None:
    """First end-of-article marker in the second half of the body (earlier ones may be body)."""
    total = sum(len(p) for p in paras[body_start:])
    offsets = list(accumulate((len(p) for p in paras[body_start:]), initial=0))
    for i in range(body_start, len(paras)):
        if offsets[i - body_start] >= total / 2:
            for rule in TAIL_RULES:
                start = rule.start(paras, i)
                if start is not None:
                    start = max(start, body_start)
                    # A look-back may not reach into the first half either: that is body.
                    if offsets[start - body_start] < total / 2:
                        start = i
                    return start, rule
    return None


def _title_index(paras: list[str], title: str | None) -> int | None:
    """Index of the line equal to the title, looked for in the first half of the page."""
    if not title:
        return None
    wanted = _key(title)
    return next((i for i, p in enumerate(paras[: len(paras) // 2 + 1]) if _key(p) == wanted), None)


# --- entry point -----------------------------------------------------------------------


def clean(raw: str, title: str | None = None) -> CleanedText:
    """Return the article body of a raw capture and every block removed, with its rule."""
    paras = _paragraphs(raw)
    title_at = _title_index(paras, title)
    body_start = 0 if title_at is None else title_at + 1
    tail = _tail(paras, body_start)
    kept: list[str] = []
    removed: list[RemovedBlock] = []
    seen: set[str] = set()
    for i, p in enumerate(paras):
        if title_at is not None and i < title_at:
            removed.append(RemovedBlock(p, "page-chrome", _CHROME_WHY))
            continue
        if tail is not None and i >= tail[0]:
            removed.append(RemovedBlock(p, tail[1].name, tail[1].why))
            continue
        removed.extend(
            RemovedBlock(t.strip(), "embed-link", _EMBED_WHY) for t in EMBED_LINK.findall(p)
        )
        p = EMBED_LINK.sub("", p).strip()
        key = " ".join(p.split())
        rule = None if i == title_at else next((r for r in LINE_RULES if r.matches(p)), None)
        if not p:
            continue
        if rule is not None:
            removed.append(RemovedBlock(p, rule.name, rule.why))
        elif key in seen:
            removed.append(RemovedBlock(p, "duplicate-paragraph", _DUPLICATE_WHY))
        else:
            seen.add(key)
            kept.append(p)
    return CleanedText("\n\n".join(kept), tuple(removed))
