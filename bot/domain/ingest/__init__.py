"""Ingest parsing: text in, papers out. Fetching lives apart, in bot/ingest/."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.domain.papers import Paper


class FeedError(Exception):
    """The feed as a whole is unusable: malformed, truncated, or an error report.

    arXiv's API reports errors as a feed whose one entry is titled "Error"; that lands here too.

    Nothing from such a feed is stored.
    """


@dataclass(frozen=True, slots=True)
class SkippedEntry:
    """An entry that could not become a paper, and why (the rest of the feed still lands)."""

    position: int  # 1-based entry number (or line number for line formats)
    reason: str
    ref: str | None = None  # the entry's id or title, when one could be read


@dataclass(slots=True)
class ParseResult:
    papers: list[Paper] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)
    # Entries that became papers with doubt (a listing line whose title/author split is a guess).
    uncertain: list[SkippedEntry] = field(default_factory=list)
    feed_title: str | None = None

    @property
    def empty(self) -> bool:
        """A well-formed feed with no entries: normal on weekends and holidays."""
        return not self.papers and not self.skipped
