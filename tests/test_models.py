"""The model picker's list: the server's /v1/models through the real client, or None."""

from __future__ import annotations

from collections.abc import Callable

from assistant import Settings, available_models
from tests.fake_openai import FakeOpenAI
from tests.processes import free_port


def test_the_server_lists_its_models(
    make_settings: Callable[..., Settings], fake_llm: FakeOpenAI
) -> None:
    settings = make_settings(llm="auto", openai_base_url=fake_llm.url, openai_api_key="k-123")
    assert available_models(settings) == ["fake-model"]
    listed = [r for r in fake_llm.requests if r.path.endswith("/models")]
    assert listed and listed[-1].headers["authorization"] == "Bearer k-123"


def test_no_server_no_list(make_settings: Callable[..., Settings]) -> None:
    closed = f"http://127.0.0.1:{free_port()}/v1"
    assert available_models(make_settings(llm="auto", openai_base_url=closed)) is None


def test_extractive_mode_asks_nobody(
    make_settings: Callable[..., Settings], fake_llm: FakeOpenAI
) -> None:
    assert available_models(make_settings(llm="off", openai_base_url=fake_llm.url)) is None
    assert not fake_llm.requests
