"""The mediator desk's logic, free of any platform: what a mediator's action changes.

A desk adapter (the Telegram group today, a web console later) turns its platform's updates into
``DeskAction`` values; ``Desk.handle`` applies one in a single transaction together with everything
it causes — the ticket's new status, the messages to the person, the desk's own messages (as
outbox jobs on the ``desk`` channel, which the adapter renders) — and marks the platform update
done. A crash before the commit changes nothing; after it, everything is delivered.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.content import ContentService
from bot.handoff.desk_text import DeskText
from bot.handoff.queue import Mediator, Ticket, read_ticket, transition
from bot.messages import Button
from bot.store import DESK, AlreadyDone, Store
from bot.store.jobs import outbox_row
from bot.store.schema import attachments, mediators, messages, outbox, people, tickets
from bot.store.updates import mark_updates_done
from nlu.languages import LANGUAGES

log = logging.getLogger(__name__)

PAYLOAD_RATE = "rate:"  # a rating button; the person's side reads it (bot.handlers.handoff)


@dataclass(frozen=True)
class DeskAction:
    kind: str
    mediator: Mediator
    ticket_id: int | None = None  # the ticket a button belongs to
    thread_id: int | None = None  # where the mediator wrote (a Telegram topic): answers in place go there
    text: str = ""
    args: tuple[str, ...] = ()
    target: Mediator | None = None  # /transfer as a reply to another mediator's message
    ack_id: str | None = None  # a button press to acknowledge
    coordinator: bool = False  # an administrator of the group: may close, release or transfer any ticket
    in_place: bool = False  # the desk shows answers to the actor itself (the web console), not as messages


def rating_buttons(ticket_id: int) -> list[Button]:
    """1 to 5 stars for a closed ticket (asked by the bot, or after the person ended it)."""
    return [Button(f"{n} ⭐", f"{PAYLOAD_RATE}{ticket_id}:{n}") for n in range(1, 6)]


def desk_chat(ticket_id: int | None) -> str:
    """Desk jobs of one ticket go out in order; everything else through the queue topic."""
    return f"ticket:{ticket_id}" if ticket_id is not None else "queue"


def note(ticket_id: int | None, text: str) -> tuple[str, dict[str, Any]]:
    """A plain message for the mediators: in the ticket's topic, or else in the queue topic."""
    return desk_chat(ticket_id), {"kind": "note", "ticket_id": ticket_id, "text": text}


def reply(action: DeskAction, text: str, ticket_id: int | None = None) -> tuple[str, dict[str, Any]]:
    """An answer to a mediator's command, where they wrote it (a topic, or the group's General)."""
    body = {"kind": "note", "ticket_id": ticket_id, "text": text, "here": True, "thread_id": action.thread_id}
    return desk_chat(ticket_id), body


async def upsert_mediator(conn: AsyncConnection, mediator: Mediator, at: dt.datetime) -> Mediator:
    """Remember who acted (for /transfer @name and language mentions); keeps their languages."""
    dialect = conn.dialect.name
    build = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = build(mediators).values(
        id=mediator.id, name=mediator.name, username=mediator.username, languages=[], updated_at=at
    )
    statement = statement.on_conflict_do_update(
        index_elements=[mediators.c.id],
        set_={"name": mediator.name, "username": mediator.username, "updated_at": at},
    )
    await conn.execute(statement)
    row = (await conn.execute(select(mediators.c.languages).where(mediators.c.id == mediator.id))).first()
    return Mediator(mediator.id, mediator.name, mediator.username, tuple(row.languages or ()) if row else ())


class Desk:
    def __init__(self, store: Store, content: ContentService, text: DeskText):
        self.store = store
        self.content = content
        self.text = text  # the desk's own language

    # -- the person's side of a mediator action --------------------------------------------------

    def _t(self, lang: str, key: str, **values: object) -> str:
        return self.content.current.locales.text(lang, key, **values)

    async def _person(self, conn: AsyncConnection, ticket: Ticket) -> tuple[str, str] | None:
        if ticket.person_id is None:
            return None
        row = (
            await conn.execute(select(people.c.channel, people.c.platform_id).where(people.c.id == ticket.person_id))
        ).first()
        return (row.channel, row.platform_id) if row else None

    async def tell_person(
        self,
        conn: AsyncConnection,
        ticket: Ticket,
        text: str,
        at: dt.datetime,
        *,
        buttons: list[Button] | None = None,
        plain: bool = False,
        intent: str = "handoff",
    ) -> bool:
        """Queue a message to the ticket's person (and log it); False if they deleted their data."""
        person = await self._person(conn, ticket)
        if person is None:
            return False
        body: dict[str, Any] = {
            "kind": "send",
            "text": text,
            "lang": ticket.language,
            "buttons": [[b.label, b.payload] for b in buttons or []],
            "ticket_id": ticket.id,
        }
        if plain:
            body["plain"] = True
        if intent == "mediator":  # the web chat shows a mediator's words apart from the bot's
            body["mediator"] = True
        await conn.execute(insert(outbox).values(**outbox_row(person[0], person[1], body, at)))
        await conn.execute(
            insert(messages).values(
                person_id=ticket.person_id, direction="out", text=text, intent=intent, created_at=at
            )
        )
        return True

    async def send_file(
        self,
        conn: AsyncConnection,
        ticket: Ticket,
        mediator_name: str,
        data: bytes,
        mime: str,
        filename: str,
        caption: str,
        at: dt.datetime,
    ) -> bool:
        """Queue a file from a mediator to the ticket's person (kept like their messages); False if
        they deleted their data."""
        person = await self._person(conn, ticket)
        if person is None or ticket.person_id is None:
            return False
        channel, platform_id = person
        attachment_id = (
            await conn.execute(
                insert(attachments)
                .values(
                    ticket_id=ticket.id,
                    person_id=ticket.person_id,
                    direction="out",
                    channel=channel,
                    platform_ref=secrets.token_urlsafe(32),  # the address a platform may fetch it from
                    mime=mime,
                    filename=filename,
                    size=len(data),
                    content=data,
                    status="ready",
                    created_at=at,
                )
                .returning(attachments.c.id)
            )
        ).scalar_one()
        text = f"👤 {mediator_name}: {caption}" if caption else f"👤 {mediator_name}"
        body = {"kind": "file", "attachment_id": attachment_id, "text": text, "ticket_id": ticket.id, "plain": True}
        await conn.execute(insert(outbox).values(**outbox_row(channel, platform_id, body, at)))
        await conn.execute(
            insert(messages).values(
                person_id=ticket.person_id,
                direction="out",
                text=f"📎 {filename} {caption}".strip(),
                intent="mediator",
                created_at=at,
            )
        )
        await conn.execute(update(tickets).where(tickets.c.id == ticket.id).values(last_activity_at=at))
        return True

    async def close_for_person(self, conn: AsyncConnection, ticket: Ticket, at: dt.datetime, key: str) -> None:
        """Tell the person the mediator is gone and the bot is back, and ask for a rating."""
        lang = ticket.language
        await self.tell_person(conn, ticket, self._t(lang, key), at)
        await self.tell_person(conn, ticket, self._t(lang, "handoff.rate"), at, buttons=rating_buttons(ticket.id))

    # -- actions ---------------------------------------------------------------------------------

    async def handle(self, action: DeskAction, inbox_id: int | None, at: dt.datetime | None = None) -> list[str]:
        """Apply ``action``; returns, for an ``in_place`` action, what the actor is told (a refusal,
        "#12 is yours"), which a platform desk would have sent as a message or a button answer."""
        at = at or dt.datetime.now(dt.UTC)

        async def work(conn: AsyncConnection) -> list[str]:
            if inbox_id is not None and not await mark_updates_done(conn, [inbox_id], at):
                raise AlreadyDone  # another instance acted on this update meanwhile: change nothing
            jobs: list[tuple[str, dict[str, Any]]] = []
            mediator = await upsert_mediator(conn, action.mediator, at) if action.kind != "refused" else None
            handler = getattr(self, f"_{action.kind}")
            jobs.extend(await handler(conn, action, mediator or action.mediator, at))
            told: list[str] = []
            if action.in_place:
                for _, body in jobs:
                    if (body.get("kind") == "ack" or body.get("here")) and body.get("text"):
                        told.append(body["text"])
                jobs = [(chat, body) for chat, body in jobs if body.get("kind") != "ack" and not body.get("here")]
            elif action.ack_id is not None and not any(body.get("kind") == "ack" for _, body in jobs):
                jobs.append((f"ack:{action.ack_id}", {"kind": "ack", "callback_id": action.ack_id, "text": ""}))
            if jobs:
                await conn.execute(insert(outbox), [outbox_row(DESK, chat, body, at) for chat, body in jobs])
            return told

        return await self.store.write(work)

    async def _refused(self, conn: AsyncConnection, action: DeskAction, mediator: Mediator, at: dt.datetime):
        why = self.text(action.text)  # the reason is a desk text key
        if action.ack_id:
            return [(f"ack:{action.ack_id}", {"kind": "ack", "callback_id": action.ack_id, "text": why, "alert": True})]
        return [reply(action, why)]

    async def _claim(self, conn: AsyncConnection, action: DeskAction, mediator: Mediator, at: dt.datetime):
        assert action.ticket_id is not None
        ticket = await transition(
            conn,
            action.ticket_id,
            ("waiting",),
            status="claimed",
            mediator=mediator.id,
            mediator_name=mediator.name,
            claimed_at=at,
            last_activity_at=at,
            flagged_at=None,
            holder_since=at,
            holder_replied_at=None,
        )
        if ticket is None:
            current = await read_ticket(conn, action.ticket_id)
            if current is None:
                why = self.text("no_ticket")
            elif current.status == "claimed":
                why = self.text("taken_by", name=current.mediator_name or self.text("another_mediator"))
            else:
                why = self.text("ticket_status", status=self.text(f"status.{current.status}"))
            return [
                (f"ack:{action.ack_id}", {"kind": "ack", "callback_id": action.ack_id, "text": why, "alert": True}),
                ("queue", {"kind": "card", "ticket_id": action.ticket_id}),
            ]
        if ticket.person_id is not None:
            upto = (
                await conn.execute(select(func.max(messages.c.id)).where(messages.c.person_id == ticket.person_id))
            ).scalar_one_or_none()
            await conn.execute(update(tickets).where(tickets.c.id == ticket.id).values(transcript_upto=upto))
        await self.tell_person(conn, ticket, self._t(ticket.language, "handoff.claimed", name=mediator.name), at)
        return [
            (
                f"ack:{action.ack_id}",
                {"kind": "ack", "callback_id": action.ack_id, "text": self.text("yours", id=ticket.id)},
            ),
            ("queue", {"kind": "card", "ticket_id": ticket.id}),
            (desk_chat(ticket.id), {"kind": "open", "ticket_id": ticket.id}),
        ]

    async def _ticket_here(
        self, conn: AsyncConnection, action: DeskAction, mediator: Mediator
    ) -> tuple[Ticket | None, list[tuple[str, dict[str, Any]]]]:
        """The open ticket the mediator acts on (the desk adapter names it: the ticket of a Telegram
        topic, or the one a console page shows), if they hold it; else why not."""
        if action.ticket_id is None:
            return None, [reply(action, self.text("write_in_topic"))]
        ticket = await read_ticket(conn, action.ticket_id)
        if ticket is None:
            return None, [reply(action, self.text("no_ticket"))]
        if not ticket.is_open:
            text = self.text("ticket_not_open", id=ticket.id, status=self.text(f"status.{ticket.status}"))
            return None, [reply(action, text, ticket.id)]
        if ticket.status == "waiting":
            return None, [reply(action, self.text("claim_first", id=ticket.id), ticket.id)]
        overriding = action.coordinator and action.kind in ("close", "release", "transfer")
        if ticket.mediator != mediator.id and not overriding:
            holder = ticket.mediator_name or self.text("another_mediator")
            return None, [reply(action, self.text("held_by_other", id=ticket.id, name=holder), ticket.id)]
        return ticket, []

    async def _say(self, conn: AsyncConnection, action: DeskAction, mediator: Mediator, at: dt.datetime):
        ticket, refusal = await self._ticket_here(conn, action, mediator)
        if ticket is None:
            return refusal
        text = f"👤 {mediator.name}: {action.text}"
        if not await self.tell_person(conn, ticket, text, at, plain=True, intent="mediator"):
            return [note(ticket.id, self.text("person_gone"))]
        values: dict[str, Any] = {"last_activity_at": at, "flagged_at": None}
        if ticket.first_reply_at is None:
            values["first_reply_at"] = at
        if ticket.holder_replied_at is None:
            values["holder_replied_at"] = at
        await conn.execute(update(tickets).where(tickets.c.id == ticket.id).values(**values))
        return []

    async def _close(self, conn: AsyncConnection, action: DeskAction, mediator: Mediator, at: dt.datetime):
        ticket, refusal = await self._ticket_here(conn, action, mediator)
        if ticket is None:
            return refusal
        closed = await transition(
            conn, ticket.id, ("claimed",), mediator_is=ticket.mediator, status="closed", closed_at=at
        )
        if closed is None:
            return [note(ticket.id, self.text("changed_meanwhile", id=ticket.id))]
        await self.close_for_person(conn, closed, at, "handoff.closed")
        return [(desk_chat(ticket.id), {"kind": "ended", "ticket_id": ticket.id, "by": mediator.name})]

    async def _release(self, conn: AsyncConnection, action: DeskAction, mediator: Mediator, at: dt.datetime):
        ticket, refusal = await self._ticket_here(conn, action, mediator)
        if ticket is None:
            return refusal
        released = await transition(
            conn,
            ticket.id,
            ("claimed",),
            mediator_is=ticket.mediator,
            status="waiting",
            mediator=None,
            mediator_name=None,
            claimed_at=None,
            reminded_at=at,  # announced now (a fresh card): the next reminder after the usual wait
            flagged_at=None,
            holder_since=None,
            holder_replied_at=None,
        )
        if released is None:
            return [note(ticket.id, self.text("changed_meanwhile", id=ticket.id))]
        await self.tell_person(conn, released, self._t(released.language, "handoff.released"), at)
        return [
            (desk_chat(ticket.id), {"kind": "released", "ticket_id": ticket.id, "by": mediator.name}),
            ("queue", {"kind": "card", "ticket_id": ticket.id}),
        ]

    async def _find_mediator(self, conn: AsyncConnection, action: DeskAction) -> Mediator | None:
        if action.target is not None:
            return action.target
        if not action.args:
            return None
        wanted = action.args[0].lstrip("@").lower()
        for row in await conn.execute(select(mediators)):
            if (row.username or "").lower() == wanted or row.id == wanted or row.id == f"tg:{wanted}":
                return Mediator(row.id, row.name, row.username, tuple(row.languages or ()))
        return None

    async def _transfer(self, conn: AsyncConnection, action: DeskAction, mediator: Mediator, at: dt.datetime):
        ticket, refusal = await self._ticket_here(conn, action, mediator)
        if ticket is None:
            return refusal
        target = await self._find_mediator(conn, action)
        if target is None or target.id == ticket.mediator:
            return [reply(action, self.text("how_to_transfer"), ticket.id)]
        moved = await transition(
            conn,
            ticket.id,
            ("claimed",),
            mediator_is=ticket.mediator,
            mediator=target.id,
            mediator_name=target.name,
            flagged_at=None,
            last_activity_at=at,
            holder_since=at,
            holder_replied_at=None,
        )
        if moved is None:
            return [note(ticket.id, self.text("changed_meanwhile", id=ticket.id))]
        await upsert_mediator(conn, target, at)
        await self.tell_person(conn, moved, self._t(moved.language, "handoff.transferred", name=target.name), at)
        return [
            (
                desk_chat(ticket.id),
                {"kind": "transferred", "ticket_id": ticket.id, "by": mediator.name, "to": _mention(target)},
            ),
            ("queue", {"kind": "card", "ticket_id": ticket.id}),
        ]

    async def _languages(self, conn: AsyncConnection, action: DeskAction, mediator: Mediator, at: dt.datetime):
        wanted = [a.lower().strip(",") for a in action.args]
        unknown = [w for w in wanted if w not in LANGUAGES]
        if unknown:
            text = self.text("unknown_languages", codes=", ".join(unknown), all=" ".join(LANGUAGES))
            return [reply(action, text)]
        if wanted:
            await conn.execute(update(mediators).where(mediators.c.id == mediator.id).values(languages=wanted))
            languages = wanted
        else:
            languages = list(mediator.languages)
        shown = " ".join(languages) if languages else self.text("speaks_none")
        return [reply(action, self.text("speaks", name=mediator.name, languages=shown))]

    async def _queue(self, conn: AsyncConnection, action: DeskAction, mediator: Mediator, at: dt.datetime):
        rows = (
            await conn.execute(
                select(tickets)
                .where(tickets.c.status.in_(("waiting", "claimed")))
                .order_by(tickets.c.status.desc(), tickets.c.urgent.desc(), tickets.c.created_at, tickets.c.id)
            )
        ).all()
        return [("queue", {"kind": "listing", "thread_id": action.thread_id, "ticket_ids": [r.id for r in rows]})]

    async def _help(self, conn: AsyncConnection, action: DeskAction, mediator: Mediator, at: dt.datetime):
        return [reply(action, self.text("help"))]


def _mention(mediator: Mediator) -> dict[str, Any]:
    return {"id": mediator.id, "name": mediator.name, "username": mediator.username}
