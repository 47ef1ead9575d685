"""Composing replies: answers carry contacts, sources and the date; fallbacks are announced."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.handlers.answer import compose_answer, compose_reply
from bot.kb import KnowledgeBase, load_knowledge
from bot.locales import RLM, Locales
from bot.markdown import parse
from nlu.matcher import Candidate, Outcome, Prediction


def test_answer_has_contacts_sources_date_and_buttons(shipped_kb: KnowledgeBase, shipped_locales: Locales) -> None:
    entry = shipped_kb.entries["rights.asylum"]
    reply = compose_answer(shipped_kb, shipped_locales, entry, "en")
    parse(reply.text)  # stays within the Markdown subset every channel can render
    assert reply.intent == "rights.asylum"
    assert entry.translations["en"].title in reply.text
    shown = [s for s in entry.sources if s.url in reply.text]
    assert len(entry.sources) > 3 and len(shown) == 3  # the first three specific pages, not a wall of links
    assert shown == [s for s in entry.sources if "://" in s.url and s.url.count("/") > 3][:3]
    assert f"Last checked: {entry.last_verified.isoformat()}" in reply.text
    for cid in entry.contacts:
        assert shipped_kb.contacts[cid].display_name("en") in reply.text
    payloads = [b.payload for b in reply.buttons]
    assert payloads[:2] == ["fb:rights.asylum:1", "fb:rights.asylum:0"]
    assert [p for p in payloads if p.startswith("e:")] == [f"e:{r}" for r in entry.related]
    assert "human" in payloads and "menu" in payloads
    assert all(len(p.encode()) <= 64 for p in payloads)


def test_unconfirmed_contact_is_flagged(shipped_kb: KnowledgeBase, shipped_locales: Locales) -> None:
    entry = next(
        e for e in shipped_kb.entries.values() if any(not shipped_kb.contacts[c].confirmed for c in e.contacts)
    )
    reply = compose_answer(shipped_kb, shipped_locales, entry, "en")
    assert "Not yet confirmed" in reply.text


def test_answer_in_arabic_is_right_to_left(shipped_kb: KnowledgeBase, shipped_locales: Locales) -> None:
    reply = compose_answer(shipped_kb, shipped_locales, shipped_kb.entries["health.emergency"], "ar")
    assert shipped_kb.entries["health.emergency"].translations["ar"].title in reply.text
    assert RLM in reply.text


def test_missing_translation_falls_back_and_says_so(small_kb: Path, shipped_locales: Locales) -> None:
    (small_kb / "entries" / "rights.asylum" / "ne.yaml").unlink()
    kb, _ = load_knowledge(small_kb, today=dt.date(2026, 11, 22))
    assert kb is not None
    reply = compose_answer(kb, shipped_locales, kb.entries["rights.asylum"], "ne")
    assert "rights.asylum in en" in reply.text
    assert shipped_locales.native_name("en") in reply.text.split("\n")[0]


def test_did_you_mean_offers_entry_titles(shipped_kb: KnowledgeBase, shipped_locales: Locales) -> None:
    prediction = Prediction(
        Outcome.SUGGEST, "fr", (Candidate("health.family_doctor", 0.4), Candidate("health.emergency", 0.35))
    )
    reply = compose_reply(shipped_kb, shipped_locales, prediction, "fr")
    assert reply.intent is None
    assert [b.payload for b in reply.buttons] == ["e:health.family_doctor", "e:health.emergency", "human"]
    assert reply.buttons[0].label == shipped_kb.entries["health.family_doctor"].translations["fr"].title


def test_no_match_is_honest_and_offers_a_person(shipped_kb: KnowledgeBase, shipped_locales: Locales) -> None:
    reply = compose_reply(shipped_kb, shipped_locales, Prediction(Outcome.NONE, "ne"), "ne")
    assert reply.text == shipped_locales.text("ne", "nomatch.message")
    assert [b.payload for b in reply.buttons] == ["menu", "human"]


def test_the_machine_translation_notice_is_only_on_translations(
    shipped_kb: KnowledgeBase, shipped_locales: Locales
) -> None:
    entry = shipped_kb.entries["rights.asylum"]
    assert entry.written_in == "en" and not entry.translations["uk"].reviewed
    original = compose_answer(shipped_kb, shipped_locales, entry, "en")
    translated = compose_answer(shipped_kb, shipped_locales, entry, "uk")
    assert shipped_locales.text("en", "answer.unreviewed") not in original.text
    notice = shipped_locales.text("uk", "answer.unreviewed")
    assert notice in translated.text
    assert f"_{notice}_" not in translated.text  # no markup the channels cannot render
