"""Normalisation and transliteration: spelling variants of one word meet."""

from __future__ import annotations

import pytest

from nlu.normalize import normalize
from nlu.translit import skeleton, to_latin


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [
        ("Şcoală ŢARĂ", "școală țară"),  # cedilla vs comma below
        ("scoala tara", "școală țară"),  # no diacritics at all
        ("ÉCOLE", "école"),
        ("كَيْفَ أُقَدِّمُ", "كيف اقدم"),  # tashkeel and hamza-alef
        ("مدرسة", "مدرسه"),  # teh marbuta
        ("ڈاکٹر کہاں ہے", "ڈاکٹر كهاں هے"),  # Urdu heh goal / keheh vs Arabic letters
        ("یہ", "يه"),  # Farsi yeh
        ("ශ්\u200dරී", "ශ්රී"),  # zero-width joiner
        ("ｄｏｃｔｏｒ", "doctor"),  # full-width letters (NFKC)
        ("Ёлка", "елка"),
    ],
)
def test_variants_normalise_equal(variant: str, canonical: str) -> None:
    assert normalize(variant) == normalize(canonical)


@pytest.mark.parametrize("text", ["मलाई भिसा चाहिन्छ", "আমি কাজ খুঁজছি", "வேலை வேண்டும்", "මට වැඩක් ඕනේ"])
def test_indic_vowel_signs_are_kept(text: str) -> None:
    assert normalize(text) == text


def test_punctuation_and_space_collapse() -> None:
    assert normalize("  Hello,   WORLD!!! ¿qué?  ") == "hello world que"


@pytest.mark.parametrize(
    ("native", "romanized"),
    [
        ("Як отримати дозвіл", "yak otrymaty dozvil"),
        ("вид на жительство", "vid na zhitelstvo"),
        ("मलाई भिसा चाहिन्छ", "malai visa chahinchha"),
        ("مجھے ڈاکٹر چاہیے", "mujhe doctor chahiye"),
        ("আমি কাজ খুঁজছি", "ami kaj khujchi"),
    ],
)
def test_romanised_input_meets_native_script(native: str, romanized: str) -> None:
    native_skeleton = skeleton(to_latin(normalize(native))).split()
    roman_skeleton = skeleton(to_latin(normalize(romanized))).split()
    shared = set(native_skeleton) & set(roman_skeleton)
    assert len(shared) >= len(native_skeleton) - 1, (native_skeleton, roman_skeleton)


def test_arabizi_digits_become_letters() -> None:
    assert to_latin("7abibi 3ala") == "habibi aala"
    assert to_latin("112") == "112"  # plain numbers stay numbers
