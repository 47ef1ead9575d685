"""Files of conversations with mediators: fetched from the platform once, kept in the database for
the retention period (personal data: deleted by "forget" and by retention)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from bot.store import Store
from bot.store.schema import attachments

MAX_FILE_BYTES = 10 * 1024 * 1024  # larger files are not kept: the mediator is told to ask for a smaller one
# Shown in the browser as they are; anything else is offered as a download.
SHOWN_INLINE = ("image/jpeg", "image/png", "image/webp", "image/gif", "application/pdf")


@dataclass(frozen=True)
class StoredFile:
    id: int
    ticket_id: int | None
    direction: str
    mime: str | None
    filename: str | None
    size: int | None
    status: str
    platform_ref: str | None


class FileStore:
    def __init__(self, store: Store):
        self.store = store

    async def describe(self, attachment_id: int) -> StoredFile | None:
        query = select(
            attachments.c.id,
            attachments.c.ticket_id,
            attachments.c.direction,
            attachments.c.mime,
            attachments.c.filename,
            attachments.c.size,
            attachments.c.status,
            attachments.c.platform_ref,
        ).where(attachments.c.id == attachment_id)
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return StoredFile(*row) if row else None

    async def content(self, attachment_id: int) -> bytes | None:
        query = select(attachments.c.content).where(attachments.c.id == attachment_id)
        async with self.store.engine.connect() as conn:
            return (await conn.execute(query)).scalar()

    async def save(self, attachment_id: int, data: bytes, mime: str | None) -> None:
        values = {"content": data, "size": len(data), "status": "ready"}
        if mime:
            values["mime"] = mime[:100]
        await self.store.write(
            lambda conn: conn.execute(update(attachments).where(attachments.c.id == attachment_id).values(**values))
        )

    async def fail(self, attachment_id: int, size: int | None = None) -> None:
        await self.store.write(
            lambda conn: conn.execute(
                update(attachments).where(attachments.c.id == attachment_id).values(status="failed", size=size)
            )
        )
