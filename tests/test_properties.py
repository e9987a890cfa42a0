"""Property tests (hypothesis): the cleaner and the answer parser on generated input.

StreamSplitter's "never shows <<<NOTES, for any split" property lives in test_citations.py
(test_splitter_property_any_split), as does build_answer's basic never-crashes property; the
answer properties here add first-use numbering and citation-to-passage integrity.
"""

from __future__ import annotations

import string

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from assistant.citations import NOTES_MARKER, build_answer
from assistant.text import marker_numbers
from store.cleaning import LINE_RULES, TAIL_RULES, CleanedText, clean
from tests.evidence import make_passage

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

RULES = (
    {r.name for r in LINE_RULES}
    | {r.name for r in TAIL_RULES}
    | {
        "page-chrome",
        "embed-link",
        "duplicate-paragraph",
    }
)

# Lines a captured page carries besides the article: widgets, credits, navigation, residue.
JUNK = [
    "Share",
    "Share this article",
    "Subscribe now",
    "Sign up for our newsletter",
    "Advertisement",
    "Print",
    "Facebook Twitter Email",
    "Photo credit: Reuters",
    "Image: AFP via Getty Images",
    "—",
    "* * *",
    "LATEST",
    "WORLD NEWS",
    "Home › World › Europe",
    "Analysis | Europe",
    "Keep reading",
    "Read more: The envoys' other week",
    "Follow us on Twitter",
    "— Jane Doe (@jdoe) May 5, 2025",
    "pic.twitter.com/abc123",
    "Show less",
]
# Lines that end an article on a real page: lists of other stories, comments, appeals.
TAIL_JUNK = [
    "Related",
    "More from Europe",
    "Recommended stories",
    "Join the conversation",
    "3 comments",
    "Support independent journalism: your gift keeps our reporters in the field.",
    "Editor's note: use promo code PEACE for 20% off your subscription.",
]


def check_cleaned(result: CleanedText) -> None:
    assert isinstance(result, CleanedText)
    assert result.text == result.text.strip()
    paragraphs = result.text.split("\n\n") if result.text else []
    assert all(p and p == p.strip() for p in paragraphs)
    assert len(paragraphs) == len(set(paragraphs)), "a verbatim repeat survived"
    assert all(block.rule in RULES and block.why for block in result.removed)


# ---- the cleaner never crashes ------------------------------------------------------------


@FAST
@given(raw=st.text(max_size=2000), title=st.none() | st.text(max_size=80))
def test_clean_never_crashes_on_arbitrary_text(raw: str, title: str | None) -> None:
    check_cleaned(clean(raw, title))


words = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=10)


@st.composite
def prose(draw: st.DrawFn, min_chars: int = 80, max_chars: int = 400) -> str:
    """Ordinary prose: sentences of lowercase words, each capitalised and ending in a period."""
    sentences = draw(st.lists(st.lists(words, min_size=4, max_size=14), min_size=1, max_size=8))
    text = " ".join(" ".join(s).capitalize() + "." for s in sentences)
    while len(text) < min_chars:
        text += " The talks went on."
    return text[:max_chars].rstrip(" .") + "."


lines_of_a_page = st.lists(
    st.sampled_from(JUNK + TAIL_JUNK) | prose() | st.text(max_size=120), max_size=40
)


@FAST
@given(lines=lines_of_a_page, separator=st.sampled_from(["\n", "\n\n", "\r\n"]))
def test_clean_never_crashes_on_widget_lines_mixed_with_prose(
    lines: list[str], separator: str
) -> None:
    raw = separator.join(lines)
    check_cleaned(clean(raw))
    if lines:
        check_cleaned(clean(raw, lines[0]))


# ---- the cleaner keeps the article's own prose ---------------------------------------------


@st.composite
def page_with_prose(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A page whose first half holds distinct prose paragraphs among junk lines; the second half
    is the rest of the article, then possibly the usual end-of-article junk."""
    body = draw(st.lists(prose(), min_size=2, max_size=6, unique=True))
    first: list[str] = []
    for paragraph in body:
        first += draw(st.lists(st.sampled_from(JUNK), max_size=3))
        first.append(paragraph)
    first += draw(st.lists(st.sampled_from(JUNK), max_size=2))
    size = sum(map(len, first))
    rest = draw(prose(min_chars=size + 1, max_chars=size + 400))
    tail = draw(st.lists(st.sampled_from(JUNK + TAIL_JUNK), max_size=6))
    return "\n".join([*first, rest, *tail]), body


OPENING = "Ministers from both sides met in the capital on Monday to restart the stalled talks."
BODY = "The envoys agreed to keep talking about the border and the grain corridor next week."
REST = (
    "The rest of the article explains at some length what the delegations will do next, who "
    "is expected to attend the second round and why the mediators remain cautiously hopeful "
    "that a framework can be agreed before the winter sets in."
)


@settings(
    max_examples=200,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # pages are big: shrinking is slow
    suppress_health_check=[HealthCheck.too_slow],
)
@example(  # an inline photo credit, and a "Keep reading" link later in the page
    page=("\n".join([OPENING, "Photo credit: Reuters", BODY, REST, "Keep reading"]), [BODY])
)
@example(  # a subscribe widget in the body, and an appeal after the article
    page=(
        "\n".join(
            [
                OPENING,
                "Subscribe now",
                BODY,
                REST,
                "Support independent journalism: your gift keeps our reporters in the field.",
            ]
        ),
        [BODY],
    )
)
@given(page=page_with_prose())
def test_clean_keeps_every_prose_paragraph_of_the_first_half(
    page: tuple[str, list[str]],
) -> None:
    raw, body = page
    text = clean(raw).text
    for paragraph in body:  # kept whole (maybe joined to a neighbour, as hard-wrapped lines are)
        assert paragraph in text, paragraph


# ---- build_answer -------------------------------------------------------------------------

PASSAGES = [
    make_passage(
        f"chunk-{n}",
        f"Passage {n} says the talks will resume next week in the capital.",
        source_id=f"source-{n % 3}",
        title=f"Title {n}",
        outlet=f"Outlet {n % 3}",
    )
    for n in range(1, 6)
]

visible_text = st.lists(
    st.sampled_from(["The talks", " resume", ".", "!", " ", "\n", "### Heading", "[", "]", ","])
    | st.integers(0, 9).map(lambda n: f"[{n}]")
    | st.lists(st.integers(0, 9), min_size=1, max_size=4).map(
        lambda ns: "[" + ", ".join(map(str, ns)) + "]"
    )
    | st.text(max_size=12),
    max_size=40,
).map("".join)


@FAST
@given(visible=visible_text | st.text(), notes=st.text(max_size=200))
def test_build_answer_markers_point_at_citations_numbered_by_first_use(
    visible: str, notes: str
) -> None:
    for tail in (notes, f"{NOTES_MARKER}{notes}"):
        result = build_answer("q?", visible + tail, notes, PASSAGES, mode="llm", model="m")
        numbers = [c.n for c in result.citations]
        assert numbers == list(range(1, len(numbers) + 1))
        used = marker_numbers(result.text)
        assert set(used) <= set(numbers)
        first_use = list(dict.fromkeys(used))
        assert first_use == list(range(1, len(first_use) + 1)), result.text
        chunks = {p.chunk_id: p for p in PASSAGES}
        for c in result.citations:
            assert c.chunk_id in chunks and c.source_id == chunks[c.chunk_id].source_id
        assert len({c.chunk_id for c in result.citations}) == len(result.citations)
        assert NOTES_MARKER not in result.text
