"""Assistant conveniences the app relies on: model variants, warm-up, safe article URLs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from assistant import Assistant, ParallaxError, Settings
from store.embeddings import HashingEmbedder


def test_with_model_shares_the_library_and_changes_only_the_model(
    make_settings: Callable[..., Settings],
) -> None:
    base = Assistant(
        make_settings(llm="auto", openai_base_url="http://127.0.0.1:9/v1"), HashingEmbedder()
    )
    twin = base.with_model("other-model")
    assert twin.model_name == "other-model" and base.model_name == base.settings.llm_model
    assert twin.store is base.store and twin.embedder is base.embedder
    assert twin.settings.llm_model == "other-model"


def test_warm_up_ingests_an_empty_store(fast_assistant: Assistant) -> None:
    assert fast_assistant.sources() == []
    fast_assistant.warm_up()
    assert len(fast_assistant.sources()) == 5


def test_added_article_with_a_javascript_url_is_refused(fast_assistant: Assistant) -> None:
    with pytest.raises(ParallaxError, match="not a web address"):
        fast_assistant.add_article(
            b"A short article about ceasefire talks in a port city.",
            "talks.txt",
            {"title": "Talks", "url": "javascript:alert(1)"},
        )
    assert "talks" not in {s.meta.id for s in fast_assistant.sources()}


def test_manifest_javascript_url_is_dropped(
    make_settings: Callable[..., Settings], tmp_path
) -> None:
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "story.txt").write_text("Story title\n\nThe talks resumed on Monday in the capital.")
    (seed / "sources.toml").write_text(
        '[[source]]\nid = "story"\noutlet = "Gazette"\nurl = "javascript:alert(1)"\n'
    )
    assistant = Assistant(make_settings(articles_dir=seed), HashingEmbedder())
    assistant.ingest()
    [source] = assistant.sources()
    assert source.meta.url is None and source.meta.outlet == "Gazette"
