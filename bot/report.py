"""The city's report: the figures of a period turned into key numbers and charts, once, for every
way they are shown (the dashboard page, the XLSX and CSV downloads, the monthly PDF) — so all of
them hold the same numbers. Small counts are suppressed here, before anything is shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from statistics import mean

from bot.figures import MORE, Selection, share, shown, suppressed
from bot.handoff.desk_text import DeskText
from bot.kb import KnowledgeBase
from bot.locales import Locales
from nlu.languages import ENGLISH_NAMES

TOP = 10  # entries, topics and partners shown in a ranking


@dataclass(frozen=True)
class KeyFigure:
    key: str
    label: str
    value: str  # as shown: "<5", "—", "73%", "≤ 15 min"


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    kind: str  # "columns" (a time series) or "bars" (a ranking or breakdown)
    items: list[tuple[str, int | None]]  # (label, count); None: suppressed

    @property
    def empty(self) -> bool:
        """Nothing to draw: no items, or only zeros (a suppressed count is not nothing)."""
        return all(v == 0 for _, v in self.items)


@dataclass
class Report:
    lang: str
    title: str
    period: str
    start: dt.date
    end: dt.date
    filters: str
    figures: list[KeyFigure] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    headings: dict[str, str] = field(default_factory=dict)  # "figures", "method"

    def figure(self, key: str) -> str:
        return next(f.value for f in self.figures if f.key == key)


def build_report(
    selection: Selection,
    kb: KnowledgeBase,
    locales: Locales,
    text: DeskText,
    lang: str,
    made: dt.date,
    step: str | None = None,
) -> Report:
    """Everything shown about ``selection``, labelled in ``lang`` (en or ro); trends by ``step``
    ("week" or "month"; by default months for periods over half a year)."""

    def t(key: str, **values: object) -> str:
        return text(f"report.{key}", **values)

    report = Report(
        lang=lang,
        title=t("title"),
        period=t("period", start=_date(selection.start), end=_date(selection.end)),
        start=selection.start,
        end=selection.end,
        filters=", ".join(
            part
            for part in (
                t("channel", channel=selection.channel) if selection.channel else "",
                t("language", language=_language(selection.language)) if selection.language else "",
            )
            if part
        )
        or t("everything"),
        notes=[t(f"note.{n}", made=_date(made)) for n in ("source", "people", "small", "waits", "privacy")],
        headings={"figures": t("figures"), "method": t("method")},
    )
    total = selection.total
    questions = total("questions")
    answered = total("answered")
    helpful, unhelpful = total("helpful"), total("unhelpful")
    ratings = [int(score) for score, n in selection.by("rating", "subject").items() for _ in range(n)]
    for key, value in (
        ("new_people", shown(total("new_people"))),
        ("messages", shown(total("messages"))),
        ("questions", shown(questions)),
        ("answered_share", share(answered, questions)),
        ("unanswered", shown(total("unanswered") + total("suggested"))),
        ("out_of_scope", shown(total("out_of_scope"))),
        ("crisis", shown(total("crisis"))),
        ("handoff_requested", shown(total("handoff_requested"))),
        ("handoff_out_of_hours", shown(total("handoff_out_of_hours"))),
        ("handoff_closed", shown(total("handoff_closed"))),
        ("handoff_abandoned", shown(total("handoff_abandoned"))),
        ("claim_wait_median", _wait(selection.wait_percentile("claim_wait", 0.5), t)),
        ("claim_wait_p90", _wait(selection.wait_percentile("claim_wait", 0.9), t)),
        ("reply_wait_median", _wait(selection.wait_percentile("reply_wait", 0.5), t)),
        ("reply_wait_p90", _wait(selection.wait_percentile("reply_wait", 0.9), t)),
        ("helpful_share", share(helpful, helpful + unhelpful)),
        ("rating", f"{mean(ratings):.1f} / 5" if len(ratings) >= 5 else "—"),
        ("referral_made", shown(total("referral_made"))),
        ("referral_done", shown(total("referral_done"))),
    ):
        report.figures.append(KeyFigure(key, t(f"figure.{key}"), value))

    if step not in ("week", "month"):
        step = "month" if (selection.end - selection.start).days > 190 else "week"

    def when(start: dt.date) -> str:
        return start.strftime("%m.%Y") if step == "month" else start.strftime("%d.%m")  # the year is in the title

    def series(metric: str) -> list[tuple[str, int | None]]:
        values = dict(selection.series(metric, step))
        return _hidden([(when(s), v) for s, v in values.items()])

    def ranking(metric: str, key: str, name) -> list[tuple[str, int | None]]:
        counts: dict[str, int] = {}
        for one in metric.split("+"):  # "unanswered+suggested": both together
            for k, n in selection.by(one, key).items():
                if k or key in ("language", "channel"):  # no nearest entry: in the key figures only
                    counts[k] = counts.get(k, 0) + n
        hidden = suppressed(counts)
        ordered = sorted(counts, key=lambda k: (-counts[k], k))[:TOP]
        return [(name(k), hidden[k]) for k in ordered if counts[k]]

    def entry_name(entry_id: str) -> str:
        entry = kb.entries.get(entry_id)
        return entry.translation(lang).title if entry is not None else entry_id

    def topic_name(topic: str) -> str:
        return locales.text(lang, f"topic.{topic}") if locales.has(f"topic.{topic}") else topic

    def nearby_name(topic: str) -> str:
        return locales.text(lang, f"nearby.{topic}") if locales.has(f"nearby.{topic}") else topic

    def waits(metric: str) -> list[tuple[str, int | None]]:
        counts = selection.by(metric, "subject")
        hidden = suppressed(counts)
        order = sorted((k for k in counts if k != MORE), key=int) + ([MORE] if MORE in counts else [])
        return [(_wait(k, t) if k == MORE else t("up_to", wait=_wait(k, t)), hidden[k]) for k in order]

    people_rows = selection.people(step)
    for key, kind, items in (
        ("questions", "columns", series("questions")),
        ("people", "columns", _hidden([(when(s), n) for s, n in people_rows])),
        ("languages", "bars", ranking("messages", "language", _language)),
        ("channels", "bars", ranking("messages", "channel", str)),
        ("topics", "bars", ranking("answered", "topic", topic_name)),
        ("entries", "bars", ranking("answered", "subject", entry_name)),
        ("unclear_topics", "bars", ranking("unanswered+suggested", "topic", topic_name)),
        ("out_of_scope", "bars", ranking("out_of_scope", "subject", nearby_name)),
        ("handoffs", "columns", series("handoff_requested")),
        ("handoff_languages", "bars", ranking("handoff_requested", "language", _language)),
        ("claim_waits", "bars", waits("claim_wait")),
        ("unhelpful", "bars", ranking("unhelpful", "subject", entry_name)),
        ("ratings", "bars", [(t("stars", rating=r), n) for r, n in _ratings(selection)]),
        ("referrals", "bars", ranking("referral_made", "subject", str)),
        ("referrals_done", "bars", ranking("referral_done", "subject", str)),
    ):
        report.charts.append(Chart(key, t(f"chart.{key}"), kind, items))
    return report


def _ratings(selection: Selection) -> list[tuple[str, int | None]]:
    counts = selection.by("rating", "subject")
    if not counts:
        return []
    hidden = suppressed({str(r): counts.get(str(r), 0) for r in range(5, 0, -1)})
    return list(hidden.items())


def _hidden(items: list[tuple[str, int]]) -> list[tuple[str, int | None]]:
    hidden = suppressed({label: value for label, value in items})
    return [(label, hidden[label]) for label, _ in items]


def _wait(bound: str | None, t) -> str:
    if bound is None:
        return "—"
    if bound == MORE:
        return t("wait_more")
    minutes = int(bound)
    return t("wait_hours", hours=minutes // 60) if minutes >= 120 else t("wait_minutes", minutes=minutes)


def _date(day: dt.date) -> str:
    return day.strftime("%d.%m.%Y")


def _language(code: str | None) -> str:
    if not code:
        return "—"
    return f"{ENGLISH_NAMES.get(code, code)} ({code})"
