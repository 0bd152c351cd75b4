"""JSON Lines in and out: arXiv's public metadata snapshot, and paperbot's own export shape.

The snapshot is millions of lines feeding a bulk import of thousands of papers a second, so its
path avoids anything slow per record: no dateutil, precompiled patterns, fast paths for the
common id and date spellings, TeX decoding only when a backslash or brace is present.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from bot.domain.arxiv_ids import parse_arxiv_ref
from bot.domain.arxiv_ids import pdf_url as arxiv_pdf_url
from bot.domain.ingest import SkippedEntry
from bot.domain.ingest.arxiv_api import parse_iso_datetime
from bot.domain.ingest.feeds import as_utc, latex_to_unicode, split_author_string
from bot.domain.papers import Author, Paper, PaperVersion, paper_key

_NEW_ID = re.compile(r"\d{4}\.\d{4,5}")
_MONTHS = {
    "Jan": 1,
    "Feb": 2,
    "Mar": 3,
    "Apr": 4,
    "May": 5,
    "Jun": 6,
    "Jul": 7,
    "Aug": 8,
    "Sep": 9,
    "Oct": 10,
    "Nov": 11,
    "Dec": 12,
}
# Skips json.loads' per-call encoding sniffing; bytes are decoded as UTF-8, as JSON Lines are.
_decode = json.JSONDecoder().decode


def parse_snapshot_date(text: Any) -> datetime | None:
    """``Mon, 2 Apr 2007 19:18:42 GMT`` as aware UTC; other RFC 2822 forms the slow way."""
    try:
        _, day, month, year, clock, zone = text.split(" ")
        if zone == "GMT":
            hour, minute, second = clock.split(":")
            return datetime(
                int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), tzinfo=UTC
            )
    except (ValueError, KeyError, AttributeError):
        pass
    if not isinstance(text, str) or not text:
        return None
    try:
        return as_utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        return parse_iso_datetime(text)


def _day(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.strptime(text[:10], "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return parse_iso_datetime(text)


def _str_or_none(value: Any) -> str | None:
    if isinstance(value, str):
        value = " ".join(value.split())
        return value or None
    return None


def _author_from_row(row: Any) -> Author | None:
    """The general case of an ``authors_parsed`` row: odd lengths, non-strings, affiliations."""
    if not isinstance(row, list) or not row:
        return None
    last = row[0] if isinstance(row[0], str) else ""
    first = row[1] if len(row) > 1 and isinstance(row[1], str) else ""
    suffix = row[2] if len(row) > 2 and isinstance(row[2], str) else ""
    name = " ".join(f"{first} {last} {suffix}".split())
    if "\\" in name or "{" in name:
        name = latex_to_unicode(name, name=True)
    if not name:
        return None
    extra = tuple(a.strip() for a in row[3:] if isinstance(a, str) and a.strip())
    return Author(name, extra)


def _parsed_authors(rows: list[Any]) -> tuple[Author, ...]:
    authors: list[Author] = []
    append = authors.append
    for row in rows:
        # Nearly every row is [last, first, suffix] of plain strings: build the name inline.
        if type(row) is list and len(row) == 3:
            last, first, suffix = row
            if type(last) is str and type(first) is str and type(suffix) is str:
                if first:
                    name = f"{first} {last} {suffix}" if suffix else f"{first} {last}"
                else:
                    name = f"{last} {suffix}" if suffix else last
                if "\\" in name or "{" in name:
                    name = latex_to_unicode(name, name=True)
                if name and name[0] != " " and name[-1] != " " and "  " not in name:
                    append(Author(name))
                    continue
        author = _author_from_row(row)
        if author is not None:
            append(author)
    return tuple(authors)


def _collapse(text: str) -> str:
    """Whitespace collapsed, cheaply for the snapshot's usual case (newlines, no runs of spaces)."""
    text = text.strip()
    if "\n" in text:
        text = text.replace("\n", " ")
    if "  " in text or "\t" in text or "\r" in text:
        text = " ".join(text.split())
    return text


def _version_number(label: Any) -> int | None:
    if isinstance(label, int):
        return label if label > 0 else None
    if isinstance(label, str) and label[:1] in ("v", "V") and label[1:].isdigit():
        return int(label[1:]) or None
    if isinstance(label, str) and label.isdigit():
        return int(label) or None
    return None


def _snapshot_paper(record: Any, source: str) -> Paper | str:
    if not isinstance(record, dict):
        return "line is not a JSON object"
    raw_id = record.get("id")
    if not isinstance(raw_id, str) or not raw_id.strip():
        return "record has no id"
    if _NEW_ID.fullmatch(raw_id):
        arxiv_id = raw_id
    else:
        ref = parse_arxiv_ref(raw_id)
        if ref is None:
            return f"record id is not an arXiv id: {raw_id[:60]!r}"
        arxiv_id = ref.id
    title = record.get("title")
    if not isinstance(title, str) or not title.strip():
        return "record has no title"
    title = _collapse(title)
    if "\\" in title:
        title = latex_to_unicode(title)
    abstract = record.get("abstract")
    abstract = _collapse(abstract) if isinstance(abstract, str) else ""
    if "\\" in abstract:
        abstract = latex_to_unicode(abstract)

    parsed = record.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        authors = _parsed_authors(parsed)
    elif isinstance(record.get("authors"), str):
        authors = tuple(split_author_string(record["authors"]))
    else:
        authors = ()

    versions: list[PaperVersion] = []
    raw_versions = record.get("versions")
    if isinstance(raw_versions, list):
        for item in raw_versions:
            if isinstance(item, dict):
                number = _version_number(item.get("version"))
                if number is not None:
                    versions.append(PaperVersion(number, parse_snapshot_date(item.get("created"))))
    if versions:
        versions.sort(key=lambda v: v.version)
        version: int | None = versions[-1].version
        published = versions[0].submitted if versions[0].version == 1 else None
        updated = versions[-1].submitted or _day(record.get("update_date"))
    else:
        version = None
        published = None
        updated = _day(record.get("update_date"))

    categories = record.get("categories")
    doi = record.get("doi")
    return Paper(
        title=title,
        authors=authors,
        abstract=abstract,
        arxiv_id=arxiv_id,
        version=version,
        categories=tuple(categories.split()) if isinstance(categories, str) else (),
        published=published,
        updated=updated,
        # Some records list several DOIs separated by spaces; the first is the article's.
        doi=doi.split()[0] if isinstance(doi, str) and doi.strip() else None,
        journal_ref=_str_or_none(record.get("journal-ref")),
        comment=_str_or_none(record.get("comments")),
        url=f"https://arxiv.org/abs/{arxiv_id}",
        pdf_url=arxiv_pdf_url(arxiv_id, version),
        sources=(source,),
        versions=tuple(versions),
    )


def _ref_of(record: Any) -> str | None:
    if isinstance(record, dict):
        for key in ("id", "title"):
            value = record.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()[:120]
    return None


def _iter_records(
    lines: Iterable[str | bytes], convert: Any, source: str
) -> Iterator[Paper | SkippedEntry]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = _decode(line if isinstance(line, str) else line.decode("utf-8"))
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike
            yield SkippedEntry(number, f"invalid JSON: {exc}")
            continue
        except RecursionError:
            yield SkippedEntry(number, "invalid JSON: nested too deeply")
            continue
        outcome = convert(record, source)
        if isinstance(outcome, Paper):
            yield outcome
        else:
            yield SkippedEntry(number, outcome, _ref_of(record))


def iter_snapshot(
    lines: Iterable[str | bytes], *, source: str = "arxiv-snapshot"
) -> Iterator[Paper | SkippedEntry]:
    """Papers from arXiv's metadata snapshot (one JSON object a line), streamed.

    Names come from ``authors_parsed`` ("First Last Suffix") when present, else from ``authors``.
    ``published`` is v1's date, ``updated`` the last version's (else ``update_date``). A bad line
    yields a SkippedEntry with its 1-based line number and the reason; iteration goes on.
    """
    return _iter_records(lines, _snapshot_paper, source)


# ---------------------------------------------------------------------------------------------
# paperbot's own export shape


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return as_utc(value).isoformat().replace("+00:00", "Z")


def paper_to_json(paper: Paper) -> dict[str, Any]:
    """The export shape of a paper (``show --json``, ``export --format jsonl``); every key always.

    ``affiliations`` is the paper's list: the shape does not say which author is where, so an
    import gives every author all of them.
    """
    return {
        "id": paper.arxiv_id or paper.key,
        "version": paper.version_label,
        "title": paper.title,
        "authors": list(paper.author_names),
        "affiliations": list(paper.affiliations),
        "categories": list(paper.categories),
        "published": _iso(paper.published),
        "updated": _iso(paper.updated),
        "abstract": paper.abstract,
        "doi": paper.doi,
        "journal_ref": paper.journal_ref,
        "comment": paper.comment,
        "url": paper.url,
        "pdf_url": paper.pdf_url,
        "sources": list(paper.sources),
    }


def _str_list(value: Any, *, split: bool = False) -> list[str]:
    if isinstance(value, str):
        return value.split() if split else [value.strip()] if value.strip() else []
    if isinstance(value, list):
        return [v.strip() for v in value if isinstance(v, str) and v.strip()]
    return []


def _export_paper(record: Any, source: str) -> Paper | str:
    if not isinstance(record, dict):
        return "line is not a JSON object"
    raw_id = record.get("id")
    if not isinstance(raw_id, str) or not raw_id.strip():
        return "record has no id"
    raw_id = raw_id.strip()
    title = record.get("title")
    if not isinstance(title, str) or not title.strip():
        return "record has no title"
    ref = parse_arxiv_ref(raw_id)
    abstract = record.get("abstract")
    version = _version_number(record.get("version")) or (ref.version if ref else None)
    affiliations = tuple(_str_list(record.get("affiliations")))
    authors: list[Author] = []
    raw_authors = record.get("authors")
    if isinstance(raw_authors, str):
        raw_authors = [a.name for a in split_author_string(raw_authors)]
    for item in raw_authors if isinstance(raw_authors, list) else []:
        if isinstance(item, str) and item.strip():
            authors.append(Author(item.strip(), affiliations))
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            own = tuple(_str_list(item.get("affiliations")))
            authors.append(Author(item["name"].strip(), own or affiliations))
    updated = (
        parse_iso_datetime(record["updated"]) if isinstance(record.get("updated"), str) else None
    )
    published = (
        parse_iso_datetime(record["published"])
        if isinstance(record.get("published"), str)
        else None
    )
    paper = Paper(
        title=" ".join(title.split()),
        authors=tuple(authors),
        abstract=abstract if isinstance(abstract, str) else "",
        arxiv_id=ref.id if ref else None,
        version=version,
        versions=(PaperVersion(version, updated),) if version else (),
        categories=tuple(_str_list(record.get("categories"), split=True)),
        published=published,
        updated=updated,
        doi=_str_or_none(record.get("doi")),
        journal_ref=_str_or_none(record.get("journal_ref")),
        comment=_str_or_none(record.get("comment")),
        url=_str_or_none(record.get("url")),
        pdf_url=_str_or_none(record.get("pdf_url")),
        sources=tuple(_str_list(record.get("sources"))) or (source,),
    )
    if ref is None and raw_id != paper_key(paper):
        # A stored title key outlives title edits; keep the one the export was made under.
        return replace(paper, catalog_key=raw_id)
    return paper


def iter_papers_jsonl(
    lines: Iterable[str | bytes], *, source: str = "paperbot-jsonl"
) -> Iterator[Paper | SkippedEntry]:
    """Papers from paperbot's own export (see :func:`paper_to_json`); bad lines become SkippedEntry.

    An id that is not an arXiv id (``doi:...``, ``t:...``) is kept as the paper's catalog key.
    """
    return _iter_records(lines, _export_paper, source)
