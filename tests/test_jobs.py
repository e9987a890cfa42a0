"""The answer the app writes in a thread: its errors say how long the reader really waited."""

from __future__ import annotations

import re
from collections.abc import Callable

from assistant import Assistant, Settings
from store.embeddings import MiniLMEmbedder
from tests.fake_openai import FakeOpenAI, Reply
from ui.jobs import Job

EU = "Should the European Union take part in the peace negotiations?"


def test_a_timeout_reports_the_real_wait_with_retries(
    make_settings: Callable[..., Settings], fake_llm: FakeOpenAI, minilm: MiniLMEmbedder
) -> None:
    settings = make_settings(
        embedding_model=minilm.name,
        llm="auto",
        openai_base_url=fake_llm.url,
        openai_api_key="k-123456789",
        llm_timeout=1.0,
        llm_max_retries=1,
    )
    fake_llm.default = Reply.slow(10)  # every try times out
    assistant = Assistant(settings, minilm)
    job = Job(EU, 0, assistant, history=(), sources=None, k=4).start()
    assert job.finished.wait(120)
    assert job.answer is None and job.error
    seconds = int(re.search(r"after (\d+) s", job.error)[1])  # type: ignore[index]
    assert seconds >= 2  # two tries of one second each, not the 1 s of one try
    assert "Retry" in job.error and len(fake_llm.chat_requests()) == 2
