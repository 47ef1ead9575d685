"""The city's dashboard over real HTTP, on a seeded history of three months: the page's figures
against counts made here from the history, small counts suppressed, and the CSV, XLSX and PDF
downloads (and `acasa report`) holding the same numbers as the page."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest

from bot.handoff.queue import HandoffQueue
from bot.messages import ConversationKey
from bot.server import create_app
from bot.store import Store
from tests.fakes.servers import ThreadedServer, free_port
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram.conftest import service_settings
from tests.test_figures import Said, city_day, history, seed
from tests.web.conftest import PASSWORD, StaffBrowser, create_staff, replace_settings, staff
from tests.web.test_console_browser import CHROMIUM, chromium  # noqa: F401 (the fixture)

PERIOD = {"from": "2026-09-01", "to": "2026-11-30"}
FIRST, LAST = dt.date(2026, 9, 1), dt.date(2026, 11, 30)
RARE = [  # one person writing in Sinhala: a count that must never be shown
    Said(
        dt.datetime(2026, 10, 14, 9, n, tzinfo=dt.UTC),
        "+94770000001",
        "whatsapp",
        "si",
        "unanswered",
        f"mage prashnaya {n}",
    )
    for n in range(3)
]
WAITS = [2, 4, 8, 9, 12, 14, 25, 40, 55, 70, 130, 300]  # minutes until a mediator took each request


def seeded_history() -> list[Said]:
    return sorted(history() + RARE, key=lambda s: s.at)


async def seed_all(database: Path) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{database}")
    try:
        said = seeded_history()
        await seed(store, said, dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
        queue = HandoffQueue(store)
        person = (await store.load(ConversationKey(said[-1].channel, said[-1].chat))).person_id
        assert person is not None
        for n, wait in enumerate(WAITS):
            at = dt.datetime(2026, 9, 7, 8, tzinfo=dt.UTC) + dt.timedelta(days=6 * n)  # mornings, in hours
            ticket = await queue.enqueue(person, "telegram", "uk", ["health.family_doctor"], at=at)
            await queue.claim(ticket.id, "tg:1", at=at + dt.timedelta(minutes=wait))
            await queue.first_reply(ticket.id, at=at + dt.timedelta(minutes=wait + 2))
            await queue.close(ticket.id, at=at + dt.timedelta(minutes=wait + 20))
    finally:
        await store.close()


@pytest.fixture
def figures_service(tmp_path: Path, fake_telegram: FakeTelegram) -> Iterator[ThreadedServer]:
    database = tmp_path / "acasa.db"
    create_staff(database)
    asyncio.run(seed_all(database))
    port = free_port()
    settings = replace_settings(service_settings(tmp_path, fake_telegram, port))
    with ThreadedServer(create_app(settings), port=port) as server:
        server.db = database  # type: ignore[attr-defined]
        yield server


def key_figures(html: str) -> dict[str, str]:
    found = re.findall(r'<div class="key-figure" data-key="(\w+)"><dt>(.*?)</dt><dd>(.*?)</dd></div>', html)
    return {key: unescape(value) for key, _, value in found}


def chart_tables(html: str) -> dict[str, list[tuple[str, str]]]:
    tables = {}
    for key, body in re.findall(r'<section class="card chart-card" id="(\w+)">(.*?)</section>', html, re.S):
        rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", body)
        tables[key] = [(unescape(label), unescape(value)) for label, value in rows]
    return tables


def expected(said: list[Said]) -> dict[str, str]:
    """The key figures, counted here from the history (Timișoara days, September to November)."""
    inside = [s for s in said if FIRST <= city_day(s.at) <= LAST]
    kinds = ("answered", "suggested", "unanswered", "nearby", "office")
    questions = [s for s in inside if (s.outcome or "").split(":")[0] in kinds]
    # An office's card answers the question too ("unde e biroul IGI").
    answered = [s for s in questions if (s.outcome or "").startswith(("answered:", "office:"))]
    first = {}
    for s in said:
        first.setdefault(s.chat, s.at)
    new = [chat for chat, at in first.items() if FIRST <= city_day(at) <= LAST]
    return {
        "messages": str(len(inside)),
        "questions": str(len(questions)),
        "answered_share": f"{round(100 * len(answered) / len(questions))}%",
        "new_people": str(len(new)),
        "crisis": str(sum(s.outcome == "crisis" for s in inside)),
        "handoff_requested": str(len(WAITS)),
        "claim_wait_median": "15 min",  # 6 of 12 within 14 minutes: the "up to 15" group
        "claim_wait_p90": "4 h",  # 11 of 12 within 130 minutes: the "up to 4 hours" group
        "reply_wait_median": "30 min",  # two minutes after each claim: 7 of 12 within 27 minutes
        "reply_wait_p90": "4 h",
    }


def test_the_dashboard_shows_the_history_and_every_download_holds_the_same_numbers(
    figures_service, browsers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    said = seeded_history()
    alina = StaffBrowser(figures_service.url, staff("ana_analyst"), browsers)
    home = alina.sign_in()
    assert str(home.url).endswith("/console/dashboard")  # an analyst lands on the figures

    page = alina.client.get("/console/dashboard", params=PERIOD)
    assert page.status_code == 200
    shown = key_figures(page.text)
    want = expected(said)
    assert {k: shown[k] for k in want} == want
    charts = chart_tables(page.text)
    languages = dict(charts["languages"])
    assert languages["Sinhala (si)"] == "<5"  # three messages: never shown as 3
    assert languages["Nepali (ne)"] == "<5"  # the next smallest, so that the 3 cannot be worked out
    assert int(languages["Ukrainian (uk)"]) > 100
    assert page.text.count('<svg class="chart"') >= 8
    for s in said:  # no message and no chat id on the page
        assert s.text not in page.text and s.chat not in page.text

    monthly = chart_tables(alina.client.get("/console/dashboard", params={**PERIOD, "step": "month"}).text)
    assert [label for label, _ in monthly["questions"]] == ["09.2026", "10.2026", "11.2026"]
    assert sum(int(v) for _, v in monthly["questions"]) == int(want["questions"])
    assert alina.client.get("/console/dashboard", params={"from": "2026-12-01", "to": "2026-11-01"}).status_code == 400
    only_uk = key_figures(alina.client.get("/console/dashboard", params={**PERIOD, "language": "uk"}).text)
    assert int(only_uk["messages"]) == sum(1 for s in said if s.language == "uk" and FIRST <= city_day(s.at) <= LAST)

    xlsx = alina.client.get("/console/dashboard/download/xlsx", params=PERIOD)
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(xlsx.content))
    summary = [(str(a), str(b)) for a, b in book["Summary"].iter_rows(min_row=4, values_only=True)]
    labels = re.findall(r'<div class="key-figure" data-key="\w+"><dt>(.*?)</dt><dd>(.*?)</dd></div>', page.text)
    assert summary == [(unescape(label), unescape(value)) for label, value in labels]  # the page's key figures
    sheet_charts = [
        tuple(str(c) for c in row) for row in book["Charts"].iter_rows(values_only=True) if row[1] is not None
    ]
    page_charts = [row for rows in charts.values() for row in rows]
    assert sheet_charts == page_charts
    values = [row[6] for row in book["Figures"].iter_rows(min_row=2, values_only=True)]
    assert values and all(v == "<5" or (isinstance(v, int) and v >= 5) for v in values)

    csv_file = alina.client.get("/console/dashboard/download/csv", params=PERIOD)
    rows = list(csv.reader(io.StringIO(csv_file.content.decode("utf-8-sig"))))
    assert rows[0] == ["period", "start", "channel", "language", "subject", "metric", "value"]
    assert [r[6] for r in rows[1:]] == [str(v) for v in values]  # the same figures as the spreadsheet

    pdf = alina.client.get("/console/dashboard/download/pdf", params={**PERIOD, "report_language": "ro"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    import pymupdf

    document = pymupdf.open(stream=pdf.content, filetype="pdf")
    assert document.page_count >= 3
    text = "".join(p.get_text() for p in document)
    assert "Cifre principale" in text and "Metodă și confidențialitate" in text
    assert f"Mesaje primite\n{want['messages']}" in text.replace(" \n", "\n")
    shots = Path(__file__).parents[2] / "docs" / "dashboard"
    shots.mkdir(parents=True, exist_ok=True)
    for number in range(2):  # the cover and the key figures, as the city sees them
        picture = document[number].get_pixmap(dpi=70)
        assert any(b < 200 for b in picture.samples[::97])  # something is printed on the page
        picture.save(str(shots / f"report-page-{number + 1}.png"))

    # `acasa report` writes the same spreadsheet from the command line.
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{figures_service.db}")
    from bot.cli import main

    output = tmp_path / "figures.xlsx"
    assert (
        main(
            [
                "report",
                "--from",
                PERIOD["from"],
                "--to",
                PERIOD["to"],
                "--format",
                "xlsx",
                "--report-language",
                "en",
                "-o",
                str(output),
            ]
        )
        == 0
    )
    from_cli = load_workbook(output)
    assert [tuple(str(c) for c in r) for r in from_cli["Summary"].iter_rows(min_row=4, values_only=True)] == summary

    mediator = StaffBrowser(figures_service.url, staff("maria"), browsers)
    mediator.sign_in()
    assert mediator.client.get("/console/dashboard").status_code == 403  # mediators see conversations, not figures


@pytest.mark.xdist_group("browser")
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run installs it)")
def test_the_dashboard_in_chromium_draws_its_charts(figures_service, chromium) -> None:  # noqa: F811
    from playwright.sync_api import expect

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(figures_service.url + "/console/login")
    page.fill("input[name=login]", "ana_analyst")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login button[type=submit]")
    page.wait_for_url("**/console/dashboard")
    page.fill("input[name=from]", PERIOD["from"])
    page.fill("input[name=to]", PERIOD["to"])
    page.click("#dashboard-filters button[type=submit]")
    page.wait_for_url("**/console/dashboard?from=2026-09-01*")
    charts = page.locator("svg.chart")
    assert charts.count() >= 8
    box = page.locator("#chart-questions rect.bar").first.bounding_box()
    assert box is not None and box["height"] > 0  # drawn, with a size
    assert page.locator("#chart-languages rect.hidden-bar").count() == 2  # Sinhala and the next smallest
    title = page.locator("#chart-languages title").text_content()
    assert title == "Messages by language"
    shots = Path(__file__).parents[2] / "docs" / "dashboard"
    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)

    page.select_option("select[name=language]", "ne")
    page.click("#dashboard-filters button[type=submit]")
    page.wait_for_url("**language=ne*")
    expect(page.locator("h1")).to_contain_text("01.09.2026 – 30.11.2026")
    with page.expect_download() as download:
        page.click("a:text('XLSX')")
    assert download.value.suggested_filename == "acasa-2026-09-01-2026-11-30.xlsx"
    context.close()
