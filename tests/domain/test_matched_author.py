"""Which author of a paper an ``/author`` lookup found (bot.domain.search.matched_author)."""

from __future__ import annotations

import pytest

from bot.domain.search import matched_author

NAMES = (
    "A. First",
    "Gerald Hintermann",
    "C. Third",
    "D. Fourth",
    "Geoffrey E. Hinton",
    "Seán O'Brien",
    "Hinton Smith",
)


@pytest.mark.parametrize(
    ("typed", "position"),
    [
        ("Geoffrey Hinton", 4),
        ("hinton g", 4),
        ("G. E. Hinton", 4),
        ("Hintón", 4),  # accents do not matter; Hinton is the surname of the 5th, not the 7th
        ("sean o'brien", 5),
        ("o brien s", 5),
        ("smith", 6),
        ("d fourth", 3),
        ("geoffrey fourth", 3),  # the words spread over two authors: the first of the best
        ("geoffrey e fourth", 4),  # ... the one with the most of them
        ("nobody", None),
        ("", None),
        ("...", None),
    ],
)
def test_the_author_found_by_the_lookup_rules(typed: str, position: int | None) -> None:
    assert matched_author(NAMES, typed) == position


def test_the_first_of_two_authors_matching_alike() -> None:
    assert matched_author(("J. Smith", "John Smith"), "smith j") == 0
    assert matched_author((), "smith") is None
