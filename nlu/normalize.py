"""Text normalisation per script, so spelling variants of the same words compare equal.

What it does, in order: NFKC, remove zero-width characters and Arabic tatweel/tashkeel, fold
Arabic/Urdu/Persian letter variants to one form, unify Romanian cedilla letters, case-fold, strip
Latin/Cyrillic/Greek diacritics (but never the vowel signs of Indic scripts, which carry meaning),
turn punctuation into spaces and collapse whitespace.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad\u061c"), None)

# Arabic harakat, superscript alef, Quranic marks and tatweel.
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")

_ARABIC_FOLD = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ی": "ي",  # Farsi/Urdu yeh
        "ې": "ي",
        "ے": "ي",  # Urdu bari yeh
        "ئ": "ي",
        "ؤ": "و",
        "ة": "ه",
        "ۃ": "ه",
        "ہ": "ه",  # Urdu heh goal
        "ھ": "ه",  # Urdu do-chashmi heh
        "ە": "ه",
        "ك": "ک",  # Arabic kaf and Urdu keheh become one letter
        "ڪ": "ک",
        "٠": "0",
        "١": "1",
        "٢": "2",
        "٣": "3",
        "٤": "4",
        "٥": "5",
        "٦": "6",
        "٧": "7",
        "٨": "8",
        "٩": "9",
        "۰": "0",
        "۱": "1",
        "۲": "2",
        "۳": "3",
        "۴": "4",
        "۵": "5",
        "۶": "6",
        "۷": "7",
        "۸": "8",
        "۹": "9",
    }
)

# Romanian: the cedilla forms (ş ţ) are common on old keyboards; the comma forms (ș ț) are correct.
_ROMANIAN_FOLD = str.maketrans({"ş": "ș", "Ş": "Ș", "ţ": "ț", "Ţ": "Ț"})

# Scripts whose combining marks are accents that people often omit (Latin, Greek, Cyrillic).
_STRIP_MARK_BASES = re.compile(r"[A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]")


@functools.lru_cache(maxsize=65536)
def _is_word_char(char: str) -> bool:
    # Letters, combining marks (Indic vowel signs are marks) and digits make words.
    return unicodedata.category(char)[0] in "LMN"


def strip_accents(text: str) -> str:
    """Remove accents from Latin/Greek/Cyrillic letters; keep Indic and Arabic marks intact."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)
    if decomposed == text and not any(unicodedata.combining(c) for c in text):
        return text
    out: list[str] = []
    previous_base = ""
    for char in decomposed:
        if unicodedata.combining(char):
            if previous_base and _STRIP_MARK_BASES.match(previous_base):
                continue
        else:
            previous_base = char
        out.append(char)
    return unicodedata.normalize("NFC", "".join(out))


def normalize(text: str) -> str:
    """Normalise text for matching. The result is lower case, accent-free, single-spaced."""
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_ZERO_WIDTH)
    text = _ARABIC_MARKS.sub("", text)
    text = text.translate(_ARABIC_FOLD).translate(_ROMANIAN_FOLD)
    text = text.casefold()
    text = strip_accents(text)
    text = "".join(char if _is_word_char(char) else " " for char in text)
    return " ".join(text.split())


def tokens(text: str) -> list[str]:
    """Words of an already normalised text."""
    return text.split()
