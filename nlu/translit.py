"""Transliteration to a Latin "meeting form", so romanised input meets native-script examples.

People type Nepali, Ukrainian, Arabic, Bengali or Urdu in Latin letters, each in their own way
("chahinchha", "chahinxa"; "kif", "kayf", "keef"). Two forms make them comparable:

- ``to_latin``: any script to ASCII (anyascii), with Arabizi digits read as letters;
- ``phonetic``: Latin folded so common romanisation variants coincide (sh/s, ph/f, w/v, y/i,
  doubled letters, aspirated consonants);
- ``skeleton``: the phonetic form without vowels, because romanisation disagrees most on vowels
  and abjads such as Arabic and Urdu omit short vowels in writing.
"""

from __future__ import annotations

import functools
import re

from anyascii import anyascii

# Letters that anyascii renders in a way romanisers rarely type; map them first.
_SCRIPT_OVERRIDES = str.maketrans(
    {
        "च": "ch",
        "छ": "chh",
        "চ": "ch",
        "ছ": "chh",
        "ච": "ch",
        "ඡ": "chh",
        "ச": "ch",
        "ж": "zh",
        "ц": "ts",
        "щ": "shch",
        "ъ": "",
        "ь": "",
        "ع": "3",  # ain: Arabizi writes 3
        "ء": "",
        "ح": "h",
        "خ": "kh",
        "ق": "q",
        "غ": "gh",
        "ث": "th",
        "ذ": "dh",
        "ض": "d",
        "ظ": "z",
        "ص": "s",
        "ط": "t",
        "ک": "k",
        "گ": "g",
        "ڈ": "d",
        "ٹ": "t",
        "ڑ": "r",
        "ں": "n",
    }
)

# Arabizi: digits standing for Arabic letters inside a Latin word.
_ARABIZI = str.maketrans({"2": "", "3": "a", "5": "kh", "6": "t", "7": "h", "8": "gh", "9": "q"})
_ALNUM_WORD = re.compile(r"^(?=.*[a-z])(?=.*[235-9])[a-z0-9]+$")

_DIGRAPHS = (
    ("shch", "s"),
    ("sch", "s"),
    ("chh", "C"),
    ("ch", "C"),
    ("sh", "s"),
    ("zh", "j"),
    ("kh", "k"),
    ("gh", "g"),
    ("ph", "f"),
    ("th", "t"),
    ("dh", "d"),
    ("bh", "b"),
    ("jh", "j"),
    ("ck", "k"),
    ("ee", "i"),
    ("oo", "u"),
    ("ou", "u"),
    ("ai", "e"),
    ("ay", "e"),
    ("ei", "e"),
)
_SINGLE = str.maketrans({"w": "v", "y": "i", "q": "k", "x": "ks", "z": "j", "'": ""})
_DOUBLE = re.compile(r"(.)\1+")
_VOWELS = re.compile(r"[aeiou]")


@functools.lru_cache(maxsize=65536)
def _word_to_latin(word: str) -> str:
    if word.isascii():
        return word.translate(_ARABIZI) if _ALNUM_WORD.match(word) else word
    latin = anyascii(word.translate(_SCRIPT_OVERRIDES)).lower()
    return "".join(ch for ch in latin if ch.isalnum())


def to_latin(normalized: str) -> str:
    """ASCII transliteration of already normalised text, word by word."""
    return " ".join(filter(None, (_word_to_latin(w) for w in normalized.split())))


@functools.lru_cache(maxsize=65536)
def phonetic_word(word: str) -> str:
    """Fold one Latin word so common romanisation variants coincide."""
    for digraph, single in _DIGRAPHS:
        word = word.replace(digraph, single)
    # A "c" that did not come from "ch" is a k sound in the words people borrow (doctor, card);
    # "ch" was parked as "C" above so it stays distinct.
    word = word.translate(_SINGLE).replace("c", "k").replace("C", "c")
    return _DOUBLE.sub(r"\1", word)


@functools.lru_cache(maxsize=65536)
def skeleton_word(word: str) -> str:
    """The consonants of a phonetic word; an initial vowel is kept as a marker."""
    phon = phonetic_word(word)
    if not phon:
        return ""
    rest = _VOWELS.sub("", phon[1:])
    return _DOUBLE.sub(r"\1", phon[0] + rest)


def phonetic(latin: str) -> str:
    return " ".join(filter(None, (phonetic_word(w) for w in latin.split())))


def skeleton(latin: str) -> str:
    return " ".join(filter(None, (skeleton_word(w) for w in latin.split())))
