"""Small talk: "hi", "thanks", "ok", "bye", "are you a robot?" — answered in a word, never taken for
a question (and so never logged as unanswered).

A message is small talk only when it is made of small-talk phrases (up to three of them: "ok
thanks bye") and the "filler" words that go with them ("thank you so much brother", "are you a
robot or a real person"), or of emoji that say the same (👍 🙏 👋). A single word of anything
else makes it a question. Phrases come from ``knowledge/nlu/smalltalk.yaml``; native script meets
its romanisation through the phonetic form.
"""

from __future__ import annotations

from pathlib import Path

from bot.kb.lexicon import read_lexicon
from bot.kb.problems import ProblemList
from nlu.normalize import normalize
from nlu.translit import phonetic, to_latin

KINDS = ("greeting", "thanks", "ok", "bye", "bot")
FILLER = "filler"  # words that may surround the phrases: "so much", "brother", "or a"
# When a message holds several ("hi, thanks"), the one that asks most of the reply wins.
_PRIORITY = ("bot", "thanks", "bye", "greeting", "ok")
_EMOJI = {
    "👍": "ok",
    "👌": "ok",
    "✅": "ok",
    "🙂": "ok",
    "😊": "thanks",
    "🙏": "thanks",
    "❤": "thanks",
    "♥": "thanks",
    "💐": "thanks",
    "👋": "greeting",
}
_IGNORED = set("️\u200d🏻🏼🏽🏾🏿")  # variation selectors and skin tones
_MAX_PHRASES = 3
_MAX_WORDS = 12


class SmallTalk:
    def __init__(self, phrases: dict[str, list[str]]):
        """``phrases`` maps a kind (or ``filler``) to phrases in any language."""
        self._forms: dict[tuple[str, ...], str] = {}
        # Phrases of a kind first: a word that is both ("hari" in Sinhala) counts as the phrase.
        for kind, items in sorted(phrases.items(), key=lambda kv: kv[0] == FILLER):
            for phrase in items:
                normalized = normalize(phrase)
                for form in (normalized, phonetic(to_latin(normalized))):
                    if form:
                        self._forms.setdefault(tuple(form.split()), kind)
        self._longest = max((len(words) for words in self._forms), default=0)

    def kind(self, text: str) -> str | None:
        """The kind of small talk ``text`` is, or None if it says anything more."""
        emoji = [_EMOJI[c] for c in text if c in _EMOJI]
        rest = "".join(c for c in text if c not in _EMOJI and c not in _IGNORED)
        normalized = normalize(rest)
        if not normalized:
            return _first(emoji) if emoji else None
        for form in (normalized, phonetic(to_latin(normalized))):
            kinds = self._parse(form.split())
            if kinds is not None:
                return _first(kinds + emoji)
        return None

    def _parse(self, words: list[str]) -> list[str] | None:
        """The kinds of the phrases ``words`` is made of (longest phrase first), or None."""
        if len(words) > _MAX_WORDS:
            return None
        kinds: list[str] = []
        position = 0
        while position < len(words):
            for size in range(min(self._longest, len(words) - position), 0, -1):
                kind = self._forms.get(tuple(words[position : position + size]))
                if kind is not None:
                    if kind != FILLER:
                        kinds.append(kind)
                    position += size
                    break
            else:
                return None
            if len(kinds) > _MAX_PHRASES:
                return None
        return kinds or None


def _first(kinds: list[str]) -> str:
    return min(kinds, key=_PRIORITY.index)


def load_smalltalk(path: Path) -> tuple[SmallTalk | None, ProblemList]:
    phrases, problems = read_lexicon(path, (*KINDS, FILLER), "the small-talk phrases")
    if phrases is None:
        return None, problems
    return SmallTalk({kind: [p for _, p in items] for kind, items in phrases.items()}), problems
