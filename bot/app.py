"""The application's dependencies, built once at the entry point and passed in."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from bot.digests.console import ConsolePoster
from bot.digests.scheduler import DigestScheduler
from bot.digests.service import DigestService
from bot.settings import Settings
from storage.catalog import SqlCatalog
from storage.db import create_db_engine
from storage.migrate import is_up_to_date, upgrade
from storage.search import SqlSearch
from storage.subscriptions import SqlSubscriptions

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    catalog: SqlCatalog
    search: SqlSearch
    # Topics and subscriptions, and the digest service. The service posts through the console
    # until a front end swaps in its own poster (PaperBot.setup_hook gives it a DiscordPoster).
    subscriptions: SqlSubscriptions
    digests: DigestService
    # The scheduler running in this process, if any (commands tell it about changes at once).
    scheduler: DigestScheduler | None = None

    def close(self) -> None:
        self.engine.dispose()


def build_services(settings: Settings, *, migrate: bool = True) -> Services:
    """Engine, catalog and search for ``settings``; brings the schema up to date unless told not
    to."""
    engine = create_db_engine(settings.database_url)
    if migrate and not is_up_to_date(engine):
        log.info("migrating the database to the newest schema")
        upgrade(engine)
    catalog = SqlCatalog(engine)
    lookback = timedelta(days=settings.digest_lookback_days)
    subscriptions = SqlSubscriptions(engine, catalog, lookback=lookback)
    return Services(
        settings=settings,
        engine=engine,
        catalog=catalog,
        search=SqlSearch(engine),
        subscriptions=subscriptions,
        digests=DigestService(subscriptions, ConsolePoster()),
    )


def load_sample_if_empty(services: Services) -> int:
    """Load the bundled sample catalog into an empty database; returns how many papers it added."""
    from bot.ingest.importer import import_file

    if services.catalog.count():
        return 0
    path = services.settings.resolve_path(services.settings.sample_catalog)
    if not path.is_file():
        log.warning("sample catalog %s not found; starting with an empty catalog", path)
        return 0
    run = import_file(services.catalog, path, source="arxiv-rss")
    log.info("loaded the sample catalog: %d papers from %s", run.new, path.name)
    return run.new
