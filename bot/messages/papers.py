"""Papers as cards (``/paper``) and as list entries (search results, ``/similar``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.papers import Paper
from bot.domain.search import SearchHit, matched_author
from bot.domain.summaries import tldr
from bot.domain.text import collapse_ws, latex_to_text, shorten, shorten_authors
from bot.messages.limits import (
    CARDS_TOTAL_MAX,
    DESCRIPTION_MAX,
    TITLE_MAX,
    fit_reply,
    fit_spans,
    fit_text,
    markup_len,
    safe_url,
    spans_cost,
)
from bot.messages.model import Card, Field, Reply, RichText, Span

ARXIV_RED = 0xB31B1B
LIST_BLUE = 0x3B6EA5

# A /paper card leaves the abstract what the rest of the card does not use, within these.
_PAPER_AUTHORS_MAX = 400
_PAPER_TLDR_MAX = 300
_ENTRY_TITLE_MAX = 160
_ENTRY_AUTHORS_MAX = 90
_ENTRY_TLDR_MAX = 220


def paper_title(paper: Paper) -> str:
    return latex_to_text(paper.title) or "(untitled)"


def paper_id_label(paper: Paper) -> str:
    """``2411.17700v2``, or the catalog key (and version) of a paper without an arXiv id."""
    base = paper.arxiv_id or paper.key
    return f"{base}{paper.version_label or ''}"


def paper_date(paper: Paper) -> datetime | None:
    return paper.published or paper.updated or paper.added_at


def _links(paper: Paper) -> RichText:
    spans: list[Span] = []
    for label, url in (
        ("abstract", paper.abs_link),
        ("PDF", paper.pdf_link),
        ("DOI", f"https://doi.org/{paper.doi}" if paper.doi else None),
    ):
        safe = safe_url(url)
        if safe is None:
            continue
        if spans:
            spans.append(Span(" · "))
        spans.append(Span(label, url=safe))
    return tuple(spans)


def build_paper_card(paper: Paper) -> Card:
    """The full card of one paper: linked title, by-line, TL;DR, abstract, categories, date,
    links, and a footer with the id and version. Always within Discord's limits."""
    fields: list[Field] = []
    authors = shorten_authors(paper.author_names, _PAPER_AUTHORS_MAX, max_names=5)
    if authors:
        fields.append(Field("Authors", (Span(authors),)))
    if paper.categories:
        fields.append(Field("Categories", (Span(" · ".join(paper.categories)),), inline=True))
    when = paper_date(paper)
    if when is not None:
        label = "Published" if paper.published else "Updated"
        fields.append(Field(label, (Span(when.date().isoformat()),), inline=True))
    links = _links(paper)
    if links:
        fields.append(Field("Links", links, inline=True))
    footer = " · ".join(
        part
        for part in (
            f"arXiv:{paper.arxiv_id}" if paper.arxiv_id else paper.key,
            paper.version_label,
            paper.journal_ref,
        )
        if part
    )
    title = fit_text(paper_title(paper), TITLE_MAX)
    summary = tldr(paper.abstract, max_chars=_PAPER_TLDR_MAX)
    head: RichText = (Span("TL;DR", "bold"), Span(f" {summary}")) if summary else ()
    fixed = (
        markup_len(title)
        + len(footer)
        + sum(markup_len(f.name) + spans_cost(f.value) for f in fields)
        + spans_cost(head)
    )
    room = min(DESCRIPTION_MAX - spans_cost(head), CARDS_TOTAL_MAX - fixed) - 2
    abstract = latex_to_text(paper.abstract)
    gap = "\n\n" if head else ""
    body: RichText = (Span(gap + fit_text(abstract, room)),) if abstract else ()
    return Card(
        title=title,
        url=safe_url(paper.abs_link),
        description=(*head, *body),
        fields=tuple(fields),
        footer=footer,
        color=ARXIV_RED,
    )


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def author_byline(
    names: Sequence[str], limit: int, *, max_names: int = 3, author: str | None = None
) -> str:
    """A by-line of at most ``limit`` characters that always shows the author ``author`` names.

    Without ``author``, or when the usual by-line (:func:`shorten_authors`) lists the author it
    found (:func:`bot.domain.search.matched_author`), that by-line. Otherwise the first names,
    then the found author with their place:
    ``"A. First, B. Second, … Geoffrey Hinton (5th of 12), et al."``.
    """
    cleaned = [n for n in (collapse_ws(name) for name in names) if n]
    at = matched_author(cleaned, author) if author else None
    if at is None or limit <= 0:
        return shorten_authors(cleaned, limit, max_names=max_names)
    count = len(cleaned)
    for shown in range(min(count, max(1, max_names)), at, -1):
        line = ", ".join(cleaned[:shown]) + (" et al." if shown < count else "")
        if len(line) <= limit:
            return line
    place = f" ({_ordinal(at + 1)} of {count})"
    tail = ", et al." if at + 1 < count else ""
    for before in range(min(at, max(1, max_names) - 1), -1, -1):
        gap = "" if before == at else "… "
        head = ", ".join([*cleaned[:before], ""]) if before else ""
        line = f"{head}{gap}{cleaned[at]}{place}{tail}"
        if len(line) <= limit:
            return line
    gap = "… " if at else ""
    room = limit - len(gap) - len(place) - len(tail)
    if room >= 4:
        return f"{gap}{shorten(cleaned[at], room)}{place}{tail}"
    return shorten(cleaned[at], limit)


def paper_entry(paper: Paper, number: int | None = None, *, author: str | None = None) -> RichText:
    """A paper as three short lines of a list: linked title; authors, category, date and id;
    the TL;DR. With ``author`` (an ``/author`` lookup) the by-line always shows that author."""
    spans: list[Span] = []
    if number is not None:
        spans += [Span(f"{number}.", "bold"), Span(" ")]
    title = fit_text(paper_title(paper), _ENTRY_TITLE_MAX)
    spans.append(Span(title, "bold", url=safe_url(paper.abs_link)))
    meta = [
        author_byline(paper.author_names, _ENTRY_AUTHORS_MAX, max_names=3, author=author),
        paper.primary_category or "",
        d.date().isoformat() if (d := paper_date(paper)) else "",
    ]
    line = " · ".join(m for m in meta if m)
    spans.append(Span(f"\n{line} · " if line else "\n"))
    spans.append(Span(paper_id_label(paper), "code"))
    summary = tldr(paper.abstract, max_chars=_ENTRY_TLDR_MAX)
    if summary:
        spans.append(Span(f"\n{summary}"))
    return tuple(spans)


def entries(
    papers: Sequence[Paper], *, first_number: int = 1, author: str | None = None
) -> RichText:
    """Numbered entries separated by blank lines, each cut to its share of a description;
    ``author`` as in :func:`paper_entry`."""
    if not papers:
        return ()
    share = DESCRIPTION_MAX // len(papers) - 2
    spans: list[Span] = []
    for i, paper in enumerate(papers):
        if spans:
            spans.append(Span("\n\n"))
        spans.extend(fit_spans(paper_entry(paper, first_number + i, author=author), share))
    return tuple(spans)


def build_paper(paper: Paper) -> Reply:
    """The reply to ``/paper``: one card."""
    return fit_reply(Reply(cards=(build_paper_card(paper),)))


def build_similar(paper: Paper, hits: Sequence[SearchHit]) -> Reply:
    """The reply to ``/similar``: the papers nearest to ``paper``, as a list card."""
    title = fit_text(f"Similar to: {paper_title(paper)}", TITLE_MAX)
    body = entries([h.paper for h in hits]) or (Span("No similar papers in the catalog yet."),)
    card = Card(
        title=title,
        url=safe_url(paper.abs_link),
        description=body,
        footer=f"papers like {paper_id_label(paper)}",
        color=LIST_BLUE,
    )
    return fit_reply(Reply(cards=(card,)))
