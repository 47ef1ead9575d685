"""The coverage matrix editors read after ``acasa kb check``: entries x languages."""

from __future__ import annotations

import datetime as dt

from bot.kb.loader import STALE_AFTER
from bot.kb.model import KnowledgeBase
from nlu.languages import LANGUAGES

MARK_REVIEWED = "R"
MARK_UNREVIEWED = "u"
MARK_MISSING = "-"


def coverage_matrix(kb: KnowledgeBase, today: dt.date | None = None) -> str:
    today = today or dt.date.today()
    width = max([len(e) for e in kb.entries] + [5])
    header = f"{'entry':<{width}}  " + " ".join(f"{lang:>2}" for lang in LANGUAGES) + "  examples  checked"
    lines = [header, "-" * len(header)]
    unreviewed = dict.fromkeys(LANGUAGES, 0)
    reviewed = dict.fromkeys(LANGUAGES, 0)
    missing = dict.fromkeys(LANGUAGES, 0)
    stale: list[str] = []
    for eid in sorted(kb.entries):
        entry = kb.entries[eid]
        marks = []
        for lang in LANGUAGES:
            text = entry.translations.get(lang)
            if text is None:
                missing[lang] += 1
                marks.append(MARK_MISSING)
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
        lines.append(
            f"{eid:<{width}}  "
            + " ".join(f"{m:>2}" for m in marks)
            + f"  {examples:>8}  {entry.last_verified.isoformat()}{' OLD' if is_stale else ''}"
        )
    lines.append("-" * len(header))
    lines.append(f"{'reviewed':<{width}}  " + " ".join(f"{reviewed[lang]:>2}" for lang in LANGUAGES))
    lines.append(f"{'unreviewed':<{width}}  " + " ".join(f"{unreviewed[lang]:>2}" for lang in LANGUAGES))
    lines.append(f"{'missing':<{width}}  " + " ".join(f"{missing[lang]:>2}" for lang in LANGUAGES))
    lines.append("")
    lines.append(
        f"{MARK_REVIEWED} = reviewed by a native speaker, {MARK_UNREVIEWED} = unreviewed (machine-drafted), "
        f"{MARK_MISSING} = missing (English is shown instead)"
    )
    lines.append(
        f"{len(kb.entries)} entries, {len(kb.contacts)} contacts, "
        f"{sum(len(v) for v in kb.out_of_scope.values())} out-of-scope examples."
    )
    if stale:
        lines.append(f"Facts older than 6 months ({len(stale)}): {', '.join(stale)}")
    else:
        lines.append("Facts older than 6 months: none")
    return "\n".join(lines)
