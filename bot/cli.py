"""The `paperbot` command line (also `python -m bot`)."""

from __future__ import annotations

import csv
import json
import logging
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bot.app import Services, build_services
from bot.console.render import render_ingest_run, render_reply, render_stats
from bot.domain.catalog import CatalogStats
from bot.domain.export import CSV_COLUMNS, bibtex_key, to_bibtex, to_csv_row
from bot.domain.ingest import FeedError
from bot.domain.ingest.detect import FORMATS
from bot.domain.ingest.jsonl import paper_to_json
from bot.domain.lookups import BadPaperRef, PaperNotFound, find_paper
from bot.ingest.importer import ImportStopped, import_file
from bot.messages import build_paper
from bot.settings import Settings, SettingsError, load_settings

app = typer.Typer(
    name="paperbot",
    help="A Discord bot for research-paper alerts: catalog, search and digests.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


class CliError(Exception):
    """Ends the command with a one-line message and exit status 1."""


def _settings() -> Settings:
    return load_settings()


@contextmanager
def _services(*, migrate: bool = True) -> Iterator[Services]:
    services = build_services(_settings(), migrate=migrate)
    try:
        yield services
    finally:
        services.close()


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _stats_json(stats: CatalogStats) -> dict[str, Any]:
    return {
        "papers": stats.papers,
        "authors": stats.authors,
        "sources": stats.sources,
        "categories": stats.categories,
        "versions": stats.versions,
        "newest_added": stats.newest_added.isoformat() if stats.newest_added else None,
        "newest_published": stats.newest_published.isoformat() if stats.newest_published else None,
        "per_source": stats.per_source,
        "top_categories": dict(stats.top_categories),
    }


@app.command()
def run() -> None:
    """Start the bot: on Discord with DISCORD_TOKEN set, else the interactive console."""
    from bot.app import load_sample_if_empty

    settings = _settings()
    _configure_logging(settings.log_level)
    with _services() as services:
        added = load_sample_if_empty(services)
        if added:
            err.print(f"loaded {added:,} sample papers into the empty catalog", markup=False)
        _update_search_index(services, keep_updated=True)
        if settings.discord_token is None:
            from bot.console.repl import run_console

            raise typer.Exit(run_console(services))
        from bot.discord.client import run_discord

        raise typer.Exit(run_discord(services))


@app.command()
def ask(
    line: Annotated[
        str,
        typer.Argument(metavar="COMMAND", help='A bot command, e.g. "/search long context".'),
    ],
    page: Annotated[int, typer.Option("--page", min=1, help="Which page of a list.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Run one bot command, as typed on Discord or in the console, and print the reply."""
    import asyncio

    from bot.console.repl import ask as ask_once
    from bot.messages.model import reply_to_dict

    with _services() as services:
        reply = asyncio.run(ask_once(services, line, page=page))
    if as_json:
        _print_json(reply_to_dict(reply))
    else:
        out.print(render_reply(reply, hints=False), soft_wrap=False)  # panels wrap their text
    if reply.error:
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the newest version."""
    from storage.migrate import current_revision, upgrade

    with _services(migrate=False) as services:
        before = current_revision(services.engine)
        upgrade(services.engine)
        after = current_revision(services.engine)
        index = _update_search_index(services)
    if before == after:
        out.print(f"database is up to date (revision {after})")
    else:
        out.print(f"database migrated from {before or 'empty'} to {after}")
    if index is not None:
        out.print(index, markup=False)


@db_app.command("search-index")
def db_search_index(
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Build it anew rather than update it.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Build the full-text search index, or bring it up to date with the catalog."""
    from storage.fulltext import IndexUnavailable, TantivySearch

    with _services() as services:
        search = services.search
        if not isinstance(search, TantivySearch):
            raise CliError("search_engine is 'database': there is no search index to build")
        try:
            with _count_progress(not as_json and err.is_terminal, "search index") as advance:
                result = search.update(progress=advance, rebuild=rebuild)
        except IndexUnavailable as exc:
            raise CliError(exc.reason) from exc
    if as_json:
        _print_json(
            {
                "path": str(search.path),
                "action": result.action,
                "papers": result.papers,
                "indexed": result.meta.papers,
                "seconds": round(result.seconds, 1),
                "reason": result.reason or None,
            }
        )
    else:
        out.print(_index_line(result, search.path), markup=False)


def _index_line(result: Any, path: Path) -> str:
    if result.action == "built":
        return (
            f"search index built at {path}: {result.meta.papers:,} papers in "
            f"{result.seconds:.1f}s ({result.reason})"
        )
    if result.action == "updated":
        return f"search index updated: {result.papers:,} papers re-indexed in {result.seconds:.1f}s"
    return f"search index is up to date ({result.meta.papers:,} papers)"


def _update_search_index(
    services: Services, *, show: bool | None = None, keep_updated: bool = False
) -> str | None:
    """Bring the full-text index up to date (built when missing), with a progress bar on a
    terminal; a line saying what was done, or None (no index in use, or it failed: logged, and
    searches use the database). ``keep_updated``: the bot keeps it level from then on."""
    from storage.fulltext import TantivySearch

    search = services.search
    if not isinstance(search, TantivySearch):
        return None
    show = err.is_terminal if show is None else show
    with _count_progress(show, "search index") as advance:
        result = search.update_quietly(progress=advance)
    if keep_updated:
        search.auto_update = True
    return None if result is None else _index_line(result, search.path)


@contextmanager
def _count_progress(enabled: bool, label: str) -> Iterator[Any]:
    """A progress bar counting papers, as a ``progress(done, total)`` callback (None if off)."""
    if not enabled:
        yield None
        return
    from rich.progress import MofNCompleteColumn

    with Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield advance


@app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="Files to import (.gz is read too).")],
    format: Annotated[
        str | None,
        typer.Option("--format", "-f", help=f"One of: {', '.join(FORMATS)}. Detected if omitted."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Import listing files, JSON Lines dumps or saved feeds into the catalog."""
    if format and format not in FORMATS:
        raise CliError(f"unknown format {format!r}; choose one of: {', '.join(FORMATS)}")
    for path in files:
        if path.is_dir():
            raise CliError(f"cannot read {path}: it is a directory; name the files in it")
        if not path.is_file():
            raise CliError(f"cannot read {path}: no such file")
    results = []
    with _services() as services:
        for path in files:
            size = path.stat().st_size
            show_bar = not as_json and err.is_terminal and size > 1 << 20
            with _progress(show_bar) as progress:
                task = progress.add_task(path.name, total=size) if progress else None

                def advance(done: int, task: Any = task, progress: Any = progress) -> None:
                    if progress is not None:
                        progress.update(task, completed=done)

                try:
                    run = import_file(services.catalog, path, fmt=format, on_progress=advance)
                except ImportStopped as exc:
                    _update_search_index(services, show=False)  # what landed is searchable
                    raise CliError(f"{path}: {exc}") from exc
                except FeedError as exc:
                    raise CliError(f"{path}: {exc}; nothing was imported") from exc
                except ValueError as exc:
                    raise CliError(f"{path}: {exc}") from exc
            results.append((path, run))
            if not as_json:
                out.print(render_ingest_run(run, label=str(path)))
        _update_search_index(services, show=not as_json and err.is_terminal)
    if as_json:
        _print_json([{"file": str(path), **_run_json(run)} for path, run in results])


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress | None]:
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as progress:
        yield progress


@app.command()
def show(
    paper_id: Annotated[str, typer.Argument(metavar="ID", help="arXiv id or URL, DOI or key.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Show one paper of the catalog."""
    with _services() as services:
        try:
            paper = find_paper(services.catalog, paper_id)
        except (BadPaperRef, PaperNotFound) as exc:
            raise CliError(str(exc)) from exc
    if as_json:
        _print_json(paper_to_json(paper))
    else:  # the card /paper shows on Discord and in the console
        out.print(render_reply(build_paper(paper), hints=False), soft_wrap=False)


@app.command()
def stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Catalog statistics."""
    with _services() as services:
        result = services.catalog.stats()
    if as_json:
        _print_json(_stats_json(result))
    else:
        out.print(render_stats(result))


@app.command()
def export(
    format: Annotated[str, typer.Option("--format", "-f", help="jsonl, bibtex or csv.")] = "jsonl",
) -> None:
    """Write the whole catalog to standard output."""
    if format not in ("jsonl", "bibtex", "csv"):
        raise CliError(f"unknown export format {format!r}; choose jsonl, bibtex or csv")
    with _services() as services:
        stream = sys.stdout
        if format == "csv":
            writer = csv.writer(stream)
            writer.writerow(CSV_COLUMNS)
            for paper in services.catalog.iter_papers():
                writer.writerow(to_csv_row(paper))
        elif format == "bibtex":
            used: dict[str, int] = {}
            for paper in services.catalog.iter_papers():
                key = bibtex_key(paper)
                n = used.get(key, 0)
                used[key] = n + 1
                stream.write(to_bibtex(paper, key if n == 0 else f"{key}{n + 1}") + "\n")
        else:
            for paper in services.catalog.iter_papers():
                stream.write(json.dumps(paper_to_json(paper), ensure_ascii=False) + "\n")


@app.command()
def ingest(
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[SOURCE]...",
            help="An arXiv category (cs.CL), several joined with + (cs.CL+cs.LG), arxiv:QUERY, "
            "id:ID[,ID], or a feed URL. Default: the configured categories and feeds.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Fetch sources now and store their papers (polite: conditional GET, arXiv's 3 s rule)."""
    import asyncio

    from bot.ingest.service import configured_sources, ingest_sources
    from bot.ingest.sources import resolve_source

    settings = _settings()
    wanted = list(sources or configured_sources(settings))
    if not wanted:
        raise CliError("no sources configured; name one, e.g. `paperbot ingest cs.CL`")
    try:
        specs = [resolve_source(s) for s in wanted]
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    with _services() as services:
        started = datetime.now(UTC)
        runs = asyncio.run(ingest_sources(services.settings, services.catalog, specs))
        if any(run.new or run.updated for run in runs):
            _update_search_index(services, show=not as_json and err.is_terminal)
            services.note_added(started)
    if as_json:
        _print_json([_run_json(run) for run in runs])
    else:
        for run in runs:
            out.print(render_ingest_run(run))
    if any(run.status == "failed" for run in runs):
        raise typer.Exit(1)


def _run_json(run: Any) -> dict[str, Any]:
    return {
        "source": run.source,
        "status": run.status,
        "reason": run.reason,
        "fetched": run.fetched,
        "new": run.new,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "skipped": run.skipped,
        "skipped_entries": [
            {"position": s.position, "reason": s.reason, "ref": s.ref} for s in run.skipped_entries
        ],
    }


def _hits_json(hits: list[Any]) -> list[dict[str, Any]]:
    return [{**paper_to_json(hit.paper), "score": round(hit.score, 4)} for hit in hits]


def _print_hits(hits: list[Any], first: int = 1) -> None:
    for n, hit in enumerate(hits, start=first):
        paper = hit.paper
        authors = ", ".join(paper.author_names[:3]) + (" et al." if len(paper.authors) > 3 else "")
        day = paper.published or paper.updated or paper.added_at
        when = f" ({day:%Y-%m-%d})" if day else ""
        score = f"  [{hit.score:.2f}]" if hit.score else ""
        out.print(f"{n}. {paper.arxiv_id or paper.key}  {paper.title}{score}", markup=False)
        out.print(f"   {authors}{when}", markup=False)


@app.command()
def search(
    query: Annotated[
        list[str],
        typer.Argument(
            metavar="QUERY...",
            help='Words, "phrases", OR, -word, prefix*, author:, cat:, since:, sort:recent.',
        ),
    ],
    page: Annotated[int, typer.Option("--page", min=1, help="Which page of results.")] = 1,
    page_size: Annotated[
        int, typer.Option("--page-size", min=1, max=50, help="Results per page.")
    ] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Search the catalog: ranked by relevance (title and authors above abstract) or by date."""
    from bot.domain.query import QueryError
    from bot.domain.search import search_papers

    text = " ".join(query)
    with _services() as services:
        try:
            found = search_papers(services.search, text, page=page, page_size=page_size)
        except QueryError as exc:
            raise CliError(f"cannot search for that: {exc.message}") from exc
    if as_json:
        _print_json(_hits_json(found.hits))
        return
    if not found.hits:
        if found.total:
            pages = f"{found.pages}{'+' if found.capped else ''}"
            raise CliError(f"there is no page {page}: the results have {pages} page(s)")
        out.print("no papers match", markup=False)
        return
    noun = "paper" if found.total == 1 and not found.capped else "papers"
    out.print(
        f"{found.total_label} {noun} · page {found.page} of {found.pages}"
        f"{'+' if found.capped else ''}",
        markup=False,
    )
    _print_hits(found.hits, first=(found.page - 1) * found.page_size + 1)


@app.command()
def similar(
    paper_id: Annotated[str, typer.Argument(metavar="ID", help="arXiv id or URL, DOI or key.")],
    limit: Annotated[int, typer.Option("--limit", min=1, max=50, help="How many papers.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Papers of the catalog most like a given one, by the words of title and abstract."""
    from bot.domain.query import QueryError
    from bot.domain.search import similar_papers

    with _services() as services:
        try:
            found = similar_papers(services.search, services.catalog, paper_id, limit=limit)
        except QueryError as exc:
            raise CliError(str(exc)) from exc
    if as_json:
        _print_json(_hits_json(found.hits))
        return
    out.print(f"like {found.paper.arxiv_id or found.paper.key}: {found.paper.title}", markup=False)
    if not found.hits:
        out.print("no similar papers in the catalog yet", markup=False)
    _print_hits(found.hits)


@app.command()
def digest(
    topic: Annotated[
        str,
        typer.Argument(
            metavar="TOPIC",
            help="A server's topic (with --guild) or a ready-made one: cs-cl, long-context, ...",
        ),
    ],
    guild: Annotated[
        int | None, typer.Option("--guild", help="The Discord server (guild) id of the topic.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Print what the topic's digest would post now (nothing is posted or recorded)."""
    from datetime import timedelta

    from bot.digests.console import digest_json, preview, render_digest
    from bot.domain.subscriptions import NotFound
    from storage.subscriptions import SqlSubscriptions

    with _services() as services:
        lookback = timedelta(days=services.settings.digest_lookback_days)
        store = SqlSubscriptions(services.engine, services.catalog, lookback=lookback)
        try:
            result = preview(store, topic, guild_id=guild)
        except NotFound as exc:
            raise CliError(str(exc)) from exc
    if as_json:
        _print_json(digest_json(result))
    else:
        out.print(render_digest(result), soft_wrap=False)


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        force=True,
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _say(message: str) -> None:
    """One unwrapped line on standard error (rich would wrap it at the terminal width)."""
    sys.stderr.write(message.replace("\n", " ") + "\n")


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the command; known failures end in one line and a non-zero status."""
    command = typer.main.get_command(app)
    try:
        settings_level = "WARNING"
        _configure_logging(settings_level)
        code = command.main(args=argv, prog_name="paperbot", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError:
        # Click 8.2 raises for a bare `paperbot`; the help text is already printed.
        code = 0
    except click.UsageError as exc:
        _say(f"paperbot: error: {exc.format_message()}")
        code = 2
    except click.exceptions.Abort:
        _say("paperbot: aborted")
        code = 130
    except click.ClickException as exc:
        _say(f"paperbot: error: {exc.format_message()}")
        code = exc.exit_code
    except (CliError, SettingsError, BadPaperRef, PaperNotFound) as exc:
        _say(f"paperbot: error: {exc}")
        code = 1
    except OperationalError as exc:
        _say(f"paperbot: error: database unavailable: {exc.orig}")
        code = 1
    except SQLAlchemyError as exc:
        _say(f"paperbot: error: database error: {exc.__class__.__name__}")
        code = 1
    except BrokenPipeError:
        code = 0
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:  # a bug: one line, and the traceback when debugging
        _say(
            f"paperbot: internal error: {exc.__class__.__name__}: {exc} (a bug; "
            "PAPERBOT_LOG_LEVEL=DEBUG shows where)"
        )
        if os.environ.get("PAPERBOT_LOG_LEVEL", "").upper() == "DEBUG":
            traceback.print_exc()
        code = 1
    sys.exit(code if isinstance(code, int) else 0)
