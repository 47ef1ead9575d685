"""Printable QR posters for bus stations, clinics, schools and the city hall: one per topic and
language, A4 and A5.

Each poster says, in the language, what the bot is for and three questions people ask about the
topic (the first entries of the topic for that community), with QR codes that open the bot in
that language on that topic — Telegram (``t.me/<bot>?start=<lang>_<topic>``), WhatsApp
(``wa.me/<number>?text=start <lang>_<topic>``) and, once the city runs it, the web chat — and the
emergency number. Text is shaped by HarfBuzz (fpdf2 with uharfbuzz) with Debian's Noto fonts, so
Devanagari, Sinhala, Tamil and Bengali conjuncts and right-to-left Arabic and Urdu come out right.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import segno
from fpdf import FPDF

from bot.kb.model import KnowledgeBase
from bot.locales import Locales

FONTS_ENV = "ACASA_FONTS_DIR"
DEFAULT_FONTS = Path("/usr/share/fonts/truetype/noto")
SIZES = ("A4", "A5")
PAGE_MM = {"A4": (210.0, 297.0), "A5": (148.0, 210.0)}
TYPICAL_QUESTION = 40  # characters: long enough to be a real question, short enough for a poster
EXAMPLES_SHOWN = 3
# The font that writes each language (Latin and Cyrillic: Noto Sans).
SCRIPT_FONTS = {
    "ar": "NotoNaskhArabic",
    "ur": "NotoNastaliqUrdu",
    "ne": "NotoSansDevanagari",
    "si": "NotoSansSinhala",
    "ta": "NotoSansTamil",
    "bn": "NotoSansBengali",
}
SHAPING = {  # HarfBuzz script and direction per language
    "ar": ("arab", "rtl"),
    "ur": ("arab", "rtl"),
    "ne": ("deva", "ltr"),
    "si": ("sinh", "ltr"),
    "ta": ("taml", "ltr"),
    "bn": ("beng", "ltr"),
}


class PosterError(Exception):
    """Something the person making posters must fix (missing fonts, no link to put on them)."""


@dataclass(frozen=True)
class Channels:
    """Where the QR codes lead; a poster shows the ones that are set."""

    telegram_bot: str | None = None  # the bot's username, without @
    whatsapp_number: str | None = None  # +40..., the bot's WhatsApp number
    web_chat: str | None = None  # the full-page web chat, e.g. https://acasa.example.org/chat

    def links(self, lang: str, topic: str) -> list[tuple[str, str]]:
        """(channel, URL) for each configured channel: each opens the bot in ``lang`` on ``topic``."""
        start = f"{lang}_{topic}"
        found = []
        if self.telegram_bot:
            found.append(("telegram", f"https://t.me/{self.telegram_bot.lstrip('@')}?start={start}"))
        if self.whatsapp_number:
            digits = "".join(c for c in self.whatsapp_number if c.isdigit())
            found.append(("whatsapp", f"https://wa.me/{digits}?text={quote('start ' + start)}"))
        if self.web_chat:
            found.append(("web", f"{self.web_chat.rstrip('/')}?lang={lang}&topic={topic}"))
        return found


def fonts_dir() -> Path:
    folder = Path(os.environ.get(FONTS_ENV) or DEFAULT_FONTS)
    if not (folder / "NotoSans-Regular.ttf").exists():
        raise PosterError(
            f"no Noto fonts in {folder}: install Debian's fonts-noto-core (apt-get install fonts-noto-core) "
            f"or set {FONTS_ENV}"
        )
    return folder


def example_questions(kb: KnowledgeBase, topic: str, lang: str, count: int = EXAMPLES_SHOWN) -> list[str]:
    """One typical question for each of the topic's first entries for this language's community:
    the entry's example in the language's own script closest to a typical question's length."""
    found = []
    for entry in kb.entries_in_topic(topic, lang):
        text = entry.translations.get(lang)
        if text is None or entry.urgent:  # "my wife fainted" is no question for a wall: 112 is on it
            continue
        usable = [e for e in text.examples if 18 <= len(e) <= 70 and "\n" not in e]
        if lang not in ASCII_SCRIPT:  # the poster shows the language's own script, not a romanisation
            usable = [e for e in usable if not e.isascii()] or usable
        if usable:
            found.append(min(usable, key=lambda e: abs(len(e) - TYPICAL_QUESTION)))
        if len(found) == count:
            break
    return found


ASCII_SCRIPT = frozenset({"ro", "en", "fr"})  # languages whose examples may be plain ASCII


class _Poster(FPDF):
    def __init__(self, size: str, lang: str, folder: Path):
        super().__init__(orientation="portrait", unit="mm", format=PAGE_MM[size])
        self.set_auto_page_break(False)
        self.set_margins(15, 15, 15)
        self.add_font("Latin", "", str(folder / "NotoSans-Regular.ttf"))
        self.add_font("Latin", "B", str(folder / "NotoSans-Bold.ttf"))
        script = SCRIPT_FONTS.get(lang)
        family = "Latin"
        if script:
            self.add_font("Script", "", str(folder / f"{script}-Regular.ttf"))
            self.add_font("Script", "B", str(folder / f"{script}-Bold.ttf"))
            family = "Script"
            self.set_fallback_fonts(["Latin"])  # names such as "Acasă" or "112" inside the text
        self.family_name = family
        shaping = SHAPING.get(lang)
        self.rtl = bool(shaping and shaping[1] == "rtl")
        self.set_text_shaping(True, script=shaping[0] if shaping else None, direction=shaping[1] if shaping else None)

    def use_font(self, text: str, size: float, bold: bool = False) -> None:
        """The language's font (Latin for plain ASCII such as "Telegram"), set afresh: after a
        fallback to the Latin font fpdf2 may keep a stale font state that a repeated ``set_font``
        of the same font does not reset, and shaped glyphs then come out of the wrong font."""
        self.set_font("Latin", "B" if not bold else "", size)
        self.set_font("Latin" if text.isascii() else self.family_name, "B" if bold else "", size)

    def text_block(self, text: str, size: float, bold: bool = False, gap: float = 2) -> None:
        self.use_font(text, size, bold)
        self.multi_cell(0, size * 0.55, text, align="R" if self.rtl else "L", new_x="LMARGIN", new_y="NEXT")
        self.ln(gap)


def render_poster(kb: KnowledgeBase, locales: Locales, lang: str, topic: str, size: str, channels: Channels) -> bytes:
    """One poster as PDF bytes."""
    links = channels.links(lang, topic)
    if not links:
        raise PosterError("no channel to put on the poster: give the Telegram bot, the WhatsApp number or the web chat")
    pdf = _Poster(size, lang, fonts_dir())
    pdf.add_page()
    scale = 1.0 if size == "A4" else 0.72
    pdf.set_text_color(27, 94, 158)
    pdf.text_block("Acasă", 30 * scale, bold=True, gap=1)
    pdf.set_text_color(29, 39, 51)
    pdf.text_block(locales.text(lang, f"topic.{topic}"), 24 * scale, bold=True, gap=3)
    pdf.text_block(locales.text(lang, "poster.intro"), 13 * scale, gap=4)
    opening, closing = ("«", "»") if pdf.rtl else ("“", "”")
    for question in example_questions(kb, topic, lang):
        pdf.text_block(f"{opening}{question}{closing}", 14 * scale, gap=2)
    pdf.ln(4 * scale)
    side = (pdf.w - pdf.l_margin - pdf.r_margin - 10 * (len(links) - 1)) / len(links)
    side = min(side, 62 * scale)
    top = pdf.get_y()
    for index, (channel, url) in enumerate(links):
        x = pdf.l_margin + index * (side + 10)
        image = io.BytesIO()
        segno.make(url, error="m").save(image, kind="png", scale=12, border=2)
        image.seek(0)
        pdf.image(image, x=x, y=top, w=side, h=side)
        pdf.set_xy(x, top + side + 1)
        label = locales.text(lang, f"poster.{channel}")
        pdf.use_font(label, 12 * scale, bold=True)
        pdf.cell(side, 7 * scale, label, align="C")
    pdf.set_y(top + side + 12 * scale)
    pdf.set_text_color(179, 38, 30)
    pdf.text_block(locales.text(lang, "poster.emergency"), 15 * scale, bold=True, gap=2)
    pdf.set_text_color(91, 102, 115)
    pdf.text_block(locales.text(lang, "poster.privacy"), 10 * scale)
    return bytes(pdf.output())


def write_posters(
    kb: KnowledgeBase,
    locales: Locales,
    languages: list[str],
    topics: list[str],
    folder: Path,
    channels: Channels,
    sizes: tuple[str, ...] = SIZES,
) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for lang in languages:
        for topic in topics:
            for size in sizes:
                path = folder / f"acasa-{topic}-{lang}-{size}.pdf"
                path.write_bytes(render_poster(kb, locales, lang, topic, size, channels))
                written.append(path)
    return written
