"""arXiv API responses (Atom, ``export.arxiv.org/api/query``) into papers.

arXiv's own XML is parsed strictly with ElementTree rather than with feedparser: arXiv always
sends well-formed XML, so anything that does not parse is a cut-off or broken download and must
fail as a whole (feedparser would quietly salvage the entries before the cut). ElementTree also
resolves the 2016 format's per-element ``xmlns:arxiv`` declarations to the same names as today's
root-level ones, and keeps every ``arxiv:affiliation`` of every author.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

from bot.domain.arxiv_ids import parse_arxiv_ref
from bot.domain.arxiv_ids import pdf_url as arxiv_pdf_url
from bot.domain.ingest import FeedError, ParseResult, SkippedEntry
from bot.domain.ingest.feeds import as_utc, collapse_ws, latex_to_unicode
from bot.domain.papers import Author, Paper, PaperVersion

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"


def parse_xml_strictly(data: bytes | str) -> ET.Element:
    """The root element of a well-formed XML document; FeedError for anything else.

    Documents with a DOCTYPE are refused: arXiv never sends one, and refusing them rules out
    entity-expansion tricks whatever the expat version.
    """
    probe = data if isinstance(data, str) else data.decode("latin-1")
    if "<!DOCTYPE" in probe or "<!ENTITY" in probe:
        raise FeedError("document declares a DOCTYPE or entities; arXiv never does")
    if not probe.strip():
        raise FeedError("empty document")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise FeedError(f"malformed or truncated XML: {exc}") from exc
    except (ValueError, LookupError) as exc:  # unknown or unsupported declared encoding
        raise FeedError(f"unreadable XML: {exc}") from exc


def _text(element: ET.Element | None) -> str:
    return collapse_ws(element.text) if element is not None and element.text else ""


def parse_iso_datetime(text: str) -> datetime | None:
    """An ISO 8601 timestamp (``2022-02-24T15:05:19Z``) as an aware UTC datetime, else None."""
    if not text:
        return None
    try:
        return as_utc(datetime.fromisoformat(text.strip()))
    except ValueError:
        return None


def _is_error_entry(entry: ET.Element) -> bool:
    entry_id = _text(entry.find(f"{ATOM}id"))
    if "arxiv.org/api/errors" in entry_id:
        return True
    return _text(entry.find(f"{ATOM}title")) == "Error" and parse_arxiv_ref(entry_id) is None


def _authors(entry: ET.Element) -> tuple[Author, ...]:
    authors: list[Author] = []
    for author in entry.iter(f"{ATOM}author"):
        name = latex_to_unicode(_text(author.find(f"{ATOM}name")), name=True)
        if not name:
            continue
        affiliations = tuple(
            a for a in (_text(aff) for aff in author.iter(f"{ARXIV}affiliation")) if a
        )
        authors.append(Author(name, affiliations))
    return tuple(authors)


def _categories(entry: ET.Element) -> tuple[str, ...]:
    codes: list[str] = []
    primary = entry.find(f"{ARXIV}primary_category")
    if primary is not None and primary.get("term"):
        codes.append(primary.get("term", "").strip())
    codes.extend(c.get("term", "").strip() for c in entry.iter(f"{ATOM}category"))
    return tuple(dict.fromkeys(c for c in codes if c))


def _entry_to_paper(entry: ET.Element, position: int, source: str) -> Paper | SkippedEntry:
    raw_title = _text(entry.find(f"{ATOM}title"))
    raw_id = _text(entry.find(f"{ATOM}id"))
    if not raw_id:
        return SkippedEntry(position, "entry has no <id>", raw_title or None)
    ref = parse_arxiv_ref(raw_id)
    if ref is None:
        return SkippedEntry(position, f"entry id is not an arXiv id: {raw_id!r}", raw_id)
    title = latex_to_unicode(raw_title)
    if not title:
        return SkippedEntry(position, "entry has no title", ref.versioned)
    updated = parse_iso_datetime(_text(entry.find(f"{ATOM}updated")))
    published = parse_iso_datetime(_text(entry.find(f"{ATOM}published")))
    return Paper(
        title=title,
        authors=_authors(entry),
        abstract=latex_to_unicode(_text(entry.find(f"{ATOM}summary"))),
        arxiv_id=ref.id,
        version=ref.version,
        versions=(PaperVersion(ref.version, updated),) if ref.version else (),
        categories=_categories(entry),
        published=published,
        updated=updated,
        doi=_text(entry.find(f"{ARXIV}doi")) or None,
        journal_ref=_text(entry.find(f"{ARXIV}journal_ref")) or None,
        comment=_text(entry.find(f"{ARXIV}comment")) or None,
        url=f"https://arxiv.org/abs/{ref.id}",
        pdf_url=arxiv_pdf_url(ref.id, ref.version),
        sources=(source,),
    )


def parse_arxiv_api(data: bytes | str, *, source: str = "arxiv-api") -> ParseResult:
    """Papers from one arXiv API response page.

    Raises FeedError for arXiv's error feed (with arXiv's message), for anything that is not an
    Atom feed, and for malformed or truncated XML. An empty page is an empty result (it can also
    mean throttling; the caller decides). An entry without a usable id or title is skipped with
    the reason; the others still land.
    """
    root = parse_xml_strictly(data)
    if root.tag != f"{ATOM}feed":
        raise FeedError(f"not an Atom feed: the root element is <{root.tag}>")
    entries = root.findall(f"{ATOM}entry")
    for entry in entries:
        if _is_error_entry(entry):
            message = _text(entry.find(f"{ATOM}summary")) or _text(entry.find(f"{ATOM}id"))
            raise FeedError(message)
    result = ParseResult(feed_title=_text(root.find(f"{ATOM}title")) or None)
    for position, entry in enumerate(entries, start=1):
        outcome = _entry_to_paper(entry, position, source)
        if isinstance(outcome, Paper):
            result.papers.append(outcome)
        else:
            result.skipped.append(outcome)
    return result
