"""A language hint from a phone number's country (WhatsApp gives no language of its own).

Only a hint for the language picker and for short messages: a Moldovan may write Russian, a Sri
Lankan Tamil. Countries where no one language is likely (India, Afghanistan) give no hint.
"""

from __future__ import annotations

import phonenumbers

_BY_REGION = {
    **dict.fromkeys(("RO", "MD"), "ro"),
    "UA": "uk",
    **dict.fromkeys(("RU", "BY", "KZ", "KG", "UZ", "TJ"), "ru"),
    "NP": "ne",
    "LK": "si",
    "BD": "bn",
    "PK": "ur",
    **dict.fromkeys(
        ("SY", "IQ", "EG", "JO", "LB", "SD", "MA", "DZ", "TN", "LY", "YE", "PS", "SA", "AE", "KW", "QA", "OM", "BH"),
        "ar",
    ),
    **dict.fromkeys(
        ("FR", "BE", "CM", "CI", "SN", "CD", "CG", "GN", "ML", "BF", "TG", "BJ", "NE", "TD", "GA", "HT", "BI", "CF"),
        "fr",
    ),
    **dict.fromkeys(("GB", "IE", "US", "CA", "AU", "NZ", "NG", "GH", "KE", "UG", "ZW", "ZA", "SL", "LR"), "en"),
}


def language_of_number(number: str) -> str | None:
    """``+380…`` → "uk"; None for an unknown or unparseable number."""
    try:
        parsed = phonenumbers.parse(number.strip(), None)
    except phonenumbers.NumberParseException:
        return None
    return _BY_REGION.get(phonenumbers.region_code_for_number(parsed) or "")
