"""The terminal channel: talk to the bot in a shell; buttons become numbered choices.

Interactive on a terminal (the "> " prompt appears after the bot's replies, where you type);
when standard input is not a terminal it reads one message per line and prints each message
after "> " with the replies, so a scripted run reads as the conversation it was.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from typing import TextIO

from bot.engine import Engine
from bot.messages import ConversationKey, Incoming, Outgoing
from bot.render import RLM, is_rtl, to_plain

CHANNEL = "terminal"


def render(reply: Outgoing) -> str:
    rtl = is_rtl(reply.lang)
    text = to_plain(reply.text, rtl)
    if reply.buttons:
        mark = RLM if rtl else ""
        text += "\n" + "\n".join(f"{mark}  {i}. {b.label}" for i, b in enumerate(reply.buttons, start=1))
    return text


async def _lines(stream: TextIO) -> asyncio.Queue[str | None]:
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def read() -> None:
        while True:
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
    queue = await _lines(stream)
    while True:
        if interactive:
            print("> ", end="", file=out, flush=True)
        line = await queue.get()
        if line is None:
            break
        text = line.strip()
        if not text:
            continue
        if not interactive:
            print(f"> {text}\n", file=out, flush=True)
        for reply in await engine.handle(Incoming(key, text=text, lang_hint=lang)):
            print(render(reply) + "\n", file=out, flush=True)
    if interactive:
        print(file=out)
