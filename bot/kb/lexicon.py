"""Phrase lists that editors keep in ``knowledge/nlu/`` (crisis words, small talk): the YAML shape
``<language>: <category>: [phrases]``, read with line numbers and clear errors."""

from __future__ import annotations

from pathlib import Path

from bot.kb.problems import ProblemList
from bot.kb.yamlsrc import read_yaml
from nlu.languages import ENGLISH_NAMES


def read_lexicon(
    path: Path, categories: tuple[str, ...], what: str
) -> tuple[dict[str, list[tuple[str, str]]] | None, ProblemList]:
    """Category → [(language, phrase)]; None (with the errors) if the file is missing or broken.
    ``what`` names the file's job in error messages ("the crisis lexicon")."""
    problems = ProblemList()
    doc = read_yaml(path, problems) if path.exists() else None
    if doc is None:
        if not problems:
            problems.error(path, None, None, f"{what} is missing.")
        return None, problems
    if not isinstance(doc.data, dict):
        problems.error(
            path, 1, None, f"list phrases under a language code and a category, e.g. 'en: {categories[0]}: [...]'."
        )
        return None, problems
    phrases: dict[str, list[tuple[str, str]]] = {c: [] for c in categories}
    for lang, by_category in doc.data.items():
        if lang == "categories":
            continue
        if lang not in ENGLISH_NAMES:
            problems.error(path, doc.line(lang), str(lang), f"'{lang}' is not a language code the bot knows.")
            continue
        if not isinstance(by_category, dict):
            problems.error(path, doc.line(lang), lang, f"must list categories ({', '.join(categories)}).")
            continue
        for category, items in by_category.items():
            if category not in categories:
                problems.error(
                    path,
                    doc.line(lang, category),
                    f"{lang}.{category}",
                    f"'{category}' is not a category; use one of {', '.join(categories)}.",
                )
            elif not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
                problems.error(path, doc.line(lang, category), f"{lang}.{category}", "must be a list of phrases.")
            else:
                phrases[category].extend((lang, item) for item in items)
    if problems.errors:
        return None, problems
    return phrases, problems
