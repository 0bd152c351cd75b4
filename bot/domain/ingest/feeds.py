"""Any RSS or Atom feed (a journal's table of contents, a lab blog) into papers.

Also home of the text clean-up every ingest parser shares: whitespace, HTML, TeX accents in names,
author strings, and the truncation check.
"""

from __future__ import annotations

import io
import re
import time
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import feedparser
from dateutil import parser as dateparser

from bot.domain.arxiv_ids import ArxivRef, find_arxiv_ref, parse_arxiv_ref
from bot.domain.categories import is_category
from bot.domain.ingest import FeedError, ParseResult, SkippedEntry
from bot.domain.papers import Author, Paper, PaperVersion

# ---------------------------------------------------------------------------------------------
# Text helpers shared by the ingest parsers


def collapse_ws(text: str | None) -> str:
    """``text`` with runs of whitespace (newlines included) turned into single spaces, stripped."""
    return " ".join(text.split()) if text else ""


_BLOCK_TAGS = frozenset(
    {
        "p",
        "br",
        "div",
        "li",
        "ul",
        "ol",
        "tr",
        "td",
        "th",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "section",
        "article",
        "header",
        "footer",
        "table",
        "dd",
        "dt",
        "hr",
        "figcaption",
    }
)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def strip_html(html: str | None) -> str:
    """Plain text of an HTML fragment: tags and scripts dropped, entities decoded."""
    if not html:
        return ""
    if "<" not in html and "&" not in html:
        return collapse_ws(html)
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return collapse_ws("".join(extractor.parts))


# TeX accents as arXiv metadata carries them (``V\'aclav Vavry\v{c}uk``), to combining marks.
_SYMBOL_ACCENTS = {
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    '"': "\u0308",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
}
_LETTER_ACCENTS = {
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
    "k": "\u0328",
    "r": "\u030a",
    "d": "\u0323",
    "b": "\u0331",
    "h": "\u0309",  # hook above, from TeX's vietnam package: B\h{a}o -> Bảo
}
_LETTER_COMMANDS = {
    "ss": "ß",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "aa": "å",
    "AA": "Å",
    "l": "ł",
    "L": "Ł",
    "o": "ø",
    "O": "Ø",
    "i": "ı",
    "j": "ȷ",
    "dh": "ð",
    "DH": "Ð",
    "th": "þ",
    "TH": "Þ",
    "dj": "đ",
    "DJ": "Đ",
    "ng": "ŋ",
    "NG": "Ŋ",
}
_BASE = r"(?:\\[ij](?![A-Za-z])|[A-Za-z])"
_SYMBOL_ACCENT_RE = re.compile(rf"\\([\'`^\"~=.])\s*(?:\{{\s*({_BASE})\s*\}}|({_BASE}))")
_LETTER_ACCENT_RE = re.compile(rf"\\([uvHckrdbh])(?:\s*\{{\s*({_BASE})\s*\}}|\s+({_BASE}))")
_COMMANDS = "ss|ae|AE|oe|OE|aa|AA|dh|DH|th|TH|dj|DJ|ng|NG|[lLoOij]"
# In names a two-letter command may run into the next letters (arXiv has "Gu\\dhmundur"); a
# one-letter one may not, or "\\lambda" would lose its l.
_LETTER_COMMAND_RE = re.compile(
    r"\\(ss|ae|AE|oe|OE|aa|AA|dh|DH|th|TH|dj|DJ|ng|NG|[lLoOij](?![A-Za-z]))(?:\{\}|\s)?"
)
# Only a braced command ({\l}, {\ss}) is safe in titles and abstracts, where a bare \O may be math.
_BRACED_LETTER_COMMAND_RE = re.compile(rf"\{{\\({_COMMANDS})\}}")
_SINGLE_NON_ASCII_BRACED = re.compile(r"\{([^\x00-\x7f])\}")
_NAME_BRACES = re.compile(r"[{}]")


def _accent(mark: str, base: str) -> str:
    if base.startswith("\\"):
        base = _LETTER_COMMANDS[base[1:]]
        if base == "ı" and mark in ("\u0301", "\u0300", "\u0302", "\u0308"):
            base = "i"  # dotless i carries the accent so that it composes into í, ì, î, ï
        elif base == "ȷ":
            base = "j"
    return unicodedata.normalize("NFC", base + mark)


def _decode_accents(text: str) -> str:
    text = _SYMBOL_ACCENT_RE.sub(
        lambda m: _accent(_SYMBOL_ACCENTS[m.group(1)], m.group(2) or m.group(3)), text
    )
    return _LETTER_ACCENT_RE.sub(
        lambda m: _accent(_LETTER_ACCENTS[m.group(1)], m.group(2) or m.group(3)), text
    )


def latex_to_unicode(text: str, *, name: bool = False) -> str:
    """TeX accent commands turned into Unicode letters (``Schr\\"odinger`` -> ``Schrödinger``).

    With ``name=True`` (author names) bare letter commands (``\\l``, ``\\o``) and grouping braces
    go as well; in titles and abstracts they may be mathematics, so only braced forms are decoded.
    """
    if "\\" not in text:
        return _NAME_BRACES.sub("", text) if name and "{" in text else text
    text = _decode_accents(text)
    if name:
        text = _LETTER_COMMAND_RE.sub(lambda m: _LETTER_COMMANDS[m.group(1)], text)
        text = _NAME_BRACES.sub("", text)
    else:
        text = _BRACED_LETTER_COMMAND_RE.sub(lambda m: _LETTER_COMMANDS[m.group(1)], text)
        text = _SINGLE_NON_ASCII_BRACED.sub(r"\1", text)
    return unicodedata.normalize("NFC", text)


_AND_RE = re.compile(r"\s+and\s+|\s*&\s*")
_LEADING_AND = re.compile(r"^(?:and|&)\s+", re.IGNORECASE)
_PAREN_GROUP = re.compile(r"\(([^()]*(?:\([^()]*\)[^()]*)*)\)")


def _split_top_level(text: str) -> list[str]:
    """Split on commas and " and " that are not inside parentheses."""
    pieces: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif ch in ",;" and depth == 0:
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    out: list[str] = []
    for piece in pieces:
        if "(" in piece or (" and " not in piece and "&" not in piece):
            out.append(piece)
        else:
            out.extend(_AND_RE.split(piece))
    return out


def split_author_string(text: str) -> list[Author]:
    """Authors from one string such as arXiv's ``dc:creator``.

    ``"A. Lee, B. Kim (MIT, Cambridge), and C. Wu,"`` -> three authors, the second with the
    affiliation ``MIT, Cambridge``. Commas inside parentheses belong to the affiliation (arXiv
    puts a whole address there), so a parenthesised group is kept as one affiliation. A trailing
    comma or a final "and" does not make an empty author.
    """
    authors: list[Author] = []
    for piece in _split_top_level(text):
        piece = _LEADING_AND.sub("", collapse_ws(piece))
        if not piece:
            continue
        affiliations = tuple(
            a for a in (collapse_ws(m.group(1)) for m in _PAREN_GROUP.finditer(piece)) if a
        )
        name = collapse_ws(_PAREN_GROUP.sub(" ", piece)) if affiliations else piece
        name = latex_to_unicode(name, name=True).strip(" ,")
        if name:
            authors.append(Author(name, tuple(latex_to_unicode(a) for a in affiliations)))
    return authors


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


_ROOT_RE = re.compile(
    r"\ufeff?\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>\s*)*"
    r"<([A-Za-z_][\w:.\-]*)([^<>]*?)(/?)>",
    re.DOTALL,
)
_TRAILING_MISC = re.compile(r"(?:\s|\x00|<!--.*?-->|<\?.*?\?>)+$", re.DOTALL)


def is_truncated_xml(text: str) -> bool:
    """Whether an XML document stops before its root element is closed (a cut-off download).

    feedparser salvages the entries before the cut and only flags ``bozo``, so a parser that
    trusted it would store half a feed and miss the rest.
    """
    m = _ROOT_RE.match(text[:8192])
    if m is None:
        return True
    tail = _TRAILING_MISC.sub("", text[-8192:])
    if m.group(3):  # <feed/>: the root closed itself; nothing may follow it
        return not tail.endswith(m.group(0))
    return re.search(rf"</{re.escape(m.group(1))}\s*>$", tail) is None


# ---------------------------------------------------------------------------------------------
# Generic feeds

_DOI_RE = re.compile(r"\b(10\.\d{4,9}/[^\s\"'<>]+)")
_DOI_TRAILING = ".,;:)]}"


def find_doi(text: str | None) -> str | None:
    """The first DOI inside ``text`` (a ``doi:`` id, a doi.org URL, free text), else None."""
    if not text:
        return None
    m = _DOI_RE.search(text)
    if not m:
        return None
    doi = m.group(1).rstrip(_DOI_TRAILING)
    return doi or None


def _struct_to_dt(value: Any) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def _parse_loose_date(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return as_utc(dateparser.parse(text))
    except (ValueError, OverflowError, TypeError):
        return None


def _detail_text(value: Any, detail: Any) -> str:
    if not isinstance(value, str):
        return ""
    kind = detail.get("type", "text/html") if isinstance(detail, Mapping) else "text/html"
    if "html" in kind:
        return strip_html(value)
    return collapse_ws(value)


def _entry_authors(entry: Mapping[str, Any]) -> tuple[Author, ...]:
    names: list[str] = []
    raw = entry.get("authors") or []
    for item in raw:
        name = item.get("name") if isinstance(item, Mapping) else None
        if isinstance(name, str) and collapse_ws(name):
            names.append(collapse_ws(name))
    if not names and isinstance(entry.get("author"), str):
        names.append(collapse_ws(entry["author"]))
    authors: list[Author] = []
    for name in names:
        # A TOC often puts every author in one element ("A. Lee, B. Kim and C. Wu"); one "Doe, Jane"
        # stays whole because none of its comma pieces has a space in it.
        pieces = split_author_string(name)
        if len(pieces) > 1 and all(" " in p.name for p in pieces):
            authors.extend(pieces)
        else:
            authors.append(Author(strip_html(name)))
    return tuple(dict.fromkeys(authors))


def _entry_doi(entry: Mapping[str, Any]) -> str | None:
    for key in ("prism_doi", "dc_identifier"):
        doi = find_doi(entry.get(key) if isinstance(entry.get(key), str) else None)
        if doi:
            return doi
    hrefs = [link.get("href", "") for link in entry.get("links", []) if isinstance(link, Mapping)]
    for href in (*hrefs, entry.get("id"), entry.get("link")):
        if isinstance(href, str) and "doi.org/10." in href:
            return find_doi(href)
    return find_doi(entry.get("dc_source") if isinstance(entry.get("dc_source"), str) else None)


def _entry_arxiv(
    entry: Mapping[str, Any], doi: str | None, texts: Iterable[str]
) -> ArxivRef | None:
    hrefs = [link.get("href", "") for link in entry.get("links", []) if isinstance(link, Mapping)]
    for candidate in (*hrefs, entry.get("link"), entry.get("id"), doi):
        if isinstance(candidate, str) and candidate:
            ref = parse_arxiv_ref(candidate) or find_arxiv_ref(candidate)
            if ref:
                return ref
    # A post that names one arXiv paper is about that paper; one that names several is not.
    found: dict[str, ArxivRef] = {}
    for text in texts:
        for m in re.finditer(r"(?:arxiv\.org/(?:abs|pdf)/|arXiv:)\S+", text, re.IGNORECASE):
            ref = find_arxiv_ref(m.group(0))
            if ref:
                found.setdefault(ref.id, ref)
    return next(iter(found.values())) if len(found) == 1 else None


def _journal_ref(entry: Mapping[str, Any]) -> str | None:
    name = entry.get("prism_publicationname")
    if not isinstance(name, str) or not name.strip():
        return None
    ref = collapse_ws(name)
    volume = entry.get("prism_volume")
    if isinstance(volume, str) and volume.strip():
        ref += f" {volume.strip()}"
    first, last = entry.get("prism_startingpage"), entry.get("prism_endingpage")
    if isinstance(first, str) and first.strip():
        pages = first.strip() + (
            f"-{last.strip()}" if isinstance(last, str) and last.strip() else ""
        )
        ref += f", {pages}"
    return ref


def _entry_to_paper(entry: Mapping[str, Any], source: str) -> Paper | str:
    title = _detail_text(entry.get("title"), entry.get("title_detail"))
    if not title:
        return "entry has no title"
    summary = _detail_text(entry.get("summary"), entry.get("summary_detail"))
    if not summary:
        content = entry.get("content") or []
        if content and isinstance(content[0], Mapping):
            summary = _detail_text(content[0].get("value"), content[0])
    doi = _entry_doi(entry)
    ref = _entry_arxiv(entry, doi, (title, summary))
    tags = [
        collapse_ws(t.get("term"))
        for t in entry.get("tags") or []
        if isinstance(t, Mapping) and isinstance(t.get("term"), str)
    ]
    categories = tuple(dict.fromkeys(t for t in tags if t))
    if ref is not None:
        # A blog's own tags would pollute the arXiv record this entry merges into.
        categories = tuple(c for c in categories if is_category(c))
        if doi and parse_arxiv_ref(doi):
            doi = None  # arXiv's own DOI adds nothing to the arXiv id
    # Plain dict lookup: feedparser's own get() answers "updated" with "published" and a warning.
    updated_parsed = dict.get(entry, "updated_parsed") if isinstance(entry, dict) else None
    published = (
        _parse_loose_date(entry.get("prism_publicationdate"))
        or _struct_to_dt(entry.get("published_parsed"))
        or _struct_to_dt(updated_parsed)
    )
    updated = _struct_to_dt(updated_parsed) or published
    link = entry.get("link") if isinstance(entry.get("link"), str) else None
    return Paper(
        title=title,
        authors=_entry_authors(entry),
        abstract=summary,
        arxiv_id=ref.id if ref else None,
        version=ref.version if ref else None,
        versions=(PaperVersion(ref.version, None),) if ref and ref.version else (),
        categories=categories,
        published=published,
        updated=updated,
        doi=doi,
        journal_ref=_journal_ref(entry),
        url=link or None,
        sources=(source,),
    )


def parse_feed(data: bytes | str, *, source: str) -> ParseResult:
    """Papers from any RSS 0.9x/1.0/2.0 or Atom feed.

    Raises FeedError when the document is not a feed at all or was cut off before its end (nothing
    from a truncated download is kept). Entries without a title are skipped with the reason.
    An entry that links to an arXiv abstract (or names exactly one ``arXiv:ID``) gets that id, so
    it merges with the arXiv record; it then keeps only tags that are arXiv categories.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if not raw.strip():
        raise FeedError("empty document")
    try:
        # A stream, never a str/bytes: feedparser treats those as a URL or file path to open.
        parsed = feedparser.parse(io.BytesIO(raw))
    except Exception as exc:  # feedparser's own bugs on hostile input: the document is unusable
        raise FeedError(f"unparseable feed: {exc!r}") from exc
    if parsed.get("bozo"):
        encoding = parsed.get("encoding") or "utf-8"
        try:
            text = raw.decode(encoding, errors="replace")
        except LookupError:
            text = raw.decode("utf-8", errors="replace")
        if is_truncated_xml(text):
            raise FeedError(f"feed is truncated or not XML ({parsed.get('bozo_exception')!r})")
    entries = parsed.get("entries") or []
    if not parsed.get("version") and not entries:
        raise FeedError("not an RSS or Atom feed")
    feed_meta = parsed.get("feed") or {}
    result = ParseResult(feed_title=collapse_ws(feed_meta.get("title")) or None)
    for position, entry in enumerate(entries, start=1):
        outcome = _entry_to_paper(entry, source)
        if isinstance(outcome, Paper):
            result.papers.append(outcome)
        else:
            ref = entry.get("link") or entry.get("id")
            result.skipped.append(
                SkippedEntry(position, outcome, ref if isinstance(ref, str) else None)
            )
    return result
