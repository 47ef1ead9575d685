"""User-interface strings in every language, with plurals, right-to-left marks and fallback.

A missing string falls back to English and says so in the log, so a half-translated locale still
works and the gap is visible; ``acasa kb check`` lists the same gaps.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot import plurals
from bot.kb.problems import ProblemList
from bot.kb.yamlsrc import read_yaml
from nlu.languages import ENGLISH_NAMES, LANGUAGES, RIGHT_TO_LEFT
from nlu.normalize import normalize

log = logging.getLogger(__name__)

SOURCE_LANGUAGE = "en"
RLM = "\u200f"  # right-to-left mark: keeps "112" or a URL at the start of a line in RTL order
_FORMATTER = string.Formatter()

Value = str | Mapping[str, str] | list[str]


def placeholders(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in _FORMATTER.parse(text) if name is not None}
    except ValueError:
        return {"<unbalanced braces>"}


@dataclass(frozen=True)
class LocaleFile:
    lang: str
    name: str
    direction: str
    reviewed: bool
    strings: Mapping[str, Value]


class Locales:
    def __init__(self, files: Mapping[str, LocaleFile]):
        if SOURCE_LANGUAGE not in files:
            raise ValueError("the English locale is required")
        self._files = dict(files)
        self._reported: set[tuple[str, str]] = set()
        self._keyword_cache: dict[tuple[str, str], frozenset[str]] = {}

    @property
    def languages(self) -> list[str]:
        return [lang for lang in LANGUAGES if lang in self._files]

    def native_name(self, lang: str) -> str:
        file = self._files.get(lang)
        return file.name if file else ENGLISH_NAMES.get(lang, lang)

    def is_rtl(self, lang: str) -> bool:
        file = self._files.get(lang)
        return file.direction == "rtl" if file else lang in RIGHT_TO_LEFT

    def has(self, key: str) -> bool:
        """Whether the string ``key`` exists (in English, and so in every language)."""
        return key in self._files[SOURCE_LANGUAGE].strings

    def _raw(self, lang: str, key: str) -> tuple[str, Value]:
        file = self._files.get(lang)
        if file and key in file.strings:
            return lang, file.strings[key]
        if (lang, key) not in self._reported:
            self._reported.add((lang, key))
            log.warning("locale %s has no string %r; using English", lang, key)
        english = self._files[SOURCE_LANGUAGE].strings
        if key not in english:
            raise KeyError(f"no UI string {key!r} in any locale")
        return SOURCE_LANGUAGE, english[key]

    def text(self, lang: str, key: str, *, count: int | None = None, **values: object) -> str:
        """The string ``key`` in ``lang`` with placeholders filled; RTL lines get a direction mark."""
        used, raw = self._raw(lang, key)
        if isinstance(raw, Mapping):
            if count is None:
                raise TypeError(f"UI string {key!r} is plural: pass count=")
            form = raw.get(plurals.category(used, count)) or raw["other"]
            values["count"] = count
        elif isinstance(raw, list):
            raise TypeError(f"UI string {key!r} is a keyword list; use keywords()")
        else:
            form = raw
        result = form.format(**values)
        return self.directional(used, result)

    def directional(self, lang: str, text: str) -> str:
        if not self.is_rtl(lang):
            return text
        return "\n".join(RLM + line if line and not line.startswith(RLM) else line for line in text.split("\n"))

    def normalized_keywords(self, lang: str, key: str) -> frozenset[str]:
        """``keywords`` normalised for matching, computed once per language and key."""
        cache_key = (lang, key)
        found = self._keyword_cache.get(cache_key)
        if found is None:
            found = frozenset(normalize(word) for word in self.keywords(lang, key))
            self._keyword_cache[cache_key] = found
        return found

    def keywords(self, lang: str, key: str) -> list[str]:
        """Words that trigger a command in ``lang`` (and always the English ones)."""
        words: list[str] = []
        for code in dict.fromkeys((lang, SOURCE_LANGUAGE)):
            file = self._files.get(code)
            value = file.strings.get(key) if file else None
            if isinstance(value, list):
                words.extend(value)
        return words


def load_locales(folder: Path | str) -> tuple[Locales | None, ProblemList]:
    """Load every locale file; problems say what an editor must fix. None if there are errors."""
    folder = Path(folder)
    problems = ProblemList()
    files: dict[str, LocaleFile] = {}
    for lang in LANGUAGES:
        path = folder / f"{lang}.yaml"
        if not path.exists():
            (problems.error if lang == SOURCE_LANGUAGE else problems.warning)(
                path, None, None, f"there are no interface texts in {ENGLISH_NAMES[lang]}; English is used instead."
            )
            continue
        doc = read_yaml(path, problems)
        if doc is None:
            continue
        if not isinstance(doc.data, dict):
            problems.error(path, 1, None, "the file must contain 'key: \"text\"' lines.")
            continue
        meta = doc.data.get("_meta") or {}
        strings = {k: v for k, v in doc.data.items() if k != "_meta"}
        direction = meta.get("direction", "ltr") if isinstance(meta, dict) else "ltr"
        expected_direction = "rtl" if lang in RIGHT_TO_LEFT else "ltr"
        if direction != expected_direction:
            problems.error(
                path,
                doc.line("_meta", "direction"),
                "_meta.direction",
                f"{ENGLISH_NAMES[lang]} is written {expected_direction}; set 'direction: {expected_direction}'.",
            )
        name = meta.get("name") if isinstance(meta, dict) else None
        if not isinstance(name, str) or not name:
            problems.error(path, doc.line("_meta"), "_meta.name", "the language's own name is missing.")
            name = ENGLISH_NAMES[lang]
        reviewed = isinstance(meta, dict) and meta.get("review") == "reviewed"
        files[lang] = LocaleFile(lang, name, direction, reviewed, strings)
        _check_values(path, doc, lang, strings, problems)
    english = files.get(SOURCE_LANGUAGE)
    if english:
        for lang, file in files.items():
            if lang != SOURCE_LANGUAGE:
                _compare(folder / f"{lang}.yaml", lang, english, file, problems)
    if problems.errors or english is None:
        return None, problems
    return Locales(files), problems


def _check_values(path: Path, doc, lang: str, strings: Mapping[str, Value], problems: ProblemList) -> None:
    for key, value in strings.items():
        line = doc.line(key)
        if isinstance(value, str):
            if placeholders(value) == {"<unbalanced braces>"}:
                problems.error(path, line, key, "a '{' or '}' is unbalanced; placeholders look like {name}.")
        elif isinstance(value, dict):
            expected = plurals.CATEGORIES[lang]
            got = set(value)
            if got != expected:
                missing = ", ".join(sorted(expected - got)) or "none"
                extra = ", ".join(sorted(got - expected)) or "none"
                problems.error(
                    path,
                    line,
                    key,
                    f"{ENGLISH_NAMES[lang]} needs exactly the plural forms {', '.join(sorted(expected))} "
                    f"(missing: {missing}; not used: {extra}).",
                )
            for form, text in value.items():
                if not isinstance(text, str):
                    problems.error(path, doc.line(key, form), f"{key}.{form}", "must be text in quotes.")
                elif "{count}" not in text:
                    problems.error(
                        path, doc.line(key, form), f"{key}.{form}", "the number placeholder {count} is missing."
                    )
        elif isinstance(value, list):
            if not value or not all(isinstance(v, str) and v.strip() for v in value):
                problems.error(path, line, key, "must be a list of words in quotes.")
        else:
            problems.error(path, line, key, "must be text in double quotes.")


def _compare(path: Path, lang: str, english: LocaleFile, other: LocaleFile, problems: ProblemList) -> None:
    for key, source in english.strings.items():
        if key not in other.strings:
            problems.warning(path, None, key, f"not translated yet; people see the English text: {_preview(source)}")
            continue
        value = other.strings[key]
        if type(value) is not type(source):
            problems.error(path, None, key, "has a different shape than in en.yaml (text, plural forms or word list).")
            continue
        if isinstance(source, str) and isinstance(value, str):
            want, got = placeholders(source), placeholders(value)
            if want != got:
                problems.error(
                    path,
                    None,
                    key,
                    f"the placeholders must be {sorted(want) or 'none'} exactly as in English, "
                    f"but here they are {sorted(got) or 'none'}.",
                )
        if isinstance(source, dict) and isinstance(value, dict):
            want = placeholders(source.get("other", ""))
            for form, text in value.items():
                if isinstance(text, str) and placeholders(text) != want:
                    problems.error(
                        path, None, f"{key}.{form}", f"the placeholders must be {sorted(want)} exactly as in English."
                    )
    for key in other.strings:
        if key not in english.strings:
            problems.error(path, None, key, "is not in en.yaml; remove it or add it to English first.")


def _preview(value: Value) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
