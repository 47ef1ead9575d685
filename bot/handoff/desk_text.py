"""The mediator desk's own texts (``locales/desk/<lang>.yaml``), in the mediators' language.

People read the bot in their language (``locales/``); mediators read the desk in one language of
the team's choice (``MEDIATOR_LANGUAGE``). A text missing in that language falls back to English.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path

from bot.kb.problems import ProblemList
from bot.kb.yamlsrc import read_yaml

DESK_FOLDER = "desk"
SOURCE = "en"


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@dataclass(frozen=True)
class DeskText:
    lang: str
    strings: dict[str, str]
    english: dict[str, str] = field(repr=False)

    def __call__(self, key: str, **values: object) -> str:
        return (self.strings.get(key) or self.english[key]).format(**values)


def _read(path: Path, problems: ProblemList) -> dict[str, str] | None:
    doc = read_yaml(path, problems)
    if doc is None:
        return None
    if not isinstance(doc.data, dict):
        problems.error(path, 1, None, "the file must contain 'key: \"text\"' lines.")
        return None
    strings: dict[str, str] = {}
    for key, value in doc.data.items():
        if key == "_meta":
            continue
        if not isinstance(value, str) or not value.strip():
            problems.error(path, doc.line(key), str(key), "must be a text in double quotes.")
            continue
        strings[str(key)] = value
    return strings


def load_desk_text(locales_dir: Path, lang: str) -> tuple[DeskText | None, ProblemList]:
    """The desk texts in ``lang``; checked against English (same keys, same placeholders)."""
    problems = ProblemList()
    folder = locales_dir / DESK_FOLDER
    english = _read(folder / f"{SOURCE}.yaml", problems) if (folder / f"{SOURCE}.yaml").exists() else None
    if english is None:
        if not problems:
            problems.error(folder / f"{SOURCE}.yaml", None, None, "the mediator desk's English texts are missing.")
        return None, problems
    strings = english
    if lang != SOURCE:
        path = folder / f"{lang}.yaml"
        if not path.exists():
            problems.error(path, None, None, f"there are no desk texts in '{lang}' (MEDIATOR_LANGUAGE).")
            return None, problems
        strings = _read(path, problems) or {}
        for key, text in strings.items():
            if key not in english:
                problems.error(path, None, key, "not a desk text (no such key in en.yaml); check the spelling.")
            elif _placeholders(text) != _placeholders(english[key]):
                wanted = ", ".join(sorted("{" + p + "}" for p in _placeholders(english[key]))) or "none"
                problems.error(path, None, key, f"the placeholders must be the same as in English: {wanted}.")
        for key in english:
            if key not in strings:
                problems.warning(path, None, key, "missing; the English text is shown.")
    if problems.errors:
        return None, problems
    return DeskText(lang, strings, english), problems


def desk_languages(locales_dir: Path) -> list[str]:
    return sorted(p.stem for p in (locales_dir / DESK_FOLDER).glob("*.yaml"))
