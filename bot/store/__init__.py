"""Persistent storage: people, conversation state, message log, inbox and outbox, hand-off queue."""

from bot.store.jobs import DESK, Job, Outcomes
from bot.store.store import Store
from bot.store.turns import AlreadyDone, HandoffEffects, PersonState, Turn
from bot.store.updates import PendingUpdate

__all__ = ["DESK", "AlreadyDone", "HandoffEffects", "Job", "Outcomes", "PendingUpdate", "PersonState", "Store", "Turn"]
