"""Paged lists whose state is kept in the database: the record, its key, and the store port.

A page button carries what it needs to turn a list in its ``custom_id`` (at most 100 characters):
the command, the page, the asker and the command's argument (the query, with any ``sort:``). A
long query does not fit; the list's state is then stored as a :class:`PagedQuery` under a short
key derived from its content, and the button carries only the key and the page. The key is the
same for the same command, argument and asker, so storing a list twice keeps one row, and it is
the same in every process, so the buttons work after a restart.

storage.paged_queries.SqlPagedQueries implements :class:`PagedQueryStore` on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Protocol

__all__ = ["KEY_LENGTH", "PagedQuery", "PagedQueryStore", "paged_query_key"]

# 24 hex digits: 96 bits, far from any collision among the lists a bot ever pages.
KEY_LENGTH = 24


@dataclass(frozen=True, slots=True)
class PagedQuery:
    """What turning a list's pages needs: the command, its argument, and who may turn them."""

    command: str
    argument: str
    owner_id: int

    @property
    def key(self) -> str:
        return paged_query_key(self)


def paged_query_key(query: PagedQuery) -> str:
    """A short, stable key for ``query``: hex digits of a SHA-256 of its three parts."""
    data = json.dumps([query.command, query.argument, query.owner_id], ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:KEY_LENGTH]


class PagedQueryStore(Protocol):
    """Where long lists' page state lives between clicks (and restarts)."""

    def save(self, query: PagedQuery) -> str:
        """Store ``query`` under its key (once: saving it again changes nothing but the time it
        was last used) and return the key."""
        ...

    def get(self, key: str) -> PagedQuery | None:
        """The list stored under ``key``, or None if there is none."""
        ...
