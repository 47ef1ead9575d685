"""The glossary: one rendering per official name or term and language, and the check that texts keep to it.

``knowledge/glossary/<lang>.yaml`` maps a Romanian term to the way that language writes it::

    permis de ședere:
      use: "дозвіл на проживання"
      forms: ["дозволу на проживання"]      # inflected forms that are also right
      avoid: ["посвідка на проживання"]     # variants found in texts, to be replaced by ``use``

A text that contains an ``avoid`` variant, or a word that is a near-spelling of a one-word rendering
(``Тимішоара`` where the glossary says ``Тімішоара``), gets a warning naming the term and the rendering.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from bot.kb.model import GlossaryTerm, KnowledgeBase
from bot.kb.problems import ProblemList
from bot.kb.yamlsrc import YamlDocument, read_yaml
from nlu.languages import ENGLISH_NAMES, LANGUAGES

_FIELDS = {"use", "forms", "avoid"}
# Letters with the combining vowel signs of the Indic scripts (U+0900-U+0DFF), Arabic vowel marks and joiners,
# which ``\w`` alone would split words at.
_LETTER = r"[\w\u0900-\u0DFF\u064B-\u065F\u200C\u200D]"
_WORD = re.compile(r"[^\W\d_](?:" + _LETTER + r"|['’-])*")
NEAR_SPELLING = 85  # rapidfuzz ratio above which a word is taken for a variant spelling of a one-word term
_MIN_FUZZY_LENGTH = 6  # shorter renderings have too many innocent neighbours


def read_glossaries(folder: Path, problems: ProblemList) -> dict[str, tuple[GlossaryTerm, ...]]:
    if not folder.is_dir():
        return {}
    found: dict[str, tuple[GlossaryTerm, ...]] = {}
    for path in sorted(folder.glob("*.yaml")):
        lang = path.stem
        if lang not in ENGLISH_NAMES:
            problems.error(path, None, None, f"'{lang}' is not a language code the bot knows ({', '.join(LANGUAGES)}).")
            continue
        doc = read_yaml(path, problems)
        if doc is None:
            continue
        terms = _terms(path, doc, problems)
        if terms:
            found[lang] = terms
    return found


def _strings(value: Any) -> list[str] | None:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        return None
    return [v.strip() for v in value]


def _terms(path: Path, doc: YamlDocument, problems: ProblemList) -> tuple[GlossaryTerm, ...]:
    if not isinstance(doc.data, dict):
        problems.error(path, 1, None, "list the terms as 'Romanian term:' followed by 'use: ...'.")
        return ()
    terms: list[GlossaryTerm] = []
    for key, data in doc.data.items():
        if not isinstance(data, dict):
            problems.error(path, doc.line(key), str(key), "write the rendering on the next line as 'use: ...'.")
            continue
        unknown = [k for k in data if k not in _FIELDS]
        for k in unknown:
            problems.error(
                path,
                doc.line(key, k),
                f"{key}.{k}",
                f"'{k}' is not a glossary field; use {', '.join(sorted(_FIELDS))}.",
            )
        use = data.get("use")
        forms = _strings(data.get("forms"))
        avoid = _strings(data.get("avoid"))
        if not isinstance(use, str) or not use.strip():
            problems.error(path, doc.line(key), f"{key}.use", "'use' is missing: how does this language write it?")
            continue
        if forms is None or avoid is None:
            bad = "forms" if forms is None else "avoid"
            problems.error(path, doc.line(key, bad), f"{key}.{bad}", f"'{bad}' must be a list of texts in quotes.")
            continue
        accepted = {use.strip().casefold(), *(f.casefold() for f in forms)}
        if clash := [a for a in avoid if a.casefold() in accepted]:
            problems.error(
                path, doc.line(key, "avoid"), f"{key}.avoid", f"'{clash[0]}' is both accepted and to be avoided."
            )
            continue
        if unknown:
            continue
        terms.append(GlossaryTerm(str(key), use.strip(), tuple(forms), tuple(avoid)))
    return tuple(terms)


def _contains(text: str, phrase: str) -> bool:
    """Whole-word, case-insensitive: "IGI" is not found inside "IGIENA", nor "टिमिस" inside "टिमिसोआरा"."""
    pattern = r"(?<!" + _LETTER + r")" + re.escape(phrase.casefold()) + r"(?!" + _LETTER + r")"
    return re.search(pattern, text.casefold()) is not None


def variants_used(text: str, term: GlossaryTerm, exempt: frozenset[str] = frozenset()) -> list[str]:
    """Renderings of ``term`` in ``text`` that the glossary does not accept. ``exempt``: words the
    glossary accepts for any term (they are never a misspelling of this one)."""
    found = [a for a in term.avoid if _contains(text, a)]
    if " " in term.use or len(term.use) < _MIN_FUZZY_LENGTH:
        return found
    use = term.use.casefold()
    stem = use[: len(use) - 2]
    known = {use} | {a.casefold() for a in (*term.forms, *term.avoid)} | exempt
    for word in set(_WORD.findall(text)):
        folded = word.casefold()
        if folded in known or folded.startswith(stem) or len(folded) < len(use) - 1:
            continue  # the rendering itself, one of its inflections, or a shorter, other word
        near = fuzz.ratio(folded, use) >= NEAR_SPELLING
        # An inflected variant ("Тимішоарі" for "Тімішоара"): compare the stems, the endings may differ.
        near_stem = abs(len(folded) - len(use)) <= 2 and fuzz.ratio(folded[: len(stem)], stem) >= NEAR_SPELLING
        if near or near_stem:
            found.append(word)
    return sorted(set(found))


def _texts(kb: KnowledgeBase, lang: str) -> Iterable[tuple[Path, str, str]]:
    """(file, field, text) of everything people read in ``lang``."""
    for entry in kb.entries.values():
        text = entry.translations.get(lang)
        if text is not None:
            path = kb.root / "entries" / entry.id / f"{lang}.yaml"
            yield path, "title", text.title
            yield path, "answer", text.answer
    for contact in kb.contacts.values():
        path = contact.defined_in or kb.root / "contacts.yaml"
        if lang in contact.notes:
            yield path, f"{contact.id}.note.{lang}", contact.notes[lang]
        if lang in contact.names:
            yield path, f"{contact.id}.names.{lang}", contact.names[lang]


def check_glossary(kb: KnowledgeBase, problems: ProblemList) -> None:
    """A warning for every text that writes a glossary term another way."""
    for lang, terms in kb.glossary.items():
        glossary_file = f"glossary/{lang}.yaml"
        exempt = frozenset(w.casefold() for t in terms for w in (t.use, *t.forms) if " " not in w)
        for path, field, text in _texts(kb, lang):
            for term in terms:
                for variant in variants_used(text, term, exempt):
                    problems.warning(
                        path,
                        None,
                        field,
                        f"writes '{variant}' for {term.key}; the glossary ({glossary_file}) says '{term.use}'. "
                        "Use the glossary's rendering, or add this form to the term's 'forms' if it is right.",
                    )
