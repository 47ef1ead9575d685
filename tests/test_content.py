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
    # Topics people asked about that had no entry (content audit, December 2026)
    "rights.temporary_protection_end",
    "rights.domestic_violence",
    "work.non_eu_workers",
    "rights.permit_expiry",
    "rights.social_benefits",
    "general.bank_account",
    "work.taxes",
    "general.driving_licence",
    "rights.long_term_residence",
    "rights.birth_registration",
    "health.medicines",
    "rights.unaccompanied_children",
    "general.translations_apostille",
    "rights.voluntary_return",
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


def test_every_entry_cites_a_specific_page_that_says_what_it_supports(shipped_kb: KnowledgeBase) -> None:
    from bot.kb.loader import is_home_page

    assert len(shipped_kb.entries) >= 38
    for entry in shipped_kb.entries.values():
        assert entry.sources and all(s.url.startswith(("https://", "http://")) for s in entry.sources), entry.id
        specific = [s for s in entry.sources if not is_home_page(s.url)]
        assert specific, (entry.id, "cites only home pages")
        assert all(s.supports for s in specific), (entry.id, "a source does not say what it supports")
        assert entry.last_verified is not None


def test_every_contact_has_its_note_and_name_in_every_language(shipped_kb: KnowledgeBase) -> None:
    for contact in shipped_kb.contacts.values():
        assert set(contact.notes) >= set(LANGUAGES), (contact.id, set(LANGUAGES) - set(contact.notes))
        missing = {lang for lang in LANGUAGES if lang not in ("ro", "en")} - set(contact.names)
        assert not missing, (contact.id, missing)


def test_doubtful_claims_are_listed_where_editors_see_them(shipped_kb: KnowledgeBase) -> None:
    """The facts no public page confirmed are written down, not silently stated or silently dropped."""
    doubts = {e.id: e.doubts for e in shipped_kb.entries.values()}
    assert any("4 March 2027" in d or "2027" in d for d in doubts["rights.temporary_protection_end"])
    assert any("0800 801 200" in d or "suicide" in d.lower() for d in doubts["health.mental_health"])


def test_unconfirmed_contacts_are_marked(shipped_kb: KnowledgeBase) -> None:
    unconfirmed = {c.id for c in shipped_kb.contacts.values() if not c.confirmed}
    assert {"suicide_prevention_line", "anti_trafficking_line"} <= unconfirmed
    assert shipped_kb.contacts["emergency_112"].confirmed


# -- facts an audit found wrong or missing (December 2026): they must not come back -----------------

DV_HELPLINE = "0800 500 333"


def test_no_language_states_the_old_work_permit_fee_or_revisal_as_current(shipped_kb: KnowledgeBase) -> None:
    for entry in shipped_kb.entries.values():
        for lang, text in entry.translations.items():
            answer = text.answer
            assert not re.search(r"200\s*(€|euro|евро|євро|يورو|یورو|यूरो|ইউরো|යුරෝ|யூரோ)|€\s*200", answer, re.I), (
                entry.id,
                lang,
            )
            if "REVISAL" in answer.upper():  # only as the register REGES-ONLINE replaced
                assert "REGES" in answer.upper(), (entry.id, lang)


def test_asylum_decision_times_are_complete_in_every_language(shipped_kb: KnowledgeBase) -> None:
    asylum = shipped_kb.entries["rights.asylum"]
    for lang in LANGUAGES:
        answer = asylum.translation(lang).answer
        for number in ("30", "6", "9", "3"):
            assert re.search(rf"(?<!\d){number}(?!\d)", answer) or _native_digit(number, answer), (lang, number)


def _native_digit(number: str, text: str) -> bool:
    """Devanagari, Bengali, Arabic-Indic and Persian digits count too."""
    zeros = (0x0966, 0x09E6, 0x0660, 0x06F0)
    return any("".join(chr(zero + int(d)) for d in number) in text for zero in zeros)


def test_the_domestic_violence_helpline_is_in_the_crisis_and_violence_texts(shipped_kb: KnowledgeBase) -> None:
    import yaml

    from tests.conftest import PROJECT

    for lang in LANGUAGES:
        strings = yaml.safe_load((PROJECT / "locales" / f"{lang}.yaml").read_text(encoding="utf-8"))
        assert DV_HELPLINE in strings["crisis.message"], lang
        for entry in (
            "health.mental_health",
            "work.report_abuse",
            "housing.emergency_shelter",
            "rights.domestic_violence",
        ):
            assert DV_HELPLINE in shipped_kb.entries[entry].translation(lang).answer, (entry, lang)
    assert DV_HELPLINE in shipped_kb.contacts["anes_dv_helpline"].phones


def test_unconfirmed_phone_numbers_are_never_stated_as_certain(shipped_kb: KnowledgeBase) -> None:
    """Lines no official page confirms appear only on their contact card, with its warning."""
    unconfirmed = {p.replace(" ", "") for c in shipped_kb.contacts.values() if not c.confirmed for p in c.phones}
    assert "0800801200" not in {
        p.replace(" ", "") for c in shipped_kb.contacts.values() if c.confirmed for p in c.phones
    }
    for entry in shipped_kb.entries.values():
        for lang, text in entry.translations.items():
            digits = re.sub(r"\D", "", text.answer)
            assert not any(number in digits for number in unconfirmed), (entry.id, lang)
