"""Accuracy of a matcher on a labelled question set: per language, per intent, confusions.

A set is JSON lines (see ``tests/nlu/realistic/README.md``). Besides questions with the entry that
answers them, a realistic set holds near-domain questions (``intent`` null, a ``topic``),
emergencies, ordinary questions with scary words (``not_emergency``) and small talk; with the
bot's emergency and small-talk recognisers passed in, their recall and false alarms are counted
per language too.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
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
    kind: str = "question"  # question, emergency, not_emergency or smalltalk
    topic: str | None = None  # a near-domain question's topic, or the kind of small talk

    @property
    def is_emergency(self) -> bool:
        return self.kind == "emergency"


KINDS = ("question", "emergency", "not_emergency", "smalltalk")


def read_questions(path: Path) -> list[LabelledQuestion]:
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            kind = row.get("kind", "question")
            if kind not in KINDS:
                raise ValueError(f"kind must be one of {', '.join(KINDS)}")
            questions.append(
                LabelledQuestion(
                    row["text"],
                    row.get("lang"),
                    row.get("intent"),
                    tuple(row.get("tags", ())),
                    kind,
                    row.get("topic"),
                )
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


def _by_language() -> defaultdict[str, Tally]:
    return defaultdict(Tally)


@dataclass
class Report:
    in_scope: Tally = field(default_factory=Tally)  # answered with the right entry
    in_scope_top3: Tally = field(default_factory=Tally)  # right entry answered or offered
    suggested: int = 0
    refused: int = 0
    out_of_scope_answered: Tally = field(default_factory=Tally)
    by_language: dict[str, Tally] = field(default_factory=_by_language)
    out_of_scope_by_language: dict[str, Tally] = field(default_factory=_by_language)
    by_intent: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_tag: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)
    language_id: Tally = field(default_factory=Tally)
    failures: list[tuple[LabelledQuestion, Prediction]] = field(default_factory=list)
    # Near-domain questions whose topic was named ("no information about bank accounts yet").
    nearby_named: Tally = field(default_factory=Tally)
    # Emergencies: recall per language, and false alarms on everything that is not one.
    crisis_recall: dict[str, Tally] = field(default_factory=_by_language)
    crisis_false_alarms: dict[str, Tally] = field(default_factory=_by_language)
    crisis_failures: list[LabelledQuestion] = field(default_factory=list)
    # Emergencies missed whose reply still names 112 (an answer that does, or no answer with the
    # number first): what a missed emergency costs.
    missed_shown_112: Tally = field(default_factory=Tally)
    smalltalk: Tally = field(default_factory=Tally)  # small talk recognised as such
    smalltalk_swallowed: Tally = field(default_factory=Tally)  # questions taken for small talk (should be 0)
    evaluated_crisis: bool = False
    questions: int = 0  # messages of kind "question": none means a set that measures the alarm only

    @staticmethod
    def total(by_language: dict[str, Tally]) -> Tally:
        return Tally(sum(t.total for t in by_language.values()), sum(t.correct for t in by_language.values()))

    def to_json(self) -> dict[str, object]:
        result: dict[str, object] = {
            "in_scope_accuracy": round(self.in_scope.rate, 4),
            "in_scope_top3": round(self.in_scope_top3.rate, 4),
            "in_scope_questions": self.in_scope.total,
            "out_of_scope_answered_rate": round(self.out_of_scope_answered.rate, 4),
            "out_of_scope_questions": self.out_of_scope_answered.total,
            "language_id_accuracy": round(self.language_id.rate, 4),
            "by_language": {k: round(v.rate, 4) for k, v in sorted(self.by_language.items())},
            "out_of_scope_answered_by_language": {
                k: round(v.rate, 4) for k, v in sorted(self.out_of_scope_by_language.items())
            },
            "by_intent": {k: round(v.rate, 4) for k, v in sorted(self.by_intent.items())},
            "confusions": [
                {"expected": a, "predicted": b, "count": n} for (a, b), n in self.confusions.most_common(10)
            ],
        }
        if self.nearby_named.total:
            result["near_domain_topic_named"] = round(self.nearby_named.rate, 4)
        if self.evaluated_crisis:
            result["crisis_recall"] = round(self.total(self.crisis_recall).rate, 4)
            result["crisis_false_alarms"] = round(self.total(self.crisis_false_alarms).rate, 4)
            result["crisis_recall_by_language"] = {k: round(v.rate, 4) for k, v in sorted(self.crisis_recall.items())}
            result["crisis_false_alarms_by_language"] = {
                k: round(v.rate, 4) for k, v in sorted(self.crisis_false_alarms.items())
            }
            if self.missed_shown_112.total:
                result["missed_emergencies_shown_112"] = self.missed_shown_112.correct
                result["missed_emergencies"] = self.missed_shown_112.total
        if self.smalltalk.total:
            result["smalltalk_recognised"] = round(self.smalltalk.rate, 4)
        if self.smalltalk_swallowed.total:
            result["questions_taken_for_smalltalk"] = round(self.smalltalk_swallowed.rate, 4)
        return result


CrisisCheck = Callable[[str], bool]
NumberCheck = Callable[[str, Prediction], bool]
SmallTalkCheck = Callable[[str], str | None]


async def evaluate(
    matcher: Matcher,
    questions: Iterable[LabelledQuestion],
    *,
    use_hint: bool = True,
    crisis: CrisisCheck | None = None,
    smalltalk: SmallTalkCheck | None = None,
    shows_112: NumberCheck | None = None,
) -> Report:
    """Run every question through the matcher (and, if given, the bot's emergency and small-talk
    recognisers). ``shows_112`` tells whether the reply to a message the alarm missed still names
    the emergency number."""
    report = Report(evaluated_crisis=crisis is not None)
    for q in questions:
        lang = q.lang or "?"
        prediction = await matcher.match(q.text, q.lang if use_hint else None)
        if q.lang:
            report.language_id.add(prediction.language == q.lang)
        if crisis is not None:
            raised = crisis(q.text)
            if q.is_emergency:
                report.crisis_recall[lang].add(raised)
                if not raised:
                    report.crisis_failures.append(q)
                    if shows_112 is not None:
                        report.missed_shown_112.add(shows_112(q.text, prediction))
            else:
                # Counted as "correct" = a false alarm, so the rate reads as the false-alarm rate.
                report.crisis_false_alarms[lang].add(raised)
                if raised:
                    report.crisis_failures.append(q)
        if smalltalk is not None:
            said = smalltalk(q.text)
            if q.kind == "smalltalk":
                report.smalltalk.add(said is not None)
                continue
            report.smalltalk_swallowed.add(said is not None)
        if q.kind in ("emergency", "smalltalk"):
            continue  # what matters there is the emergency reply, or the small-talk one
        report.questions += q.kind == "question"
        if q.intent is None:
            answered = prediction.intent is not None
            report.out_of_scope_answered.add(answered)
            report.out_of_scope_by_language[lang].add(answered)
            if q.topic:
                report.nearby_named.add(prediction.nearby == q.topic)
            if answered:
                report.confusions[("(out of scope)", prediction.intent or "")] += 1
                report.failures.append((q, prediction))
            continue
        ok = prediction.intent == q.intent
        report.in_scope.add(ok)
        report.in_scope_top3.add(any(c.intent == q.intent for c in prediction.candidates[:3]))
        report.by_language[lang].add(ok)
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


def _languages(*tables: dict[str, Tally]) -> list[str]:
    present = set().union(*tables)
    return [lang for lang in LANGUAGES if lang in present] + sorted(present - set(LANGUAGES))


def format_report(report: Report, *, show_failures: bool = False) -> str:
    if report.evaluated_crisis and not report.questions and not report.smalltalk.total:
        return _format_alarm_report(report, show_failures=show_failures)
    lines = [
        f"In scope: {report.in_scope.rate:.1%} answered correctly ({report.in_scope.correct}/{report.in_scope.total}); "
        f"right entry in top 3: {report.in_scope_top3.rate:.1%}; "
        f"did-you-mean {report.suggested}, no match {report.refused}",
        f"Out of scope answered (should be low): {report.out_of_scope_answered.rate:.1%} "
        f"({report.out_of_scope_answered.correct}/{report.out_of_scope_answered.total})",
    ]
    if report.nearby_named.total:
        lines.append(
            f"Near-domain topic named: {report.nearby_named.rate:.1%} "
            f"({report.nearby_named.correct}/{report.nearby_named.total})"
        )
    if report.evaluated_crisis:
        recall, alarms = report.total(report.crisis_recall), report.total(report.crisis_false_alarms)
        lines.append(
            f"Emergencies recognised: {recall.rate:.1%} ({recall.correct}/{recall.total}); "
            f"false alarms: {alarms.rate:.1%} ({alarms.correct}/{alarms.total})"
        )
        lines += _missed_shown_112_lines(report)
    if report.smalltalk.total or report.smalltalk_swallowed.total:
        said = report.smalltalk
        lines.append(
            f"Small talk recognised: {said.rate:.1%} ({said.correct}/{said.total}); "
            f"questions taken for small talk: {report.smalltalk_swallowed.correct}"
        )
    lines += [f"Language identified: {report.language_id.rate:.1%}", "", "By language:"]
    header = "        in scope          out of scope answered"
    if report.evaluated_crisis:
        header += "   emergencies   false alarms"
    lines.append(header)
    tables = [report.by_language, report.out_of_scope_by_language, report.crisis_recall]
    for lang in _languages(*tables):
        t = report.by_language.get(lang, Tally())
        o = report.out_of_scope_by_language.get(lang, Tally())
        row = f"  {lang:<4} {t.rate:6.1%} ({t.correct:>3}/{t.total:<3})   {o.rate:6.1%} ({o.correct:>2}/{o.total:<2})"
        if report.evaluated_crisis:
            row += "        " + _alarm_columns(report, lang)
        lines.append(row)
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
            expected = q.intent or (f"(out of scope: {q.topic})" if q.topic else "(out of scope)")
            lines.append(
                f"  [{q.lang}] {q.text!r}: expected {expected}, got {p.intent} "
                f"({p.outcome.value}; {', '.join(f'{c.intent}={c.confidence:.2f}' for c in p.candidates[:3])}"
                f"{'; nearby ' + p.nearby if p.nearby else ''})"
            )
        lines += _crisis_failure_lines(report)
    return "\n".join(lines)


def _format_alarm_report(report: Report, *, show_failures: bool) -> str:
    """A set of emergencies and ordinary messages only (no questions labelled with an entry):
    what is measured is the alarm."""
    recall, alarms = report.total(report.crisis_recall), report.total(report.crisis_false_alarms)
    recognised = f"{recall.rate:.1%} ({recall.correct}/{recall.total})" if recall.total else "none in this set"
    lines = [
        f"Emergencies recognised: {recognised}; false alarms: {alarms.rate:.1%} ({alarms.correct}/{alarms.total})",
        *_missed_shown_112_lines(report),
        f"Language identified: {report.language_id.rate:.1%}",
        "",
        "By language:",
        "        emergencies   false alarms",
    ]
    languages = _languages(report.crisis_recall, report.crisis_false_alarms)
    lines += [f"  {lang:<4} " + _alarm_columns(report, lang) for lang in languages]
    if show_failures:
        lines += _crisis_failure_lines(report)
    return "\n".join(lines)


def _missed_shown_112_lines(report: Report) -> list[str]:
    shown = report.missed_shown_112
    if not shown.total:
        return []
    return [f"Missed emergencies whose reply still names 112: {shown.correct}/{shown.total}"]


def _alarm_columns(report: Report, lang: str) -> str:
    c = report.crisis_recall.get(lang, Tally())
    f = report.crisis_false_alarms.get(lang, Tally())
    recognised = f"{c.rate:6.1%} ({c.correct:>2}/{c.total:<2})" if c.total else f"{'—':>13}"
    return f"{recognised} {f.rate:6.1%} ({f.correct:>2}/{f.total:<3})"


def _crisis_failure_lines(report: Report) -> list[str]:
    if not report.crisis_failures:
        return []
    lines = ["", "Emergencies missed and false alarms:"]
    for q in report.crisis_failures:
        lines.append(f"  [{q.lang}] {'missed' if q.is_emergency else 'false alarm'}: {q.text!r}")
    return lines
