"""The digest and ingest schedules: APScheduler 3 inside the bot's event loop, one leader.

:class:`DigestScheduler` runs a small lease loop in the event loop. The process holding the lease
row (``scheduler_lease``, renewed every ``renew_every`` seconds for ``lease_ttl``) runs an
``AsyncIOScheduler`` whose jobs live in the same database (``SQLAlchemyJobStore``, table
``apscheduler_jobs``); any other process sharing the database only retries the lease, and takes
over when the holder stops renewing it (it died): it then finishes interrupted deliveries, starts
its own scheduler on the same job table, and missed runs fire once (``coalesce``) if they are
within ``misfire_grace_time``. Two leaders at once cannot double-post either: every digest is
claimed once per period in the database (bot/digests/service.py).

Jobs: one per active subscription (``digest:<id>``; a CronTrigger in the subscription's time zone
for daily and weekly, an IntervalTrigger for "as papers arrive"), one ``ingest`` on
``settings.ingest_schedule`` in ``settings.ingest_timezone``, and one-off ``retry:<id>`` jobs (for
one period) when Discord kept failing or another holder's fresh claim was found at start-up
(finished once it is ``stale_after`` old). Jobs hold only ids and period keys: the function
looks up the scheduler of this process by lease name (APScheduler pickles a job's function by
reference and its arguments by value).

The clock is injected (``clock``) for lease expiry, period keys and next-run times;
:meth:`DigestScheduler.run_due` processes due jobs at once and waits for them, so tests (and the
console) can drive the scheduler with a controllable clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
)
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from bot.digests.service import DigestService, RunResult, default_holder
from bot.domain.schedules import WEEKDAYS, Schedule, ScheduleKind
from bot.domain.subscriptions import Subscription
from storage.subscriptions import SqlSubscriptions

log = logging.getLogger(__name__)

__all__ = [
    "CONSOLE_JOBS_TABLE",
    "CONSOLE_LEASE_NAME",
    "DEFAULT_MISFIRE_GRACE",
    "LEASE_NAME",
    "DigestScheduler",
    "ManualClock",
    "run_digest_job",
    "run_ingest_job",
    "trigger_for",
]

LEASE_NAME = "digests"
# The console's scheduler (bot/console/repl.py): its own lease and job table (migration 0007),
# so that it runs beside a Discord bot on one database without taking the bot's schedules.
CONSOLE_LEASE_NAME = "console-digests"
CONSOLE_JOBS_TABLE = "apscheduler_console_jobs"
INGEST_JOB = "ingest"
DEFAULT_MISFIRE_GRACE: Mapping[ScheduleKind, timedelta] = {
    "daily": timedelta(hours=20),
    "weekly": timedelta(days=6),
    "asap": timedelta(hours=1),
}
# Interval windows are aligned to multiples of the interval since this instant (a midnight UTC,
# so the windows match Schedule.period_key's, which count from the Unix epoch).
_INTERVAL_ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)

# Lease name -> the scheduler of this process that holds that lease (and so runs the jobs).
_ACTIVE: dict[str, DigestScheduler] = {}


class ManualClock:
    """A clock tests (and simulations) move by hand. Callable like ``datetime.now(UTC)``."""

    def __init__(self, start: datetime) -> None:
        self.now = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


def trigger_for(schedule: Schedule) -> BaseTrigger:
    """The APScheduler trigger that fires at the schedule's slots."""
    if schedule.kind == "asap":
        assert schedule.interval is not None
        return IntervalTrigger(
            seconds=int(schedule.interval.total_seconds()),
            start_date=_INTERVAL_ORIGIN,
            timezone=UTC,
        )
    assert schedule.at is not None
    zone = ZoneInfo(schedule.timezone)
    if schedule.kind == "daily":
        return CronTrigger(hour=schedule.at.hour, minute=schedule.at.minute, timezone=zone)
    assert schedule.weekday is not None
    return CronTrigger(
        day_of_week=WEEKDAYS[schedule.weekday],
        hour=schedule.at.hour,
        minute=schedule.at.minute,
        timezone=zone,
    )


def _fingerprint(schedule: Schedule) -> str:
    return f"{schedule.text} {schedule.timezone}"


async def run_digest_job(
    lease_name: str, subscription_id: int, period_key: str | None = None
) -> None:
    """The job of a subscription (module level: APScheduler stores it by reference). A retry
    job names the period whose delivery it finishes."""
    scheduler = _ACTIVE.get(lease_name)
    if scheduler is None:
        log.warning("digest job for subscription %d fired with no scheduler", subscription_id)
        return
    await scheduler.run_subscription(subscription_id, period_key=period_key)


async def run_ingest_job(lease_name: str) -> None:
    scheduler = _ACTIVE.get(lease_name)
    if scheduler is None:
        log.warning("ingest job fired with no scheduler")
        return
    await scheduler.run_ingest()


class _SharedEngineJobStore(SQLAlchemyJobStore):
    """The SQLAlchemy job store on the application's engine, which it must not dispose of."""

    def shutdown(self) -> None:
        pass


@dataclass(frozen=True, slots=True)
class SyncStats:
    added: int = 0
    changed: int = 0
    removed: int = 0
    kept: int = 0


class DigestScheduler:
    """Runs digests and ingest on schedule, in the process that holds the lease.

    ``ingest`` is an async callable fetching the configured sources (None: no ingest job).
    ``on_result`` is told of every digest run (the console prints them).
    """

    def __init__(
        self,
        engine: Engine,
        store: SqlSubscriptions,
        service: DigestService,
        *,
        clock: Callable[[], datetime] | None = None,
        holder: str | None = None,
        lease_name: str = LEASE_NAME,
        lease_ttl: timedelta = timedelta(seconds=60),
        renew_every: float | None = None,
        resync_every: float = 60.0,
        ingest: Callable[[], Awaitable[object]] | None = None,
        ingest_schedule: str = "30 0 * * mon-fri",
        ingest_timezone: str = "America/New_York",
        misfire_grace: Mapping[ScheduleKind, timedelta] | None = None,
        retry_after: timedelta = timedelta(minutes=5),
        jobstore_table: str = "apscheduler_jobs",
        on_result: Callable[[RunResult], None] | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.service = service
        self.clock = clock or service.clock
        self.holder = holder or service.holder or default_holder()
        self.lease_name = lease_name
        self.lease_ttl = lease_ttl
        # Renewed four times a lease, so a slow round or two never loses it.
        self.renew_every = lease_ttl.total_seconds() / 4 if renew_every is None else renew_every
        self.resync_every = resync_every
        self.ingest = ingest
        self.ingest_trigger = CronTrigger.from_crontab(
            ingest_schedule, timezone=ZoneInfo(ingest_timezone)
        )
        self.ingest_fingerprint = f"{ingest_schedule} {ingest_timezone}"
        self.misfire_grace = dict(misfire_grace or DEFAULT_MISFIRE_GRACE)
        self.retry_after = retry_after
        self.jobstore_table = jobstore_table
        self.on_result = on_result
        self._aps: AsyncIOScheduler | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_sync: float | None = None
        self._version: tuple[int, datetime | None] | None = None
        self._submitted = 0
        self._finished = 0
        self._idle: asyncio.Event | None = None

    # -- leadership ------------------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        return self._aps is not None

    async def start(self) -> None:
        """Begin taking part: the first lease round now, then one every ``renew_every``
        seconds. Call from inside the running event loop."""
        self._stopping = False
        await self.step()
        self._loop_task = asyncio.get_running_loop().create_task(self._lease_loop())

    async def stop(self, *, release: bool = True) -> None:
        """Stop scheduling. ``release`` gives the lease up at once (a clean shutdown); without
        it the lease simply expires, as when the process dies."""
        self._stopping = True
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        await self._demote()
        if release:
            self.store.release_lease(self.lease_name, self.holder)

    async def _lease_loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.renew_every)
            try:
                await self.step()
            except Exception:  # a database hiccup must not end the loop
                log.exception("scheduler lease round failed")

    async def step(self) -> bool:
        """One lease round: take or renew the lease, start or stop scheduling accordingly,
        resync jobs when subscriptions changed, and give unfinished deliveries retry jobs.
        Returns whether this process leads."""
        leads = self.store.acquire_lease(self.lease_name, self.holder, self.lease_ttl)
        if leads and not self.is_leader:
            await self._promote()
        elif not leads and self.is_leader:
            log.warning("scheduler lease %r lost to another process", self.lease_name)
            await self._demote()
        elif leads:
            self._maybe_resync()
            self.sweep_unfinished()
        return self.is_leader

    async def _promote(self) -> None:
        log.info("%s takes the scheduler lease %r", self.holder, self.lease_name)
        _ACTIVE[self.lease_name] = self
        await self.service.recover()
        aps = AsyncIOScheduler(
            timezone=UTC,
            jobstores={
                "default": _SharedEngineJobStore(engine=self.engine, tablename=self.jobstore_table)
            },
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        aps.add_listener(self._on_event, EVENT_JOB_SUBMITTED)
        aps.add_listener(self._on_done, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
        aps.start(paused=True)
        self._aps = aps
        self.sync_jobs()
        # What recover() left: a delivery claimed by another holder a moment ago (this host's
        # previous process, restarted quickly) waits for service.stale_after, then a retry job
        # finishes it, within Discord's nonce window.
        self.sweep_unfinished()
        aps.resume()

    async def _demote(self) -> None:
        aps, self._aps = self._aps, None
        if aps is not None and aps.running:
            aps.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the next loop iteration
        if _ACTIVE.get(self.lease_name) is self:
            del _ACTIVE[self.lease_name]

    # -- jobs ------------------------------------------------------------------------------------

    def _maybe_resync(self) -> None:
        loop_time = asyncio.get_running_loop().time()
        if self._last_sync is not None and loop_time - self._last_sync < self.resync_every:
            return
        version = self.store.subscriptions_version()
        if version != self._version:
            self.sync_jobs()
        self._last_sync = loop_time

    def sweep_unfinished(self) -> int:
        """Make sure a retry job will finish each unfinished delivery of the subscriptions this
        process runs, and soon enough; returns how many jobs were added or brought forward.
        They are the deliveries no job would finish before the subscription's next slot: a
        ``/digest now`` that Discord kept failing, one a process that was not the leader claimed
        and then died, or one the last leader left (its retry job, kept in the job store, may
        be set later than this process needs). Another holder's claim is left to it for the
        service's ``stale_after``; this process's own, when it is not running it right now, is
        retried after ``retry_after``."""
        if self._aps is None:
            return 0
        now = self.clock()
        changed = 0
        for delivery in self.store.unfinished_deliveries():
            sub_id = delivery.subscription_id
            if self.service.is_delivering(sub_id):
                continue  # it ends posted, or in a state the next round sees
            if delivery.holder == self.holder:
                when = now + self.retry_after
            else:
                when = max(now, delivery.claimed_at + self.service.stale_after)
            job = self._aps.get_job(f"retry:{sub_id}")
            if job is not None and job.next_run_time is not None and job.next_run_time <= when:
                continue
            sub = self.store.get_subscription(sub_id)
            if sub is None or sub.paused or not self.service.covers(sub):
                continue
            log.info(
                "digest %s of subscription %d is not finished (claimed by %s): a retry job "
                "checks it in %.0f s",
                delivery.period_key,
                sub_id,
                delivery.holder,
                (when - now).total_seconds(),
            )
            self._retry(sub_id, when - now, delivery.period_key)
            changed += 1
        return changed

    def sync_jobs(self) -> SyncStats:
        """Make the job store hold one job per active subscription, with its current schedule,
        plus the ingest job. A job whose schedule did not change is left alone: its next run
        time (possibly in the past, after downtime) is what makes a missed digest run once."""
        aps = self._aps
        if aps is None:
            return SyncStats()
        self._version = self.store.subscriptions_version()
        try:
            self._last_sync = asyncio.get_running_loop().time()
        except RuntimeError:  # pragma: no cover - only called from the loop
            self._last_sync = None
        now = self.clock()
        wanted = {s.job_id: s for s in self.store.active_subscriptions() if self.service.covers(s)}
        existing = {job.id: job for job in aps.get_jobs()}
        added = changed = removed = kept = 0
        for job_id in existing:
            if job_id.startswith("digest:") and job_id not in wanted:
                aps.remove_job(job_id)
                removed += 1
        for job_id, sub in wanted.items():
            fingerprint = _fingerprint(sub.schedule)
            job = existing.get(job_id)
            if job is not None and job.name == fingerprint:
                kept += 1
                continue
            trigger = trigger_for(sub.schedule)
            aps.add_job(
                run_digest_job,
                trigger,
                args=[self.lease_name, sub.id],
                id=job_id,
                name=fingerprint,
                next_run_time=trigger.get_next_fire_time(None, now),
                misfire_grace_time=int(self.misfire_grace[sub.schedule.kind].total_seconds()),
                coalesce=True,
                replace_existing=True,
            )
            if job is None:
                added += 1
            else:
                changed += 1
        self._sync_ingest(aps, existing, now)
        stats = SyncStats(added, changed, removed, kept)
        if added or changed or removed:
            log.info(
                "scheduler jobs: %d added, %d changed, %d removed, %d kept",
                added,
                changed,
                removed,
                kept,
            )
        return stats

    def _sync_ingest(
        self, aps: AsyncIOScheduler, existing: Mapping[str, Any], now: datetime
    ) -> None:
        job = existing.get(INGEST_JOB)
        if self.ingest is None:
            if job is not None:
                aps.remove_job(INGEST_JOB)
            return
        if job is not None and job.name == self.ingest_fingerprint:
            return
        aps.add_job(
            run_ingest_job,
            self.ingest_trigger,
            args=[self.lease_name],
            id=INGEST_JOB,
            name=self.ingest_fingerprint,
            next_run_time=self.ingest_trigger.get_next_fire_time(None, now),
            misfire_grace_time=int(timedelta(hours=6).total_seconds()),
            coalesce=True,
            replace_existing=True,
        )

    def subscription_changed(self, subscription: Subscription | None = None) -> None:
        """Bring the jobs up to date now (a command changed a subscription in this process);
        other processes' changes are picked up within ``resync_every``."""
        if self._aps is not None:
            self.sync_jobs()

    # -- running ---------------------------------------------------------------------------------

    def _retry(self, subscription_id: int, after: timedelta, period_key: str | None) -> None:
        """A one-off job that resumes the subscription's delivery of ``period_key`` (and posts
        nothing of a later period early)."""
        if self._aps is None:
            return
        when = self.clock() + after
        self._aps.add_job(
            run_digest_job,
            DateTrigger(run_date=when, timezone=UTC),
            args=[self.lease_name, subscription_id, period_key],
            id=f"retry:{subscription_id}",
            name="retry",
            next_run_time=when,
            misfire_grace_time=int(timedelta(days=1).total_seconds()),
            replace_existing=True,
        )

    async def run_subscription(
        self, subscription_id: int, *, period_key: str | None = None
    ) -> RunResult:
        result = await self.service.run_subscription(
            subscription_id, now=self.clock(), period_key=period_key
        )
        if result.outcome in ("retry_later", "in_progress"):
            # Discord kept failing, or another holder's claim is not stale yet: resume later.
            after = (
                self.retry_after if result.outcome == "retry_later" else self.service.stale_after
            )
            self._retry(subscription_id, after, result.period_key)
        if result.outcome == "paused" and self._aps is not None:
            job_id = f"digest:{subscription_id}"
            if self._aps.get_job(job_id) is not None:
                self._aps.remove_job(job_id)
        if self.on_result is not None:
            self.on_result(result)
        return result

    async def run_ingest(self) -> None:
        if self.ingest is None:
            return
        try:
            await self.ingest()
        except Exception:
            log.exception("scheduled ingest failed")
        for result in await self.service.run_arrivals(now=self.clock()):
            if self.on_result is not None:
                self.on_result(result)

    def _on_event(self, event: JobEvent) -> None:
        self._submitted += 1

    def _on_done(self, event: JobEvent) -> None:
        self._finished += 1
        if self._finished >= self._submitted and self._idle is not None:
            self._idle.set()
        if event.code == EVENT_JOB_MISSED:
            log.warning("job %s missed its run time beyond the grace period", event.job_id)

    async def run_due(self) -> None:
        """Process the jobs due now and wait until they have run (tests, the console)."""
        if self._aps is None:
            return
        self._aps.wakeup()
        # The wakeup runs on the next loop iteration and submits the due jobs as tasks.
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        if self._finished < self._submitted:
            self._idle = asyncio.Event()
            await self._idle.wait()

    def next_runs(self) -> dict[str, datetime | None]:
        """Job id -> next run time (for status displays and tests)."""
        if self._aps is None:
            return {}
        return {job.id: job.next_run_time for job in self._aps.get_jobs()}
