"""The README's configuration table lists exactly the settings `Settings` defines."""

import re

from assistant.settings import REPO_ROOT, settings_table


def test_readme_lists_every_setting_with_its_default() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| ([^|]+) \|", readme, re.M))
    assert set(rows) == {name for name, _, _ in settings_table()}
    for name, default, _ in settings_table():
        assert rows[name].strip() == (f"`{default}`" if default else "(unset)"), name


def test_readme_quickstart_is_two_commands() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    quickstart = readme.split("## Quickstart")[1].split("```")[1]
    assert quickstart.split() == ["make", "run", "make", "test"]
