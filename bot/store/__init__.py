"""Persistent storage: people, conversation state, message log, feedback, unanswered questions."""

from bot.store.store import DESK, HandoffEffects, Job, PendingUpdate, PersonState, Store, Turn

__all__ = ["DESK", "HandoffEffects", "Job", "PendingUpdate", "PersonState", "Store", "Turn"]
