"""``acasa kb outdated`` and ``acasa kb stamp``: translations that fell behind their source text."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot import paths
from bot.kb import KnowledgeBase
from bot.kb.versions import source_at, source_diff, source_version, stamp
from nlu.languages import LANGUAGES


def _current(kb: KnowledgeBase, eid: str) -> tuple[str, str]:
    """(version, text) of an entry's source text now."""
    entry = kb.entries[eid]
    source = entry.translations[entry.written_in]
    return source_version(source.title, source.answer), f"{source.title.strip()}\n{source.answer.strip()}"


@dataclass(frozen=True)
class Outdated:
    """Translations of one entry made from one older version of its original."""

    entry_id: str
    languages: tuple[str, ...]
    version: str
    diff: str | None  # what changed since, when the folder's git history holds that version


def outdated_items(kb: KnowledgeBase, kb_dir: Path, langs: list[str] | None = None) -> list[Outdated]:
    found: list[Outdated] = []
    for eid in sorted(kb.entries):
        entry = kb.entries[eid]
        stale = [t for lang, t in sorted(entry.translations.items()) if t.outdated and (not langs or lang in langs)]
        if not stale:
            continue
        _, now = _current(kb, eid)
        source_file = kb_dir / "entries" / eid / f"{entry.written_in}.yaml"
        for version in dict.fromkeys(t.made_from for t in stale if t.made_from):
            before = source_at(source_file, version)
            label = f"entries/{eid}/{entry.written_in}.yaml"
            diff = source_diff(before, now, label) if before is not None else None
            found.append(Outdated(eid, tuple(t.lang for t in stale if t.made_from == version), version, diff))
    return found


def outdated(kb: KnowledgeBase, kb_dir: Path, langs: list[str] | None) -> str:
    """Every translation made from an older source text, with what changed where git remembers it."""
    lines: list[str] = []
    items = outdated_items(kb, kb_dir, langs)
    for eid in dict.fromkeys(item.entry_id for item in items):
        mine = [item for item in items if item.entry_id == eid]
        languages = sorted(lang for item in mine for lang in item.languages)
        lines.append(f"{eid}: {', '.join(languages)} need editing ({kb.entries[eid].written_in} text changed)")
        for item in mine:
            if item.diff is None:
                lines.append(f"  (the version {item.version} is not in the folder's git history: compare by hand)")
            else:
                lines.append(f"  what changed since the {', '.join(item.languages)} translation(s):")
                lines.extend("    " + line for line in item.diff.splitlines())
    count = sum(len(item.languages) for item in items)
    lines.append(f"{count} translation(s) need editing." if count else "Every translation follows its source text.")
    return "\n".join(lines)


def stamp_translations(
    kb: KnowledgeBase, kb_dir: Path, entries: list[str], langs: list[str], only_missing: bool
) -> list[str]:
    """Record the current source version in translation files; the files changed."""
    changed: list[str] = []
    for eid in entries or sorted(kb.entries):
        if eid not in kb.entries:
            raise ValueError(f"'{eid}' is not an entry")
        entry = kb.entries[eid]
        version, _ = _current(kb, eid)
        for lang, text in sorted(entry.translations.items()):
            if lang == entry.written_in or (langs and lang not in langs):
                continue
            if only_missing and text.made_from is not None:
                continue
            path = kb_dir / "entries" / eid / f"{lang}.yaml"
            if stamp(path, version):
                changed.append(f"entries/{eid}/{lang}.yaml")
    return changed


def add_parsers(kb: argparse._SubParsersAction, run: Callable[[argparse.Namespace], int]) -> None:  # type: ignore[type-arg]
    show = kb.add_parser("outdated", help="translations made from an older source text, with what changed")
    show.add_argument("--kb", type=Path)
    show.add_argument("--lang", action="append", choices=LANGUAGES, help="only these languages")
    show.set_defaults(func=run, translations_func="outdated")
    mark = kb.add_parser(
        "stamp", help="record that translations now follow the current source text (after updating them)"
    )
    mark.add_argument("--kb", type=Path)
    mark.add_argument("--entry", action="append", default=[], help="entry id (repeatable; default: every entry)")
    mark.add_argument("--lang", action="append", default=[], choices=LANGUAGES, help="language (repeatable)")
    mark.add_argument(
        "--missing", action="store_true", help="only translations that record no version yet (first adoption)"
    )
    mark.set_defaults(func=run, translations_func="stamp")


def default_dir(args: argparse.Namespace) -> Path:
    return Path(args.kb or paths.knowledge_dir())
