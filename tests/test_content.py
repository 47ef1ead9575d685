"""Guards on the shipped content: coverage, example variety, and no invented phone numbers."""

from __future__ import annotations

import re

import pytest

from bot.kb import KnowledgeBase
from nlu.languages import LANGUAGES

REQUIRED_ENTRIES = (
    "rights.temporary_protection",
    "rights.asylum",
    "rights.residence_permit",
    "rights.work_permit",
    "rights.legal_aid",
    "rights.family_reunification",
    "rights.discrimination",
    "health.family_doctor",
    "health.insurance",
    "health.emergency",
    "health.vaccination",
    "health.mental_health",
    "health.pregnancy",
    "health.interpreter",
    "education.school_enrolment",
    "education.kindergarten",
    "education.audient",
    "education.romanian_courses",
    "education.diploma_recognition",
    "work.find_job",
    "work.labour_rights",
    "work.report_abuse",
    "housing.find_rental",
    "housing.emergency_shelter",
    "general.human",
    "general.privacy",
)

ROMANIZED_LANGUAGES = ("ne", "uk", "ru", "ar", "bn", "ur")
# Long numbers that may appear in answer text besides contacts' own (112 and 119 are short).
CERTAIN_NUMBERS = {"116111"}
PHONE_LIKE = re.compile(r"(?<![\w/.-])\+?\d[\d ]{2,}\d(?![\w/.-])")


def test_every_required_entry_exists_in_every_language(shipped_kb: KnowledgeBase) -> None:
    for eid in REQUIRED_ENTRIES:
        assert eid in shipped_kb.entries, eid
        assert set(shipped_kb.entries[eid].translations) == set(LANGUAGES), eid


@pytest.mark.parametrize("lang", LANGUAGES)
def test_examples_are_plentiful_and_realistic(shipped_kb: KnowledgeBase, lang: str) -> None:
    for entry in shipped_kb.entries.values():
        examples = entry.translations[lang].examples
        assert len(examples) >= 10, (entry.id, lang)
        if lang in ROMANIZED_LANGUAGES:
            latin = [e for e in examples if e.isascii()]
            assert len(latin) >= 4, (entry.id, lang, "romanized examples")
        if lang == "ro":
            plain = [e for e in examples if e.isascii()]
            assert len(plain) >= 3, (entry.id, "Romanian without diacritics")


def test_no_phone_numbers_in_answers_except_certain_ones(shipped_kb: KnowledgeBase) -> None:
    contact_numbers = {p.replace(" ", "") for c in shipped_kb.contacts.values() for p in c.phones}
    allowed = CERTAIN_NUMBERS | contact_numbers
    for entry in shipped_kb.entries.values():
        for lang, text in entry.translations.items():
            for match in PHONE_LIKE.finditer(text.answer):
                digits = re.sub(r"\D", "", match.group())
                if len(digits) >= 5:  # shorter groups are years, days, ages, 112 and 119
                    assert digits in allowed, (entry.id, lang, match.group())


def test_every_entry_cites_sources_and_a_check_date(shipped_kb: KnowledgeBase) -> None:
    for entry in shipped_kb.entries.values():
        assert entry.sources and all(s.url.startswith("https://") for s in entry.sources), entry.id
        assert entry.last_verified is not None


def test_unconfirmed_contacts_are_marked(shipped_kb: KnowledgeBase) -> None:
    unconfirmed = {c.id for c in shipped_kb.contacts.values() if not c.confirmed}
    assert {"suicide_prevention_line", "anti_trafficking_line"} <= unconfirmed
    assert shipped_kb.contacts["emergency_112"].confirmed
