"""Typed settings: config/defaults.toml, overridden by the environment. Loaded once at start-up."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "defaults.toml"

_CATEGORY_RE = re.compile(r"^[a-z][a-z\-]*(\.[A-Za-z\-]{2,})?$")


class SettingsError(Exception):
    """A setting has a bad value; the message names the setting and what is wrong."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PAPERBOT_",
        extra="ignore",
        toml_file=DEFAULT_CONFIG,
    )

    database_url: str = Field(
        default="sqlite:///data/paperbot.db",
        validation_alias=AliasChoices("DATABASE_URL", "PAPERBOT_DATABASE_URL", "database_url"),
    )
    discord_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("DISCORD_TOKEN", "PAPERBOT_DISCORD_TOKEN", "discord_token"),
    )
    arxiv_categories: list[str] = ["cs.CL", "cs.LG"]
    feeds: list[str] = []
    ingest_schedule: str = "30 0 * * mon-fri"
    ingest_timezone: str = "America/New_York"
    arxiv_min_interval_s: float = Field(default=3.0, ge=3.0)
    http_timeout_s: float = Field(default=30.0, gt=0)
    http_max_attempts: int = Field(default=4, ge=1, le=10)
    arxiv_rss_base: str = "https://rss.arxiv.org"
    arxiv_api_base: str = "https://export.arxiv.org"
    discord_api_base: str = "https://discord.com/api/v10"
    discord_gateway_url: str = "wss://gateway.discord.gg/"
    discord_guild_ids: list[int] = []
    sample_catalog: str = "config/sample/arxiv-rss-2024-11-28.xml"
    digest_lookback_days: int = Field(default=7, ge=0, le=365)
    # Crash recovery: how long the scheduler lease lasts unrenewed (another process takes over
    # once it has run out), and how long a digest another process claimed is left to it before
    # this one finishes it. The second must stay inside Discord's nonce window (a few minutes).
    scheduler_lease_seconds: int = Field(default=60, ge=2, le=3600)
    digest_resume_after_seconds: int = Field(default=120, ge=1, le=240)
    # Full-text search: a tantivy index kept in step with the database, or the database's own
    # (FTS5 / tsvector). The database answers whenever the index is missing or behind.
    search_engine: Literal["tantivy", "database"] = "tantivy"
    search_index_dir: str = ""  # default: beside a SQLite file (data/paperbot.search)
    log_level: str = "INFO"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        value = value.strip()
        if not re.match(r"^(sqlite|postgres|postgresql)(\+\w+)?://", value):
            raise ValueError(
                "must start with sqlite:/// or postgresql+psycopg:// "
                f"(got {value.split('://')[0] or 'nothing'!r})"
            )
        if value.startswith("sqlite:///") and not value.startswith("sqlite:////"):
            relative = value[len("sqlite:///") :]
            if relative and relative != ":memory:":
                value = f"sqlite:///{PROJECT_ROOT / relative}"
        return value

    @field_validator("arxiv_categories")
    @classmethod
    def _categories(cls, value: list[str]) -> list[str]:
        bad = [c for c in value if not _CATEGORY_RE.match(c)]
        if bad:
            raise ValueError(f"not arXiv category codes: {', '.join(bad)} (expected e.g. cs.CL)")
        return value

    @field_validator("ingest_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (expected e.g. America/New_York)"
            ) from None
        return value

    @field_validator("ingest_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"not a crontab expression ({exc})") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value

    def resolve_path(self, path: str) -> Path:
        p = Path(path)
        return p if p.is_absolute() else PROJECT_ROOT / p

    def __repr_args__(self) -> Any:
        # The token is a SecretStr already; keep it out of reprs entirely all the same.
        return [(k, v) for k, v in super().__repr_args__() if k != "discord_token"]


_ENV_NAMES = {"database_url": "DATABASE_URL", "discord_token": "DISCORD_TOKEN"}


def load_settings(**overrides: Any) -> Settings:
    """Settings from defaults and environment; a bad value raises SettingsError naming it."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            env = _ENV_NAMES.get(field, f"PAPERBOT_{field.upper()}")
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{env}: {msg}")
        raise SettingsError("bad setting: " + "; ".join(problems)) from None
