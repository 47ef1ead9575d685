"""The small Markdown subset used in answers: paragraphs, "- " bullets, **bold**, [links](url), and
whole lines in _italics_ (notes such as "machine translation").

Parsed into blocks of inline spans so each channel can render it its own way, and so editors get
a precise error for markup the bot cannot show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Span:
    text: str
    bold: bool = False
    url: str | None = None
    italic: bool = False


@dataclass(frozen=True)
class Block:
    kind: str  # "paragraph" or "bullet"
    spans: tuple[Span, ...]


class MarkdownError(ValueError):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line  # 1-based line within the text


_LINK = re.compile(r"\[([^\[\]]+)\]\(([^()\s]+)\)")
_BULLET = re.compile(r"^\s*[-*•]\s+")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+")
# Only a whole line is italic: underscores inside words and addresses stay what they are.
_ITALIC_LINE = re.compile(r"^([\u200e\u200f]?)_(\S.*\S|\S)_$")


def is_web_url(url: str) -> bool:
    """True for an absolute http(s) address with a plausible host name."""
    if not isinstance(url, str) or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = parts.hostname or ""
    return parts.scheme in ("http", "https") and "." in host and not host.startswith(".") and not host.endswith(".")


def _inline(text: str, line: int, strict: bool = True) -> tuple[Span, ...]:
    spans: list[Span] = []
    pieces = text.split("**")
    if len(pieces) % 2 == 0:
        if strict:
            raise MarkdownError(line, "a '**' that starts bold text is never closed; add the closing '**'.")
        pieces = [text]
    for index, piece in enumerate(pieces):
        bold = index % 2 == 1
        position = 0
        for match in _LINK.finditer(piece):
            if match.start() > position:
                spans.append(Span(piece[position : match.start()], bold))
            url = match.group(2)
            if not is_web_url(url):
                if not strict:
                    continue
                raise MarkdownError(line, f"the link '{url}' is not a valid web address (it must start with https://).")
            spans.append(Span(match.group(1), bold, url))
            position = match.end()
        rest = piece[position:]
        if "](" in rest and strict:
            raise MarkdownError(line, "a link is written incorrectly; use [text](https://address).")
        if rest:
            spans.append(Span(rest, bold))
    return tuple(s for s in spans if s.text)


def parse(text: str, *, strict: bool = True) -> list[Block]:
    """Parse the subset; raise ``MarkdownError`` naming the line of anything unsupported.

    ``strict=False`` never raises: unsupported markup is kept as plain text. Rendering uses it, so
    text from people (a mediator's reply) can never break a message.
    """
    blocks: list[Block] = []
    paragraph: list[str] = []
    paragraph_line = 0

    def flush() -> None:
        if not paragraph:
            return
        try:
            blocks.append(Block("paragraph", _inline(" ".join(paragraph), paragraph_line, strict)))
        except MarkdownError as exc:
            # Point at the paragraph line that holds the offending markup, not at its first line.
            for offset in range(len(paragraph) - 1, -1, -1):
                if "**" in paragraph[offset] or "](" in paragraph[offset]:
                    raise MarkdownError(paragraph_line + offset, str(exc)) from None
            raise
        paragraph.clear()

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            flush()
            continue
        if not strict:
            pass
        elif line.startswith("#"):
            raise MarkdownError(number, "headings ('#') are not supported; use **bold** text instead.")
        elif re.search(r"</?[a-zA-Z][^>]*>", line):
            raise MarkdownError(number, "HTML tags are not supported; use **bold** and [text](https://...) links.")
        elif line.startswith("|"):
            raise MarkdownError(number, "tables are not supported; use a bullet list ('- ...').")
        elif _NUMBERED.match(line):
            raise MarkdownError(number, "numbered lists are not supported; use bullets ('- ...').")
        italic = _ITALIC_LINE.match(line)
        if italic:
            flush()
            spans = _inline(italic.group(1) + italic.group(2), number, strict)
            blocks.append(Block("paragraph", tuple(Span(s.text, s.bold, s.url, italic=True) for s in spans)))
            continue
        bullet = _BULLET.match(raw)
        if bullet:
            flush()
            blocks.append(Block("bullet", _inline(raw[bullet.end() :].strip(), number, strict)))
            continue
        if not paragraph:
            paragraph_line = number
        paragraph.append(line)
    flush()
    return blocks
