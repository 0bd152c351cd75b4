"""The application's dependencies, built once at the entry point and passed in."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from bot.digests.console import ConsolePoster
from bot.digests.scheduler import DigestScheduler
from bot.digests.service import DigestService
from bot.domain.catalog import IngestRun
from bot.settings import Settings
from storage.catalog import SqlCatalog
from storage.db import create_db_engine
from storage.fulltext import TantivySearch, default_index_dir
from storage.fulltext.index import ProgressFn
from storage.migrate import is_up_to_date, upgrade
from storage.paged_queries import SqlPagedQueries
from storage.search import SqlSearch
from storage.subscriptions import SqlSubscriptions

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    catalog: SqlCatalog
    # The database's search, or tantivy's with the database's as its fallback (settings).
    search: SqlSearch | TantivySearch
    # Topics and subscriptions, and the digest service. The service posts through the console
    # until a front end swaps in its own poster (PaperBot.setup_hook gives it a DiscordPoster).
    subscriptions: SqlSubscriptions
    digests: DigestService
    # The state of paged lists too long for their buttons' ids (Discord's page buttons).
    paged_queries: SqlPagedQueries
    # The scheduler running in this process, if any (commands tell it about changes at once).
    scheduler: DigestScheduler | None = None

    def refresh_search(self, progress: ProgressFn | None = None) -> None:
        """Bring the full-text index up to date after papers were stored (an ingest, an import;
        building it if missing). Never raises: searches use the database until it works."""
        if isinstance(self.search, TantivySearch):
            self.search.update_quietly(progress=progress)

    async def ingest_configured(self) -> list[IngestRun]:
        """The scheduled ingest: every configured source, then the full-text index."""
        import asyncio

        from bot.ingest.service import ingest_configured

        started = datetime.now(UTC)
        runs = await ingest_configured(self.settings, self.catalog)
        await asyncio.to_thread(self.refresh_search)
        await asyncio.to_thread(self.note_added, started)
        return runs

    def note_added(self, since: datetime) -> int:
        """Take the notes (TL;DR, phrases) of the papers added since ``since``, so digests find
        them ready. Never raises: digests take what is missing."""
        try:
            return self.digests.note_added(since, datetime.now(UTC))
        except Exception:
            log.exception("taking the new papers' notes failed; digests will take them")
            return 0

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
        search=build_search(settings, engine),
        subscriptions=subscriptions,
        digests=DigestService(
            subscriptions,
            ConsolePoster(),
            stale_after=timedelta(seconds=settings.digest_resume_after_seconds),
        ),
        paged_queries=SqlPagedQueries(engine),
    )


def build_search(settings: Settings, engine: Engine) -> SqlSearch | TantivySearch:
    """The search backend ``settings.search_engine`` names: tantivy's index (falling back to the
    database's search while it is missing or behind) or the database's."""
    database = SqlSearch(engine)
    if settings.search_engine != "tantivy":
        return database
    path = default_index_dir(settings.database_url, settings.search_index_dir or None)
    return TantivySearch(engine, path, database=database)


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
    services.refresh_search()
    log.info("loaded the sample catalog: %d papers from %s", run.new, path.name)
    return run.new
