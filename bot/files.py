"""Files of conversations with mediators: fetched from the platform once, kept in the database for
the retention period (personal data: deleted by "forget" and by retention)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from bot.store import Store
from bot.store.schema import attachments

MAX_FILE_BYTES = 10 * 1024 * 1024  # larger files are not kept: the mediator is told to ask for a smaller one
# Shown in the browser as they are; anything else is offered as a download.
MEDIA_PATH = "/media"  # where platforms that fetch files themselves (Twilio) get a mediator's file
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

    async def to_fetch(self, attachment_id: int) -> StoredFile | None:
        """The file, if it is still waiting to be fetched (not deleted by "forget", not fetched already)."""
        described = await self.describe(attachment_id)
        if described is None or described.platform_ref is None or described.status != "pending":
            return None
        return described

    async def content(self, attachment_id: int) -> bytes | None:
        query = select(attachments.c.content).where(attachments.c.id == attachment_id)
        async with self.store.engine.connect() as conn:
            return (await conn.execute(query)).scalar()

    async def outgoing(self, token: str) -> tuple[str, bytes] | None:
        """(type, bytes) of a mediator's file by its token; people's files are never served here."""
        query = select(attachments.c.mime, attachments.c.content).where(
            attachments.c.platform_ref == token, attachments.c.direction == "out", attachments.c.status == "ready"
        )
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return (row.mime or "application/octet-stream", row.content) if row and row.content is not None else None

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


def sniff_type(data: bytes) -> str | None:
    """What a mediator may send: a JPEG or PNG photo, or a PDF — judged by the bytes, not the name."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None
