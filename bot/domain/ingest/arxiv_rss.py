"""arXiv's daily RSS (``rss.arxiv.org/rss/cs.CL``) into papers.

Parsed strictly with ElementTree for the same reason as the API (see arxiv_api): a cut-off
download must fail whole rather than yield the items before the cut.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from email.utils import parsedate_to_datetime

from bot.domain.arxiv_ids import ArxivRef, find_arxiv_ref
from bot.domain.arxiv_ids import pdf_url as arxiv_pdf_url
from bot.domain.ingest import FeedError, ParseResult, SkippedEntry
from bot.domain.ingest.arxiv_api import ARXIV, parse_xml_strictly
from bot.domain.ingest.feeds import as_utc, collapse_ws, latex_to_unicode, split_author_string
from bot.domain.papers import Paper, PaperVersion

DC = "{http://purl.org/dc/elements/1.1/}"
ANNOUNCE_TYPES = ("new", "cross", "replace", "replace-cross")

_DESCRIPTION_PREFIX = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*\S+\s*", re.IGNORECASE)


def _text(element: ET.Element | None) -> str:
    return collapse_ws(element.text) if element is not None and element.text else ""


def parse_rfc822(text: str) -> datetime | None:
    """An RFC 822 date (``Thu, 28 Nov 2024 00:00:00 -0500``) as an aware UTC datetime, else None."""
    if not text:
        return None
    try:
        return as_utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        return None


def _abstract(description: str) -> str:
    _, marker, after = description.partition("Abstract:")
    text = after if marker else _DESCRIPTION_PREFIX.sub("", description)
    return latex_to_unicode(collapse_ws(text))


def _item_ref(item: ET.Element, description: str) -> ArxivRef | None:
    # The guid names the version; the link never does, and the description repeats the guid's id.
    guid_ref = find_arxiv_ref(_text(item.find("guid")))
    if guid_ref and guid_ref.version:
        return guid_ref
    desc_ref = find_arxiv_ref(description[:200])
    if desc_ref and desc_ref.version:
        return desc_ref
    return guid_ref or desc_ref or find_arxiv_ref(_text(item.find("link")))


def _item_to_paper(item: ET.Element, position: int, source: str) -> Paper | SkippedEntry:
    raw_title = _text(item.find("title"))
    description = item.findtext("description") or ""
    ref = _item_ref(item, description)
    if ref is None:
        return SkippedEntry(
            position, "item has no arXiv id in guid, description or link", raw_title or None
        )
    title = latex_to_unicode(raw_title)
    if not title:
        return SkippedEntry(position, "item has no title", ref.versioned)
    announce_type = _text(item.find(f"{ARXIV}announce_type")).lower() or None
    announced = parse_rfc822(_text(item.find("pubDate")))
    categories = tuple(dict.fromkeys(c for c in (_text(e) for e in item.iter("category")) if c))
    return Paper(
        title=title,
        authors=tuple(split_author_string(_text(item.find(f"{DC}creator")))),
        abstract=_abstract(description),
        arxiv_id=ref.id,
        version=ref.version,
        versions=(PaperVersion(ref.version, None),) if ref.version else (),
        categories=categories,
        # pubDate is the announcement day. For a first version that is as good as publication; for
        # a replacement it is not, so only the update time is known.
        published=announced if (ref.version or 1) == 1 else None,
        updated=announced,
        doi=_text(item.find(f"{ARXIV}DOI")) or None,
        journal_ref=_text(item.find(f"{ARXIV}journal_reference")) or None,
        url=f"https://arxiv.org/abs/{ref.id}",
        pdf_url=arxiv_pdf_url(ref.id, ref.version),
        sources=(source,),
        announce_type=announce_type,
    )


def parse_arxiv_rss(data: bytes | str, *, source: str = "arxiv-rss") -> ParseResult:
    """Papers from one arXiv RSS document (one or several archives/categories joined with ``+``).

    Raises FeedError for arXiv's "Feed error for query" channel (a bad archive name; the message is
    arXiv's description), for anything that is not RSS, and for malformed or truncated XML. A feed
    with no items (weekends, holidays) is an empty result.
    """
    root = parse_xml_strictly(data)
    if root.tag != "rss":
        raise FeedError(f"not an RSS document: the root element is <{root.tag}>")
    channel = root.find("channel")
    if channel is None:
        raise FeedError("RSS document has no <channel>")
    feed_title = _text(channel.find("title"))
    if feed_title.lower().startswith("feed error"):
        raise FeedError(_text(channel.find("description")) or feed_title)
    result = ParseResult(feed_title=feed_title or None)
    for position, item in enumerate(channel.iter("item"), start=1):
        outcome = _item_to_paper(item, position, source)
        if isinstance(outcome, Paper):
            result.papers.append(outcome)
        else:
            result.skipped.append(outcome)
    return result
