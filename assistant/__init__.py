"""Parallax's public API: what the Streamlit app and the CLI use, and nothing else."""

from assistant.answering import AnswerStream
from assistant.citations import format_references
from assistant.errors import (
    EmptyQuestionError,
    LLMAuthError,
    LLMError,
    LLMTimeoutError,
    LLMUnavailableError,
    ModelMismatchError,
    ParallaxError,
    StoreLockedError,
    StoreUnavailableError,
    UnknownSourceError,
)
from assistant.export import conversation_markdown, text_fragment_url
from assistant.planning import Plan
from assistant.records import (
    Answer,
    Citation,
    Coverage,
    Disagreement,
    Inspection,
    Passage,
    Position,
    Retrieval,
    Scope,
    Source,
    SourceInfo,
)
from assistant.service import Assistant
from assistant.settings import Settings, SettingsError, load_settings, settings_table
from assistant.text import find_quote, marker_numbers

__all__ = [
    "Answer",
    "AnswerStream",
    "Assistant",
    "Citation",
    "Coverage",
    "Disagreement",
    "EmptyQuestionError",
    "Inspection",
    "LLMAuthError",
    "LLMError",
    "LLMTimeoutError",
    "LLMUnavailableError",
    "ModelMismatchError",
    "ParallaxError",
    "Passage",
    "Plan",
    "Position",
    "Retrieval",
    "Scope",
    "Settings",
    "SettingsError",
    "Source",
    "SourceInfo",
    "StoreLockedError",
    "StoreUnavailableError",
    "UnknownSourceError",
    "conversation_markdown",
    "find_quote",
    "format_references",
    "load_settings",
    "marker_numbers",
    "settings_table",
    "text_fragment_url",
]
