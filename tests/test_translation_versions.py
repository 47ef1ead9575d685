"""Translations remember which version of the source text they were made from: when an editor
changes the source, every translation of it is noticed as needing editing, people are told, and
editors see what changed."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli_translations import outdated, stamp_translations
from bot.handlers.answer import compose_answer
from bot.kb import Severity, load_knowledge
from bot.kb.coverage import coverage_matrix
from bot.kb.versions import source_version, stamp
from bot.locales import Locales
from tests.conftest import PROJECT

TODAY = dt.date(2026, 11, 22)


def load(root: Path):
    kb, problems = load_knowledge(root, today=TODAY)
    assert kb is not None, [p.format(root) for p in problems.errors]
    return kb, [p.format(root) for p in problems.warnings]


def edit_source(root: Path, old: str, new: str) -> None:
    path = root / "entries" / "rights.asylum" / "en.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


@pytest.fixture
def stamped_kb(small_kb: Path) -> Path:
    kb, _ = load(small_kb)
    stamp_translations(kb, small_kb, [], [], only_missing=True)
    return small_kb


def forget_versions(root: Path) -> None:
    for path in root.glob("entries/*/*.yaml"):
        text = path.read_text(encoding="utf-8")
        path.write_text("".join(line for line in text.splitlines(True) if not line.startswith("made_from:")))


def test_translations_without_a_version_are_named_once_per_entry(small_kb: Path) -> None:
    forget_versions(small_kb)
    _, warnings = load(small_kb)
    about = [w for w in warnings if "made_from" in w]
    assert len(about) == 2  # one per entry, not one per language
    assert about[0].startswith("WARNING: entries/rights.asylum/en.yaml: the ro, uk, ru, ar, ne, si, ta, bn, ur, fr")


def test_stamping_records_the_version_and_keeps_the_file_as_written(small_kb: Path) -> None:
    forget_versions(small_kb)
    uk = small_kb / "entries" / "rights.asylum" / "uk.yaml"
    uk.write_text("# checked by Olena\n" + uk.read_text(encoding="utf-8"), encoding="utf-8")
    before = uk.read_text(encoding="utf-8")
    kb, _ = load(small_kb)
    changed = stamp_translations(kb, small_kb, [], [], only_missing=True)
    assert len(changed) == 20 and "entries/rights.asylum/uk.yaml" in changed
    after = uk.read_text(encoding="utf-8")
    source = kb.entries["rights.asylum"].translations["en"]
    line = f"made_from: {source_version(source.title, source.answer)}"
    assert after == before.replace("review: unreviewed\n", f"review: unreviewed\n{line}\n")  # one line added
    kb, warnings = load(small_kb)
    assert not [w for w in warnings if "made_from" in w]
    assert not stamp(uk, source_version(source.title, source.answer))  # stamping again changes nothing


def test_a_changed_source_makes_every_translation_need_editing(stamped_kb: Path, shipped_locales: Locales) -> None:
    uk = stamped_kb / "entries" / "rights.asylum" / "uk.yaml"
    uk.write_text(
        uk.read_text(encoding="utf-8").replace(
            "review: unreviewed", "review: reviewed\nreviewed_by: Olena K.\nreviewed_on: 2026-11-20"
        ),
        encoding="utf-8",
    )
    kb, _ = load(stamped_kb)
    assert kb.entries["rights.asylum"].translations["uk"].approved
    edit_source(stamped_kb, "Ask **IGI**.", "Ask **IGI** within 10 days.")
    edit_source(stamped_kb, 'title: "rights.asylum in en"', 'title: "Asking for asylum"')
    kb, warnings = load(stamped_kb)
    uk_text = kb.entries["rights.asylum"].translations["uk"]
    assert uk_text.outdated and uk_text.reviewed and not uk_text.approved
    assert [w for w in warnings if "changed after" in w] == [
        "WARNING: entries/rights.asylum/en.yaml: this text changed after the ro, uk, ru, ar, ne, si, ta, bn, ur, "
        "fr translation(s) were made: they need editing (people get them with a note that the original changed). "
        "'acasa kb outdated' shows what changed; after updating a translation run "
        "'acasa kb stamp --entry rights.asylum --lang LANG'."
    ]
    row = next(line for line in coverage_matrix(kb, TODAY).splitlines() if line.startswith("rights.asylum "))
    assert row.split()[1:12] == ["e", "u"] + ["e"] * 9  # every language but the English original
    assert "needs editing" in coverage_matrix(kb, TODAY)
    # People keep the last approved text, and are told the original changed since.
    reply = compose_answer(kb, shipped_locales, kb.entries["rights.asylum"], "uk")
    assert "rights.asylum in uk" in reply.text
    assert f"_{shipped_locales.text('uk', 'answer.outdated')}_" in reply.text
    assert shipped_locales.text("uk", "answer.unreviewed") not in reply.text  # reviewed, only older
    # Brought up to date and stamped: approved again, no note.
    stamp_translations(kb, stamped_kb, ["rights.asylum"], ["uk"], only_missing=False)
    kb, _ = load(stamped_kb)
    assert kb.entries["rights.asylum"].translations["uk"].approved
    assert kb.entries["rights.asylum"].translations["ru"].outdated  # the others still wait


def test_outdated_shows_what_changed_from_the_git_history(stamped_kb: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(stamped_kb), *args], check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.name=Editor", "-c", "user.email=editor@example.org", "add", ".")
    git("-c", "user.name=Editor", "-c", "user.email=editor@example.org", "commit", "-qm", "content")
    edit_source(stamped_kb, "  - one point", "  - one point\n  - apply within 10 days of arriving")
    kb, _ = load(stamped_kb)
    report = outdated(kb, stamped_kb, ["uk", "ar"])
    assert report.splitlines()[0] == "rights.asylum: ar, uk need editing (en text changed)"
    assert "+- apply within 10 days of arriving" in report
    assert " - one point" in report.replace("    ", "")  # the context line
    assert report.endswith("2 translation(s) need editing.")


def test_outdated_without_git_says_to_compare_by_hand(stamped_kb: Path) -> None:
    edit_source(stamped_kb, "Ask **IGI**.", "Ask **IGI** now.")
    kb, _ = load(stamped_kb)
    report = outdated(kb, stamped_kb, None)
    assert "is not in the folder's git history: compare by hand" in report
    assert report.endswith("10 translation(s) need editing.")


def test_a_hand_written_version_is_an_error(small_kb: Path) -> None:
    uk = small_kb / "entries" / "rights.asylum" / "uk.yaml"
    uk.write_text(uk.read_text(encoding="utf-8").replace("made_from: ", "made_from: v2 # "))
    kb, problems = load_knowledge(small_kb, today=TODAY)
    assert kb is None
    assert [p.format(small_kb) for p in problems if p.severity is Severity.ERROR] == [
        "ERROR: entries/rights.asylum/uk.yaml, line 4, field 'made_from': 'made_from' is written by "
        "'acasa kb stamp' (12 letters and digits); do not edit it by hand."
    ]


def test_stamp_command_asks_what_was_brought_up_to_date(small_kb: Path) -> None:
    def acasa(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "bot.cli", "kb", *args, "--kb", str(small_kb)]
        return subprocess.run(command, capture_output=True, text=True, cwd=PROJECT, timeout=120)

    refused = acasa("stamp")
    assert refused.returncode != 0 and "--entry ID --lang L" in refused.stderr
    edit_source(small_kb, "Ask **IGI**.", "Ask **IGI** today.")
    assert "rights.asylum: ar, bn, fr, ne, ro, ru, si, ta, uk, ur need editing" in acasa("outdated").stdout
    done = acasa("stamp", "--entry", "rights.asylum", "--lang", "uk")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "stamped entries/rights.asylum/uk.yaml",
        "1 file(s) now record the current source version.",
    ]
    after = acasa("outdated").stdout
    assert "rights.asylum: ar, bn, fr, ne, ro, ru, si, ta, ur need editing" in after  # uk follows again
