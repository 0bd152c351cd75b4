from __future__ import annotations

import pytest

from bot.settings import SettingsError, load_settings


def test_defaults_come_from_config_defaults_toml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = load_settings()
    assert settings.arxiv_categories == ["cs.CL", "cs.LG", "cs.AI", "cs.IR"]
    assert settings.database_url.startswith("sqlite:////") and settings.database_url.endswith(
        "data/paperbot.db"
    )


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERBOT_ARXIV_CATEGORIES", '["hep-th"]')
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@h/db")
    settings = load_settings()
    assert settings.arxiv_categories == ["hep-th"]
    assert settings.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        ("PAPERBOT_INGEST_TIMEZONE", "Mars/Base", "PAPERBOT_INGEST_TIMEZONE: unknown time zone"),
        ("PAPERBOT_ARXIV_CATEGORIES", '["not a category"]', "PAPERBOT_ARXIV_CATEGORIES"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL: must start with"),
        ("PAPERBOT_INGEST_SCHEDULE", "every day", "PAPERBOT_INGEST_SCHEDULE"),
        ("PAPERBOT_ARXIV_MIN_INTERVAL_S", "0.5", "PAPERBOT_ARXIV_MIN_INTERVAL_S"),
        # Past Discord's nonce window a part posted just before a crash would go out twice.
        ("PAPERBOT_DIGEST_RESUME_AFTER_SECONDS", "600", "PAPERBOT_DIGEST_RESUME_AFTER_SECONDS"),
        ("PAPERBOT_SCHEDULER_LEASE_SECONDS", "1", "PAPERBOT_SCHEDULER_LEASE_SECONDS"),
    ],
)
def test_a_bad_value_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, message: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_the_token_never_shows_in_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "super-secret-token")
    settings = load_settings()
    assert settings.discord_token is not None
    assert settings.discord_token.get_secret_value() == "super-secret-token"
    assert "super-secret-token" not in repr(settings) and "super-secret-token" not in str(settings)
