from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import SettingsError, load_settings, read_dotenv


def test_defaults_are_valid(tmp_path: Path) -> None:
    settings = load_settings(env={}, dotenv=tmp_path / "missing.env")
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.retention_days == 90
    assert settings.knowledge_dir.is_dir()


def test_dotenv_is_read_and_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text('# comment\nRETENTION_DAYS=30\nexport DEFAULT_LANGUAGE="uk"\nLOG_LEVEL=debug\n')
    settings = load_settings(env={"RETENTION_DAYS": "45"}, dotenv=dotenv)
    assert settings.retention_days == 45
    assert settings.default_language == "uk"
    assert settings.log_level == "DEBUG"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(
            env={
                "DATABASE_URL": "mysql://x",
                "RETENTION_DAYS": "ninety",
                "DEFAULT_LANGUAGE": "de",
                "RASA_URL": "localhost:5005",
                "ACASA_KB_DIR": str(tmp_path / "nope"),
            },
            dotenv=tmp_path / "missing.env",
        )
    message = str(info.value)
    for words in (
        "DATABASE_URL must start with",
        "RETENTION_DAYS='ninety' is not a whole number",
        "DEFAULT_LANGUAGE must be one of",
        "RASA_URL must start with http",
        "ACASA_KB_DIR: the folder",
    ):
        assert words in message
    assert len(info.value.problems) == 5


def test_malformed_dotenv_line(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("RETENTION_DAYS 30\n")
    with pytest.raises(SettingsError, match=r"line 1: expected KEY=value"):
        load_settings(env={}, dotenv=dotenv)


def test_mediator_desk_settings(tmp_path: Path) -> None:
    none = tmp_path / "missing.env"
    assert not load_settings(env={}, dotenv=none).handoff_enabled
    settings = load_settings(
        env={"TELEGRAM_BOT_TOKEN": "1:abc", "MEDIATOR_CHAT_ID": "-1001234567890", "HANDOFF_IDLE_HOURS": "12"},
        dotenv=none,
    )
    assert settings.handoff_enabled and settings.mediator_chat_id == -1001234567890
    assert (settings.handoff_idle_hours, settings.handoff_remind_minutes) == (12.0, 15.0)
    with pytest.raises(SettingsError) as info:
        load_settings(env={"MEDIATOR_CHAT_ID": "12345", "HANDOFF_REMIND_MINUTES": "0"}, dotenv=none)
    message = str(info.value)
    assert "MEDIATOR_CHAT_ID must be the id of a Telegram supergroup" in message
    assert "MEDIATOR_CHAT_ID needs TELEGRAM_BOT_TOKEN" in message
    assert "HANDOFF_REMIND_MINUTES must be at least 1.0" in message


def test_comments_after_values_are_ignored_and_quoted_hashes_kept(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "RETENTION_DAYS=30   # a month\n"
        "DEFAULT_LANGUAGE=uk # people from Ukraine first\n"
        'SOME_PASSWORD="abc #def"  # quoted: the hash is part of it\n'
        "SOME_URL=https://acasa.example.org/#top\n"
    )
    settings = load_settings(env={}, dotenv=dotenv)
    assert settings.retention_days == 30 and settings.default_language == "uk"
    values = read_dotenv(dotenv)
    assert values["SOME_PASSWORD"] == "abc #def"
    assert values["SOME_URL"] == "https://acasa.example.org/#top"  # a '#' inside a word is no comment


def test_every_setting_of_the_example_file_reads_as_written_when_uncommented(tmp_path: Path) -> None:
    """Explanations sit on comment lines, so removing '# ' in front of a setting gives a valid line."""
    example = (Path(__file__).parents[1] / ".env.example").read_text(encoding="utf-8")
    lines = []
    for line in example.splitlines():
        name = line.removeprefix("# ").split("=", 1)[0]
        lines.append(line.removeprefix("# ") if name.isupper() and name.isidentifier() else line)
    dotenv = tmp_path / ".env"
    dotenv.write_text("\n".join(lines))
    values = read_dotenv(dotenv)
    assert len(values) >= 30
    assert all(" " not in value.strip('"') or key in ("DATABASE_URL",) for key, value in values.items()), values
    assert values["TELEGRAM_TIMEOUT"] == "10" and values["WEB_DESK"] == "true"


def test_web_chat_origins_are_origins_and_nothing_else(tmp_path: Path) -> None:
    dotenv = tmp_path / "none.env"
    settings = load_settings(
        env={"WEB_CHAT_ORIGINS": "https://www.primariatm.ro, http://localhost:8080/"}, dotenv=dotenv
    )
    assert settings.web_chat and settings.web_chat_origins == ("https://www.primariatm.ro", "http://localhost:8080")
    with pytest.raises(SettingsError) as refused:  # it goes into a security header: nothing else may
        load_settings(env={"WEB_CHAT_ORIGINS": "https://a.ro/page; script-src *", "WEB_CHAT": "maybe"}, dotenv=dotenv)
    said = str(refused.value)
    assert "'https://a.ro/page;' is not a site's origin" in said and "'*' is not a site's origin" in said
    assert "WEB_CHAT must be true or false" in said
    assert not load_settings(env={"WEB_CHAT": "false"}, dotenv=dotenv).web_chat
