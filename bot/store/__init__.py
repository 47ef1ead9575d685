"""Persistent storage: people, conversation state, message log, feedback, unanswered questions."""

from bot.store.store import Job, PendingUpdate, PersonState, Store, Turn

__all__ = ["Job", "PendingUpdate", "PersonState", "Store", "Turn"]
