"""Exporting papers as BibTeX entries and CSV rows (JSON Lines lives in ingest/jsonl.py)."""

from __future__ import annotations

import re

from bot.domain.papers import Paper, fold, surname

CSV_COLUMNS = (
    "id",
    "version",
    "title",
    "authors",
    "categories",
    "published",
    "updated",
    "doi",
    "journal_ref",
    "url",
    "pdf_url",
    "sources",
)

_BIB_SPECIAL = re.compile(r"([{}\\&%$#_^~])")


def _bib_escape(text: str) -> str:
    return _BIB_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def bibtex_key(paper: Paper) -> str:
    """``surname`` + year + first title word, ASCII only: ``vaswani2017attention``."""
    first = fold(surname(paper.authors[0].name)) if paper.authors else "anon"
    year = str(paper.published.year) if paper.published else ""
    words = [w for w in re.findall(r"[a-z0-9]+", fold(paper.title)) if len(w) > 3]
    word = words[0] if words else ""
    key = re.sub(r"[^a-z0-9]", "", first + year + word)
    return key or paper.key.replace("/", "_")


def to_bibtex(paper: Paper, key: str | None = None) -> str:
    fields: list[tuple[str, str]] = [
        ("title", "{" + _bib_escape(paper.title) + "}"),
        ("author", " and ".join(_bib_escape(a.name) for a in paper.authors)),
    ]
    if paper.published:
        fields.append(("year", str(paper.published.year)))
    if paper.arxiv_id:
        fields += [("eprint", paper.arxiv_id), ("archivePrefix", "arXiv")]
        if paper.primary_category:
            fields.append(("primaryClass", paper.primary_category))
    if paper.doi:
        fields.append(("doi", _bib_escape(paper.doi)))
    if paper.journal_ref:
        fields.append(("note", _bib_escape(paper.journal_ref)))
    if paper.abs_link:
        fields.append(("url", paper.abs_link))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
    return f"@misc{{{key or bibtex_key(paper)},\n{body}\n}}\n"


def to_csv_row(paper: Paper) -> list[str]:
    return [
        paper.key,
        paper.version_label or "",
        paper.title,
        "; ".join(paper.author_names),
        " ".join(paper.categories),
        paper.published.isoformat() if paper.published else "",
        paper.updated.isoformat() if paper.updated else "",
        paper.doi or "",
        paper.journal_ref or "",
        paper.abs_link or "",
        paper.pdf_link or "",
        " ".join(paper.sources),
    ]
