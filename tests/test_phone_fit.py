"""Every answer, in every language, on every channel: markup each channel can show, right-to-left
lines marked, messages within the platform's limits, buttons that fit a phone; and the length of
the first message people see, printed per language and channel (``pytest -s`` shows the table)."""

from __future__ import annotations

import html
import statistics
from html.parser import HTMLParser

import pytest

from bot.channels.terminal import render as terminal_render
from bot.channels.whatsapp import render as whatsapp_render
from bot.handlers.answer import compose_answer, compose_contacts, compose_more, compose_sources
from bot.kb import KnowledgeBase
from bot.locales import Locales
from bot.messages import Outgoing
from bot.render import (
    RLM,
    SHORT_LABEL,
    TELEGRAM_LIMIT,
    WHATSAPP_LIMIT,
    button_rows,
    is_rtl,
    split_message,
    to_telegram_html,
)

COMPOSERS = (compose_answer, compose_more, compose_sources, compose_contacts)
TELEGRAM_TAGS = {"b", "i", "a"}


class _TelegramHtml(HTMLParser):
    """Checks what Telegram's HTML parse mode accepts: known tags, properly nested."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problems: list[str] = []
        self.visible: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in TELEGRAM_TAGS:
            self.problems.append(f"tag <{tag}>")
        self.open.append(tag)

    def handle_endtag(self, tag):
        if not self.open or self.open.pop() != tag:
            self.problems.append(f"misnested </{tag}>")

    def handle_data(self, data):
        self.visible.append(data)


def telegram_visible(markdown: str, lang: str) -> tuple[str, list[str]]:
    checker = _TelegramHtml()
    checker.feed(to_telegram_html(markdown, is_rtl(lang)))
    checker.close()
    problems = checker.problems + [f"unclosed <{t}>" for t in checker.open]
    return "".join(checker.visible), problems


def whatsapp_text(reply: Outgoing, locales: Locales) -> str:
    body = {"text": reply.text, "lang": reply.lang, "buttons": [[b.label, b.payload] for b in reply.buttons]}
    return whatsapp_render(body, locales)


def all_replies(kb: KnowledgeBase, locales: Locales):
    for lang in locales.languages:
        for entry in kb.entries.values():
            for compose in COMPOSERS:
                yield lang, entry.id, compose.__name__, compose(kb, locales, entry, lang)


def test_every_answer_renders_cleanly_on_every_channel(shipped_kb: KnowledgeBase, shipped_locales: Locales) -> None:
    problems: list[str] = []
    checked = 0
    for lang, eid, part, reply in all_replies(shipped_kb, shipped_locales):
        where = f"{lang} {eid} {part}"
        checked += 1
        visible, html_problems = telegram_visible(reply.text, lang)
        problems += [f"{where}: Telegram {p}" for p in html_problems]
        plain = terminal_render(reply)
        wa = whatsapp_text(reply, shipped_locales)
        for channel, text in (("Telegram", visible), ("terminal", plain), ("WhatsApp", wa)):
            if "**" in text or "](" in text:
                problems.append(f"{where}: {channel} shows raw markup")
        for channel, text in (("Telegram", visible), ("terminal", plain)):
            if any(line.strip(RLM).startswith("_") and line.endswith("_") for line in text.splitlines()):
                problems.append(f"{where}: {channel} shows underscores around a note")
        if is_rtl(lang):  # every line, whatever it starts with (a Latin name, a number, a link)
            for channel, text in (("Telegram", visible), ("WhatsApp", wa), ("terminal", plain)):
                lines = [line for line in text.splitlines() if line.strip()]
                unmarked = [line for line in lines if not line.startswith(RLM)]
                if unmarked:
                    problems.append(f"{where}: {channel} line without a right-to-left mark: {unmarked[0][:40]!r}")
        if any(len(p) > TELEGRAM_LIMIT for p in split_message(to_telegram_html(reply.text), TELEGRAM_LIMIT)):
            problems.append(f"{where}: a Telegram part over the limit")
        if any(len(p) > WHATSAPP_LIMIT for p in split_message(wa, WHATSAPP_LIMIT)):
            problems.append(f"{where}: a WhatsApp part over the limit")
        payloads = [b.payload for b in reply.buttons]
        if any(len(p.encode()) > 64 for p in payloads):
            problems.append(f"{where}: a button payload over Telegram's 64 bytes")
        if len(reply.buttons) > 5 or payloads[-1] != "menu":
            problems.append(f"{where}: {len(reply.buttons)} buttons, or the menu not last")
        if any(len(b.label) > 24 for b in reply.buttons):
            problems.append(f"{where}: a button label too long for a phone")
    assert checked == len(shipped_locales.languages) * len(shipped_kb.entries) * len(COMPOSERS)
    assert not problems, "\n".join(problems[:30])


def test_answer_buttons_sit_two_to_a_row(shipped_kb: KnowledgeBase, shipped_locales: Locales) -> None:
    rows_per_language = {}
    for lang in shipped_locales.languages:
        reply = compose_answer(shipped_kb, shipped_locales, shipped_kb.entries["health.family_doctor"], lang)
        rows = button_rows([b.label for b in reply.buttons])
        rows_per_language[lang] = len(rows)
        assert rows[-1] == [len(reply.buttons) - 1]  # the menu alone at the bottom
    assert all(n <= 4 for n in rows_per_language.values()), rows_per_language
    assert sum(n == 3 for n in rows_per_language.values()) >= 8, rows_per_language  # 2 + 2 + menu


def test_button_rows_pair_only_short_neighbours() -> None:
    short, long = "Sources", "x" * (SHORT_LABEL + 1)
    assert button_rows([short, short, short, short, "Menu"]) == [[0, 1], [2, 3], [4]]
    assert button_rows([long, short, short, "Menu"]) == [[0], [1, 2], [3]]
    assert button_rows([short, "Menu"]) == [[0, 1]]
    assert button_rows([short, short, "Menu"]) == [[0, 1], [2]]


def test_first_message_fits_a_phone(shipped_kb: KnowledgeBase, shipped_locales: Locales) -> None:
    """The measure of this work: the median first Telegram message under 900 characters, and at
    least 80% of WhatsApp answers in one message. Prints the distribution per language."""
    lines = [f"{'lang':5} {'Telegram first message (characters)':>38}   WhatsApp answers in one message"]
    lines.append(f"{'':5} {'median':>8} {'p90':>8} {'max':>8} {'':>10}")
    all_lengths: list[int] = []
    single, total = 0, 0
    for lang in shipped_locales.languages:
        lengths, one = [], 0
        for entry in shipped_kb.entries.values():
            reply = compose_answer(shipped_kb, shipped_locales, entry, lang)
            visible, _ = telegram_visible(reply.text, lang)
            lengths.append(len(html.unescape(visible)))
            one += len(split_message(whatsapp_text(reply, shipped_locales), WHATSAPP_LIMIT)) == 1
        lengths.sort()
        all_lengths += lengths
        single += one
        total += len(lengths)
        p90 = lengths[int(0.9 * (len(lengths) - 1))]
        median = statistics.median(lengths)
        lines.append(f"{lang:5} {median:8.0f} {p90:8d} {lengths[-1]:8d} {'':>10} {one}/{len(lengths)}")
        assert median < 900, f"{lang}: median first message {median} characters"
    overall = statistics.median(all_lengths)
    lines.append(f"{'all':5} {overall:8.0f} {'':>8} {max(all_lengths):8d} {'':>10} {single}/{total}")
    print("\n" + "\n".join(lines))
    assert statistics.median(all_lengths) < 900
    assert single / total >= 0.8


@pytest.mark.parametrize("lang", ["ar", "ur"])
def test_right_to_left_answer_lines_starting_with_latin_are_marked(
    shipped_kb: KnowledgeBase, shipped_locales: Locales, lang: str
) -> None:
    """The case that went wrong: a line of an Arabic or Urdu answer that begins with a Latin name."""
    found = 0
    for entry in shipped_kb.entries.values():
        for compose in COMPOSERS:
            reply = compose(shipped_kb, shipped_locales, entry, lang)
            visible, _ = telegram_visible(reply.text, lang)
            for line in visible.splitlines():
                body = line.lstrip(RLM + "• ")
                if body[:1].isascii() and body[:1].isalpha():
                    found += 1
                    assert line.startswith(RLM), line
    assert found > 10  # such lines exist (contact names, official terms), and each is marked
