"""What arrives from outside, made safe before anything else touches it.

- A body is read in chunks and refused as soon as it is larger than allowed, whether or not it
  announced its length: a 200 MB post costs no more memory than the limit.
- JSON nested deeper than allowed is refused (400), never a ``RecursionError`` later.
- Text that a database cannot store, or that no person typed, is cleaned: lone UTF-16 surrogates
  become U+FFFD, NUL and other control characters (but tab and line breaks) are removed. One
  such update can no longer fail a group commit and the people whose turns shared it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

log = logging.getLogger(__name__)

_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class Refused(Exception):
    """The request is refused before any work is done; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def read_limited(chunks: AsyncIterator[bytes], declared_length: str | None, limit: int) -> bytes:
    """The whole body, or ``Refused(413)`` as soon as it grows past ``limit`` bytes."""
    if declared_length is not None:
        if not declared_length.strip().isdigit():
            raise Refused(400, "invalid Content-Length")
        if int(declared_length) > limit:
            raise Refused(413, "body too large")
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise Refused(413, "body too large")
    return bytes(body)


def clean_text(text: str) -> tuple[str, int]:
    """(storable text, how many characters were replaced or removed)."""
    if not _UNSTORABLE.search(text):
        return text, 0
    fixes = 0

    def fix(match: re.Match[str]) -> str:
        nonlocal fixes
        fixes += 1
        return "\ufffd" if "\ud800" <= match.group() <= "\udfff" else ""

    return _UNSTORABLE.sub(fix, text), fixes


def parse_json_object(body: bytes, max_depth: int) -> dict[str, Any]:
    """A JSON object with every string cleaned (see ``clean_text``); ``Refused(400)`` otherwise."""
    try:
        data = json.loads(body, parse_constant=_not_a_number)
    except RecursionError:
        raise Refused(400, "JSON nested too deeply") from None
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "malformed JSON") from None
    if not isinstance(data, dict):
        raise Refused(400, "expected a JSON object")
    fixes = _clean_in_place(data, max_depth)
    if fixes:
        log.warning("an update held %d character(s) that cannot be stored; replaced or removed", fixes)
    return data


def _not_a_number(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")  # Python reads NaN and Infinity; databases do not


def _clean_in_place(root: dict[str, Any], max_depth: int) -> int:
    """Clean every string (keys too) without recursion; refuse nesting deeper than ``max_depth``."""
    fixes = 0
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise Refused(400, f"JSON nested deeper than {max_depth} levels")
        if isinstance(node, dict):
            for key in list(node):
                value = node[key]
                if isinstance(value, str):
                    value, fixed = clean_text(value)
                    fixes += fixed
                elif isinstance(value, dict | list):
                    stack.append((value, depth + 1))
                new_key, fixed = clean_text(key)
                if fixed:
                    fixes += fixed
                    del node[key]
                node[new_key] = value
        else:
            for index, value in enumerate(node):
                if isinstance(value, str):
                    node[index], fixed = clean_text(value)
                    fixes += fixed
                elif isinstance(value, dict | list):
                    stack.append((value, depth + 1))
    return fixes


def clean_form(params: dict[str, str]) -> dict[str, str]:
    """Form parameters with every name and value cleaned (see ``clean_text``)."""
    cleaned: dict[str, str] = {}
    fixes = 0
    for key, value in params.items():
        key, fixed_key = clean_text(key)
        value, fixed_value = clean_text(value)
        fixes += fixed_key + fixed_value
        cleaned[key] = value
    if fixes:
        log.warning("a form post held %d character(s) that cannot be stored; replaced or removed", fixes)
    return cleaned
