"""Named errors whose messages tell the user what to do next.

Every error Parallax raises on purpose derives from `ParallaxError`; the CLI and the
Streamlit app turn these into a message (never a traceback) at the edge.
"""


class ParallaxError(Exception):
    """Base for errors with a user-facing message that states the fix."""


class StoreLockedError(ParallaxError):
    def __init__(self, lock_path: str, waited: float) -> None:
        super().__init__(
            f"Another ingest is writing to the store (lock {lock_path} held; waited {waited:g} s). "
            "Wait for it to finish and run the command again, or raise PARALLAX_LOCK_TIMEOUT."
        )


class ModelMismatchError(ParallaxError):
    def __init__(self, store_model: str, configured_model: str, where: str) -> None:
        super().__init__(
            f"The store at {where} was built with embedding model '{store_model}', but "
            f"'{configured_model}' is configured. Set PARALLAX_EMBEDDING_MODEL={store_model}, "
            "or re-embed everything with: parallax ingest --rebuild"
        )


class StoreUnavailableError(ParallaxError):
    """The store path cannot be written or the store cannot be read as a Parallax store."""


class EmbeddingError(ParallaxError):
    """The embedding model could not be loaded or called."""
