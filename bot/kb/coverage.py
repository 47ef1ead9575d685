"""The coverage matrix editors read after ``acasa kb check``: entries x languages."""

from __future__ import annotations

import datetime as dt

from bot.kb.loader import STALE_AFTER
from bot.kb.model import Entry, KnowledgeBase
from nlu.languages import LANGUAGES

MARK_REVIEWED = "R"
MARK_UNREVIEWED = "u"
MARK_MISSING = "-"
MARK_OUTDATED = "e"  # needs editing: the source text changed after the translation was made


# The state of one language of one entry, as editors and translators speak of it.
ORIGINAL = "original"  # the text the others are translated from
APPROVED = "approved"  # reviewed by a native speaker, and following the current original
MACHINE = "machine"  # machine-drafted, waiting for review
OUTDATED = "outdated"  # needs editing: the original changed after it was made
MISSING = "missing"  # people get the English (or another fallback) text


def translation_state(entry: Entry, lang: str) -> str:
    text = entry.translations.get(lang)
    if text is None:
        return MISSING
    if lang == entry.written_in:
        return ORIGINAL
    if text.outdated:
        return OUTDATED
    return APPROVED if text.reviewed else MACHINE


def coverage_matrix(kb: KnowledgeBase, today: dt.date | None = None) -> str:
    today = today or dt.date.today()
    width = max([len(e) for e in kb.entries] + [5])
    width = max(width, len("contact names missing"))
    header = f"{'entry':<{width}}  " + " ".join(f"{lang:>2}" for lang in LANGUAGES) + "  examples  checked  doubts"
    lines = [header, "-" * len(header)]
    unreviewed = dict.fromkeys(LANGUAGES, 0)
    reviewed = dict.fromkeys(LANGUAGES, 0)
    missing = dict.fromkeys(LANGUAGES, 0)
    outdated = dict.fromkeys(LANGUAGES, 0)
    stale_in = dict.fromkeys(LANGUAGES, 0)
    doubtful_in = dict.fromkeys(LANGUAGES, 0)
    stale: list[str] = []
    for eid in sorted(kb.entries):
        entry = kb.entries[eid]
        marks = []
        for lang in LANGUAGES:
            text = entry.translations.get(lang)
            if text is None:
                missing[lang] += 1
                marks.append(MARK_MISSING)
            elif text.outdated:
                outdated[lang] += 1
                marks.append(MARK_OUTDATED)
            elif text.reviewed:
                reviewed[lang] += 1
                marks.append(MARK_REVIEWED)
            else:
                unreviewed[lang] += 1
                marks.append(MARK_UNREVIEWED)
        examples = sum(len(t.examples) for t in entry.translations.values())
        is_stale = today - entry.last_verified > STALE_AFTER
        if is_stale:
            stale.append(eid)
        for lang in entry.translations:
            stale_in[lang] += is_stale
            doubtful_in[lang] += bool(entry.doubts)
        lines.append(
            f"{eid:<{width}}  "
            + " ".join(f"{m:>2}" for m in marks)
            + f"  {examples:>8}  {entry.last_verified.isoformat()}{' OLD' if is_stale else '    '}"
            + f"  {len(entry.doubts):>6}"
        )
    lines.append("-" * len(header))
    lines.append(f"{'reviewed':<{width}}  " + " ".join(f"{reviewed[lang]:>2}" for lang in LANGUAGES))
    lines.append(f"{'unreviewed':<{width}}  " + " ".join(f"{unreviewed[lang]:>2}" for lang in LANGUAGES))
    lines.append(f"{'missing':<{width}}  " + " ".join(f"{missing[lang]:>2}" for lang in LANGUAGES))
    lines.append(f"{'needs editing':<{width}}  " + " ".join(f"{outdated[lang]:>2}" for lang in LANGUAGES))
    lines.append(f"{'stale (> 6 months)':<{width}}  " + " ".join(f"{stale_in[lang]:>2}" for lang in LANGUAGES))
    lines.append(f"{'with doubts':<{width}}  " + " ".join(f"{doubtful_in[lang]:>2}" for lang in LANGUAGES))
    contacts = list(kb.contacts.values())
    no_note = {lang: sum(lang not in c.notes for c in contacts) for lang in LANGUAGES}
    no_name = {lang: sum(lang not in ("ro", "en") and lang not in c.names for c in contacts) for lang in LANGUAGES}
    lines.append(f"{'contact notes missing':<{width}}  " + " ".join(f"{no_note[lang]:>2}" for lang in LANGUAGES))
    lines.append(f"{'contact names missing':<{width}}  " + " ".join(f"{no_name[lang]:>2}" for lang in LANGUAGES))
    lines.append("")
    lines.append(
        f"{MARK_REVIEWED} = reviewed by a native speaker, {MARK_UNREVIEWED} = unreviewed (machine-drafted), "
        f"{MARK_OUTDATED} = needs editing (the original changed since: 'acasa kb outdated'), "
        f"{MARK_MISSING} = missing (English is shown instead); doubts = claims no source confirmed (see entry.yaml)"
    )
    lines.append(
        f"{len(kb.entries)} entries, {len(kb.contacts)} contacts, "
        f"{sum(len(v) for v in kb.out_of_scope.values())} out-of-scope examples, "
        f"{sum(len(v) for v in kb.statements.values())} conversation statements."
    )
    if stale:
        lines.append(f"Facts older than 6 months ({len(stale)}): {', '.join(stale)}")
    else:
        lines.append("Facts older than 6 months: none")
    return "\n".join(lines)
