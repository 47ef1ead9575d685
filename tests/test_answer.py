"""Composing replies: answers carry contacts, sources and the date; fallbacks are announced."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.handlers.answer import compose_answer, compose_contacts, compose_more, compose_reply, split_answer
from bot.kb import KnowledgeBase, load_knowledge
from bot.locales import RLM, Locales
from bot.markdown import parse
from nlu.matcher import Candidate, Outcome, Prediction


def test_answer_first_then_sources_and_contacts_on_demand(shipped_kb: KnowledgeBase, shipped_locales: Locales) -> None:
    entry = shipped_kb.entries["rights.asylum"]
    reply = compose_answer(shipped_kb, shipped_locales, entry, "en")
    parse(reply.text)  # stays within the Markdown subset every channel can render
    assert reply.intent == "rights.asylum"
    assert reply.text.startswith(f"**{entry.translations['en'].title}**")
    assert "https://" not in reply.text and "Last checked" not in reply.text
    payloads = [b.payload for b in reply.buttons]
    assert payloads == ["more:rights.asylum", "who:rights.asylum", "fb:rights.asylum:1", "fb:rights.asylum:0", "menu"]

    more = compose_more(shipped_kb, shipped_locales, entry, "en")
    parse(more.text)
    shown = [s for s in entry.sources if s.url in more.text]
    assert len(entry.sources) > 3 and len(shown) == 3  # the first three specific pages, not a wall of links
    assert shown == [s for s in entry.sources if "://" in s.url and s.url.count("/") > 3][:3]
    assert f"Last checked: {entry.last_verified.isoformat()}" in more.text
    first, rest = split_answer(entry.translations["en"].answer)
    assert rest and rest in more.text and first in reply.text  # nothing of the text is lost between them
    assert [b.payload for b in more.buttons if b.payload.startswith("e:")] == [f"e:{r}" for r in entry.related][:2]

    contacts = compose_contacts(shipped_kb, shipped_locales, entry, "en")
    for cid in entry.contacts:
        assert shipped_kb.contacts[cid].display_name("en") in contacts.text
    assert [b.payload for b in contacts.buttons] == ["human", "more:rights.asylum", "menu"]
    assert all(len(b.payload.encode()) <= 64 for r in (reply, more, contacts) for b in r.buttons)


def test_split_answer_keeps_paragraphs_whole_and_loses_nothing() -> None:
    paragraphs = ["A" * 300, "Intro:\n- one\n- two", "B" * 400, "C" * 50]
    first, rest = split_answer("\n\n".join(paragraphs), budget=400)
    assert first == "\n\n".join(paragraphs[:2]) and rest == "\n\n".join(paragraphs[2:])
    long_first, rest = split_answer("X" * 900 + "\n\n" + "Y" * 300, budget=400)
    assert long_first == "X" * 900 and rest == "Y" * 300  # at least one paragraph, never cut
    whole, rest = split_answer("A" * 300 + "\n\n" + "tiny tail", budget=300)
    assert rest == "" and whole.endswith("tiny tail")  # a short rest is not worth a button


def test_unconfirmed_contact_is_flagged(shipped_kb: KnowledgeBase, shipped_locales: Locales) -> None:
    entry = next(
        e for e in shipped_kb.entries.values() if any(not shipped_kb.contacts[c].confirmed for c in e.contacts)
    )
    reply = compose_contacts(shipped_kb, shipped_locales, entry, "en")
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
    text = shipped_kb.entries["health.family_doctor"].translations["fr"]
    assert reply.buttons[0].label == text.short_title and len(text.short_title) <= 24  # fits a phone's button


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
    assert f"_{notice}_" in translated.text  # a note in italics, which every channel renders
