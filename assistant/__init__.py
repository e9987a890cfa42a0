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
from assistant.records import Answer, Citation, Disagreement, Passage, Position, Retrieval
from assistant.service import Assistant, SourceInfo
from assistant.settings import Settings, SettingsError, load_settings, settings_table
from store.ingest import IngestReport, PreparedSource

__all__ = [
    "Answer",
    "AnswerStream",
    "Assistant",
    "Citation",
    "Disagreement",
    "EmptyQuestionError",
    "IngestReport",
    "LLMAuthError",
    "LLMError",
    "LLMTimeoutError",
    "LLMUnavailableError",
    "ModelMismatchError",
    "ParallaxError",
    "Passage",
    "Position",
    "PreparedSource",
    "Retrieval",
    "Settings",
    "SettingsError",
    "SourceInfo",
    "StoreLockedError",
    "StoreUnavailableError",
    "UnknownSourceError",
    "conversation_markdown",
    "format_references",
    "load_settings",
    "settings_table",
    "text_fragment_url",
]
