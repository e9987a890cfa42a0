"""Layering rules, checked on the source with `ast`:

* ui/ talks to the assistant only: never chromadb, openai, langchain* or store directly;
* store/ is the bottom layer: it never imports assistant (or ui, or streamlit);
* assistant/ never imports ui or streamlit;
* only assistant/settings.py reads the environment.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV_READER = ROOT / "assistant" / "settings.py"
UI_FORBIDDEN = ("chromadb", "openai", "langchain", "store")


def python_files(package: str) -> list[Path]:
    folder = ROOT / package
    return sorted(folder.rglob("*.py")) if folder.is_dir() else []


def imported_modules(source: str, package: str = "") -> set[str]:
    """Absolute names of every module imported, including importlib/__import__ by literal."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: inside the file's own package
                modules.add(".".join([package, *filter(None, [node.module])]))
            elif node.module:
                modules.add(node.module)
                modules.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if (
                name in ("import_module", "__import__")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                modules.add(first.value)
    return modules


def matches(module: str, root: str) -> bool:
    """`langchain` matches langchain, langchain_core, langchain_openai...; others exactly."""
    top = module.split(".")[0]
    return top.startswith(root) if root == "langchain" else top == root


def environment_reads(source: str) -> list[int]:
    """Line numbers that read os.environ / os.getenv (however `os` or the names are bound)."""
    tree = ast.parse(source)
    os_names = {"os"}
    env_names: set[str] = set()
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            os_names.update(a.asname or a.name for a in node.names if a.name == "os")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            for alias in node.names:
                if alias.name in ("environ", "getenv", "environb", "getenvb"):
                    env_names.add(alias.asname or alias.name)
                    lines.add(node.lineno)
    for node in ast.walk(tree):
        attribute_read = (
            isinstance(node, ast.Attribute)
            and node.attr in ("environ", "getenv", "environb", "getenvb")
            and isinstance(node.value, ast.Name)
            and node.value.id in os_names
        )
        if attribute_read or (isinstance(node, ast.Name) and node.id in env_names):
            lines.add(node.lineno)
    return sorted(lines)


# ---- the checkers catch what they are meant to ---------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "import chromadb",
        "import chromadb.api as api",
        "from chromadb.config import Settings",
        "import openai",
        "from langchain_openai import ChatOpenAI",
        "import langchain_core.messages",
        "from store.chroma_store import ChunkStore",
        "from store import ingest",
        "import importlib\nmod = importlib.import_module('chromadb')",
        "def f():\n    import openai\n    return openai",
        "try:\n    import langchain\nexcept ImportError:\n    pass",
    ],
)
def test_ui_checker_flags_forbidden_imports(source: str) -> None:
    assert any(matches(m, root) for m in imported_modules(source) for root in UI_FORBIDDEN)


@pytest.mark.parametrize(
    "source",
    [
        "import streamlit as st\nfrom assistant import Assistant",
        "from ui import render, state",
        "import storefront",  # not `store`
        "from . import render",
    ],
)
def test_ui_checker_allows_the_assistant_layer(source: str) -> None:
    modules = imported_modules(source, package="ui")
    assert not any(matches(m, root) for m in modules for root in UI_FORBIDDEN), modules


@pytest.mark.parametrize(
    "source",
    [
        "import os\nkey = os.environ['OPENAI_API_KEY']",
        "import os\nkey = os.getenv('PARALLAX_TOP_K')",
        "import os as _os\nkey = _os.environ.get('X')",
        "from os import environ\nkey = environ['X']",
        "from os import getenv as ge\nkey = ge('X')",
    ],
)
def test_environment_checker_flags_reads(source: str) -> None:
    assert environment_reads(source)


def test_environment_checker_ignores_other_os_use() -> None:
    assert environment_reads("import os\nos.path.join('a', 'b')\nos.sep") == []


# ---- the real tree -------------------------------------------------------------------------


def test_the_layers_exist() -> None:
    assert len(python_files("store")) >= 5
    assert len(python_files("assistant")) >= 5
    assert ENV_READER.is_file()


def test_ui_never_imports_storage_or_model_libraries() -> None:
    """ui/ may not exist yet; whatever exists must go through the assistant layer."""
    offenders = []
    for path in python_files("ui"):
        package = ".".join(path.relative_to(ROOT).parent.parts)
        for module in imported_modules(path.read_text(encoding="utf-8"), package):
            if any(matches(module, root) for root in UI_FORBIDDEN):
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []


def test_store_never_imports_the_layers_above() -> None:
    offenders = []
    for path in python_files("store"):
        for module in imported_modules(path.read_text(encoding="utf-8"), "store"):
            if any(matches(module, root) for root in ("assistant", "ui", "streamlit")):
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []


def test_assistant_never_imports_the_ui() -> None:
    offenders = []
    for path in python_files("assistant"):
        for module in imported_modules(path.read_text(encoding="utf-8"), "assistant"):
            if any(matches(module, root) for root in ("ui", "streamlit")):
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []


def test_only_settings_reads_the_environment() -> None:
    offenders = []
    for package in ("assistant", "store", "ui"):
        for path in python_files(package):
            if path == ENV_READER:
                continue
            for line in environment_reads(path.read_text(encoding="utf-8")):
                offenders.append(f"{path.relative_to(ROOT)}:{line}")
    assert offenders == []


def _types_in(hint: object, seen: set[object]) -> Iterator[type]:
    """Every class a type hint names, through generics and the fields of dataclasses."""
    if hint in seen:
        return
    seen.add(hint)
    if isinstance(hint, type):
        yield hint
        if dataclasses.is_dataclass(hint):
            for field_hint in typing.get_type_hints(hint).values():
                yield from _types_in(field_hint, seen)
    for arg in typing.get_args(hint):
        yield from _types_in(arg, seen)


def test_the_assistant_api_returns_no_store_type() -> None:
    """The app and the CLI get the assistant's records: a store type in a return value
    would tie them to the store's internals (and to Chroma's) after all."""
    from assistant.service import Assistant

    offenders = []
    for name, method in inspect.getmembers(Assistant, inspect.isfunction):
        if name.startswith("_"):
            continue
        returned = typing.get_type_hints(method).get("return")
        for kind in _types_in(returned, set()):
            if kind.__module__.split(".")[0] in ("store", "chromadb"):
                offenders.append(f"Assistant.{name} returns {kind.__module__}.{kind.__name__}")
    assert offenders == []
