"""Build the matcher the bot uses from the knowledge base and the Rasa settings."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from bot.kb.model import KnowledgeBase
from nlu.matcher import BuiltinMatcher, Matcher
from nlu.rasa import RasaMatcher


@dataclass(frozen=True)
class RasaOptions:
    url: str
    mode: str = "combine"
    timeout: float = 2.0


def build_builtin(kb: KnowledgeBase) -> BuiltinMatcher:
    return BuiltinMatcher(kb.examples())


def build_matcher(
    kb: KnowledgeBase,
    rasa: RasaOptions | None = None,
    *,
    builtin: BuiltinMatcher | None = None,
    client: httpx.AsyncClient | None = None,
) -> Matcher:
    """The built-in matcher, or Rasa (with the built-in one as fallback) when configured.

    ``client`` lets a long-running bot share one HTTP client across content reloads.
    """
    builtin = builtin or build_builtin(kb)
    if rasa is None:
        return builtin
    return RasaMatcher(rasa.url, builtin, mode=rasa.mode, timeout=rasa.timeout, client=client)
