"""Rendering replies as Discord embeds: every text escaped, every limit kept after escaping."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.discord.render import escape, render_reply
from bot.domain.papers import Paper
from bot.domain.search import SearchHit, SearchPage
from bot.messages import Reply, build_paper, build_search_page, build_similar
from tests.fakediscord.limits import check_message
from tests.messages.strategies import HEALTH, papers, texts

HOSTILE = "@everyone <@&123> ||spoiler|| [link](http://evil)"


def _body(reply: Reply) -> dict[str, object]:
    message = render_reply(reply)
    return {"content": message.content or None, "embeds": [e.to_dict() for e in message.embeds]}


def test_escape_makes_mentions_spoilers_and_masked_links_inert() -> None:
    assert escape(HOSTILE) == r"\@everyone \<\@&123> \|\|spoiler\|\| \[link\](http://evil)"
    assert escape("**bold** _it_ ~~s~~ `code`") == r"\*\*bold\*\* \_it\_ \~\~s\~\~ \`code\`"
    assert escape("# heading\n- item\n-# small\n> quote\n1. first") == (
        "\\# heading\n\\- item\n\\-# small\n\\> quote\n1\\. first"
    )
    assert escape(r"back\slash") == r"back\\slash"


def test_escape_leaves_plain_text_and_bare_urls_alone() -> None:
    assert escape("cross-border e-commerce, 2024-11-28 (PLS-SEM)") == (
        "cross-border e-commerce, 2024-11-28 (PLS-SEM)"
    )
    assert escape("code at https://github.com/a_b/c_d now") == (
        "code at https://github.com/a_b/c_d now"
    )


def test_hostile_paper_renders_escaped() -> None:
    paper = Paper(title=HOSTILE, abstract=f"We show {HOSTILE}.", arxiv_id="2411.00001", version=1)
    (embed,) = render_reply(build_paper(paper)).embeds
    assert embed.title == escape(HOSTILE)
    assert embed.description is not None and escape(HOSTILE) in embed.description
    assert "](http://evil)" not in embed.description.replace(r"\](http://evil)", "")


@settings(max_examples=60, deadline=None, suppress_health_check=HEALTH)
@given(papers)
def test_rendered_paper_passes_discords_limits(paper: Paper) -> None:
    errors, empty = check_message(_body(build_paper(paper)), creating=True)
    assert errors == {} and not empty


@settings(max_examples=25, deadline=None, suppress_health_check=HEALTH)
@given(st.lists(papers, min_size=1, max_size=10), texts)
def test_rendered_lists_pass_discords_limits(found: list[Paper], query: str) -> None:
    page = SearchPage([SearchHit(p, 0.0) for p in found], 999, 2, len(found))
    for reply in (build_search_page(page, query), build_similar(found[0], page.hits)):
        errors, empty = check_message(_body(reply), creating=True)
        assert errors == {} and not empty
