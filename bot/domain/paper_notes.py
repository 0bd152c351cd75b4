"""What a digest needs of a paper whatever the topic: its TL;DR and its candidate phrases.

Both come from the abstract alone and cost most of a digest's time (about 1 ms a paper, against
tens of microseconds for everything a topic adds), so they are worked out once, when a paper
version enters the catalog or first reaches a digest, and stored beside it (storage/notes.py).
A note knows which abstract it was taken from (:attr:`PaperNotes.fingerprint`): a new version
with a new abstract gets new notes, the same abstract announced again keeps them.

The phrases are those :func:`bot.domain.keyphrases.document_spellings` finds, grouped by their
number of words (1, 2, 3), each with its spelling as first written in the abstract, which is
what a digest's themes show.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain.keyphrases import choose_themes, document_spellings, preferred_spelling
from bot.domain.papers import Paper
from bot.domain.summaries import tldr

__all__ = ["NOTES_FORMAT", "OWN_THEMES", "TLDR_CHARS", "PaperNotes", "fingerprint", "take_notes"]

# Bumped when the TL;DR, phrase or theme rules change, so stored notes are taken again.
NOTES_FORMAT = 1
TLDR_CHARS = 280
OWN_THEMES = (
    8  # the themes of a digest of this paper alone, best first (a prefix is a shorter list)
)

Spellings = tuple[Mapping[str, str], Mapping[str, str], Mapping[str, str]]


def fingerprint(abstract: str) -> str:
    """A short digest of the abstract the notes were taken from."""
    return hashlib.blake2b(abstract.encode("utf-8"), digest_size=8).hexdigest()


@dataclass(frozen=True, slots=True)
class PaperNotes:
    """A paper's TL;DR (at most ``tldr_chars`` characters) and its candidate phrases (key ->
    spelling, by number of words)."""

    tldr: str
    phrases: Spellings
    tldr_chars: int
    fingerprint: str
    themes: tuple[str, ...] = ()  # of a digest of this paper alone, up to OWN_THEMES
    format: int = NOTES_FORMAT

    def fits(self, paper: Paper, tldr_chars: int = TLDR_CHARS) -> bool:
        """Whether these notes hold for ``paper`` as it is now, for TL;DRs of ``tldr_chars``."""
        return (
            self.format == NOTES_FORMAT
            and self.tldr_chars == tldr_chars
            and self.fingerprint == fingerprint(paper.abstract)
        )

    def to_json(self) -> str:
        data = {
            "format": self.format,
            "tldr": self.tldr,
            "tldr_chars": self.tldr_chars,
            "fingerprint": self.fingerprint,
            "phrases": [dict(group) for group in self.phrases],
            "themes": list(self.themes),
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> PaperNotes | None:
        """Notes as stored, or None when the text is not notes of the current format."""
        try:
            data: Any = json.loads(text)
            if data["format"] != NOTES_FORMAT:
                return None
            one, two, three = (
                {str(k): str(v) for k, v in group.items()} for group in data["phrases"]
            )
            return cls(
                tldr=str(data["tldr"]),
                phrases=(one, two, three),
                tldr_chars=int(data["tldr_chars"]),
                fingerprint=str(data["fingerprint"]),
                themes=tuple(str(t) for t in data["themes"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


def take_notes(paper: Paper, *, tldr_chars: int = TLDR_CHARS) -> PaperNotes:
    """The notes of ``paper`` as it is now."""
    groups: tuple[dict[str, str], dict[str, str], dict[str, str]] = ({}, {}, {})
    for key, spelling in document_spellings(paper.abstract).items():
        groups[min(2, key.count(" "))][key] = spelling
    chosen = choose_themes([dict.fromkeys(group, 1) for group in groups], 1, OWN_THEMES)
    themes: list[str] = []
    for words in chosen:
        key = " ".join(words)
        found = groups[min(2, len(words) - 1)].get(key)
        themes.append((preferred_spelling({found: 1}) if found else None) or key)
    return PaperNotes(
        tldr=tldr(paper.abstract, max_chars=tldr_chars),
        phrases=groups,
        tldr_chars=tldr_chars,
        fingerprint=fingerprint(paper.abstract),
        themes=tuple(themes),
    )
