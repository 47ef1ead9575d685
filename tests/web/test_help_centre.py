"""The help centre over real HTTP: every entry in every language as a valid page with its
language alternates, a sitemap with all of them, search with the bot's matcher, the service
directory, caching, and "was this helpful?" counted without anyone's identity."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from pathlib import Path

import html5lib
import httpx

from bot.figures import roll_up, select_figures
from bot.handoff.schedule import ALWAYS_OPEN
from bot.kb import KnowledgeBase
from bot.store import Store
from nlu.languages import LANGUAGES, RIGHT_TO_LEFT


def strictly_valid(html: str) -> None:
    html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(html)  # raises at the first error


def loads_only_from_itself(html: str) -> None:
    for tag, attribute in (("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src")):
        for value in re.findall(rf"<{tag}\b[^>]*\b{attribute}=\"([^\"]+)\"", html):
            assert value.startswith("/"), f"<{tag} {attribute}={value}> loads from elsewhere"


def test_every_entry_in_every_language_is_a_valid_page(console_service, shipped_kb: KnowledgeBase) -> None:
    with httpx.Client(base_url=console_service.url, timeout=10) as client:
        for lang in LANGUAGES:
            home = client.get(f"/help/{lang}/")
            assert home.status_code == 200
            strictly_valid(home.text)
            assert home.text.count('href="/help/' + lang + "/") >= len(shipped_kb.entries)  # every entry listed
            for entry_id, entry in shipped_kb.entries.items():
                page = client.get(f"/help/{lang}/{entry_id}")
                assert page.status_code == 200, (lang, entry_id)
                html = page.text
                strictly_valid(html)
                loads_only_from_itself(html)
                direction = "rtl" if lang in RIGHT_TO_LEFT else "ltr"
                assert f'<html lang="{lang}" dir="{direction}">' in html
                alternates = re.findall(r'<link rel="alternate" hreflang="([a-z-]+)" href="([^"]+)">', html)
                assert sorted(a for a, _ in alternates) == sorted([*LANGUAGES, "x-default"])
                assert (lang, f"/help/{lang}/{entry_id}") in alternates
                assert f"<h1>{_escaped(entry.translation(lang).title)}</h1>" in html
                assert entry.last_verified.strftime("%d.%m.%Y") in html
                assert f"/chat?lang={lang}&amp;start={lang}_{entry_id.replace('.', '-')}" in html
        assert client.get("/help/xx/health.family_doctor").status_code == 404
        assert client.get("/help/en/no.such").status_code == 404
        assert client.get("/help/", headers={"Accept-Language": "uk-UA,uk;q=0.9"}).headers["location"] == "/help/uk/"


def _escaped(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;").replace("'", "&#39;")
    )


def test_sitemap_robots_and_caching(console_service, shipped_kb: KnowledgeBase) -> None:
    with httpx.Client(base_url=console_service.url, timeout=10) as client:
        sitemap = client.get("/sitemap.xml")
        assert sitemap.status_code == 200 and sitemap.headers["content-type"].startswith("application/xml")
        urls = re.findall(r"<loc>([^<]+)</loc>", sitemap.text)
        assert len(urls) == len(LANGUAGES) * (len(shipped_kb.entries) + 2)
        assert sitemap.text.count('rel="alternate"') == len(urls) * len(LANGUAGES)
        assert f"{console_service.url}/help/ne/health.family_doctor" in urls
        assert "Sitemap: " in client.get("/robots.txt").text

        first = client.get("/help/ar/health.family_doctor")
        assert first.headers["cache-control"] == "public, max-age=300"
        again = client.get("/help/ar/health.family_doctor", headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b""


def test_search_and_the_service_directory(console_service) -> None:
    with httpx.Client(base_url=console_service.url, timeout=10) as client:
        found = client.get("/help/en/search", params={"q": "how do i register with a famly doctor"})
        assert found.status_code == 200
        strictly_valid(found.text)
        results = re.findall(r'<li><a href="/help/en/([^"]+)">', found.text.split('class="entries results"', 1)[1])
        assert results[0] == "health.family_doctor"
        ukrainian = client.get("/help/uk/search", params={"q": "де записатися до сімейного лікаря"}).text
        assert "/help/uk/health.family_doctor" in ukrainian
        nothing = client.get("/help/en/search", params={"q": "zzqx"}).text
        assert "No answer found" in nothing

        services = client.get("/help/fr/services")
        assert services.status_code == 200
        strictly_valid(services.text)
        loads_only_from_itself(services.text)
        assert services.text.count('<li class="card"') >= 10
        assert "https://www.openstreetmap.org/" in services.text  # a link to open, no map loaded here
        assert 'href="tel:' in services.text


def test_was_this_helpful_is_counted_without_identity(console_service, tmp_path: Path) -> None:
    with httpx.Client(base_url=console_service.url, timeout=10, follow_redirects=False) as client:
        for helpful in ("1", "1", "0"):
            answer = client.post(
                "/help/feedback", data={"entry": "health.vaccination", "lang": "ta", "helpful": helpful}
            )
            assert answer.status_code == 303 and answer.headers["location"].startswith("/help/ta/health.vaccination")
        thanks = client.get(answer.headers["location"])
        assert '<p role="status">' in thanks.text and 'action="/help/feedback"' not in thanks.text  # thanked
        assert client.post("/help/feedback", data={"entry": "no.such", "lang": "ta", "helpful": "1"}).status_code == 400

    async def counted() -> dict[str, int]:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'acasa.db'}")
        try:
            await roll_up(store, ALWAYS_OPEN, dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
            today = dt.datetime.now(dt.UTC).date()
            figures = await select_figures(store, today - dt.timedelta(days=1), today + dt.timedelta(days=1), "help")
            return {m: figures.total(m) for m in ("page_helpful", "page_unhelpful")}
        finally:
            await store.close()

    assert asyncio.run(counted()) == {"page_helpful": 2, "page_unhelpful": 1}
