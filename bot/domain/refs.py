"""What a person may type to name a paper: an arXiv id or URL, a DOI, or a catalog key."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.domain.arxiv_ids import parse_arxiv_ref
from bot.domain.papers import normalise_doi

_DOI_RE = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)?(10\.\d{4,9}/\S+)$", re.IGNORECASE)
_KEY_RE = re.compile(r"^(?:doi:10\.\S+|t:[0-9a-f]{16})$")


@dataclass(frozen=True, slots=True)
class PaperRef:
    kind: Literal["arxiv", "doi", "key"]
    value: str
    version: int | None = None


class BadPaperRef(ValueError):
    """The text names no paper in any form we know."""


def parse_paper_ref(text: str) -> PaperRef:
    """Parse ``2403.05530v2``, an arxiv.org abs/pdf URL, a DOI (or doi.org URL) or a catalog key."""
    text = text.strip().strip("<>")
    if not text:
        raise BadPaperRef("give an arXiv id (2403.05530), an arxiv.org link or a DOI")
    arxiv = parse_arxiv_ref(text)
    if arxiv:
        return PaperRef("arxiv", arxiv.id, arxiv.version)
    if _KEY_RE.match(text):
        return PaperRef("key", text)
    m = _DOI_RE.match(text)
    if m:
        return PaperRef("doi", normalise_doi(m.group(1)) or m.group(1))
    shown = text if len(text) <= 60 else text[:57] + "..."
    raise BadPaperRef(
        f"{shown!r} is not an arXiv id, arxiv.org link or DOI "
        "(try 2403.05530, https://arxiv.org/abs/2403.05530 or 10.1145/3292500)"
    )
