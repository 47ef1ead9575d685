"""``acasa user ...``: staff accounts of the web console (add, list, disable, reset)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.store import Store
from bot.web.accounts import ROLES, AccountError, Accounts

T = TypeVar("T")


class UserError(Exception):
    pass


def _run(settings_database_url: str, work: Callable[[Accounts], Awaitable[T]]) -> T:
    async def run() -> T:
        store = await Store.open(settings_database_url)
        try:
            return await work(Accounts(store))
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except AccountError as exc:
        raise UserError(str(exc)) from exc


def _link(public_url: str | None, token: str) -> str:
    base = (public_url or "http://127.0.0.1:8000").rstrip("/")
    return f"{base}/console/setup/{token}"


def add(args: argparse.Namespace, database_url: str, public_url: str | None) -> int:
    now = dt.datetime.now(dt.UTC)
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None

    async def work(accounts: Accounts) -> str:
        languages = tuple(code.strip() for code in (args.languages or "").split(",") if code.strip())
        token = await accounts.add(args.login, args.name or args.login, args.role, now, languages)
        if password is not None:
            await accounts.set_password(args.login.strip().lower(), password)
        return token

    token = _run(database_url, work)
    print(f"Account '{args.login}' ({args.role}) created.")
    user_needs_totp = args.role in ("mediator", "coordinator", "admin")
    if password is None or user_needs_totp:
        what = "set a password and the second factor" if user_needs_totp else "set a password"
        print(f"Send this one-time link (valid 72 hours) to the person, to {what}:")
        print(_link(public_url, token))
    return 0


def list_users(args: argparse.Namespace, database_url: str, public_url: str | None) -> int:
    users = _run(database_url, lambda accounts: accounts.list())
    for user in users:
        state = "disabled" if user.disabled else ("active" if user.has_password else "not set up yet")
        factor = "2FA" if user.totp_enrolled else "-"
        languages = ",".join(user.languages)
        print(f"{user.login:<20} {user.role:<12} {languages:<8} {factor:<4} {state:<15} {user.name}")
    return 0


def disable(args: argparse.Namespace, database_url: str, public_url: str | None) -> int:
    _run(database_url, lambda accounts: accounts.disable(args.login, dt.datetime.now(dt.UTC)))
    print(f"'{args.login}' is disabled and signed out everywhere.")
    return 0


def reset(args: argparse.Namespace, database_url: str, public_url: str | None) -> int:
    token = _run(database_url, lambda accounts: accounts.reset(args.login, dt.datetime.now(dt.UTC)))
    print(f"'{args.login}' is signed out; the password and the second factor are forgotten.")
    print("Send this one-time link (valid 72 hours) to set them again:")
    print(_link(public_url, token))
    return 0


def add_parsers(sub: argparse._SubParsersAction, run: Callable[[argparse.Namespace], int]) -> None:  # type: ignore[type-arg]
    user = sub.add_parser("user", help="staff accounts of the web console").add_subparsers(
        dest="user_command", required=True
    )
    add_cmd = user.add_parser("add", help="create an account; prints a one-time setup link")
    add_cmd.add_argument("login")
    add_cmd.add_argument("--name", help="the name colleagues and people see (default: the login)")
    add_cmd.add_argument("--role", required=True, choices=ROLES)
    add_cmd.add_argument("--languages", help="a translator's or reviewer's languages, e.g. uk,ru")
    add_cmd.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of standard input"
    )
    add_cmd.set_defaults(func=run, user_func=add)
    user.add_parser("list", help="every account, its role and state").set_defaults(func=run, user_func=list_users)
    for name, func, text in (
        ("disable", disable, "disable an account and sign it out everywhere"),
        ("reset", reset, "forget the password and second factor; prints a new setup link"),
    ):
        cmd = user.add_parser(name, help=text)
        cmd.add_argument("login")
        cmd.set_defaults(func=run, user_func=func)
