"""Offices asked for by name: "unde e biroul IGI", "CAS Timis telefon", "where is city hall".

Such a short question names an office and asks where it is or how to reach it; no entry answers
it, and the matcher, given one office word and little else, picks whichever entry that word
appears in most ("where is the immigration office" read as the privacy entry). The office's
contact card answers it: name, address, phone, hours, website, what it helps with.

An office is named by one of its contact's ``aliases`` (``knowledge/contacts*.yaml``: "IGI",
"immigration office", "мерія"), a question is told by a word of ``knowledge/nlu/offices.yaml``
("unde", "address", "kahan", "телефон"). Only short messages count: a longer one asks something
else about the office ("how do I renew my permit at IGI") and an entry answers it better.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from bot.kb.lexicon import read_lexicon
from bot.kb.model import Contact
from bot.kb.problems import ProblemList
from nlu.normalize import normalize

OFFICES_FILE = "offices.yaml"  # in knowledge/nlu/; optional
MAX_WORDS = 8  # "where is the IGI office in Timisoara please" is eight
MAX_SHOWN = 3


def _whole_words(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """Any of ``phrases`` (normalized) as whole words, the longest first."""
    forms = sorted({p for p in phrases if p}, key=len, reverse=True)
    if not forms:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(f) for f in forms) + r")(?!\w)")


class OfficeFinder:
    def __init__(self, contacts: Iterable[Contact], asks: Iterable[str]):
        self._by_alias: dict[str, list[Contact]] = {}
        for contact in contacts:
            for alias in contact.aliases:
                named = self._by_alias.setdefault(normalize(alias), [])
                if contact not in named:
                    named.append(contact)
        self._aliases = _whole_words(self._by_alias)
        self._asks = _whole_words(normalize(a) for a in asks)

    def asked_for(self, text: str) -> tuple[Contact, ...]:
        """The offices a short question asks the whereabouts or contact details of, if any, in
        the order the message names them (offices of one name in the order they are written in),
        at most three."""
        if self._aliases is None or self._asks is None or len(text.split()) > MAX_WORDS:
            return ()
        normalized = normalize(text)
        if self._asks.search(normalized) is None:
            return ()
        found: list[Contact] = []
        for match in self._aliases.finditer(normalized):
            found.extend(c for c in self._by_alias[match.group()] if c not in found)
        return tuple(found[:MAX_SHOWN])


def load_office_finder(contacts: Iterable[Contact], path: Path) -> tuple[OfficeFinder | None, ProblemList]:
    """The finder over ``contacts``' aliases and the question words of ``path``, when it exists
    (without it, no office is ever looked up by name)."""
    if not path.exists():
        return OfficeFinder(contacts, ()), ProblemList()
    words, problems = read_lexicon(path, ("asks",), "the words that ask where an office is or how to reach it")
    if words is None:
        return None, problems
    return OfficeFinder(contacts, [w for _, w in words["asks"]]), problems
