"""Parallax as a package: the wheel holds everything it needs, and an installed copy runs
outside the checkout, with its data in the user's data folder.

The wheel is built from a copy of the working tree without network access and installed
(not editable) into a fresh virtualenv in a temp folder. That virtualenv sees this one's
site-packages through a .pth file, so the pinned dependencies are not downloaded again; the
packages under test (assistant, store, ui, prompts, articles) come only from the wheel.
"""

from __future__ import annotations

import json
import shutil
import site
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest

from assistant import prompts
from assistant.prompts import PromptError, render
from assistant.settings import REPO_ROOT
from tests.conftest import SHIPPED
from tests.processes import clean_env, free_port, running

PACKAGES = ("assistant", "store", "ui", "prompts", "articles")
SHIPPED_IDS = sorted(p.stem for p in SHIPPED.glob("*.txt"))
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".parallax",
    ".*_cache",
    ".hypothesis",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "artifacts",
)


# ---- prompts are package data ----------------------------------------------------------------


def test_every_prompt_template_loads_from_the_prompts_package() -> None:
    names = sorted(p.stem for p in (REPO_ROOT / "prompts").glob("*.md"))
    assert names == [
        "answer_system",
        "answer_user",
        "format_json",
        "format_prose",
        "rewrite",
        "source_block",
    ]
    for name in names:
        assert prompts.load(name).template == (REPO_ROOT / "prompts" / f"{name}.md").read_text(
            encoding="utf-8"
        )


def test_a_missing_template_or_variable_fails_loudly() -> None:
    with pytest.raises(PromptError, match=r"No prompt template no_such_prompt\.md"):
        prompts.load("no_such_prompt")
    with pytest.raises(PromptError, match="needs the variable"):
        render("source_block", n=1)


# ---- the installed wheel ---------------------------------------------------------------------


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    shutil.copytree(REPO_ROOT, source, ignore=NOT_SOURCE)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    run([*pip_wheel, "--no-index", "--wheel-dir", str(root / "dist"), str(source)], cwd=root)
    (built,) = (root / "dist").glob("parallax-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A fresh virtualenv holding the wheel; (bin folder, a home, a folder outside the checkout)."""
    root = tmp_path_factory.mktemp("installed")
    venv = root / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    (venv_site,) = (venv / "lib").glob("python3.*/site-packages")
    (venv_site / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    pip_install = [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps"]
    pip_install += ["--no-index", "--ignore-installed", "--no-warn-script-location"]
    run([*pip_install, str(wheel)], cwd=root, env=_outside_env(root))
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    return {"bin": venv / "bin", "site": venv_site, "root": root, "cwd": elsewhere}


def _outside_env(root: Path, **values: str) -> dict[str, str]:
    """No PYTHONPATH (the checkout must not be importable), a home and data folder of its own,
    and no network for the model."""
    env = clean_env(
        HOME=str(root / "home"),
        XDG_DATA_HOME=str(root / "xdg-data"),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        **values,
    )
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    return env


@pytest.mark.slow
def test_the_wheel_ships_prompts_app_and_articles(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for prompt in (REPO_ROOT / "prompts").glob("*.md"):
        assert f"prompts/{prompt.name}" in names
    for page in ("ui/app.py", "ui/main.py", "ui/views/chat.py", "ui/views/library.py"):
        assert page in names
    for article in SHIPPED.iterdir():
        if article.suffix in (".txt", ".toml"):
            assert f"articles/{article.name}" in names
    assert not any(name.startswith("tests/") for name in names)


@pytest.mark.slow
def test_installed_parallax_asks_offline_with_data_in_the_user_folder(
    installed: dict[str, Path],
) -> None:
    root, cwd = installed["root"], installed["cwd"]
    # The hashing fake (coverage rests on the question's words): the real model is a
    # dependency like any other (tests/test_cli.py runs it); what is under test is the package.
    env = _outside_env(root, PARALLAX_LLM="off", PARALLAX_EMBEDDING_MODEL="hashing")
    script = f"import sys, {', '.join(PACKAGES)}; "
    script += f"print(*[p for n in {PACKAGES!r} for p in sys.modules[n].__path__])"
    where = run([str(installed["bin"] / "python"), "-c", script], cwd=cwd, env=env)
    assert len(where.stdout.split()) == len(PACKAGES)  # one folder each, no second copy
    for folder in where.stdout.split():
        assert Path(folder).is_relative_to(installed["site"]), folder

    done = run(
        [str(installed["bin"] / "parallax"), "ask", "What did Lavrov say about NATO?", "--json"],
        cwd=cwd,
        env=env,
    )
    assert "Traceback" not in done.stderr
    answer = json.loads(done.stdout)
    assert answer["mode"] == "extractive" and answer["citations"]
    data = root / "xdg-data" / "parallax"
    assert sorted(p.stem for p in (data / "library").glob("*.txt")) == SHIPPED_IDS
    assert (data / "library" / "sources.toml").is_file()
    assert (data / "chroma").is_dir()
    assert list(cwd.iterdir()) == []  # nothing written where it ran

    usage = subprocess.run(
        [str(installed["bin"] / "parallax"), "eval"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert usage.returncode == 2 and "--questions" in usage.stderr


@pytest.mark.slow
def test_installed_parallax_app_serves_a_healthy_streamlit(installed: dict[str, Path]) -> None:
    root, cwd = installed["root"], installed["cwd"]
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as reply:
                return bool(reply.status == 200)
        except OSError:
            return False

    command = [str(installed["bin"] / "parallax"), "app", "--port", str(port), "--headless"]
    env = _outside_env(root, PARALLAX_LLM="off", PARALLAX_EMBEDDING_MODEL="hashing")
    with running(
        command, log_path=root / "app.log", ready=healthy, what="parallax app", cwd=cwd, env=env
    ) as proc:
        with urllib.request.urlopen(url, timeout=10) as page:
            assert page.status == 200
        assert proc.poll() is None

    # The page itself, run from the installed package as a session would run it.
    script = (
        "import sys; from importlib import resources; "
        "from streamlit.testing.v1 import AppTest; "
        "at = AppTest.from_file(str(resources.files('ui') / 'app.py'), default_timeout=120).run(); "
        "print(repr(at.exception), len(at.chat_input), at.sidebar.markdown[0].value if "
        "at.sidebar.markdown else '', sep='\\n')"
    )
    done = run([str(installed["bin"] / "python"), "-c", script], cwd=cwd, env=env)
    exception, chat_inputs = done.stdout.splitlines()[:2]
    assert exception == "ElementList()" or exception == "[]", done.stdout
    assert chat_inputs == "1", done.stdout
