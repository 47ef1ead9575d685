"""Charts as inline SVG made on the server: no script, no library, nothing from another site.

Each chart carries its numbers as text too (a title, a description and a label on every bar), so
a screen reader and a printout say what the picture shows. A suppressed count is drawn as an
outlined stub marked "<5".
"""

from __future__ import annotations

from html import escape

from markupsafe import Markup

from bot.report import Chart

WIDTH = 640
BAR = 22  # height of a bar in a ranking
LABEL = 230  # room for the labels of a ranking
COLUMNS_HEIGHT = 200


def svg(chart: Chart) -> Markup:
    return columns(chart) if chart.kind == "columns" else bars(chart)


def _frame(chart: Chart, height: int, body: list[str]) -> Markup:
    listed = "; ".join(f"{label}: {_value(v)}" for label, v in chart.items)
    ident = f"chart-{chart.key}"
    return Markup(
        f'<svg class="chart" id="{ident}" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-title">{escape(chart.title)}</title><desc id="{ident}-desc">{escape(listed)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _value(value: int | None) -> str:
    return "<5" if value is None else str(value)


def bars(chart: Chart) -> Markup:
    """A ranking: one horizontal bar per label, longest first as given."""
    top = max((v or 0 for _, v in chart.items), default=0) or 1
    room = WIDTH - LABEL - 60
    body = []
    for row, (label, value) in enumerate(chart.items):
        y = 6 + row * (BAR + 8)
        short = label if len(label) <= 34 else label[:33] + "…"
        body.append(f'<text x="{LABEL - 8}" y="{y + BAR - 6}" text-anchor="end" class="label">{escape(short)}</text>')
        if value is None:
            body.append(f'<rect x="{LABEL}" y="{y}" width="18" height="{BAR}" class="hidden-bar"/>')
            width = 18
        else:
            width = max(1, round(room * value / top)) if value else 0
            body.append(f'<rect x="{LABEL}" y="{y}" width="{width}" height="{BAR}" class="bar"/>')
        body.append(f'<text x="{LABEL + width + 6}" y="{y + BAR - 6}" class="value">{_value(value)}</text>')
    return _frame(chart, 12 + len(chart.items) * (BAR + 8), body)


def columns(chart: Chart) -> Markup:
    """A time series: one column per period, its count above it."""
    top = max((v or 0 for _, v in chart.items), default=0) or 1
    n = max(len(chart.items), 1)
    step = (WIDTH - 20) / n
    width = max(4.0, step * 0.7)
    base = COLUMNS_HEIGHT - 40
    body = [f'<line x1="10" y1="{base}" x2="{WIDTH - 10}" y2="{base}" class="axis"/>']
    every = max(1, n // 12)  # at most a dozen dates under the axis
    for i, (label, value) in enumerate(chart.items):
        x = 10 + i * step + (step - width) / 2
        height = 10 if value is None else round((base - 24) * value / top)
        kind = "hidden-bar" if value is None else "bar"
        body.append(f'<rect x="{x:.1f}" y="{base - height}" width="{width:.1f}" height="{height}" class="{kind}"/>')
        middle = x + width / 2
        body.append(
            f'<text x="{middle:.1f}" y="{base - height - 4}" text-anchor="middle" class="value">{_value(value)}</text>'
        )
        if i % every == 0:
            body.append(
                f'<text x="{middle:.1f}" y="{base + 16}" text-anchor="middle" class="label">{escape(label)}</text>'
            )
    return _frame(chart, COLUMNS_HEIGHT, body)
