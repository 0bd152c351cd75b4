"""The paper: the one record every source is turned into, and how two records of one work merge."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime

from bot.domain.arxiv_ids import abs_url, pdf_url


@dataclass(frozen=True, slots=True)
class Author:
    name: str
    affiliations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PaperVersion:
    version: int
    submitted: datetime | None = None


@dataclass(frozen=True, slots=True)
class Paper:
    """One work, however many versions, cross-lists and sources announce it.

    ``key`` is the arXiv id without version when there is one, else a stable key derived from the
    DOI or from the normalised title and first author (see :func:`paper_key`); once stored, the key
    the catalog holds it under.
    """

    title: str
    authors: tuple[Author, ...] = ()
    abstract: str = ""
    arxiv_id: str | None = None
    version: int | None = None
    categories: tuple[str, ...] = ()  # primary first
    published: datetime | None = None
    updated: datetime | None = None
    doi: str | None = None
    journal_ref: str | None = None
    comment: str | None = None
    url: str | None = None
    pdf_url: str | None = None
    sources: tuple[str, ...] = ()
    versions: tuple[PaperVersion, ...] = ()
    # What the announcing feed said of this entry (new, cross, replace, replace-cross); not stored.
    announce_type: str | None = None
    # When the paper entered the catalog; set by storage.
    added_at: datetime | None = None
    # The key the catalog holds this paper under, once stored (a title key must not change when
    # a later version changes the title); None for a paper fresh from a parser.
    catalog_key: str | None = None

    @property
    def key(self) -> str:
        return self.catalog_key or paper_key(self)

    @property
    def primary_category(self) -> str | None:
        return self.categories[0] if self.categories else None

    @property
    def author_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.authors)

    @property
    def affiliations(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for author in self.authors:
            for aff in author.affiliations:
                seen.setdefault(aff, None)
        return tuple(seen)

    @property
    def version_label(self) -> str | None:
        return f"v{self.version}" if self.version else None

    @property
    def abs_link(self) -> str | None:
        return abs_url(self.arxiv_id) if self.arxiv_id else self.url

    @property
    def pdf_link(self) -> str | None:
        if self.arxiv_id:
            return pdf_url(self.arxiv_id, self.version)
        return self.pdf_url


class _CombiningMarks(dict[int, int | None]):
    """A ``str.translate`` table that deletes combining marks, filled as characters are met.

    The same as dropping every ``c`` with ``unicodedata.combining(c)``, one dict lookup a
    character instead of a Python-level call.
    """

    def __missing__(self, code: int) -> int | None:
        value = None if unicodedata.combining(chr(code)) else code
        self[code] = value
        return value


_COMBINING_MARKS = _CombiningMarks()


def fold(text: str) -> str:
    """Lower case, accents removed, whitespace collapsed: how names and titles are compared."""
    if text.isascii():
        # NFKD changes no ASCII text, ASCII has no combining marks and casefold() is lower().
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFKD", text)
    if not decomposed.isascii():
        decomposed = decomposed.translate(_COMBINING_MARKS)
    return " ".join(decomposed.casefold().split())


_NON_WORD = re.compile(r"[^\w]+")
# For ASCII text, [^\w] is every character but letters, digits and the underscore.
_ASCII_NON_WORD = {i: " " for i in range(128) if not (chr(i).isalnum() or chr(i) == "_")}


def normalise_title(title: str) -> str:
    if title.isascii():
        # The same as the regular expression below: runs of non-word characters become single
        # spaces, and none is left at either end (fold's whitespace is non-word too).
        return " ".join(title.lower().translate(_ASCII_NON_WORD).split())
    return _NON_WORD.sub(" ", fold(title)).strip()


def normalise_doi(doi: str | None) -> str | None:
    if not doi:
        return None
    doi = doi.strip()
    doi = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", doi, flags=re.IGNORECASE)
    return doi.lower() or None


def surname(name: str) -> str:
    """The family name of 'Given Family' or 'Family, Given'."""
    name = name.strip()
    if "," in name:
        return name.split(",", 1)[0].strip()
    parts = name.split()
    return parts[-1] if parts else ""


def title_key(paper: Paper) -> str:
    """``t:`` + a hash of the normalised title and the first author's surname.

    The key of a paper known by nothing else (a listing entry, a blog post), and the alias through
    which such a record joins the arXiv paper of the same work.
    """
    first = fold(surname(paper.authors[0].name)) if paper.authors else ""
    digest = hashlib.sha1(f"{normalise_title(paper.title)}|{first}".encode()).hexdigest()
    return f"t:{digest[:16]}"


def paper_key(paper: Paper) -> str:
    """The catalog key: arXiv id, else ``doi:<doi>``, else :func:`title_key`."""
    if paper.arxiv_id:
        return paper.arxiv_id
    doi = normalise_doi(paper.doi)
    if doi:
        return f"doi:{doi}"
    return title_key(paper)


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*a, *b)))


def _merge_versions(
    a: tuple[PaperVersion, ...], b: tuple[PaperVersion, ...]
) -> tuple[PaperVersion, ...]:
    by_number: dict[int, PaperVersion] = {}
    for v in (*a, *b):
        known = by_number.get(v.version)
        if known is None or (known.submitted is None and v.submitted is not None):
            by_number[v.version] = v
    return tuple(by_number[n] for n in sorted(by_number))


def _merge_authors(stored: tuple[Author, ...], incoming: tuple[Author, ...]) -> tuple[Author, ...]:
    """Incoming order and names win when given; affiliations known on either side are kept."""
    if not incoming:
        return stored
    known = {fold(a.name): a.affiliations for a in stored}
    return tuple(
        a if a.affiliations else Author(a.name, known.get(fold(a.name), ())) for a in incoming
    )


def merge(stored: Paper, incoming: Paper) -> Paper:
    """The paper after ``incoming`` arrives for the work already stored as ``stored``.

    The newer version's text wins (a replacement updates title, abstract and authors); an older
    or repeated announcement only adds what was missing. Version history, sources and
    categories accumulate; the primary category comes from whichever side states one first.
    """
    stored_v = stored.version or 0
    incoming_v = incoming.version or 0
    newer = incoming_v > stored_v or (
        incoming_v == stored_v
        and incoming.updated is not None
        and (stored.updated is None or incoming.updated > stored.updated)
    )
    base, other = (incoming, stored) if newer else (stored, incoming)
    versions = _merge_versions(stored.versions, incoming.versions)
    if incoming.version and not any(v.version == incoming.version for v in versions):
        versions = _merge_versions(versions, (PaperVersion(incoming.version, incoming.updated),))
    return replace(
        stored,
        title=base.title or other.title,
        abstract=base.abstract or other.abstract,
        authors=_merge_authors(other.authors, base.authors) if base.authors else other.authors,
        version=max(stored_v, incoming_v) or None,
        categories=_union(stored.categories, incoming.categories)
        if stored.categories
        else incoming.categories,
        published=_earlier(stored.published, incoming.published),
        updated=_later(stored.updated, incoming.updated),
        doi=stored.doi or incoming.doi,
        journal_ref=base.journal_ref or other.journal_ref,
        comment=base.comment or other.comment,
        url=stored.url or incoming.url,
        pdf_url=stored.pdf_url or incoming.pdf_url,
        sources=_union(stored.sources, incoming.sources),
        versions=versions,
        announce_type=incoming.announce_type,
        added_at=stored.added_at,
        catalog_key=stored.key,
    )
