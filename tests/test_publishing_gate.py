"""The publishing gate: a change that makes the bot answer its question sets worse is refused."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from bot.kb import load_knowledge
from bot.matching import build_builtin
from bot.publishing import ALLOWED_LOSS, append_example, compare, refusal
from nlu.evaluate import LabelledQuestion

TODAY = dt.date(2026, 11, 22)


def test_examples_that_pull_questions_to_the_wrong_entry_are_refused(small_kb: Path) -> None:
    for word in ("zebra", "giraffe", "okapi"):  # the asylum entry knows these questions
        append_example(small_kb, "rights.asylum", "en", f"{word} papers for my family")
    before, _ = load_knowledge(small_kb, today=TODAY)
    assert before is not None
    questions = [LabelledQuestion(f"{w} papers", "en", "rights.asylum") for w in ("zebra", "giraffe", "okapi")]
    # An editor files a dozen such questions under the residence permit.
    for word in ("zebra", "giraffe", "okapi"):
        for n in range(4):
            append_example(small_kb, "rights.residence_permit", "en", f"{word} papers {n} please")
    after, problems = load_knowledge(small_kb, today=TODAY)
    assert after is not None, problems.errors
    result = compare(build_builtin(before), build_builtin(after), questions)
    n, right_before, right_after = result.accuracy["en"]
    assert n == 3 and right_before == 3 and right_before - right_after > ALLOWED_LOSS, result.accuracy
    assert refusal(result) == f"the question sets would be answered worse: en 3 → {right_after} of 3"
    assert {lang for lang, *_ in result.changed_answers} == {"en"}
    assert all(after_entry != "rights.asylum" for *_, after_entry in result.changed_answers)


def test_a_harmless_example_passes(small_kb: Path) -> None:
    before, _ = load_knowledge(small_kb, today=TODAY)
    assert before is not None
    questions = [LabelledQuestion("question one about rights.asylum", "en", "rights.asylum")]
    append_example(small_kb, "rights.asylum", "en", "how do I ask for asylum here")
    after, _ = load_knowledge(small_kb, today=TODAY)
    assert after is not None
    result = compare(build_builtin(before), build_builtin(after), questions)
    assert result.accuracy["en"] == (1, 1, 1) and refusal(result) is None


async def test_two_instances_publishing_at_once_write_each_change_once(tmp_path: Path) -> None:
    """Two replicas press "publish" at the same moment on one folder: one publishes, one finds nothing."""
    import shutil

    from bot.content import ContentService
    from bot.publishing import Publisher
    from bot.store import Store
    from tests.conftest import PROJECT

    knowledge = tmp_path / "knowledge"
    shutil.copytree(PROJECT / "knowledge", knowledge)
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'acasa.db'}")
    try:
        replicas = []
        for _ in range(2):
            content = ContentService(knowledge, PROJECT / "locales")
            content.load()
            replicas.append(Publisher(store, content, []))
        now = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
        question = "can I ask for asylum at the airport"
        await replicas[0].stage_example("web:edith", "Edith", "rights.asylum", "en", question, now)
        first, second = await asyncio.gather(
            replicas[0].publish("web:edith", "Edith", now), replicas[1].publish("web:dan", "Dan", now)
        )
        assert sorted([first.published, second.published]) == [False, True]
        assert "nothing to publish" in (first.reason or "") + (second.reason or "")
        text = (knowledge / "entries" / "rights.asylum" / "en.yaml").read_text(encoding="utf-8")
        assert text.count(question) == 1
        assert await replicas[0].pending() == [] and len(await replicas[1].history()) == 1
    finally:
        await store.close()


def test_a_text_is_checked_by_the_rules_of_kb_check_before_it_is_staged(small_kb: Path) -> None:
    from bot.publishing import text_problems

    def errors(lang: str, title: str, answer: str, examples: list[str] | None = None) -> dict[str, str]:
        found = text_problems(small_kb, "rights.asylum", lang, title, answer, examples, TODAY)
        return {p.field: p.message for p in found if p.error}

    assert errors("uk", "Притулок", "Зверніться до **IGI**.") == {}
    said = errors("uk", "Притулок", "Перший рядок\n\nДругий **рядок")
    assert set(said) == {"answer"} and said["answer"].startswith("line 3: ")  # the line in the answer typed
    assert set(errors("uk", "  ", "текст")) == {"title"}

    # A language the entry does not have yet needs its own example questions.
    (small_kb / "entries" / "rights.asylum" / "ne.yaml").unlink()
    assert "examples" in errors("ne", "शरण", "**IGI** मा सोध्नुहोस्।")
    assert "examples" in errors("ne", "शरण", "**IGI** मा सोध्नुहोस्।", ["शरण कसरी माग्ने"])  # one is too few
    three = ["शरण कसरी माग्ने", "sharan kasari magne", "asylum apply garna"]
    assert errors("ne", "शरण", "**IGI** मा सोध्नुहोस्।", three) == {}
    assert not (small_kb / "entries" / "rights.asylum" / "ne.yaml").exists()  # checked in a scratch folder


def test_a_button_label_is_written_after_the_title_or_removed(small_kb: Path) -> None:
    from bot.kb.edit import write_text

    path = small_kb / "entries" / "rights.asylum" / "fr.yaml"
    original = path.read_text(encoding="utf-8")
    without = "\n".join(line for line in original.splitlines() if not line.startswith("short_title:")) + "\n"
    path.write_text(without, encoding="utf-8")
    write_text(path, "Asile", "Demandez à **IGI**.", short_title="Asile")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[lines.index('title: "Asile"') + 1] == 'short_title: "Asile"'
    write_text(path, "Asile", "Demandez à **IGI**.", short_title="")
    assert "short_title" not in path.read_text(encoding="utf-8")  # an empty label: the title, cut, is used
    write_text(path, "Asile", "Demandez à **IGI**.")  # not given: left as it is
    assert "examples:" in path.read_text(encoding="utf-8")
