"""``acasa report``: the city's figures for a period, as CSV, XLSX or the PDF report."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path

from bot.content import SCHEDULE_FILE
from bot.figures import ZONE, roll_up, select_figures
from bot.handoff.desk_text import load_desk_text
from bot.handoff.schedule import office_hours
from bot.kb import KnowledgeBase
from bot.locales import Locales
from bot.report import build_report
from bot.report_files import to_csv, to_pdf, to_xlsx
from bot.store import Store
from nlu.languages import LANGUAGES

FORMATS = ("csv", "xlsx", "pdf")


class ReportError(Exception):
    pass


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a date (YYYY-MM-DD)") from None


def add_parsers(sub: argparse._SubParsersAction, run: Callable[[argparse.Namespace], int]) -> None:  # type: ignore[type-arg]
    report = sub.add_parser(
        "report",
        help="the city's figures for a period (CSV, XLSX or the PDF report); counts finished days first",
    )
    report.add_argument("--from", dest="start", type=_day, help="first day (default: the first of last month)")
    report.add_argument("--to", dest="end", type=_day, help="last day (default: the last of last month)")
    report.add_argument("--format", choices=FORMATS, default="pdf")
    report.add_argument("--channel", choices=("telegram", "whatsapp", "web"))
    report.add_argument("--language", choices=LANGUAGES, help="only people writing in this language")
    report.add_argument("--report-language", choices=("en", "ro"), default="ro", help="language of the report")
    report.add_argument("-o", "--output", required=True, help="the file to write")
    report.set_defaults(func=run)


def last_month(today: dt.date) -> tuple[dt.date, dt.date]:
    end = today.replace(day=1) - dt.timedelta(days=1)
    return end.replace(day=1), end


def write_report(
    args: argparse.Namespace,
    database_url: str,
    knowledge_dir: Path,
    locales_dir: Path,
    kb: KnowledgeBase,
    locales: Locales,
) -> Path:
    now = dt.datetime.now(dt.UTC)
    default_start, default_end = last_month(now.astimezone(ZONE).date())
    start, end = args.start or default_start, args.end or default_end
    if start > end:
        raise ReportError("--from must not be after --to")
    text, problems = load_desk_text(locales_dir, args.report_language)
    if text is None:
        raise ReportError("; ".join(p.message for p in problems.errors))

    async def run():
        store = await Store.open(database_url)
        try:
            await roll_up(store, office_hours(knowledge_dir / SCHEDULE_FILE), now)
            return await select_figures(store, start, end, args.channel, args.language)
        finally:
            await store.close()

    selection = asyncio.run(run())
    report = build_report(selection, kb, locales, text, args.report_language, now.astimezone(ZONE).date())
    body = {"csv": lambda: to_csv(selection), "xlsx": lambda: to_xlsx(report, selection), "pdf": lambda: to_pdf(report)}
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(body[args.format]())
    return output
