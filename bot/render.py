"""Render the Markdown subset for each channel, and split long texts at the channel's limit.

Telegram gets HTML (everything escaped), WhatsApp its own markup (*bold*, links spelled out),
terminals plain text. Splitting happens on paragraph boundaries, then lines, then words, so a
contact card or a bullet is never cut in half unless it alone is longer than the limit.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable

from bot.markdown import Span, parse

TELEGRAM_LIMIT = 4096
WHATSAPP_LIMIT = 1600


def _span_telegram(span: Span) -> str:
    text = html.escape(span.text, quote=False)
    if span.url:
        text = f'<a href="{html.escape(span.url, quote=True)}">{text}</a>'
    return f"<b>{text}</b>" if span.bold else text


def _span_whatsapp(span: Span) -> str:
    text = span.text
    if span.url and span.url != span.text:
        text = f"{text} ({span.url})"
    return f"*{text.strip()}*" if span.bold and text.strip() else text


def _span_plain(span: Span) -> str:
    return f"{span.text} ({span.url})" if span.url and span.url != span.text else span.text


def _render(markdown: str, span_fn: Callable[[Span], str]) -> str:
    # Lines inside a paragraph (contact cards) stay on their own lines.
    out: list[str] = []
    for paragraph in markdown.strip().split("\n\n"):
        lines = []
        for line in paragraph.split("\n"):
            for block in parse(line, strict=False):
                text = "".join(span_fn(s) for s in block.spans)
                lines.append(("• " + text) if block.kind == "bullet" else text)
        out.append("\n".join(lines))
    return "\n\n".join(p for p in out if p)


# Answers repeat (the same entry, in the same language, for many people): render each once.
@functools.lru_cache(maxsize=2048)
def to_telegram_html(markdown: str) -> str:
    return _render(markdown, _span_telegram)


@functools.lru_cache(maxsize=2048)
def to_whatsapp(markdown: str) -> str:
    return _render(markdown, _span_whatsapp)


def to_plain(markdown: str) -> str:
    return _render(markdown, _span_plain)


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
