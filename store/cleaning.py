"""Strip page chrome, widgets, appeals and teasers from a raw captured news article.

Captures are the visible text of a web page: besides the article they hold navigation,
share/subscribe/comment widgets, photo credits, residue of embedded posts, fundraising
appeals and teasers for other stories. Rules are generic (structure and widget vocabulary,
never a site's name or wording) so they work on the next site a user captures:

* per-paragraph rules (`LINE_RULES`) drop widgets, credits, captions, promotional and
  sign-up sentences, legal/cookie lines, datelines and residue anywhere on the page;
* `EMBED_LINK` strips embedded-post link tokens out of paragraphs that are otherwise kept;
  Markdown link syntax is reduced to its text, and a line that is mostly links is navigation;
* a "related / most popular / recommended" heading anywhere after the title drops the teaser
  headlines under it; tail rules (`TAIL_RULES`) find a strong end-of-article marker in the
  second half of the page and drop everything from it on;
* after the article's last paragraph of prose, what is left is page furniture: short
  headline-shaped lines, and an author bio;
* lines before the title (when known) are page chrome; repeats (after straightening quotes)
  are dropped. Fenced code is never touched: code is not navigation.

Every removal is reported as a `RemovedBlock` naming the rule, so cleaning can be audited.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
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


_FENCE = re.compile(r"^(?:```|~~~)")
_FENCED = re.compile(r"^(?:```|~~~).*?^(?:```|~~~)[^\n]*$", re.MULTILINE | re.DOTALL)


def _is_code(p: str) -> bool:
    """A fenced code block (kept whole, as one paragraph): no text rule applies to code."""
    return bool(_FENCE.match(p))


# An unfenced line of code: a call, braces, an assignment or comparison, a statement's end.
_CODE_LINE = re.compile(r"\w\([^()]*\)|[{}]|\s[=!<>]=?\s|::|->|;\s*$")


def _looks_like_code(p: str) -> bool:
    """Code pasted without fences: widget words ('print', 'share') and ' / ' in it are code."""
    return bool(_CODE_LINE.search(p))


def _drop_caps(lines: list[str]) -> list[str]:
    """'T' / 'urkey has…': a styled initial letter captured on its own line rejoins its word."""
    out: list[str] = []
    for line in lines:
        if out and re.fullmatch(r"[A-Z]", out[-1]) and line[:1].islower():
            out[-1] += line
        else:
            out.append(line)
    return out


def _paragraphs(raw: str) -> list[str]:
    """One paragraph per non-empty line, except hard-wrapped blocks, which are re-joined,
    and fenced code blocks, which stay one paragraph with their lines."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs: list[str] = []
    at = 0
    for fence in [*_FENCED.finditer(text), None]:
        prose = text[at : fence.start() if fence else len(text)]
        for block in re.split(r"\n[ \t]*\n", prose):
            lines = _drop_caps([line.strip() for line in block.split("\n") if line.strip()])
            for item in _items(lines):
                paragraphs.extend([" ".join(item)] if _is_wrapped(item) else item)
        if fence:
            paragraphs.append(fence.group(0).strip("\n"))
            at = fence.end()
    return paragraphs


# --- shared signals --------------------------------------------------------------------

_STRAIGHT = str.maketrans(
    {
        **dict.fromkeys("‘’‚‛′`´", "'"),
        **dict.fromkeys("“”„‟″«»", '"'),
        **dict.fromkeys("‐‑‒–—―−", "-"),
        **dict.fromkeys("\u00a0\u2009\u202f", " "),
        **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad"),
    }
)


def _key(text: str) -> str:
    """Comparison key: no Markdown heading marks, typography straightened (NFKC, quotes,
    dashes, invisible characters), whitespace collapsed, case folded. Two captures of one
    line differ in exactly these ways."""
    text = unicodedata.normalize("NFKC", text).translate(_STRAIGHT)
    return " ".join(text.lstrip("#* ").rstrip("* ").split()).casefold()


def _is_heading(p: str, max_words: int = 12) -> bool:
    """Short and without sentence-final punctuation: a heading, label or link text."""
    return len(p.split()) <= max_words and not p.endswith((".", "!", "?", ";", ",", "…", '"', "”"))


_PROSE_WORDS = 20


def _is_prose(p: str) -> bool:
    """A paragraph of running text: a long line that ends like a sentence."""
    return len(p.split()) >= _PROSE_WORDS and p.rstrip("\"”’')*_ ").endswith((".", "!", "?", ":"))


_SENTENCE_WORDS = 8


def _is_sentence(p: str) -> bool:
    """A line that ends like a sentence and is longer than a label."""
    return len(p.split()) >= _SENTENCE_WORDS and p.rstrip("\"”’')*_ ").endswith((".", "!", "?"))


_PICTURE = r"(?:photo(?:graph)?|image|picture|illustration|video|graphic)s?"
_PHOTO_CREDIT = re.compile(
    rf"^\(?(?:(?:top|main|lead|header|hero|featured|cover)\s+)?{_PICTURE}"
    r"\s*(?:credits?\b|by\b|:|courtesy\b)|^\(?credits?\s*:|^courtesy of\b",
    re.IGNORECASE,
)
# A caption ends in its credit: a picture agency, "(Photo: …)", "Photo by …", "By AGENCY".
_AGENCY = (
    r"getty images|shutterstock|istock(?:photo)?|alamy(?: stock photo)?|dreamstime|unsplash"
    r"|pexels|wikimedia commons|(?:ap|afp|reuters|epa|xinhua)(?: photo| images)"
)
_CREDIT_END = re.compile(
    rf"(?:\b(?:{_AGENCY})\b[^.!?]{{0,40}}|\(\s*{_PICTURE}\b[^()]{{0,80}}\)\.?"
    rf"|\b{_PICTURE}(?: credits?)?\s*(?::|by|courtesy of)\s*[^.!?]{{1,80}}\.?)\s*$",
    re.IGNORECASE,
)
_CAPS_BYLINE_END = re.compile(
    r"\b[Bb]y [A-Z][A-Z0-9 .&'’-]{3,60}(?<!\.)$"
)  # "… By U.S. AGENCY NAME"
_CAPTION_MAX_WORDS = 60

_KEEP_READING = re.compile(
    r"^(?:keep|continue) reading|^read (?:more|next)\b|^show (?:more|less)$", re.I
)


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


def _caption_credit(p: str) -> bool:
    """A photo caption ends in its credit ('… Getty Images', '… (Photo: Name/Agency)')."""
    return len(p.split()) <= _CAPTION_MAX_WORDS and bool(
        _CREDIT_END.search(p) or _CAPS_BYLINE_END.search(p)
    )


_WIDGET_PHRASE = re.compile(
    r"\b(?:subscribe (?:now|today|here)|already a subscriber|not your account"
    r"|sign (?:up|in) (?:for|to) (?:our|your|continue|read|comment)|log in to (?:your|continue)"
    r"|join the conversation|(?:view|join|read) the discussion|comment(?:ing)? guidelines"
    r"|follow us\b|click here\b)",
    re.IGNORECASE,
)
_WIDGET_WORD = re.compile(
    r"\b(?:subscri\w*|newsletters?|share|follow|comments?|sign (?:in|up)|log ?in|register"
    r"|advertis(?:ement|ing)|sponsored|print|e-?mail|facebook|twitter|linkedin|whatsapp"
    r"|bookmark|flipboard|pinterest|reddit|tumblr|telegram|push notifications?)\b",
    re.IGNORECASE,
)
# A share/follow widget's label may be long ("Click to share on X (Opens in new window)").
_SHARE_LABEL = re.compile(
    r"\b(?:click|tap) to (?:share|email|print|copy|tweet|post|pin|save)\b|\bopens? in (?:a )?new "
    r"(?:window|tab)\b|\b(?:share|post|tweet|pin) (?:this|it|on|to|via)\b|\bcopy (?:the )?(?:link|url)\b",
    re.IGNORECASE,
)
_WIDGET_MAX_WORDS = 16


def _widget(p: str) -> bool:
    """Share/follow/subscribe/comment widgets: a widget phrase, a share label of any length,
    or a short label using widget vocabulary. A paragraph as long as running prose is prose,
    whatever phrase it mentions."""
    return (
        (len(p.split()) <= _PROMO_MAX_WORDS and bool(_WIDGET_PHRASE.search(p)))
        or (_is_heading(p, _WIDGET_MAX_WORDS) and bool(_SHARE_LABEL.search(p)))
        or (_is_heading(p, 6) and bool(_WIDGET_WORD.search(p)))
    )


# A promotional sentence pitches the site's products to the reader: newsletters, apps,
# subscriptions, paywalls, social accounts, feedback. It may sit anywhere in the page.
_PROMO = re.compile(
    r"\b(?:newsletters?|subscri(?:be|bed|ber|bers|ption|ptions)|sign(?:ing)?[ -]?up|inbox(?:es)?"
    r"|e-?mail (?:updates|alerts|list)|mailing list|breaking news alerts?|push notifications?"
    r"|(?:the|our) (?:[\w-]+ ){0,3}app\b|app store|google play|unlimited (?:digital )?access"
    r"|(?:full|entire) (?:story|article)|continue reading|free (?:trial|account)"
    r"|create an account|(?:log|sign) in\b|paywall|premium (?:content|members?)"
    r"|(?:follow|find|join|like) (?:us|me|\w+(?: \w+){0,3}) on (?:twitter|x|facebook|instagram"
    r"|linkedin|youtube|tiktok|threads|bluesky|mastodon|social(?: media)?)"
    r"|keep up with (?:me|us)|stay (?:up to date|informed|in the loop|on top of)"
    r"|(?:tell us what you think|we want to hear|we.d love to hear|share your (?:thoughts|views))"
    r")\b",
    re.IGNORECASE,
)
_ADDRESSED = re.compile(
    r"\b(?:you|your|yours|we|us|our)\b|(?:^|[.!?]\s+)(?:subscribe|sign|join|follow|download"
    r"|get|receive|click|tap|register|log|stay|don'?t miss|never miss|want|like|enjoy(?:ed)?"
    r"|support|keep|do it)\b|\bplease\b",
    re.IGNORECASE,
)
_REPORTED = re.compile(r"[\"“”]|\b(?:said|says|told|according to)\b", re.IGNORECASE)
_PROMO_MAX_WORDS = 60


def _promotional(p: str) -> bool:
    """A short paragraph addressed to the reader that pitches a newsletter, app, subscription
    or social account. Quoted or reported speech is news, never a pitch."""
    return (
        len(p.split()) <= _PROMO_MAX_WORDS
        and bool(_PROMO.search(p))
        and bool(_ADDRESSED.search(p))
        and not _REPORTED.search(p)
    )


_LEGAL = re.compile(
    r"all rights reserved|©|\(c\) \d{4}|\bcopyright\b|privacy (?:policy|statement|notice|"
    r"settings|center|choices)|terms (?:of|and) (?:use|service|conditions)|cookie (?:policy|"
    r"settings|preferences|notice)|do not sell|(?:advertise|advertising) (?:with us|guidelines|"
    r"policy)|accessibility (?:statement|policy)|\bsitemap\b|affiliate (?:link|commission)s?"
    r"|(?:participant|participates) in the amazon|^(?:our|editorial) (?:standards|ethics|principles)\b",
    re.IGNORECASE,
)
_COOKIE = re.compile(
    r"\bcookies?\b.*\b(?:we use|uses|this (?:web)?site|our (?:web)?site|by (?:continuing|using)"
    r"|accept|consent|experience)\b|\b(?:we use|uses|this (?:web)?site)\b.*\bcookies?\b",
    re.IGNORECASE,
)
_LEGAL_MAX_WORDS = 40


def _legal(p: str) -> bool:
    """Copyright, privacy, terms, cookie-consent and affiliate-disclosure lines."""
    return len(p.split()) <= _LEGAL_MAX_WORDS and bool(_LEGAL.search(p) or _COOKIE.search(p))


_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_DATE = (
    rf"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?\s+)?"
    rf"(?:{_MONTH}\s+{_DAY},?\s+\d{{4}}|{_DAY}\s+{_MONTH},?\s+\d{{4}}|\d{{4}}-\d{{2}}-\d{{2}}"
    rf"|\d{{1,2}}[/.]\d{{1,2}}[/.]\d{{2,4}})"
)
_CLOCK = r"\d{1,2}[:.]\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?(?:\s+[a-z]{2,4})?"
_TIME = rf"(?:,?\s*(?:at\s+)?{_CLOCK})"
_DATELINE = re.compile(
    rf"(?:(?:published|updated|posted|last (?:updated|modified)|first published)(?: on)?:?\s*)?"
    rf"(?:{_DATE}{_TIME}?|\d{{1,2}}:\d{{2}}\s*(?:[ap]\.?m\.?)?)",
    re.IGNORECASE,
)


def _dateline(p: str) -> bool:
    """A line that is only a publication date/time: the date is metadata, not the story."""
    return bool(_DATELINE.fullmatch(p.strip(" |·•")))


_CONTROL = re.compile(
    r"(?:enlarge|view|watch|play|listen(?: to)?|download|expand|open|zoom|see|show|hide|close"
    r"|print|save)\b.*\b(?:images?|photos?|pictures?|gallery|galleries|videos?|audio|podcast"
    r"|article|story|pdf|slideshow|captions?|transcript)\b.*"
    r"|(?:back|go|return) to (?:the )?top\b.*|skip to\b.*|scroll (?:to|down|for)\b.*|jump to\b.*"
    r"|loading\W*|(?:please )?enable javascript\b.*|like this\W*|comments are closed\W*"
    r"|(?:previous|next|older|newer) (?:post|article|story|entry|posts|articles|stories)\b.*"
    r"|(?:image|photo|picture|slide)s? \d+ (?:of|/) \d+|slideshow\b.*",
    re.IGNORECASE,
)
_CONTROL_MAX_WORDS = 8


def _page_control(p: str) -> bool:
    """'Enlarge image', 'Watch video', 'Back to top', 'Slideshow (15 images)', 'Image 2 of 9':
    labels of the page's controls and galleries."""
    return len(p.split()) <= _CONTROL_MAX_WORDS and bool(_CONTROL.fullmatch(p))


def _counter(p: str) -> bool:
    """A line of figures only ('22', '52,174', '3/12') is a share, comment or slide count."""
    return bool(re.fullmatch(r"[\d.,/:()+\s-]{1,12}", p)) and any(ch.isdigit() for ch in p)


_NAME = r"[A-Z][\w.'’-]*(?:\s+(?:[A-Z][\w.'’-]*|de|van|von|der|la|le|da|al|bin)){0,4}"
_BYLINE = re.compile(
    rf"(?i:by|written by|posted by|words by|story by)\s*:?\s+{_NAME}"
    rf"(?:\s*(?:,|and|&)\s*{_NAME})*(?:\s*[|,·•-]?\s*.{{0,40}})?",
)


def _byline(p: str) -> bool:
    """'By Jo Marsh', 'Written by: Jo Marsh | May 3, 2024': who wrote it is metadata."""
    return (
        len(p.split()) <= 14
        and _is_heading(p, 14)
        and bool(_BYLINE.fullmatch(p))
        and not _looks_like_code(p)
    )


def _reading_time(p: str) -> bool:
    """'4 Min Read', 'Reading time: 5 minutes' estimate the reading time."""
    return bool(
        re.fullmatch(
            r"(?:\d{1,3}\s*min(?:ute)?s?\.?\s*read|(?:estimated )?read(?:ing)? time:?\s*\d{1,3}"
            r"\s*min(?:ute)?s?)",
            p,
            re.IGNORECASE,
        )
    )


_TAXONOMY = re.compile(
    r"(?:filed under|categor(?:y|ies)|tags?|tagged(?: with| in)?|topics?|posted in|more about"
    r"|related topics|keywords?)\b\s*:?",
    re.IGNORECASE,
)


_TAXONOMY_MAX_WORDS = 25


def _taxonomy(p: str) -> bool:
    """'Filed under …', 'Tags: …', 'Category: …' list the site's labels for the article."""
    return len(p.split()) <= _TAXONOMY_MAX_WORDS and bool(_TAXONOMY.match(p)) and not _is_prose(p)


_CODE = re.compile(r"^\||[=(){}\[\];<>\"`\\]|\w\.\w+\(|::|\d")


def _nav_line(p: str) -> bool:
    """'Analysis | Europe', 'Home › World': short segments joined by separators are navigation.
    Code and data ('x = a / b', '| 3 GB | 4 GB |') carry operators, brackets or figures: never
    navigation."""
    parts = re.split(r"\s+[|›»>•/]\s+", p)
    return (
        len(parts) > 1
        and _is_heading(p)
        and not _CODE.search(p)
        and all(len(s.split()) <= 3 and re.search(r"[^\W\d_]", s) for s in parts)
    )


_MD_LINK = re.compile(r"!?\[([^\]\n]*)\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?\)")
_WORD_CHARS = re.compile(r"[^\W_]")
_LINK_SHARE = 0.7  # of a line's visible text inside links: a menu or a teaser list


def _link_line(p: str) -> bool:
    """A Markdown line whose visible text is mostly link text is navigation or a teaser."""
    links = _MD_LINK.findall(p)
    if not links:
        return False
    visible = _MD_LINK.sub(lambda m: m.group(1), p)
    inside = sum(len(_WORD_CHARS.findall(text)) for text in links)
    return inside >= _LINK_SHARE * max(len(_WORD_CHARS.findall(visible)), 1)


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
    _LineRule("link-line", "is mostly link text: navigation or teasers", _link_line),
    _LineRule("photo-credit", "credits a photo rather than telling the story", _photo_credit),
    _LineRule("caption-credit", "is a photo caption ending in its credit", _caption_credit),
    _LineRule(
        "embed-attribution",
        "is the author/date footer of an embedded social-media post",
        _embed_attribution,
    ),
    _LineRule("read-more-link", "is a link to keep reading, not article text", _read_more_link),
    _LineRule("widget", "is share/follow/subscribe/comment widget text", _widget),
    _LineRule("promotional", "pitches a newsletter, app, subscription or account", _promotional),
    _LineRule("legal", "is a copyright, privacy, cookie or disclosure line", _legal),
    _LineRule("dateline", "is only a publication date, kept as metadata", _dateline),
    _LineRule("reading-time", "is a reading-time estimate", _reading_time),
    _LineRule("byline", "names the author, kept as metadata", _byline),
    _LineRule("page-control", "is the label of a page control or gallery", _page_control),
    _LineRule("counter", "is a bare count (shares, comments, slides)", _counter),
    _LineRule("taxonomy", "lists the site's tags or categories for the article", _taxonomy),
    _LineRule("nav-line", "is a breadcrumb or section navigation line", _nav_line),
    _LineRule("label", "is an all-caps site section label", _label),
    _LineRule("repeated-text", "repeats the same link text twice, as widgets do", _repeated_text),
)


@functools.lru_cache(maxsize=8192)
def _line_rule(p: str) -> _LineRule | None:
    """The first line rule a paragraph matches (cached: title and tail checks ask again)."""
    return next((rule for rule in LINE_RULES if rule.matches(p)), None)


EMBED_LINK = re.compile(r"\s*\b(?:https?://)?(?:pic\.twitter\.com|pic\.x\.com|t\.co)/\w+")
_EMBED_WHY = "is the link left behind by an embedded social-media post"
_CHROME_WHY = "precedes the article title, so it is page navigation"
_DUPLICATE_WHY = "repeats an earlier paragraph (typography aside)"


# --- tail rules: a marker in the second half ends the article -------------------------

_RELATED = re.compile(
    r"(?:more (?:from|in|on|stories|articles|news|like this|to read)\b.*|related(?: \w+){0,2}"
    r"|read (?:more|next|this next|also)|recommended(?: \w+){0,3}|what to read next"
    r"|you (?:may|might) (?:also )?(?:like|enjoy|be interested in)|see also|also read"
    r"|most (?:read|popular|viewed|shared|commented|emailed|watched)(?: \w+){0,3}"
    r"|(?:popular|trending|top|featured|latest|recent) (?:stories|posts|articles|news|now"
    r"|videos|content|reads)(?: \w+){0,2}|further reading|explore (?:further|more)"
    r"|(?:the )?latest(?: \w+){0,2}|up next|editors?['’]? (?:picks?|choice|recommendations?)"
    r"|trending(?: \w+){0,2}|top stories|(?:top |latest )?headlines?(?: news)?|don['’]?t miss"
    r"|(?:around|elsewhere) (?:the web|on \w+)|from (?:the web|our partners)"
    r"|(?:suggested|similar|sponsored|promoted|partner) (?:reading|articles|stories|posts|content"
    r"|links|for you)(?: \w+){0,2})\s*:?",
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
_RUNNING_PROSE = 1  # prose paragraphs following prose: the article goes on after a heading


def _is_related_heading(p: str) -> bool:
    return len(p.split()) <= 6 and bool(_RELATED.fullmatch(p))


def _related_heading(paras: list[str], i: int) -> int | None:
    """'More from X', 'Related', 'Recommended', 'Read more' headings open lists of other stories.
    The list runs to the end of the page only when what follows is teaser-shaped (titles and
    one-paragraph decks), not running prose: a related box inside the article is only a block
    (`_related_blocks`)."""
    if not _is_related_heading(paras[i]):
        return None
    rest = [q for q in paras[i + 1 :] if not _line_rule(q)]
    running = sum(_is_prose(a) and _is_prose(b) for a, b in itertools.pairwise(rest))
    return i if running < _RUNNING_PROSE else None


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


_TITLE_SITE = re.compile(r"\s+[|–—-]\s+[^|–—-]{1,60}$")  # "Headline | Site Name"


def _title_index(paras: list[str], title: str | None) -> int | None:
    """Index of the line that is the title, looked for in the first half of the page's text
    (by characters: a long menu above the headline is many lines but little text).

    A line equal to the title right after a paragraph of prose is a subheading inside the
    article, not the page's headline: text before it is the introduction, not chrome. In
    Markdown, only a level-1 heading can be the title when the page has one."""
    if not title:
        return None
    wanted = {_key(title), _key(_TITLE_SITE.sub("", title))}
    top_level = [i for i, p in enumerate(paras) if re.match(r"#\s", p)]
    offsets = list(accumulate(len(p) for p in paras))
    first_half = [i for i, p in enumerate(paras) if offsets[i] - len(p) <= offsets[-1] / 2]
    candidates = [i for i in first_half if not top_level or i in top_level]
    # The exact title first; else a line with nearly the title's words (a section label
    # glued in front, a word changed between the manifest and the page).
    for same in (lambda k: k in wanted, lambda k: _near_title(k, wanted)):
        for i in candidates:
            if not same(_key(paras[i])):
                continue
            before = [q for q in paras[:i] if not _line_rule(q)]
            if not before or not _is_prose(before[-1]):
                return i
    return None


_NEAR_TITLE = 0.8  # share of words in common, over the longer of the two
_NEAR_TITLE_MIN_WORDS = 4


def _near_title(key: str, wanted: set[str]) -> bool:
    words = set(key.split())
    for title in wanted:
        title_words = set(title.split())
        longer = max(len(words), len(title_words))
        if len(title_words) >= _NEAR_TITLE_MIN_WORDS and (
            len(words & title_words) >= _NEAR_TITLE * longer
        ):
            return True
    return False


# --- end of the article: teaser blocks, author bio, trailing furniture -------------------

_RELATED_BLOCK_WHY = "is under a heading for other stories, not part of this one"
_AFTER_WHY = "is a short link or label line after the article's last paragraph"
_BIO_WHY = "is the author's biography at the end of the article"
_BIO = re.compile(
    r"^(?:about the author\b|(?:senior |staff |contributing |managing |associate |deputy "
    r"|chief |executive |freelance )?(?:editor|writer|reporter|correspondent|contributor"
    r"|columnist|journalist)\b(?: \w+){0,3} (?:with|at|for|covering|who|based)\b"
    r"|(?!the\b)[A-Z][\w.'’-]+(?: [A-Z][\w.'’-]+| (?:de|van|von|der|la|le|da|al|bin)){0,4},?"
    r" (?:(?:is|was|has been) (?:also )?(?:a|an|the)|writes|covers|reports)\b"
    r"(?=[^.]{0,120}\b(?:writer|reporter|journalist|editor"
    r"|correspondent|contributor|columnist|author|freelance|producer|blogger|photographer"
    r"|fellow|professor|president|director|analyst|researcher|founder|host|lecturer|scholar"
    r"|ambassador|former)\b))"
)
_BIO_MAX_WORDS = 150
# "Additional reporting by …; Editing by …" credits the newsroom's work on this article.
_STAFF_CREDIT = re.compile(
    r"\b(?:reporting|editing|writing|research|translation) by\b|\bcontributed (?:to )?(?:this )?"
    r"report",
    re.IGNORECASE,
)
_BIO_LAST = 2  # a bio is one of the last paragraphs of prose


def _related_blocks(paras: list[str], start: int, stop: int) -> dict[int, str]:
    """A related/most-popular heading anywhere after the title opens a block of teaser
    headlines: the heading and the short lines under it, up to the next paragraph of prose."""
    found: dict[int, str] = {}
    i = start
    while i < stop:
        if not _is_related_heading(paras[i]):
            i += 1
            continue
        found[i] = _RELATED_BLOCK_WHY
        i += 1
        while i < stop and not _is_prose(paras[i]) and not _is_code(paras[i]):
            found[i] = _RELATED_BLOCK_WHY
            i += 1
    return found


def _end_of_article(kept: list[tuple[int, str]]) -> dict[int, RemovedBlock]:
    """Among the kept paragraphs: an author bio among the last paragraphs of prose, and the
    headline-shaped lines (menus, teaser titles, labels) after the article's last sentence."""
    prose = [n for n, (_, p) in enumerate(kept) if _is_prose(p)]
    removals: dict[int, RemovedBlock] = {}
    for n in prose[-_BIO_LAST:]:
        p = kept[n][1]
        if n > len(kept) // 2 and len(p.split()) <= _BIO_MAX_WORDS and _BIO.match(p):
            removals[n] = RemovedBlock(p, "author-bio", _BIO_WHY)
    sentences = [n for n, (_, p) in enumerate(kept) if _is_sentence(p) and n not in removals]
    last = max(sentences, default=None)
    if last is None:
        return removals
    for n in range(last + 1, len(kept)):
        p = kept[n][1]
        furniture = _is_heading(p, _PROSE_WORDS) and not (
            _is_code(p) or _looks_like_code(p) or _STAFF_CREDIT.search(p)
        )
        if n not in removals and furniture:
            removals[n] = RemovedBlock(p, "after-article", _AFTER_WHY)
    return removals


# --- entry point -----------------------------------------------------------------------


def clean(raw: str, title: str | None = None) -> CleanedText:
    """Return the article body of a raw capture and every block removed, with its rule."""
    paras = _paragraphs(raw)
    title_at = _title_index(paras, title)
    body_start = 0 if title_at is None else title_at + 1
    tail = _tail(paras, body_start)
    stop = len(paras) if tail is None else tail[0]
    # Without a known title, the article starts at its first paragraph of prose: a menu above
    # it may read like a "Latest news" block and swallow the headline.
    first_prose = next((i for i, p in enumerate(paras) if _is_prose(p)), len(paras))
    related = _related_blocks(paras, body_start if title_at is not None else first_prose, stop)
    removed: list[tuple[int, RemovedBlock]] = []
    kept: list[tuple[int, str]] = []  # (index of the paragraph, its kept text)
    seen: set[str] = set()
    for i, p in enumerate(paras):
        if title_at is not None and i < title_at:
            removed.append((i, RemovedBlock(p, "page-chrome", _CHROME_WHY)))
            continue
        if tail is not None and i >= tail[0]:
            removed.append((i, RemovedBlock(p, tail[1].name, tail[1].why)))
            continue
        if _is_code(p):
            kept.append((i, p))
            continue
        removed.extend(
            (i, RemovedBlock(t.strip(), "embed-link", _EMBED_WHY)) for t in EMBED_LINK.findall(p)
        )
        p = EMBED_LINK.sub("", p).strip()
        exempt = i == title_at or _looks_like_code(p)
        rule = None if exempt else _line_rule(p)
        shown = p  # as captured, Markdown links included: what inspect shows
        p = _MD_LINK.sub(lambda m: m.group(1), p).strip()
        key = _key(p)
        if not p:
            continue
        if rule is not None:
            removed.append((i, RemovedBlock(shown, rule.name, rule.why)))
        elif i in related:
            removed.append((i, RemovedBlock(shown, "related-block", related[i])))
        elif key in seen:
            removed.append((i, RemovedBlock(shown, "duplicate-paragraph", _DUPLICATE_WHY)))
        else:
            seen.add(key)
            kept.append((i, p))
    ending = _end_of_article(kept)
    removed.extend((kept[n][0], block) for n, block in ending.items())
    body = [p for n, (_, p) in enumerate(kept) if n not in ending]
    ordered = sorted(removed, key=lambda item: item[0])
    return CleanedText("\n\n".join(body), tuple(block for _, block in ordered))
