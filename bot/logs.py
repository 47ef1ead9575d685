"""Logging that carries no personal data.

Our own log lines never include message text or raw platform ids. Some libraries do, at debug
level (the database driver logs statements with their values, the Telegram library logs API
results, httpx logs URLs that contain the bot token), so they are held at warnings whatever
``LOG_LEVEL`` says.
"""

from __future__ import annotations

import logging
import sys
import traceback

CHATTY_LIBRARIES = ("aiosqlite", "asyncpg", "httpx", "httpcore", "telegram", "sqlalchemy.engine", "twilio")


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)
    quiet_libraries()


def quiet_libraries() -> None:
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)


def where(exc: BaseException) -> str:
    """An error's type and the lines that raised it, without its message: a message can quote
    what a person wrote (``invalid literal for int(): '...'``)."""
    frames = "".join(traceback.format_tb(exc.__traceback__)).rstrip()
    return f"{type(exc).__name__}\n{frames}"
