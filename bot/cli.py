"""The ``acasa`` command line: content checks, matcher tools, and asking the bot."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from dataclasses import replace
from pathlib import Path

from bot import paths
from bot.app import rasa_options, running_engine
from bot.channels.terminal import chat, render
from bot.config import Settings, SettingsError, load_settings
from bot.content import SCHEDULE_FILE, ContentError, DangerReading, request_reload
from bot.crisis import CrisisDetector, load_crisis_lexicon
from bot.figures import roll_up
from bot.handlers.answer import compose_reply, offices_to_show
from bot.handoff.desk_text import desk_languages, load_desk_text
from bot.handoff.schedule import load_schedule, office_hours
from bot.kb import KnowledgeBase, load_knowledge
from bot.kb.coverage import coverage_matrix
from bot.kb.loader import STALE_AFTER, is_home_page
from bot.kb.model import TOPICS
from bot.locales import Locales, load_locales
from bot.logs import configure_logging
from bot.matching import build_builtin, build_matcher
from bot.messages import Outgoing
from bot.offices import OFFICES_FILE, load_office_finder
from bot.smalltalk import SmallTalk, load_smalltalk
from bot.store import Store
from bot.store.notify import CONTENT_CHANNEL, notify
from nlu.evaluate import evaluate, format_report, read_questions
from nlu.languages import LANGUAGES, base_code
from nlu.matcher import Matcher, Prediction
from nlu.rasa import export_training_data

DEFAULT_EVAL_SET = paths.PROJECT_ROOT / "tests" / "nlu" / "dev_questions.jsonl"


class CliError(Exception):
    """A problem the person running the command must fix; printed without a traceback."""


def _load(
    kb_dir: Path | None, locales_dir: Path | None = None, *, need_locales: bool = False
) -> tuple[KnowledgeBase, Locales | None]:
    kb, problems = load_knowledge(kb_dir or paths.knowledge_dir())
    if kb is None:
        for problem in problems.errors:
            print(problem.format(Path.cwd()), file=sys.stderr)
        raise CliError(f"the knowledge base has {len(problems.errors)} error(s); run 'acasa kb check'.")
    locales = None
    if need_locales:
        locales, locale_problems = load_locales(locales_dir or paths.locales_dir())
        if locales is None:
            for problem in locale_problems.errors:
                print(problem.format(Path.cwd()), file=sys.stderr)
            raise CliError("the interface texts (locales) have errors; run 'acasa kb check'.")
    return kb, locales


def cmd_kb_check(args: argparse.Namespace) -> int:
    kb_dir = args.kb or paths.knowledge_dir()
    locales_dir = args.locales or paths.locales_dir()
    kb, problems = load_knowledge(kb_dir)
    _, locale_problems = load_locales(locales_dir)
    problems.extend(locale_problems)
    problems.extend(load_schedule(Path(kb_dir) / SCHEDULE_FILE)[1])
    problems.extend(load_crisis_lexicon(Path(kb_dir) / "nlu" / "crisis.yaml")[1])
    problems.extend(load_smalltalk(Path(kb_dir) / "nlu" / "smalltalk.yaml")[1])
    problems.extend(load_office_finder(kb.contacts.values() if kb else (), Path(kb_dir) / "nlu" / OFFICES_FILE)[1])
    for desk_lang in desk_languages(Path(locales_dir)):
        problems.extend(load_desk_text(Path(locales_dir), desk_lang)[1])
    errors = problems.errors
    warnings = problems.warnings
    shown_from = Path(kb_dir).resolve().parent  # paths read "knowledge/entries/..." wherever it lives
    for problem in errors + warnings:
        print(problem.format(shown_from))
    if kb is not None:
        if problems:
            print()
        print(coverage_matrix(kb))
    print()
    if errors:
        print(
            f"{len(errors)} error(s), {len(warnings)} warning(s). Nothing can be published until the errors are fixed."
        )
        return 1
    summary = f" {content_summary(kb)}" if kb is not None else ""
    print(f"No errors, {len(warnings)} warning(s).{summary}")
    return 0


def cmd_kb_translations(args: argparse.Namespace) -> int:
    """``kb outdated`` and ``kb stamp``."""
    from bot import cli_translations

    kb_dir = cli_translations.default_dir(args)
    kb, _ = _load(kb_dir)
    if args.translations_func == "outdated":
        print(cli_translations.outdated(kb, kb_dir, args.lang))
        return 0
    if not args.missing and not (args.entry and args.lang):
        raise CliError(
            "name what you brought up to date: --entry ID --lang L (or --missing for files without a version)"
        )
    try:
        changed = cli_translations.stamp_translations(kb, kb_dir, args.entry, args.lang, args.missing)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    for name in changed:
        print(f"stamped {name}")
    print(f"{len(changed)} file(s) now record the current source version.")
    return 0


def cmd_kb_unanswered(args: argparse.Namespace) -> int:
    """The editors' inbox: what the bot could not answer well, grouped, per language."""
    from bot.unanswered import as_json, as_text, group_questions, load_questions, nearest_entries

    kb, _ = _load(args.kb)
    builtin = build_builtin(kb)
    now = dt.datetime.now(dt.UTC)
    since = dt.datetime.combine(args.since, dt.time(), dt.UTC) if args.since else now - dt.timedelta(days=30)

    async def run() -> list:
        store = await Store.open(_settings().database_url)
        try:
            return await load_questions(store, since, args.lang or ())
        finally:
            await store.close()

    groups = group_questions(asyncio.run(run()), nearest_entries(builtin.intent_scores, kb.entries))
    if args.json:
        print(json.dumps(as_json(groups, now), ensure_ascii=False, indent=1))
    else:
        print(f"Since {since.date().isoformat()}:")
        print(as_text(groups, now))
    return 0


def cmd_posters(args: argparse.Namespace) -> int:
    """Printable QR posters per topic and language (A4 and A5 PDFs)."""
    from bot.posters import SIZES, Channels, PosterError, write_posters

    kb, locales = _load(args.kb, need_locales=True)
    assert locales is not None
    settings = _settings()
    channels = Channels(
        telegram_bot=args.telegram_bot,
        whatsapp_number=args.whatsapp_number or (settings.twilio_whatsapp_from or "").removeprefix("whatsapp:") or None,
        web_chat=args.web_chat,
    )
    try:
        written = write_posters(
            kb,
            locales,
            args.lang or list(LANGUAGES),
            args.topic or list(TOPICS),
            Path(args.output),
            channels,
            tuple(args.size or SIZES),
        )
    except PosterError as exc:
        raise CliError(str(exc)) from None
    for path in written:
        print(path)
    print(f"{len(written)} poster(s) written.")
    return 0


def cmd_kb_doubts(args: argparse.Namespace) -> int:
    kb, _ = _load(args.kb)
    listed = [e for e in sorted(kb.entries.values(), key=lambda e: e.id) if e.doubts]
    for entry in listed:
        print(f"{entry.id} (checked {entry.last_verified.isoformat()}):")
        for doubt in entry.doubts:
            print(f"  - {doubt}")
    print(f"{sum(len(e.doubts) for e in listed)} unconfirmed claims in {len(listed)} of {len(kb.entries)} entries.")
    return 0


def content_summary(kb: KnowledgeBase) -> str:
    """What people would be shown, in figures: not a reassurance."""
    texts = [t for e in kb.entries.values() for t in e.translations.values() if t.lang != e.written_in]
    reviewed = sum(t.approved for t in texts)
    outdated = sum(t.outdated for t in texts)
    today = dt.date.today()
    stale = sum(today - e.last_verified > STALE_AFTER for e in kb.entries.values())
    home_only = sum(all(is_home_page(s.url) for s in e.sources) for e in kb.entries.values())
    unconfirmed = sum(not c.confirmed for c in kb.contacts.values())
    doubtful = [e for e in kb.entries.values() if e.doubts]
    return (
        f"Publishing is possible. Of {len(texts)} translations, {reviewed} are reviewed by a native speaker, "
        f"{outdated} need editing (the original changed) and {len(texts) - reviewed - outdated} are "
        f"machine-drafted; {stale} of {len(kb.entries)} entries have facts older than "
        f"6 months; {len(doubtful)} entries list {sum(len(e.doubts) for e in doubtful)} unconfirmed claims; "
        f"{home_only} cite only home pages; {unconfirmed} of {len(kb.contacts)} contacts are unconfirmed."
    )


def _recognisers(kb: KnowledgeBase) -> tuple[Matcher, CrisisDetector, SmallTalk]:
    """The matcher, and the emergency and small-talk recognisers, as the running bot builds them."""
    builtin = build_builtin(kb)
    crisis, crisis_problems = load_crisis_lexicon(kb.root / "nlu" / "crisis.yaml")
    smalltalk, smalltalk_problems = load_smalltalk(kb.root / "nlu" / "smalltalk.yaml")
    if crisis is None or smalltalk is None:
        for problem in crisis_problems.errors + smalltalk_problems.errors:
            print(problem.format(Path.cwd()), file=sys.stderr)
        raise CliError("the crisis or small-talk phrases have errors; run 'acasa kb check'.")
    matcher = build_matcher(kb, rasa_options(_settings()), builtin=builtin)
    return matcher, crisis.with_reader(DangerReading(builtin, smalltalk), builtin.ordinary_words()), smalltalk


def cmd_nlu_predict(args: argparse.Namespace) -> int:
    kb, _ = _load(args.kb)
    matcher, crisis, _smalltalk = _recognisers(kb)
    finder, _ = load_office_finder(kb.contacts.values(), kb.root / "nlu" / OFFICES_FILE)
    if finder is None:
        raise CliError("the words that ask where an office is have errors; run 'acasa kb check'.")

    async def run() -> None:
        for number, line in enumerate(sys.stdin, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text = row["text"]
                if not isinstance(text, str):
                    raise TypeError("text must be a string")
                lang = base_code(row.get("lang")) if row.get("lang") else None
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                print(f'line {number}: expected {{"text": "...", "lang": "uk"}} ({exc})', file=sys.stderr)
                print(
                    json.dumps(
                        {
                            "intent": None,
                            "confidence": 0.0,
                            "language": None,
                            "alternatives": [],
                            "crisis": False,
                            "offices": [],
                            "names_112": False,
                            "error": "invalid input line",
                        }
                    ),
                    flush=True,
                )
                continue
            prediction = await matcher.match(text, lang)
            found = crisis.detect(text)
            offices = offices_to_show(kb, finder, text, prediction)
            line = prediction.to_json() | {
                "crisis": found is not None,
                "crisis_kind": found and found.category,
                # What else the bot's reply would hold: the cards of offices asked for by name, and
                # 112 first when it cannot answer a message that may be about danger.
                "offices": [c.id for c in offices],
                "names_112": found is None and not offices and prediction.intent is None and crisis.may_be_danger(text),
            }
            print(json.dumps(line, ensure_ascii=False), flush=True)

    asyncio.run(run())
    return 0


def _question_files(names: list[str]) -> list[Path]:
    """Files as given; a folder stands for the ``*.jsonl`` files in it."""
    found: list[Path] = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            found.extend(sorted(path.glob("*.jsonl")))
        elif path.exists():
            found.append(path)
        else:
            raise CliError(f"{name}: no such file or folder")
    return found


def cmd_nlu_eval(args: argparse.Namespace) -> int:
    kb, _ = _load(args.kb)
    files = _question_files(args.files or [str(DEFAULT_EVAL_SET)])
    questions = [q for path in files for q in read_questions(path)]
    matcher, crisis, smalltalk = _recognisers(kb)

    def shows_112(text: str, prediction: Prediction) -> bool:
        """As the bot replies: an answer that names 112, or no answer to a message that may be
        about danger (the number comes first)."""
        entry = kb.entries.get(prediction.intent or "")
        if entry is None:
            return crisis.may_be_danger(text)
        return "112" in entry.translation(prediction.language).answer

    report = asyncio.run(
        evaluate(
            matcher,
            questions,
            use_hint=not args.no_hint,
            crisis=lambda text: crisis.detect(text) is not None,
            smalltalk=smalltalk.kind,
            shows_112=shows_112,
        )
    )
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print(f"{len(questions)} questions from {', '.join(str(f) for f in files)}\n")
        print(format_report(report, show_failures=args.failures))
    return 0


def cmd_nlu_export_rasa(args: argparse.Namespace) -> int:
    kb, _ = _load(args.kb)
    data = export_training_data(kb.examples())
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(data, encoding="utf-8")
        print(f"Wrote Rasa training data for {len(kb.entries)} intents to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(data)
    return 0


async def _ask(kb: KnowledgeBase, locales: Locales, text: str, lang: str | None) -> Outgoing:
    matcher = build_matcher(kb, rasa_options(_settings()))
    prediction = await matcher.match(text, lang)
    return compose_reply(kb, locales, prediction, lang or prediction.language)


def cmd_ask(args: argparse.Namespace) -> int:
    kb, locales = _load(args.kb, need_locales=True)
    assert locales is not None
    lang = _language(args.lang)
    reply = asyncio.run(_ask(kb, locales, " ".join(args.text), lang))
    if args.json:
        print(
            json.dumps(
                {
                    "intent": reply.intent,
                    "language": reply.lang,
                    "text": reply.text,
                    "buttons": [{"label": b.label, "payload": b.payload} for b in reply.buttons],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        print(render(reply))
    return 0


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise CliError(str(exc)) from None


def cmd_chat(args: argparse.Namespace) -> int:
    settings = _settings()
    if args.db:
        settings = replace(settings, database_url=f"sqlite+aiosqlite:///{Path(args.db).resolve()}")
    lang = _language(args.lang)
    configure_logging(args.log_level.upper())  # the conversation, not the service's INFO lines

    async def run() -> None:
        try:
            async with running_engine(settings) as engine:
                await chat(engine, lang=lang, user=args.user)
        except ContentError as exc:
            for problem in exc.problems:
                print(problem.format(Path.cwd()), file=sys.stderr)
            raise CliError("the content has errors; run 'acasa kb check'") from None

    asyncio.run(run())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.server import create_app

    settings = _settings()
    host = args.host or settings.host
    port = args.port or settings.port
    configure_logging(settings.log_level)
    app = create_app(settings, polling=args.polling)
    # uvicorn stops accepting connections first on SIGTERM, then runs the app's shutdown.
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=10,
        proxy_headers=True,  # the address of a person (rate limits) from these proxies' X-Forwarded-For
        forwarded_allow_ips=settings.trusted_proxies,
    )
    return 0


def _with_queue(work):
    from bot.handoff.queue import HandoffQueue

    settings = _settings()

    async def run():
        store = await Store.open(settings.database_url)
        try:
            return await work(HandoffQueue(store))
        finally:
            await store.close()

    return asyncio.run(run())


def _minutes_since(moment: dt.datetime | None) -> str:
    if moment is None:
        return "-"
    return f"{(dt.datetime.now(dt.UTC) - moment).total_seconds() / 60:.0f} min"


def cmd_queue_list(args: argparse.Namespace) -> int:
    tickets = _with_queue(lambda queue: queue.open_tickets())
    if not tickets:
        print("No open tickets.")
        return 0
    print(f"{'id':>5}  {'status':<8} {'urgent':<6} {'lang':<4} {'channel':<9} {'waiting':>8}  mediator  topics")
    for t in tickets:
        print(
            f"{t.id:>5}  {t.status:<8} {'yes' if t.urgent else '':<6} {t.language:<4} {t.channel:<9} "
            f"{_minutes_since(t.created_at):>8}  {t.mediator or '-':<8}  {', '.join(t.topics) or '-'}"
        )
    return 0


def cmd_queue_show(args: argparse.Namespace) -> int:
    ticket = _with_queue(lambda queue: queue.get(args.id))
    if ticket is None:
        raise CliError(f"there is no ticket {args.id}")
    for name in (
        "id",
        "status",
        "urgent",
        "language",
        "channel",
        "topics",
        "mediator",
        "mediator_name",
        "created_at",
        "claimed_at",
        "first_reply_at",
        "closed_at",
        "last_activity_at",
        "rating",
    ):
        value = getattr(ticket, name)
        print(f"{name:<15} {', '.join(value) if isinstance(value, tuple) else value}")
    return 0


def cmd_queue_stats(args: argparse.Namespace) -> int:
    stats = _with_queue(lambda queue: queue.stats(days=args.days))
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"Last {stats['days']} days, {stats['tickets']} ticket(s)")
    print(f"Waiting now:                 {stats['waiting_now']}")
    print(f"Median wait until claimed:   {stats['median_minutes_to_claim'] or '-'} min")
    print(f"Median wait until an answer: {stats['median_minutes_to_first_reply'] or '-'} min")
    print(f"Closed per day:              {stats['closed_per_day'] or '-'}")
    print(f"Ratings (1-5):               {stats['ratings'] or '-'}; average {stats['average_rating'] or '-'}")
    print(f"Referrals by status:         {stats['referrals'] or '-'}")
    return 0


def cmd_kb_reload(args: argparse.Namespace) -> int:
    """Validate, then ask running bots to load the content again (they also notice edits alone)."""
    if cmd_kb_check(args) != 0:
        print("Not reloaded: a running bot keeps serving the last good version.")
        return 1
    trigger = request_reload(args.kb or paths.knowledge_dir())
    settings = _settings()
    if settings.database_url.startswith("postgresql"):  # instances on other machines hear it too

        async def tell_everyone() -> None:
            store = await Store.open(settings.database_url, migrate=False)
            try:
                await notify(store.engine, CONTENT_CHANNEL)
            finally:
                await store.close()

        asyncio.run(tell_everyone())
    print(f"Reload requested ({trigger.name} touched); running bots pick it up within seconds.")
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = _settings()

    async def run() -> None:
        store = await Store.open(settings.database_url)
        await store.close()

    asyncio.run(run())
    print("Database is up to date.")
    return 0


def cmd_db_purge(args: argparse.Namespace) -> int:
    settings = _settings()

    async def run() -> int:
        store = await Store.open(settings.database_url)
        try:
            await roll_up(store, office_hours(settings.knowledge_dir / SCHEDULE_FILE))  # counted before deleted
            return await store.purge_messages(dt.timedelta(days=settings.retention_days))
        finally:
            await store.close()

    deleted = asyncio.run(run())
    print(f"Deleted {deleted} message(s) older than {settings.retention_days} days.")
    return 0


def _language(value: str | None) -> str | None:
    if value is None:
        return None
    code = base_code(value)
    if code is None:
        raise CliError(f"unknown language '{value}'; use one of: {', '.join(LANGUAGES)}")
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="acasa", description="Acasă — multilingual information bot for Timișoara.")
    sub = parser.add_subparsers(dest="command", required=True)

    kb = sub.add_parser("kb", help="knowledge base tools").add_subparsers(dest="kb_command", required=True)
    check = kb.add_parser("check", help="validate knowledge and locales, print the coverage matrix")
    check.add_argument("--kb", type=Path, help="knowledge folder (default: the project's knowledge/)")
    check.add_argument("--locales", type=Path, help="locales folder (default: the project's locales/)")
    check.set_defaults(func=cmd_kb_check)
    doubts = kb.add_parser("doubts", help="every claim no public source confirmed, by entry (what to re-check)")
    doubts.add_argument("--kb", type=Path)
    doubts.set_defaults(func=cmd_kb_doubts)
    from bot import cli_translations

    cli_translations.add_parsers(kb, cmd_kb_translations)
    inbox = kb.add_parser("unanswered", help="questions the bot could not answer well, grouped by language")
    inbox.add_argument("--kb", type=Path)
    inbox.add_argument("--lang", action="append", choices=LANGUAGES, help="only these languages (repeatable)")
    inbox.add_argument("--since", type=dt.date.fromisoformat, help="YYYY-MM-DD (default: the last 30 days)")
    inbox.add_argument("--json", action="store_true", help="one object per group, for other tools")
    inbox.set_defaults(func=cmd_kb_unanswered)

    posters = sub.add_parser("posters", help="printable QR posters per topic and language (A4 and A5 PDFs)")
    posters.add_argument("-o", "--output", required=True, help="folder for the PDFs")
    posters.add_argument("--lang", action="append", choices=LANGUAGES, help="language (repeatable; default: all)")
    posters.add_argument("--topic", action="append", choices=TOPICS, help="topic (repeatable; default: all)")
    posters.add_argument("--size", action="append", choices=("A4", "A5"), help="paper size (default: both)")
    posters.add_argument("--telegram-bot", help="the bot's Telegram username (t.me/<name>)")
    posters.add_argument("--whatsapp-number", help="the bot's WhatsApp number (default: TWILIO_WHATSAPP_FROM)")
    posters.add_argument("--web-chat", help="the address of the web chat page, if the city runs it")
    posters.add_argument("--kb", type=Path)
    posters.set_defaults(func=cmd_posters)

    nlu = sub.add_parser("nlu", help="question matcher tools").add_subparsers(dest="nlu_command", required=True)
    predict = nlu.add_parser("predict", help="JSON lines in on stdin, one prediction per line out")
    predict.add_argument("--kb", type=Path)
    predict.set_defaults(func=cmd_nlu_predict)
    ev = nlu.add_parser("eval", help="accuracy on a labelled question set")
    ev.add_argument("files", nargs="*", help="question sets (JSON lines) or folders of them; default: the dev set")
    ev.add_argument("--kb", type=Path)
    ev.add_argument("--no-hint", action="store_true", help="do not pass the question's language as a hint")
    ev.add_argument("--failures", action="store_true", help="list every wrong prediction")
    ev.add_argument("--json", action="store_true", help="machine-readable summary")
    ev.set_defaults(func=cmd_nlu_eval)
    export = nlu.add_parser("export-rasa", help="write Rasa 3.x NLU training data from the knowledge base")
    export.add_argument("--kb", type=Path)
    export.add_argument("--out", "-o", help="file to write (default: standard output)")
    export.set_defaults(func=cmd_nlu_export_rasa)

    ask = sub.add_parser("ask", help="what the bot would reply to one message")
    ask.add_argument("--lang", help="the person's chosen language")
    ask.add_argument("--json", action="store_true")
    ask.add_argument("--kb", type=Path)
    ask.add_argument("text", nargs="+")
    ask.set_defaults(func=cmd_ask)

    chat_cmd = sub.add_parser("chat", help="talk to the bot in the terminal (one message per line)")
    chat_cmd.add_argument("--lang", help="your language, as a platform would hint it")
    chat_cmd.add_argument("--db", help="SQLite file to use instead of DATABASE_URL")
    chat_cmd.add_argument("--user", help="who you are in the conversation (default: your login name)")
    chat_cmd.add_argument(
        "--log-level", default="WARNING", help="log lines shown beside the chat (default WARNING: only problems)"
    )
    chat_cmd.set_defaults(func=cmd_chat)

    serve = sub.add_parser("serve", help="run the web service (webhooks, health check, delivery)")
    serve.add_argument("--polling", action="store_true", help="fetch Telegram updates by long polling (local use)")
    serve.add_argument("--host", help="address to listen on (default HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default PORT or 8000)")
    serve.set_defaults(func=cmd_serve)

    reload_cmd = kb.add_parser("reload", help="validate, then make running bots load the content again")
    reload_cmd.add_argument("--kb", type=Path)
    reload_cmd.add_argument("--locales", type=Path)
    reload_cmd.set_defaults(func=cmd_kb_reload)

    queue = sub.add_parser("queue", help="the mediator hand-off queue").add_subparsers(
        dest="queue_command", required=True
    )
    queue.add_parser("list", help="open tickets, urgent first, then oldest").set_defaults(func=cmd_queue_list)
    show = queue.add_parser("show", help="one ticket")
    show.add_argument("id", type=int)
    show.set_defaults(func=cmd_queue_show)
    stats = queue.add_parser("stats", help="waiting now, waits, closed per day, ratings")
    stats.add_argument("--days", type=int, default=30)
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=cmd_queue_stats)

    db = sub.add_parser("db", help="database tools").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply migrations (DATABASE_URL)").set_defaults(func=cmd_db_upgrade)
    db.add_parser("purge", help="apply retention now (RETENTION_DAYS; see docs/privacy.md)").set_defaults(
        func=cmd_db_purge
    )
    from bot import cli_users

    cli_users.add_parsers(sub, cmd_user)
    from bot import cli_report

    cli_report.add_parsers(sub, cmd_report)
    return parser


def cmd_report(args: argparse.Namespace) -> int:
    from bot import cli_report

    settings = _settings()
    kb, locales = _load(settings.knowledge_dir, settings.locales_dir, need_locales=True)
    assert locales is not None
    try:
        written = cli_report.write_report(
            args, settings.database_url, settings.knowledge_dir, settings.locales_dir, kb, locales
        )
    except cli_report.ReportError as exc:
        raise CliError(str(exc)) from exc
    print(written)
    return 0


def cmd_user(args: argparse.Namespace) -> int:
    from bot import cli_users

    settings = _settings()
    try:
        return int(args.user_func(args, settings.database_url, settings.public_url))
    except cli_users.UserError as exc:
        raise CliError(str(exc)) from exc


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"acasa: {exc}", file=sys.stderr)
        return 1
    except (EOFError, KeyboardInterrupt):
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
