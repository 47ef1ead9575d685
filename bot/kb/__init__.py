"""The knowledge base: YAML content written by editors, loaded and validated."""

from bot.kb.loader import load_knowledge
from bot.kb.model import Contact, Entry, KnowledgeBase, Source, Translation
from bot.kb.problems import Problem, Severity

__all__ = [
    "Contact",
    "Entry",
    "KnowledgeBase",
    "Problem",
    "Severity",
    "Source",
    "Translation",
    "load_knowledge",
]
