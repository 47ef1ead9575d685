"""Multilingual question matching: normalisation, transliteration, language id and matchers."""
