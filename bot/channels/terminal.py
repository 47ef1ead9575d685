"""The terminal channel: talk to the bot in a shell; buttons become numbered choices.

Interactive on a terminal; when standard input is not a terminal it reads one message per line
and prints the replies, so it can be scripted.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from typing import TextIO

from bot.engine import Engine
from bot.messages import ConversationKey, Incoming, Outgoing
from bot.render import to_plain

CHANNEL = "terminal"


def render(reply: Outgoing) -> str:
    text = to_plain(reply.text)
    if reply.buttons:
        text += "\n" + "\n".join(f"  {i}. {b.label}" for i, b in enumerate(reply.buttons, start=1))
    return text


async def _lines(stream: TextIO, interactive: bool) -> asyncio.Queue[str | None]:
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def read() -> None:
        while True:
            if interactive:
                print("> ", end="", flush=True)
            line = stream.readline()
            loop.call_soon_threadsafe(queue.put_nowait, line if line else None)
            if not line:
                return

    loop.run_in_executor(None, read)
    return queue


async def chat(
    engine: Engine,
    *,
    lang: str | None = None,
    user: str | None = None,
    stream: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
) -> None:
    interactive = stream.isatty()
    key = ConversationKey(CHANNEL, user or getpass.getuser())
    if interactive:
        print("(Ctrl-D to leave)", file=out)
    queue = await _lines(stream, interactive)
    while True:
        line = await queue.get()
        if line is None:
            break
        text = line.strip()
        if not text:
            continue
        for reply in await engine.handle(Incoming(key, text=text, lang_hint=lang)):
            print(render(reply) + "\n", file=out, flush=True)
