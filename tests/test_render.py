from __future__ import annotations

import pytest

from bot.render import TELEGRAM_LIMIT, WHATSAPP_LIMIT, split_message, to_plain, to_telegram_html, to_whatsapp

SAMPLE = "**Bold <b> & co** see [IGI](https://igi.mai.gov.ro?a=1&b=2)\n- one\n- two\n\n**Card**\nPhone: 112"


def test_telegram_html_escapes_everything() -> None:
    assert to_telegram_html(SAMPLE) == (
        '<b>Bold &lt;b&gt; &amp; co</b> see <a href="https://igi.mai.gov.ro?a=1&amp;b=2">IGI</a>\n• one\n• two'
        "\n\n<b>Card</b>\nPhone: 112"
    )


def test_whatsapp_markup() -> None:
    assert to_whatsapp(SAMPLE) == (
        "*Bold <b> & co* see IGI (https://igi.mai.gov.ro?a=1&b=2)\n• one\n• two\n\n*Card*\nPhone: 112"
    )


def test_plain_text() -> None:
    assert to_plain(SAMPLE).startswith("Bold <b> & co see IGI (https://igi.mai.gov.ro?a=1&b=2)")


def test_text_from_people_never_breaks_rendering() -> None:
    assert to_telegram_html("# not a heading <script> ** odd") == "# not a heading &lt;script&gt; ** odd"


@pytest.mark.parametrize("limit", [TELEGRAM_LIMIT, WHATSAPP_LIMIT])
def test_split_on_paragraphs_within_the_limit(limit: int) -> None:
    paragraphs = [f"Paragraph {i}: " + "word " * 150 for i in range(20)]
    text = "\n\n".join(paragraphs)
    parts = split_message(text, limit)
    assert all(len(p) <= limit for p in parts)
    assert "\n\n".join(parts) == text  # nothing lost, paragraphs intact
    assert all(p.startswith("Paragraph") for p in parts)


def test_split_huge_paragraph_on_lines_then_words() -> None:
    text = "\n".join("line " + "x" * 100 for _ in range(40)) + "\n" + "y" * 5000
    parts = split_message(text, 1600)
    assert all(len(p) <= 1600 for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
