"""Persistent storage: people, conversation state, message log, feedback, unanswered questions."""

from bot.store.store import PersonState, Store, Turn

__all__ = ["PersonState", "Store", "Turn"]
