"""Messages as data: the front-end-neutral model and the named, pure builders.

Nothing here imports discord or rich. Builders take domain records and return a
:class:`~bot.messages.model.Reply` that is already within Discord's limits (see
:mod:`bot.messages.limits`); the Discord and console front ends only render it, escaping every
text for their medium.
"""

from bot.messages.catalog import build_stats
from bot.messages.errors import build_error
from bot.messages.help import build_help
from bot.messages.lists import build_author_page, build_recent_page, build_search_page
from bot.messages.model import Card, Field, PagerState, Reply, RichText, Span
from bot.messages.papers import build_paper, build_paper_card, build_similar, paper_entry

__all__ = [
    "Card",
    "Field",
    "PagerState",
    "Reply",
    "RichText",
    "Span",
    "build_author_page",
    "build_error",
    "build_help",
    "build_paper",
    "build_paper_card",
    "build_recent_page",
    "build_search_page",
    "build_similar",
    "build_stats",
    "paper_entry",
]
