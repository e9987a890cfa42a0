"""The one place Parallax reads its configuration: the environment and `.env`.

Each setting keeps its environment name, default, allowed range and help together; the
README's configuration table is checked against this class by a test. `load_settings()` is
how the CLI and the app read them: a bad value becomes one `SettingsError` line naming the
variable, the value and what is allowed, never a traceback. An empty variable means unset.

Where data lives by default depends on how Parallax runs: from a checkout (the repository,
as `make run` does), today's `.parallax/` folder in it; installed as a package, the user's
data folder (platformdirs). The shipped articles are package data either way.
"""

from __future__ import annotations

import tomllib
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

from store.errors import ParallaxError

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The folder holding the `assistant` package: the repository root in a checkout."""


def _is_checkout(root: Path) -> bool:
    """Parallax's own pyproject.toml beside the packages: running from the repository."""
    try:
        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return bool(project.get("project", {}).get("name") == "parallax")


IN_CHECKOUT = _is_checkout(REPO_ROOT)
DATA_DIR = (
    REPO_ROOT / ".parallax" if IN_CHECKOUT else platformdirs.user_data_path("parallax", False)
)
"""Default home of the library and the store (README: "Where data lives")."""


def _shipped_articles() -> Path:
    """The `articles` package's folder: in the checkout, or installed beside `assistant`."""
    if IN_CHECKOUT:
        return REPO_ROOT / "articles"
    folder = resources.files("articles")
    return folder if isinstance(folder, Path) else Path(str(folder))


class SettingsError(ParallaxError):
    """A setting has a value outside what it allows; the message names variable and fix."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_ignore_empty=True,  # `PARALLAX_LLM=` in .env means "use the default"
        extra="ignore",
        populate_by_name=True,
        frozen=True,
    )

    articles_dir: Path = Field(
        _shipped_articles(),
        validation_alias="PARALLAX_ARTICLES_DIR",
        description=(
            "The shipped articles (.txt, .md, .html and sources.toml) that seed the library; "
            "installed as a package, the copy shipped inside it."
        ),
    )
    library_dir: Path = Field(
        DATA_DIR / "library",
        validation_alias="PARALLAX_LIBRARY_DIR",
        description=(
            "Your library: the articles Parallax answers from. Seeded from "
            "PARALLAX_ARTICLES_DIR on first use; added articles are stored here. Installed as "
            "a package: `library` in the user's data folder."
        ),
    )
    chroma_path: Path = Field(
        DATA_DIR / "chroma",
        validation_alias="PARALLAX_CHROMA_PATH",
        description=(
            "Folder of the embedded Chroma store (ignored when PARALLAX_CHROMA_HOST is set). "
            "Installed as a package: `chroma` in the user's data folder."
        ),
    )
    chroma_host: str | None = Field(
        None,
        min_length=1,
        validation_alias="PARALLAX_CHROMA_HOST",
        description="Host of a Chroma server (`chroma run`); when set, the store lives there.",
    )
    chroma_port: int = Field(
        8000,
        ge=1,
        le=65535,
        validation_alias="PARALLAX_CHROMA_PORT",
        description="Port of the Chroma server.",
    )
    index_dir: Path | None = Field(
        None,
        validation_alias="PARALLAX_INDEX_DIR",
        description=(
            "Folder of the saved search indexes, one per store generation; default: beside "
            "the store's write lock. With a Chroma server, every app process must read it."
        ),
    )
    embedding_model: str = Field(
        "all-MiniLM-L6-v2",
        pattern=r"^(all-MiniLM-L6-v2|hashing|openai:\S+)$",
        json_schema_extra={"allowed": "all-MiniLM-L6-v2, hashing or openai:<model name>"},
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
        pattern=r"^https?://\S+$",
        json_schema_extra={"allowed": "an http:// or https:// URL"},
        validation_alias="OPENAI_BASE_URL",
        description="Base URL of an OpenAI-compatible server, e.g. http://localhost:11434/v1 for Ollama.",
    )
    llm_model: str = Field(
        "gpt-4o-mini",
        min_length=1,
        validation_alias="PARALLAX_LLM_MODEL",
        description="Chat model name.",
    )
    llm_temperature: float = Field(
        0.1,
        ge=0,
        le=2,
        validation_alias="PARALLAX_LLM_TEMPERATURE",
        description="Sampling temperature.",
    )
    llm_timeout: float = Field(
        60.0,
        gt=0,
        le=3600,
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
    llm_protocol: Literal["auto", "prose"] = Field(
        "auto",
        validation_alias="PARALLAX_LLM_PROTOCOL",
        description="`auto` asks the server for answers as schema-constrained JSON and falls "
        "back to the prose protocol where it refuses; `prose` sends the prose protocol only.",
    )
    llm_max_retries: int = Field(
        2,
        ge=0,
        le=10,
        validation_alias="PARALLAX_LLM_MAX_RETRIES",
        description="Retries with backoff on 429 and 5xx replies.",
    )
    top_k: int = Field(
        8,
        ge=2,
        le=20,  # the app's "Passages per question" slider offers 2 to 20
        validation_alias="PARALLAX_TOP_K",
        description="Passages retrieved per question.",
    )
    max_question_chars: int = Field(
        2000,
        ge=10,
        le=100_000,
        validation_alias="PARALLAX_MAX_QUESTION_CHARS",
        description="Longer questions are truncated with a warning.",
    )
    lock_timeout: float = Field(
        30.0,
        ge=0,
        le=3600,
        validation_alias="PARALLAX_LOCK_TIMEOUT",
        description="Seconds an ingest waits for another ingest's write lock before failing.",
    )
    max_file_mb: float = Field(
        5.0,
        gt=0,
        le=1000,
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


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and `.env` (and `overrides`); a bad value raises
    SettingsError with one line for the person who set it."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_errors(exc)) from None


def describe_errors(exc: ValidationError) -> str:
    """One line: each bad variable, the value it had, what it allows and how to fix it."""
    by_name = dict(Settings.model_fields)
    by_env = {str(field.validation_alias): field for field in by_name.values()}
    problems = []
    for error in exc.errors():
        key = str(error["loc"][0]) if error["loc"] else "a setting"
        field = by_env.get(key) or by_name.get(key)
        if field is None:  # not one of ours: say what pydantic said, still on one line
            problems.append(f"{key}: {error['msg']}")
            continue
        env = str(field.validation_alias)
        shown = "(hidden)" if _is_secret(field) else repr(error["input"])
        default = "" if field.default is None else f" for the default {field.default}"
        problems.append(f"{env}={shown} is not allowed: use {allowed(field)}, or unset it{default}")
    where = "it" if len(problems) == 1 else "them"
    return "; ".join(problems) + f". Fix {where} in the environment or .env."


def allowed(field: FieldInfo) -> str:
    """What a setting accepts, in words: its values, its type and range."""
    extra = field.json_schema_extra
    if isinstance(extra, dict) and "allowed" in extra:
        return str(extra["allowed"])
    annotation = _without_none(field.annotation)
    if typing.get_origin(annotation) is Literal:
        return "one of " + ", ".join(str(v) for v in typing.get_args(annotation))
    if annotation is int:
        return "a whole number" + _range(field)
    if annotation is float:
        return "a number" + _range(field)
    if annotation is Path:
        return "a folder path"
    return "non-empty text"


def _range(field: FieldInfo) -> str:
    """ " from 2 to 20" or " above 0 and at most 3600": the Field's bounds, in words (every
    number has a lower and an upper one; tests/test_settings.py checks that)."""
    bounds = {
        key: getattr(rule, key)
        for rule in field.metadata
        for key in ("ge", "gt", "le")
        if getattr(rule, key, None) is not None
    }
    if "ge" in bounds:
        return f" from {bounds['ge']:g} to {bounds['le']:g}"
    return f" above {bounds['gt']:g} and at most {bounds['le']:g}"


def _without_none(annotation: Any) -> Any:
    """`SecretStr | None` -> SecretStr: an optional setting allows what its type allows."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _is_secret(field: FieldInfo) -> bool:
    return _without_none(field.annotation) is SecretStr


def settings_table() -> list[tuple[str, str, str]]:
    """(environment name, default, help) for every setting: the README's table.

    Paths inside the checkout show relative to it, as the README documents them.
    """
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
