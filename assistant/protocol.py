"""How a model's reply is read: the structured-answer schema, the prose fallback, loop detection.

Pure functions and small state machines over text; nothing here does I/O. Two protocols:

- **structured**: the server constrains the reply to `ANSWER_SCHEMA` (OpenAI `response_format`
  with a JSON schema; llama.cpp, vLLM and Ollama's OpenAI endpoint take it too). The reader
  streams the `answer` string's text as it arrives, decoded, and never emits anything it
  would later take back, so the UI appends and never redraws.
- **prose**: where the server refuses a schema, the model writes markdown and then its notes
  after a marker line. Real small models seldom write the marker asked for (`<<<NOTES`):
  they write `### Notes`, `**Notes:**`, a fenced ```json block, or a bare JSON object. The
  splitter recognises all of these and holds back any line that might still become one, so
  no residue of the protocol ever reaches visible text.

`ReplyReader` picks the protocol from the reply itself (a reply that opens with `{` is JSON),
so a server that ignores the schema without refusing it is read correctly too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from assistant.text import normalize, strip_markers

# ---- the schema ---------------------------------------------------------------------------

ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        # First, so the visible text streams from the first tokens on.
        "answer": {
            "type": "string",
            "description": "The answer in markdown; each claim ends with [n] markers "
            "naming the source blocks that support it.",
        },
        "quotes": {
            "type": "array",
            "description": "For each cited block, a short verbatim span that supports the claim.",
            "items": {
                "type": "object",
                "properties": {
                    "source": {"type": "integer"},
                    "quote": {"type": "string"},
                },
                "required": ["source", "quote"],
                "additionalProperties": False,
            },
        },
        "disagreements": {
            "type": "array",
            "description": "Points where outlets take different positions; empty when none.",
            "items": {
                "type": "object",
                "properties": {
                    "topic": {"type": "string"},
                    "positions": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "source": {"type": "integer"},
                                "summary": {"type": "string"},
                                "citations": {
                                    "type": "array",
                                    "items": {"type": "integer"},
                                },
                            },
                            "required": ["source", "summary", "citations"],
                            "additionalProperties": False,
                        },
                    },
                },
                "required": ["topic", "positions"],
                "additionalProperties": False,
            },
        },
        "answerable": {"type": "boolean"},
    },
    "required": ["answer", "quotes", "disagreements", "answerable"],
    "additionalProperties": False,
}
"""What a structured reply holds. No length bounds: llama.cpp turns `maxLength` into a grammar
too large to parse (and llama-cpp-python's server dies of it); `max_tokens` bounds a reply."""

ServerFamily = Literal["openai", "compatible", "llama-cpp-python"]
"""How a server takes a schema: OpenAI itself (strict mode); `compatible` servers that take
OpenAI's `json_schema` form and enforce it with a grammar (vLLM, llama.cpp's own server,
LM Studio, and Ollama, whose OpenAI endpoint maps it onto its `format`); llama-cpp-python's
server, which takes only `json_object` with a `schema`."""


def request_options(family: ServerFamily, schema: dict[str, Any] = ANSWER_SCHEMA) -> dict[str, Any]:
    """The request fields that ask a server of `family` for a reply following `schema`."""
    if family == "llama-cpp-python":
        return {"response_format": {"type": "json_object", "schema": schema}}
    strict = family == "openai"
    return {
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "parallax_answer", "strict": strict, "schema": schema},
        }
    }


NEGOTIATION_ORDER: tuple[ServerFamily, ...] = ("compatible", "llama-cpp-python")
"""What to try, in order, against a server other than OpenAI's: a server refusing one form
(HTTP 400 or 422) gets the next, and one refusing both gets the prose protocol."""


def structured_options(base_url: str | None) -> tuple[dict[str, Any], ...]:
    """The alternatives for `chat_model.StructuredRequest.options`, by where the model is."""
    if base_url is None or urlsplit(base_url).hostname == "api.openai.com":
        return (request_options("openai"),)
    return tuple(request_options(family) for family in NEGOTIATION_ORDER)


RESIDUE_RE = re.compile(
    r'<<<|\{\s*"|"\s*:\s*[\[{"\d]|```|^\s*(?:#+|\*\*)\s*notes\b|^\s*notes\s*:?\s*$',
    re.IGNORECASE | re.MULTILINE,
)
"""What protocol residue looks like in text meant for the reader: a delimiter, JSON keys or
objects, a code fence, a notes heading. Eval counts answers that show any; tests assert none."""


# ---- typed notes --------------------------------------------------------------------------


@dataclass(frozen=True)
class QuoteHint:
    """The model's suggestion of where in block `source` its claim is supported; a hint only."""

    source: int
    quote: str


@dataclass(frozen=True)
class Position:
    source: int
    summary: str
    citations: list[int]


@dataclass(frozen=True)
class Disagreement:
    topic: str
    positions: list[Position]


@dataclass
class Notes:
    """What the model said besides its answer, coerced to types; `dropped` counts the entries
    that could not be (a position without a source number, a quote that is not text)."""

    quotes: list[QuoteHint] = field(default_factory=list)
    disagreements: list[Disagreement] = field(default_factory=list)
    answerable: bool | None = None
    follow_ups: list[str] = field(default_factory=list)
    dropped: int = 0


def block_number(value: Any) -> int | None:
    """1, "1", "[1]", [1] and 1.0 all name block 1; anything else names none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list) and len(value) == 1:
        return block_number(value[0])
    if isinstance(value, str) and (match := re.fullmatch(r"\s*\[?\s*(\d+)\s*\]?\s*", value)):
        return int(match.group(1))
    return None


def _integers(value: Any) -> list[int]:
    items = value if isinstance(value, list) else [value]
    return [n for n in (block_number(item) for item in items) if n is not None]


def notes_from(data: Any) -> Notes:
    """Typed notes from whatever JSON the model wrote, keeping every entry that makes sense.

    Accepts the schema's shapes and the near-misses small models write: `quotes` as a list
    of {source, quote} or a mapping {"1": "quote"}; numbers as strings or one-element lists.
    """
    notes = Notes()
    if not isinstance(data, dict):
        return notes
    if isinstance(data.get("answerable"), bool):
        notes.answerable = data["answerable"]
    quotes = data.get("quotes")
    pairs: list[tuple[Any, Any]] = []
    if isinstance(quotes, dict):
        pairs = list(quotes.items())
    elif isinstance(quotes, list):
        for item in quotes:
            if isinstance(item, dict):
                pairs.append((item.get("source"), item.get("quote")))
            else:
                notes.dropped += 1
    for source, quote in pairs:
        number = block_number(source)
        if number is None or not isinstance(quote, str) or not quote.strip():
            notes.dropped += 1
            continue
        notes.quotes.append(QuoteHint(number, quote.strip()))
    for item in data.get("disagreements") or []:
        positions = []
        raw_positions = item.get("positions") if isinstance(item, dict) else None
        for raw in raw_positions if isinstance(raw_positions, list) else []:
            source = block_number(raw.get("source")) if isinstance(raw, dict) else None
            summary = raw.get("summary") if isinstance(raw, dict) else None
            if source is None or not isinstance(summary, str) or not summary.strip():
                notes.dropped += 1
                continue
            citations = _integers(raw.get("citations") or []) or [source]
            positions.append(Position(source, summary.strip(), citations))
        topic = item.get("topic") if isinstance(item, dict) else None
        if isinstance(topic, str) and topic.strip() and positions:
            notes.disagreements.append(Disagreement(topic.strip(), positions))
        else:
            notes.dropped += 1
    follow_ups = data.get("follow_ups")
    for question in follow_ups if isinstance(follow_ups, list) else []:
        if isinstance(question, str) and question.strip():
            notes.follow_ups.append(" ".join(question.split()))
        else:
            notes.dropped += 1
    return notes


# ---- tolerant JSON ------------------------------------------------------------------------

_FENCE = re.compile(r"^\s*(?:```|~~~)[a-zA-Z]*\s*$", re.MULTILINE)


def loads_tolerant(text: str) -> Any:
    """The first JSON object in `text`, completed if it was cut off; None if there is none.

    Strips code fences and whatever precedes the object. A truncated object (a stream cut at
    max_tokens) is closed after its last complete value; a malformed one (a stray bracket)
    keeps what came before the slip.
    """
    start = text.find("{")
    if start < 0:
        return None
    body = _FENCE.sub("", text[start:])
    try:
        value, _ = json.JSONDecoder().raw_decode(body)
        return value
    except json.JSONDecodeError as exc:
        # All of it when cut off (a string left open reports where it began); up to the
        # slip when malformed.
        valid_prefix = body if exc.msg.startswith("Unterminated") else body[: exc.pos]
    repaired = _close(valid_prefix)
    try:
        return json.loads(repaired) if repaired else None
    except ValueError:
        return None


def _close(text: str) -> str:
    """`text`, a JSON object cut off midway, closed so that it parses.

    A string value that was being written is ended where it stops (the answer so far is
    worth keeping); a key, or a value not begun, is dropped back to the last complete member.
    """
    stack: list[str] = []
    expect_key: list[bool] = []  # per open container: is the next string a key?
    in_string = is_key = escaped = False
    safe, safe_stack = 0, ""  # the end of the last complete member, and what was open there
    for i, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
                if not is_key:
                    safe, safe_stack = i + 1, "".join(stack)
            continue
        if char == '"':
            in_string, is_key = True, bool(expect_key) and expect_key[-1]
        elif char in "{[":
            stack.append(char)
            expect_key.append(char == "{")
            safe, safe_stack = i + 1, "".join(stack)
        elif char in "}]":
            stack.pop()
            expect_key.pop()
            if not stack:
                return text[: i + 1]
            safe, safe_stack = i + 1, "".join(stack)
        elif char == ",":
            safe, safe_stack = i, "".join(stack)
            expect_key[-1] = stack[-1] == "{"
        elif char == ":":
            expect_key[-1] = False
    closers = {"{": "}", "[": "]"}
    if in_string and not is_key:
        # An escape cut in half is dropped; the text before it is kept.
        head = text[:-1] if escaped else re.sub(r"\\u[0-9a-fA-F]{0,3}$", "", text)
        return head + '"' + "".join(closers[c] for c in reversed(stack))
    whole = text.rstrip().rstrip(",") + "".join(closers[c] for c in reversed(stack))
    try:
        json.loads(whole)  # ended right after a number or a literal
        return whole
    except ValueError:
        head = text[:safe].rstrip().rstrip(",")
        return head + "".join(closers[c] for c in reversed(safe_stack))


# ---- the structured reader ----------------------------------------------------------------

_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class AnswerTextReader:
    """Streams the text of the top-level `"answer"` string of a JSON reply as it arrives.

    A character-level state machine over the outer object: it follows keys and nesting, and
    inside the answer string decodes escapes, holding back an escape (`\\u00e9`, a surrogate
    pair) until it is complete, so a chunk boundary never shows a stray backslash.
    """

    def __init__(self) -> None:
        self.raw: list[str] = []
        self._depth = 0
        self._in_string = False
        self._escape = ""  # an escape sequence begun but not finished
        self._pending_high: str | None = None  # a high surrogate awaiting its pair
        self._key: str | None = None  # the last key read at depth 1
        self._reading_key = False
        self._expect_key = False  # at depth 1, after "{" or ","
        self._buffer: list[str] = []
        self._in_answer = False
        self.answer_done = False
        self._answer: list[str] = []

    def feed(self, text: str) -> str:
        """The answer text that `text` completes; "" while outside the answer string."""
        self.raw.append(text)
        out: list[str] = []
        for char in text:
            if self._in_string:
                self._string_char(char, out)
            elif char == '"':
                self._in_string = True
                self._reading_key = self._depth == 1 and self._expect_key
                # Only the first answer string: a repeated key must not show the text twice.
                self._in_answer = (
                    self._depth == 1
                    and not self._reading_key
                    and self._key == "answer"
                    and not self.answer_done
                )
                self._buffer = []
            elif char in "{[":
                self._depth += 1
                self._expect_key = char == "{" and self._depth == 1
            elif char in "}]":
                self._depth -= 1
            elif char == "," and self._depth == 1:
                self._expect_key = True
            elif char == ":" and self._depth == 1:
                self._expect_key = False
        self._answer.extend(out)
        return "".join(out)

    def _string_char(self, char: str, out: list[str]) -> None:
        if self._escape:
            self._escape += char
            if self._escape[1] == "u" and len(self._escape) < 6:
                return
            decoded = self._decode(self._escape)
            self._escape = ""
            if decoded:  # an invalid \u escape decodes to nothing rather than to noise
                self._emit(decoded, out)
        elif char == "\\":
            self._escape = char
        elif char == '"':
            self._in_string = False
            if self._reading_key:
                self._key = "".join(self._buffer)
                self._reading_key = False
            elif self._in_answer:
                self._in_answer = False
                self.answer_done = True
        else:
            self._emit(char, out)

    def _decode(self, escape: str) -> str:
        if escape[1] != "u":
            return _ESCAPES.get(escape[1], escape[1])
        try:
            return chr(int(escape[2:6], 16))
        except ValueError:
            return ""

    def _emit(self, char: str, out: list[str]) -> None:
        if 0xD800 <= ord(char[0]) <= 0xDBFF:
            self._pending_high = char
            return
        if self._pending_high is not None:
            high, self._pending_high = self._pending_high, None
            if 0xDC00 <= ord(char[0]) <= 0xDFFF:
                char = chr(0x10000 + ((ord(high) - 0xD800) << 10) + (ord(char) - 0xDC00))
        if self._reading_key:
            self._buffer.append(char)
        elif self._in_answer:
            out.append(char)

    def text(self) -> str:
        """Everything received, as written."""
        return "".join(self.raw)

    def answer(self) -> str:
        """The answer text streamed so far: what the reader has already been shown."""
        return "".join(self._answer)


# ---- the prose splitter -------------------------------------------------------------------

_DECORATION = " \t#*_>:`<"
_NOTES_WORDS = ("notes", "json")
_RULE_OR_BLANK = re.compile(r"\s*(?:-{3,}|\*{3,}|_{3,})?\s*")
_RULE_PREFIX = re.compile(r"[ \t]*(?:-+|\*+|_+)[ \t]*")


def _marker_state(line: str) -> Literal["marker", "text", "undecided"]:
    """Is this line (perhaps unfinished) where the notes begin, prose, or not yet known?

    Markers seen from real models: `<<<NOTES` and its variants, a heading or bold label
    (`### Notes`, `**Notes:**`, `## JSON`), a bare `Notes:` line, a code fence, and a line
    that opens a JSON object. A bare word must stand alone on its line ("Notes from Kyiv"
    is prose), so such a line stays undecided until it ends.
    """
    stripped = line.lstrip(" \t")
    if not stripped.strip():
        return "undecided"
    if stripped.startswith("<<"):
        # A copied source delimiter is prose here (`DelimiterLines` drops it), not the notes.
        rest = stripped.lstrip("<").lstrip(" \t").rstrip("\n").upper()
        if rest.startswith(("SOURCE", "END")):
            return "text"
        if not line.endswith("\n") and any(w.startswith(rest) for w in ("SOURCE", "END")):
            return "undecided"
        return "marker"
    if stripped.startswith(("{", "```", "~~~")):
        return "marker"
    if stripped.rstrip("\n") in ("<", "`", "``", "~", "~~"):
        return "undecided" if not line.endswith("\n") else "text"
    word = stripped.lstrip(_DECORATION).lower()
    decorated = stripped[0] in "#*_" and len(word) < len(stripped)
    ended = line.endswith("\n")
    for name in _NOTES_WORDS:
        if word.startswith(name):
            rest = word[len(name) :].strip(_DECORATION + "\r\n")
            if rest.startswith("{") or (decorated and not rest[:1].isalpha()):
                return "marker"
            if rest:
                return "text"
            return "marker" if ended else "undecided"
        if name.startswith(word.rstrip("\n")) and not ended:
            return "undecided"
    return "text"


_INLINE_JSON = re.compile(r'\{\s*"|\{\s*$')


class ProseSplitter:
    """Splits a prose-protocol reply into visible text and the notes after its marker.

    `feed` returns only text that can no longer turn out to be protocol: a line that might
    still become a marker is held until it is decided, blank lines and rules (`---`) are held
    until prose follows them, and an inline `{"` ends the visible part. Nothing it has
    returned is ever taken back.
    """

    def __init__(self) -> None:
        self._visible: list[str] = []
        self._notes: list[str] = []
        self._held: list[str] = []  # whole blank or rule lines, shown once prose follows
        self._line = ""  # the current line's text not yet shown
        self._line_started = False  # part of the current line has been shown
        self._in_notes = False

    def feed(self, text: str) -> str:
        out: list[str] = []
        for piece in re.split(r"(?<=\n)", text):
            if self._in_notes:
                self._notes.append(piece)
            elif piece:
                out.append(self._take(piece))
        shown = "".join(out)
        self._visible.append(shown)
        return shown

    def _take(self, piece: str) -> str:
        self._line += piece
        if not self._line_started:
            state = _marker_state(self._line)
            if state == "marker":
                self._start_notes(self._line)
                return ""
            if state == "undecided":
                if self._line.endswith("\n"):  # a whole line that is only blank or a rule
                    self._held.append(self._line)
                    self._line = ""
                return ""
            if _RULE_OR_BLANK.fullmatch(self._line):
                if self._line.endswith("\n"):
                    self._held.append(self._line)
                    self._line = ""
                return ""
            if _RULE_PREFIX.fullmatch(self._line):  # "-" may become "---" or "- a point"
                return ""
        if match := _INLINE_JSON.search(self._line):
            if match.group().strip() == "{":  # maybe JSON: show what precedes it, hold it
                return self._show(self._line[: match.start()], keep=self._line[match.start() :])
            line = self._line
            shown = self._show(line[: match.start()], keep="")
            self._start_notes(line[match.start() :])
            return shown
        return self._show(self._line, keep="")

    def _show(self, text: str, keep: str) -> str:
        """Show `text` (and the blank lines held before it); `keep` stays held."""
        if not text:
            self._line = keep
            return ""
        shown = "".join(self._held) + text
        self._held = []
        self._line = keep
        self._line_started = not text.endswith("\n")
        return shown

    def _start_notes(self, text: str) -> None:
        self._in_notes = True
        self._notes.append(text)
        self._line, self._held = "", []

    def finish(self) -> tuple[str, str]:
        """(visible text, notes text) once the reply has ended.

        A line still held is shown unless it is a marker or bare decoration (a reply cut
        off at "###"); blank lines and rules held at the end were never shown and are dropped.
        """
        if self._line and not self._in_notes:
            if self._line_started or _marker_state(self._line + "\n") != "marker":
                # A reply cut off right after "###" or "**" leaves decoration, not text.
                bare = not self._line_started and not self._line.strip(_DECORATION + "\r\n")
                if not _RULE_OR_BLANK.fullmatch(self._line) and not bare:
                    self._visible.append("".join(self._held) + self._line)
            else:
                self._start_notes(self._line)
            self._line = ""
        return "".join(self._visible).rstrip(), "".join(self._notes)


# ---- the repetition guard -----------------------------------------------------------------


class RepetitionGuard:
    """Notices a reply that has fallen into a loop, so the stream can be ended early.

    Two signs, both far outside what an answer does: the tail of the text is one span
    repeated back to back (`min_repeats` times over at least `min_chars`), or one long line
    recurs `max_line_repeats` times. Digits are read as one symbol, so a loop that only
    counts up (`"12": "...", "13": "..."`) is still a loop.
    """

    def __init__(
        self,
        *,
        min_repeats: int = 4,
        min_chars: int = 320,
        max_period: int = 600,
        long_line: int = 40,
        max_line_repeats: int = 5,
    ) -> None:
        self.min_repeats = min_repeats
        self.min_chars = min_chars
        self.max_period = max_period
        self.long_line = long_line
        self.max_line_repeats = max_line_repeats
        self._text = ""
        self._checked = 0
        self._lines: dict[str, int] = {}
        self._partial_line = ""
        self.tripped = False

    def feed(self, text: str) -> bool:
        """Add `text`; True once the reply is looping."""
        if self.tripped:
            return True
        normal = re.sub(r"\d", "0", text)
        self._text = (self._text + normal)[-(self.max_period * (self.min_repeats + 1) + 64) :]
        lines = (self._partial_line + normal).split("\n")
        self._partial_line = lines.pop()
        for line in lines:
            key = " ".join(line.split())
            if len(key) >= self.long_line:
                self._lines[key] = self._lines.get(key, 0) + 1
                if self._lines[key] >= self.max_line_repeats:
                    self.tripped = True
        self._checked += len(normal)
        if self._checked >= 32:  # the tail check costs a few scans; not on every token
            self._checked = 0
            self.tripped = self.tripped or self._periodic_tail()
        return self.tripped

    def _periodic_tail(self) -> bool:
        """Does the text end in one span repeated back to back, enough times to be a loop?

        Each earlier copy of the last few characters proposes a period; the nearest few are
        checked, from the shortest period up.
        """
        text, window = self._text, 24
        if len(text) < max(self.min_chars, 2 * window):
            return False
        tail, end = text[-window:], len(text) - 1
        for _ in range(8):
            found = text.rfind(tail, 0, end)
            period = len(text) - window - found
            if found < 0 or period > self.max_period:
                return False
            if _periodic_span(text, period) >= max(self.min_chars, period * self.min_repeats):
                return True
            end = found + window - 1
        return False


def _periodic_span(text: str, period: int) -> int:
    """How many characters at the end of `text` repeat with this period (one copy included)."""
    n = len(text)
    k = 0
    while k + period < n and text[n - 1 - k] == text[n - 1 - k - period]:
        k += 1
    return k + period


# ---- one reader for both protocols --------------------------------------------------------


_DELIMITER_LINE = re.compile(r"[ \t]*<<+[ \t]*(?:END[ \t]+)?SOURCE\b[^\n]*(?:\n|$)", re.I | re.M)


def without_delimiter_lines(text: str) -> str:
    """`text` without the lines that copy the prompt's source delimiters."""
    return _DELIMITER_LINE.sub("", text)


class DelimiterLines:
    """Drops, while streaming, the lines a model copies from the prompt's source delimiters
    (`<<<END SOURCE [1]>>>`, often misspelt): a line that opens with `<` is held until it
    ends, then shown or dropped exactly as `without_delimiter_lines` would."""

    def __init__(self) -> None:
        self._line = ""  # the start of the current line, while it might be a delimiter
        self._passing = False  # the current line is decided: shown as it comes

    def feed(self, text: str) -> str:
        out: list[str] = []
        for char in text:
            if self._passing:
                out.append(char)
                self._passing = char != "\n"
                continue
            self._line += char
            head = self._line.lstrip(" \t")
            if char == "\n":
                out.append(without_delimiter_lines(self._line))
                self._line = ""
            elif head and not head.startswith("<"):
                out.append(self._line)
                self._line, self._passing = "", True
        return "".join(out)


@dataclass
class ParsedReply:
    """A whole reply, read: the text to show, the model's notes, and how they were found."""

    visible: str
    notes: Notes
    protocol: Literal["json", "prose"]
    notes_found: bool


class ReplyReader:
    """Reads a streaming reply of either protocol; `feed` returns text safe to show now.

    The protocol is decided by the reply's first visible character: `{` (or a code fence
    followed by `{`) is JSON, anything else prose. Before that, nothing is shown.
    """

    def __init__(self) -> None:
        self.protocol: Literal["json", "prose"] | None = None
        self._head = ""
        self._json = AnswerTextReader()
        self._prose = ProseSplitter()
        self._delimiters = DelimiterLines()

    def feed(self, text: str) -> str:
        if self.protocol is None:
            self._head += text
            stripped = _FENCE.sub("", self._head).lstrip()
            if not stripped or re.fullmatch(r"`{1,3}[a-zA-Z]*|~{1,3}[a-zA-Z]*", stripped):
                return ""
            self.protocol = "json" if stripped.startswith("{") else "prose"
            text, self._head = self._head, ""
        reader = self._json if self.protocol == "json" else self._prose
        return self._delimiters.feed(reader.feed(text))

    def finish(self) -> ParsedReply:
        if self.protocol is None:  # nothing but whitespace or an opening fence
            return ParsedReply("", Notes(), "prose", False)
        if self.protocol == "json":
            data = loads_tolerant(self._json.text())
            # The streamed text is final: what was shown is what the answer says.
            visible = without_delimiter_lines(self._json.answer()).strip()
            return ParsedReply(visible, notes_from(data), "json", isinstance(data, dict))
        visible, notes_text = self._prose.finish()
        data = loads_tolerant(notes_text)
        visible = without_delimiter_lines(visible).strip()
        return ParsedReply(visible, notes_from(data), "prose", isinstance(data, dict))


_SHINGLE = 6  # words


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", strip_markers(normalize(text)))
    return {tuple(words[i : i + _SHINGLE]) for i in range(len(words) - _SHINGLE + 1)}


def echoes_instructions(visible: str, instructions: str) -> bool:
    """Did the model write back its instructions instead of an answer? Small models copy the
    description of the `answer` field into it. True when most of the text's six-word runs
    are the instructions' own."""
    written = _shingles(visible)
    return bool(written) and len(written & _shingles(instructions)) >= len(written) / 2


def read_all(pieces: Iterator[str] | list[str]) -> tuple[str, ParsedReply]:
    """Feed every piece; (the text streamed, the parsed reply). For tests and batch callers."""
    reader = ReplyReader()
    streamed = "".join(reader.feed(piece) for piece in pieces)
    return streamed, reader.finish()
