"""Typed answers to yes/no questions: the same words work for every question, in every language.

People on WhatsApp and in the terminal type rather than press; on Telegram many type too. A
question counts as answered by "yes" / "no" (the language's ``keywords.yes`` and
``keywords.no``, the words of its Yes and No buttons, and English) only while it is the open
question, so a stray "ok" never deletes anything asked about long ago.
"""

from __future__ import annotations

from bot.handlers.context import Context
from nlu.normalize import normalize

_YES_LABELS = ("button.yes", "button.connect", "button.confirm_forget")
_NO_LABELS = ("button.no", "button.not_now")


def typed_yes_no(ctx: Context, text: str) -> bool | None:
    """True for a typed yes, False for a typed no, None for anything else."""
    wanted = normalize(text.strip().strip("\u200f\u200e.!"))
    if not wanted or len(wanted) > 30:
        return None
    locales = ctx.content.locales
    for lang in dict.fromkeys((ctx.lang, "en")):
        for answer, keywords, labels in ((True, "keywords.yes", _YES_LABELS), (False, "keywords.no", _NO_LABELS)):
            if wanted in locales.normalized_keywords(lang, keywords):
                return answer
            if any(wanted == normalize(locales.text(lang, key)) for key in labels):
                return answer
    return None


def chosen_by_typing(ctx: Context, text: str, questions: dict[str, tuple[str, str]]) -> str | None:
    """The payload a typed yes or no stands for, when the open question (the person's ``step``)
    is one of ``questions`` (step → (yes payload, no payload))."""
    pair = questions.get(ctx.state.step or "")
    if pair is None:
        return None
    answer = typed_yes_no(ctx, text)
    if answer is None:
        return None
    return pair[0] if answer else pair[1]
