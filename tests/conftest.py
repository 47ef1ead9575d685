"""Shared fixtures: the shipped content, and small knowledge bases written to real folders."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import datetime as dt
import os
import secrets
import shutil
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot import paths
from bot.kb import KnowledgeBase, load_knowledge
from bot.kb.versions import source_version
from bot.locales import Locales, load_locales
from bot.matching import build_builtin
from bot.store import Store
from bot.store.schema import metadata
from nlu.languages import LANGUAGES
from nlu.matcher import BuiltinMatcher
from tests.fakes.servers import ThreadedServer
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

PROJECT = paths.PROJECT_ROOT


@pytest.fixture(scope="session")
def shipped_kb() -> KnowledgeBase:
    kb, problems = load_knowledge(PROJECT / "knowledge")
    assert kb is not None, "\n".join(p.format() for p in problems.errors)
    return kb


@pytest.fixture(scope="session")
def shipped_locales() -> Locales:
    locales, problems = load_locales(PROJECT / "locales")
    assert locales is not None, "\n".join(p.format() for p in problems.errors)
    return locales


@pytest.fixture(scope="session")
def matcher(shipped_kb: KnowledgeBase) -> BuiltinMatcher:
    return build_builtin(shipped_kb)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    """A local Telegram Bot API (``fake.url``), speaking its HTTP interface."""
    fake = FakeTelegram()
    with ThreadedServer(fake.app()) as server:
        fake.url = server.url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    """A local Twilio REST API (``fake.url``), speaking its HTTP interface."""
    fake = FakeTwilio()
    with ThreadedServer(fake.app()) as server:
        fake.url = server.url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture
def small_kb(tmp_path: Path) -> Path:
    """A valid two-entry knowledge base in a temporary folder, for breaking in tests."""
    root = tmp_path / "knowledge"
    write(
        root / "contacts.yaml",
        """
        igi:
          name: Inspectoratul General pentru Imigrări
          names: {NAMES}
          note: {NOTES}
          kind: authority
          website: https://igi.mai.gov.ro
          confirmed: true
          sources:
            - title: IGI
              url: https://igi.mai.gov.ro/en/asylum/
          last_verified: 2026-11-01
        """.replace(
            "{NAMES}", "{" + ", ".join(f"{lang}: IGI ({lang})" for lang in LANGUAGES if lang != "ro") + "}"
        ).replace("{NOTES}", "{" + ", ".join(f"{lang}: Residence and asylum ({lang})" for lang in LANGUAGES) + "}"),
    )
    for eid, related in (("rights.asylum", "rights.residence_permit"), ("rights.residence_permit", "rights.asylum")):
        write(
            root / "entries" / eid / "entry.yaml",
            f"""
            id: {eid}
            topic: rights
            related: [{related}]
            contacts: [igi]
            sources:
              - title: IGI
                url: https://igi.mai.gov.ro/en/asylum/
                supports: where and how to apply
            last_verified: 2026-11-01
            """,
        )
        answer = "Ask **IGI**. See [the site](https://igi.mai.gov.ro).\n- one point"
        version = source_version(f"{eid} in en", answer)  # the translations follow the English text
        for lang in LANGUAGES:
            made_from = "" if lang == "en" else f"made_from: {version}"
            write(
                root / "entries" / eid / f"{lang}.yaml",
                f"""
                title: "{eid} in {lang}"
                short_title: "{eid.split(".")[1]} {lang}"
                review: unreviewed
                {made_from}
                answer: |
                  Ask **IGI**. See [the site](https://igi.mai.gov.ro).
                  - one point
                examples:
                  - "question one about {eid}"
                  - "question two about {eid}"
                  - "question three about {eid}"
                """,
            )
    write(root / "nlu" / "out_of_scope.yaml", 'en:\n  - "will it rain tomorrow"\n')
    return root


@pytest.fixture
def locales_copy(tmp_path: Path) -> Path:
    target = tmp_path / "locales"
    shutil.copytree(PROJECT / "locales", target)
    return target


POSTGRES_URL = os.environ.get("ACASA_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
# A fixed moment for stored data; code that reads the real clock must not be compared with it.
NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


_run_database: str | None = None


async def _database_of_this_run() -> str:
    """A database of its own for this test process, on the server of ``POSTGRES_URL``: two runs at
    the same moment (CI beside a developer's run) never drop each other's tables. Databases left by
    runs that were killed are removed. Without the right to create databases, the shared one is used."""
    global _run_database
    if _run_database is not None:
        return _run_database
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    base = make_url(POSTGRES_URL)
    name = f"acasa_test_{os.getpid()}_{secrets.token_hex(3)}"
    server = create_async_engine(base, isolation_level="AUTOCOMMIT")
    try:
        async with server.connect() as conn:
            rows = await conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE 'acasa_test_%'"))
            for (old,) in rows.all():
                pid = old.split("_")[2] if old.count("_") >= 3 else ""
                if pid.isdigit() and not _process_alive(int(pid)):
                    await conn.execute(text(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except DBAPIError:  # no CREATEDB right: share the one database, one run at a time
        _run_database = POSTGRES_URL
        return _run_database
    finally:
        await server.dispose()
    atexit.register(_drop_database, POSTGRES_URL, name)
    _run_database = base.set(database=name).render_as_string(hide_password=False)
    return _run_database


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _drop_database(url: str, name: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    async def drop() -> None:
        server = create_async_engine(url, isolation_level="AUTOCOMMIT")
        try:
            async with server.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            await server.dispose()

    with contextlib.suppress(Exception):  # the next run removes it otherwise
        asyncio.run(drop())


async def reset_postgres() -> str:
    """An empty database for this run (every table dropped); without a server at ``POSTGRES_URL``
    the test is skipped saying what it needs (failed, where ``ACASA_REQUIRE_POSTGRES`` is set)."""
    try:
        url = await _database_of_this_run()
        store = await Store.open(url, migrate=False)
        async with store.engine.begin() as conn:
            for table in [*(t.name for t in reversed(metadata.sorted_tables)), "alembic_version"]:
                await conn.execute(text(f"DROP TABLE IF EXISTS {table} CASCADE"))
    except (OSError, DBAPIError) as exc:
        reason = (
            f"PostgreSQL tests need a server at {POSTGRES_URL} where the user may create tables "
            f"({type(exc).__name__}). Start one, set ACASA_TEST_POSTGRES_URL, or leave these tests "
            "out with -m 'not postgresql'."
        )
        if os.environ.get("ACASA_REQUIRE_POSTGRES"):  # CI: they must run, not be skipped
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    await store.close()
    return url


# Tests on the one PostgreSQL database run one after another (on one worker, with pytest-xdist).
ON_POSTGRESQL = [pytest.mark.postgresql, pytest.mark.xdist_group("postgresql")]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=ON_POSTGRESQL)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    else:
        url = await reset_postgres()
    opened = await Store.open(url)
    try:
        yield opened
    finally:
        await opened.close()
