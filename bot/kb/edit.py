"""Edits to a text file of the knowledge base made by the studio, written the way an editor would:
only the lines that change, so comments, order and the other fields stay as they are."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

_TOP_KEY = re.compile(r"^[a-z_]+:")


def _replace_field(lines: list[str], key: str, new: list[str]) -> list[str]:
    """Swap the top-level field ``key`` (its line and any indented block under it) for ``new``."""
    for start, line in enumerate(lines):
        if line.startswith(f"{key}:"):
            end = start + 1
            while end < len(lines) and not _TOP_KEY.match(lines[end]) and not lines[end].startswith("#"):
                end += 1
            while end > start + 1 and not lines[end - 1].strip():  # blank lines belong to what follows
                end -= 1
            return lines[:start] + new + lines[end:]
    return lines + new


def _without(lines: list[str], *keys: str) -> list[str]:
    return [line for line in lines if not any(line.startswith(f"{k}:") for k in keys)]


def write_text(
    path: Path, title: str, answer: str, examples: list[str] | None = None, short_title: str | None = None
) -> None:
    """New title and answer (the answer as a ``|`` block), and example questions and the button
    label when given; a language the entry did not have yet gets its file."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else ["review: unreviewed"]
    lines = _replace_field(lines, "title", [f"title: {json.dumps(title.strip(), ensure_ascii=False)}"])
    if short_title is not None:
        label = [f"short_title: {json.dumps(short_title.strip(), ensure_ascii=False)}"] if short_title.strip() else []
        if any(line.startswith("short_title:") for line in lines):
            lines = _replace_field(lines, "short_title", label)
        else:  # right after the title, where editors look for it
            at = next(i for i, line in enumerate(lines) if line.startswith("title:")) + 1
            lines[at:at] = label
    block = ["answer: |", *[f"  {line}" if line.strip() else "" for line in answer.strip().splitlines()]]
    lines = _replace_field(lines, "answer", block)
    if examples is not None:
        items = [f"  - {json.dumps(e.strip(), ensure_ascii=False)}" for e in examples if e.strip()]
        lines = _replace_field(lines, "examples", ["examples:", *items])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def answer_line(path: Path) -> int:
    """The file line on which the answer's first line is written (after ``answer: |``)."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("answer:"):
            return number + 1 if line.rstrip().endswith(("|", ">")) else number
    return 1


def set_review(path: Path, reviewed_by: str | None, on: dt.date | None) -> None:
    """``review: reviewed`` with who and when, or back to ``unreviewed`` (a changed text)."""
    lines = _without(path.read_text(encoding="utf-8").splitlines(), "reviewed_by", "reviewed_on")
    review = ["review: reviewed"] if reviewed_by else ["review: unreviewed"]
    if reviewed_by and on:
        review += [f"reviewed_by: {json.dumps(reviewed_by, ensure_ascii=False)}", f"reviewed_on: {on.isoformat()}"]
    lines = _replace_field(lines, "review", review)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def add_out_of_scope(path: Path, lang: str, question: str) -> None:
    """Append a question to ``lang``'s list in ``nlu/out_of_scope.yaml`` (the list is created if the
    language has none yet)."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    item = f"  - {json.dumps(question, ensure_ascii=False)}"
    for start, line in enumerate(lines):
        if line.startswith(f"{lang}:"):
            end = start + 1
            while end < len(lines) and not _TOP_KEY.match(lines[end]):
                end += 1
            while end > start + 1 and not lines[end - 1].strip():
                end -= 1
            lines.insert(end, item)
            break
    else:
        lines += [f"{lang}:", item]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
