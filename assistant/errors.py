"""Errors of the assistant layer; re-exports the store's so the edge catches one family."""

from store.errors import (
    EmbeddingError,
    ModelMismatchError,
    ParallaxError,
    StoreLockedError,
    StoreUnavailableError,
)

__all__ = [
    "EmbeddingError",
    "EmptyQuestionError",
    "LLMAuthError",
    "LLMError",
    "LLMTimeoutError",
    "LLMUnavailableError",
    "ModelMismatchError",
    "ParallaxError",
    "StoreLockedError",
    "StoreUnavailableError",
    "UnknownSourceError",
]


class EmptyQuestionError(ParallaxError):
    def __init__(self) -> None:
        super().__init__("The question is empty: type a question about the articles.")


class UnknownSourceError(ParallaxError):
    def __init__(self, source_id: str, known: list[str]) -> None:
        listing = ", ".join(known) or "none (run: parallax ingest)"
        super().__init__(
            f"No article with id '{source_id}' in the store. Known ids: {listing}. "
            "See them with: parallax sources"
        )


class LLMError(ParallaxError):
    """The language model server failed; the chat session goes on."""


class LLMAuthError(LLMError):
    def __init__(self) -> None:
        super().__init__(
            "The model server rejected the API key: set a valid OPENAI_API_KEY in .env, "
            "or switch to extractive mode with PARALLAX_LLM=off."
        )


class LLMUnavailableError(LLMError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            f"The model server did not answer ({detail}) after retries. Try again later, "
            "check OPENAI_BASE_URL, or use extractive mode with PARALLAX_LLM=off."
        )


class LLMTimeoutError(LLMError):
    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"The model server took longer than {seconds:g} s. Try again, raise "
            "PARALLAX_LLM_TIMEOUT, or use extractive mode with PARALLAX_LLM=off."
        )
