"""The desk's outgoing jobs when the web console is the only desk.

The Telegram desk turns the desk's jobs (a ticket's card, a note in its topic) into group
messages. The console reads the same state straight from the database and shows it live, so with no
Telegram group there is nothing to send: the jobs are marked done.
"""

from __future__ import annotations

from bot.outbox import Outcome, Pace, Progress, Sent
from bot.store import DESK
from bot.store.jobs import Job


class WebOnlyDesk:
    channel = DESK
    rate: tuple[float | None, float] = (None, 1.0)
    seconds_between_messages_per_chat = 0.0

    async def deliver(self, job: Job, pace: Pace, progress: Progress) -> Outcome:
        return Sent()
