"""CLDR cardinal plural rules for the languages Acasă speaks (integers only)."""

from __future__ import annotations

from collections.abc import Callable


def _one_other(n: int) -> str:
    return "one" if n == 1 else "other"


def _zero_one_other(n: int) -> str:
    # Indic languages and French treat 0 and 1 alike for integers.
    return "one" if n in (0, 1) else "other"


def _french(n: int) -> str:
    if n in (0, 1):
        return "one"
    if n != 0 and n % 1_000_000 == 0:
        return "many"
    return "other"


def _romanian(n: int) -> str:
    if n == 1:
        return "one"
    if n == 0 or 1 <= n % 100 <= 19:
        return "few"
    return "other"


def _east_slavic(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return "one"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "few"
    return "many"


def _arabic(n: int) -> str:
    if n == 0:
        return "zero"
    if n == 1:
        return "one"
    if n == 2:
        return "two"
    if 3 <= n % 100 <= 10:
        return "few"
    if 11 <= n % 100 <= 99:
        return "many"
    return "other"


RULES: dict[str, Callable[[int], str]] = {
    "en": _one_other,
    "ro": _romanian,
    "uk": _east_slavic,
    "ru": _east_slavic,
    "ar": _arabic,
    "ne": _one_other,
    "si": _zero_one_other,
    "ta": _one_other,
    "bn": _zero_one_other,
    "ur": _one_other,
    "fr": _french,
}

CATEGORIES: dict[str, frozenset[str]] = {
    "en": frozenset({"one", "other"}),
    "ro": frozenset({"one", "few", "other"}),
    "uk": frozenset({"one", "few", "many", "other"}),
    "ru": frozenset({"one", "few", "many", "other"}),
    "ar": frozenset({"zero", "one", "two", "few", "many", "other"}),
    "ne": frozenset({"one", "other"}),
    "si": frozenset({"one", "other"}),
    "ta": frozenset({"one", "other"}),
    "bn": frozenset({"one", "other"}),
    "ur": frozenset({"one", "other"}),
    "fr": frozenset({"one", "many", "other"}),
}


def category(lang: str, n: int) -> str:
    return RULES.get(lang, _one_other)(abs(n))
