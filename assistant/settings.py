"""The one place Parallax reads its configuration: the environment and `.env`.

Each setting keeps its environment name, default and help together; the README's
configuration table is checked against this class by a test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, frozen=True
    )

    articles_dir: Path = Field(
        REPO_ROOT / "articles",
        validation_alias="PARALLAX_ARTICLES_DIR",
        description="The shipped articles (.txt, .md, .html and sources.toml) that seed the library.",
    )
    library_dir: Path = Field(
        REPO_ROOT / ".parallax" / "library",
        validation_alias="PARALLAX_LIBRARY_DIR",
        description=(
            "Your library: the articles Parallax answers from. Seeded from "
            "PARALLAX_ARTICLES_DIR on first use; added articles are stored here."
        ),
    )
    chroma_path: Path = Field(
        REPO_ROOT / ".parallax" / "chroma",
        validation_alias="PARALLAX_CHROMA_PATH",
        description="Folder of the embedded Chroma store (ignored when PARALLAX_CHROMA_HOST is set).",
    )
    chroma_host: str | None = Field(
        None,
        validation_alias="PARALLAX_CHROMA_HOST",
        description="Host of a Chroma server (`chroma run`); when set, the store lives there.",
    )
    chroma_port: int = Field(
        8000, validation_alias="PARALLAX_CHROMA_PORT", description="Port of the Chroma server."
    )
    embedding_model: str = Field(
        "all-MiniLM-L6-v2",
        validation_alias="PARALLAX_EMBEDDING_MODEL",
        description=(
            "`all-MiniLM-L6-v2` (local, offline), `openai:<model>` (e.g. "
            "openai:text-embedding-3-small) or `hashing` (a fast fake for tests)."
        ),
    )
    llm: Literal["auto", "off"] = Field(
        "auto",
        validation_alias="PARALLAX_LLM",
        description="`auto` uses a model when OPENAI_API_KEY or OPENAI_BASE_URL is set; `off` forces extractive mode.",
    )
    openai_api_key: SecretStr | None = Field(
        None,
        validation_alias="OPENAI_API_KEY",
        description="Key for OpenAI or a compatible server. Never logged.",
    )
    openai_base_url: str | None = Field(
        None,
        validation_alias="OPENAI_BASE_URL",
        description="Base URL of an OpenAI-compatible server, e.g. http://localhost:11434/v1 for Ollama.",
    )
    llm_model: str = Field(
        "gpt-4o-mini", validation_alias="PARALLAX_LLM_MODEL", description="Chat model name."
    )
    llm_temperature: float = Field(
        0.1, validation_alias="PARALLAX_LLM_TEMPERATURE", description="Sampling temperature."
    )
    llm_timeout: float = Field(
        60.0,
        validation_alias="PARALLAX_LLM_TIMEOUT",
        description="Seconds to wait for the model server before giving up.",
    )
    llm_max_tokens: int = Field(
        1536,
        ge=64,
        le=32768,
        validation_alias="PARALLAX_LLM_MAX_TOKENS",
        description="Most tokens a reply may have; a reply that runs on is cut there and marked incomplete.",
    )
    llm_max_retries: int = Field(
        2,
        validation_alias="PARALLAX_LLM_MAX_RETRIES",
        description="Retries with backoff on 429 and 5xx replies.",
    )
    top_k: int = Field(
        8, validation_alias="PARALLAX_TOP_K", description="Passages retrieved per question."
    )
    relevance_floor: float = Field(
        0.38,
        validation_alias="PARALLAX_RELEVANCE_FLOOR",
        description="Cosine similarity the best passage must reach for a question to count as covered.",
    )
    max_question_chars: int = Field(
        2000,
        validation_alias="PARALLAX_MAX_QUESTION_CHARS",
        description="Longer questions are truncated with a warning.",
    )
    lock_timeout: float = Field(
        30.0,
        validation_alias="PARALLAX_LOCK_TIMEOUT",
        description="Seconds an ingest waits for another ingest's write lock before failing.",
    )
    max_file_mb: float = Field(
        5.0,
        validation_alias="PARALLAX_MAX_FILE_MB",
        description="Article files larger than this are skipped.",
    )

    @property
    def llm_enabled(self) -> bool:
        return self.llm != "off" and bool(self.openai_api_key or self.openai_base_url)

    @property
    def lock_path(self) -> Path:
        """Beside the embedded store; for a server, beside the library (one writer per host)."""
        if self.chroma_host:
            return self.library_dir.parent / f"chroma-{self.chroma_host}-{self.chroma_port}.lock"
        return self.chroma_path.parent / f"{self.chroma_path.name}.lock"


def settings_table() -> list[tuple[str, str, str]]:
    """(environment name, default, help) for every setting, for the README and `--help`."""
    rows = []
    for field in Settings.model_fields.values():
        default = field.default
        if isinstance(default, Path):
            default = (
                default.relative_to(REPO_ROOT) if default.is_relative_to(REPO_ROOT) else default
            )
        rows.append(
            (
                str(field.validation_alias),
                "" if default is None else str(default),
                field.description or "",
            )
        )
    return rows
