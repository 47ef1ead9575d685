"""`acasa kb check`: precise, editor-readable problems and a coverage matrix."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

from bot.kb import Severity, load_knowledge
from tests.conftest import PROJECT

TODAY = dt.date(2026, 11, 22)


def run_check(kb: Path, locales: Path | None = None) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "bot.cli", "kb", "check", "--kb", str(kb)]
    if locales:
        args += ["--locales", str(locales)]
    return subprocess.run(args, capture_output=True, text=True, cwd=PROJECT, timeout=120)


def errors_of(root: Path) -> list[str]:
    kb, problems = load_knowledge(root, today=TODAY)
    assert kb is None, "expected the knowledge base to be refused"
    return [p.format(root) for p in problems if p.severity is Severity.ERROR]


def test_valid_small_kb_loads(small_kb: Path) -> None:
    kb, problems = load_knowledge(small_kb, today=TODAY)
    assert kb is not None, [p.format() for p in problems]
    assert set(kb.entries) == {"rights.asylum", "rights.residence_permit"}
    assert kb.entries["rights.asylum"].translation("uk").title == "rights.asylum in uk"
    assert not problems.errors


def test_shipped_content_passes_and_prints_coverage() -> None:
    result = run_check(PROJECT / "knowledge", PROJECT / "locales")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rights.temporary_protection" in result.stdout
    assert "unreviewed" in result.stdout
    assert "Facts older than 6 months" in result.stdout
    assert "No errors" in result.stdout


def test_yaml_syntax_error_names_file_and_line(small_kb: Path) -> None:
    path = small_kb / "entries" / "rights.asylum" / "uk.yaml"
    path.write_text('title: "ok"\nreview: unreviewed\nanswer: "unclosed\nexamples: [a, b\n', encoding="utf-8")
    errors = errors_of(small_kb)
    assert any(e.startswith("ERROR: entries/rights.asylum/uk.yaml, line ") and "not valid YAML" in e for e in errors), (
        errors
    )


def test_missing_language_is_named(small_kb: Path) -> None:
    (small_kb / "entries" / "rights.asylum" / "en.yaml").unlink()
    errors = errors_of(small_kb)
    assert errors == [
        "ERROR: entries/rights.asylum/en.yaml: the English (en) text is missing; create en.yaml in this folder "
        "(required for every entry)."
    ]


def test_missing_optional_language_is_a_warning_and_falls_back(small_kb: Path) -> None:
    (small_kb / "entries" / "rights.asylum" / "ne.yaml").unlink()
    kb, problems = load_knowledge(small_kb, today=TODAY)
    assert kb is not None
    assert [p.format(small_kb) for p in problems.warnings] == [
        "WARNING: entries/rights.asylum/ne.yaml: the Nepali (ne) text is missing; create ne.yaml in this folder; "
        "until then people writing in Nepali get the English text."
    ]
    assert kb.entries["rights.asylum"].translation("ne").lang == "en"


def test_unknown_contact_id(small_kb: Path) -> None:
    path = small_kb / "entries" / "rights.asylum" / "entry.yaml"
    path.write_text(path.read_text().replace("contacts: [igi]", "contacts: [igi_timisoara]"), encoding="utf-8")
    assert errors_of(small_kb) == [
        "ERROR: entries/rights.asylum/entry.yaml, line 4, field 'contacts': 'igi_timisoara' is not a contact in "
        "contacts.yaml. Did you mean 'igi'?"
    ]


def test_duplicate_entry_id(small_kb: Path) -> None:
    copy = small_kb / "entries" / "rights.asylum_copy"
    copy.mkdir()
    for file in (small_kb / "entries" / "rights.asylum").iterdir():
        (copy / file.name).write_text(file.read_text())
    errors = errors_of(small_kb)
    assert errors == [
        "ERROR: entries/rights.asylum_copy/entry.yaml, line 1, field 'id': duplicate id: 'rights.asylum' is already "
        "used by entries/rights.asylum/entry.yaml. Every entry needs its own id."
    ]


def test_duplicate_contact_id(small_kb: Path) -> None:
    path = small_kb / "contacts.yaml"
    path.write_text(path.read_text() + "igi:\n  name: Again\n", encoding="utf-8")
    errors = errors_of(small_kb)
    assert any("contacts.yaml, line 10, field 'igi': 'igi' appears twice here (first on line 1)" in e for e in errors)


def test_bad_url(small_kb: Path) -> None:
    path = small_kb / "entries" / "rights.asylum" / "entry.yaml"
    path.write_text(path.read_text().replace("url: https://igi.mai.gov.ro", "url: igi.mai.gov.ro"), encoding="utf-8")
    assert errors_of(small_kb) == [
        "ERROR: entries/rights.asylum/entry.yaml, line 7, field 'sources[1].url': 'igi.mai.gov.ro/en/asylum/' is not a "
        "valid web address; it must be a full link starting with https:// (or http://)."
    ]


def test_bad_link_inside_answer(small_kb: Path) -> None:
    path = small_kb / "entries" / "rights.asylum" / "fr.yaml"
    path.write_text(path.read_text().replace("(https://igi.mai.gov.ro)", "(www.igi)"), encoding="utf-8")
    assert errors_of(small_kb) == [
        "ERROR: entries/rights.asylum/fr.yaml, line 4, field 'answer': the link 'www.igi' is not a valid web address "
        "(it must start with https://)."
    ]


def test_bad_date(small_kb: Path) -> None:
    path = small_kb / "entries" / "rights.asylum" / "entry.yaml"
    path.write_text(
        path.read_text().replace("last_verified: 2026-11-01", "last_verified: 22.11.2026"), encoding="utf-8"
    )
    assert errors_of(small_kb) == [
        "ERROR: entries/rights.asylum/entry.yaml, line 8, field 'last_verified': '22.11.2026' is not a valid date; "
        "write it as YYYY-MM-DD, for example 2026-11-22."
    ]


def test_a_date_that_does_not_exist_is_an_error_not_a_crash(small_kb: Path) -> None:
    path = small_kb / "entries" / "rights.asylum" / "entry.yaml"
    path.write_text(path.read_text().replace("2026-11-01", "2026-02-30"), encoding="utf-8")
    errors = errors_of(small_kb)
    assert any(
        "line 8" in e and "'2026-02-30' is not a real value (day is out of range for month)" in e for e in errors
    )


def test_future_date_and_stale_date(small_kb: Path) -> None:
    path = small_kb / "entries" / "rights.asylum" / "entry.yaml"
    path.write_text(path.read_text().replace("2026-11-01", "2027-01-01"), encoding="utf-8")
    assert any("is in the future" in e for e in errors_of(small_kb))
    path.write_text(path.read_text().replace("2027-01-01", "2025-01-01"), encoding="utf-8")
    kb, problems = load_knowledge(small_kb, today=TODAY)
    assert kb is not None
    assert any("more than 6 months ago" in p.message for p in problems.warnings)


def test_misspelt_field_gets_a_suggestion(small_kb: Path) -> None:
    path = small_kb / "entries" / "rights.asylum" / "ro.yaml"
    path.write_text(path.read_text().replace("examples:", "exampels:"), encoding="utf-8")
    errors = errors_of(small_kb)
    assert any(
        "field 'exampels': 'exampels' is not a field the bot knows. Did you mean 'examples'?" in e for e in errors
    )


def test_reviewed_needs_reviewer(small_kb: Path) -> None:
    path = small_kb / "entries" / "rights.asylum" / "uk.yaml"
    path.write_text(path.read_text().replace("review: unreviewed", "review: reviewed"), encoding="utf-8")
    assert any("needs 'reviewed_by'" in e for e in errors_of(small_kb))


def test_cli_exits_1_and_prints_location(small_kb: Path) -> None:
    path = small_kb / "entries" / "rights.asylum" / "entry.yaml"
    path.write_text(path.read_text().replace("contacts: [igi]", "contacts: [nobody]"), encoding="utf-8")
    result = run_check(small_kb)
    assert result.returncode == 1
    assert "entry.yaml, line 4, field 'contacts': 'nobody' is not a contact in contacts.yaml" in result.stdout
    assert "Nothing can be published" in result.stdout


def test_broken_phrase_lists_are_errors_kb_check_names(tmp_path: Path) -> None:
    import shutil

    kb = tmp_path / "knowledge"
    shutil.copytree(PROJECT / "knowledge", kb)
    (kb / "nlu" / "smalltalk.yaml").write_text('en:\n  greetings: ["hi"]\n', encoding="utf-8")
    (kb / "nlu" / "nearby.yaml").write_text('en:\n  banking: "bank account"\n', encoding="utf-8")
    (kb / "nlu" / "emergencies.yaml").write_text('xx:\n  medical: ["he fell"]\n', encoding="utf-8")
    result = run_check(kb, PROJECT / "locales")
    assert result.returncode == 1
    assert "'greetings' is not a category; use one of greeting, thanks, ok, bye, bot, filler" in result.stdout
    assert "nearby.yaml, line 2, field 'en.banking': must be a list of phrases" in result.stdout
    assert "'xx' is not a language code the bot knows" in result.stdout


def test_kb_check_reports_home_page_sources_unconfirmed_contacts_and_a_factual_summary(tmp_path: Path) -> None:
    import shutil

    kb = tmp_path / "knowledge"
    shutil.copytree(PROJECT / "knowledge", kb)
    entry = kb / "entries" / "rights.asylum" / "entry.yaml"
    text = entry.read_text(encoding="utf-8")
    start = text.index("sources:")
    end = text.index("last_verified:")
    entry.write_text(
        text[:start] + "sources:\n  - title: IGI\n    url: https://igi.mai.gov.ro/\n" + text[end:], encoding="utf-8"
    )
    contacts = kb / "contacts.yaml"
    text = contacts.read_text(encoding="utf-8")
    start = text.index("\n    ro: ", text.index("anes_dv_helpline:"))
    contacts.write_text(text[:start] + text[text.index("\n", start + 1) :], encoding="utf-8")  # no Romanian note
    result = run_check(kb, PROJECT / "locales")
    assert result.returncode == 0, result.stdout
    out = result.stdout
    assert (
        "entries/rights.asylum/entry.yaml, line 5, field 'sources': every source is a home page; "
        "cite the page or the legal act that backs these facts." in out
    )
    assert "field 'logs_timisoara.confirmed': not confirmed by an official page" in out
    assert "field 'anes_dv_helpline.note': no note in ro: people see the English note instead." in out
    summary = out.strip().splitlines()[-1]
    assert summary.startswith("No errors, ")
    assert "Of 260 translations, 0 are reviewed by a native speaker and 260 are machine-drafted" in summary
    assert "4 cite only home pages" in summary
    assert "The content can be published" not in out
