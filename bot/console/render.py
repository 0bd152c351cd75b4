"""Rich renderings of catalog records for the terminal."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.domain.catalog import CatalogStats, IngestRun
from bot.domain.papers import Paper


def render_paper(paper: Paper) -> RenderableType:
    head = Text(paper.title, style="bold")
    meta = Table.grid(padding=(0, 1))
    meta.add_column(style="dim")
    meta.add_column()
    meta.add_row("id", f"{paper.key}{paper.version_label or ''}")
    meta.add_row("authors", ", ".join(paper.author_names) or "—")
    if paper.affiliations:
        meta.add_row("affiliations", "; ".join(paper.affiliations))
    meta.add_row("categories", " ".join(paper.categories) or "—")
    if paper.published:
        meta.add_row("published", paper.published.date().isoformat())
    if paper.updated and paper.updated != paper.published:
        meta.add_row("updated", paper.updated.date().isoformat())
    for label, value in (
        ("doi", paper.doi),
        ("journal", paper.journal_ref),
        ("comment", paper.comment),
        ("abs", paper.abs_link),
        ("pdf", paper.pdf_link),
    ):
        if value:
            meta.add_row(label, value)
    meta.add_row("sources", ", ".join(paper.sources))
    return Panel(Group(head, meta, Text(""), Text(paper.abstract)), expand=False)


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
