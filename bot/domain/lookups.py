"""Lookups the front ends share (Discord, console, CLI): domain functions over the Catalog port."""

from __future__ import annotations

from bot.domain.catalog import Catalog
from bot.domain.papers import Paper
from bot.domain.refs import BadPaperRef, parse_paper_ref

__all__ = ["BadPaperRef", "PaperNotFound", "find_paper"]


class PaperNotFound(LookupError):
    """The reference was well formed, but the catalog holds no such paper."""


def find_paper(catalog: Catalog, text: str) -> Paper:
    """The paper named by an arXiv id (any version), abs/pdf URL, DOI or catalog key.

    Raises BadPaperRef for text that names no paper, PaperNotFound for one not in the catalog.
    """
    ref = parse_paper_ref(text)
    paper = catalog.find_by_doi(ref.value) if ref.kind == "doi" else catalog.get(ref.value)
    if paper is None and ref.kind == "doi" and ref.value.startswith("10.48550/arxiv."):
        paper = catalog.get(ref.value.removeprefix("10.48550/arxiv."))
    if paper is None:
        shown = f"{ref.value}v{ref.version}" if ref.version else ref.value
        raise PaperNotFound(f"no paper {shown} in the catalog (it may not have been ingested yet)")
    return paper
