"""The editors' studio under ``/console/studio``: what needs doing in the content, at a glance.

- the coverage matrix: every entry in every language — approved, machine-drafted, needs editing
  (the original changed since), missing — with stale facts and doubts;
- the translations that need editing, with what changed in the original;
- the unanswered inbox: questions the bot could not answer well, grouped per language, with the
  nearest entries (never who asked).

The pages read the content the bot is serving right now and the database; they change nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from typing import TYPE_CHECKING, Any

from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from bot.channels.whatsapp import render as whatsapp_render
from bot.cli_translations import outdated_items
from bot.handlers.answer import compose_answer, compose_contacts, compose_more, compose_sources
from bot.kb.coverage import translation_state
from bot.kb.loader import STALE_AFTER
from bot.paths import PROJECT_ROOT
from bot.publishing import Publisher, PublishError, text_problems
from bot.render import TELEGRAM_LIMIT, WHATSAPP_LIMIT, button_rows, is_rtl, split_message, to_telegram_html
from bot.unanswered import as_json, dismiss, group_questions, load_questions, nearest_entries
from bot.web.sessions import StaffSession
from nlu.languages import LANGUAGES

if TYPE_CHECKING:
    from bot.web.console import Console

STUDIO_ROLES = ("editor", "translator", "reviewer", "coordinator", "admin")
EDITING_ROLES = ("editor", "coordinator", "admin")  # any language, the originals too
PUBLISH_ROLES = ("editor", "reviewer", "coordinator", "admin")  # everything staged, after the checks


def may_edit(user, lang: str, original: str) -> bool:
    """Editors change any text; translators and reviewers the translations into their languages."""
    if user.role in EDITING_ROLES:
        return True
    return user.role in ("translator", "reviewer") and lang in user.languages and lang != original


def may_approve(user, lang: str, original: str) -> bool:
    """Approval is per language, by a reviewer of that language."""
    return user.role == "reviewer" and lang in user.languages and lang != original


INBOX_DAYS = (7, 30, 90)
# The development question sets guard publishing (never the held-out ones, which only measure).
QUESTION_SETS = (
    *sorted((PROJECT_ROOT / "tests" / "nlu" / "realistic" / "dev").glob("*.jsonl")),
    PROJECT_ROOT / "tests" / "nlu" / "dev_questions.jsonl",
)


class Studio:
    def __init__(self, console: Console):
        self.console = console
        self.publisher = Publisher(console.store, console.content, list(QUESTION_SETS))

    async def act_on_group(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        """What an editor decides for a group of the inbox: add its question as an example of an
        entry, teach the bot it is out of scope, note that a new entry is needed, or ignore it.
        Either way the group's questions leave the inbox."""
        assert form is not None
        action = str(form.get("action") or "")
        lang = str(form.get("language") or "")
        text = str(form.get("text") or "")
        if lang not in LANGUAGES or action not in ("example", "out_of_scope", "wanted", "ignore"):
            return self.console.render(
                "message.html", 400, session=session, message=self.console._t("studio.bad_action")
            )
        user, now = session.user, self.console.clock()
        try:
            if action == "example":
                entry_id = str(form.get("entry_id") or "")
                await self.publisher.stage_example(user.actor, user.name, entry_id, lang, text, now)
            elif action == "out_of_scope":
                await self.publisher.stage_out_of_scope(user.actor, user.name, lang, text, now)
            elif action == "wanted":
                await self.publisher.want_entry(user.actor, user.name, lang, text, now)
        except PublishError as exc:
            return self.console.render("message.html", 400, session=session, message=str(exc))
        await dismiss(self.console.store, lang, await self._group_texts(lang, text, now))
        target = (
            "/console/studio/publish"
            if action in ("example", "out_of_scope", "wanted")
            else "/console/studio/unanswered"
        )
        return RedirectResponse(target, status_code=303)

    async def _group_texts(self, lang: str, text: str, now: dt.datetime) -> list[str]:
        """Every question of the inbox group ``text`` belongs to (grouped again, as the page showed)."""
        questions = await load_questions(self.console.store, now - dt.timedelta(days=max(INBOX_DAYS)), [lang])
        for group in group_questions(questions):
            if text in group.texts():
                return group.texts()
        return [text]

    def _entry_to_change(
        self, request: Request, session: StaffSession, form: FormData | None, allowed: Any
    ) -> tuple[Any, str] | Response:
        """The entry and language a form changes, or the answer when it cannot: 404 for an unknown
        entry or language, 403 when ``allowed(user, lang, original)`` says the role may not."""
        assert form is not None
        entry = self.console.content.current.kb.entries.get(request.path_params["entry_id"])
        lang = str(form.get("language") or "")
        if entry is None or lang not in LANGUAGES:
            return self.console.render("message.html", 404, session=session, message=self.console._t("studio.no_entry"))
        if not allowed(session.user, lang, entry.written_in):
            return self.console.render("refused.html", 403, session=session)
        return entry, lang

    async def edit_text(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        """Stage a new title and answer for one language of an entry (checked again when published)."""
        found = self._entry_to_change(request, session, form, may_edit)
        if isinstance(found, Response):
            return found
        entry, lang = found
        assert form is not None
        user = session.user
        try:
            await self.publisher.stage_text(
                user.actor, user.name, entry.id, lang, now=self.console.clock(), **_text_fields(form)
            )
        except PublishError as exc:
            return await self._entry_page(request, session, entry, lang, error=str(exc), status=400, form=form)
        return RedirectResponse("/console/studio/publish", status_code=303)

    async def check_text(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        """What ``kb check`` would say about the text being typed (the edit form asks as one types)."""
        found = self._entry_to_change(request, session, form, may_edit)
        if isinstance(found, Response):
            return found
        entry, lang = found
        assert form is not None
        problems = await asyncio.to_thread(
            functools.partial(
                text_problems,
                self.publisher.knowledge_dir,
                entry.id,
                lang,
                today=self.console.clock().date(),
                **_text_fields(form),
            )
        )
        body = {"problems": [{"field": p.field, "message": p.message, "error": p.error} for p in problems]}
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    async def approve(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        found = self._entry_to_change(request, session, form, may_approve)
        if isinstance(found, Response):
            return found
        entry, lang = found
        user = session.user
        try:
            await self.publisher.stage_approval(user.actor, user.name, entry.id, lang, self.console.clock())
        except PublishError as exc:
            return self.console.render("message.html", 400, session=session, message=str(exc))
        return RedirectResponse("/console/studio/publish", status_code=303)

    async def publish_page(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        return await self._publish_view(session)

    async def publish(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        """Check everything staged, then write, commit and reload; or refuse, saying why."""
        if not await self.publisher.pending():
            return RedirectResponse("/console/studio/publish", status_code=303)
        result = await self.publisher.publish(session.user.actor, session.user.name, self.console.clock())
        return await self._publish_view(session, result, 200 if result.published else 409)

    async def _publish_view(self, session: StaffSession, result: Any = None, status: int = 200) -> Response:
        return self.console.render(
            "studio_publish.html",
            status,
            session=session,
            pending=await self.publisher.pending(),
            history=await self.publisher.history(),
            wanted=await self.publisher.wanted(),
            result=result,
        )

    async def withdraw(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        await self.publisher.withdraw(int(request.path_params["change_id"]), self.console.clock())
        return RedirectResponse("/console/studio/publish", status_code=303)

    async def coverage(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        content = self.console.content.current
        kb = content.kb
        today = self.console.clock().date()
        rows = []
        totals: dict[str, dict[str, int]] = {lang: {} for lang in LANGUAGES}
        for eid in sorted(kb.entries):
            entry = kb.entries[eid]
            states = []
            for lang in LANGUAGES:
                state = translation_state(entry, lang)
                totals[lang][state] = totals[lang].get(state, 0) + 1
                states.append((lang, state))
            rows.append(
                {
                    "id": eid,
                    "title": entry.translation("en").title,
                    "states": states,
                    "checked": entry.last_verified,
                    "stale": today - entry.last_verified > STALE_AFTER,
                    "doubts": len(entry.doubts),
                }
            )
        return self.console.render(
            "studio_coverage.html", session=session, rows=rows, languages=LANGUAGES, totals=totals
        )

    async def entry(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        content = self.console.content.current
        entry = content.kb.entries.get(request.path_params["entry_id"])
        if entry is None:
            return self.console.render("message.html", 404, session=session, message=self.console._t("studio.no_entry"))
        lang = request.query_params.get("language", "")
        return await self._entry_page(request, session, entry, lang if lang in LANGUAGES else "en")

    async def _entry_page(
        self,
        request: Request,
        session: StaffSession,
        entry: Any,
        lang: str,
        *,
        error: str | None = None,
        status: int = 200,
        form: FormData | None = None,
    ) -> Response:
        """One entry: the original beside a translation, its state, the forms the user's role allows,
        and every reply people get, as Telegram and WhatsApp show it (parts, lengths, buttons,
        direction)."""
        content = self.console.content.current
        original = entry.translations[entry.written_in]
        text = entry.translations.get(lang)
        previews = []
        for name, compose in (
            ("answer", compose_answer),
            ("more", compose_more),
            ("sources", compose_sources),
            ("contacts", compose_contacts),
        ):
            reply = compose(content.kb, content.locales, entry, lang)
            labels = [b.label for b in reply.buttons]
            telegram = to_telegram_html(reply.text, is_rtl(lang))
            body = {"text": reply.text, "lang": lang, "buttons": [[b.label, b.payload] for b in reply.buttons]}
            whatsapp = whatsapp_render(body, content.locales)
            previews.append(
                {
                    "name": name,
                    "telegram": [Markup(part) for part in split_message(telegram, TELEGRAM_LIMIT)],
                    "rows": [[labels[i] for i in row] for row in button_rows(labels)],
                    "whatsapp": split_message(whatsapp, WHATSAPP_LIMIT),
                    "characters": len(Markup(telegram).striptags()),
                }
            )
        draft_title = str(form.get("title")) if form is not None else (text.title if text else original.title)
        draft_answer = str(form.get("answer")) if form is not None else (text.answer if text else original.answer)
        draft_examples = str(form.get("examples") or "") if form is not None else ""
        shown_label = text.short_title if text else original.short_title
        draft_short_title = str(form.get("short_title") or "") if form is not None else (shown_label or "")
        changed = next(
            (item for item in outdated_items(content.kb, content.kb.root, [lang]) if item.entry_id == entry.id), None
        )
        return self.console.render(
            "studio_entry.html",
            status,
            changed=changed,
            session=session,
            entry=entry,
            text_lang=lang,
            languages=LANGUAGES,
            original=original,
            text=text,
            state=translation_state(entry, lang),
            rtl=is_rtl(lang),
            previews=previews,
            can_edit=may_edit(session.user, lang, entry.written_in),
            can_approve=text is not None and may_approve(session.user, lang, entry.written_in),
            draft_title=draft_title,
            draft_answer=draft_answer,
            draft_examples=draft_examples,
            draft_short_title=draft_short_title,
            error=error,
        )

    async def outdated(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        kb = self.console.content.current.kb
        items = outdated_items(kb, kb.root)
        return self.console.render("studio_outdated.html", session=session, items=items)

    async def unanswered(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        days = int(request.query_params.get("days", "30")) if request.query_params.get("days", "").isdigit() else 30
        days = days if days in INBOX_DAYS else 30
        lang = request.query_params.get("language", "")
        lang = lang if lang in LANGUAGES else ""
        now = self.console.clock()
        questions = await load_questions(self.console.store, now - dt.timedelta(days=days), [lang] if lang else ())
        content = self.console.content.current
        # The built-in matcher's reading (a Rasa-only matcher has no scores: no nearest entries).
        nearest = nearest_entries(getattr(content.matcher, "intent_scores", None), content.kb.entries)
        groups = as_json(group_questions(questions, nearest), now)
        return self.console.render(
            "studio_unanswered.html",
            session=session,
            groups=groups,
            days=days,
            choices=INBOX_DAYS,
            language=lang,
            languages=LANGUAGES,
            total=len(questions),
            entries=sorted(content.kb.entries),
        )


def _text_fields(form: FormData) -> dict[str, Any]:
    """A text as the edit form gives it: title, answer, and — when the form has them — the example
    questions of a new language (one per line) and the button label (None: left as it is)."""
    examples, short_title = form.get("examples"), form.get("short_title")
    return {
        "title": str(form.get("title") or ""),
        "answer": str(form.get("answer") or "").replace("\r\n", "\n"),
        "examples": None if examples is None else [q.strip() for q in str(examples).splitlines() if q.strip()],
        "short_title": None if short_title is None else str(short_title),
    }
