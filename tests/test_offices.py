"""Offices asked for by name: the aliases of contacts and the words that ask where or how to reach."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.kb import Severity, load_knowledge
from bot.kb.model import Contact
from bot.offices import OfficeFinder, load_office_finder
from tests.conftest import PROJECT

ASKS = ["unde", "where", "address", "telefon", "kahan", "где", "وين"]


def _contact(cid: str, *aliases: str) -> Contact:
    return Contact(cid, cid.upper(), "authority", True, (), dt.date(2026, 12, 1), aliases=aliases)


IGI = _contact("igi_timis", "IGI", "immigration office", "миграционная служба")
PORTAL = _contact("igi_portal", "IGI", "IGI portal")
CITY_HALL = _contact("primaria", "primaria", "city hall")


def test_a_short_question_naming_an_office_and_asking_where_finds_it() -> None:
    finder = OfficeFinder([IGI, PORTAL, CITY_HALL], ASKS)
    assert finder.asked_for("unde e biroul IGI") == (IGI, PORTAL)  # every office of that name, in order
    assert finder.asked_for("Where is the Immigration Office??") == (IGI,)  # case and punctuation ignored
    assert finder.asked_for("где находится миграционная служба") == (IGI,)
    assert finder.asked_for("primăria telefon") == (CITY_HALL,)  # accents ignored
    assert finder.asked_for("city hall kahan hai, IGI kahan") == (CITY_HALL, IGI, PORTAL)


def test_naming_an_office_without_asking_where_or_asking_something_longer_finds_nothing() -> None:
    finder = OfficeFinder([IGI, PORTAL, CITY_HALL], ASKS)
    assert finder.asked_for("IGI permit renewal documents") == ()  # no word asks where
    assert finder.asked_for("where do I renew my residence permit") == ()  # no office named
    assert finder.asked_for("where can I find the documents list for renewing a permit at IGI") == ()  # long
    assert finder.asked_for("unde e bigibiroul") == ()  # whole words only
    assert OfficeFinder([IGI], []).asked_for("unde e IGI") == ()  # no question words: never


def test_the_question_words_are_optional_and_checked(tmp_path: Path) -> None:
    finder, problems = load_office_finder([IGI], tmp_path / "offices.yaml")
    assert finder is not None and not problems.errors and finder.asked_for("unde e IGI") == ()
    (tmp_path / "offices.yaml").write_text('en:\n  where: ["where"]\n', encoding="utf-8")
    finder, problems = load_office_finder([IGI], tmp_path / "offices.yaml")
    assert finder is None
    assert any("'where' is not a category; use one of asks" in p.message for p in problems.errors)


def test_aliases_must_be_a_list_of_names(small_kb: Path) -> None:
    path = small_kb / "contacts.yaml"
    text = path.read_text(encoding="utf-8").replace("  kind: authority\n", "  kind: authority\n  aliases: IGI\n", 1)
    path.write_text(text, encoding="utf-8")
    kb, problems = load_knowledge(small_kb, today=dt.date(2026, 11, 22))
    assert kb is None
    errors = [p.format(small_kb) for p in problems if p.severity is Severity.ERROR]
    assert any("field 'igi.aliases': 'aliases' must be a list of the names people use for it" in e for e in errors)


def test_the_shipped_offices_are_found_by_the_names_people_use() -> None:
    kb, _ = load_knowledge(PROJECT / "knowledge")
    finder, problems = load_office_finder(kb.contacts.values(), PROJECT / "knowledge" / "nlu" / "offices.yaml")
    assert finder is not None and not problems.errors
    for text, office in [
        ("unde e biroul IGI", "igi_timis"),
        ("where is the immigration office", "igi_timis"),
        ("CAS Timis telefon", "cas_timis"),
        ("program ITM Timis", "itm_timis"),
        ("وين مكتب الهجرة", "igi_timis"),
        ("primaria kothay", "primaria_timisoara"),
    ]:
        assert [c.id for c in finder.asked_for(text)][:1] == [office], text


def test_the_offices_development_set() -> None:
    """tests/nlu/offices_dev.jsonl: 132 short questions asking where an office is or how to reach
    it, by two more authors, and 88 that name an office but ask something else. The question words
    and aliases were completed from its misses (a development set; the held-out one is below).
    Floors at the figures measured: 129 of 132 found (a bare "CAS" is no alias: in French it is
    "case"), none of the others."""
    import json

    kb, _ = load_knowledge(PROJECT / "knowledge")
    finder, _ = load_office_finder(kb.contacts.values(), PROJECT / "knowledge" / "nlu" / "offices.yaml")
    rows = [json.loads(line) for line in (PROJECT / "tests" / "nlu" / "offices_dev.jsonl").read_text().splitlines()]
    asks = [r["text"] for r in rows if r["kind"] == "asks"]
    other = [r["text"] for r in rows if r["kind"] == "other"]
    assert (
        len(asks) == 132
        and len(other) == 88
        and {r["lang"] for r in rows} == {"ro", "en", "uk", "ru", "ar", "ne", "si", "ta", "bn", "ur", "fr"}
    )
    assert sum(bool(finder.asked_for(t)) for t in asks) >= 129
    assert [t for t in other if finder.asked_for(t)] == []


def test_the_offices_held_out_set() -> None:
    """tests/nlu/offices_holdout.jsonl: the same kinds of question by another author, written after
    the words and aliases were completed and only measured (the 20 lines it shared with the
    development set were taken out). Floors at the figures measured: 97 of 120 found; the misses
    are mostly ways of asking the way or the opening time no list holds ("kif bwsal 3al drpciv",
    "primaria কয়টায় খোলে")."""
    import json

    kb, _ = load_knowledge(PROJECT / "knowledge")
    finder, _ = load_office_finder(kb.contacts.values(), PROJECT / "knowledge" / "nlu" / "offices.yaml")
    path = PROJECT / "tests" / "nlu" / "offices_holdout.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    asks = [r["text"] for r in rows if r["kind"] == "asks"]
    other = [r["text"] for r in rows if r["kind"] == "other"]
    assert len(asks) == 120 and len(other) == 80
    assert sum(bool(finder.asked_for(t)) for t in asks) >= 97
    assert [t for t in other if finder.asked_for(t)] == []
