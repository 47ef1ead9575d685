"""Render the Markdown subset for each channel, and split long texts at the channel's limit.

Telegram gets HTML (everything escaped), WhatsApp its own markup (*bold*, _italics_, links
spelled out), terminals plain text. In a right-to-left language every line starts with a
right-to-left mark, so a line that begins with a Latin name (an office, a law) still reads right
to left. Splitting happens on paragraph boundaries, then lines, then words, so a
contact card or a bullet is never cut in half unless it alone is longer than the limit.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable

from bot.locales import RLM
from bot.markdown import Span, parse
from nlu.languages import RIGHT_TO_LEFT

TELEGRAM_LIMIT = 4096
WHATSAPP_LIMIT = 1600
SHORT_LABEL = 18  # two buttons of at most this many characters share a row on a phone


def _span_telegram(span: Span) -> str:
    text = html.escape(span.text, quote=False)
    if span.url:
        text = f'<a href="{html.escape(span.url, quote=True)}">{text}</a>'
    if span.italic:
        text = f"<i>{text}</i>"
    return f"<b>{text}</b>" if span.bold else text


def _span_whatsapp(span: Span) -> str:
    text = span.text
    if span.url and span.url != span.text:
        text = f"{text} ({span.url})"
    if span.italic and text.strip():
        text = f"_{text.strip()}_"
    return f"*{text.strip()}*" if span.bold and text.strip() else text


def _span_plain(span: Span) -> str:
    return f"{span.text} ({span.url})" if span.url and span.url != span.text else span.text


def is_rtl(lang: str | None) -> bool:
    return lang in RIGHT_TO_LEFT


def _render(markdown: str, span_fn: Callable[[Span], str], rtl: bool) -> str:
    # Lines inside a paragraph (contact cards) stay on their own lines.
    out: list[str] = []
    for paragraph in markdown.strip().split("\n\n"):
        lines = []
        for line in paragraph.split("\n"):
            for block in parse(line, strict=False):
                text = "".join(span_fn(s) for s in block.spans)
                text = ("• " + text) if block.kind == "bullet" else text
                if rtl and text and not text.startswith(RLM):
                    text = RLM + text
                lines.append(text)
        out.append("\n".join(lines))
    return "\n\n".join(p for p in out if p)


# Answers repeat (the same entry, in the same language, for many people): render each once.
@functools.lru_cache(maxsize=2048)
def to_telegram_html(markdown: str, rtl: bool = False) -> str:
    return _render(markdown, _span_telegram, rtl)


@functools.lru_cache(maxsize=2048)
def to_whatsapp(markdown: str, rtl: bool = False) -> str:
    return _render(markdown, _span_whatsapp, rtl)


@functools.lru_cache(maxsize=4096)
def to_html(markdown: str) -> str:
    """HTML for the web (help pages, web chat): everything escaped, then paragraphs, bullet lists,
    bold, italics and links (opening outside). Direction is set by the page, not by marks."""
    out: list[str] = []
    for paragraph in markdown.strip().split("\n\n"):
        lines: list[str] = []
        bullets: list[str] = []
        for line in paragraph.split("\n"):
            for block in parse(line, strict=False):
                text = "".join(_span_html(s) for s in block.spans)
                if block.kind == "bullet":
                    bullets.append(f"<li>{text}</li>")
                    continue
                if bullets:
                    lines.append("<ul>" + "".join(bullets) + "</ul>")
                    bullets = []
                lines.append(text)
        if bullets:
            lines.append("<ul>" + "".join(bullets) + "</ul>")
        html_lines = []
        for item in lines:  # lines of a paragraph (a contact card) keep their breaks
            if item.startswith("<ul>"):
                html_lines.append(item)
            elif html_lines and not html_lines[-1].startswith("<ul>"):
                html_lines[-1] += "<br>" + item
            else:
                html_lines.append(item)
        out.extend(item if item.startswith("<ul>") else f"<p>{item}</p>" for item in html_lines if item)
    return "".join(out)


def _span_html(span: Span) -> str:
    text = html.escape(span.text, quote=False)
    if span.url:
        link = html.escape(span.url, quote=True)
        text = f'<a href="{link}" rel="noopener noreferrer" target="_blank">{text}</a>'
    if span.italic:
        text = f"<i>{text}</i>"
    return f"<b>{text}</b>" if span.bold else text


def to_plain(markdown: str, rtl: bool = False) -> str:
    return _render(markdown, _span_plain, rtl)


def button_rows(labels: list[str]) -> list[list[int]]:
    """Rows of button indexes: two neighbours share a row when both labels are short, and the
    last button (the way back to the menu) has a row of its own when there are more than two."""
    rows: list[list[int]] = []
    last = len(labels) - 1
    index = 0
    while index <= last:
        pair = index + 1 < last or (index + 1 == last and last == 1)
        if pair and len(labels[index]) <= SHORT_LABEL and len(labels[index + 1]) <= SHORT_LABEL:
            rows.append([index, index + 1])
            index += 2
        else:
            rows.append([index])
            index += 1
    return rows


def split_message(text: str, limit: int, separators: tuple[str, ...] = ("\n\n", "\n", " ")) -> list[str]:
    """Split at paragraph boundaries, else lines, else words, so each part fits ``limit``."""
    if len(text) <= limit:
        return [text]
    if not separators:
        return [text[i : i + limit] for i in range(0, len(text), limit)]
    separator, finer = separators[0], separators[1:]
    parts: list[str] = []
    current = ""
    for piece in text.split(separator):
        candidate = f"{current}{separator}{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        if len(piece) <= limit:
            current = piece
        else:
            pieces = split_message(piece, limit, finer)
            parts.extend(pieces[:-1])
            current = pieces[-1]
    if current:
        parts.append(current)
    return parts
