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

import yaml
from sqlalchemy import insert, select, update

from bot.content import ContentService, request_reload
from bot.kb import KnowledgeBase, load_knowledge
from bot.kb.edit import add_out_of_scope, answer_line, set_review, write_text
from bot.kb.loader import check_text_file
from bot.kb.problems import Severity
from bot.kb.versions import source_version, stamp
from bot.matching import build_builtin
from bot.store import Store
from bot.store.notify import CONTENT_CHANNEL, notify
from bot.store.schema import content_changes
from nlu.evaluate import read_questions
from nlu.matcher import BuiltinMatcher, Outcome

CLAIM_EXPIRES = dt.timedelta(minutes=10)  # a publication claimed by a process that died is free again
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


def apply_change(knowledge_dir: Path, change: Change, at: dt.date) -> None:
    """Write one staged change into a knowledge folder (the real one, or the copy that is checked)."""
    path = knowledge_dir / "entries" / change.entry_id / f"{change.language}.yaml"
    if change.kind == "example":
        append_example(knowledge_dir, change.entry_id, change.language, change.text)
        return
    if change.kind == "out_of_scope":  # a question the bot must answer with "not something I cover"
        add_out_of_scope(knowledge_dir / "nlu" / "out_of_scope.yaml", change.language, change.text)
        return
    entry_file = knowledge_dir / "entries" / change.entry_id / "entry.yaml"
    written_in = _written_in(entry_file)
    if change.kind == "text":
        text = json.loads(change.text)
        write_text(path, text["title"], text["answer"], text.get("examples"), text.get("short_title"))
        if change.language != written_in:  # a translation brought up to date: it follows the original now
            set_review(path, None, None)
            stamp(path, _original_version(knowledge_dir, change.entry_id, written_in))
    elif change.kind == "approve":
        set_review(path, change.actor_name, at)
        stamp(path, _original_version(knowledge_dir, change.entry_id, written_in))


@dataclass(frozen=True)
class FieldProblem:
    field: str  # title, answer, examples, ... or "file"
    message: str  # plain words; for the answer, with the line of the answer it is on
    error: bool  # False: a warning, which does not stop the change


def text_problems(
    knowledge_dir: Path,
    entry_id: str,
    lang: str,
    title: str,
    answer: str,
    examples: list[str] | None,
    today: dt.date,
    short_title: str | None = None,
) -> list[FieldProblem]:
    """What ``acasa kb check`` would say about this text file with a new title and answer: the file
    is written to a scratch folder as publishing would write it, and read by the same loader."""
    current = knowledge_dir / "entries" / entry_id / f"{lang}.yaml"
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "entries" / entry_id / f"{lang}.yaml"
        path.parent.mkdir(parents=True)
        if current.exists():
            shutil.copyfile(current, path)
        write_text(path, title, answer, examples, short_title)
        first = answer_line(path)
        found = []
        for problem in check_text_file(path, lang, today):
            message = problem.message
            if problem.field == "answer" and problem.line is not None and problem.line >= first:
                message = f"line {problem.line - first + 1}: {message}"
            found.append(FieldProblem(problem.field or "file", message, problem.severity is Severity.ERROR))
        return found


def _written_in(entry_file: Path) -> str:
    data = yaml.safe_load(entry_file.read_text(encoding="utf-8")) or {}
    return str(data.get("written_in") or "en")


def _original_version(knowledge_dir: Path, entry_id: str, written_in: str) -> str:
    data = yaml.safe_load((knowledge_dir / "entries" / entry_id / f"{written_in}.yaml").read_text(encoding="utf-8"))
    return source_version(str(data.get("title") or "").strip(), str(data.get("answer") or "").strip())


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


def refusal(result: PublishResult) -> str | None:
    """Why a publication must not go out: a language losing more than ``ALLOWED_LOSS`` questions."""
    worse = [f"{lang} {b} → {a} of {n}" for lang, (n, b, a) in result.accuracy.items() if b - a > ALLOWED_LOSS]
    return "the question sets would be answered worse: " + ", ".join(worse) if worse else None


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
        return await self._stage("example", actor, actor_name, entry_id, lang, text, now)

    async def stage_out_of_scope(self, actor: str, actor_name: str, lang: str, text: str, now: dt.datetime) -> int:
        text = " ".join(text.split())
        if not text or len(text) > MAX_EXAMPLE:
            raise PublishError(f"a question has 1 to {MAX_EXAMPLE} characters")
        return await self._stage("out_of_scope", actor, actor_name, "-", lang, text, now)

    async def want_entry(self, actor: str, actor_name: str, lang: str, text: str, now: dt.datetime) -> int:
        """Note that people ask for something no entry covers (a list for the next content round)."""
        text = " ".join(text.split())[:MAX_EXAMPLE]
        if not text:
            raise PublishError("a question is needed")
        return await self._stage("wanted", actor, actor_name, "-", lang, text, now, status="wanted")

    async def wanted(self) -> list:
        query = select(content_changes).where(content_changes.c.status == "wanted").order_by(content_changes.c.id)
        async with self.store.engine.connect() as conn:
            return (await conn.execute(query)).all()

    async def stage_text(
        self,
        actor: str,
        actor_name: str,
        entry_id: str,
        lang: str,
        title: str,
        answer: str,
        now: dt.datetime,
        examples: list[str] | None = None,
        short_title: str | None = None,
    ) -> int:
        """A new title and answer (and examples, for a new language) for one language; refused at
        once with what ``kb check`` would say about the file."""
        kb = self.content.current.kb
        if entry_id not in kb.entries:
            raise PublishError(f"'{entry_id}' is not an entry")
        answer = answer.replace("\r\n", "\n").strip()
        found = text_problems(self.knowledge_dir, entry_id, lang, title, answer, examples, now.date(), short_title)
        errors = [p for p in found if p.error]
        if errors:
            raise PublishError("; ".join(f"{p.field}: {p.message}" for p in errors))
        text = {"title": title.strip(), "answer": answer}
        if examples is not None:
            text["examples"] = [e.strip() for e in examples if e.strip()]
        if short_title is not None:
            text["short_title"] = short_title.strip()
        body = json.dumps(text, ensure_ascii=False)
        return await self._stage("text", actor, actor_name, entry_id, lang, body, now)

    async def stage_approval(self, actor: str, actor_name: str, entry_id: str, lang: str, now: dt.datetime) -> int:
        entry = self.content.current.kb.entries.get(entry_id)
        if entry is None or lang not in entry.translations or lang == entry.written_in:
            raise PublishError("only an existing translation can be approved")
        return await self._stage("approve", actor, actor_name, entry_id, lang, "", now)

    async def _stage(
        self,
        kind: str,
        actor: str,
        actor_name: str,
        entry_id: str,
        lang: str,
        text: str,
        now: dt.datetime,
        *,
        status: str = "pending",
    ) -> int:
        values = {
            "kind": kind,
            "entry_id": entry_id,
            "language": lang,
            "text": text,
            "actor": actor,
            "actor_name": actor_name,
            "created_at": now,
            "status": status,
        }

        async def work(conn) -> int:
            statement = insert(content_changes).values(**values).returning(content_changes.c.id)
            return (await conn.execute(statement)).scalar_one()

        return await self.store.write(work)

    async def pending(self) -> list[Change]:
        query = select(content_changes).where(content_changes.c.status == "pending").order_by(content_changes.c.id)
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [Change(r.id, r.kind, r.entry_id, r.language, r.text, r.actor_name, r.created_at) for r in rows]

    async def history(self, limit: int = 50) -> list:
        query = (
            select(content_changes)
            .where(content_changes.c.status.not_in(("pending", "wanted", "publishing")))
            .order_by(content_changes.c.id.desc())
        )
        async with self.store.engine.connect() as conn:
            return (await conn.execute(query.limit(limit))).all()

    async def publish(self, actor: str, actor_name: str, now: dt.datetime) -> PublishResult:
        async with self._lock:
            changes = await self._claim(now)
            if not changes:
                return PublishResult(published=False, reason="nothing to publish")
            try:
                result = await asyncio.to_thread(self._check, changes, now.date())
                if result.reason is None:
                    for change in changes:
                        apply_change(self.knowledge_dir, change, now.date())
                    result.commit = self._commit(changes, actor, actor_name)
                    result.published = True
            except BaseException:
                await self._release(changes)
                raise
            if not result.published:
                await self._release(changes)  # refused: they wait, to be fixed or withdrawn
                return result
            await self._published(changes, result, now)
            request_reload(self.knowledge_dir)
            await notify(self.store.engine, CONTENT_CHANNEL)  # replicas on other machines
            await asyncio.to_thread(self.content.reload)  # this one at once
            return result

    async def _claim(self, now: dt.datetime) -> list[Change]:
        """Take the pending changes for this publication, atomically: another instance publishing at
        the same moment gets none of them (a claim left by a crashed process expires)."""
        stale = now - CLAIM_EXPIRES
        available = (content_changes.c.status == "pending") | (
            (content_changes.c.status == "publishing") & (content_changes.c.decided_at < stale)
        )

        async def work(conn) -> list[Change]:
            rows = (
                await conn.execute(
                    update(content_changes)
                    .where(available)
                    .values(status="publishing", decided_at=now)
                    .returning(*content_changes.c)
                )
            ).all()
            return sorted(
                (Change(r.id, r.kind, r.entry_id, r.language, r.text, r.actor_name, r.created_at) for r in rows),
                key=lambda c: c.id,
            )

        return await self.store.write(work)

    async def _release(self, changes: list[Change]) -> None:
        async def work(conn) -> None:
            await conn.execute(
                update(content_changes)
                .where(content_changes.c.id.in_([c.id for c in changes]), content_changes.c.status == "publishing")
                .values(status="pending", decided_at=None)
            )

        await self.store.write(work)

    def _check(self, changes: list[Change], today: dt.date) -> PublishResult:
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / "knowledge"
            shutil.copytree(self.knowledge_dir, copy, ignore=shutil.ignore_patterns(".git"))
            for change in changes:
                apply_change(copy, change, today)
            new_kb, problems = load_knowledge(copy, style_checks=False)
            if new_kb is None:
                first = "; ".join(p.format(copy) for p in problems.errors[:3])
                return PublishResult(published=False, reason=f"the content would not validate: {first}")
            return self._gate(self.content.current.kb, new_kb)

    def _gate(self, old_kb: KnowledgeBase, new_kb: KnowledgeBase) -> PublishResult:
        questions = [q for path in self.question_sets if path.exists() for q in read_questions(path)]
        result = compare(build_builtin(old_kb), build_builtin(new_kb), questions)
        result.reason = refusal(result)
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
        paths = sorted(
            {
                str(folder / "nlu" / "out_of_scope.yaml")
                if c.kind == "out_of_scope"
                else str(folder / "entries" / c.entry_id / f"{c.language}.yaml")
                for c in changes
            }
        )
        git("add", "--", *paths)
        kinds = {
            "example": "example question",
            "out_of_scope": "out-of-scope question",
            "text": "new text",
            "approve": "approval",
        }
        counted = ", ".join(
            f"{sum(c.kind == k for c in changes)} {label}(s)"
            for k, label in kinds.items()
            if any(c.kind == k for c in changes)
        )
        message = f"Studio: {counted}\n\n" + "\n".join(
            f"- {c.entry_id} ({c.language}): {kinds[c.kind]}"
            + (f": {c.text}" if c.kind in ("example", "out_of_scope") else "")
            for c in changes
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
