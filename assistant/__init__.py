"""Parallax's public API: what the Streamlit app and the CLI use, and nothing else."""

from assistant.answering import AnswerStream
from assistant.citations import format_references
from assistant.conversations import ChatSettings, Conversations, Summary, Turn
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
from assistant.export import (
    ExportHeader,
    conversation_markdown,
    redact,
    redact_answer,
    safe_url,
    text_fragment_url,
)
from assistant.extractive import NOTICE as EXTRACTIVE_NOTICE
from assistant.models import available_models
from assistant.planning import Plan
from assistant.records import (
    Answer,
    Citation,
    Coverage,
    Disagreement,
    IngestResult,
    Inspection,
    Passage,
    Position,
    Retrieval,
    Scope,
    Source,
    SourceInfo,
    StoredPassage,
)
from assistant.service import Assistant
from assistant.settings import Settings, SettingsError, load_settings, settings_table
from assistant.text import find_quote, marker_numbers

__all__ = [
    "EXTRACTIVE_NOTICE",
    "Answer",
    "AnswerStream",
    "Assistant",
    "ChatSettings",
    "Citation",
    "Conversations",
    "Coverage",
    "Disagreement",
    "EmptyQuestionError",
    "ExportHeader",
    "IngestResult",
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
    "StoredPassage",
    "Summary",
    "Turn",
    "UnknownSourceError",
    "available_models",
    "conversation_markdown",
    "find_quote",
    "format_references",
    "load_settings",
    "marker_numbers",
    "redact",
    "redact_answer",
    "safe_url",
    "settings_table",
    "text_fragment_url",
]
