"""Matching quality on the development question set (written without looking at the KB examples).

These are the acceptance thresholds of the matcher: >= 90% of in-scope questions answered with the
right entry, >= 80% in every language, <= 10% of out-of-scope questions answered.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu.evaluate import Report, evaluate, format_report, read_questions
from nlu.languages import LANGUAGES
from nlu.matcher import BuiltinMatcher
from tests.conftest import PROJECT

DEV_SET = PROJECT / "tests" / "nlu" / "dev_questions.jsonl"
HOLDOUT_SET = PROJECT / "tests" / "nlu" / "holdout_questions.jsonl"


async def _report(matcher: BuiltinMatcher, path: Path) -> Report:
    return await evaluate(matcher, read_questions(path))


def test_dev_set_is_large_and_covers_every_language() -> None:
    questions = read_questions(DEV_SET)
    assert len(questions) >= 300
    assert {q.lang for q in questions} == set(LANGUAGES)
    assert sum(q.intent is None for q in questions) >= 40
    assert sum("romanized" in q.tags for q in questions) >= 60


@pytest.mark.parametrize("path", [DEV_SET, HOLDOUT_SET], ids=["dev", "holdout"])
def test_question_sets_share_no_text_with_kb_examples(shipped_kb, path: Path) -> None:
    from nlu.normalize import normalize

    known = {normalize(e.text) for e in shipped_kb.examples()}
    shared = [q.text for q in read_questions(path) if normalize(q.text) in known]
    assert shared == []


@pytest.mark.parametrize("path", [DEV_SET, HOLDOUT_SET], ids=["dev", "holdout"])
async def test_matcher_meets_accuracy_targets(matcher: BuiltinMatcher, path: Path) -> None:
    report = await _report(matcher, path)
    summary = format_report(report, show_failures=True)
    assert report.in_scope.rate >= 0.90, summary
    assert report.out_of_scope_answered.rate <= 0.10, summary
    weak = {lang: t.rate for lang, t in report.by_language.items() if t.rate < 0.80}
    assert not weak, summary


async def test_language_is_identified(matcher: BuiltinMatcher) -> None:
    report = await evaluate(matcher, read_questions(DEV_SET), use_hint=False)
    assert report.language_id.rate >= 0.85, format_report(report)
