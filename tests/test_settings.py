"""Settings that fail well: typed and ranged, empty means unset, one line naming the fix.

The CLI and the app read them through the same `load_settings()`; both are exercised here in
this process (`main(argv)` and AppTest), with the environment and working folder given.
"""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
import streamlit as st
from pydantic import SecretStr
from streamlit.testing.v1 import AppTest

from assistant.settings import REPO_ROOT, Settings, SettingsError, allowed, load_settings
from tests.conftest import CliRunner

# (variable, bad value, what the message must say is allowed)
BAD_VALUES = [
    ("PARALLAX_TOP_K", "abc", "a whole number from 2 to 20"),
    ("PARALLAX_TOP_K", "0", "a whole number from 2 to 20"),
    ("PARALLAX_LLM", "sometimes", "one of auto, off"),
    ("PARALLAX_LLM_TIMEOUT", "-5", "a number above 0 and at most 3600"),
    ("PARALLAX_LLM_TEMPERATURE", "5", "a number from 0 to 2"),
    ("PARALLAX_CHROMA_PORT", "80000", "a whole number from 1 to 65535"),
    ("PARALLAX_LLM_MAX_RETRIES", "1.5", "a whole number from 0 to 10"),
    ("PARALLAX_EMBEDDING_MODEL", "bert", "all-MiniLM-L6-v2, hashing or openai:<model name>"),
    ("OPENAI_BASE_URL", "localhost:11434", "an http:// or https:// URL"),
    ("PARALLAX_MAX_FILE_MB", "0", "a number above 0 and at most 1000"),
]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No PARALLAX_*/OPENAI_* variables and no .env: only what a test sets."""
    monkeypatch.chdir(tmp_path)
    for name in [f.validation_alias for f in Settings.model_fields.values()]:
        monkeypatch.delenv(str(name), raising=False)
    return monkeypatch


@pytest.mark.parametrize(("name", "value", "allowed_text"), BAD_VALUES)
def test_a_bad_value_is_one_line_naming_variable_value_and_range(
    clean_env: pytest.MonkeyPatch, name: str, value: str, allowed_text: str
) -> None:
    clean_env.setenv(name, value)
    with pytest.raises(SettingsError) as excinfo:
        load_settings()
    message = str(excinfo.value)
    assert "\n" not in message
    assert f"{name}={value!r} is not allowed" in message
    assert allowed_text in message
    assert "unset it" in message and message.endswith("Fix it in the environment or .env.")


def test_two_bad_values_are_both_named_on_the_one_line(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("PARALLAX_TOP_K", "abc")
    clean_env.setenv("PARALLAX_LLM", "sometimes")
    with pytest.raises(SettingsError) as excinfo:
        load_settings()
    message = str(excinfo.value)
    assert "\n" not in message
    assert "PARALLAX_TOP_K='abc'" in message and "PARALLAX_LLM='sometimes'" in message


def test_empty_variables_mean_unset_in_the_environment_and_in_dotenv(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env.setenv("PARALLAX_LLM", "")
    clean_env.setenv("PARALLAX_TOP_K", "")
    (tmp_path / ".env").write_text(
        "PARALLAX_LLM_TIMEOUT=\nOPENAI_API_KEY=\nPARALLAX_CHROMA_HOST=\nPARALLAX_LLM_MODEL=m\n",
        encoding="utf-8",
    )
    settings = load_settings()
    assert settings.llm == "auto" and settings.top_k == 8 and settings.llm_timeout == 60.0
    assert settings.openai_api_key is None and settings.chroma_host is None
    assert settings.llm_model == "m"  # the .env file was read


def test_a_bad_value_in_dotenv_is_reported_the_same_way(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("PARALLAX_LLM_TEMPERATURE=5\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"PARALLAX_LLM_TEMPERATURE='5' is not allowed"):
        load_settings()


def test_the_api_key_is_never_shown_even_when_rejected(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError) as excinfo:
        load_settings(openai_api_key=12345)
    assert "OPENAI_API_KEY=(hidden)" in str(excinfo.value)
    assert "12345" not in str(excinfo.value)


def test_every_setting_states_what_it_allows() -> None:
    """A new setting without a type and range fails here, before a user finds it."""
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        base = args[0] if args and typing.get_origin(annotation) is not typing.Literal else None
        kind = base or annotation
        if kind in (int, float):
            bounds = {k for rule in field.metadata for k in ("ge", "gt", "le") if hasattr(rule, k)}
            assert {"le"} < bounds, f"{name} needs a lower and an upper bound"
        elif kind is str:
            constrained = any(
                hasattr(rule, "min_length") or hasattr(rule, "pattern") for rule in field.metadata
            )
            assert constrained, f"{name} accepts any text, even none"
        else:
            assert kind in (Path, SecretStr) or typing.get_origin(kind) is typing.Literal, name
        assert allowed(field), name
        assert field.description, name


def test_the_defaults_are_themselves_allowed(clean_env: pytest.MonkeyPatch) -> None:
    defaults = {name: field.default for name, field in Settings.model_fields.items()}
    assert Settings.model_validate(defaults).top_k == 8  # validates every default


# ---- the CLI and the app read settings the same way ----------------------------------------


def test_cli_exits_2_with_the_line_and_no_traceback(cli_runner: CliRunner) -> None:
    cli = cli_runner.with_env(PARALLAX_TOP_K="abc", PARALLAX_LLM="sometimes")
    for command in (["sources", "--json"], ["ask", "What did Lavrov say?"], ["app"]):
        done = cli.run(*command)
        assert done.code == 2, command
        assert done.out == ""
        lines = done.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), done.err
        assert "PARALLAX_TOP_K='abc'" in lines[0] and "PARALLAX_LLM='sometimes'" in lines[0]


def test_app_shows_the_same_line_as_an_error(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("PARALLAX_LLM_TIMEOUT", "-5")
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO_ROOT / "ui" / "app.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    assert len(at.error) == 1
    error = at.error[0].value.replace("\\", "")  # shown as escaped markdown
    assert "PARALLAX_LLM_TIMEOUT='-5' is not allowed" in error
    assert "at most 3600" in error
    assert not at.chat_input  # nothing else rendered under a broken configuration


def test_in_a_checkout_data_stays_in_its_dot_parallax_folder(clean_env: pytest.MonkeyPatch) -> None:
    """Installed elsewhere, the user's data folder (tests/test_package.py checks that)."""
    settings = load_settings()
    assert settings.library_dir == REPO_ROOT / ".parallax" / "library"
    assert settings.chroma_path == REPO_ROOT / ".parallax" / "chroma"
    assert settings.articles_dir == REPO_ROOT / "articles"
