"""Settings from environment variables or a ``.env`` file, validated once at start.

Every problem is collected and reported together, in words that say what to change.
Environment variables win over ``.env``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot import paths
from nlu.languages import LANGUAGES


class SettingsError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("invalid settings:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    database_url: str
    knowledge_dir: Path
    locales_dir: Path
    default_language: str = "en"
    retention_days: int = 90
    max_message_chars: int = 4000
    content_poll_seconds: float = 2.0
    rasa_url: str | None = None
    rasa_mode: str = "combine"
    rasa_timeout: float = 2.0
    log_level: str = "INFO"
    public_url: str | None = None
    telegram_bot_token: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_api_base_url: str | None = None
    telegram_timeout: float = 10.0
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_whatsapp_from: str | None = None
    twilio_api_base_url: str | None = None
    twilio_template_sid: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    mediator_chat_id: int | None = None  # the mediators' Telegram supergroup (with topics)
    mediator_language: str = "ro"  # the desk's own texts: locales/desk/<language>.yaml
    web_desk: bool = False  # mediators work in the web console (/console), with or without the Telegram group
    metrics_token: str | None = None  # /metrics asks for it; without one, only private addresses may scrape
    referral_follow_up_days: float = 7.0  # a referral sent or accepted comes back to its mediator after this
    mediator_messages_per_minute: float = 20.0  # Telegram allows about 20 per minute in one group
    handoff_remind_minutes: float = 15.0  # a ticket waiting this long is announced again
    handoff_no_reply_minutes: float = 10.0  # a claimed ticket without a mediator reply is flagged
    handoff_idle_hours: float = 24.0  # a conversation with a mediator idle this long is closed
    handoff_check_seconds: float = 30.0
    webhook_max_bytes: int = 1_000_000  # larger request bodies are refused while they stream in
    webhook_max_json_depth: int = 64  # deeper JSON is refused (Telegram's updates nest about 10 deep)
    telegram_messages_per_second: float | None = 30.0  # for the whole bot, all instances; None = no limit
    whatsapp_messages_per_second: float | None = 20.0
    claim_lease_seconds: float = 30.0  # an instance that dies leaves its work to others after this
    web_chat: bool = True  # the web chat (/chat, its widget) and the help centre (/help)
    web_chat_origins: tuple[str, ...] = ()  # sites that may show the chat in their pages (the widget)
    web_chat_messages_per_minute: int = 20  # per conversation
    web_chat_address_messages_per_minute: int = 120  # per address (a school's or an NGO's network shares one)
    trusted_proxies: str = "127.0.0.1"  # whose X-Forwarded-For names the real address (uvicorn's forwarded_allow_ips)

    @property
    def handoff_enabled(self) -> bool:
        return self.telegram_desk_enabled or self.web_desk

    @property
    def telegram_desk_enabled(self) -> bool:
        return self.mediator_chat_id is not None and self.telegram_bot_token is not None


def _without_comment(value: str) -> str:
    """The value before a `` #`` comment; a quoted value is kept whole (it may hold '#')."""
    value = value.strip()
    if value[:1] in ("'", '"'):
        closing = value.find(value[0], 1)
        if closing > 0:
            return value[: closing + 1]
    for index, char in enumerate(value):
        if char == "#" and (index == 0 or value[index - 1].isspace()):
            return value[:index].rstrip()
    return value


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; '#' comments, on their own line or after a value; optional single or
    double quotes around the value (a '#' inside quotes, or inside a word, is part of it)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :]
        key, sep, value = line.partition("=")
        if not sep or not key.strip().isidentifier():
            raise SettingsError([f"{path}, line {number}: expected KEY=value"])
        value = _without_comment(value)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def default_database_url() -> str:
    return f"sqlite+aiosqlite:///{paths.PROJECT_ROOT / 'acasa.db'}"


def load_settings(env: Mapping[str, str] | None = None, dotenv: Path | None = None) -> Settings:
    """Read and validate settings; raise ``SettingsError`` listing every problem."""
    merged: dict[str, str] = {}
    merged.update(read_dotenv(dotenv if dotenv is not None else Path.cwd() / ".env"))
    merged.update(os.environ if env is None else env)
    problems: list[str] = []

    def number(key: str, default: float, *, minimum: float, integer: bool = False) -> float:
        raw = merged.get(key, "").strip()
        if not raw:
            return default
        try:
            value = int(raw) if integer else float(raw)
        except ValueError:
            problems.append(f"{key}={raw!r} is not a {'whole ' if integer else ''}number")
            return default
        if value < minimum:
            problems.append(f"{key} must be at least {minimum}, not {raw}")
            return default
        return value

    database_url = merged.get("DATABASE_URL", "").strip() or default_database_url()
    if not database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        problems.append(
            "DATABASE_URL must start with sqlite+aiosqlite:/// (a file) or postgresql+asyncpg:// "
            f"(got {database_url.split(':', 1)[0]}://...)"
        )
    knowledge_dir = Path(merged.get("ACASA_KB_DIR") or paths.knowledge_dir())
    if not knowledge_dir.is_dir():
        problems.append(f"ACASA_KB_DIR: the folder {knowledge_dir} does not exist")
    locales_dir = Path(merged.get("ACASA_LOCALES_DIR") or paths.locales_dir())
    if not locales_dir.is_dir():
        problems.append(f"ACASA_LOCALES_DIR: the folder {locales_dir} does not exist")
    default_language = merged.get("DEFAULT_LANGUAGE", "en").strip() or "en"
    if default_language not in LANGUAGES:
        problems.append(f"DEFAULT_LANGUAGE must be one of {', '.join(LANGUAGES)}, not {default_language!r}")
    rasa_mode = merged.get("RASA_MODE", "combine").strip() or "combine"
    if rasa_mode not in ("combine", "replace"):
        problems.append(f"RASA_MODE must be 'combine' or 'replace', not {rasa_mode!r}")
    rasa_url = merged.get("RASA_URL", "").strip() or None
    if rasa_url and not rasa_url.startswith(("http://", "https://")):
        problems.append(f"RASA_URL must start with http:// or https://, not {rasa_url!r}")
    log_level = merged.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        problems.append(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {log_level!r}")
    public_url = merged.get("PUBLIC_URL", "").strip() or None
    if public_url:
        public_url = public_url.rstrip("/")
        if not public_url.startswith(("https://", "http://")):
            problems.append(
                f"PUBLIC_URL must be the address people's platforms reach, e.g. https://acasa.example.org "
                f"(got {public_url!r})"
            )
    token = merged.get("TELEGRAM_BOT_TOKEN", "").strip() or None
    if token and ":" not in token:
        problems.append("TELEGRAM_BOT_TOKEN does not look like a bot token (digits:letters, from @BotFather)")
    secret = merged.get("TELEGRAM_WEBHOOK_SECRET", "").strip() or None
    if secret and not (1 <= len(secret) <= 256 and all(c.isalnum() or c in "_-" for c in secret)):
        problems.append("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
    if token and public_url and not secret:
        problems.append(
            "TELEGRAM_WEBHOOK_SECRET is required with PUBLIC_URL: without it anyone could post fake "
            "updates to the webhook"
        )
    api_root = merged.get("TELEGRAM_API_BASE_URL", "").strip().rstrip("/") or None
    if api_root and not api_root.startswith(("http://", "https://")):
        problems.append(f"TELEGRAM_API_BASE_URL must start with http:// or https:// (got {api_root!r})")
    twilio = {
        key: merged.get(key, "").strip() or None
        for key in (
            "TWILIO_ACCOUNT_SID",
            "TWILIO_AUTH_TOKEN",
            "TWILIO_WHATSAPP_FROM",
            "TWILIO_API_BASE_URL",
            "TWILIO_TEMPLATE_SID",
        )
    }
    if twilio["TWILIO_ACCOUNT_SID"] or twilio["TWILIO_AUTH_TOKEN"]:
        missing = [k for k in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_WHATSAPP_FROM") if not twilio[k]]
        if missing:
            problems.append(f"WhatsApp needs {', '.join(missing)} as well")
        if not public_url:
            problems.append("WhatsApp needs PUBLIC_URL: Twilio signs its webhooks with the public address")
        sender = twilio["TWILIO_WHATSAPP_FROM"] or ""
        if sender and not sender.removeprefix("whatsapp:").startswith("+"):
            problems.append("TWILIO_WHATSAPP_FROM must be a number in international form, e.g. whatsapp:+40700000000")
        if not twilio["TWILIO_TEMPLATE_SID"]:
            problems.append(
                "TWILIO_TEMPLATE_SID is required: replies due more than 24 hours after a person's last "
                "message can only be announced with an approved template"
            )
    mediator_chat = merged.get("MEDIATOR_CHAT_ID", "").strip() or None
    mediator_chat_id = None
    if mediator_chat:
        if mediator_chat.lstrip("-").isdigit() and mediator_chat.startswith("-100"):
            mediator_chat_id = int(mediator_chat)
        else:
            problems.append(
                f"MEDIATOR_CHAT_ID must be the id of a Telegram supergroup, like -1001234567890 (got {mediator_chat!r})"
            )
        if not token:
            problems.append("MEDIATOR_CHAT_ID needs TELEGRAM_BOT_TOKEN: the mediator desk is a Telegram group")
    web_desk_value = merged.get("WEB_DESK", "").strip().lower()
    if web_desk_value not in ("", "0", "1", "true", "false", "yes", "no"):
        problems.append(f"WEB_DESK must be true or false (got {web_desk_value!r})")
    web_desk = web_desk_value in ("1", "true", "yes")
    web_chat_value = merged.get("WEB_CHAT", "").strip().lower()
    if web_chat_value not in ("", "0", "1", "true", "false", "yes", "no"):
        problems.append(f"WEB_CHAT must be true or false (got {web_chat_value!r})")
    origins = tuple(o.rstrip("/") for o in merged.get("WEB_CHAT_ORIGINS", "").replace(",", " ").split())
    for origin in origins:
        if not re.match(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", origin):
            problems.append(f"WEB_CHAT_ORIGINS: {origin!r} is not a site's origin (like https://www.primariatm.ro)")
    mediator_language = merged.get("MEDIATOR_LANGUAGE", "ro").strip() or "ro"
    if not (locales_dir / "desk" / f"{mediator_language}.yaml").is_file():
        problems.append(
            f"MEDIATOR_LANGUAGE={mediator_language!r}: there is no locales/desk/{mediator_language}.yaml "
            "(the mediator desk's texts)"
        )
    settings = Settings(
        database_url=database_url,
        knowledge_dir=knowledge_dir,
        locales_dir=locales_dir,
        default_language=default_language,
        retention_days=int(number("RETENTION_DAYS", 90, minimum=1, integer=True)),
        max_message_chars=int(number("MAX_MESSAGE_CHARS", 4000, minimum=100, integer=True)),
        content_poll_seconds=number("CONTENT_POLL_SECONDS", 2.0, minimum=0.1),
        rasa_url=rasa_url,
        rasa_mode=rasa_mode,
        rasa_timeout=number("RASA_TIMEOUT", 2.0, minimum=0.1),
        log_level=log_level,
        public_url=public_url,
        telegram_bot_token=token,
        telegram_webhook_secret=secret,
        telegram_api_base_url=api_root,
        telegram_timeout=number("TELEGRAM_TIMEOUT", 10.0, minimum=0.1),
        twilio_account_sid=twilio["TWILIO_ACCOUNT_SID"],
        twilio_auth_token=twilio["TWILIO_AUTH_TOKEN"],
        twilio_whatsapp_from=(
            "whatsapp:" + twilio["TWILIO_WHATSAPP_FROM"].removeprefix("whatsapp:")
            if twilio["TWILIO_WHATSAPP_FROM"]
            else None
        ),
        twilio_api_base_url=(twilio["TWILIO_API_BASE_URL"] or "").rstrip("/") or None,
        twilio_template_sid=twilio["TWILIO_TEMPLATE_SID"],
        host=merged.get("HOST", "127.0.0.1").strip() or "127.0.0.1",
        port=int(number("PORT", 8000, minimum=1, integer=True)),
        mediator_chat_id=mediator_chat_id,
        mediator_language=mediator_language,
        web_desk=web_desk,
        web_chat=web_chat_value not in ("0", "false", "no"),
        web_chat_origins=origins,
        trusted_proxies=merged.get("TRUSTED_PROXIES", "127.0.0.1").strip() or "127.0.0.1",
        web_chat_messages_per_minute=int(number("WEB_CHAT_MESSAGES_PER_MINUTE", 20, minimum=1, integer=True)),
        web_chat_address_messages_per_minute=int(
            number("WEB_CHAT_ADDRESS_MESSAGES_PER_MINUTE", 120, minimum=1, integer=True)
        ),
        metrics_token=merged.get("METRICS_TOKEN", "").strip() or None,
        referral_follow_up_days=number("REFERRAL_FOLLOW_UP_DAYS", 7.0, minimum=0.0),
        mediator_messages_per_minute=number("MEDIATOR_MESSAGES_PER_MINUTE", 20.0, minimum=1.0),
        handoff_remind_minutes=number("HANDOFF_REMIND_MINUTES", 15.0, minimum=1.0),
        handoff_no_reply_minutes=number("HANDOFF_NO_REPLY_MINUTES", 10.0, minimum=1.0),
        handoff_idle_hours=number("HANDOFF_IDLE_HOURS", 24.0, minimum=0.5),
        handoff_check_seconds=number("HANDOFF_CHECK_SECONDS", 30.0, minimum=0.1),
        webhook_max_bytes=int(number("WEBHOOK_MAX_BYTES", 1_000_000, minimum=10_000, integer=True)),
        webhook_max_json_depth=int(number("WEBHOOK_MAX_JSON_DEPTH", 64, minimum=16, integer=True)),
        telegram_messages_per_second=number("TELEGRAM_MESSAGES_PER_SECOND", 30.0, minimum=0.0) or None,
        whatsapp_messages_per_second=number("WHATSAPP_MESSAGES_PER_SECOND", 20.0, minimum=0.0) or None,
        claim_lease_seconds=number("CLAIM_LEASE_SECONDS", 30.0, minimum=1.0),
    )
    if settings.claim_lease_seconds <= settings.telegram_timeout + 1:
        problems.append(
            f"CLAIM_LEASE_SECONDS ({settings.claim_lease_seconds:g}) must be longer than TELEGRAM_TIMEOUT "
            f"({settings.telegram_timeout:g}) plus a second: a message being sent must not be taken over"
        )
    if problems:
        raise SettingsError(problems)
    return settings
