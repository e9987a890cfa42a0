"""The chat models the configured server offers, for the app's model picker."""

from __future__ import annotations

import logging

import openai

from assistant.chat_model import OPENAI_API_URL, PLACEHOLDER_API_KEY
from assistant.settings import Settings

log = logging.getLogger("parallax")
# A picker waits on this: a server that does not answer quickly gets free text instead.
MODELS_TIMEOUT_S = 5.0


def available_models(settings: Settings) -> list[str] | None:
    """Model ids from the server's /v1/models, sorted; None when there is no model server
    configured or it does not list them (any failure: the picker falls back to free text)."""
    if not settings.llm_enabled:
        return None
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    client = openai.OpenAI(
        api_key=key or PLACEHOLDER_API_KEY,
        base_url=settings.openai_base_url or OPENAI_API_URL,
        timeout=MODELS_TIMEOUT_S,
        max_retries=0,
    )
    try:
        ids = sorted({m.id for m in client.models.list() if m.id})
    except Exception as exc:  # any failure means "no list", never a broken page
        log.debug("Listing the server's models failed: %s", type(exc).__name__)
        return None
    finally:
        client.close()
    return ids or None
