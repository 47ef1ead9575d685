"""Which version of its source text a translation was made from, so a change to the source is noticed.

Every translation file records ``made_from:``, a short hash of the source text (title and answer
in the entry's ``written_in`` language) it was translated or last checked against. When an editor
changes the source, the hashes no longer agree: the translation *needs editing*. A reviewed
translation then no longer counts as approved; people keep getting it (the last approved text)
with a note that the original has changed since. ``acasa kb stamp`` records the current version
once a translator has brought a text up to date; ``acasa kb outdated`` lists what needs editing,
with what changed in the source when the knowledge folder is kept in git.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import subprocess
from pathlib import Path

import yaml

HASH_CHARS = 12
_MADE_FROM_LINE = re.compile(r"^made_from:.*$", re.MULTILINE)
_REVIEW_LINE = re.compile(r"^review:.*$", re.MULTILINE)


def source_version(title: str, answer: str) -> str:
    """A short hash of what a translator translates: the title and the answer (not the examples,
    which every language writes for itself)."""
    text = f"{title.strip()}\n{answer.strip()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_CHARS]


def stamp(path: Path, version: str) -> bool:
    """Write ``made_from: <version>`` into a translation file, keeping everything else as it is
    (comments, order, quoting). True when the file changed."""
    text = path.read_text(encoding="utf-8")
    line = f"made_from: {version}"
    if _MADE_FROM_LINE.search(text):
        updated = _MADE_FROM_LINE.sub(line, text, count=1)
    elif (review := _REVIEW_LINE.search(text)) is not None:
        updated = text[: review.end()] + "\n" + line + text[review.end() :]
    else:
        updated = line + "\n" + text
    if updated == text:
        return False
    path.write_text(updated, encoding="utf-8")
    return True


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def source_at(source_file: Path, version: str, max_commits: int = 200) -> str | None:
    """The source text (title and answer) as it was at ``version``, found in the file's git history;
    None when the folder is not a git repository or no commit holds that version."""
    found = _git(source_file.parent, "rev-parse", "--show-toplevel")
    if found is None:
        return None
    top = Path(found.strip()).resolve()
    relative = source_file.resolve().relative_to(top).as_posix()  # paths below are from the top
    commits = _git(top, "log", f"-{max_commits}", "--format=%H", "--", relative)
    for commit in (commits or "").split():
        content = _git(top, "show", f"{commit}:{relative}")
        try:
            data = yaml.safe_load(content or "")
        except yaml.YAMLError:
            continue
        if not isinstance(data, dict):
            continue
        title, answer = str(data.get("title") or ""), str(data.get("answer") or "")
        if source_version(title, answer) == version:
            return f"{title.strip()}\n{answer.strip()}"
    return None


def source_diff(old: str, new: str, label: str) -> str:
    """What changed in the source, as a unified diff of its lines."""
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), f"{label} (translated)", f"{label} (now)", lineterm="", n=1
    )
    return "\n".join(lines)
