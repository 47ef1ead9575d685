"""QR posters: every language renders, the text is shaped, and every QR code read back from the
printed page opens the bot in the poster's language on the poster's topic. Pictures of the
si, ta, ur and ne posters go to ``docs/posters/`` for ``docs/editors.md``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from bot.handlers.start import parse_deep_link
from bot.kb import KnowledgeBase
from bot.locales import Locales
from bot.posters import DEFAULT_FONTS, FONTS_ENV, SCRIPT_FONTS, Channels, example_questions, render_poster
from tests.conftest import PROJECT
from tests.conversations.conftest import Person

FONTS = Path(os.environ.get(FONTS_ENV) or DEFAULT_FONTS)
if not (FONTS / "NotoSans-Regular.ttf").exists() and os.environ.get("ACASA_REQUIRE_BROWSER"):
    raise RuntimeError("no Noto fonts: install Debian's fonts-noto-core (.ci/run does)")
pytestmark = pytest.mark.skipif(
    not (FONTS / "NotoSans-Regular.ttf").exists(), reason="Debian's fonts-noto-core is not installed"
)
CHANNELS = Channels(
    telegram_bot="AcasaTimisoaraBot", whatsapp_number="+40 712 345 678", web_chat="https://acasa.example.org/chat"
)
SHOTS = PROJECT / "docs" / "posters"


def page_image(pdf: bytes, dpi: int = 150):
    import pymupdf
    from PIL import Image

    document = pymupdf.open(stream=pdf, filetype="pdf")
    pixmap = document[0].get_pixmap(dpi=dpi)
    return Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples), document[0].get_text()


def decoded(image) -> list[str]:
    import zxingcpp

    return sorted(result.text for result in zxingcpp.read_barcodes(image))


@pytest.mark.parametrize("lang", ["ro", "en", "uk", "ru", "ar", "ne", "si", "ta", "bn", "ur", "fr"])
def test_every_language_prints_with_working_codes(shipped_kb: KnowledgeBase, shipped_locales: Locales, lang) -> None:
    pdf = render_poster(shipped_kb, shipped_locales, lang, "health", "A4", CHANNELS)
    image, text = page_image(pdf)
    codes = decoded(image)
    assert len(codes) == 3, codes
    telegram = next(c for c in codes if c.startswith("https://t.me/"))
    assert telegram == f"https://t.me/AcasaTimisoaraBot?start={lang}_health"
    assert parse_deep_link(parse_qs(urlparse(telegram).query)["start"][0]) == (lang, "health")
    whatsapp = next(c for c in codes if c.startswith("https://wa.me/"))
    assert whatsapp.startswith("https://wa.me/40712345678?text=")
    assert unquote(whatsapp.split("text=", 1)[1]) == f"start {lang}_health"
    assert f"https://acasa.example.org/chat?lang={lang}&topic=health" in codes
    assert "112" in text
    questions = example_questions(shipped_kb, "health", lang)
    assert len(questions) == 3
    if lang in SCRIPT_FONTS:  # shaped by HarfBuzz in the language's own font
        assert SCRIPT_FONTS[lang].encode() in pdf
    else:  # unshaped scripts keep a clean text layer
        assert all(q.split()[0].strip("“”?") in text for q in questions)
    if lang in ("si", "ta", "ur", "ne"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        image.resize((image.width // 2, image.height // 2)).save(SHOTS / f"health-{lang}.png")


def test_a5_fits_and_decodes_too(shipped_kb: KnowledgeBase, shipped_locales: Locales) -> None:
    pdf = render_poster(shipped_kb, shipped_locales, "bn", "work", "A5", Channels(telegram_bot="AcasaTimisoaraBot"))
    image, _ = page_image(pdf, dpi=200)
    assert image.width < image.height  # portrait
    assert decoded(image) == ["https://t.me/AcasaTimisoaraBot?start=bn_work"]


def test_examples_are_in_the_languages_own_script(shipped_kb: KnowledgeBase) -> None:
    for lang, script in (("ne", "\u0900"), ("ta", "\u0b80"), ("ar", "\u0600"), ("uk", "\u0400")):
        questions = example_questions(shipped_kb, "rights", lang)
        assert len(questions) == 3
        assert all(any(script <= ch <= chr(ord(script) + 0xFF) for ch in q) for q in questions), questions
    first = example_questions(shipped_kb, "rights", "uk")[0]
    assert first in shipped_kb.entries["rights.temporary_protection"].translations["uk"].examples  # community first


async def test_the_telegram_deep_link_opens_language_and_topic(engine) -> None:
    person = Person(engine, "poster-reader")
    await person.send("/start ne_health")
    assert person.replies[-1].lang == "ne"
    assert any(p.startswith("e:health.") for p in person.payloads)  # the health topic's list
    whatsapp = Person(engine, "poster-reader-2", channel="whatsapp-test")
    await whatsapp.send("start ta_work")  # what the WhatsApp code types for the person
    assert whatsapp.replies[-1].lang == "ta"
    assert any(p.startswith("e:work.") for p in whatsapp.payloads)


def test_the_command_writes_both_sizes_and_explains_a_missing_channel(tmp_path) -> None:
    def acasa(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "TWILIO_WHATSAPP_FROM": ""}
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", "posters", *args],
            capture_output=True,
            text=True,
            cwd=PROJECT,
            env=env,
            timeout=120,
        )

    refused = acasa("-o", str(tmp_path), "--lang", "si", "--topic", "housing")
    assert refused.returncode != 0 and "no channel to put on the poster" in refused.stderr
    done = acasa("-o", str(tmp_path), "--lang", "si", "--topic", "housing", "--telegram-bot", "AcasaTimisoaraBot")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acasa-housing-si-A4.pdf", "acasa-housing-si-A5.pdf"]
