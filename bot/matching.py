"""Build the matcher the bot uses from the knowledge base and the settings."""

from __future__ import annotations

import os

from bot.kb.model import KnowledgeBase
from nlu.matcher import BuiltinMatcher, Matcher
from nlu.rasa import RasaMatcher


def build_builtin(kb: KnowledgeBase) -> BuiltinMatcher:
    return BuiltinMatcher(kb.examples())


def build_matcher(
    kb: KnowledgeBase, env: dict[str, str] | None = None, builtin: BuiltinMatcher | None = None
) -> Matcher:
    """The built-in matcher, or Rasa (with the built-in one as fallback) when RASA_URL is set."""
    env = dict(os.environ) if env is None else env
    builtin = builtin or build_builtin(kb)
    url = env.get("RASA_URL", "").strip()
    if not url:
        return builtin
    return RasaMatcher(
        url, builtin, mode=env.get("RASA_MODE", "combine"), timeout=float(env.get("RASA_TIMEOUT", "2.0"))
    )
