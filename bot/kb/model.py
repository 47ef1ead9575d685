"""The knowledge base as the rest of the bot sees it: validated, immutable values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from nlu.languages import FALLBACK_ORDER
from nlu.matcher import CRISIS, NEARBY, OUT_OF_SCOPE, STATEMENT, Example

TOPICS: tuple[str, ...] = ("rights", "health", "education", "work", "housing", "general")
SHORT_TITLE_MAX = 24  # a button label on a phone; up to 18 characters two buttons share a row


@dataclass(frozen=True)
class Source:
    title: str
    url: str
    supports: str | None = None  # which claims of the entry this page backs
    checked: dt.date | None = None  # the day an editor last read the page and found the claims there


@dataclass(frozen=True)
class Contact:
    id: str
    name: str
    kind: str
    confirmed: bool
    sources: tuple[Source, ...]
    last_verified: dt.date
    name_en: str | None = None
    address: str | None = None
    phones: tuple[str, ...] = ()
    email: str | None = None
    website: str | None = None
    hours: str | None = None
    coordinates: tuple[float, float] | None = None
    notes: Mapping[str, str] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)  # the name in other languages, by language code
    # What people call it when they ask where it is or how to reach it ("IGI", "city hall", "мерія").
    aliases: tuple[str, ...] = ()
    defined_in: Path | None = None  # the file it is written in (contacts.yaml or contacts/<group>.yaml)

    def display_name(self, lang: str) -> str:
        """The name in ``lang``; the official Romanian name where no translation exists."""
        if lang == "ro":
            return self.name
        if lang in self.names:
            return self.names[lang]
        return self.name_en or self.name

    def official_name(self, lang: str) -> str | None:
        """The Romanian name, to show beside a translated one: it is what signs and counters say."""
        shown = self.display_name(lang)
        return None if shown == self.name else self.name

    def note(self, lang: str) -> str | None:
        for code in (lang, *FALLBACK_ORDER):
            if code in self.notes:
                return self.notes[code]
        return None


@dataclass(frozen=True)
class Translation:
    lang: str
    title: str
    answer: str
    examples: tuple[str, ...]
    reviewed: bool
    reviewed_by: str | None = None
    reviewed_on: dt.date | None = None
    short_title: str | None = None
    made_from: str | None = None  # the version of the source text it was translated from (kb/versions.py)
    outdated: bool = False  # the source has changed since: the translation needs editing

    @property
    def approved(self) -> bool:
        """Reviewed by a native speaker, and still a translation of the current source."""
        return self.reviewed and not self.outdated

    @property
    def label(self) -> str:
        """The button label: the short title, else the title cut to fit a button."""
        if self.short_title:
            return self.short_title
        return self.title if len(self.title) <= SHORT_TITLE_MAX else self.title[: SHORT_TITLE_MAX - 1].rstrip() + "…"


@dataclass(frozen=True)
class Entry:
    id: str
    topic: str
    related: tuple[str, ...]
    contacts: tuple[str, ...]
    sources: tuple[Source, ...]
    last_verified: dt.date
    translations: Mapping[str, Translation]
    written_in: str = "en"  # the language the text was written in; the others are translations of it
    doubts: tuple[str, ...] = ()  # claims no public source confirmed; the texts say whom to ask instead
    urgent: bool = False  # for people in danger: the whole answer and its contacts at once, no "more" buttons

    def translation(self, lang: str) -> Translation:
        """The text in ``lang``, else the first available fallback language."""
        for code in (lang, *FALLBACK_ORDER):
            if code in self.translations:
                return self.translations[code]
        return next(iter(self.translations.values()))


@dataclass(frozen=True)
class GlossaryTerm:
    """One official name or term and the single way a language renders it."""

    key: str  # the Romanian term, e.g. "permis de ședere"
    use: str  # the rendering translators use
    forms: tuple[str, ...] = ()  # inflected forms of ``use`` that are also right
    avoid: tuple[str, ...] = ()  # renderings found in texts that must be replaced by ``use``


# Questions next to what the knowledge base covers: the bot names the topic ("I do not have
# information about bank accounts yet") instead of answering with an unrelated entry. Each topic
# has its name in every locale (``nearby.<topic>``).
NEARBY_TOPICS = (
    "money",
    "sim_card",
    "marriage",
    "pension",
    "tourist_visa",
    "transport_pass",
    "worship",
    "death",
    "embassy",
    "car",
)
# Kinds of immediate danger (``knowledge/nlu/crisis.yaml`` phrases, ``emergencies.yaml`` examples).
CRISIS_CATEGORIES = ("violence", "self_harm", "medical", "trafficking", "child_at_risk", "fire")


@dataclass(frozen=True)
class KnowledgeBase:
    root: Path
    entries: Mapping[str, Entry]
    contacts: Mapping[str, Contact]
    out_of_scope: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    statements: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # lang → things said mid-chat
    nearby: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)  # topic → (lang, question)
    emergencies: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)  # category → (lang, text)
    glossary: Mapping[str, tuple[GlossaryTerm, ...]] = field(default_factory=dict)  # lang → terms
    topic_order: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # topic → entry ids, most asked first
    first_for: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)  # topic → lang → ids

    def entries_in_topic(self, topic: str, lang: str | None = None) -> list[Entry]:
        """The topic's entries in the editors' order, with those ``lang``'s community asks most first."""
        ranked = {eid: i for i, eid in enumerate(self.topic_order.get(topic, ()))}
        promoted = {eid: i for i, eid in enumerate(self.first_for.get(topic, {}).get(lang or "", ()))}
        found = [e for e in self.entries.values() if e.topic == topic]
        return sorted(
            found,
            key=lambda e: (
                promoted.get(e.id, len(promoted)),
                ranked.get(e.id, len(ranked)),
                e.id,
            ),
        )

    def examples(self) -> list[Example]:
        """Training examples for matchers: every example question, every title, and negatives."""
        found: list[Example] = []
        for entry in self.entries.values():
            for lang, text in entry.translations.items():
                found.append(Example(entry.id, lang, text.title))
                found.extend(Example(entry.id, lang, q) for q in text.examples)
        for lang, questions in self.out_of_scope.items():
            found.extend(Example(OUT_OF_SCOPE, lang, q) for q in questions)
        for lang, said in self.statements.items():
            found.extend(Example(STATEMENT, lang, s) for s in said)
        for topic, items in self.nearby.items():
            found.extend(Example(NEARBY + topic, lang, q) for lang, q in items)
        for category, items in self.emergencies.items():
            found.extend(Example(CRISIS + category, lang, q) for lang, q in items)
        return found
