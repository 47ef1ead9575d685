"""The languages Acasă speaks and facts about their scripts."""

from __future__ import annotations

# Order matters: it is the order of menus and reports.
LANGUAGES: tuple[str, ...] = ("ro", "en", "uk", "ru", "ar", "ne", "si", "ta", "bn", "ur", "fr")

ENGLISH_NAMES: dict[str, str] = {
    "ro": "Romanian",
    "en": "English",
    "uk": "Ukrainian",
    "ru": "Russian",
    "ar": "Arabic",
    "ne": "Nepali",
    "si": "Sinhala",
    "ta": "Tamil",
    "bn": "Bengali",
    "ur": "Urdu",
    "fr": "French",
}

RIGHT_TO_LEFT: frozenset[str] = frozenset({"ar", "ur"})

# The script each language is normally written in. Latin-script text may still be any language
# (romanised Nepali, Arabizi, ...), so this is a prior, not a rule.
NATIVE_SCRIPT: dict[str, str] = {
    "ro": "latin",
    "en": "latin",
    "fr": "latin",
    "uk": "cyrillic",
    "ru": "cyrillic",
    "ar": "arabic",
    "ur": "arabic",
    "ne": "devanagari",
    "bn": "bengali",
    "si": "sinhala",
    "ta": "tamil",
}

# Where a translation is missing, answers fall back along this list.
FALLBACK_ORDER: tuple[str, ...] = ("en", "ro")


def is_supported(code: str | None) -> bool:
    return code in ENGLISH_NAMES


def base_code(code: str | None) -> str | None:
    """Map a platform language tag ("uk-UA", "pt_BR", "EN") to one of our codes, or None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-", 1)[0].lower()
    return base if base in ENGLISH_NAMES else None
