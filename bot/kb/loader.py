"""Read and validate the knowledge base; every problem names file, line and field."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rapidfuzz import process

from bot.kb.glossary import check_glossary, read_glossaries
from bot.kb.lexicon import read_lexicon
from bot.kb.model import (
    CRISIS_CATEGORIES,
    NEARBY_TOPICS,
    SHORT_TITLE_MAX,
    TOPICS,
    Contact,
    Entry,
    KnowledgeBase,
    Source,
    Translation,
)
from bot.kb.problems import ProblemList
from bot.kb.versions import source_version
from bot.kb.yamlsrc import YamlDocument, read_yaml
from bot.markdown import MarkdownError, is_web_url, parse
from nlu.languages import ENGLISH_NAMES, LANGUAGES

REQUIRED_LANGUAGES: tuple[str, ...] = ("en", "ro")  # an entry cannot be published without these
STALE_AFTER = dt.timedelta(days=183)  # about six months

_ENTRY_FIELDS = {"id", "topic", "related", "contacts", "sources", "last_verified", "written_in", "doubts", "urgent"}
_TEXT_FIELDS = {"title", "short_title", "answer", "examples", "review", "reviewed_by", "reviewed_on", "made_from"}
_VERSION = re.compile(r"^[0-9a-f]{12}$")
_CONTACT_FIELDS = {
    "name",
    "name_en",
    "names",
    "aliases",
    "kind",
    "address",
    "phone",
    "email",
    "website",
    "hours",
    "coordinates",
    "confirmed",
    "note",
    "sources",
    "last_verified",
}
_CONTACT_KINDS = {"emergency", "helpline", "authority", "organisation", "online_service"}
_ENTRY_ID = re.compile(r"^[a-z]+\.[a-z0-9_]+$")
_CONTACT_ID = re.compile(r"^[a-z0-9_]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{1,20}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
_MIN_EXAMPLES = 3


def _suggest(word: str, choices: list[str] | set[str]) -> str:
    found = process.extractOne(word, sorted(choices), score_cutoff=60)
    return f" Did you mean '{found[0]}'?" if found else ""


class _Reader:
    def __init__(self, root: Path, today: dt.date):
        self.root = root
        self.today = today
        self.problems = ProblemList()
        # Fields reported as misspelt ("nmae" for "name"): their "missing" error would repeat the same mistake.
        self._misspelt: set[tuple[Path, tuple[str | int, ...], str]] = set()
        # Contacts that are written but have errors: entries naming them are not wrong, the contact is.
        self.broken_contacts: set[str] = set()

    # -- shared field checks ---------------------------------------------------------------------

    def _unknown_fields(
        self, path: Path, doc: YamlDocument, data: dict[str, Any], allowed: set[str], prefix: tuple[str | int, ...] = ()
    ) -> None:
        for key in data:
            if key not in allowed:
                found = process.extractOne(str(key), sorted(allowed), score_cutoff=60)
                if found and found[0] not in data:
                    self._misspelt.add((path, prefix, found[0]))
                self.problems.error(
                    path,
                    doc.line(*prefix, key),
                    str(key),
                    f"'{key}' is not a field the bot knows.{_suggest(str(key), allowed)} "
                    f"Allowed fields: {', '.join(sorted(allowed))}.",
                )

    def _text(
        self,
        path: Path,
        doc: YamlDocument,
        data: dict[str, Any],
        key: str,
        *,
        required: bool = True,
        prefix: tuple[str | int, ...] = (),
    ) -> str | None:
        value = data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required and (path, prefix, key) not in self._misspelt:
                self.problems.error(path, doc.line(*prefix), key, f"'{key}' is missing or empty.")
            return None
        if not isinstance(value, str):
            self.problems.error(path, doc.line(*prefix, key), key, f"'{key}' must be text; put it in double quotes.")
            return None
        return value.strip()

    def _date(
        self,
        path: Path,
        doc: YamlDocument,
        data: dict[str, Any],
        key: str,
        prefix: tuple[str | int, ...] = (),
        *,
        required: bool = True,
    ) -> dt.date | None:
        value = data.get(key)
        line = doc.line(*prefix, key)
        if value is None:
            if required and (path, prefix, key) not in self._misspelt:
                self.problems.error(
                    path,
                    doc.line(*prefix),
                    key,
                    f"'{key}' is missing; write the date the facts were checked, as YYYY-MM-DD.",
                )
            return None
        if isinstance(value, dt.datetime):
            value = value.date()
        if not isinstance(value, dt.date):
            self.problems.error(
                path, line, key, f"'{value}' is not a valid date; write it as YYYY-MM-DD, for example 2026-11-22."
            )
            return None
        if value > self.today:
            self.problems.error(
                path, line, key, f"{value.isoformat()} is in the future; use the day the facts were checked."
            )
            return None
        return value

    def _sources(
        self,
        path: Path,
        doc: YamlDocument,
        data: dict[str, Any],
        prefix: tuple[str | int, ...] = (),
        *,
        claims: bool = False,
    ) -> tuple[Source, ...]:
        """``claims``: an entry's sources, which say what they back (``supports``) and when (``checked``)."""
        raw = data.get("sources")
        if not isinstance(raw, list) or not raw:
            if (path, prefix, "sources") in self._misspelt:
                return ()
            self.problems.error(
                path,
                doc.line(*prefix, "sources"),
                "sources",
                "at least one source (title and url) is required: where do these facts come from?",
            )
            return ()
        allowed = {"title", "url", "supports", "checked"} if claims else {"title", "url"}
        sources: list[Source] = []
        for i, item in enumerate(raw):
            field = f"sources[{i + 1}]"
            where = (*prefix, "sources", i)
            if not isinstance(item, dict):
                self.problems.error(
                    path,
                    doc.line(*where),
                    field,
                    "each source needs a 'title' and a 'url' on separate lines.",
                )
                continue
            self._unknown_fields(path, doc, item, allowed, where)
            title = item.get("title")
            url = item.get("url")
            if not isinstance(title, str) or not title.strip():
                self.problems.error(path, doc.line(*where), f"{field}.title", "the source has no title.")
            if not isinstance(url, str) or not is_web_url(url):
                self.problems.error(
                    path,
                    doc.line(*where, "url"),
                    f"{field}.url",
                    f"'{url}' is not a valid web address; it must be a full link starting with https:// (or http://).",
                )
                continue
            supports = item.get("supports")
            if supports is not None and not isinstance(supports, str):
                self.problems.error(
                    path, doc.line(*where, "supports"), f"{field}.supports", "'supports' must be text; quote it."
                )
                supports = None
            checked = self._date(path, doc, item, "checked", where, required=False) if claims else None
            if claims and not (supports or "").strip() and not is_home_page(url):
                self.problems.warning(
                    path,
                    doc.line(*where),
                    f"{field}.supports",
                    "say which claims this page backs (supports: ...), so the next editor knows what to re-check.",
                )
            if isinstance(title, str) and title.strip():
                sources.append(Source(title.strip(), url, (supports or "").strip() or None, checked))
        if sources and all(is_home_page(s.url) for s in sources):
            self.problems.warning(
                path,
                doc.line(*prefix, "sources"),
                f"{prefix[0]}.sources" if prefix else "sources",
                "every source is a home page; cite the page or the legal act that backs these facts.",
            )
        return tuple(sources)

    def _doubts(self, path: Path, doc: YamlDocument, data: dict[str, Any]) -> tuple[str, ...]:
        raw = data.get("doubts")
        if raw is None:
            return ()
        if not isinstance(raw, list) or not all(isinstance(d, str) and d.strip() for d in raw):
            self.problems.error(
                path,
                doc.line("doubts"),
                "doubts",
                "'doubts' must be a list of claims nobody could confirm, one per line starting with '- '.",
            )
            return ()
        return tuple(d.strip() for d in raw)

    # -- contacts --------------------------------------------------------------------------------

    def contacts(self) -> dict[str, Contact]:
        """``contacts.yaml`` and any ``contacts/*.yaml`` (one file per group of offices)."""
        main = self.root / "contacts.yaml"
        extra = sorted((self.root / "contacts").glob("*.yaml")) if (self.root / "contacts").is_dir() else []
        if not main.exists() and not extra:
            self.problems.error(main, None, None, "contacts.yaml is missing.")
            return {}
        contacts: dict[str, Contact] = {}
        defined_in: dict[str, Path] = {}
        for path in ([main] if main.exists() else []) + extra:
            doc = read_yaml(path, self.problems)
            if doc is None:
                continue
            if not isinstance(doc.data, dict):
                self.problems.error(path, 1, None, "the file must list contacts as 'id:' followed by their fields.")
                continue
            for cid, data in doc.data.items():
                if not isinstance(cid, str) or not _CONTACT_ID.match(cid):
                    self.problems.error(
                        path,
                        doc.line(cid),
                        str(cid),
                        "a contact id may contain only lower-case letters, digits and '_'.",
                    )
                    continue
                if cid in defined_in:
                    self.problems.error(
                        path,
                        doc.line(cid),
                        cid,
                        f"the contact id '{cid}' is already used in {defined_in[cid].relative_to(self.root)}; "
                        "every contact needs its own id.",
                    )
                    continue
                defined_in[cid] = path
                if not isinstance(data, dict):
                    self.problems.error(path, doc.line(cid), cid, "the contact has no fields.")
                    self.broken_contacts.add(cid)
                    continue
                contact = self._contact(path, doc, cid, data)
                if contact:
                    contacts[cid] = contact
                else:
                    self.broken_contacts.add(cid)
        return contacts

    def _translated_names(
        self, path: Path, doc: YamlDocument, cid: str, data: dict[str, Any], key: str, what: str
    ) -> dict[str, str]:
        """``note`` / ``names``: one text per language code."""
        raw = data.get(key) or {}
        if not isinstance(raw, dict):
            self.problems.error(
                path,
                doc.line(cid, key),
                f"{cid}.{key}",
                f"'{key}' must list one text per language code, e.g. 'en: ...'.",
            )
            return {}
        found: dict[str, str] = {}
        for lang, text in raw.items():
            if lang not in ENGLISH_NAMES:
                self.problems.error(
                    path,
                    doc.line(cid, key, lang),
                    f"{cid}.{key}.{lang}",
                    f"'{lang}' is not a language code the bot knows ({', '.join(LANGUAGES)}).",
                )
            elif not isinstance(text, str) or not text.strip():
                self.problems.error(
                    path, doc.line(cid, key, lang), f"{cid}.{key}.{lang}", f"the {what} must be text; quote it."
                )
            else:
                found[lang] = text.strip()
        return found

    def _contact(self, path: Path, doc: YamlDocument, cid: str, data: dict[str, Any]) -> Contact | None:
        before = len(self.problems.errors)
        p = (cid,)
        self._unknown_fields(path, doc, data, _CONTACT_FIELDS, p)
        name = self._text(path, doc, data, "name", prefix=p)
        kind = self._text(path, doc, data, "kind", prefix=p)
        if kind and kind not in _CONTACT_KINDS:
            self.problems.error(
                path,
                doc.line(cid, "kind"),
                f"{cid}.kind",
                f"'{kind}' is not a known kind; use one of {', '.join(sorted(_CONTACT_KINDS))}.",
            )
        phones_raw = data.get("phone", [])
        if isinstance(phones_raw, (str, int)):
            phones_raw = [phones_raw]
        phones: list[str] = []
        for i, phone in enumerate(phones_raw or []):
            if not isinstance(phone, str) or not _PHONE.match(phone):
                self.problems.error(
                    path,
                    doc.line(cid, "phone", i),
                    f"{cid}.phone",
                    f"'{phone}' is not a phone number; write it in quotes, digits and spaces only, "
                    'e.g. "+40 21 312 62 10".',
                )
            else:
                phones.append(phone)
        email = data.get("email")
        if email is not None and (not isinstance(email, str) or not _EMAIL.match(email)):
            self.problems.error(path, doc.line(cid, "email"), f"{cid}.email", f"'{email}' is not an email address.")
        website = data.get("website")
        if website is not None and not is_web_url(website):
            self.problems.error(
                path,
                doc.line(cid, "website"),
                f"{cid}.website",
                f"'{website}' is not a valid web address; it must start with https://.",
            )
        coordinates = data.get("coordinates")
        coords: tuple[float, float] | None = None
        if coordinates is not None:
            ok = (
                isinstance(coordinates, list)
                and len(coordinates) == 2
                and all(isinstance(c, (int, float)) for c in coordinates)
                and -90 <= coordinates[0] <= 90
                and -180 <= coordinates[1] <= 180
            )
            if not ok:
                self.problems.error(
                    path,
                    doc.line(cid, "coordinates"),
                    f"{cid}.coordinates",
                    "coordinates must be [latitude, longitude], e.g. [45.7537, 21.2257].",
                )
            else:
                coords = (float(coordinates[0]), float(coordinates[1]))
        confirmed = data.get("confirmed", False)
        if not isinstance(confirmed, bool):
            self.problems.error(
                path, doc.line(cid, "confirmed"), f"{cid}.confirmed", "'confirmed' must be true or false."
            )
            confirmed = False
        notes = self._translated_names(path, doc, cid, data, "note", "note")
        names = self._translated_names(path, doc, cid, data, "names", "name")
        aliases = data.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
            self.problems.error(
                path,
                doc.line(cid, "aliases"),
                f"{cid}.aliases",
                '\'aliases\' must be a list of the names people use for it, e.g. ["IGI", "immigration office"].',
            )
            aliases = []
        sources = self._sources(path, doc, data, p)
        verified = self._date(path, doc, data, "last_verified", p)
        if confirmed is False:
            self.problems.warning(
                path,
                doc.line(cid, "confirmed") or doc.line(cid),
                f"{cid}.confirmed",
                "not confirmed by an official page: people see a warning with it. Confirm it (and cite the "
                "page) or remove the details nobody could confirm.",
            )
        if not notes:
            self.problems.warning(
                path,
                doc.line(cid),
                f"{cid}.note",
                "no note: write in every language, in a sentence or two, what they help with and who can use it.",
            )
        elif missing := [lang for lang in LANGUAGES if lang not in notes]:
            self.problems.warning(
                path,
                doc.line(cid, "note"),
                f"{cid}.note",
                f"no note in {', '.join(missing)}: people see the English note instead.",
            )
        if missing_names := [lang for lang in LANGUAGES if lang not in ("ro", "en") and lang not in names]:
            self.problems.warning(
                path,
                doc.line(cid, "names") or doc.line(cid, "name"),
                f"{cid}.names",
                f"no name in {', '.join(missing_names)}: people see the "
                f"{'English' if data.get('name_en') else 'Romanian'} name instead.",
            )
        for key in ("name_en", "address", "hours"):
            if key in data and not isinstance(data[key], str):
                self.problems.error(path, doc.line(cid, key), f"{cid}.{key}", f"'{key}' must be text.")
        if len(self.problems.errors) > before or name is None or kind is None or verified is None:
            return None
        return Contact(
            id=cid,
            name=name,
            kind=kind,
            confirmed=confirmed,
            sources=sources,
            last_verified=verified,
            name_en=data.get("name_en"),
            address=data.get("address"),
            phones=tuple(phones),
            email=email,
            website=website,
            hours=data.get("hours"),
            coordinates=coords,
            notes=notes,
            names=names,
            aliases=tuple(a.strip() for a in aliases),
            defined_in=path,
        )

    # -- entries ---------------------------------------------------------------------------------

    def entries(self, contacts: dict[str, Contact]) -> dict[str, Entry]:
        folder = self.root / "entries"
        if not folder.is_dir():
            self.problems.error(folder, None, None, "the 'entries' folder is missing.")
            return {}
        raw: dict[str, tuple[Path, YamlDocument, dict[str, Any]]] = {}
        for entry_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
            path = entry_dir / "entry.yaml"
            if not path.exists():
                self.problems.error(path, None, None, "this entry folder has no entry.yaml.")
                continue
            doc = read_yaml(path, self.problems)
            if doc is None:
                continue
            if not isinstance(doc.data, dict):
                self.problems.error(path, 1, None, "entry.yaml must contain fields such as 'id:' and 'topic:'.")
                continue
            eid = doc.data.get("id")
            if eid in raw:
                self.problems.error(
                    path,
                    doc.line("id"),
                    "id",
                    f"duplicate id: '{eid}' is already used by {raw[eid][0].relative_to(self.root)}. "
                    "Every entry needs its own id.",
                )
                continue
            if not isinstance(eid, str) or not _ENTRY_ID.match(eid):
                self.problems.error(
                    path,
                    doc.line("id"),
                    "id",
                    f"'{eid}' is not a valid id; use topic.name in lower case, e.g. health.family_doctor.",
                )
                continue
            if eid != entry_dir.name:
                self.problems.error(
                    path,
                    doc.line("id"),
                    "id",
                    f"the id '{eid}' must be the same as the folder name '{entry_dir.name}'.",
                )
                continue
            raw[eid] = (path, doc, doc.data)
        entries: dict[str, Entry] = {}
        for eid, (path, doc, data) in raw.items():
            entry = self._entry(path, doc, data, eid, contacts, set(raw))
            if entry:
                entries[eid] = entry
        return entries

    def _entry(
        self,
        path: Path,
        doc: YamlDocument,
        data: dict[str, Any],
        eid: str,
        contacts: dict[str, Contact],
        all_ids: set[str],
    ) -> Entry | None:
        before = len(self.problems.errors)
        self._unknown_fields(path, doc, data, _ENTRY_FIELDS)
        topic = self._text(path, doc, data, "topic")
        if topic and topic not in TOPICS:
            self.problems.error(
                path, doc.line("topic"), "topic", f"'{topic}' is not a topic; use one of {', '.join(TOPICS)}."
            )
        elif topic and not eid.startswith(topic + "."):
            self.problems.error(
                path, doc.line("topic"), "topic", f"the id '{eid}' should start with the topic '{topic}.'."
            )
        related = self._id_list(path, doc, data, "related", all_ids, "an entry", eid)
        contact_ids = self._id_list(
            path, doc, data, "contacts", set(contacts) | self.broken_contacts, "a contact in contacts.yaml", eid
        )
        sources = self._sources(path, doc, data, claims=True)
        doubts = self._doubts(path, doc, data)
        verified = self._date(path, doc, data, "last_verified")
        if verified and self.today - verified > STALE_AFTER:
            self.problems.warning(
                path,
                doc.line("last_verified"),
                "last_verified",
                f"the facts were last checked on {verified.isoformat()}, more than 6 months ago; "
                "check the sources again and update the date.",
            )
        translations = {}
        for lang in LANGUAGES:
            text_path = path.parent / f"{lang}.yaml"
            if not text_path.exists():
                message = f"the {ENGLISH_NAMES[lang]} ({lang}) text is missing; create {lang}.yaml in this folder"
                if lang in REQUIRED_LANGUAGES:
                    self.problems.error(text_path, None, None, message + " (required for every entry).")
                else:
                    self.problems.warning(
                        text_path,
                        None,
                        None,
                        message + f"; until then people writing in {ENGLISH_NAMES[lang]} get the English text.",
                    )
                continue
            translation = self._translation(text_path, lang)
            if translation:
                translations[lang] = translation
        for other in path.parent.glob("*.yaml"):
            if other.name != "entry.yaml" and other.stem not in ENGLISH_NAMES:
                self.problems.error(
                    other, None, None, f"'{other.stem}' is not a language code the bot knows ({', '.join(LANGUAGES)})."
                )
        if len(self.problems.errors) > before or topic is None or verified is None or not translations:
            return None
        written_in = data.get("written_in", "en")
        if written_in not in LANGUAGES:
            self.problems.error(
                path,
                doc.line("written_in"),
                "written_in",
                f"'{written_in}' is not a language code; the language the entry was written in, e.g. 'en'.",
            )
            return None
        translations = self._follow_source(path, eid, written_in, translations)
        urgent = data.get("urgent", False)
        if not isinstance(urgent, bool):
            self.problems.error(
                path,
                doc.line("urgent"),
                "urgent",
                "'urgent' is true (for people in danger: the whole answer and its contacts at once) or false.",
            )
            return None
        return Entry(eid, topic, related, contact_ids, sources, verified, translations, written_in, doubts, urgent)

    def _follow_source(
        self, path: Path, eid: str, written_in: str, translations: dict[str, Translation]
    ) -> dict[str, Translation]:
        """Mark translations made from an older version of the source text as needing editing."""
        source = translations.get(written_in)
        if source is None:
            return translations
        current = source_version(source.title, source.answer)
        outdated, unknown = [], []
        for lang, text in translations.items():
            if lang == written_in:
                continue
            if text.made_from is None:
                unknown.append(lang)
            elif text.made_from != current:
                outdated.append(lang)
                translations[lang] = replace(text, outdated=True)
        source_file = path.parent / f"{written_in}.yaml"
        if outdated:
            self.problems.warning(
                source_file,
                None,
                None,
                f"this text changed after the {', '.join(outdated)} translation(s) were made: they need editing "
                f"(people get them with a note that the original changed). 'acasa kb outdated' shows what "
                f"changed; after updating a translation run 'acasa kb stamp --entry {eid} --lang LANG'.",
            )
        if unknown:
            self.problems.warning(
                source_file,
                None,
                None,
                f"the {', '.join(unknown)} translation(s) do not record which version of this text they were "
                f"made from ('made_from'), so a later change cannot be noticed; once they follow this text, "
                f"run 'acasa kb stamp --entry {eid} --lang LANG'.",
            )
        return translations

    def _id_list(
        self, path: Path, doc: YamlDocument, data: dict[str, Any], key: str, known: set[str], what: str, own_id: str
    ) -> tuple[str, ...]:
        value = data.get(key, [])
        if value is None:
            return ()
        if not isinstance(value, list):
            self.problems.error(path, doc.line(key), key, f"'{key}' must be a list, e.g. [{key}_a, {key}_b].")
            return ()
        result: list[str] = []
        for i, item in enumerate(value):
            if item not in known or item == own_id:
                reason = "an entry cannot refer to itself" if item == own_id else f"'{item}' is not {what}"
                self.problems.error(path, doc.line(key, i), key, f"{reason}.{_suggest(str(item), known)}")
            elif item in result:
                self.problems.error(path, doc.line(key, i), key, f"'{item}' is listed twice.")
            else:
                result.append(item)
        return tuple(result)

    def _translation(self, path: Path, lang: str) -> Translation | None:
        doc = read_yaml(path, self.problems)
        if doc is None:
            return None
        data = doc.data
        if not isinstance(data, dict):
            self.problems.error(path, 1, None, "the file must contain 'title:', 'answer:' and 'examples:'.")
            return None
        before = len(self.problems.errors)
        self._unknown_fields(path, doc, data, _TEXT_FIELDS)
        title = self._text(path, doc, data, "title")
        short_title = self._short_title(path, doc, data)
        answer = self._text(path, doc, data, "answer")
        if answer is not None:
            try:
                parse(answer)
            except MarkdownError as exc:
                base = doc.line("answer") or 1
                # A block scalar ("answer: |") starts on the line after the key.
                offset = 1 if isinstance(data.get("answer"), str) and "\n" in data["answer"] else 0
                self.problems.error(path, base + offset + exc.line - 1, "answer", str(exc))
        review = data.get("review")
        if review not in ("reviewed", "unreviewed"):
            self.problems.error(
                path,
                doc.line("review"),
                "review",
                f"'review' must be 'unreviewed' (machine-drafted or not yet checked) or 'reviewed' "
                f"(checked by a native speaker), not '{review}'.",
            )
        reviewed_by = data.get("reviewed_by")
        reviewed_on = self._date(path, doc, data, "reviewed_on", required=False)
        if review == "reviewed" and (not reviewed_by or reviewed_on is None):
            self.problems.error(
                path,
                doc.line("review"),
                "review",
                "a reviewed text needs 'reviewed_by' (who checked it) and 'reviewed_on' (when).",
            )
        examples = data.get("examples")
        clean: list[str] = []
        if not isinstance(examples, list):
            self.problems.error(
                path,
                doc.line("examples"),
                "examples",
                "'examples' must be a list of questions, one per line starting with '- '.",
            )
        else:
            seen: dict[str, int] = {}
            for i, example in enumerate(examples):
                line = doc.line("examples", i)
                if not isinstance(example, str) or not example.strip():
                    self.problems.error(
                        path, line, "examples", f"example {i + 1} is empty or not text; put it in quotes."
                    )
                    continue
                key = example.strip().casefold()
                if key in seen:
                    self.problems.warning(path, line, "examples", f"this example repeats the one on line {seen[key]}.")
                    continue
                seen[key] = line or 0
                clean.append(example.strip())
            if len(clean) < _MIN_EXAMPLES:
                self.problems.error(
                    path,
                    doc.line("examples"),
                    "examples",
                    f"only {len(clean)} example questions; write at least {_MIN_EXAMPLES} "
                    "(15 or more help the bot understand people).",
                )
        made_from = data.get("made_from")
        if made_from is not None and not (isinstance(made_from, str) and _VERSION.match(made_from)):
            self.problems.error(
                path,
                doc.line("made_from"),
                "made_from",
                "'made_from' is written by 'acasa kb stamp' (12 letters and digits); do not edit it by hand.",
            )
        if len(self.problems.errors) > before or title is None or answer is None:
            return None
        return Translation(
            lang,
            title,
            answer,
            tuple(clean),
            review == "reviewed",
            reviewed_by if isinstance(reviewed_by, str) else None,
            reviewed_on,
            short_title,
            made_from if isinstance(made_from, str) else None,
        )

    def _short_title(self, path: Path, doc: YamlDocument, data: dict[str, Any]) -> str | None:
        """The button label: checked for length, since a long one is cut off on a phone."""
        short = self._text(path, doc, data, "short_title", required=False)
        if short is None:
            if "short_title" not in data:
                self.problems.warning(
                    path,
                    doc.line("title"),
                    "short_title",
                    f"no 'short_title': buttons show the title cut to {SHORT_TITLE_MAX} characters. "
                    'Add a label of at most 18 characters, e.g. short_title: "Family doctor".',
                )
            return None
        if len(short) > SHORT_TITLE_MAX:
            self.problems.error(
                path,
                doc.line("short_title"),
                "short_title",
                f"the short title has {len(short)} characters; a button label may have at most "
                f"{SHORT_TITLE_MAX} (18 or fewer let two buttons share a row).",
            )
            return None
        return short

    # -- topic order -----------------------------------------------------------------------------

    def topic_order(
        self, entries: dict[str, Entry]
    ) -> tuple[dict[str, tuple[str, ...]], dict[str, dict[str, tuple[str, ...]]]]:
        """``topics.yaml``: each topic's entries, most asked first, and those shown first per language."""
        path = self.root / "topics.yaml"
        order: dict[str, tuple[str, ...]] = {}
        first: dict[str, dict[str, tuple[str, ...]]] = {}
        if not path.exists():
            return order, first
        doc = read_yaml(path, self.problems)
        if doc is None:
            return order, first
        if not isinstance(doc.data, dict):
            self.problems.error(path, 1, None, "topics.yaml must list topics, e.g. 'health:' with 'order:' below.")
            return order, first
        for topic, spec in doc.data.items():
            if topic not in TOPICS:
                self.problems.error(
                    path, doc.line(topic), str(topic), f"'{topic}' is not a topic.{_suggest(str(topic), TOPICS)}"
                )
                continue
            if not isinstance(spec, dict) or set(spec) - {"order", "first_for"}:
                self.problems.error(
                    path, doc.line(topic), topic, "a topic holds 'order:' (a list of entries) and 'first_for:'."
                )
                continue
            in_topic = {eid for eid, e in entries.items() if e.topic == topic}
            order[topic] = self._ordered_ids(path, doc, spec.get("order"), in_topic, (topic, "order"))
            by_lang = spec.get("first_for") or {}
            if not isinstance(by_lang, dict):
                self.problems.error(
                    path, doc.line(topic, "first_for"), "first_for", "'first_for' maps a language code to entries."
                )
                continue
            first[topic] = {}
            for lang, ids in by_lang.items():
                if lang not in LANGUAGES:
                    self.problems.error(
                        path,
                        doc.line(topic, "first_for", lang),
                        "first_for",
                        f"'{lang}' is not a language code ({', '.join(LANGUAGES)}).",
                    )
                    continue
                first[topic][lang] = self._ordered_ids(path, doc, ids, in_topic, (topic, "first_for", lang))
        return order, first

    def _ordered_ids(
        self, path: Path, doc: YamlDocument, ids: Any, in_topic: set[str], where: tuple[str, ...]
    ) -> tuple[str, ...]:
        if ids is None:
            return ()
        if not isinstance(ids, list):
            self.problems.error(
                path, doc.line(*where), where[-1], "write a list of entry ids, e.g. [health.x, health.y]."
            )
            return ()
        found: list[str] = []
        for i, eid in enumerate(ids):
            if eid not in in_topic:
                self.problems.error(
                    path,
                    doc.line(*where, i),
                    where[-1],
                    f"'{eid}' is not an entry of the topic '{where[0]}'.{_suggest(str(eid), in_topic)}",
                )
            elif eid not in found:
                found.append(eid)
        return tuple(found)

    # -- out of scope ----------------------------------------------------------------------------

    def out_of_scope(self) -> dict[str, tuple[str, ...]]:
        path = self.root / "nlu" / "out_of_scope.yaml"
        if not path.exists():
            self.problems.warning(
                path, None, None, "no out-of-scope examples; the bot is more likely to answer unrelated questions."
            )
            return {}
        return self._texts_by_language(path, "questions")

    def statements(self) -> dict[str, tuple[str, ...]]:
        """``nlu/statements.yaml`` (optional): things people say in the middle of a conversation."""
        path = self.root / "nlu" / "statements.yaml"
        return self._texts_by_language(path, "messages") if path.exists() else {}

    def _texts_by_language(self, path: Path, what: str) -> dict[str, tuple[str, ...]]:
        doc = read_yaml(path, self.problems)
        if doc is None:
            return {}
        if not isinstance(doc.data, dict):
            self.problems.error(path, 1, None, f"list the {what} under a language code, e.g. 'en:'.")
            return {}
        result: dict[str, tuple[str, ...]] = {}
        for lang, questions in doc.data.items():
            if lang not in ENGLISH_NAMES:
                self.problems.error(
                    path,
                    doc.line(lang),
                    str(lang),
                    f"'{lang}' is not a language code the bot knows ({', '.join(LANGUAGES)}).",
                )
                continue
            if not isinstance(questions, list) or not all(isinstance(q, str) for q in questions):
                self.problems.error(path, doc.line(lang), lang, f"must be a list of {what} in quotes.")
                continue
            result[lang] = tuple(q.strip() for q in questions if q.strip())
        return result

    def lexicon(self, name: str, categories: tuple[str, ...], what: str) -> dict[str, tuple[tuple[str, str], ...]]:
        """``nlu/<name>``: examples under a language and a category (optional file)."""
        path = self.root / "nlu" / name
        if not path.exists():
            return {}
        found, problems = read_lexicon(path, categories, what)
        self.problems.extend(problems)
        return {category: tuple(items) for category, items in (found or {}).items() if items}


def is_home_page(url: str) -> bool:
    """A link to a site's front page, which backs no particular fact."""
    parsed = urlparse(url)
    return parsed.path in ("", "/") and not parsed.query and not parsed.fragment


def check_text_file(path: Path, lang: str, today: dt.date) -> ProblemList:
    """The problems ``acasa kb check`` reports for one text file (``entries/<id>/<lang>.yaml``)
    on its own: what the studio shows while someone types."""
    reader = _Reader(path.parent.parent.parent, today)
    reader._translation(path, lang)
    return reader.problems


def load_knowledge(
    root: Path | str, *, today: dt.date | None = None, style_checks: bool = True
) -> tuple[KnowledgeBase | None, ProblemList]:
    """Load and validate; the knowledge base is returned only when there is no error.

    ``style_checks=False`` leaves out the glossary's warnings (half the loading time, and nothing a
    running bot acts on): editors see them in ``acasa kb check``.
    """
    root = Path(root)
    reader = _Reader(root, today or dt.date.today())
    if not root.is_dir():
        reader.problems.error(root, None, None, "the knowledge folder does not exist.")
        return None, reader.problems
    contacts = reader.contacts()
    entries = reader.entries(contacts)
    out_of_scope = reader.out_of_scope()
    statements = reader.statements()
    nearby = reader.lexicon("nearby.yaml", NEARBY_TOPICS, "questions next to the knowledge base")
    emergencies = reader.lexicon("emergencies.yaml", CRISIS_CATEGORIES, "examples of emergencies")
    glossary = read_glossaries(root / "glossary", reader.problems)
    topic_order, first_for = reader.topic_order(entries)
    if reader.problems.errors:
        return None, reader.problems
    kb = KnowledgeBase(
        root, entries, contacts, out_of_scope, statements, nearby, emergencies, glossary, topic_order, first_for
    )
    if style_checks:
        check_glossary(kb, reader.problems)
    return kb, reader.problems
