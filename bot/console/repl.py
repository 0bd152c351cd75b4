"""The console: the bot's slash commands typed in a terminal, or piped in.

``/search long context`` or ``/paper 2411.17700`` runs the same handler Discord runs and shows
the same reply, drawn with rich; under a paged list, ``n`` and ``p`` turn its pages (the
buttons on Discord). Input ends with ``quit`` or at end of input, with status 0. As on
Discord, the reply to a command first names the console server's subscriptions that were paused
since (once each).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from datetime import timedelta
from typing import Any, TextIO

from rich.console import Console

from bot.commands import Deps, Registry, default_registry
from bot.commands.help import help_
from bot.commands.topics import CONSOLE_GUILD, Actor, with_pause_notice
from bot.console.render import render_reply
from bot.messages import PagerState, Reply, build_error

log = logging.getLogger(__name__)

CONSOLE_FOOTER = "Under a list: n next page, p previous page. quit (or end of input) leaves."
_NEXT = ("n", "next")
_PREVIOUS = ("p", "prev", "previous")
_QUIT = ("quit", "exit", "/quit", "/exit", "q")


class ConsoleSession:
    """The state between lines: the last paged list, so ``n``/``p`` know what to turn."""

    def __init__(self, deps: Deps, registry: Registry) -> None:
        self.deps = deps
        self.registry = registry
        self.pager: PagerState | None = None

    async def handle(self, line: str) -> Reply | None:
        """The reply to one typed line (None for a blank line)."""
        line = line.strip()
        if not line:
            return None
        word = line.casefold()
        if word in _NEXT or word in _PREVIOUS:
            return await self._turn(+1 if word in _NEXT else -1)
        if word in ("help", "/help"):
            return await help_(self.registry.commands, footer=CONSOLE_FOOTER)
        if not line.startswith("/"):
            return build_error(
                f"commands start with a slash, e.g. /search {line}; /help lists them"
            )
        name, args = self.registry.parse(line)
        reply = await self.registry.run(self.deps, name, args)
        reply = await with_pause_notice(self.deps, Actor.console(), reply)
        if not reply.error:
            self.pager = reply.pager
        return reply

    async def _turn(self, step: int) -> Reply:
        pager = self.pager
        if pager is None:
            return build_error("there is no list to page through; run /search or /recent first")
        target = pager.page + step
        if not 1 <= target <= pager.pages:
            edge = "last" if step > 0 else "first"
            return build_error(f"this is the {edge} page ({pager.page} of {pager.pages})")
        reply = await self.registry.turn_page(self.deps, pager.command, pager.argument, target)
        if not reply.error and reply.pager is not None:
            self.pager = reply.pager
        return reply


def run_console(
    services: Deps,
    *,
    registry: Registry | None = None,
    stdin: TextIO = sys.stdin,
    console: Console | None = None,
    schedule: bool | None = None,
) -> int:
    """Read commands until ``quit`` or end of input; returns the exit status.

    With ``schedule`` (by default when interactive) the digest scheduler runs in the console's
    event loop while it waits for input, and digests print as they fall due.
    """
    console = console or Console(highlight=False)
    session = ConsoleSession(services, registry or default_registry())
    interactive = stdin.isatty() and stdin is sys.stdin
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (line editing and history for input())
        console.print("paperbot console (no DISCORD_TOKEN set). Type /help.", markup=False)
    if schedule if schedule is not None else interactive:
        digests = getattr(services, "digests", None)
        if digests is not None:
            with asyncio.Runner() as runner:
                return runner.run(
                    _scheduled_console(services, session, stdin, interactive, console)
                )
    with asyncio.Runner() as runner:
        while True:
            line = _read(stdin, interactive)
            if not line or line.strip().casefold() in _QUIT:
                return 0
            try:
                reply = runner.run(session.handle(line))
            except Exception as exc:  # the console outlives one failed command
                log.exception("command failed: %s", line.strip())
                reply = build_error(f"that command failed: {exc.__class__.__name__}")
            if reply is not None:
                console.print(render_reply(reply))


async def _scheduled_console(
    services: Any, session: ConsoleSession, stdin: TextIO, interactive: bool, console: Console
) -> int:
    """The console loop with the digest scheduler running beside it: input is read in a daemon
    thread (so Ctrl-C or end of input never waits on it), digests print through the digest
    service's console poster as their jobs run."""
    from bot.digests.scheduler import CONSOLE_JOBS_TABLE, CONSOLE_LEASE_NAME, DigestScheduler
    from bot.digests.service import Scope

    def report(result: Any) -> None:
        if result.outcome not in ("empty", "already_done"):
            console.print(f"digest of subscription {result.subscription_id}: {result.outcome}")

    # The console's own subscriptions only, with a lease and a job table of its own: a database
    # shared with the Discord bot keeps the bot's schedules, and its digests, to the bot.
    services.digests.scope = Scope(CONSOLE_GUILD, only=True)
    scheduler = DigestScheduler(
        services.engine,
        services.subscriptions,
        services.digests,
        lease_name=CONSOLE_LEASE_NAME,
        jobstore_table=CONSOLE_JOBS_TABLE,
        ingest=services.ingest_configured,  # then the search index
        ingest_schedule=services.settings.ingest_schedule,
        ingest_timezone=services.settings.ingest_timezone,
        lease_ttl=timedelta(seconds=services.settings.scheduler_lease_seconds),
        on_result=report,
    )
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()

    def reader() -> None:
        while True:
            line = _read(stdin, interactive)
            loop.call_soon_threadsafe(lines.put_nowait, line)
            if not line or line.strip().casefold() in _QUIT:
                return

    await scheduler.start()
    services.scheduler = scheduler
    threading.Thread(target=reader, name="console-input", daemon=True).start()
    try:
        while True:
            line = await lines.get()
            if not line or line.strip().casefold() in _QUIT:
                return 0
            try:
                reply = await session.handle(line)
            except Exception as exc:  # the console outlives one failed command
                log.exception("command failed: %s", line.strip())
                reply = build_error(f"that command failed: {exc.__class__.__name__}")
            if reply is not None:
                console.print(render_reply(reply))
    finally:
        services.scheduler = None
        await scheduler.stop()


def _read(stdin: TextIO, interactive: bool) -> str:
    """The next line, or "" at end of input (Ctrl-D; Ctrl-C too when interactive)."""
    if not interactive:
        return stdin.readline()
    try:
        return input("> ") + "\n"
    except (EOFError, KeyboardInterrupt):
        print()
        return ""


async def ask(deps: Deps, line: str, *, page: int = 1, registry: Registry | None = None) -> Reply:
    """The reply to one command line, at ``page`` of its list when it has pages."""
    session = ConsoleSession(deps, registry or default_registry())
    reply = await session.handle(line)
    if reply is None:
        return build_error("give a command, e.g. /search long context")
    if page > 1 and not reply.error:
        pager = reply.pager
        if pager is None:
            return build_error("that reply has only one page")
        return await session.registry.turn_page(deps, pager.command, pager.argument, page)
    return reply
