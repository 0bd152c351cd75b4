"""End-to-end tests: the real discord.py client (commands.Bot) against FakeDiscord."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass

import discord
import pytest
import yarl
from discord import app_commands
from discord.ext import commands

from . import FakeDiscord, Perm
from .limits import check_autocomplete, check_message

PAPERS = [
    "Attention Is All You Need",
    "Transformers are RNNs",
    "Training Compute-Optimal Large Language Models",
    "Deep Residual Learning for Image Recognition",
]


class SubscribeView(discord.ui.View):
    """Persistent view: fixed custom_ids, no timeout, registered with bot.add_view()."""

    def __init__(self, bot: PaperBot) -> None:
        super().__init__(timeout=None)
        self.bot = bot

    @discord.ui.button(label="Subscribe", custom_id="paperbot:subscribe")
    async def subscribe(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.bot.clicks.append((interaction.user.id, "subscribe"))
        await interaction.response.send_message(
            f"subscribed {interaction.user.name}", ephemeral=True
        )

    @discord.ui.button(label="Dismiss", custom_id="paperbot:dismiss")
    async def dismiss(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.bot.clicks.append((interaction.user.id, "dismiss"))
        await interaction.response.edit_message(content="dismissed", view=None)


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    text: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(
        label="Your feedback", custom_id="feedback:text"
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"thanks: {self.text.value}", ephemeral=True)


class PaperBot(commands.Bot):
    def __init__(self) -> None:
        super().__init__(
            command_prefix="!",
            intents=discord.Intents.default(),
            guild_ready_timeout=0.1,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.clicks: list[tuple[int, str]] = []
        self.errors: list[BaseException] = []
        self.error_seen = asyncio.Event()
        self.resumed = 0

    async def on_resumed(self) -> None:
        self.resumed += 1

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # discord.py sleeps 5 s here before every non-initial IDENTIFY (after op 9).
        return None

    async def setup_hook(self) -> None:
        self.add_view(SubscribeView(self))
        tree = self.tree

        @tree.error
        async def on_tree_error(
            interaction: discord.Interaction, error: app_commands.AppCommandError
        ) -> None:
            self.errors.append(getattr(error, "original", error))
            self.error_seen.set()

        @tree.command(name="echo", description="Echo text back")
        async def echo(interaction: discord.Interaction, text: str) -> None:
            await interaction.response.send_message(text)

        @tree.command(name="slow", description="Deferred answer")
        async def slow(interaction: discord.Interaction, text: str) -> None:
            await interaction.response.defer(thinking=True)
            await interaction.followup.send(f"done: {text}")

        @tree.command(name="big", description="An embed over the 4096 description limit")
        async def big(interaction: discord.Interaction) -> None:
            embed = discord.Embed(title="too long", description="x" * 4100)
            await interaction.response.send_message(embed=embed)

        @tree.command(name="panel", description="Message with buttons")
        async def panel(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pick one", view=SubscribeView(self))

        @tree.command(name="feedback", description="Opens a modal")
        async def feedback(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(FeedbackModal())

        @tree.command(name="paper", description="Find a paper")
        async def paper(interaction: discord.Interaction, query: str) -> None:
            await interaction.response.send_message(f"paper: {query}")

        @paper.autocomplete("query")
        async def paper_ac(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            hits = [p for p in PAPERS if current.lower() in p.lower()]
            return [app_commands.Choice(name=p, value=p) for p in hits][:25]

        papers = app_commands.Group(name="papers", description="Paper catalog")

        @papers.command(name="search", description="Search the catalog")
        async def search(interaction: discord.Interaction, query: str, limit: int = 5) -> None:
            await interaction.response.send_message(f"{query}:{limit}")

        tree.add_command(papers)


@dataclass
class World:
    fake: FakeDiscord
    bot: PaperBot
    guild_id: int
    channel_id: int
    readonly_id: int
    user_id: int


def _setup(fake: FakeDiscord) -> tuple[int, int, int, int]:
    gid = fake.add_guild("Lab")
    cid = fake.add_channel(gid, "papers")
    readonly = fake.add_channel(gid, "announcements", bot_can_post=False)
    uid = fake.add_member(gid, 4242, "alice")
    return gid, cid, readonly, uid


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with FakeDiscord() as fake:
        gid, cid, readonly, uid = _setup(fake)
        bot = PaperBot()
        async with fake.run_client(bot):
            await bot.tree.sync()
            yield World(fake, bot, gid, cid, readonly, uid)


# ---------------------------------------------------------------------- start-up and sync


async def test_ready_guild_cache_and_sync(world: World) -> None:
    fake, bot = world.fake, world.bot
    assert bot.is_ready()
    assert bot.user is not None and bot.user.id == fake.bot_user.id
    assert bot.application_id == fake.application_id
    guild = bot.get_guild(world.guild_id)
    assert guild is not None and guild.me is not None
    channel = guild.get_channel(world.channel_id)
    assert isinstance(channel, discord.TextChannel)
    assert channel.permissions_for(guild.me).send_messages
    readonly = guild.get_channel(world.readonly_id)
    assert isinstance(readonly, discord.TextChannel)
    assert not readonly.permissions_for(guild.me).send_messages  # overwrite reached the cache
    assert {c["name"] for c in fake.commands} == {
        "echo",
        "slow",
        "big",
        "panel",
        "feedback",
        "paper",
        "papers",
    }
    assert all(c["id"] and c["application_id"] == str(fake.application_id) for c in fake.commands)
    assert fake.requests_to("GET", r"^/users/@me$") and fake.requests_to("GET", r"applications/@me")
    fetched = await bot.tree.fetch_commands()
    assert sorted(c.id for c in fetched) == sorted(int(c["id"]) for c in fake.commands)
    # Re-syncing keeps ids stable, like Discord does.
    ids = {c["name"]: c["id"] for c in fake.commands}
    await bot.tree.sync()
    assert {c["name"]: c["id"] for c in fake.commands} == ids


async def test_guild_sync_and_client_configured_by_attributes_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with FakeDiscord() as fake:
        gid, cid, _, uid = _setup(fake)
        # What the application does with PAPERBOT_DISCORD_API_BASE / _GATEWAY_URL.
        monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
        monkeypatch.setattr(
            discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url)
        )
        bot = PaperBot()
        async with fake.run_client(bot, configure=False):
            guild = discord.Object(gid)
            bot.tree.copy_global_to(guild=guild)
            await bot.tree.sync(guild=guild)
            assert fake.commands == []
            assert "echo" in {c["name"] for c in fake.guild_commands[gid]}
            handle = await fake.send_slash_command(gid, cid, uid, "echo", {"text": "guild"})
            assert handle.payload["data"]["guild_id"] == str(gid)
            await handle.wait_for_messages(1)
            assert handle.content == "guild"


# ---------------------------------------------------------------------- slash commands


async def test_slash_command_echo(world: World) -> None:
    fake = world.fake
    handle = await fake.send_slash_command(
        world.guild_id, world.channel_id, world.user_id, "echo", {"text": "hello papers"}
    )
    resp = await handle.wait_for_response()
    assert resp.type == 4
    (msg,) = await handle.wait_for_messages(1)
    assert msg.via == "interaction" and msg.content == "hello papers"
    assert msg.channel_id == world.channel_id and not msg.ephemeral
    assert handle.content == "hello papers"
    assert fake.last_response_for(handle.id) == resp
    assert fake.messages_in(world.channel_id) == [msg]
    data = handle.payload
    assert data["member"]["permissions"] == str(fake.guilds[world.guild_id].base_permissions(4242))
    assert data["data"]["options"] == [{"name": "text", "type": 3, "value": "hello papers"}]


async def test_subcommand_with_typed_options(world: World) -> None:
    handle = await world.fake.send_slash_command(
        world.guild_id,
        world.channel_id,
        world.user_id,
        "papers search",
        {"query": "rl", "limit": 3},
    )
    await handle.wait_for_messages(1)
    assert handle.content == "rl:3"
    sub = handle.payload["data"]["options"][0]
    assert sub["type"] == 1 and sub["name"] == "search"
    assert {"name": "limit", "type": 4, "value": 3} in sub["options"]


async def test_deferred_then_followup(world: World) -> None:
    handle = await world.fake.send_slash_command(
        world.guild_id, world.channel_id, world.user_id, "slow", {"text": "digest"}
    )
    resp = await handle.wait_for_response()
    assert resp.type == 5
    (msg,) = await handle.wait_for_messages(1)
    assert msg.via == "followup" and msg.content == "done: digest"
    # The first followup after a deferral fills the "thinking" message (same id).
    assert handle.original is not None and handle.original.id == msg.id
    assert not msg.loading


async def test_over_limit_embed_is_rejected_and_recorded(world: World) -> None:
    fake = world.fake
    handle = await fake.send_slash_command(world.guild_id, world.channel_id, world.user_id, "big")
    rejection = await handle.wait_for_rejection()
    assert (rejection.status, rejection.code) == (400, 50035)
    assert rejection.error_paths() == ["data.embeds.0.description"]
    assert rejection in fake.rejections
    await asyncio.wait_for(world.bot.error_seen.wait(), 5)
    error = world.bot.errors[0]
    assert isinstance(error, discord.HTTPException) and error.code == 50035
    assert handle.messages == [] and not handle.responded


async def test_429_on_callback_is_retried_once(world: World) -> None:
    fake = world.fake
    rule = fake.fail_next("POST", r"^/interactions/\d+/[^/]+/callback$", status=429)
    handle = await fake.send_slash_command(
        world.guild_id, world.channel_id, world.user_id, "echo", {"text": "again"}
    )
    await handle.wait_for_messages(1)
    assert rule.hits == 1
    statuses = [r.status for r in fake.requests_to("POST", r"/callback$")]
    assert statuses == [429, 200]
    assert [m.content for m in fake.messages_in(world.channel_id)] == ["again"]
    assert fake.rejections[-1].reason == "injected"


async def test_429_on_followup_is_retried_once(world: World) -> None:
    fake = world.fake
    fake.fail_next("POST", r"^/webhooks/\d+/[^/]+$", status=429, retry_after=0.05)
    handle = await fake.send_slash_command(
        world.guild_id, world.channel_id, world.user_id, "slow", {"text": "x"}
    )
    await handle.wait_for_messages(1)
    assert [r.status for r in fake.requests_to("POST", r"^/webhooks/")] == [429, 200]
    assert len(handle.messages) == 1 and handle.content == "done: x"


async def test_expired_interaction_gives_unknown_interaction(world: World) -> None:
    fake = world.fake
    handle = await fake.send_slash_command(
        world.guild_id, world.channel_id, world.user_id, "echo", {"text": "late"}
    )
    fake.expire_interaction(handle)
    rejection = await handle.wait_for_rejection()
    assert (rejection.status, rejection.code) == (404, 10062)
    await asyncio.wait_for(world.bot.error_seen.wait(), 5)
    assert isinstance(world.bot.errors[0], discord.NotFound)


# ---------------------------------------------------------------------- autocomplete, components


async def test_autocomplete_choices(world: World) -> None:
    choices = await world.fake.send_autocomplete(
        world.guild_id, world.channel_id, world.user_id, "paper", {"query": "tra"}, focused="query"
    )
    assert [c["name"] for c in choices] == [
        "Transformers are RNNs",
        "Training Compute-Optimal Large Language Models",
    ]
    handle = world.fake.last_interaction
    assert handle is not None
    focused = handle.payload["data"]["options"][0]
    assert focused == {"name": "query", "type": 3, "value": "tra", "focused": True}


async def test_component_click_reaches_persistent_view(world: World) -> None:
    fake = world.fake
    panel = await fake.send_slash_command(world.guild_id, world.channel_id, world.user_id, "panel")
    (msg,) = await panel.wait_for_messages(1)
    assert msg.custom_ids == ["paperbot:subscribe", "paperbot:dismiss"]

    click = await fake.send_component_click(msg, "paperbot:subscribe", world.user_id)
    (reply,) = await click.wait_for_messages(1)
    assert world.bot.clicks == [(world.user_id, "subscribe")]
    assert reply.content == "subscribed alice" and reply.ephemeral

    dismiss = await fake.send_component_click(msg, "paperbot:dismiss", world.user_id)
    (edited,) = await dismiss.wait_for_messages(1)
    assert (await dismiss.wait_for_response()).type == 7
    assert edited.id == msg.id and edited.via == "edit"
    assert edited.content == "dismissed" and edited.components == []
    assert fake.message(msg.id) == edited


async def test_modal_round_trip(world: World) -> None:
    fake = world.fake
    opener = await fake.send_slash_command(
        world.guild_id, world.channel_id, world.user_id, "feedback"
    )
    resp = await opener.wait_for_response()
    assert resp.type == 9 and opener.modal is not None
    submit = await opener.submit_modal({"feedback:text": "great bot"})
    (msg,) = await submit.wait_for_messages(1)
    assert msg.content == "thanks: great bot" and msg.ephemeral


# ---------------------------------------------------------------------- channel messages


async def test_same_nonce_twice_records_one_message(world: World) -> None:
    fake = world.fake
    channel = world.bot.get_channel(world.channel_id)
    assert isinstance(channel, discord.TextChannel)
    first = await channel.send("new paper", nonce="paper-42")
    second = await channel.send("new paper", nonce="paper-42")
    assert first.id == second.id
    assert len(fake.messages_in(world.channel_id)) == 1
    assert [m.nonce for m in fake.messages] == ["paper-42"]
    third = await channel.send("another paper")  # discord.py picks a random nonce
    assert third.id != first.id and len(fake.messages_in(world.channel_id)) == 2


async def test_channel_access_errors_raise_in_client(world: World) -> None:
    fake, bot = world.fake, world.bot
    channel = bot.get_channel(world.channel_id)
    readonly = bot.get_channel(world.readonly_id)
    assert isinstance(channel, discord.TextChannel) and isinstance(readonly, discord.TextChannel)

    with pytest.raises(discord.Forbidden) as missing_perms:
        await readonly.send("nope")
    assert missing_perms.value.code == 50013

    fake.set_channel_access(world.channel_id, allowed=False)
    for _ in range(2):  # permanent, not a one-off
        with pytest.raises(discord.Forbidden) as missing_access:
            await channel.send("nope")
        assert missing_access.value.code == 50001

    gone = fake.add_channel(world.guild_id, "gone")
    fake.delete_channel(gone)
    with pytest.raises(discord.NotFound) as unknown:
        await bot.http.send_message(gone, params=discord.http.handle_message_parameters("x"))
    assert unknown.value.code == 10003
    assert fake.messages == []
    assert [r.code for r in fake.rejections] == [50013, 50001, 50001, 10003]


async def test_content_over_2000_is_rejected(world: World) -> None:
    channel = world.bot.get_channel(world.channel_id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as exc:
        await channel.send("x" * 2001)
    assert exc.value.code == 50035 and exc.value.status == 400
    assert world.fake.rejections[-1].error_paths() == ["content"]


async def test_threads_edit_and_delete(world: World) -> None:
    fake = world.fake
    channel = world.bot.get_channel(world.channel_id)
    assert isinstance(channel, discord.TextChannel)
    root = await channel.send("paper of the day")
    thread = await root.create_thread(name="discussion")
    assert thread.id == root.id and thread.parent_id == channel.id
    await thread.send("first comment")
    standalone = await channel.create_thread(
        name="weekly digest", type=discord.ChannelType.public_thread
    )
    await standalone.send("digest body")
    assert [m.content for m in fake.messages_in(thread.id)] == ["first comment"]
    assert [m.content for m in fake.messages_in(standalone.id)] == ["digest body"]
    assert fake.channels[standalone.id].parent_id == channel.id

    edited = await root.edit(content="paper of the day (updated)")
    assert edited.content == "paper of the day (updated)"
    assert fake.messages[-1].via == "edit"
    await root.delete()
    assert fake.message(root.id) is not None and fake.message(root.id).deleted  # type: ignore[union-attr]
    assert [m.id for m in fake.messages_in(world.channel_id)] == []


async def test_thread_limits_and_access(world: World) -> None:
    fake = world.fake
    channel = world.bot.get_channel(world.channel_id)
    assert isinstance(channel, discord.TextChannel)
    root = await channel.send("digest header")
    for bad in ({"name": "x" * 101}, {"name": "ok", "auto_archive_duration": 30}):
        with pytest.raises(discord.HTTPException) as exc:
            await world.bot.http.start_thread_with_message(
                channel.id,
                root.id,
                auto_archive_duration=bad.get("auto_archive_duration", 1440),  # type: ignore[arg-type]
                name=str(bad["name"]),
            )
        assert exc.value.status == 400 and exc.value.code == 50035
    thread = await root.create_thread(name="digest", auto_archive_duration=1440)
    with pytest.raises(discord.HTTPException) as again:
        await root.create_thread(name="digest")
    assert again.value.status == 400 and again.value.code == 160004  # one thread per message
    await thread.send("continued")
    fake.set_channel_access(channel.id, False)  # the channel's threads go with it
    with pytest.raises(discord.Forbidden):
        await thread.send("lost")
    fake.set_channel_access(channel.id, True)
    fake.delete_channel(channel.id)
    with pytest.raises(discord.NotFound):
        await thread.send("gone")
    assert [m.content for m in fake.messages_in(thread.id)] == ["continued"]


# ---------------------------------------------------------------------- gateway


async def test_resume_after_reconnect_and_invalid_session(world: World) -> None:
    fake, bot = world.fake, world.bot
    fake.reconnect_client()
    await fake.wait_for(lambda: fake.resume_count == 1, what="RESUME")
    await fake.wait_until_identified()
    handle = await fake.send_slash_command(
        world.guild_id, world.channel_id, world.user_id, "echo", {"text": "after resume"}
    )
    await handle.wait_for_messages(1)
    assert bot.resumed == 1 and fake.identify_count == 1

    fake.invalidate_session()
    fake.close_gateway(4000)
    await fake.wait_for(lambda: fake.identify_count == 2, what="a fresh IDENTIFY")
    handle = await fake.send_slash_command(
        world.guild_id, world.channel_id, world.user_id, "echo", {"text": "new session"}
    )
    await handle.wait_for_messages(1)
    assert handle.content == "new session"


# ---------------------------------------------------------------------- limits (no client)


def test_message_limits() -> None:
    def paths(body: dict[str, object]) -> list[str]:
        errors, _ = check_message(body, creating=True)
        out: list[str] = []

        def walk(node: object, prefix: str) -> None:
            if isinstance(node, dict):
                if "_errors" in node:
                    out.append(prefix)
                for k, v in node.items():
                    if k != "_errors":
                        walk(v, f"{prefix}.{k}" if prefix else k)

        walk(errors, "")
        return out

    assert paths({"content": "x" * 2000}) == []
    assert paths({"content": "x" * 2001}) == ["content"]
    assert paths({"embeds": [{"title": "t"}] * 11}) == ["embeds"]
    assert paths({"embeds": [{"description": "x" * 4000}, {"description": "y" * 2001}]}) == [
        "embeds"
    ]
    assert paths({"embeds": [{"title": "x" * 257}]}) == ["embeds.0.title"]
    fields = [{"name": "n", "value": "v"}] * 26
    assert paths({"embeds": [{"fields": fields}]}) == ["embeds.0.fields"]
    assert paths({"embeds": [{"fields": [{"name": "n" * 257, "value": "v" * 1025}]}]}) == [
        "embeds.0.fields.0.name",
        "embeds.0.fields.0.value",
    ]
    assert paths({"embeds": [{"footer": {"text": "f" * 2049}, "author": {"name": "a" * 257}}]}) == [
        "embeds.0.footer.text",
        "embeds.0.author.name",
    ]

    def button(i: int, **kw: object) -> dict[str, object]:
        return {"type": 2, "style": 1, "custom_id": f"b{i}", "label": "ok", **kw}

    assert paths({"components": [{"type": 1, "components": [button(i) for i in range(6)]}]}) == [
        "components.0.components"
    ]
    rows = [{"type": 1, "components": [button(i)]} for i in range(6)]
    assert paths({"components": rows}) == ["components"]
    assert paths({"components": [{"type": 1, "components": [button(0, custom_id="c" * 101)]}]}) == [
        "components.0.components.0.custom_id"
    ]
    assert paths({"components": [{"type": 1, "components": [button(0, label="l" * 81)]}]}) == [
        "components.0.components.0.label"
    ]
    assert check_message({"content": "  "}, creating=True)[1] is True  # 50006 empty message
    many = {"choices": [{"name": str(i), "value": str(i)} for i in range(26)]}
    assert "choices" in check_autocomplete(many)
    long = {"choices": [{"name": "n" * 101, "value": "v" * 101}]}
    assert set(check_autocomplete(long)["choices"]["0"]) == {"name", "value"}
    assert Perm.SEND_MESSAGES == 1 << 11


async def test_rate_limit_headers_and_attachments() -> None:
    async with FakeDiscord(channel_message_rate=(2, 0.2)) as fake:
        _, cid, _, _ = _setup(fake)
        bot = PaperBot()
        async with fake.run_client(bot):
            channel = bot.get_channel(cid)
            assert isinstance(channel, discord.TextChannel)
            for i in range(3):  # the 3rd waits on X-RateLimit-Reset-After instead of a 429
                await channel.send(f"paper {i}")
            sent = await channel.send(
                "digest", file=discord.File(io.BytesIO(b"id,title\n1,x\n"), filename="digest.csv")
            )
            assert sent.attachments[0].filename == "digest.csv"
            assert fake.messages[-1].files == {"digest.csv": b"id,title\n1,x\n"}
            assert fake.rejections == []
            assert [m.content for m in fake.messages_in(cid)] == [
                "paper 0",
                "paper 1",
                "paper 2",
                "digest",
            ]
