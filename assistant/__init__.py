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
    safe_url,
    text_fragment_url,
)
from assistant.models import available_models
from assistant.records import Answer, Citation, Disagreement, Passage, Position, Retrieval
from assistant.service import Assistant, SourceInfo
from assistant.settings import Settings, settings_table
from store.ingest import IngestReport, PreparedSource

__all__ = [
    "Answer",
    "AnswerStream",
    "Assistant",
    "ChatSettings",
    "Citation",
    "Conversations",
    "Disagreement",
    "EmptyQuestionError",
    "ExportHeader",
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
    "SourceInfo",
    "StoreLockedError",
    "StoreUnavailableError",
    "Summary",
    "Turn",
    "UnknownSourceError",
    "available_models",
    "conversation_markdown",
    "format_references",
    "redact",
    "safe_url",
    "settings_table",
    "text_fragment_url",
]
