"""Catalog statistics (``/stats``)."""

from __future__ import annotations

from bot.domain.catalog import CatalogStats
from bot.messages.limits import fit_reply
from bot.messages.model import Card, Field, Reply, Span

STATS_GREEN = 0x2E8B57


def _number(label: str, n: int) -> Field:
    return Field(label, (Span(f"{n:,}"),), inline=True)


def build_stats(stats: CatalogStats) -> Reply:
    """Counts, sources, newest paper and the biggest categories of the catalog."""
    fields = [
        _number("Papers", stats.papers),
        _number("Authors", stats.authors),
        _number("Categories", stats.categories),
        _number("Versions", stats.versions),
    ]
    if stats.newest_published:
        newest = stats.newest_published.date().isoformat()
        fields.append(Field("Newest paper", (Span(newest),), inline=True))
    if stats.newest_added:
        added = stats.newest_added.strftime("%Y-%m-%d %H:%M UTC")
        fields.append(Field("Last added", (Span(added),), inline=True))
    if stats.per_source:
        lines = "\n".join(f"{name}: {n:,}" for name, n in stats.per_source.items())
        fields.append(Field("Sources", (Span(lines),)))
    if stats.top_categories:
        top = " · ".join(f"{code} ({n:,})" for code, n in stats.top_categories[:10])
        fields.append(Field("Top categories", (Span(top),)))
    card = Card(title="Catalog", fields=tuple(fields), color=STATS_GREEN)
    return fit_reply(Reply(cards=(card,)))
