"""The README's configuration table lists exactly the settings `Settings` defines, with the
default and the allowed values each one has."""

import html
import re

from assistant.settings import REPO_ROOT, Settings, allowed, settings_table

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_lists_every_setting_with_its_default_and_what_it_allows() -> None:
    rows = {
        name: (default, allowed_text)
        for name, default, allowed_text in re.findall(
            r"^\| `([A-Z_]+)` \| ([^|]+) \| ([^|]+) \|", README, re.M
        )
    }
    assert set(rows) == {name for name, _, _ in settings_table()}
    for (name, default, _), field in zip(
        settings_table(), Settings.model_fields.values(), strict=True
    ):
        shown_default, shown_allowed = rows[name]
        assert shown_default.strip() == (f"`{default}`" if default else "(unset)"), name
        assert html.unescape(shown_allowed.strip()) == allowed(field), name


def test_readme_quickstart_is_two_commands() -> None:
    quickstart = README.split("## Quickstart")[1].split("```")[1]
    assert quickstart.split() == ["make", "run", "make", "test"]
