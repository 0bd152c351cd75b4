"""arXiv identifiers: parsing ids, abs/pdf URLs and arXiv DOIs into (id, version)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# New style: YYMM.NNNN (before 2015) or YYMM.NNNNN, optional vN.
_NEW = r"(?P<new>\d{4}\.\d{4,5})"
# Old style: archive(.SUBJ)?/YYMMNNN, e.g. hep-th/9901001, math.GT/0309136.
_OLD = r"(?P<old>[a-z][a-z\-]+(?:\.[A-Z]{2})?/\d{7})"
_VERSION = r"(?:v(?P<version>\d+))?"
_ID_RE = re.compile(rf"^(?:arxiv:)?(?:{_NEW}|{_OLD}){_VERSION}$", re.IGNORECASE)
_URL_RE = re.compile(
    rf"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/(?:{_NEW}|{_OLD}){_VERSION}"
    r"(?:\.pdf)?/?(?:[?#].*)?$",
    re.IGNORECASE,
)
_DOI_RE = re.compile(
    rf"^(?:https?://(?:dx\.)?doi\.org/|doi:)?10\.48550/arxiv\.(?:{_NEW}|{_OLD}){_VERSION}$",
    re.IGNORECASE,
)
# Finds an arXiv id inside free text (a guid, a description, a link).
_EMBEDDED_RE = re.compile(
    rf"(?:arxiv\.org/(?:abs|pdf)/|arXiv:|oai:arXiv\.org:)(?:{_NEW}|{_OLD}){_VERSION}", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class ArxivRef:
    """An arXiv id without version, and the version when the text named one."""

    id: str
    version: int | None = None

    @property
    def versioned(self) -> str:
        return f"{self.id}v{self.version}" if self.version else self.id


def _from_match(m: re.Match[str]) -> ArxivRef:
    raw = m.group("new") or m.group("old")
    if m.group("old"):
        archive, number = raw.split("/")
        # The archive is lower case; a subject class (math.GT) keeps its capitals.
        if "." in archive:
            arch, subj = archive.split(".", 1)
            raw = f"{arch.lower()}.{subj.upper()}/{number}"
        else:
            raw = f"{archive.lower()}/{number}"
    version = m.group("version")
    return ArxivRef(raw, int(version) if version else None)


def parse_arxiv_ref(text: str) -> ArxivRef | None:
    """An arXiv id (``2403.05530v2``, ``hep-th/9901001``), abs/pdf URL or arXiv DOI, else None."""
    text = text.strip()
    for pattern in (_ID_RE, _URL_RE, _DOI_RE):
        m = pattern.match(text)
        if m:
            return _from_match(m)
    return None


def find_arxiv_ref(text: str) -> ArxivRef | None:
    """The first arXiv id named inside a longer text (a guid, a link, a description)."""
    m = _EMBEDDED_RE.search(text)
    return _from_match(m) if m else None


def abs_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}"


def pdf_url(arxiv_id: str, version: int | None = None) -> str:
    return f"https://arxiv.org/pdf/{arxiv_id}" + (f"v{version}" if version else "")
