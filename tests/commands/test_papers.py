"""/paper and /stats handlers, and the registry both front ends use."""

from __future__ import annotations

import pytest

from bot.app import Services
from bot.commands import Args, Command, Context, Registry, default_registry
from bot.commands.catalog import stats
from bot.commands.papers import paper
from bot.messages import Reply
from bot.messages.model import text_of


async def test_paper_by_id_url_or_version(services: Services) -> None:
    for ref in ("2411.17700", "https://arxiv.org/abs/2411.17700v1", "arXiv:2411.17700"):
        reply = await paper(services.catalog, ref)
        assert not reply.error
        assert reply.cards[0].url == "https://arxiv.org/abs/2411.17700"


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("2411.99999", "No paper 2411.99999 in the catalog"),
        ("hello world", "'hello world' is not an arXiv id"),
        ("", "Give an arXiv id"),
    ],
)
async def test_bad_or_unknown_paper_is_an_error_reply(
    services: Services, ref: str, message: str
) -> None:
    reply = await paper(services.catalog, ref)
    assert reply.error and reply.ephemeral
    assert reply.content.startswith(message)


async def test_stats(services: Services) -> None:
    reply = await stats(services.catalog)
    fields = {f.name: text_of(f.value) for f in reply.cards[0].fields}
    assert fields["Papers"] == "1,504"


def test_registry_names_are_unique_and_documented() -> None:
    registry = default_registry()
    names = [c.name for c in registry.commands]
    assert names == [
        "paper",
        "similar",
        "search",
        "author",
        "recent",
        "stats",
        "topic",
        "subscribe",
        "unsubscribe",
        "subscriptions",
        "digest",
        "help",
    ]
    for command in registry.commands:
        assert 1 <= len(command.description) <= 100
        assert all(1 <= len(p.description) <= 100 for p in command.params)


def test_registry_refuses_two_commands_with_one_name() -> None:
    async def run(ctx: Context, args: Args) -> Reply:
        return Reply(content="x")

    one = Command(name="x", description="x", run=run)
    with pytest.raises(ValueError, match="two commands are named /x"):
        Registry([one, one])


def test_parse_gives_the_rest_of_the_line_to_the_first_parameter() -> None:
    registry = default_registry()
    assert registry.parse("/search long context cat:cs.CL") == (
        "search",
        {"query": "long context cat:cs.CL"},
    )
    assert registry.parse("/stats") == ("stats", {})
    assert registry.parse("/recent   ") == ("recent", {})
    assert registry.parse("/nope x") == ("nope", {})


async def test_run_by_name(services: Services) -> None:
    registry = default_registry()
    reply = await registry.run(services, "paper", {"id": "2411.17702"})
    assert reply.cards[0].footer.startswith("arXiv:2411.17702")
    unknown = await registry.run(services, "nope", {})
    assert unknown.error and unknown.content == "Unknown command /nope; /help lists the commands"
    missing = await registry.run(services, "paper", {})
    assert missing.error and missing.content == "/paper needs id: /paper id"
    help_reply = await registry.run(services, "help", {})
    assert "/search query [sort]" in text_of(help_reply.cards[0].description)


async def test_turn_page_of_a_command_without_pages(services: Services) -> None:
    reply = await default_registry().turn_page(services, "stats", "", 2)
    assert reply.error
