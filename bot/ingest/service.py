"""Fetch a source, parse it, store the papers, record the run: the ingest pipeline."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp

from bot import __version__
from bot.domain.catalog import Catalog, ConditionalState, IngestRun
from bot.domain.ingest import FeedError
from bot.domain.ingest.arxiv_api import parse_arxiv_api
from bot.ingest.fetcher import Fetcher, FetchError
from bot.ingest.importer import parse_document
from bot.ingest.sources import SourceSpec, host_groups_for, resolve_source, with_base
from bot.settings import Settings

log = logging.getLogger(__name__)

USER_AGENT = f"paperbot/{__version__} (research-paper alerts for Discord)"
EMPTY_FEED_REASON = "the feed had no entries (arXiv announces none on weekends and holidays)"


def base_overrides(settings: Settings) -> dict[str, str]:
    """Where arXiv's hosts are reached instead, when settings point them elsewhere."""
    overrides = {}
    if settings.arxiv_rss_base.rstrip("/") != "https://rss.arxiv.org":
        overrides["https://rss.arxiv.org"] = settings.arxiv_rss_base
    if settings.arxiv_api_base.rstrip("/") != "https://export.arxiv.org":
        overrides["https://export.arxiv.org"] = settings.arxiv_api_base
    return overrides


def make_fetcher(settings: Settings, session: aiohttp.ClientSession) -> Fetcher:
    overrides = base_overrides(settings)
    return Fetcher(
        session,
        user_agent=USER_AGENT,
        min_interval={"arxiv.org": settings.arxiv_min_interval_s},
        host_groups=host_groups_for(overrides),
        timeout_s=settings.http_timeout_s,
        max_attempts=settings.http_max_attempts,
    )


def configured_sources(settings: Settings) -> list[str]:
    """The arXiv categories as one combined RSS feed, then each extra feed."""
    sources = ["+".join(settings.arxiv_categories)] if settings.arxiv_categories else []
    return sources + list(settings.feeds)


def source_label(spec: SourceSpec) -> str:
    """What a paper's ``sources`` list records for papers from this source."""
    if spec.format in ("arxiv-rss", "arxiv-api"):
        return spec.format
    return f"feed:{urlsplit(spec.url).hostname or spec.name}"


class IngestService:
    def __init__(
        self,
        catalog: Catalog,
        fetcher: Fetcher,
        *,
        overrides: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._catalog = catalog
        self._fetcher = fetcher
        self._overrides = dict(overrides or {})
        self._clock = clock

    async def ingest_many(self, specs: Iterable[str | SourceSpec]) -> list[IngestRun]:
        """Ingest each source in turn; one failing source does not stop the others."""
        return [await self.ingest(spec) for spec in specs]

    async def ingest(self, spec: str | SourceSpec) -> IngestRun:
        """Fetch, parse and store one source. Never raises for a bad feed: the run says why."""
        source = resolve_source(spec) if isinstance(spec, str) else spec
        run = IngestRun(source=source.name, started_at=self._clock())
        url = with_base(source.url, self._overrides)
        stored = await asyncio.to_thread(self._catalog.source_state, source.name)
        try:
            result = await self._fetcher.fetch(url, stored)
        except FetchError as exc:
            return await self._finish(run, "failed", _fetch_failure_reason(exc, source))
        new_state = result.state
        if result.not_modified or result.body is None:
            await self._save_state(source, new_state, "not_modified")
            return await self._finish(run, "not_modified", "not modified since the last fetch")
        try:
            parsed = await asyncio.to_thread(
                parse_document, result.body, source.format, source_label(source)
            )
        except FeedError as exc:
            # Keep the old validators: the next fetch must get the whole feed again.
            return await self._finish(run, "failed", f"feed rejected, nothing stored: {exc}")
        run.fetched = len(parsed.papers)
        run.skipped = len(parsed.skipped)
        run.skipped_entries = list(parsed.skipped)
        counts = await asyncio.to_thread(self._catalog.upsert, parsed.papers)
        run.new, run.updated, run.unchanged = counts.new, counts.updated, counts.unchanged
        await self._save_state(source, new_state, "ok")
        if parsed.empty:
            return await self._finish(run, "empty", EMPTY_FEED_REASON)
        reason = f"{run.skipped} malformed entries skipped" if run.skipped else None
        return await self._finish(run, "ok", reason)

    async def _save_state(self, source: SourceSpec, state: ConditionalState, status: str) -> None:
        await asyncio.to_thread(
            self._catalog.save_source_state, source.name, source.url, source.format, state, status
        )

    async def _finish(self, run: IngestRun, status: str, reason: str | None) -> IngestRun:
        run.status = status
        run.reason = reason
        run.finished_at = self._clock()
        await asyncio.to_thread(self._catalog.record_run, run)
        log_fn = log.warning if status == "failed" else log.info
        log_fn(
            "ingest %s: %s, %d fetched, %d new, %d updated, %d skipped%s",
            run.source,
            status,
            run.fetched,
            run.new,
            run.updated,
            run.skipped,
            f" ({reason})" if reason else "",
        )
        return run


def _fetch_failure_reason(exc: FetchError, source: SourceSpec) -> str:
    """The fetch error in words, with arXiv's own message when its API explains a 400."""
    if exc.body and source.format == "arxiv-api":
        try:
            parse_arxiv_api(exc.body)
        except FeedError as api_error:
            return f"arXiv refused the query: {api_error}"
    return exc.reason


async def ingest_sources(
    settings: Settings, catalog: Catalog, specs: Iterable[str | SourceSpec]
) -> list[IngestRun]:
    """Fetch the given sources once, in one HTTP session, politely."""
    async with aiohttp.ClientSession() as session:
        service = IngestService(
            catalog, make_fetcher(settings, session), overrides=base_overrides(settings)
        )
        return await service.ingest_many(specs)


async def ingest_configured(settings: Settings, catalog: Catalog) -> list[IngestRun]:
    """Fetch every configured source once (the scheduled ingest)."""
    return await ingest_sources(settings, catalog, configured_sources(settings))
