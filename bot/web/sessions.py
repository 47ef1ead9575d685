"""Signed-in browsers: a random token in an HttpOnly, SameSite=Strict cookie; the database keeps
only its hash, the user, the CSRF token of the session and whether the second factor was given."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from bot.store import Store
from bot.store.base import as_utc
from bot.store.schema import staff_sessions, staff_users
from bot.web.accounts import StaffUser, _user, token_hash

COOKIE = "acasa_console"
IDLE_TIMEOUT = dt.timedelta(hours=8)  # a working day; then sign in again
TOUCH_EVERY = dt.timedelta(minutes=1)  # how often a request moves the session's expiry


@dataclass(frozen=True)
class StaffSession:
    token_hash: str
    user: StaffUser
    csrf: str
    second_factor: bool

    @property
    def complete(self) -> bool:
        """Signed in as far as the role requires."""
        return self.second_factor or not self.user.needs_second_factor

    def csrf_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given, self.csrf)


class Sessions:
    def __init__(self, store: Store):
        self.store = store

    async def start(self, user: StaffUser, second_factor: bool, now: dt.datetime) -> str:
        """A new session (a fresh token: never reuse one from before signing in); returns the token."""
        token = secrets.token_urlsafe(32)
        values = {
            "token_hash": token_hash(token),
            "user_id": user.id,
            "csrf": secrets.token_urlsafe(32),
            "second_factor": second_factor,
            "created_at": now,
            "last_seen_at": now,
            "expires_at": now + IDLE_TIMEOUT,
        }
        await self.store.write(lambda conn: conn.execute(insert(staff_sessions).values(**values)))
        return token

    async def read(self, token: str | None, now: dt.datetime) -> StaffSession | None:
        if not token:
            return None
        hashed = token_hash(token)
        query = (
            select(staff_sessions, staff_users)
            .join(staff_users, staff_users.c.id == staff_sessions.c.user_id)
            .where(staff_sessions.c.token_hash == hashed)
        )
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None or as_utc(row.expires_at) < now or row.disabled_at is not None:
            return None
        if now - as_utc(row.last_seen_at) > TOUCH_EVERY:
            await self.store.write(
                lambda conn: conn.execute(
                    update(staff_sessions)
                    .where(staff_sessions.c.token_hash == hashed)
                    .values(last_seen_at=now, expires_at=now + IDLE_TIMEOUT)
                )
            )
        return StaffSession(hashed, _user(row), row.csrf, bool(row.second_factor))

    async def second_factor_given(self, session: StaffSession, now: dt.datetime) -> str:
        """Replace the session by one with the second factor (a new token, as after any sign-in step)."""
        token = await self.start(session.user, True, now)
        await self.end(session)
        return token

    async def end(self, session: StaffSession) -> None:
        await self.store.write(
            lambda conn: conn.execute(delete(staff_sessions).where(staff_sessions.c.token_hash == session.token_hash))
        )
