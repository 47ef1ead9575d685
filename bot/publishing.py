"""Safe publishing of changes staged in the editors' studio.

An editor stages changes (today: a question from the unanswered inbox added as an example of an
entry, in its language). Publishing applies them all to a copy of the knowledge folder first and
refuses, with the reason, when

- the copy does not validate (the same loader as ``acasa kb check``), or
- the project's question sets would be answered worse in any language (each question is asked of
  the bot as it is and as it would be; the questions that change answer are shown either way).

Only then are the files written (same layout, comments kept: examples are appended as lines),
committed with the editor's name when the folder is a git repository, and every running bot
told to reload (the trigger file, and PostgreSQL's NOTIFY for instances on other machines).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import subprocess
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import insert, select, update

from bot.content import ContentService, request_reload
from bot.kb import KnowledgeBase, load_knowledge
from bot.matching import build_builtin
from bot.store import Store
from bot.store.notify import CONTENT_CHANNEL, notify
from bot.store.schema import content_changes
from nlu.evaluate import read_questions
from nlu.matcher import BuiltinMatcher, Outcome

MAX_EXAMPLE = 300  # characters; an example is a question as people write it, not a letter
# In-scope questions of the development sets a language may lose before publishing is refused:
# retraining can tip one borderline question either way; two are a trend.
ALLOWED_LOSS = 1


class PublishError(ValueError):
    """A change that cannot be staged (unknown entry, empty or overlong text)."""


@dataclass(frozen=True)
class Change:
    id: int
    kind: str
    entry_id: str
    language: str
    text: str
    actor_name: str
    created_at: dt.datetime


@dataclass
class PublishResult:
    published: bool
    reason: str | None = None
    changed_answers: list[tuple[str, str, str | None, str | None]] = field(
        default_factory=list
    )  # lang, text, before, after
    accuracy: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # lang → (questions, before, after)
    commit: str | None = None


def append_example(knowledge_dir: Path, entry_id: str, lang: str, text: str) -> None:
    """Add one example at the end of the entry's examples in ``lang`` (the list ends the file)."""
    path = knowledge_dir / "entries" / entry_id / f"{lang}.yaml"
    content = path.read_text(encoding="utf-8")
    if not content.endswith("\n"):
        content += "\n"
    path.write_text(content + f"  - {json.dumps(text, ensure_ascii=False)}\n", encoding="utf-8")


def _answers(matcher: BuiltinMatcher, questions: list) -> list[str | None]:
    found = []
    for question in questions:
        prediction = matcher.predict(question.text, question.lang)
        found.append(prediction.intent if prediction.outcome is Outcome.ANSWER else None)
    return found


def compare(old: BuiltinMatcher, new: BuiltinMatcher, questions: list) -> PublishResult:
    """How the question sets fare before and after: per language (questions, right before, right
    after), and every question whose answer changes."""
    before, after = _answers(old, questions), _answers(new, questions)
    result = PublishResult(published=False)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for question, b, a in zip(questions, before, after, strict=True):
        if question.kind != "question" or question.intent is None or question.lang is None:
            continue
        counts[question.lang][0] += 1
        counts[question.lang][1] += b == question.intent
        counts[question.lang][2] += a == question.intent
        if a != b:
            result.changed_answers.append((question.lang, question.text, b, a))
    result.accuracy = {lang: (n, b, a) for lang, (n, b, a) in sorted(counts.items())}
    return result


class Publisher:
    def __init__(self, store: Store, content: ContentService, question_sets: list[Path]):
        self.store = store
        self.content = content
        self.question_sets = question_sets
        self._lock = asyncio.Lock()  # one publication at a time in this instance

    @property
    def knowledge_dir(self) -> Path:
        return self.content.knowledge_dir

    async def stage_example(
        self, actor: str, actor_name: str, entry_id: str, lang: str, text: str, now: dt.datetime
    ) -> int:
        kb = self.content.current.kb
        text = " ".join(text.split())
        if entry_id not in kb.entries:
            raise PublishError(f"'{entry_id}' is not an entry")
        if lang not in kb.entries[entry_id].translations:
            raise PublishError(f"{entry_id} has no {lang} text to add an example to")
        if not text or len(text) > MAX_EXAMPLE:
            raise PublishError(f"an example has 1 to {MAX_EXAMPLE} characters")
        values = {
            "kind": "example",
            "entry_id": entry_id,
            "language": lang,
            "text": text,
            "actor": actor,
            "actor_name": actor_name,
            "created_at": now,
            "status": "pending",
        }

        async def work(conn) -> int:
            return (
                await conn.execute(insert(content_changes).values(**values).returning(content_changes.c.id))
            ).scalar_one()

        return await self.store.write(work)

    async def pending(self) -> list[Change]:
        query = select(content_changes).where(content_changes.c.status == "pending").order_by(content_changes.c.id)
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [Change(r.id, r.kind, r.entry_id, r.language, r.text, r.actor_name, r.created_at) for r in rows]

    async def history(self, limit: int = 50) -> list:
        query = (
            select(content_changes).where(content_changes.c.status != "pending").order_by(content_changes.c.id.desc())
        )
        async with self.store.engine.connect() as conn:
            return (await conn.execute(query.limit(limit))).all()

    async def publish(self, actor: str, actor_name: str, now: dt.datetime) -> PublishResult:
        async with self._lock:
            changes = await self.pending()
            if not changes:
                return PublishResult(published=False, reason="nothing to publish")
            result = await asyncio.to_thread(self._check, changes)
            if result.reason is None:
                for change in changes:
                    append_example(self.knowledge_dir, change.entry_id, change.language, change.text)
                result.commit = self._commit(changes, actor, actor_name)
                result.published = True
            if result.published:
                await self._published(changes, result, now)
                request_reload(self.knowledge_dir)
                await notify(self.store.engine, CONTENT_CHANNEL)  # replicas on other machines
                await asyncio.to_thread(self.content.reload)  # this one at once
            return result

    def _check(self, changes: list[Change]) -> PublishResult:
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / "knowledge"
            shutil.copytree(self.knowledge_dir, copy, ignore=shutil.ignore_patterns(".git"))
            for change in changes:
                append_example(copy, change.entry_id, change.language, change.text)
            new_kb, problems = load_knowledge(copy, style_checks=False)
            if new_kb is None:
                first = "; ".join(p.format(copy) for p in problems.errors[:3])
                return PublishResult(published=False, reason=f"the content would not validate: {first}")
            return self._gate(self.content.current.kb, new_kb)

    def _gate(self, old_kb: KnowledgeBase, new_kb: KnowledgeBase) -> PublishResult:
        questions = [q for path in self.question_sets if path.exists() for q in read_questions(path)]
        result = compare(build_builtin(old_kb), build_builtin(new_kb), questions)
        worse = [f"{lang} {b} → {a} of {n}" for lang, (n, b, a) in result.accuracy.items() if b - a > ALLOWED_LOSS]
        if worse:
            result.reason = "the question sets would be answered worse: " + ", ".join(worse)
        return result

    def _commit(self, changes: list[Change], actor: str, actor_name: str) -> str | None:
        """Commit the edited files with the editor's name, where the folder is kept in git."""
        folder = self.knowledge_dir

        def git(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=60, check=False
            )

        if git("rev-parse", "--is-inside-work-tree").returncode != 0:
            return None
        paths = sorted({str(folder / "entries" / c.entry_id / f"{c.language}.yaml") for c in changes})
        git("add", "--", *paths)
        message = f"Studio: {len(changes)} example question(s) added\n\n" + "\n".join(
            f"- {c.entry_id} ({c.language}): {c.text}" for c in changes
        )
        done = git(
            "-c", f"user.name={actor_name}", "-c", f"user.email={actor}@studio.acasa", "commit", "-q", "-m", message
        )
        if done.returncode != 0:
            return None
        return git("rev-parse", "--short", "HEAD").stdout.strip() or None

    async def _published(self, changes: list[Change], result: PublishResult, now: dt.datetime) -> None:
        """The history: which changes went live, when, and in which commit. (A refused publication
        leaves its changes pending, to be published once the reason is fixed, or withdrawn.)"""

        async def work(conn) -> None:
            await conn.execute(
                update(content_changes)
                .where(content_changes.c.id.in_([c.id for c in changes]))
                .values(status="published", decided_at=now, reason=result.commit)
            )

        await self.store.write(work)

    async def withdraw(self, change_id: int, now: dt.datetime) -> bool:
        async def work(conn) -> bool:
            done = await conn.execute(
                update(content_changes)
                .where(content_changes.c.id == change_id, content_changes.c.status == "pending")
                .values(status="withdrawn", decided_at=now)
            )
            return bool(done.rowcount)

        return await self.store.write(work)
