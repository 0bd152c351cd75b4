"""Rich renderings for the terminal: command replies (the same ones Discord shows, and what
``paperbot show`` prints), and the catalog records the CLI prints.

Paper and person text only ever goes into ``Text`` objects, never through console markup, so a
title with ``[bold]`` or ``:emoji:`` in it prints as typed (and rich drops control codes).
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.style import Style
from rich.table import Table
from rich.text import Text

from bot.domain.catalog import CatalogStats, IngestRun
from bot.messages.model import Card, PagerState, Reply, RichText

_SPAN_STYLES = {"plain": "", "bold": "bold", "italic": "italic", "code": "cyan"}


def rich_text(spans: RichText) -> Text:
    text = Text()
    for span in spans:
        style = Style.parse(_SPAN_STYLES[span.style] or "none")
        if span.url:
            style += Style(link=span.url, underline=True)
        text.append(span.text, style=style)
    return text


def render_card(card: Card) -> RenderableType:
    parts: list[RenderableType] = []
    if card.title:  # inside the panel, where a long title wraps instead of being cut
        parts.append(Text(card.title, style=Style(bold=True, link=card.url)))
    if card.description:
        if parts:
            parts.append(Text(""))
        parts.append(rich_text(card.description))
    if card.fields:
        table = Table.grid(padding=(0, 1))
        table.add_column(style="dim", no_wrap=True)
        table.add_column()
        for f in card.fields:
            table.add_row(Text(f.name), rich_text(f.value))
        if parts:
            parts.append(Text(""))
        parts.append(table)
    footer = Text(card.footer, style="dim") if card.footer else None
    color = f"#{card.color:06x}" if card.color is not None else "none"
    return Panel(
        Group(*parts),
        subtitle=footer,
        subtitle_align="left",
        border_style=color,
    )


def pager_hint(pager: PagerState) -> Text:
    moves = [m for m, ok in (("n next", pager.has_next), ("p previous", pager.has_previous)) if ok]
    return Text(f"page {pager.page} of {pager.pages} · " + " · ".join(moves), style="dim")


def render_reply(reply: Reply, *, hints: bool = True) -> RenderableType:
    """A reply as the console shows it; ``hints`` adds the n/p line under paged lists."""
    parts: list[RenderableType] = []
    if reply.content:
        parts.append(Text(reply.content, style="red" if reply.error else ""))
    parts += [render_card(card) for card in reply.cards]
    if hints and reply.pager is not None and reply.pager.pages > 1:
        parts.append(pager_hint(reply.pager))
    return Group(*parts)


def render_stats(stats: CatalogStats) -> RenderableType:
    table = Table(title="Catalog", show_header=False)
    table.add_column(style="dim")
    table.add_column(justify="right")
    table.add_row("papers", f"{stats.papers:,}")
    table.add_row("authors", f"{stats.authors:,}")
    table.add_row("categories", f"{stats.categories:,}")
    table.add_row("versions", f"{stats.versions:,}")
    table.add_row("sources", ", ".join(f"{k} ({v:,})" for k, v in stats.per_source.items()))
    if stats.newest_published:
        table.add_row("newest paper", stats.newest_published.date().isoformat())
    if stats.top_categories:
        table.add_row(
            "top categories", ", ".join(f"{c} ({n})" for c, n in stats.top_categories[:5])
        )
    return table


def render_ingest_run(run: IngestRun, *, label: str | None = None) -> RenderableType:
    name = label or run.source
    line = Text.assemble(
        (f"{name}: ", "bold"),
        f"{run.status} · {run.fetched} read, {run.new} new, {run.updated} updated, "
        f"{run.unchanged} unchanged, {run.skipped} skipped",
    )
    if run.reason:
        line.append(f" · {run.reason}")
    lines: list[RenderableType] = [line]
    for entry in run.skipped_entries[:10]:
        ref = f" ({entry.ref})" if entry.ref else ""
        lines.append(Text(f"  #{entry.position}{ref}: {entry.reason}", style="yellow"))
    if len(run.skipped_entries) > 10:
        lines.append(Text(f"  … and {len(run.skipped_entries) - 10} more", style="yellow"))
    return Group(*lines)
