"""The city's dashboard: the figures of a period as key numbers and charts, with filters, and the
same figures to download as CSV, XLSX or the PDF report (bot/report.py builds what all show)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from bot.figures import ZONE, Selection, roll_up, select_figures
from bot.handoff.desk_text import load_desk_text
from bot.report import Report, build_report
from bot.report_files import to_csv, to_pdf, to_xlsx
from bot.web.charts import svg
from bot.web.sessions import StaffSession
from nlu.languages import LANGUAGES

if TYPE_CHECKING:
    from bot.web.console import Console

DASHBOARD_ROLES = ("analyst", "coordinator", "admin")
CHANNELS = ("telegram", "whatsapp", "web")
DEFAULT_DAYS = 91
REPORT_LANGUAGES = ("en", "ro")
FILES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


class Dashboard:
    def __init__(self, console: Console):
        self.console = console

    async def _selection(self, request: Request) -> Selection | None:
        """The figures the filters ask for (counting first what finished since); None for bad dates."""
        today = self.console.clock().astimezone(ZONE).date()
        query = request.query_params
        try:
            end = dt.date.fromisoformat(query["to"]) if query.get("to") else today - dt.timedelta(days=1)
            start = dt.date.fromisoformat(query["from"]) if query.get("from") else end - dt.timedelta(days=DEFAULT_DAYS)
        except ValueError:
            return None
        if start > end or (end - start).days > 3 * 366:
            return None
        channel = query.get("channel") if query.get("channel") in CHANNELS else None
        language = query.get("language") if query.get("language") in LANGUAGES else None
        await roll_up(self.console.store, self.console.content.current.schedule, self.console.clock())
        return await select_figures(self.console.store, start, end, channel, language)

    def _report(self, selection: Selection, lang: str, step: str | None = None) -> Report:
        content = self.console.content.current
        text = self.console.text
        if lang != text.lang:
            text = load_desk_text(self.console.content.locales_dir, lang)[0] or text
        made = self.console.clock().astimezone(ZONE).date()
        return build_report(selection, content.kb, content.locales, text, lang, made, step)

    async def page(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        selection = await self._selection(request)
        if selection is None:
            message = self.console._t("dashboard.bad_dates")
            return self.console.render("message.html", 400, session=session, message=message)
        lang = self.console.text.lang if self.console.text.lang in REPORT_LANGUAGES else "en"
        step = request.query_params.get("step")
        report = self._report(selection, lang, step)
        filters = {
            "from": selection.start.isoformat(),
            "to": selection.end.isoformat(),
            "channel": selection.channel or "",
            "language": selection.language or "",
            "step": step if step in ("week", "month") else "",
        }
        query = "&".join(f"{k}={v}" for k, v in filters.items() if v)
        return self.console.render(
            "dashboard.html",
            session=session,
            report=report,
            charts=[(chart, svg(chart)) for chart in report.charts],
            filters=filters,
            query=query,
            channels=CHANNELS,
            languages=LANGUAGES,
            report_languages=REPORT_LANGUAGES,
            has_figures=bool(selection.rows),
        )

    async def download(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        kind = request.path_params["kind"]
        if kind not in FILES:
            return Response("Unknown format.", status_code=404)
        selection = await self._selection(request)
        if selection is None:
            return Response(self.console._t("dashboard.bad_dates"), status_code=400)
        lang = request.query_params.get("report_language", "en")
        step = request.query_params.get("step")
        report = self._report(selection, lang if lang in REPORT_LANGUAGES else "en", step)
        if kind == "csv":
            body = to_csv(selection)
        elif kind == "xlsx":
            body = to_xlsx(report, selection)
        else:
            body = to_pdf(report)
        name = f"acasa-{selection.start.isoformat()}-{selection.end.isoformat()}.{kind}"
        headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
        return Response(body, media_type=FILES[kind], headers=headers)
