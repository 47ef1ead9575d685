"""`acasa kb check`: precise, editor-readable problems and a coverage matrix."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

from bot.cli import content_summary
from bot.kb import Severity, load_knowledge
from bot.kb.coverage import coverage_matrix
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
    assert any("contacts.yaml, line 12, field 'igi': 'igi' appears twice here (first on line 1)" in e for e in errors)


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
        "ERROR: entries/rights.asylum/fr.yaml, line 6, field 'answer': the link 'www.igi' is not a valid web address "
        "(it must start with https://)."
    ]


def test_bad_date(small_kb: Path) -> None:
    path = small_kb / "entries" / "rights.asylum" / "entry.yaml"
    path.write_text(
        path.read_text().replace("last_verified: 2026-11-01", "last_verified: 22.11.2026"), encoding="utf-8"
    )
    assert errors_of(small_kb) == [
        "ERROR: entries/rights.asylum/entry.yaml, line 9, field 'last_verified': '22.11.2026' is not a valid date; "
        "write it as YYYY-MM-DD, for example 2026-11-22."
    ]


def test_a_date_that_does_not_exist_is_an_error_not_a_crash(small_kb: Path) -> None:
    path = small_kb / "entries" / "rights.asylum" / "entry.yaml"
    path.write_text(path.read_text().replace("2026-11-01", "2026-02-30"), encoding="utf-8")
    errors = errors_of(small_kb)
    assert any(
        "line 9" in e and "'2026-02-30' is not a real value (day is out of range for month)" in e for e in errors
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
    (kb / "nlu" / "nearby.yaml").write_text('en:\n  money: "send money home"\n', encoding="utf-8")
    (kb / "nlu" / "emergencies.yaml").write_text('xx:\n  medical: ["he fell"]\n', encoding="utf-8")
    (kb / "nlu" / "over.yaml").write_text('en:\n  past: ["last month"]\n', encoding="utf-8")
    result = run_check(kb, PROJECT / "locales")
    assert result.returncode == 1
    assert "'greetings' is not a category; use one of greeting, thanks, ok, bye, bot, filler" in result.stdout
    assert "nearby.yaml, line 2, field 'en.money': must be a list of phrases" in result.stdout
    assert "'xx' is not a language code the bot knows" in result.stdout
    assert (
        "over.yaml, line 2, field 'en.past': 'past' is not a category; use one of over, safe, again, urgent"
        in result.stdout
    )


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
    shipped, _ = load_knowledge(kb)
    assert shipped is not None
    translations = sum(len(e.translations) - 1 for e in shipped.entries.values())
    reviewed = sum(t.approved for e in shipped.entries.values() for t in e.translations.values() if t.lang != "en")
    assert (
        f"Of {translations} translations, {reviewed} are reviewed by a native speaker, 0 need editing "
        f"(the original changed) and {translations - reviewed} are machine-drafted" in summary
    )
    assert "1 cite only home pages" in summary  # the entry broken above; every shipped entry cites a specific page
    assert "The content can be published" not in out


def test_a_renamed_field_in_one_contact_gives_one_error_at_its_root(small_kb: Path) -> None:
    path = small_kb / "contacts.yaml"
    path.write_text(path.read_text().replace("  name: Inspectoratul", "  nmae: Inspectoratul"), encoding="utf-8")
    assert errors_of(small_kb) == [
        "ERROR: contacts.yaml, line 2, field 'nmae': 'nmae' is not a field the bot knows. Did you mean 'name'? "
        "Allowed fields: address, aliases, confirmed, coordinates, email, hours, kind, last_verified, name, name_en, "
        "names, note, phone, sources, website."
    ]  # not also "name is missing", nor one error per entry that lists the contact


def test_contacts_may_live_in_several_files_but_an_id_only_once(small_kb: Path) -> None:
    extra = small_kb / "contacts" / "social.yaml"
    extra.parent.mkdir()
    extra.write_text(
        "das_timisoara:\n  name: Direcția de Asistență Socială Timișoara\n  kind: authority\n  confirmed: true\n"
        "  sources:\n    - title: DAS\n      url: https://www.dasmt.ro/contact\n  last_verified: 2026-11-01\n",
        encoding="utf-8",
    )
    kb, problems = load_knowledge(small_kb, today=TODAY)
    assert kb is not None, [p.format() for p in problems.errors]
    assert set(kb.contacts) == {"igi", "das_timisoara"}

    extra.write_text(extra.read_text().replace("das_timisoara:", "igi:"), encoding="utf-8")
    assert errors_of(small_kb) == [
        "ERROR: contacts/social.yaml, line 1, field 'igi': the contact id 'igi' is already used in contacts.yaml; "
        "every contact needs its own id."
    ]


def test_sources_say_what_they_support_and_doubts_are_kept(small_kb: Path) -> None:
    path = small_kb / "entries" / "rights.asylum" / "entry.yaml"
    text = path.read_text()
    text = text.replace(
        "    supports: where and how to apply\n", "    supports: where to apply\n    checked: 2026-11-20\n"
    )
    text += 'doubts:\n  - "The fee: no official page found; the text says to ask IGI."\n'
    path.write_text(text, encoding="utf-8")
    other = small_kb / "entries" / "rights.residence_permit" / "entry.yaml"
    other.write_text(other.read_text().replace("    supports: where and how to apply\n", ""), encoding="utf-8")
    kb, problems = load_knowledge(small_kb, today=TODAY)
    assert kb is not None, [p.format() for p in problems.errors]
    asylum = kb.entries["rights.asylum"]
    assert asylum.sources[0].supports == "where to apply"
    assert asylum.sources[0].checked == dt.date(2026, 11, 20)
    assert asylum.doubts == ("The fee: no official page found; the text says to ask IGI.",)
    unsupported = [p.format(small_kb) for p in problems.warnings if "which claims this page backs" in p.message]
    assert unsupported == [
        "WARNING: entries/rights.residence_permit/entry.yaml, line 6, field 'sources[1].supports': say which claims "
        "this page backs (supports: ...), so the next editor knows what to re-check."
    ]

    path.write_text(text.replace("checked: 2026-11-20", "checked: 2026-12-20"), encoding="utf-8")
    assert any("2026-12-20 is in the future" in e for e in errors_of(small_kb))
    path.write_text(text.replace('  - "The fee', '  fee: "The fee'), encoding="utf-8")
    assert any("'doubts' must be a list of claims" in e for e in errors_of(small_kb))


def test_contact_names_in_every_language_are_warned_about_and_shown(small_kb: Path) -> None:
    path = small_kb / "contacts.yaml"
    text = path.read_text()
    start = text.index("  names:")
    text = (
        text[:start]
        + "  name_en: General Inspectorate for Immigration (IGI)\n  names:\n"
        + '    uk: "Генеральна інспекція з питань імміграції (IGI)"\n'
        + text[text.index("\n", start) + 1 :]
    )
    path.write_text(text, encoding="utf-8")
    kb, problems = load_knowledge(small_kb, today=TODAY)
    assert kb is not None
    igi = kb.contacts["igi"]
    assert igi.display_name("uk") == "Генеральна інспекція з питань імміграції (IGI)"
    assert igi.official_name("uk") == "Inspectoratul General pentru Imigrări"
    assert igi.display_name("ro") == "Inspectoratul General pentru Imigrări" and igi.official_name("ro") is None
    assert igi.display_name("ne") == "General Inspectorate for Immigration (IGI)"
    assert [p.message for p in problems.warnings if p.field == "igi.names"] == [
        "no name in ru, ar, ne, si, ta, bn, ur, fr: people see the English name instead."
    ]


def _glossary(root: Path, text: str) -> None:
    (root / "glossary").mkdir(exist_ok=True)
    (root / "glossary" / "uk.yaml").write_text(text, encoding="utf-8")


def test_glossary_warns_about_variants_and_near_spellings_but_not_inflections(small_kb: Path) -> None:
    _glossary(
        small_kb,
        "Timișoara:\n  use: Тімішоара\n  forms: [Тімішоари]\n"
        "permis de ședere:\n  use: дозвіл на проживання\n  avoid: [посвідка на проживання]\n",
    )
    path = small_kb / "entries" / "rights.asylum" / "uk.yaml"
    path.write_text(
        path.read_text().replace(
            "Ask **IGI**.",
            "У Тімішоарі і в Тімішоарі. Посвідка на проживання видається в Тимішоарі. Мова: тімішоарська.",
        ),
        encoding="utf-8",
    )
    kb, problems = load_knowledge(small_kb, today=TODAY)
    assert kb is not None
    found = {p.message for p in problems.warnings if "glossary" in p.message}
    advice = "Use the glossary's rendering, or add this form to the term's 'forms' if it is right."
    assert found == {
        "writes 'посвідка на проживання' for permis de ședere; the glossary (glossary/uk.yaml) says "
        f"'дозвіл на проживання'. {advice}",
        f"writes 'Тимішоарі' for Timișoara; the glossary (glossary/uk.yaml) says 'Тімішоара'. {advice}",
    }  # not "Тімішоарі" (an inflection of the rendering), nor "тімішоарська"
    assert all(p.file == path and p.field == "answer" for p in problems.warnings if "glossary" in p.message)


def test_a_broken_glossary_is_an_error(small_kb: Path) -> None:
    _glossary(small_kb, "IGI:\n  usе: IGI\nCNP:\n  use: CNP\n  forms: [CNP]\n  avoid: [cnp]\n")
    errors = errors_of(small_kb)
    assert any("field 'IGI.usе': 'usе' is not a glossary field" in e for e in errors), errors
    assert any("field 'CNP.avoid': 'cnp' is both accepted and to be avoided" in e for e in errors), errors


def test_kb_check_prints_per_language_review_stale_and_doubt_rows(small_kb: Path) -> None:
    path = small_kb / "entries" / "rights.asylum" / "entry.yaml"
    path.write_text(path.read_text() + 'doubts:\n  - "The fee: not confirmed."\n', encoding="utf-8")
    path = small_kb / "entries" / "rights.residence_permit" / "entry.yaml"
    path.write_text(path.read_text().replace("last_verified: 2026-11-01", "last_verified: 2025-01-01"))
    contacts = small_kb / "contacts.yaml"
    contacts.write_text(contacts.read_text().replace(", ne: IGI (ne)", ""), encoding="utf-8")
    kb, _ = load_knowledge(small_kb, today=TODAY)
    assert kb is not None
    matrix = coverage_matrix(kb, today=TODAY)
    rows = {line[:22].strip(): line[22:].split() for line in matrix.splitlines() if line[:1].isalpha()}
    assert rows["unreviewed"] == ["2"] * 11
    assert rows["stale (> 6 months)"] == ["1"] * 11
    assert rows["with doubts"] == ["1"] * 11
    assert rows["contact names missing"] == ["0"] * 5 + ["1"] + ["0"] * 5  # ne is the sixth language
    assert "1 entries list 1 unconfirmed claims" in content_summary(kb)


def test_short_titles_are_checked_for_a_phone(small_kb: Path) -> None:
    text = small_kb / "entries" / "rights.asylum" / "uk.yaml"
    text.write_text(
        text.read_text(encoding="utf-8").replace('short_title: "asylum uk"', 'short_title: "' + "Д" * 25 + '"'),
        encoding="utf-8",
    )
    assert errors_of(small_kb) == [
        "ERROR: entries/rights.asylum/uk.yaml, line 2, field 'short_title': the short title has 25 characters; "
        "a button label may have at most 24 (18 or fewer let two buttons share a row)."
    ]
    text.write_text(
        "\n".join(line for line in text.read_text(encoding="utf-8").splitlines() if "short_title" not in line) + "\n",
        encoding="utf-8",
    )
    kb, problems = load_knowledge(small_kb, today=TODAY)
    assert kb is not None and kb.entries["rights.asylum"].translations["uk"].label == "rights.asylum in uk"
    assert [p.format(small_kb) for p in problems.warnings] == [
        "WARNING: entries/rights.asylum/uk.yaml, line 1, field 'short_title': no 'short_title': buttons show the "
        'title cut to 24 characters. Add a label of at most 18 characters, e.g. short_title: "Family doctor".'
    ]


def test_topic_order_names_real_entries_of_its_topic(small_kb: Path) -> None:
    order = small_kb / "topics.yaml"
    order.write_text(
        "rights:\n  order: [rights.residence_permit, rights.asylum]\n  first_for:\n    uk: [rights.asylum]\n",
        encoding="utf-8",
    )
    kb, _ = load_knowledge(small_kb, today=TODAY)
    assert kb is not None
    assert [e.id for e in kb.entries_in_topic("rights", "en")] == ["rights.residence_permit", "rights.asylum"]
    assert [e.id for e in kb.entries_in_topic("rights", "uk")] == ["rights.asylum", "rights.residence_permit"]
    order.write_text(
        "rights:\n  order: [rights.asylm]\n  first_for:\n    xx: [rights.asylum]\nhealth:\n  order: [rights.asylum]\n",
        encoding="utf-8",
    )
    assert errors_of(small_kb) == [
        "ERROR: topics.yaml, line 2, field 'order': 'rights.asylm' is not an entry of the topic 'rights'. "
        "Did you mean 'rights.asylum'?",
        "ERROR: topics.yaml, line 4, field 'first_for': 'xx' is not a language code "
        "(ro, en, uk, ru, ar, ne, si, ta, bn, ur, fr).",
        "ERROR: topics.yaml, line 6, field 'order': 'rights.asylum' is not an entry of the topic 'health'.",
    ]


def test_conversation_statements_are_optional_and_checked(small_kb: Path) -> None:
    kb, _ = load_knowledge(small_kb, today=TODAY)
    assert kb is not None and kb.statements == {}  # the file is optional
    statements = small_kb / "nlu" / "statements.yaml"
    statements.parent.mkdir(exist_ok=True)
    statements.write_text('en:\n  - "I sent you the photo"\n  - "on the tram now"\n', encoding="utf-8")
    kb, _ = load_knowledge(small_kb, today=TODAY)
    assert kb is not None and kb.statements == {"en": ("I sent you the photo", "on the tram now")}
    assert sum(e.intent == "__statement__" for e in kb.examples()) == 2
    statements.write_text('en: "I sent you the photo"\nxx:\n  - "hello"\n', encoding="utf-8")
    errors = errors_of(small_kb)
    assert any("statements.yaml, line 1" in e and "must be a list of messages in quotes" in e for e in errors), errors
    assert any("'xx' is not a language code the bot knows" in e for e in errors), errors
