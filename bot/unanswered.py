"""The editors' inbox of what the bot could not answer well, grouped so a hundred ways of asking one
thing read as one line.

Three kinds of questions are kept (for ``RETENTION_DAYS``, without who asked, and deleted by
"forget"): ``none`` (no answer), ``suggest`` (only a did-you-mean was offered) and ``unhelpful``
(the person pressed 👎 on the answer to it). Within each language, questions whose words mostly
agree form a group; each group shows how often it was asked, whether that is rising, a few of
its questions and the entries the matcher finds nearest — the usual candidates for "add this as
an example to entry X".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rapidfuzz import fuzz
from sqlalchemy import delete, select

from bot.store.schema import unanswered
from nlu.normalize import normalize

if TYPE_CHECKING:
    from bot.store import Store

SIMILAR = 72  # token-set similarity (0-100) at which two questions count as one question
SHOWN_QUESTIONS = 3
NEAREST_SHOWN = 2
KINDS = ("none", "suggest", "unhelpful")


@dataclass(frozen=True)
class Question:
    language: str
    text: str
    kind: str  # one of KINDS
    at: dt.datetime
    entry_id: str | None = None  # the answer that was not helpful, for "unhelpful"


@dataclass
class Group:
    language: str
    questions: list[Question] = field(default_factory=list)
    nearest: list[tuple[str, float]] = field(default_factory=list)  # (entry id, probability)
    _key: str = ""

    @property
    def count(self) -> int:
        return len(self.questions)

    def kinds(self) -> dict[str, int]:
        return {k: n for k in KINDS if (n := sum(q.kind == k for q in self.questions))}

    def trend(self, now: dt.datetime, days: int = 7) -> tuple[int, int]:
        """Questions in the last ``days`` and in the ``days`` before them."""
        recent = sum(now - q.at <= dt.timedelta(days=days) for q in self.questions)
        earlier = sum(dt.timedelta(days=days) < now - q.at <= dt.timedelta(days=2 * days) for q in self.questions)
        return recent, earlier

    def unhelpful_answers(self) -> list[str]:
        """The entries whose answers to these questions got 👎."""
        return sorted({q.entry_id for q in self.questions if q.entry_id})

    def texts(self) -> list[str]:
        """Every distinct question of the group."""
        return list(dict.fromkeys(q.text for q in self.questions))

    def examples(self) -> list[str]:
        """The group's most recent distinct questions."""
        seen: list[str] = []
        for question in sorted(self.questions, key=lambda q: q.at, reverse=True):
            if question.text not in seen:
                seen.append(question.text)
            if len(seen) == SHOWN_QUESTIONS:
                break
        return seen


def nearest_entries(
    scores: Callable[[str], dict[str, float]] | None, entries: Collection[str]
) -> Callable[[str], list[tuple[str, float]]]:
    """The entries a matcher's scores (``intent_scores``) put nearest to a text, most probable first;
    no scores (a matcher without them) gives none."""

    def nearest(text: str) -> list[tuple[str, float]]:
        if scores is None:
            return []
        return sorted(((e, p) for e, p in scores(text).items() if e in entries), key=lambda item: -item[1])

    return nearest


async def load_questions(store: Store, since: dt.datetime, languages: Sequence[str] = ()) -> list[Question]:
    """The kept questions since ``since`` (never who asked them)."""
    query = select(
        unanswered.c.language, unanswered.c.text, unanswered.c.kind, unanswered.c.created_at, unanswered.c.entry_id
    ).where(unanswered.c.created_at >= since)
    if languages:
        query = query.where(unanswered.c.language.in_(list(languages)))
    async with store.engine.connect() as conn:
        rows = (await conn.execute(query.order_by(unanswered.c.id))).all()
    return [Question(r.language, r.text, r.kind, _aware(r.created_at), r.entry_id) for r in rows]


async def dismiss(store: Store, language: str, texts: Sequence[str]) -> int:
    """Take a handled group's questions out of the inbox (they are deleted: nothing else needs them)."""
    if not texts:
        return 0

    async def work(conn) -> int:
        done = await conn.execute(
            delete(unanswered).where(unanswered.c.language == language, unanswered.c.text.in_(list(texts)))
        )
        return int(done.rowcount or 0)

    return await store.write(work)


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)  # SQLite returns naive UTC


def group_questions(
    questions: Sequence[Question], nearest: Callable[[str], list[tuple[str, float]]] | None = None
) -> list[Group]:
    """Groups of similar questions per language, most asked first. ``nearest`` gives the entries a
    matcher finds closest to a text (asked once per group, for its most recent question)."""
    groups: dict[str, list[Group]] = {}
    for question in sorted(questions, key=lambda q: q.at):
        key = normalize(question.text)
        same_language = groups.setdefault(question.language, [])
        best, score = None, 0.0
        for group in same_language:
            similarity = fuzz.token_set_ratio(key, group._key)
            if similarity > score:
                best, score = group, similarity
        if best is not None and score >= SIMILAR:
            best.questions.append(question)
        else:
            same_language.append(Group(question.language, [question], _key=key))
    found = [g for per_language in groups.values() for g in per_language]
    found.sort(key=lambda g: (-g.count, g.language, g._key))
    if nearest is not None:
        for group in found:
            group.nearest = nearest(group.examples()[0])[:NEAREST_SHOWN]
    return found


def as_json(groups: Sequence[Group], now: dt.datetime) -> list[dict[str, object]]:
    rows = []
    for group in groups:
        recent, earlier = group.trend(now)
        rows.append(
            {
                "language": group.language,
                "count": group.count,
                "kinds": group.kinds(),
                "last_7_days": recent,
                "previous_7_days": earlier,
                "questions": group.examples(),
                "nearest_entries": [{"entry": e, "probability": round(p, 3)} for e, p in group.nearest],
                "unhelpful_answers": group.unhelpful_answers(),
            }
        )
    return rows


def as_text(groups: Sequence[Group], now: dt.datetime) -> str:
    if not groups:
        return "Nothing unanswered in this period."
    lines = []
    for group in groups:
        recent, earlier = group.trend(now)
        arrow = "↑" if recent > earlier else "↓" if recent < earlier else "="
        kinds = ", ".join(f"{n} {k}" for k, n in group.kinds().items())
        lines.append(f"[{group.language}] {group.count}× ({kinds}; last 7 days {recent} {arrow} {earlier})")
        lines.extend(f"    “{text}”" for text in group.examples())
        if group.nearest:
            lines.append("    nearest: " + ", ".join(f"{e} ({p:.2f})" for e, p in group.nearest))
        unhelpful = group.unhelpful_answers()
        if unhelpful:
            lines.append("    👎 on: " + ", ".join(unhelpful))
    total = sum(g.count for g in groups)
    lines.append(f"{total} question(s) in {len(groups)} group(s).")
    return "\n".join(lines)
