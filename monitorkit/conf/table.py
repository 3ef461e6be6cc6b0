"""The settings tables of ``docs/configuration.md``, written from the declarations in ``conf``.

A table written by hand drifts from the rules it describes: a default changes, a setting is
added, and the page still says the old thing. So each table on the page is only a marked place,

    <!-- settings-table:start timing -->
    ...
    <!-- settings-table:end -->

that :func:`fill` rewrites with a row for every declaration whose ``section`` it names, in
declaration order; the prose around the tables stays the page's own. ``bash
scripts/settings-table`` rewrites the page, and ``tests/test_settings_table.py`` fails while the
committed page differs from what the declarations say.

Only the declarations are read, never a setting's value, so no Django settings are needed.
"""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path
from typing import Any

from .. import conf

START = "<!-- settings-table:start {section} -->"
END = "<!-- settings-table:end -->"
_BLOCK = re.compile(
    r"<!-- settings-table:start (?P<section>[\w-]+) -->\n.*?<!-- settings-table:end -->",
    re.DOTALL,
)
HEADER = "| setting | type | default | what it does | check |\n|---|---|---|---|---|"


def fill(page: str) -> str:
    """Return ``page`` with every marked table written from the declarations.

    Raises ``ValueError`` when a section some setting is declared in has no marked table (its
    settings would be missing from the page), or has two.
    """
    marked = [match.group("section") for match in _BLOCK.finditer(page)]
    for section in dict.fromkeys(setting.section for setting in conf.SETTINGS):
        if marked.count(section) != 1:
            raise ValueError(
                f"the page has {marked.count(section)} tables marked "
                f"{START.format(section=section)!r}: it needs one"
            )
    return _BLOCK.sub(lambda match: marked_table(match.group("section")), page)


def marked_table(section: str) -> str:
    """Return the table of ``section`` between its markers (blank lines keep it a table)."""
    return f"{START.format(section=section)}\n\n{table(section)}\n\n{END}"


def table(section: str) -> str:
    """Return the Markdown table of the settings declared in ``section``."""
    settings = [setting for setting in conf.SETTINGS if setting.section == section]
    if not settings:
        raise ValueError(f"no setting is declared in the section {section!r}")
    return "\n".join([HEADER, *(row(setting) for setting in settings)])


def row(setting: conf.Setting[Any]) -> str:
    """Return a setting's row: its name, type, default, meaning and check ids."""
    name = f"`{setting.name}`"
    if not setting.name.startswith("MONITORKIT_"):  # django-command-monitor's (see conf)
        name += " **existing**"
    checks = f"`{setting.check_id}`"
    if setting.deeper_checks:
        checks += f", {setting.deeper_checks}"
    cells = (name, setting.shown_type, shown_default(setting), setting.meaning, checks)
    for cell in cells:
        if "|" in cell or "\n" in cell:
            raise ValueError(f"{setting.name}: a table cell cannot hold '|' or a line break")
    return "| " + " | ".join(cells) + " |"


def shown_default(setting: conf.Setting[Any]) -> str:
    """Return the default as the page shows it: code where it is code.

    ``shown_default`` is plain text, because it also ends a problem's message ("The default,
    30, is used meanwhile."); here a Python value (``{} (no alerts)``: the part before the
    parenthesis), a setting's name and a dotted ``monitorkit`` path are set as code.
    """
    text = setting.shown_default
    value, parenthesis, rest = text.partition(" (")
    if _is_python_value(value):
        return f"`{value}`{parenthesis}{rest}"
    return _names().sub(lambda match: f"`{match.group()}`", text)


def _is_python_value(text: str) -> bool:
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return False
    return True


def _names() -> re.Pattern[str]:
    settings = "|".join(re.escape(setting.name) for setting in conf.SETTINGS)
    return re.compile(rf"\b(?:{settings})\b|\bmonitorkit(?:\.\w+)+")


def main(argv: list[str] | None = None) -> None:
    """Rewrite the tables of the page named on the command line, in place."""
    parser = argparse.ArgumentParser(
        prog="python -m monitorkit.conf.table",
        description="Write the settings tables of a page from the declarations in monitorkit.conf.",
    )
    parser.add_argument("page", type=Path, help="the page, e.g. docs/configuration.md")
    page: Path = parser.parse_args(argv).page
    text = page.read_text(encoding="utf-8")
    filled = fill(text)
    if filled != text:
        page.write_text(filled, encoding="utf-8")
    print(f"{page}: {'rewritten' if filled != text else 'already as declared'}")


if __name__ == "__main__":
    main()
