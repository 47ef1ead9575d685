"""Accuracy of a matcher on a labelled question set: per language, per intent, confusions."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from nlu.languages import LANGUAGES
from nlu.matcher import Matcher, Outcome, Prediction


@dataclass(frozen=True)
class LabelledQuestion:
    text: str
    lang: str | None
    intent: str | None  # None: out of scope, the bot must not answer
    tags: tuple[str, ...] = ()


def read_questions(path: Path) -> list[LabelledQuestion]:
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            questions.append(
                LabelledQuestion(row["text"], row.get("lang"), row.get("intent"), tuple(row.get("tags", ())))
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}, line {number}: not a labelled question ({exc})") from exc
    return questions


@dataclass
class Tally:
    total: int = 0
    correct: int = 0

    def add(self, ok: bool) -> None:
        self.total += 1
        self.correct += ok

    @property
    def rate(self) -> float:
        return self.correct / self.total if self.total else 0.0


@dataclass
class Report:
    in_scope: Tally = field(default_factory=Tally)  # answered with the right entry
    in_scope_top3: Tally = field(default_factory=Tally)  # right entry answered or offered
    suggested: int = 0
    refused: int = 0
    out_of_scope_answered: Tally = field(default_factory=Tally)
    by_language: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_intent: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_tag: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)
    language_id: Tally = field(default_factory=Tally)
    failures: list[tuple[LabelledQuestion, Prediction]] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "in_scope_accuracy": round(self.in_scope.rate, 4),
            "in_scope_top3": round(self.in_scope_top3.rate, 4),
            "in_scope_questions": self.in_scope.total,
            "out_of_scope_answered_rate": round(self.out_of_scope_answered.rate, 4),
            "out_of_scope_questions": self.out_of_scope_answered.total,
            "language_id_accuracy": round(self.language_id.rate, 4),
            "by_language": {k: round(v.rate, 4) for k, v in sorted(self.by_language.items())},
            "by_intent": {k: round(v.rate, 4) for k, v in sorted(self.by_intent.items())},
            "confusions": [
                {"expected": a, "predicted": b, "count": n} for (a, b), n in self.confusions.most_common(10)
            ],
        }


async def evaluate(matcher: Matcher, questions: Iterable[LabelledQuestion], *, use_hint: bool = True) -> Report:
    report = Report()
    for q in questions:
        prediction = await matcher.match(q.text, q.lang if use_hint else None)
        if q.lang:
            report.language_id.add(prediction.language == q.lang)
        if q.intent is None:
            report.out_of_scope_answered.add(prediction.intent is not None)
            if prediction.intent is not None:
                report.confusions[("(out of scope)", prediction.intent)] += 1
                report.failures.append((q, prediction))
            continue
        ok = prediction.intent == q.intent
        report.in_scope.add(ok)
        report.in_scope_top3.add(any(c.intent == q.intent for c in prediction.candidates[:3]))
        report.by_language[q.lang or "?"].add(ok)
        report.by_intent[q.intent].add(ok)
        for tag in q.tags:
            report.by_tag[tag].add(ok)
        if prediction.outcome is Outcome.SUGGEST:
            report.suggested += 1
        elif prediction.outcome is Outcome.NONE:
            report.refused += 1
        if not ok:
            report.failures.append((q, prediction))
            predicted = prediction.intent or (
                "(did you mean)" if prediction.outcome is Outcome.SUGGEST else "(no match)"
            )
            report.confusions[(q.intent, predicted)] += 1
    return report


def format_report(report: Report, *, show_failures: bool = False) -> str:
    lines = [
        f"In scope: {report.in_scope.rate:.1%} answered correctly ({report.in_scope.correct}/{report.in_scope.total}); "
        f"right entry in top 3: {report.in_scope_top3.rate:.1%}; "
        f"did-you-mean {report.suggested}, no match {report.refused}",
        f"Out of scope answered (should be low): {report.out_of_scope_answered.rate:.1%} "
        f"({report.out_of_scope_answered.correct}/{report.out_of_scope_answered.total})",
        f"Language identified: {report.language_id.rate:.1%}",
        "",
        "By language:",
    ]
    order = [lang for lang in LANGUAGES if lang in report.by_language] + sorted(
        set(report.by_language) - set(LANGUAGES)
    )
    for lang in order:
        t = report.by_language[lang]
        lines.append(f"  {lang:<4} {t.rate:6.1%}  ({t.correct}/{t.total})")
    if report.by_tag:
        lines += ["", "By kind of question:"]
        for tag, t in sorted(report.by_tag.items()):
            lines.append(f"  {tag:<14} {t.rate:6.1%}  ({t.correct}/{t.total})")
    lines += ["", "By intent:"]
    for intent, t in sorted(report.by_intent.items()):
        lines.append(f"  {intent:<34} {t.rate:6.1%}  ({t.correct}/{t.total})")
    lines += ["", "Most confused (expected -> got):"]
    if not report.confusions:
        lines.append("  none")
    for (expected, got), count in report.confusions.most_common(10):
        lines.append(f"  {count:3d}  {expected} -> {got}")
    if show_failures:
        lines += ["", "Failures:"]
        for q, p in report.failures:
            lines.append(
                f"  [{q.lang}] {q.text!r}: expected {q.intent}, got {p.intent} "
                f"({p.outcome.value}; {', '.join(f'{c.intent}={c.confidence:.2f}' for c in p.candidates[:3])})"
            )
    return "\n".join(lines)
