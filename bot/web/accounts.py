"""Staff accounts: roles, argon2 password hashes, TOTP second factor, sign-in throttling.

Passwords are never stored, only argon2 hashes. A new account (or a reset one) gets a one-time
link that sets the password and enrols the second factor; only a hash of the link's token is kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import Store
from bot.store.base import as_utc
from bot.store.schema import login_failures, staff_sessions, staff_users
from nlu.languages import LANGUAGES

ROLES = ("mediator", "coordinator", "editor", "translator", "reviewer", "analyst", "admin")
PER_LANGUAGE = frozenset({"translator", "reviewer"})  # roles that work on their own languages only
# Roles that read conversations must sign in with a second factor.
READS_CONVERSATIONS = frozenset({"mediator", "coordinator", "admin"})
MIN_PASSWORD = 12
SETUP_LINK_VALID = dt.timedelta(hours=72)
# Sign-in throttling: this many failures in the window lock a login (or an address) for the window.
FAILURES_PER_LOGIN = 5
FAILURES_PER_ADDRESS = 20
THROTTLE_WINDOW = dt.timedelta(minutes=15)

_hasher = PasswordHasher()
# A hash to verify against when the login does not exist, so that timing does not tell.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class AccountError(Exception):
    """A refusal to show an administrator (``acasa user ...``)."""


@dataclass(frozen=True)
class StaffUser:
    id: int
    login: str
    name: str
    role: str
    has_password: bool
    totp_enrolled: bool
    disabled: bool
    languages: tuple[str, ...] = ()  # a translator's or reviewer's languages

    @property
    def needs_second_factor(self) -> bool:
        return self.role in READS_CONVERSATIONS

    @property
    def actor(self) -> str:
        return f"web:{self.login}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row: Any) -> StaffUser:  # a SQLAlchemy row
    return StaffUser(
        row.id,
        row.login,
        row.name,
        row.role,
        row.password_hash is not None,
        row.totp_secret is not None,
        row.disabled_at is not None,
        tuple(code for code in (row.languages or "").split(",") if code),
    )


def check_password(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_PASSWORD:
        return f"at least {MIN_PASSWORD} characters"
    if password.strip() != password or len(set(password)) < 5:
        return "too simple"
    return None


class Accounts:
    def __init__(self, store: Store):
        self.store = store

    async def add(self, login: str, name: str, role: str, at: dt.datetime, languages: tuple[str, ...] = ()) -> str:
        """Create an account; returns the one-time setup token (for the link)."""
        if role not in ROLES:
            raise AccountError(f"'{role}' is not a role; use one of {', '.join(ROLES)}")
        if role in PER_LANGUAGE and not languages:
            raise AccountError(f"a {role} works on given languages: add --languages, e.g. --languages uk,ru")
        if unknown := [code for code in languages if code not in LANGUAGES]:
            raise AccountError(f"not language codes: {', '.join(unknown)} (use {', '.join(LANGUAGES)})")
        login = login.strip().lower()
        if not login or len(login) > 64 or not all(c.isalnum() or c in "._-" for c in login):
            raise AccountError("a login is letters, digits, '.', '_' or '-'")
        token = secrets.token_urlsafe(24)

        async def work(conn: AsyncConnection) -> None:
            exists = (await conn.execute(select(staff_users.c.id).where(staff_users.c.login == login))).first()
            if exists:
                raise AccountError(f"the login '{login}' is taken")
            await conn.execute(
                insert(staff_users).values(
                    login=login,
                    name=name.strip() or login,
                    role=role,
                    languages=",".join(languages) or None,
                    setup_token_hash=token_hash(token),
                    setup_expires_at=at + SETUP_LINK_VALID,
                    created_at=at,
                )
            )

        await self.store.write(work)
        return token

    async def set_password(self, login: str, password: str) -> None:
        """Set a password directly (``acasa user add --password-stdin``)."""
        if why := check_password(password):
            raise AccountError(f"the password is refused: {why}")
        hashed = _hasher.hash(password)

        async def work(conn: AsyncConnection) -> int:
            changed = await conn.execute(
                update(staff_users).where(staff_users.c.login == login).values(password_hash=hashed)
            )
            # Roles without a second factor need the setup link no more: it must not reset the password.
            await conn.execute(
                update(staff_users)
                .where(staff_users.c.login == login, staff_users.c.role.not_in(sorted(READS_CONVERSATIONS)))
                .values(setup_token_hash=None, setup_expires_at=None)
            )
            return int(changed.rowcount or 0)

        if not await self.store.write(work):
            raise AccountError(f"no account '{login}'")

    async def reset(self, login: str, at: dt.datetime) -> str:
        """Forget the password and the second factor, sign out everywhere; returns a new setup token."""
        token = secrets.token_urlsafe(24)

        async def work(conn: AsyncConnection) -> int:
            user_id = (await conn.execute(select(staff_users.c.id).where(staff_users.c.login == login))).scalar()
            if user_id is None:
                raise AccountError(f"no account '{login}'")
            await conn.execute(
                update(staff_users)
                .where(staff_users.c.id == user_id)
                .values(
                    password_hash=None,
                    totp_secret=None,
                    setup_token_hash=token_hash(token),
                    setup_expires_at=at + SETUP_LINK_VALID,
                )
            )
            await conn.execute(delete(staff_sessions).where(staff_sessions.c.user_id == user_id))
            return user_id

        await self.store.write(work)
        return token

    async def disable(self, login: str, at: dt.datetime) -> None:
        async def work(conn: AsyncConnection) -> None:
            user_id = (await conn.execute(select(staff_users.c.id).where(staff_users.c.login == login))).scalar()
            if user_id is None:
                raise AccountError(f"no account '{login}'")
            await conn.execute(update(staff_users).where(staff_users.c.id == user_id).values(disabled_at=at))
            await conn.execute(delete(staff_sessions).where(staff_sessions.c.user_id == user_id))

        await self.store.write(work)

    async def list(self) -> list[StaffUser]:
        async with self.store.engine.connect() as conn:
            return [_user(r) for r in await conn.execute(select(staff_users).order_by(staff_users.c.login))]

    async def get(self, user_id: int) -> StaffUser | None:
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(staff_users).where(staff_users.c.id == user_id))).first()
        return _user(row) if row else None

    async def by_login(self, login: str) -> StaffUser | None:
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(staff_users).where(staff_users.c.login == login.lower()))).first()
        return _user(row) if row else None

    # -- signing in -----------------------------------------------------------------------------

    async def throttled(self, login: str, address: str, now: dt.datetime) -> bool:
        since = now - THROTTLE_WINDOW
        async with self.store.engine.connect() as conn:

            async def failures(key: str) -> int:
                query = select(func.count()).where(login_failures.c.key == key, login_failures.c.at >= since)
                return int((await conn.execute(query)).scalar_one())

            return (
                await failures(f"login:{login.lower()}") >= FAILURES_PER_LOGIN
                or await failures(f"ip:{address}") >= FAILURES_PER_ADDRESS
            )

    async def _failed(self, login: str, address: str, now: dt.datetime) -> None:
        rows = [{"key": f"login:{login.lower()}", "at": now}, {"key": f"ip:{address}", "at": now}]
        await self.store.write(lambda conn: conn.execute(insert(login_failures), rows))

    async def verify_password(self, login: str, password: str, address: str, now: dt.datetime) -> StaffUser | None:
        """The user, if the password is right and the account usable. Throttling is the caller's check
        (``throttled``, before this), so that it can say so."""
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(staff_users).where(staff_users.c.login == login.lower()))).first()
        stored = row.password_hash if row is not None and row.password_hash else _DUMMY_HASH
        try:
            ok = _hasher.verify(stored, password) and row is not None and row.password_hash is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or row is None or row.disabled_at is not None:
            await self._failed(login, address, now)
            return None
        if _hasher.check_needs_rehash(row.password_hash):
            rehashed = _hasher.hash(password)
            await self.store.write(
                lambda conn: conn.execute(
                    update(staff_users).where(staff_users.c.id == row.id).values(password_hash=rehashed)
                )
            )
        return _user(row)

    async def verify_totp(self, user_id: int, code: str, address: str, now: dt.datetime) -> bool:
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(staff_users).where(staff_users.c.id == user_id))).first()
        if row is None or row.totp_secret is None:
            return False
        if await self.throttled(row.login, address, now):
            return False
        code = "".join(c for c in code if c.isdigit())
        if pyotp.TOTP(row.totp_secret).verify(code, for_time=now, valid_window=1):
            return True
        await self._failed(row.login, address, now)
        return False

    # -- the one-time setup link ----------------------------------------------------------------

    async def setup_user(self, token: str, now: dt.datetime) -> StaffUser | None:
        async with self.store.engine.connect() as conn:
            row = (
                await conn.execute(select(staff_users).where(staff_users.c.setup_token_hash == token_hash(token)))
            ).first()
        if row is None or row.disabled_at is not None or as_utc(row.setup_expires_at) < now:
            return None
        return _user(row)

    async def finish_setup(self, token: str, password: str, totp_secret: str | None, now: dt.datetime) -> StaffUser:
        """Set the password (and the second factor) from a setup link; the link then stops working."""
        user = await self.setup_user(token, now)
        if user is None:
            raise AccountError("this link has expired or was already used")
        if why := check_password(password):
            raise AccountError(f"the password is refused: {why}")
        hashed = _hasher.hash(password)
        await self.store.write(
            lambda conn: conn.execute(
                update(staff_users)
                .where(staff_users.c.id == user.id, staff_users.c.setup_token_hash == token_hash(token))
                .values(password_hash=hashed, totp_secret=totp_secret, setup_token_hash=None, setup_expires_at=None)
            )
        )
        return user


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, login: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name="Acasă")
