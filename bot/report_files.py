"""The report as files: CSV (the counted figures, one per line), XLSX (the page's key figures and
charts, and the counted figures) and PDF (the monthly report for the city: cover, key figures,
charts, method and privacy). Every number passes through the same suppression as the page."""

from __future__ import annotations

import csv
import io

from fpdf import FPDF

from bot.figures import Selection, shown
from bot.posters import fonts_dir
from bot.report import Report

FIGURE_COLUMNS = ("period", "start", "channel", "language", "subject", "metric", "value")


def figure_rows(selection: Selection) -> list[tuple[str, str, str, str, str, str, int | str]]:
    """The counted figures of the selection, small counts as "<5"."""
    rows = sorted(selection.rows, key=lambda r: (r.period, r.start, r.channel, r.language, r.metric, r.subject))
    return [(r.period, r.start.isoformat(), r.channel, r.language, r.subject, r.metric, _cell(r.value)) for r in rows]


def _cell(value: int | None) -> int | str:
    text = shown(value)
    return int(text) if text.isdigit() else text


def to_csv(selection: Selection) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FIGURE_COLUMNS)
    writer.writerows(figure_rows(selection))
    return out.getvalue().encode("utf-8-sig")  # with a BOM, so spreadsheet programs read ș and ț


def to_xlsx(report: Report, selection: Selection) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    summary = book.active
    summary.title = "Summary"
    summary.append([report.title])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append([report.period, report.filters])
    summary.append([])
    for figure in report.figures:
        summary.append([figure.label, _cell_text(figure.value)])
    summary.column_dimensions["A"].width = 60
    summary.column_dimensions["B"].width = 18

    charts = book.create_sheet("Charts")
    for chart in report.charts:
        charts.append([chart.title])
        charts.cell(row=charts.max_row, column=1).font = Font(bold=True)
        for label, value in [] if chart.empty else chart.items:
            charts.append([label, _cell(value)])
        charts.append([])
    charts.column_dimensions["A"].width = 50

    raw = book.create_sheet("Figures")
    raw.append(list(FIGURE_COLUMNS))
    for row in figure_rows(selection):
        raw.append(list(row))

    method = book.create_sheet("Method")
    for note in report.notes:
        method.append([note])
    method.column_dimensions["A"].width = 120
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell_text(value: str) -> int | str:
    return int(value) if value.isdigit() else value


class _Pdf(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4")
        folder = fonts_dir()
        self.add_font("Noto", "", str(folder / "NotoSans-Regular.ttf"))
        self.add_font("Noto", "B", str(folder / "NotoSans-Bold.ttf"))
        self.set_auto_page_break(True, margin=18)
        self.set_margins(18, 18, 18)

    def heading(self, text: str, size: float = 15) -> None:
        self.set_font("Noto", "B", size)
        self.multi_cell(0, size * 0.55, text, align="L", new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def body(self, text: str, size: float = 10) -> None:
        self.set_font("Noto", "", size)
        self.multi_cell(0, size * 0.5, text, align="L", new_x="LMARGIN", new_y="NEXT")
        self.ln(1.5)


def to_pdf(report: Report) -> bytes:
    pdf = _Pdf()
    pdf.set_title(report.title)
    pdf.set_creator("Acasă")
    pdf.add_page()  # the cover
    pdf.ln(50)
    pdf.heading(report.title, 22)
    pdf.body(report.period, 16)
    pdf.body(report.filters, 12)
    pdf.ln(8)
    for figure in report.figures[:4]:  # the headline figures on the cover
        pdf.set_font("Noto", "B", 26)
        pdf.cell(45, 14, figure.value)
        pdf.set_font("Noto", "", 11)
        pdf.multi_cell(0, 14, figure.label, new_x="LMARGIN", new_y="NEXT")

    pdf.add_page()
    pdf.heading(report.headings["figures"])
    for figure in report.figures:
        pdf.set_font("Noto", "", 10)
        pdf.cell(140, 7, figure.label, border="B")
        pdf.set_font("Noto", "B", 10)
        pdf.cell(0, 7, figure.value, border="B", align="R", new_x="LMARGIN", new_y="NEXT")

    for chart in report.charts:
        if chart.empty:
            continue
        needed = 12 + 7 * len(chart.items)
        if pdf.get_y() + needed > pdf.h - 20:
            pdf.add_page()
        pdf.ln(6)
        pdf.heading(chart.title, 12)
        _bars(pdf, chart.items)

    pdf.add_page()
    pdf.heading(report.headings["method"])
    for note in report.notes:
        pdf.body(note)
    return bytes(pdf.output())


def _bars(pdf: FPDF, items: list[tuple[str, int | None]]) -> None:
    """One row per item: its label, a bar, its count ("<5" with an outlined stub)."""
    top = max((v or 0 for _, v in items), default=0) or 1
    left, label_width, room = pdf.l_margin, 62, 90
    for label, value in items:
        y = pdf.get_y()
        pdf.set_font("Noto", "", 8.5)
        shown_label = label if pdf.get_string_width(label) <= label_width - 2 else label[:38] + "…"
        pdf.set_xy(left, y)
        pdf.cell(label_width, 6, shown_label)
        if value is None:
            pdf.set_draw_color(120, 120, 120)
            pdf.rect(left + label_width, y + 1, 4, 4)
            width = 4.0
        else:
            pdf.set_fill_color(31, 94, 140)
            width = room * value / top if value else 0
            if width:
                pdf.rect(left + label_width, y + 1, width, 4, style="F")
        pdf.set_xy(left + label_width + width + 2, y)
        pdf.cell(20, 6, "<5" if value is None else str(value), new_x="LMARGIN", new_y="NEXT")
