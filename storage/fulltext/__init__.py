"""Full-text ranking with tantivy, kept in step with the papers table (docs/search.md).

The database stays the system of record: the index holds only what ranking and matching need
(words of the title, abstract and authors, categories, ids, the listing day) and is rebuilt or
updated from ``papers``. :class:`TantivySearch` answers searches from it and falls back to
:class:`storage.search.SqlSearch` whenever it is missing, behind the database or unreadable.
"""

from storage.fulltext.index import (
    IndexMeta,
    IndexUnavailable,
    SearchIndex,
    UpdateResult,
    build_index,
    default_index_dir,
    index_status,
    update_index,
)
from storage.fulltext.search import TantivySearch

__all__ = [
    "IndexMeta",
    "IndexUnavailable",
    "SearchIndex",
    "TantivySearch",
    "UpdateResult",
    "build_index",
    "default_index_dir",
    "index_status",
    "update_index",
]
