"""The content a running bot serves: knowledge, locales and the matcher built from them.

Editors publish without a restart: a changed YAML file (or ``acasa kb reload``, which touches a
trigger file) makes the bot load everything again. A version with errors is refused: the last good
version keeps serving and the errors go to the log; ``acasa kb check`` shows the same errors.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.crisis import CrisisDetector, load_crisis_lexicon
from bot.handoff.schedule import Schedule, load_schedule
from bot.kb import KnowledgeBase, Problem, load_knowledge
from bot.locales import Locales, load_locales
from bot.matching import RasaOptions, build_builtin, build_matcher
from bot.offices import OFFICES_FILE, OfficeFinder, load_office_finder
from bot.smalltalk import SmallTalk, load_smalltalk
from nlu.langid import LanguageIdentifier
from nlu.matcher import BuiltinMatcher, Matcher

log = logging.getLogger(__name__)

RELOAD_TRIGGER = ".reload"
SCHEDULE_FILE = "mediation.yaml"


@dataclass(frozen=True)
class Content:
    kb: KnowledgeBase
    locales: Locales
    matcher: Matcher
    languages: LanguageIdentifier
    crisis: CrisisDetector
    version: int
    schedule: Schedule
    smalltalk: SmallTalk
    offices: OfficeFinder


class ContentError(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} error(s) in the content")
        self.problems = problems


def _fingerprint(folders: tuple[Path, ...]) -> tuple[tuple[str, int, int], ...]:
    found = []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and (path.suffix in (".yaml", ".yml") or path.name == RELOAD_TRIGGER):
                stat = path.stat()
                found.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(found)


class ContentService:
    def __init__(self, knowledge_dir: Path, locales_dir: Path, rasa: RasaOptions | None = None):
        self.knowledge_dir = knowledge_dir
        self.locales_dir = locales_dir
        self.rasa = rasa
        # One HTTP client for Rasa, kept across reloads (a matcher per reload, not a client per reload).
        self._rasa_client = httpx.AsyncClient(timeout=rasa.timeout) if rasa else None
        self._current: Content | None = None
        self._fingerprint: tuple[tuple[str, int, int], ...] = ()

    @property
    def current(self) -> Content:
        if self._current is None:
            raise RuntimeError("content not loaded; call load() first")
        return self._current

    def _build(self) -> Content:
        kb, kb_problems = load_knowledge(self.knowledge_dir, style_checks=False)
        locales, locale_problems = load_locales(self.locales_dir)
        crisis, crisis_problems = load_crisis_lexicon(self.knowledge_dir / "nlu" / "crisis.yaml")
        smalltalk, smalltalk_problems = load_smalltalk(self.knowledge_dir / "nlu" / "smalltalk.yaml")
        schedule, schedule_problems = load_schedule(self.knowledge_dir / SCHEDULE_FILE)
        contacts = kb.contacts.values() if kb is not None else ()
        offices, office_problems = load_office_finder(contacts, self.knowledge_dir / "nlu" / OFFICES_FILE)
        errors = (
            kb_problems.errors
            + locale_problems.errors
            + crisis_problems.errors
            + smalltalk_problems.errors
            + schedule_problems.errors
            + office_problems.errors
        )
        loaded = (kb, locales, crisis, smalltalk, schedule, offices)
        if errors or any(part is None for part in loaded):
            raise ContentError(errors)
        version = self._current.version + 1 if self._current else 1
        builtin = build_builtin(kb)
        matcher = build_matcher(kb, self.rasa, builtin=builtin, client=self._rasa_client)
        crisis = crisis.with_reader(DangerReading(builtin, smalltalk), builtin.ordinary_words())
        return Content(kb, locales, matcher, builtin.languages, crisis, version, schedule, smalltalk, offices)

    def load(self) -> Content:
        """Load the content; raises ``ContentError`` if it has errors (used at start)."""
        fingerprint = _fingerprint((self.knowledge_dir, self.locales_dir))
        self._current = self._build()
        self._fingerprint = fingerprint
        return self._current

    def reload(self) -> bool:
        """Load again; on errors keep serving the last good version. True if the new one is live."""
        fingerprint = _fingerprint((self.knowledge_dir, self.locales_dir))
        self._fingerprint = fingerprint
        try:
            self._current = self._build()
        except ContentError as exc:
            log.error(
                "content edit refused (%d error(s)); still serving version %s",
                len(exc.problems),
                self._current.version if self._current else "none",
            )
            for problem in exc.problems:
                log.error("%s", problem.format())
            return False
        log.info("content version %d is live (%d entries)", self._current.version, len(self._current.kb.entries))
        return True

    async def close(self) -> None:
        if self._rasa_client is not None:
            await self._rasa_client.aclose()

    def changed(self) -> bool:
        return _fingerprint((self.knowledge_dir, self.locales_dir)) != self._fingerprint

    async def watch(self, interval: float) -> None:
        """Poll the content folders and reload on any change, until cancelled."""
        while True:
            await asyncio.sleep(interval)
            try:
                if self.changed():
                    # Loading takes about a second of CPU; keep the event loop answering meanwhile.
                    await asyncio.to_thread(self.reload)
            except Exception:  # a watcher must never die silently
                log.exception("content watcher failed; will try again")


class DangerReading:
    """The matcher's reading of danger, except for small talk: "good morning" or "thank you
    brother" gives the matcher too little to go on, and is no emergency."""

    def __init__(self, builtin: BuiltinMatcher, smalltalk: SmallTalk):
        self._builtin = builtin
        self._smalltalk = smalltalk

    def kind(self, text: str) -> str | None:
        return None if self._smalltalk.kind(text) is not None else self._builtin.danger(text)

    def level(self, text: str) -> float:
        return self._builtin.danger_level(text)

    def likely_kind(self, text: str) -> str | None:
        return None if self._smalltalk.kind(text) is not None else self._builtin.likely_danger(text)


def request_reload(knowledge_dir: Path) -> Path:
    """Touch the trigger file a running bot watches (used by ``acasa kb reload``)."""
    trigger = knowledge_dir / RELOAD_TRIGGER
    trigger.touch()
    return trigger
